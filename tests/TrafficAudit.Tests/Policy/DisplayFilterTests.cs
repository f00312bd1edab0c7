using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using TrafficAudit.Policy;
using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Policy;

/// <summary>
/// Display filters carry capture text only inside quoted, escaped string literals (DisplayFilter), so
/// a Call-ID holding <c>"</c> or <c>\</c> (RFC 3261 allows both) cannot change a filter's meaning.
/// With tshark installed, every filter of every finding scenario, and of captures whose Call-IDs are
/// hostile, is run through <c>tshark -r CAPTURE -Y FILTER</c>: it must parse and select only evidence.
/// </summary>
[TestClass]
public sealed class DisplayFilterTests
{
    [TestMethod]
    [DataRow("a84b4c76e66710@pc33.atlanta.com", "\"a84b4c76e66710@pc33.atlanta.com\"")]
    [DataRow("x\"||frame||\"", "\"x\\\"||frame||\\\"\"")]
    [DataRow("back\\slash\\", "\"back\\\\slash\\\\\"")]
    [DataRow("esc\u001B[2Jbel\anul\0", "\"esc\\x1b[2Jbel\\x07nul\\x00\"")]
    [DataRow("é€😀", "\"\\xc3\\xa9\\xe2\\x82\\xac\\xf0\\x9f\\x98\\x80\"")]
    [DataRow("", "\"\"")]
    public void Quote_Value_EscapedAsDisplayFilterStringsRequire(string value, string expected)
        => Assert.AreEqual(expected, DisplayFilter.Quote(value));

    [TestMethod]
    public void Call_ManyStreams_ListsAtMostTheCapAndStaysUnderTheCellCap()
    {
        string filter = DisplayFilter.Call("a\"b@host", Enumerable.Range(0, 5000).Select(i => (uint)i).Append(0u));
        StringAssert.StartsWith(filter, "sip.Call-ID==\"a\\\"b@host\" || rtp.ssrc==0x00000000 || rtp.ssrc==0x00000001");
        Assert.AreEqual(DisplayFilter.MaxSsrcClauses, Regex.Matches(filter, "rtp.ssrc==").Count);
        Assert.IsLessThan(TrafficAudit.Outputs.SafeText.MaxCellLength, filter.Length);
    }

    [TestMethod]
    public void FindingRules_NoFilterQuotesAValueByHand()
    {
        // Text goes into a filter only through DisplayFilter.Quote: no hand-made "{...}" literal in the rules.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "src", "TrafficAudit.Core", "Policy"), "*.cs"))
        {
            if (file.EndsWith("DisplayFilter.cs", StringComparison.Ordinal)) continue;
            foreach (var (line, n) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
                Assert.IsFalse(Regex.IsMatch(line, @"==\\""\{|\bsip\.Call-ID==|addr==\{|\}==\{"), $"{Path.GetFileName(file)}:{n} builds a filter by hand: {line.Trim()}");
        }
    }

    [TestMethod]
    public void Quote_LoneSurrogate_AsTheReplacementCharacter() => Assert.AreEqual("\"lone\\xef\\xbf\\xbd\"", DisplayFilter.Quote("lone\uD800"));

    [TestMethod]
    public void Quote_RandomHostileValues_LiteralEndsAtItsLastQuoteAndDecodesToTheValue()
    {
        var rng = new Random(3261);
        const string alphabet = "\"\\ |&()!=~a0@.;'\t\r\n\0\u001B\u007F\u0085é😀";
        for (int n = 0; n < 2000; n++)
        {
            var sb = new StringBuilder();
            int len = rng.Next(0, 24);
            while (sb.Length < len)
            {
                int k = rng.Next(alphabet.Length);
                if (char.IsHighSurrogate(alphabet[k])) sb.Append(alphabet, k, 2);
                else if (!char.IsLowSurrogate(alphabet[k])) sb.Append(alphabet[k]);
            }
            string value = sb.ToString();
            string literal = DisplayFilter.Quote(value);
            var (decoded, end) = ReadLiteral(literal);
            Assert.AreEqual(literal.Length, end, $"the literal of {Escape(value)} must end at its last character: {literal}");
            CollectionAssert.AreEqual(Encoding.UTF8.GetBytes(value), decoded, literal);
        }
    }

    /// <summary>
    /// Reads a display-filter string literal as wireshark-filter(4) defines it (a quote, characters,
    /// backslash escapes \\ \" \xhh \ooo and \a \b \f \n \r \t \v, a quote); returns its bytes and where it ended.
    /// </summary>
    internal static (byte[] Bytes, int End) ReadLiteral(string s)
    {
        Assert.AreEqual('"', s[0]);
        var bytes = new List<byte>();
        for (int i = 1; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '"') return (bytes.ToArray(), i + 1);
            Assert.IsTrue(c is >= ' ' and < '\x7F', $"raw character U+{(int)c:X4} inside a literal: {s}");
            if (c != '\\')
            {
                bytes.Add((byte)c);
                continue;
            }
            char e = s[++i];
            if (e == 'x')
            {
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (e is '\\' or '"') bytes.Add((byte)e);
            else Assert.Fail($"escape \\{e} is not one DisplayFilter writes: {s}");
        }
        Assert.Fail($"unterminated literal: {s}");
        return default;
    }

    private static string Escape(string v) => string.Concat(v.Select(c => c is >= ' ' and < '\x7F' ? c.ToString() : $"\\u{(int)c:X4}"));

    // --- Findings on hostile Call-IDs ---

    /// <summary>A Call-ID of the same length as <paramref name="original"/>, with quotes, a backslash and filter syntax in it.</summary>
    internal static string HostileCallId(string original, int index)
    {
        string hostile = $"x{index}\"||frame||\"\\\"||";
        Assert.IsGreaterThanOrEqualTo(hostile.Length, original.Length);
        return hostile + new string('z', original.Length - hostile.Length);
    }

    /// <summary>The scenario's capture with every call's Call-ID replaced (same length, so no length field changes).</summary>
    internal static (string Pcap, string Profile, Dictionary<string, string> CallIds, TrafficAudit.Synth.Model.GroundTruth Truth) HostileScenario(string name, string dir)
    {
        var capture = ScenarioCatalog.Find(name)!.Build(1);
        string pcap = capture.Save(Path.Combine(dir, name + ".pcap"));
        byte[] bytes = File.ReadAllBytes(pcap);
        var ids = new Dictionary<string, string>();
        int index = 0;
        foreach (var call in capture.Truth.Calls.Where(c => c.CallId.Length > 0))
        {
            string hostile = HostileCallId(call.CallId, index++);
            ids[call.CallId] = hostile;
            Replace(bytes, Encoding.ASCII.GetBytes(call.CallId), Encoding.ASCII.GetBytes(hostile));
        }
        File.WriteAllBytes(pcap, bytes);
        return (pcap, TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap), ids, capture.Truth);
    }

    private static void Replace(byte[] haystack, byte[] from, byte[] to)
    {
        for (int at = haystack.AsSpan().IndexOf(from); at >= 0;)
        {
            to.CopyTo(haystack, at);
            int next = haystack.AsSpan(at + 1).IndexOf(from);
            at = next < 0 ? -1 : at + 1 + next;
        }
    }

    /// <summary>Scenarios whose findings name a call.</summary>
    public static IEnumerable<object[]> CallScenarios() =>
        new[] { "one-way-media", "over-bandwidth" }.Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(CallScenarios))]
    public void Findings_HostileCallIds_FiltersQuoteThemWhole(string scenario)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ta-filters", Guid.NewGuid().ToString("N"));
        var (pcap, profile, ids, _) = HostileScenario(scenario, dir);
        var r = CliRunner.Audit([pcap, "--profile", profile, "--quiet", "--fail-on", "never"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var withCall = Csv.Read(r.File("findings.csv")).Where(f => f["wireshark_filter"].Contains("sip.Call-ID")).ToList();
        Assert.IsNotEmpty(withCall, $"{scenario}: some finding names a call");
        foreach (var f in withCall)
        {
            string filter = f["wireshark_filter"];
            Assert.IsTrue(ids.Values.Any(h => filter.Contains("sip.Call-ID==" + DisplayFilter.Quote(h))), filter);
            // Outside the literals nothing but our own syntax: every literal read whole, no quote left over.
            string outside = Regex.Replace(filter, "\"(?:[^\"\\\\]|\\\\.)*\"", m => { Assert.AreEqual(m.Length, ReadLiteral(m.Value).End); return "S"; });
            Assert.DoesNotContain("\"", outside, filter);
            Assert.DoesNotContain("frame", outside, filter);
        }
    }

    // --- tshark: every filter parses and selects only its evidence ---

    private static string Tshark()
    {
        foreach (var p in new[] { "/usr/bin/tshark", "/usr/local/bin/tshark" })
            if (File.Exists(p)) return p;
        Assert.Inconclusive("tshark is not installed (apt-get install tshark): filters not run through it");
        return "";
    }

    /// <summary>Runs tshark; returns one line per frame with the fields asked for (tab-separated).</summary>
    private static List<string[]> RunTshark(string tshark, string pcap, string? filter, params string[] fields)
    {
        var psi = new ProcessStartInfo(tshark) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-n", "-r", pcap, "-T", "fields", "-E", "occurrence=f"]) psi.ArgumentList.Add(a);
        foreach (var f in fields) { psi.ArgumentList.Add("-e"); psi.ArgumentList.Add(f); }
        if (filter is not null) { psi.ArgumentList.Add("-Y"); psi.ArgumentList.Add(filter); }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.IsTrue(p.WaitForExit(60_000), "tshark timed out");
        Assert.AreEqual(0, p.ExitCode, $"tshark rejected the filter {filter}: {stderr.Result}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
    }

    private static readonly string[] Fields = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "sip.Call-ID", "rtp.ssrc", "sip.CSeq.seq"];

    /// <summary>
    /// Whether a frame selected by a finding's filter is its evidence: SIP of the call it names (and
    /// CSeq), RTP of an SSRC it names, or a packet to or from the finding's server/client address.
    /// </summary>
    private static bool IsEvidence(string[] frame, Dictionary<string, string> finding, string filter, IReadOnlyCollection<string> callIds)
    {
        var ips = new[] { frame[1], frame[2], frame[3], frame[4] }.Where(s => s.Length > 0).ToHashSet();
        string callId = frame[5], ssrc = frame[6], cseq = frame.Length > 7 ? frame[7] : "";
        if (filter.Contains("sip.Call-ID"))
        {
            // The Call-ID as the filter's literal says it (read by the grammar, not by our helper).
            int at = filter.IndexOf("sip.Call-ID==", StringComparison.Ordinal) + "sip.Call-ID==".Length;
            string named = Encoding.UTF8.GetString(ReadLiteral(filter[at..]).Bytes);
            if (callIds.Count > 0) Assert.Contains(named, callIds, filter);
            var m = Regex.Match(filter, @"sip\.CSeq\.seq==(\d+)");
            if (callId.Length > 0) return callId == named && (!m.Success || cseq == m.Groups[1].Value);
            var ssrcs = Regex.Matches(filter, @"rtp\.ssrc==0x([0-9A-F]{8})").Select(x => Convert.ToUInt32(x.Groups[1].Value, 16)).ToHashSet();
            return ssrc.Length > 0 && ssrcs.Contains(Convert.ToUInt32(ssrc, 16));
        }
        if (filter.StartsWith("rtp.ssrc==", StringComparison.Ordinal))
            return ssrc.Length > 0 && Convert.ToUInt32(ssrc, 16) == Convert.ToUInt32(filter[12..20], 16);
        if (filter.StartsWith("frame.interface_id", StringComparison.Ordinal) || filter.StartsWith("tcp.analysis", StringComparison.Ordinal)) return true;
        var ends = new[] { finding["server_ip"], finding["client_ip"] }.Where(s => s.Length > 0 && s != "*").ToList();
        if (ends.Count == 0) ends = Regex.Matches(filter, @"ipv?6?\.addr==([0-9a-fA-F.:]+)").Select(x => x.Groups[1].Value).ToList();
        Assert.IsNotEmpty(ends, $"a finding without addresses: {filter}");
        return ends.Any(ips.Contains);
    }

    private static void AssertFiltersSelectOnlyEvidence(string tshark, string name, string pcap, CliRunner.Result r, IReadOnlyCollection<string> callIds)
    {
        foreach (var f in Csv.Read(r.File("findings.csv")))
        {
            string filter = f["wireshark_filter"];
            if (filter.Length == 0) continue;
            var selected = RunTshark(tshark, pcap, filter, Fields);
            // A missing flow's evidence is its absence: its filter may select nothing.
            if (f["kind"] != "missing_flow") Assert.IsNotEmpty(selected, $"{name} {f["kind"]}: {filter} selects nothing");
            foreach (var frame in selected)
                Assert.IsTrue(IsEvidence(frame, f, filter, callIds), $"{name} {f["kind"]}: {filter} selects frame {string.Join(" ", frame)}, not evidence");
        }
    }

    public static IEnumerable<object[]> Scenarios() => ScenarioCatalog.All.Select(s => new object[] { s.Name });

    [TestMethod]
    [DynamicData(nameof(Scenarios))]
    public void Tshark_EveryFindingFilter_ParsesAndSelectsOnlyItsEvidence(string scenario)
    {
        string tshark = Tshark();
        string dir = Path.Combine(Path.GetTempPath(), "ta-filters", Guid.NewGuid().ToString("N"));
        var capture = ScenarioCatalog.Find(scenario)!.Build(1);
        string pcap = capture.Save(Path.Combine(dir, scenario + ".pcap"));
        string profile = TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap);
        var r = CliRunner.Audit(File.Exists(profile) ? [pcap, "--profile", profile, "--quiet", "--fail-on", "never"] : [pcap, "--quiet", "--fail-on", "never"]);
        if (r.ExitCode == 3) return;   // nothing to audit (empty capture): no filter
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        AssertFiltersSelectOnlyEvidence(tshark, scenario, pcap, r, []);
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    [DynamicData(nameof(CallScenarios))]
    public void Tshark_HostileCallIds_FiltersSelectOnlyTheirCall(string scenario)
    {
        string tshark = Tshark();
        string dir = Path.Combine(Path.GetTempPath(), "ta-filters", Guid.NewGuid().ToString("N"));
        var (pcap, profile, ids, _) = HostileScenario(scenario, dir);
        var r = CliRunner.Audit([pcap, "--profile", profile, "--quiet", "--fail-on", "never"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        // tshark reads the hostile Call-IDs as we do.
        var all = RunTshark(tshark, pcap, null, "frame.number", "sip.Call-ID");
        foreach (var h in ids.Values)
        {
            var frames = all.Where(l => l.Length > 1 && l[1] == h).Select(l => l[0]).ToList();
            Assert.IsNotEmpty(frames, $"tshark reads the Call-ID {h} as we wrote it");
            // The Call-ID clause alone selects exactly that call's SIP messages: no more (the literal did not end early), no fewer.
            CollectionAssert.AreEqual(frames, RunTshark(tshark, pcap, DisplayFilter.CallId(h), "frame.number").Select(l => l[0]).ToList(), DisplayFilter.CallId(h));
        }
        AssertFiltersSelectOnlyEvidence(tshark, scenario, pcap, r, ids.Values.ToList());
        Directory.Delete(dir, recursive: true);
    }
}
