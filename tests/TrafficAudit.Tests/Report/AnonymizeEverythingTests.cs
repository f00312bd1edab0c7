using System.Text.RegularExpressions;
using TrafficAudit.Decode;
using TrafficAudit.Outputs;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Report;

/// <summary>
/// `audit --anonymize --report` leaves nothing of the capture's identity in anything it writes or
/// prints. Each capture is audited twice, from a folder and under a file name that both carry an
/// address and a host name, with --server on the command line: first plainly, to collect what must
/// not leak (every address of an address column, in every printed form; every server name; every SIP
/// URI user and host and every Call-ID host), then anonymized; every output file, stdout and stderr of
/// the second run are searched for each of them. Kept by design, and so not searched: addresses that
/// identify nobody (loopback, multicast, broadcast, unspecified) and names the vendor table lists
/// exactly (public service names such as api.imagicle.com).
/// </summary>
[TestClass]
public sealed partial class AnonymizeEverythingTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Anonymize_SiteCaptureWithServers_NothingOfTheCaptureLeaks() =>
        AssertNoLeak(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), ["--server", "10.0.0.10", "--server", "10.0.0.11"], minSecrets: 30);

    [TestMethod]
    public void Anonymize_SiteCaptureWithProfile_NothingOfTheCaptureLeaks() =>
        AssertNoLeak(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), ["--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json")], minSecrets: 30);

    [TestMethod]
    [DataRow("heplify/sip_ipv6_udp.pcap")]
    [DataRow("heplify/sip_ipv4_tcp.pcap")]
    [DataRow("wireshark-wiki/aaa.pcap")]
    [DataRow("wireshark-wiki/MagicJack-_short_call.pcap")]
    [DataRow("wireshark-wiki/SIP_CALL_RTP_G711")]
    [DataRow("wireshark-wiki/sip-rtp-g711.pcap")]
    [DataRow("wireshark-wiki/sip-tls-1.3-and-rtcp/sip.pcap")]
    [DataRow("zeek/tls1.2.pcap")]
    public void Anonymize_PublicCapture_NothingOfTheCaptureLeaks(string relative) =>
        AssertNoLeak(TestPaths.PublicCapture(relative), [], minSecrets: 2);

    private void AssertNoLeak(string capture, string[] options, int minSecrets)
    {
        var plain = CliRunner.Run(["audit", capture, "--report", .. options]);
        Assert.IsTrue(plain.ExitCode is 0 or 1, plain.Stderr);
        var secrets = Secrets(plain.OutDir);
        var firstIp = secrets.Addresses.FirstOrDefault(a => a.Contains('.')) ?? secrets.Addresses.FirstOrDefault() ?? "10.0.0.1";
        var aName = secrets.Names.FirstOrDefault();

        // The same capture from a folder and under a name that carry an address and a host name.
        var dir = Path.Combine(ReportTestKit.NewTempDir(), "site-" + (aName ?? "pbx.customer.example"));
        Directory.CreateDirectory(dir);
        string linked = Path.Combine(dir, "capture_" + firstIp.Replace(':', '-') + "_" + (aName ?? "pbx.customer.example") + ".pcap");
        File.CreateSymbolicLink(linked, capture);
        string map = Path.Combine(ReportTestKit.NewTempDir(), "map.csv");
        var anon = CliRunner.Run(["audit", linked, "--report", "--anonymize", "--anonymize-seed", "s3cret-seed", "--anonymize-map", map, .. options]);
        Assert.AreEqual(plain.ExitCode, anon.ExitCode, anon.Stderr);

        var outputs = Directory.GetFiles(anon.OutDir).Select(f => (Name: Path.GetFileName(f), Text: File.ReadAllText(f)))
            .Append((Name: "stdout", Text: anon.Stdout)).Append((Name: "stderr", Text: anon.Stderr)).ToList();
        CollectionAssert.Contains(outputs.Select(o => o.Name).ToList(), "report.html");
        var checks = secrets.Patterns().Append(("the seed", new Regex(Regex.Escape("s3cret-seed")))).ToList();
        Assert.IsGreaterThanOrEqualTo(minSecrets, checks.Count - 1, "secrets collected from the plain run");
        var leaks = new List<string>();
        TestContext.WriteLine($"{Path.GetFileName(capture)}: {checks.Count} secrets checked in {outputs.Count} outputs; kept by design: {string.Join(", ", secrets.Kept)}");
        // Files leave the engineer's machine: not even the local folder of the capture is in them.
        foreach (var (name, text) in outputs.Where(o => o.Name is not ("stdout" or "stderr")))
            if (text.Contains(dir, StringComparison.Ordinal)) leaks.Add($"the capture's folder in {name}");
        foreach (var (name, text) in outputs)
            foreach (var (secret, pattern) in checks)
                if (pattern.Match(text) is { Success: true } m)
                    leaks.Add($"{secret} in {name}: …{text[Math.Max(0, m.Index - 60)..Math.Min(text.Length, m.Index + m.Length + 30)].ReplaceLineEndings(" ")}…");
        Assert.IsEmpty(leaks, string.Join("\n", leaks));

        // The report says so, and its command line still reads as one.
        string report = File.ReadAllText(Path.Combine(anon.OutDir, "report.html"));
        StringAssert.Contains(report, "anonymized: addresses, host names and SIP users are pseudonyms");
        StringAssert.Contains(report, "--anonymize-seed (hidden)");
    }

    private sealed record SecretSet(List<string> Addresses, List<string> Names, List<string> Users, List<string> Kept)
    {
        public IEnumerable<(string, Regex)> Patterns()
        {
            foreach (var a in Addresses)
                yield return (a, new Regex(a.Contains(':')
                    ? $@"(?<![0-9A-Fa-f:]){Regex.Escape(a)}(?![0-9A-Fa-f:])"
                    : $@"(?<![\d.]){Regex.Escape(a)}(?![\d]|\.\d)", RegexOptions.IgnoreCase));
            foreach (var n in Names)
                yield return (n, new Regex($@"(?<![\w.-]){Regex.Escape(n)}(?![\w-])", RegexOptions.IgnoreCase));
            foreach (var u in Users)
            {
                // As a URI user (sip:USER@, USER@host) everywhere; a number of four digits or more also on its own.
                yield return ("user " + u, new Regex($@"(sips?:|tel:){Regex.Escape(u)}(?=[@;>\s""]|$)|(?<![\w.+-]){Regex.Escape(u)}@", RegexOptions.IgnoreCase));
                if (u.TrimStart('+').Length >= 4 && u.TrimStart('+').All(char.IsAsciiDigit))
                    yield return ("number " + u, new Regex($@"(?<![\w.]){Regex.Escape(u)}(?![\w])"));
            }
        }
    }

    /// <summary>What a plain run's CSVs show of the capture.</summary>
    private static SecretSet Secrets(string outDir)
    {
        var probe = Anonymizer.Create("probe");
        var addresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var users = new HashSet<string>(StringComparer.Ordinal);
        var kept = new SortedSet<string>(StringComparer.Ordinal);

        void AddAddress(string text)
        {
            string t = text.Trim('[', ']');
            if (!IpAddress.TryParse(t, out var ip)) return;
            if (probe.MapIp(ip) == ip) { kept.Add(t); return; }
            addresses.Add(t);
            addresses.Add(ip.ToString());
            if (!ip.IsV4 && System.Net.IPAddress.TryParse(ip.ToString(), out var net))
            {
                var b = net.GetAddressBytes();
                addresses.Add(string.Join(':', Enumerable.Range(0, 8).Select(i => ((b[2 * i] << 8) | b[2 * i + 1]).ToString("x"))));
                addresses.Add(string.Join(':', Enumerable.Range(0, 8).Select(i => ((b[2 * i] << 8) | b[2 * i + 1]).ToString("x4"))));
            }
        }

        void AddHost(string host)
        {
            host = host.Trim().TrimEnd('.');
            if (host.Length == 0) return;
            if (IpAddress.TryParse(host.Trim('[', ']'), out _)) { AddAddress(host); return; }
            if (probe.Host(host) == host.ToLowerInvariant()) { kept.Add(host); return; }
            names.Add(host);
        }

        foreach (var file in Directory.GetFiles(outDir, "*.csv"))
            foreach (var row in Csv.Read(file))
                foreach (var (column, value) in row)
                {
                    if (value.Length == 0) continue;
                    if (column.EndsWith("_ip", StringComparison.Ordinal)) AddAddress(value);
                    else if (column == "server_name") AddHost(value);
                    else if (column is "from_uri" or "to_uri" or "call_id" or "user_agents" or "message" or "wireshark_filter" or "detail" or "peer")
                    {
                        foreach (Match m in UriParts().Matches(value))
                        {
                            if (m.Groups["user"].Success) users.Add(m.Groups["user"].Value);
                            AddHost(m.Groups["host"].Value);
                        }
                        foreach (Match m in Ipv4().Matches(value)) AddAddress(m.Value);
                        if (column == "call_id" && value.LastIndexOf('@') is > 0 and var at) AddHost(value[(at + 1)..]);
                    }
                }
        return new SecretSet(addresses.Order().ToList(), names.Order().ToList(), users.Where(u => u.Length >= 3).Order().ToList(), kept.ToList());
    }

    [GeneratedRegex(@"(?:sips?|tel):(?:(?<user>[^@\s;>""]+)@)?(?<host>\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f]*:[0-9A-Fa-f:]+:[0-9A-Fa-f.]+|[A-Za-z0-9.-]+)")]
    private static partial Regex UriParts();

    /// <summary>A dotted quad standing alone (not inside a version string such as ENSR3.2.21.22).</summary>
    [GeneratedRegex(@"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")]
    private static partial Regex Ipv4();
}
