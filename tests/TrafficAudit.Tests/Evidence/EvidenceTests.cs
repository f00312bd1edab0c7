using System.Diagnostics;
using System.Text;
using TrafficAudit.Capture;
using TrafficAudit.Cli;
using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Tests.EndToEnd;
using TrafficAudit.Tests.Synth;

namespace TrafficAudit.Tests.Evidence;

/// <summary>
/// --evidence on the finding scenarios: each file holds exactly the packets behind its finding or
/// call, byte for byte and with the original timestamps and link type (read back with our reader,
/// decoded by PacketDotNet, and counted by tshark when it is installed).
/// </summary>
[TestClass]
public sealed class EvidenceTests
{
    private sealed record Frame(long TimestampNs, LinkType LinkType, byte[] Data)
    {
        public PacketView View => PacketView.Decode(Data);
        public string Identity => TimestampNs + "/" + Convert.ToHexString(Data);
    }

    private sealed record Run(CliRunner.Result Result, string Pcap, List<Frame> Original)
    {
        public List<Dictionary<string, string>> Findings => Csv.Read(Result.File("findings.csv"));
        public List<Dictionary<string, string>> Calls => Csv.Read(Result.File("calls.csv"));
        public List<Dictionary<string, string>> Streams => Csv.Read(Result.File("rtp_streams.csv"));
        public List<Frame> Evidence(string relative) => ReadAll(Path.Combine(Result.OutDir, relative));
        public Dictionary<string, string> Finding(string kind, string serverPort) => Findings.Single(f => f["kind"] == kind && f["server_port"] == serverPort);
    }

    private static Run Audit(string scenario, params string[] extra)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-evidence", Guid.NewGuid().ToString("N"));
        var capture = ScenarioCatalog.Find(scenario)!.Build(1);
        var pcap = capture.Save(Path.Combine(dir, scenario + ".pcap"));
        var profile = TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap);
        var r = CliRunner.Audit([pcap, "--profile", profile, "--quiet", "--evidence", .. extra]);
        Assert.IsTrue(r.ExitCode is 0 or 1, r.Stderr);
        return new Run(r, pcap, ReadAll(pcap));
    }

    private static List<Frame> ReadAll(string path)
    {
        Assert.IsTrue(File.Exists(path), path);
        var frames = new List<Frame>();
        using var source = CaptureFile.Open(path);
        while (source.MoveNext()) frames.Add(new Frame(source.Header.TimestampNs, source.Header.LinkType, source.Data.ToArray()));
        Assert.IsEmpty(source.Errors, path);
        return frames;
    }

    /// <summary>The scenarios whose truth plants a finding about packets (missing_flow, capture_loss and duplicate_packets have no evidence file); the site has its own tests.</summary>
    public static IEnumerable<object[]> PacketScenarios() =>
        ScenarioCatalog.All.Where(s => s.Name is not ("site" or "clean-site")
                && s.Build(1).Truth.ExpectedFindings.Any(f => f.Kind is not ("missing_flow" or "capture_loss" or "duplicate_packets")))
            .Select(s => new object[] { s.Name });

    /// <summary>Every scenario: each finding about packets has a file, every packet in it is a frame of the capture (same time, bytes and link type), once, in capture order; tshark reads the same count.</summary>
    [TestMethod]
    [DynamicData(nameof(PacketScenarios))]
    public void Scenario_EveryEvidenceFile_IsFramesOfTheCaptureInOrder(string scenario)
    {
        var run = Audit(scenario);
        var original = run.Original.Select(f => f.Identity).ToHashSet();
        var files = run.Findings.Select(f => f["evidence_file"]).Concat(run.Calls.Select(c => c["evidence_file"])).Where(f => f.Length > 0).Distinct().ToList();
        Assert.IsNotEmpty(files, $"{scenario}: no evidence file");
        foreach (var f in run.Findings) Assert.AreEqual($"evidence/finding-{f["finding_id"]}.pcapng", f["evidence_file"], scenario);
        foreach (var file in files)
        {
            var frames = run.Evidence(file);
            Assert.IsNotEmpty(frames, file);
            Assert.AreEqual(frames.Count, frames.Select(x => x.Identity).Distinct().Count(), $"{file}: a packet twice");
            foreach (var x in frames)
            {
                Assert.Contains(x.Identity, original, $"{file}: a packet that is not in the capture");
                Assert.AreEqual(LinkType.Ethernet, x.LinkType);
            }
            CollectionAssert.AreEqual(frames.Select(x => x.TimestampNs).Order().ToList(), frames.Select(x => x.TimestampNs).ToList(), $"{file}: out of order");
            if (TsharkCount(Path.Combine(run.Result.OutDir, file)) is { } n) Assert.AreEqual(frames.Count, n, $"{file}: tshark counts another number of packets");
        }
        var names = Directory.GetFiles(Path.Combine(run.Result.OutDir, "evidence")).Select(Path.GetFileName).Order().ToList();
        CollectionAssert.AreEqual(files.Select(Path.GetFileName).Order().ToList(), names, "only the files the CSVs name, no temporary file left");
    }

    /// <summary>
    /// A folder merging aaa.pcap (2005) with dhcp_big_endian.pcapng, whose packets are stamped in the year
    /// 151991 (near the end of the ns range): a call's window plus its 32 s SIP tail once wrapped round and
    /// dropped the SIP dialog from the one-way call's evidence. Its INVITE must be there.
    /// </summary>
    [TestMethod]
    public void Folder_WithAFileStampedNearTheEndOfTime_CallEvidenceKeepsItsSipDialog()
    {
        string aaa = TestPaths.PublicCapture("wireshark-wiki/aaa.pcap");
        string dhcp = TestPaths.PublicCapture("wireshark-wiki/dhcp_big_endian.pcapng");
        var dir = Directory.CreateTempSubdirectory("ta-evidence-folder-").FullName;
        File.Copy(aaa, Path.Combine(dir, "aaa.pcap"));
        File.Copy(dhcp, Path.Combine(dir, "dhcp_big_endian.pcapng"));
        var r = CliRunner.Audit([dir, "--evidence", "--fail-on", "never", "--quiet"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var oneWay = Csv.Read(r.File("findings.csv")).Single(f => f["kind"] == "one_way_media");
        var frames = ReadAll(Path.Combine(r.OutDir, oneWay["evidence_file"]));
        byte[] callId = Encoding.ASCII.GetBytes("11894297-4432a9f8@192.168.1.2");
        byte[] invite = Encoding.ASCII.GetBytes("INVITE sip:");
        Assert.IsTrue(frames.Any(f => f.Data.AsSpan().IndexOf(callId) >= 0 && f.Data.AsSpan().IndexOf(invite) >= 0), "the call's INVITE is in its evidence");
    }

    [TestMethod]
    public void Blocked_TcpFileHoldsTheThreeSyns_UdpFileTheUnansweredQueries()
    {
        var run = Audit("blocked");
        var syns = run.Evidence(run.Finding("blocked_flow", "993")["evidence_file"]).Select(f => f.View).ToList();
        Assert.HasCount(3, syns);
        foreach (var p in syns) Assert.IsTrue(p is { Transport: "tcp", Syn: true, Ack: false, Src: "10.0.0.10", Dst: "10.0.2.6", DstPort: 993 }, p.ToString());
        var finding = run.Finding("blocked_flow", "53");
        var dns = run.Evidence(finding["evidence_file"]).Select(f => f.View).ToList();
        int port = int.Parse(finding["client_port"]);
        // The unanswered query and its retransmission; the answered query before them (another port) is not evidence.
        var expected = run.Original.Select(f => f.View).Where(p => p is { Transport: "udp", Dst: "10.0.2.53", DstPort: 53, Src: "10.0.0.10" } && p.SrcPort == port).ToList();
        Assert.HasCount(2, expected);
        Assert.HasCount(2, dns);
        CollectionAssert.AreEqual(expected.Select(p => Convert.ToHexString(p.Payload)).ToList(), dns.Select(p => Convert.ToHexString(p.Payload)).ToList());
    }

    [TestMethod]
    public void Refused_TcpFileIsSynAndRst_UdpFileTheRequestsAndTheIcmpUnreachables()
    {
        var run = Audit("refused");
        var pop = run.Evidence(run.Finding("refused_flow", "995")["evidence_file"]).Select(f => f.View).ToList();
        Assert.HasCount(2, pop);
        Assert.IsTrue(pop[0] is { Syn: true, Ack: false, Dst: "10.0.2.6", DstPort: 995 }, pop[0].ToString());
        Assert.IsTrue(pop[1] is { Rst: true, Src: "10.0.2.6", SrcPort: 995 }, pop[1].ToString());

        var sip = run.Evidence(run.Finding("refused_flow", "5064")["evidence_file"]).Select(f => f.View).ToList();
        var requests = sip.Where(p => p is { Transport: "udp", DstPort: 5064 }).ToList();
        var icmp = sip.Where(p => p.Transport == "icmp").ToList();
        Assert.IsNotEmpty(requests);
        Assert.AreEqual(requests.Count, icmp.Count, "one unreachable per request");
        Assert.AreEqual(sip.Count, requests.Count + icmp.Count, "nothing else");
        Assert.AreEqual(run.Original.Count(f => f.View.Transport == "icmp"), icmp.Count);
    }

    [TestMethod]
    public void OverLatency_HandshakeFileIsTheThreeWayHandshake_SipFileTheRequestAndItsResponse()
    {
        var run = Audit("over-latency");
        var axl = run.Evidence(run.Finding("over_latency", "8443")["evidence_file"]).Select(f => f.View).ToList();
        Assert.HasCount(3, axl);
        Assert.IsTrue(axl[0] is { Syn: true, Ack: false } && axl[1] is { Syn: true, Ack: true } && axl[2] is { Syn: false, Ack: true, Payload.Length: 0 }, string.Join("; ", axl));

        var sip = run.Evidence(run.Finding("over_latency", "5064")["evidence_file"]);
        Assert.HasCount(2, sip);
        string request = Encoding.ASCII.GetString(sip[0].View.Payload), response = Encoding.ASCII.GetString(sip[1].View.Payload);
        StringAssert.StartsWith(request, "SUBSCRIBE ");
        StringAssert.StartsWith(response, "SIP/2.0 200");
        Assert.AreEqual(120_000_000, sip[1].TimestampNs - sip[0].TimestampNs, "the 120 ms the finding measured");
        Assert.AreEqual(CallId(request), CallId(response));
    }

    public static IEnumerable<object[]> CallScenarios() =>
        new[] { "one-way-media", "high-jitter", "packet-loss", "over-bandwidth", "rtcp-over-latency" }.Select(n => new object[] { n });

    /// <summary>
    /// A call with a quality problem: its file is exactly every packet whose UDP payload holds its Call-ID
    /// plus every packet on its RTP streams' conversations and the RTCP conversations beside them (ports + 1),
    /// selected here independently with PacketDotNet.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(CallScenarios))]
    public void CallWithAProblem_FileIsItsSipDialogAndItsMedia(string scenario)
    {
        var run = Audit(scenario);
        var call = run.Calls.Single();
        Assert.AreEqual("evidence/call-1.pcapng", call["evidence_file"]);
        byte[] callId = Encoding.ASCII.GetBytes(call["call_id"]);
        var media = run.Streams.Where(s => s["call_id"] == call["call_id"]).ToList();
        Assert.IsNotEmpty(media);
        var keys = media.SelectMany(s => new[]
        {
            PacketView.KeyOf("udp", s["src_ip"], int.Parse(s["src_port"]), s["dst_ip"], int.Parse(s["dst_port"])),
            PacketView.KeyOf("udp", s["src_ip"], int.Parse(s["src_port"]) + 1, s["dst_ip"], int.Parse(s["dst_port"]) + 1),
        }).ToHashSet();
        var expected = run.Original.Where(f => f.View is var v && (keys.Contains(v.FlowKey) || v.Payload.AsSpan().IndexOf(callId) >= 0)).Select(f => f.Identity).ToList();
        var actual = run.Evidence(call["evidence_file"]).Select(f => f.Identity).ToList();
        Assert.HasCount(expected.Count, actual, $"{scenario}: {actual.Count} packets, expected {expected.Count}");
        CollectionAssert.AreEqual(expected, actual);
        var views = run.Evidence(call["evidence_file"]).Select(f => f.View).ToList();
        Assert.IsTrue(views.Any(v => Encoding.ASCII.GetString(v.Payload).StartsWith("INVITE ", StringComparison.Ordinal)), "the INVITE (with its SDP: Wireshark decodes the RTP)");
        Assert.IsTrue(views.Any(v => v.TryRtp(out _, out _, out _, out _)), "the RTP");

        // The finding's own file: for a stream finding, its stream and the call's SIP; for a call finding, the call.
        foreach (var f in run.Findings)
        {
            var file = run.Evidence(f["evidence_file"]).Select(x => x.Identity).ToList();
            Assert.IsTrue(file.All(actual.Contains), $"{f["kind"]}: packets outside the call");
            Assert.IsTrue(file.Any(x => run.Original.First(o => o.Identity == x).View.Payload.AsSpan().IndexOf(callId) >= 0), $"{f["kind"]}: no SIP");
        }
    }

    [TestMethod]
    public void UnexpectedFlow_FileIsTheWholeTelnetSession()
    {
        var run = Audit("unexpected-flow");
        var telnet = run.Finding("unexpected_flow", "23");
        var key = PacketView.KeyOf("tcp", telnet["client_ip"], int.Parse(telnet["client_port"]), telnet["server_ip"], 23);
        var expected = run.Original.Where(f => f.View.FlowKey == key).Select(f => f.Identity).ToList();
        Assert.IsGreaterThan(3, expected.Count);
        CollectionAssert.AreEqual(expected, run.Evidence(telnet["evidence_file"]).Select(f => f.Identity).ToList());
    }

    [TestMethod]
    public void WithoutEvidence_NoFolderAndEmptyColumns()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-evidence", Guid.NewGuid().ToString("N"));
        var pcap = ScenarioCatalog.Find("blocked")!.Build(1).Save(Path.Combine(dir, "blocked.pcap"));
        var r = CliRunner.Audit(pcap, "--server", "10.0.0.10", "--quiet");
        Assert.IsFalse(Directory.Exists(r.File("evidence")));
        var rows = Csv.Read(r.File("findings.csv"));
        Assert.IsNotEmpty(rows);
        Assert.IsTrue(rows.All(f => f["evidence_file"] == ""));
        Assert.AreEqual("evidence_file", Csv.Header(r.File("findings.csv")).Last());
    }

    [TestMethod]
    public void Rerun_RemovesEvidenceFilesOfTheOlderRunOnly()
    {
        var run = Audit("blocked");
        string dir = Path.Combine(run.Result.OutDir, "evidence");
        File.WriteAllText(Path.Combine(dir, "finding-99.pcapng"), "old");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var again = CliRunner.Audit(run.Pcap, "--profile", TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(run.Pcap), "--quiet", "--evidence", "--out", run.Result.OutDir);
        Assert.AreEqual(1, again.ExitCode, again.Stderr);
        Assert.IsFalse(File.Exists(Path.Combine(dir, "finding-99.pcapng")));
        Assert.IsTrue(File.Exists(Path.Combine(dir, "notes.txt")));
        Assert.IsTrue(File.Exists(Path.Combine(dir, "finding-1.pcapng")));
    }

    [TestMethod]
    public void StandardInput_SaysSoAndWritesNoEvidence()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-evidence", Guid.NewGuid().ToString("N"));
        var pcap = ScenarioCatalog.Find("blocked")!.Build(1).Save(Path.Combine(dir, "blocked.pcap"));
        using var stdin = File.OpenRead(pcap);
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = CommandLine.Run(["audit", "-", "--server", "10.0.0.10", "--evidence", "--quiet", "--out", Path.Combine(dir, "out")], o, e, stdin);
        Assert.AreEqual(1, rc, e.ToString());
        StringAssert.Contains(e.ToString(), "standard input cannot be read twice");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir, "out", "evidence")));
        Assert.IsTrue(Csv.Read(Path.Combine(dir, "out", "findings.csv")).All(f => f["evidence_file"] == ""));
    }

    [TestMethod]
    public void EvidenceWithAnonymize_IsAUsageError()
    {
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), "--evidence", "--anonymize");
        Assert.AreEqual(2, r.ExitCode);
        StringAssert.Contains(r.Stderr, "--anonymize");
    }

    [TestMethod]
    public void LiveEvidenceWithoutWrite_IsAUsageError()
    {
        var e = new StringWriter();
        int rc = CommandLine.Run(["live", "-i", "lo", "--evidence", "--duration", "1"], new StringWriter(), e);
        Assert.AreEqual(2, rc, e.ToString());
        StringAssert.Contains(e.ToString(), "--write");
    }

    private static string CallId(string sip) =>
        sip.Split("\r\n").First(l => l.StartsWith("Call-ID:", StringComparison.OrdinalIgnoreCase) || l.StartsWith("i:", StringComparison.Ordinal)).Split(':', 2)[1].Trim();

    /// <summary>Packets tshark reads from the file, or null when tshark is not installed.</summary>
    private static int? TsharkCount(string path)
    {
        if (!File.Exists("/usr/bin/tshark")) return null;
        var psi = new ProcessStartInfo("/usr/bin/tshark", ["-r", path, "-T", "fields", "-e", "frame.number"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode, $"tshark could not read {path}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }
}
