using System.Text;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// `--catalogue FILE` changes all the vendor knowledge consistently, end to end through the `audit`
/// command: a custom catalogue (the built-in one edited by the test) that renames a matrix group, moves
/// rows to another peer role, makes a row on demand, adds a proxy port and changes the SIP ports
/// changes expected_flows.csv, findings.csv and the SIP analysis accordingly, and nothing else.
/// </summary>
[TestClass]
public sealed class CustomCatalogueTests
{
    private static readonly string Site = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
    private static readonly string SiteProfile = Path.Combine(TestPaths.Captures, "imagicle-site.profile.json");

    private string _dir = "";

    [TestInitialize]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("custom-catalogue-").FullName;

    [TestCleanup]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    private static string BuiltInJson()
    {
        var w = new StringWriter();
        TrafficAudit.Catalogue.PortCatalogue.WriteEmbeddedJson(w);
        return w.ToString();
    }

    /// <summary>Replaces the first <paramref name="old"/> after the entry <paramref name="id"/> starts (exactly once).</summary>
    private static string InEntry(string json, string id, string old, string replacement)
    {
        int at = json.IndexOf($"{{ \"id\": \"{id}\"", StringComparison.Ordinal);
        Assert.IsGreaterThanOrEqualTo(0, at, id);
        int end = json.IndexOf("\"bindings\"", at, StringComparison.Ordinal);
        int hit = json.IndexOf(old, at, StringComparison.Ordinal);
        Assert.IsTrue(hit >= 0 && hit < end, $"{old} in entry {id}");
        return json[..hit] + replacement + json[(hit + old.Length)..];
    }

    private static string Replace(string json, string old, string replacement, int times = 1)
    {
        int count = (json.Length - json.Replace(old, "", StringComparison.Ordinal).Length) / old.Length;
        Assert.AreEqual(times, count, old);
        return json.Replace(old, replacement, StringComparison.Ordinal);
    }

    private string WriteCatalogue(string json, string name = "custom.json")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static Dictionary<string, Dictionary<string, string>> Requirements(CliRunner.Result r)
        => Csv.Read(r.File("expected_flows.csv")).ToDictionary(row => row["requirement"]);

    [TestMethod]
    public void Audit_CustomMatrix_GroupRoleOnDemandAndProxy_ChangeExpectedFlowsAndFindingsConsistently()
    {
        string json = BuiltInJson();
        // 1. Rename a matrix group (its id and title).
        json = Replace(json, "{ \"id\": \"aq-sip\", \"title\": \"Advanced Queuing SIP (5062 or TLS 5063)\" }", "{ \"id\": \"queue-sip\", \"title\": \"Queue signalling (custom)\" }");
        json = Replace(json, "\"group\": \"aq-sip\"", "\"group\": \"queue-sip\"", times: 2);
        // 2. Change a row's role: TAPI is now expected with the LDAP server, where the capture has none.
        json = InEntry(json, "tapi-2748", "\"peerRole\": \"cucm\"", "\"peerRole\": \"ldap\"");
        // 3. The same move for AXL, made on demand: expected, never missing.
        json = InEntry(json, "axl-out", "\"peerRole\": \"cucm\"", "\"peerRole\": \"ldap\", \"onDemand\": true");
        // 4. No proxy port at all: the site's proxy flow is an HTTP CONNECT, which needs none.
        json = Replace(json, "\"ports\": \"3128,8118,8888\"", "\"ports\": \"unspecified\"");

        var builtIn = CliRunner.Audit(Site, "--profile", SiteProfile, "--fail-on", "never");
        var custom = CliRunner.Audit(Site, "--profile", SiteProfile, "--fail-on", "never", "--catalogue", WriteCatalogue(json));
        Assert.AreEqual(0, builtIn.ExitCode, builtIn.Stderr);
        Assert.AreEqual(0, custom.ExitCode, custom.Stderr);

        // Classification is untouched by these edits: the same flows, byte for byte.
        CollectionAssert.AreEqual(builtIn.FlowsCsv, custom.FlowsCsv);

        var before = Requirements(builtIn);
        var after = Requirements(custom);
        // The group: same evidence and state under its new name and title.
        Assert.IsFalse(after.ContainsKey("aq-sip"));
        Assert.AreEqual("Queue signalling (custom)", after["queue-sip"]["title"]);
        foreach (var column in (string[])["status", "evidence_flow_ids", "rules", "peer", "ports"])
            Assert.AreEqual(before["aq-sip"][column], after["queue-sip"][column], column);
        // The role: TAPI passed with the CUCM; expected with the LDAP server it is required and not seen.
        Assert.AreEqual(("cucm 10.0.1.5 10.0.1.6", "PASS"), (before["tapi-2748"]["peer"], before["tapi-2748"]["status"]));
        Assert.AreEqual(("ldap 10.0.2.5", "NOT SEEN (required)", "true"), (after["tapi-2748"]["peer"], after["tapi-2748"]["status"], after["tapi-2748"]["required"]));
        // On demand: AXL with the LDAP server is not seen either, but optional.
        Assert.AreEqual("true", before["axl-out"]["required"]);
        Assert.AreEqual(("ldap 10.0.2.5", "NOT SEEN (optional)", "false"), (after["axl-out"]["peer"], after["axl-out"]["status"], after["axl-out"]["required"]));
        // Every other requirement is unchanged.
        foreach (var (id, row) in before.Where(kv => kv.Key is not ("aq-sip" or "tapi-2748" or "axl-out")))
            CollectionAssert.AreEqual(row.ToList(), after[id].ToList(), id);

        var findingsBefore = Csv.Read(builtIn.File("findings.csv"));
        var findingsAfter = Csv.Read(custom.File("findings.csv"));
        // missing_flow exactly for the NOT SEEN (required) row, naming its new peer.
        Assert.IsFalse(findingsBefore.Any(f => f["kind"] == "missing_flow"));
        var missing = findingsAfter.Where(f => f["kind"] == "missing_flow").ToList();
        Assert.HasCount(1, missing);
        Assert.AreEqual(("tapi-2748", "10.0.2.5"), (missing[0]["rule"], missing[0]["server_ip"]));
        StringAssert.Contains(missing[0]["message"], "ldap 10.0.2.5");
        Assert.IsFalse(findingsAfter.Any(f => f["kind"] == "missing_flow" && f["rule"] == "axl-out"), "on demand is never missing");
        // AXL's flow is still over its budget: flow findings follow the rows, not the matrix.
        Assert.IsTrue(findingsAfter.Any(f => f["kind"] == "over_latency" && f["rule"] == "axl-out"));
        // Every other finding is the same (the proxy's HTTP CONNECT needs no proxy port).
        static string Key(Dictionary<string, string> f) => string.Join("|", f.Where(kv => kv.Key != "finding_id").Select(kv => kv.Value));
        CollectionAssert.AreEqual(findingsBefore.Select(Key).ToList(), findingsAfter.Where(f => f["kind"] != "missing_flow").Select(Key).ToList());
        Assert.AreEqual("HTTP CONNECT request", findingsAfter.Single(f => f["kind"] == "proxy_in_use")["method"]);
    }

    [TestMethod]
    public void Audit_AddedProxyPort_MakesANodesHttpProxyInUse()
    {
        // zeek's get.pcap: one HTTP GET to port 80. Its client, taken as the node, fetches from the web.
        string capture = TestPaths.PublicCapture("zeek/get.pcap");
        var probe = CliRunner.Audit(capture, "--fail-on", "never");
        var flow = Csv.Read(probe.File("flows.csv")).Single(f => f["server_port"] == "80");
        string node = flow["client_ip"];
        string custom = WriteCatalogue(Replace(BuiltInJson(), "\"ports\": \"3128,8118,8888\"", "\"ports\": \"3128,8118,8888,80\""));

        var builtIn = CliRunner.Audit(capture, "--server", node, "--fail-on", "never");
        var withPort = CliRunner.Audit(capture, "--server", node, "--fail-on", "never", "--catalogue", custom);
        Assert.IsFalse(Csv.Read(builtIn.File("findings.csv")).Any(f => f["kind"] == "proxy_in_use"));
        var proxy = Csv.Read(withPort.File("findings.csv")).Single(f => f["kind"] == "proxy_in_use");
        Assert.AreEqual((node, flow["server_ip"], "80"), (proxy["client_ip"], proxy["server_ip"], proxy["server_port"]));
        Assert.AreEqual("HTTP to a proxy port", proxy["method"]);
    }

    [TestMethod]
    public void Audit_MediaRowBandwidth_IsTheDefaultCallBudget()
    {
        // The media rule's bandwidthKbpsPerCall (80 built in) is call_kbps when the profile gives none.
        string json = InEntry(BuiltInJson(), "rtp-t38-calling-platform", "\"bandwidthKbpsPerCall\": 80", "\"bandwidthKbpsPerCall\": 70");
        string custom = WriteCatalogue(json);
        var builtIn = CliRunner.Audit(Site, "--fail-on", "never");
        var lower = CliRunner.Audit(Site, "--fail-on", "never", "--catalogue", custom);
        var before = Csv.Read(builtIn.File("findings.csv")).Where(f => f["kind"] == "over_bandwidth").ToList();
        var after = Csv.Read(lower.File("findings.csv")).Where(f => f["kind"] == "over_bandwidth").ToList();
        Assert.IsTrue(before.All(f => f["threshold"] == "80"));
        Assert.IsGreaterThan(before.Count, after.Count, "the site's G.711 calls (about 80 kbit/s) are over 70");
        Assert.IsTrue(after.All(f => f["threshold"] == "70"), string.Join("\n", after.Select(f => f["threshold"])));

        // The same default for a profile without thresholds, read against that catalogue.
        var profile = TrafficAudit.Policy.ProfileLoader.Parse("{\"nodes\": [\"10.0.0.10\"]}"u8, "p.json", TrafficAudit.Catalogue.PortCatalogue.LoadFile(custom));
        Assert.AreEqual(70, profile.Thresholds.CallKbps);
        Assert.AreEqual(80, TrafficAudit.Policy.ProfileLoader.Parse("{}"u8, "p.json").Thresholds.CallKbps);
    }

    [TestMethod]
    [DataRow((ushort)5062, null, 1)]           // built in: 5060-5071, the connection is followed from its SYN
    [DataRow((ushort)5080, null, 0)]           // not a SIP port: the INVITE's second segment came first and was not kept
    [DataRow((ushort)5080, "5060-5071,5080", 1)]
    [DataRow((ushort)5062, "5080", 0)]
    public void Audit_SipPorts_DecideWhetherTcpSipIsFollowedFromTheSyn(ushort port, string? sipPorts, int calls)
    {
        string pcap = Path.Combine(_dir, $"sip-{port}.pcap");
        WriteSipOverTcpReordered(pcap, port);
        string[] extra = sipPorts is null ? [] : ["--catalogue", WriteCatalogue(Replace(BuiltInJson(), "\"sipPorts\": \"5060-5071\"", $"\"sipPorts\": \"{sipPorts}\""))];
        var r = CliRunner.Audit([pcap, "--fail-on", "never", .. extra]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var rows = Csv.Read(r.File("calls.csv"));
        Assert.HasCount(calls, rows, $"port {port}, sipPorts {sipPorts ?? "built in"}");
        if (calls == 1) Assert.AreEqual("reorder-1@example.test", rows[0]["call_id"]);
    }

    /// <summary>
    /// A SIP INVITE over TCP to <paramref name="port"/> whose two segments arrive in reverse order (the
    /// body before the start line), after a full handshake. Followed from the SYN, the reassembler puts
    /// them back in order; joined at the first SIP-looking segment, the body is already gone.
    /// </summary>
    private static void WriteSipOverTcpReordered(string path, ushort port)
    {
        const string caller = "10.0.1.5", callee = "10.0.0.10";
        const ushort callerPort = 40000;
        string sdp = "v=0\r\no=- 1 1 IN IP4 10.0.1.5\r\ns=-\r\nc=IN IP4 10.0.1.5\r\nt=0 0\r\nm=audio 20000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
        string invite = $"INVITE sip:100@{callee}:{port};transport=tcp SIP/2.0\r\n"
            + $"Via: SIP/2.0/TCP {caller}:{callerPort};branch=z9hG4bKreorder1\r\n"
            + "Max-Forwards: 70\r\nFrom: <sip:200@10.0.1.5>;tag=a1\r\nTo: <sip:100@10.0.0.10>\r\n"
            + "Call-ID: reorder-1@example.test\r\nCSeq: 1 INVITE\r\n"
            + $"Contact: <sip:200@{caller}:{callerPort};transport=tcp>\r\nContent-Type: application/sdp\r\n"
            + $"Content-Length: {sdp.Length}\r\n\r\n" + sdp;
        byte[] message = Encoding.ASCII.GetBytes(invite);
        int cut = message.Length / 2;
        uint cIsn = 1000, sIsn = 5000;
        using var w = new PcapFileWriter(File.Create(path));
        long t = 1_772_442_000_000_000;
        void Send(bool fromCaller, TcpFlag flags, uint seq, uint ack, ReadOnlySpan<byte> data)
        {
            var frame = new byte[Frames.EthernetHeaderLength + Frames.IPv4HeaderLength + Frames.TcpHeaderLength + data.Length];
            uint src = Frames.ParseIPv4(fromCaller ? caller : callee), dst = Frames.ParseIPv4(fromCaller ? callee : caller);
            int eth = Frames.WriteEthernet(frame, [0, 0x50, 0x56, 0, 0, 2], [0, 0x50, 0x56, 0, 0, 1], 0, EtherType.IPv4);
            int tcp = Frames.WriteTcp(frame.AsSpan(eth + Frames.IPv4HeaderLength), src, dst, fromCaller ? callerPort : port, fromCaller ? port : callerPort,
                seq, ack, flags, 65535, [], data);
            Frames.WriteIPv4(frame.AsSpan(eth), src, dst, Frames.ProtocolTcp, (ushort)(t & 0xFFFF), tcp);
            w.Write(t, frame);
            t += 1_000;
        }
        Send(true, TcpFlag.Syn, cIsn, 0, []);
        Send(false, TcpFlag.Syn | TcpFlag.Ack, sIsn, cIsn + 1, []);
        Send(true, TcpFlag.Ack, cIsn + 1, sIsn + 1, []);
        Send(true, TcpFlag.Ack | TcpFlag.Psh, cIsn + 1 + (uint)cut, sIsn + 1, message.AsSpan(cut));
        Send(true, TcpFlag.Ack | TcpFlag.Psh, cIsn + 1, sIsn + 1, message.AsSpan(0, cut));
        Send(false, TcpFlag.Ack, sIsn + 1, cIsn + 1 + (uint)message.Length, []);
    }
}
