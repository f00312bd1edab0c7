using System.Globalization;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// Regression tests for the verdicts issue 10 found wrong on real captures (../shared/captures/public).
/// The tshark figures they lean on were read with tshark 4.0.17:
/// `tshark -r FAX-Call-t38-CA-TDM-SIP-FB-1.pcap -o rtp.heuristic_rtp:TRUE -q -z rtp,streams` gives the
/// 10.23.1.52:16756 -> 10.35.60.100:15580 stream a max jitter of 2730.47 ms (recorded in
/// TestData/tshark-rtp-streams.tsv); `tshark -r MagicJack-_short_call.pcap -Y sip` shows
/// 216.234.64.8 answering SIP on UDP 5070 while the RTP comes from 216.234.64.16.
/// </summary>
[TestClass]
public sealed class PublicVerdictTests
{
    private static string Capture(string relative)
    {
        var path = TestPaths.PublicCapture(relative);
        if (!File.Exists(path)) Assert.Inconclusive($"public capture {relative} not available");
        return path;
    }

    private static string VerdictLine(CliRunner.Result r) => r.Stdout.Split('\n').Single(l => l.StartsWith("Verdict: ", StringComparison.Ordinal)).TrimEnd();

    [TestMethod]
    public void Fax_NoNode_JitterIsReported_AndTheVerdictIsNotAudited_NeverClean()
    {
        var r = CliRunner.Audit(Capture("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"), "--report");
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var jitter = Csv.Read(r.File("findings.csv")).Single(f => f["kind"] == "high_jitter");
        Assert.AreEqual("10.35.60.100", jitter["server_ip"]);
        Assert.AreEqual(2730.468, double.Parse(jitter["measured"], CultureInfo.InvariantCulture), 0.01); // tshark: 2730.47 ms
        Assert.AreEqual("", jitter["nodes"]);
        Assert.AreEqual("", jitter["rule"], "no node: no row of the vendor's table");
        Assert.AreEqual("", jitter["applications"], "no node: no Imagicle application");
        StringAssert.Contains(jitter["message"], "no Imagicle node involved");
        StringAssert.StartsWith(VerdictLine(r), "Verdict: Not audited against the vendor's table");
        StringAssert.Contains(VerdictLine(r), "--server IP or --profile FILE");
        Assert.DoesNotContain("Clean", r.Stdout);
        string html = File.ReadAllText(r.File("report.html"));
        Assert.DoesNotContain(">Clean<", html);
        StringAssert.Contains(html, "Not audited against the vendor");
    }

    [TestMethod]
    public void Fax_WithServer_TheSameJitter_NowNamesTheNode()
    {
        var r = CliRunner.Audit(Capture("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"), "--server", "10.35.60.100");
        var jitter = Csv.Read(r.File("findings.csv")).Single(f => f["kind"] == "high_jitter");
        Assert.AreEqual("10.35.60.100", jitter["nodes"]);
        StringAssert.Contains(jitter["message"], "Imagicle node 10.35.60.100 involved");
        StringAssert.Contains(VerdictLine(r), "node 10.35.60.100 given with --server");
    }

    [TestMethod]
    public void Fax_WithProfile_AxlAndTapi_AreEachNotSeenRequired_AndEachAMissingFlowError()
    {
        var path = Capture("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
        var dir = Directory.CreateTempSubdirectory("ta-fax-").FullName;
        var profile = Path.Combine(dir, "fax.profile.json");
        File.WriteAllText(profile, "{\"nodes\": [\"10.35.60.100\"], \"applications\": [\"digital-fax\"], \"peers\": {\"cucm\": [\"10.35.60.72\"]}}");
        var r = CliRunner.Audit(path, "--profile", profile, "--report");
        Assert.AreEqual(1, r.ExitCode, r.Stderr);
        var missing = Csv.Read(r.File("findings.csv")).Where(f => f["kind"] == "missing_flow").ToList();
        CollectionAssert.AreEquivalent(new[] { "axl-out", "tapi-2748" }, missing.Select(f => f["rule"]).ToArray(), "two requirements, two findings");
        Assert.IsTrue(missing.All(f => f["severity"] == "error" && f["count"] == "1"));
        var matrix = Csv.Read(r.File("expected_flows.csv"));
        Assert.AreEqual("NOT SEEN (required)", matrix.Single(m => m["requirement"] == "axl-out")["status"]);
        Assert.AreEqual("NOT SEEN (required)", matrix.Single(m => m["requirement"] == "tapi-2748")["status"]);
        string html = File.ReadAllText(r.File("report.html"));
        Assert.DoesNotContain("b-notseen\">NOT SEEN (required)", html, "a required row not seen is never grey beside its error");
        StringAssert.Contains(html, "b-missing\">NOT SEEN (required)");
        StringAssert.Contains(r.Stdout, "Imagicle nodes (given in the profile):");
        Assert.DoesNotContain("given with --server", r.Stdout + html);
        StringAssert.EndsWith(VerdictLine(r), "— exit 1: 2 errors at or above --fail-on error");
    }

    /// <summary>
    /// A call that loops through its proxy: every SDP names 192.168.105.110, so both RTP streams (.110 to
    /// .172 and back; tshark -z rtp,streams lists both) bind to an SDP endpoint on the same side. Media flowed
    /// both ways: no one_way_media (it was a false error once quality was judged for every call).
    /// </summary>
    [TestMethod]
    public void SipDtmf2_MediaBothWaysThroughAProxy_IsNotOneWay()
    {
        var r = CliRunner.Audit(Capture("wireshark-wiki/SIP_DTMF2.cap"));
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        Assert.IsFalse(Csv.Read(r.File("findings.csv")).Any(f => f["kind"] == "one_way_media"), r.Stdout);
        var streams = Csv.Read(r.File("rtp_streams.csv"));
        Assert.IsTrue(streams.Any(s => s["src_ip"] == "192.168.105.110" && s["dst_ip"] == "192.168.105.172"));
        Assert.IsTrue(streams.Any(s => s["src_ip"] == "192.168.105.172" && s["dst_ip"] == "192.168.105.110"));
        Assert.IsTrue(Csv.Read(r.File("calls.csv")).All(c => c["one_way"] == "false"));
    }

    [TestMethod]
    public void Fax_ProfileWithoutNodes_SaysToAddNodes_NotThatItStatesNoRequirement()
    {
        var path = Capture("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap");
        var dir = Directory.CreateTempSubdirectory("ta-fax-nonodes-").FullName;
        var profile = Path.Combine(dir, "fax.profile.json");
        File.WriteAllText(profile, "{\"applications\": [\"digital-fax\"], \"peers\": {\"cucm\": [\"10.35.60.72\"]}}");
        var r = CliRunner.Audit(path, "--profile", profile, "--report");
        StringAssert.Contains(VerdictLine(r), "add \"nodes\" to the profile or give --server IP");
        string html = File.ReadAllText(r.File("report.html"));
        StringAssert.Contains(html, "Requirements not checked: no Imagicle node known");
        Assert.DoesNotContain("The profile states no requirements", html);
    }

    [TestMethod]
    public void SipCallRtpG711_IsNotCalledClean()
    {
        var r = CliRunner.Audit(Capture("wireshark-wiki/SIP_CALL_RTP_G711"));
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.StartsWith(VerdictLine(r), "Verdict: Not audited against the vendor's table");
        Assert.DoesNotContain("Clean", r.Stdout);
    }

    [TestMethod]
    [DataRow("wireshark-wiki/MagicJack-_short_call.pcap", "216.234.64.8")]
    [DataRow("sngrep/ipv6frag.pcap", "fd17:625c:f037:2:a00:27ff:feb9:3519")]
    public void PublicSipServerOnOneImagiclePort_IsNotANode_AndNoErrorIsInvented(string relative, string server)
    {
        var r = CliRunner.Audit(Capture(relative));
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stdout, "none detected");
        Assert.IsFalse(Csv.Read(r.File("findings.csv")).Any(f => f["kind"] == "over_latency"), "the slow BYE answer was blamed on a node that is not one");
        Assert.IsFalse(Csv.Read(r.File("flows.csv")).Any(f => f["direction"] != "NONE"), $"{server} taken for a node");
        StringAssert.StartsWith(VerdictLine(r), "Verdict: Not audited against the vendor's table");
    }

    [TestMethod]
    public void ZeekEmpty_IsExit3_InOneSentence()
    {
        var r = CliRunner.Audit(Capture("zeek/empty.pcap"));
        Assert.AreEqual(3, r.ExitCode);
        Assert.AreEqual(1, r.Stderr.Trim().Split('\n').Length, r.Stderr);
        StringAssert.Contains(r.Stderr, "empty.pcap holds no packet that could be decoded");
    }
}
