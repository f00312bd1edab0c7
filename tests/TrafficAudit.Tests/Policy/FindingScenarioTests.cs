using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Policy;

/// <summary>
/// One synthesized capture per finding kind, audited end to end with the profile it was made for: the
/// findings must be exactly the ones the generator planted (its ground truth), each with its evidence.
/// </summary>
[TestClass]
public sealed class FindingScenarioTests
{
    public static readonly string[] FindingsColumns =
    [
        "finding_id", "severity", "kind", "service", "applications", "client_ip", "client_port", "server_ip", "server_port",
        "transport", "first_seen", "count", "measured", "threshold", "unit", "method", "rule", "message", "wireshark_filter",
    ];

    public static IEnumerable<object[]> Scenarios() => ScenarioCatalog.All.Select(s => new object[] { s.Name });

    /// <summary>Builds the scenario into a temporary folder (pcap, truth, profile) and audits it with its profile.</summary>
    private static (CliRunner.Result Run, GroundTruth Truth) Audit(string name, params string[] extra)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-scenarios", Guid.NewGuid().ToString("N"));
        var capture = ScenarioCatalog.Find(name)!.Build(1);
        var pcap = capture.Save(Path.Combine(dir, name + ".pcap"));
        var profile = TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap);
        return (CliRunner.Audit([pcap, "--profile", profile, "--quiet", .. extra]), capture.Truth);
    }

    [TestMethod]
    [DynamicData(nameof(Scenarios))]
    public void Scenario_AuditedWithItsProfile_ReportsExactlyThePlantedFindings(string name)
    {
        var (r, truth) = Audit(name);
        if (truth.ExpectedExitCode is { } code)
        {
            Assert.AreEqual(code, r.ExitCode, r.Stderr);
            if (code == 3) return;
        }
        Assert.IsTrue(r.ExitCode is 0 or 1, r.Stderr);
        var rows = Csv.Read(r.File("findings.csv"));
        var actual = rows.Select(f => Describe(f["kind"], f["server_ip"], f["server_port"])).Order().ToList();
        var expected = truth.ExpectedFindings.Select(e => (e, match: rows.FirstOrDefault(f => Matches(e, f))))
            .Select(x => x.match is null ? "MISSING " + Describe(x.e.Kind, x.e.ServerIp, x.e.ServerPort?.ToString() ?? "*")
                : Describe(x.match["kind"], x.match["server_ip"], x.match["server_port"]))
            .Order().ToList();
        CollectionAssert.AreEqual(expected, actual, $"{name}: expected [{string.Join("; ", expected)}] got [{string.Join("; ", actual)}]");

        bool anyError = rows.Any(f => f["severity"] == "error");
        Assert.AreEqual(anyError ? 1 : 0, r.ExitCode, "exit code follows --fail-on error");
        foreach (var f in rows)
        {
            Assert.IsFalse(string.IsNullOrEmpty(f["message"]), f["kind"]);
            Assert.IsFalse(string.IsNullOrEmpty(f["method"]), f["kind"]);
            Assert.IsFalse(string.IsNullOrEmpty(f["wireshark_filter"]), f["kind"]);
            Assert.AreEqual("1", f["count"], $"{f["kind"]}: one occurrence planted per conversation");
        }
        foreach (var ip in truth.NotNodes)
            Assert.IsFalse(Csv.Read(r.File("flows.csv")).Any(f => (f["direction"] is "IN" && f["server_ip"] == ip) || (f["direction"] is "OUT" && f["client_ip"] == ip)), $"{ip} taken for a node");
    }

    private static string Describe(string kind, string ip, string port) => $"{kind} {ip}:{port}";

    private static bool Matches(FindingTruth e, Dictionary<string, string> f)
        => f["kind"] == e.Kind && f["server_ip"] == e.ServerIp && (e.ServerPort is null || f["server_port"] == e.ServerPort.ToString());

    [TestMethod]
    public void EveryFindingKind_HasAScenarioThatPlantsIt()
    {
        var planted = ScenarioCatalog.All.SelectMany(s => s.Build(1).Truth.ExpectedFindings).Select(f => f.Kind).ToHashSet();
        foreach (var kind in TrafficAudit.Policy.FindingKinds.All) Assert.Contains(kind, planted, $"no scenario plants {kind}");
    }

    [TestMethod]
    public void CleanSite_NoFindingAndEveryRequiredRowObserved()
    {
        var (r, _) = Audit("clean-site", "--fail-on", "info");
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        Assert.AreEqual(0, Csv.Read(r.File("findings.csv")).Count);
        var matrix = Csv.Read(r.File("expected_flows.csv"));
        Assert.IsGreaterThanOrEqualTo(6, matrix.Count);
        foreach (var row in matrix)
            Assert.IsTrue(row["status"] == "PASS" || (row["required"] == "false" && row["status"] == "NOT SEEN (optional)"), $"{row["requirement"]}: {row["status"]}");
        Assert.IsTrue(matrix.Any(m => m["requirement"] == "axl-out" && m["status"] == "PASS"));
    }

    [TestMethod]
    public void FindingsCsv_HasTheContractColumnsInOrder()
    {
        var (r, _) = Audit("refused");
        CollectionAssert.AreEqual(FindingsColumns, Csv.Header(r.File("findings.csv")).Take(FindingsColumns.Length).ToArray());
        CollectionAssert.AreEqual(new[] { "service", "applications", "peer", "ports", "status", "evidence_flow_ids" },
            Csv.Header(r.File("expected_flows.csv")).Take(6).ToArray());
    }

    [TestMethod]
    public void Blocked_TcpAndUdpEvidence_NameTheMethodAndTheFilter()
    {
        var (r, _) = Audit("blocked");
        var rows = Csv.Read(r.File("findings.csv"));
        var imaps = rows.Single(f => f["server_port"] == "993");
        Assert.AreEqual("error", imaps["severity"]);
        Assert.AreEqual("3", imaps["measured"]);
        Assert.AreEqual("syn", imaps["unit"]);
        Assert.AreEqual("ip.addr==10.0.0.10 && ip.addr==10.0.2.6 && tcp.port==993 && tcp.flags.syn==1", imaps["wireshark_filter"]);
        var dns = rows.Single(f => f["server_port"] == "53");
        Assert.AreEqual("udp", dns["transport"]);
        StringAssert.Contains(dns["method"], "UDP request");
    }

    [TestMethod]
    public void OverLatency_NamesEachMethodAndBudget()
    {
        var (r, _) = Audit("over-latency");
        var rows = Csv.Read(r.File("findings.csv"));
        var axl = rows.Single(f => f["server_port"] == "8443");
        Assert.AreEqual("150", axl["threshold"]);
        Assert.AreEqual("ms", axl["unit"]);
        Assert.IsGreaterThan(150.0, double.Parse(axl["measured"], System.Globalization.CultureInfo.InvariantCulture));
        StringAssert.Contains(axl["method"], "TCP handshake");
        var sip = rows.Single(f => f["server_port"] == "5064");
        Assert.AreEqual("80", sip["threshold"]);
        Assert.AreEqual("120", sip["measured"]);
        StringAssert.Contains(sip["method"], "SIP request sent by the node");
        StringAssert.StartsWith(sip["wireshark_filter"], "sip.Call-ID==\"");
    }

    [TestMethod]
    public void SlowResponse_IsTheNodesProcessing_NotOverLatency()
    {
        var (r, _) = Audit("slow-response");
        var rows = Csv.Read(r.File("findings.csv"));
        Assert.AreEqual("slow_response", rows.Single()["kind"]);
        Assert.AreEqual("warning", rows.Single()["severity"]);
        Assert.AreEqual("10.0.1.5", rows.Single()["client_ip"]);
        Assert.AreEqual(0, r.ExitCode, "a warning does not fail at the default level");
        Assert.AreEqual(1, Audit("slow-response", "--fail-on", "warning").Run.ExitCode);
    }

    [TestMethod]
    public void WithoutProfile_OnlyFindingsThatNeedNoExpectations_AndNoMatrix()
    {
        var capture = ScenarioCatalog.Find("missing-flow")!.Build(1);
        var dir = Path.Combine(Path.GetTempPath(), "ta-scenarios", Guid.NewGuid().ToString("N"));
        var pcap = capture.Save(Path.Combine(dir, "missing-flow.pcap"));
        var r = CliRunner.Audit(pcap, "--server", "10.0.0.10");
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        Assert.AreEqual(0, Csv.Read(r.File("findings.csv")).Count, "missing_flow needs a profile");
        Assert.IsFalse(File.Exists(r.File("expected_flows.csv")));
        StringAssert.Contains(r.Stdout, "no --profile");
    }

    [TestMethod]
    public void Cli_FailOnBadValue_IsAUsageError()
    {
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), "--fail-on", "fatal");
        Assert.AreEqual(2, r.ExitCode);
    }
}
