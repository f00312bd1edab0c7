using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Policy;

/// <summary>
/// The verdict an engineer signs (issue 10, points 1-5), end to end on synthesized captures with their
/// truth: what was checked, one vocabulary for requirements, one missing_flow per requirement, call
/// quality for every call, and node detection that needs evidence.
/// </summary>
[TestClass]
public sealed class VerdictScenarioTests
{
    private static string Save(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-verdict", Guid.NewGuid().ToString("N"));
        return ScenarioCatalog.Find(name)!.Build(1).Save(Path.Combine(dir, name + ".pcap"));
    }

    private static string ProfileOf(string pcap) => TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap);

    private static string VerdictLine(CliRunner.Result r) => r.Stdout.Split('\n').Single(l => l.StartsWith("Verdict: ", StringComparison.Ordinal)).TrimEnd();

    [TestMethod]
    public void NoNodeBadCall_WithoutProfile_QualityFindingsAndNotAudited_NeverClean()
    {
        var r = CliRunner.Audit(Save("no-node-bad-call"));
        Assert.AreEqual(0, r.ExitCode, r.Stderr); // quality findings are warnings
        var rows = Csv.Read(r.File("findings.csv"));
        CollectionAssert.AreEquivalent(new[] { "high_jitter", "low_mos", "packet_loss" }, rows.Select(f => f["kind"]).ToArray());
        foreach (var f in rows)
        {
            Assert.AreEqual("10.0.1.20", f["server_ip"], "the phone's stream towards the gateway");
            Assert.AreEqual("", f["nodes"], "no node involved");
            Assert.AreEqual("", f["rule"], "a gateway-to-phone call is no row of the vendor's table");
            StringAssert.Contains(f["message"], "no Imagicle node involved");
        }
        var mos = rows.Single(f => f["kind"] == "low_mos");
        Assert.AreEqual("3.6", mos["threshold"]);
        Assert.IsLessThan(3.6, double.Parse(mos["measured"], System.Globalization.CultureInfo.InvariantCulture));

        string verdict = VerdictLine(r);
        StringAssert.StartsWith(verdict, "Verdict: Not audited against the vendor's table: no Imagicle node known (no profile, none given with --server, none detected); give the nodes with --server IP or --profile FILE.");
        StringAssert.EndsWith(verdict, "— exit 0: no finding at or above --fail-on error; the vendor's table was not checked (no Imagicle node known)");
        Assert.DoesNotContain("Clean", r.Stdout);
        Assert.AreEqual(1, CliRunner.Audit(Save("no-node-bad-call"), "--fail-on", "warning").ExitCode);
    }

    [TestMethod]
    public void NoNodeBadCall_WithAProfileWithoutNodes_RequirementsNotChecked_AndNoMissingFlow()
    {
        var pcap = Save("no-node-bad-call");
        var r = CliRunner.Audit(pcap, "--profile", ProfileOf(pcap), "--report");
        var rows = Csv.Read(r.File("findings.csv"));
        Assert.IsFalse(rows.Any(f => f["kind"] == "missing_flow"), "without a node every row would be NOT SEEN: nothing is claimed missing");
        StringAssert.Contains(r.Stdout, "not checked, no Imagicle node known");
        StringAssert.Contains(VerdictLine(r), "the profile names no node");
        string html = File.ReadAllText(r.File("report.html"));
        StringAssert.Contains(html, "Not audited against the vendor");
        Assert.DoesNotContain(">Clean<", html);
        StringAssert.Contains(html, "exit 0: no finding at or above --fail-on error");
    }

    [TestMethod]
    public void EmptyCapture_IsExit3_InOneSentence()
    {
        var r = CliRunner.Audit(Save("empty-capture"));
        Assert.AreEqual(3, r.ExitCode);
        Assert.AreEqual("", r.Stdout);
        var lines = r.Stderr.Trim().Split('\n');
        Assert.AreEqual(1, lines.Length, r.Stderr);
        StringAssert.Contains(lines[0], "no packet that could be decoded");
        Assert.DoesNotContain("audited", lines[0].Replace("nothing to audit", ""));
    }

    [TestMethod]
    public void TenByteFile_IsExit3_AndNeverSaysFramesWereAudited()
    {
        var dir = Directory.CreateTempSubdirectory("ta-ten-").FullName;
        var path = Path.Combine(dir, "ten.pcap");
        File.WriteAllBytes(path, [0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00]);
        var r = CliRunner.Audit(path);
        Assert.AreEqual(3, r.ExitCode, r.Stderr);
        Assert.AreEqual(1, r.Stderr.Trim().Split('\n').Length, r.Stderr);
        StringAssert.Contains(r.Stderr, "header truncated");
        Assert.DoesNotContain("were audited", r.Stderr);
    }

    [TestMethod]
    public void TwoMissingRequirementsToOnePeer_AreTwoFindings_EachNamingItsRule()
    {
        var pcap = Save("two-missing-one-peer");
        var r = CliRunner.Audit(pcap, "--profile", ProfileOf(pcap));
        Assert.AreEqual(1, r.ExitCode, r.Stderr);
        var missing = Csv.Read(r.File("findings.csv")).Where(f => f["kind"] == "missing_flow").ToList();
        CollectionAssert.AreEquivalent(new[] { "sip-5064-presence", "sip-5070-call-recording;sip-tls-5071-call-recording" }, missing.Select(f => f["rule"]).ToArray());
        foreach (var f in missing)
        {
            Assert.AreEqual("1", f["count"]);
            Assert.AreEqual("10.0.1.5", f["server_ip"]);
            Assert.AreEqual("10.0.0.10", f["nodes"]);
        }
        StringAssert.Contains(missing.Single(f => f["rule"] == "sip-5064-presence")["message"], "udp/5064");
        Assert.AreEqual("udp", missing.Single(f => f["rule"] == "sip-5064-presence")["transport"]);
        Assert.AreEqual("any", missing.Single(f => f["rule"].StartsWith("sip-5070", StringComparison.Ordinal))["transport"], "SIP 5070 over UDP or TCP, or TLS 5071");
        StringAssert.Contains(missing.Single(f => f["rule"].StartsWith("sip-5070", StringComparison.Ordinal))["message"], "call-recording");
        // The same requirements are NOT SEEN (required) in the matrix, the console and the exit reason.
        var matrix = Csv.Read(r.File("expected_flows.csv"));
        CollectionAssert.AreEquivalent(new[] { "recording-sip", "sip-5064-presence" },
            matrix.Where(m => m["status"] == "NOT SEEN (required)").Select(m => m["requirement"]).ToArray());
        Assert.AreEqual(2, r.Stdout.Split('\n').Count(l => l.TrimStart().StartsWith("NOT SEEN (required)", StringComparison.Ordinal)));
        StringAssert.EndsWith(VerdictLine(r), "— exit 1: 2 errors at or above --fail-on error");
    }

    [TestMethod]
    public void MatrixState_IsTheFindingsState_ForEveryScenario()
    {
        // A NOT SEEN (required) row always has its missing_flow error, and a missing_flow always its row.
        foreach (var scenario in ScenarioCatalog.All.Where(s => s.Name != "empty-capture"))
        {
            var pcap = scenario.Build(1).Save(Path.Combine(Path.GetTempPath(), "ta-verdict", Guid.NewGuid().ToString("N"), scenario.Name + ".pcap"));
            var r = CliRunner.Audit(pcap, "--profile", ProfileOf(pcap), "--quiet");
            if (!File.Exists(r.File("expected_flows.csv"))) continue;
            var notSeen = Csv.Read(r.File("expected_flows.csv")).Where(m => m["status"] == "NOT SEEN (required)").Select(m => m["rules"]).Order().ToList();
            var missing = Csv.Read(r.File("findings.csv")).Where(f => f["kind"] == "missing_flow").Select(f => f["rule"]).Order().ToList();
            CollectionAssert.AreEqual(notSeen, missing, scenario.Name);
            foreach (var m in Csv.Read(r.File("expected_flows.csv")))
                Assert.IsTrue(m["status"] is "PASS" or "NOT SEEN (required)" or "NOT SEEN (optional)" or "NOT EXPECTED" || m["status"].StartsWith("FAIL (", StringComparison.Ordinal), $"{scenario.Name}: {m["status"]}");
        }
    }

    [TestMethod]
    public void OverBudgetFlow_IsFailOverBudget_NeverBlocked()
    {
        var pcap = Save("over-latency");
        File.WriteAllText(ProfileOf(pcap), "{\"nodes\": [\"10.0.0.10\"], \"applications\": [\"advanced-queuing\"], \"peers\": {\"cucm\": [\"10.0.1.5\"]}}");
        var r = CliRunner.Audit(pcap, "--profile", ProfileOf(pcap), "--report");
        var axl = Csv.Read(r.File("expected_flows.csv")).Single(m => m["requirement"] == "axl-out");
        Assert.AreEqual("FAIL (over budget)", axl["status"]);
        StringAssert.Contains(r.Stdout, "FAIL (over budget)");
        string html = File.ReadAllText(r.File("report.html"));
        StringAssert.Contains(html, ">FAIL (over budget)<");
        Assert.DoesNotContain("BLOCKED", html);
        Assert.DoesNotContain("blocked", axl["status"]);
    }

    [TestMethod]
    public void SipProviderOn5070_IsNotANode_AndNoOverLatencyIsInvented()
    {
        var r = CliRunner.Audit(Save("sip-provider-5070"));
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stdout, "none detected: no host shows evidence only an Imagicle node gives");
        Assert.IsFalse(Csv.Read(r.File("findings.csv")).Any(f => f["kind"] == "over_latency"));
        Assert.IsTrue(Csv.Read(r.File("flows.csv")).All(f => f["direction"] == "NONE"));
        StringAssert.StartsWith(VerdictLine(r), "Verdict: Not audited against the vendor's table");
        // Named as a node by the engineer, the same capture is audited and the slow BYE answer is reported.
        var given = CliRunner.Audit(Save("sip-provider-5070"), "--server", "198.51.100.8");
        Assert.IsTrue(Csv.Read(given.File("findings.csv")).Any(f => f["kind"] == "over_latency"));
        StringAssert.Contains(given.Stdout, "Imagicle nodes (given with --server)");
    }

    [TestMethod]
    public void ProfileNodes_AreToldAsTheProfiles_NotGivenWithServer()
    {
        var pcap = Save("two-missing-one-peer");
        var r = CliRunner.Audit(pcap, "--profile", ProfileOf(pcap), "--report");
        StringAssert.Contains(r.Stdout, "Imagicle nodes (given in the profile):");
        Assert.DoesNotContain("given with --server", r.Stdout);
        string html = File.ReadAllText(r.File("report.html"));
        StringAssert.Contains(html, "Imagicle nodes (given in the profile)");
        Assert.DoesNotContain("given with --server", html);
    }

    [TestMethod]
    public void WeaklyDetectedNode_ItsErrorsAreWarningsThatSaySo()
    {
        var r = CliRunner.Audit(Save("weak-node-evidence"));
        StringAssert.Contains(r.Stdout, "10.0.0.10        weak evidence (score 2): terminates SIP UDP 5062 from 1 client; sends RTP itself (1 flow)");
        var axl = Csv.Read(r.File("findings.csv")).Single(f => f["kind"] == "over_latency");
        Assert.AreEqual("warning", axl["severity"], "rests on a node detected with weak evidence");
        StringAssert.Contains(axl["message"], "node 10.0.0.10 was detected with weak evidence");
        Assert.AreEqual(0, r.ExitCode, "no error left at --fail-on error");
        StringAssert.Contains(VerdictLine(r), "node 10.0.0.10 detected (1 with weak evidence)");
        // Named by the engineer, the same node's over-budget AXL is an error again.
        var given = CliRunner.Audit(Save("weak-node-evidence"), "--server", "10.0.0.10");
        Assert.AreEqual("error", Csv.Read(given.File("findings.csv")).Single(f => f["kind"] == "over_latency")["severity"]);
        Assert.AreEqual(1, given.ExitCode);
    }
}
