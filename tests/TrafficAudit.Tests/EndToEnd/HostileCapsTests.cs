using System.Globalization;
using TrafficAudit.Synth.Bench;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The caps that bound per-object costs (README "Caps"), each reached by a small version of a hostile
/// capture of tools/bench-hostile.sh: the named counter appears in anomalies.csv with the exact number
/// of objects past the cap, and the rest of the output is still right.
/// </summary>
[TestClass]
public sealed class HostileCapsTests
{
    private static string Capture(string kind, long packets, int userAgents = 20_000, int reInvites = 200, int mediaLines = 200)
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, kind + ".pcap");
        using (var fs = File.Create(path)) Assert.AreEqual(packets, HostileGenerator.Generate(fs, kind, packets, userAgents, reInvites, mediaLines));
        return path;
    }

    private static long Anomaly(CliRunner.Result r, string name) =>
        Csv.Read(r.File("anomalies.csv")).Where(a => a["name"] == name).Select(a => long.Parse(a["count"], CultureInfo.InvariantCulture)).SingleOrDefault();

    private static CliRunner.Result Audit(string capture, params string[] extra)
    {
        var r = CliRunner.Audit([capture, "--quiet", "--fail-on", "never", .. extra]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        return r;
    }

    [TestMethod]
    public void NewSsrcEveryPacket_StreamsPerFlowCapped_PacketsStillInTheFlow()
    {
        var r = Audit(Capture("ssrc", 2000));
        // 3 SIP packets, then 1,997 RTP packets each with a new SSRC: 64 streams, the rest counted.
        Assert.AreEqual(1997 - 64, Anomaly(r, "rtp_flow_ssrc_limit"));
        var streams = Csv.Read(r.File("rtp_streams.csv"));
        Assert.HasCount(64, streams);
        Assert.IsTrue(streams.All(s => s["call_id"] == "hostile-ssrc@10.1.0.1" && s["packets"] == "1"));
        var flow = Csv.Read(r.File("flows.csv")).Single(f => f["server_port"] == "30000" || f["client_port"] == "30000");
        Assert.AreEqual(1997, long.Parse(flow["packets_c2s"], CultureInfo.InvariantCulture) + long.Parse(flow["packets_s2c"], CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void NewSsrcAndFlowEveryPacket_StreamsPerCallCapped()
    {
        var r = Audit(Capture("ssrcflows", 600));
        Assert.AreEqual(597 - 256, Anomaly(r, "rtp_call_ssrc_limit"));
        Assert.AreEqual(0, Anomaly(r, "rtp_flow_ssrc_limit"));
        Assert.HasCount(256, Csv.Read(r.File("rtp_streams.csv")).Where(s => s["call_id"] == "hostile-ssrc@10.1.0.1").ToList());
    }

    [TestMethod]
    public void ManyUserAgents_ListCapped_CallStillCounted()
    {
        var r = Audit(Capture("useragents", 1000, userAgents: 100));
        // 2 from the set-up, then 100 INFO User-Agents and 100 Server values: 202 distinct, 16 kept.
        Assert.AreEqual(202 - 16, Anomaly(r, "sip_call_user_agent_limit"));
        var call = Csv.Read(r.File("calls.csv")).Single();
        var agents = call["user_agents"].Split(" | ");
        Assert.HasCount(16, agents);
        Assert.AreEqual("Hostile Phone", agents[0]);
        Assert.AreEqual("true", call["answered"]);
        Assert.AreEqual("2", call["streams"]);
    }

    [TestMethod]
    public void ManyReInvitesWithManyMediaLines_EndpointsAndSdpHistoryCapped_ReInvitesAllCounted()
    {
        var r = Audit(Capture("reinvites", 3000, reInvites: 40, mediaLines: 20));
        // 2 endpoints at set-up, then 40 offers and 40 answers of 20 new endpoints each: 1,602, of which 256 kept.
        Assert.AreEqual(1602 - 256, Anomaly(r, "sip_call_media_endpoint_limit"));
        // 2 + 80 SDP bodies, 64 kept.
        Assert.AreEqual(82 - 64, Anomaly(r, "sip_call_media_change_limit"));
        var call = Csv.Read(r.File("calls.csv")).Single();
        Assert.AreEqual("40", call["reinvites"]);
        Assert.AreEqual("PCMU", call["codec"]);
        Assert.AreEqual("2", call["streams"]);
    }

    [TestMethod]
    public void SynScanOfANamedNode_FindingsPerSourceCapped_OneSummaryCountsTheRest()
    {
        var r = Audit(Capture("synscan", 1000), "--server", "10.0.0.10");
        // 500 SYNs to ports 1-500 of the node, each refused by RST: the ports without a catalogue row
        // are unexpected flows (the few with a row, refused flows).
        var findings = Csv.Read(r.File("findings.csv"));
        var unexpected = findings.Where(f => f["kind"] == "unexpected_flow" && f["client_ip"] == "10.9.9.9").ToList();
        Assert.HasCount(101, unexpected);
        var summary = unexpected.Single(f => f["service"] == "summary");
        long rest = long.Parse(summary["count"], CultureInfo.InvariantCulture);
        Assert.AreEqual(rest, Anomaly(r, "findings_summarised"));
        int unknownFlows = Csv.Read(r.File("flows.csv")).Count(f => f["service"] == "unknown");
        Assert.IsTrue(rest + 100 >= unknownFlows && rest + 100 <= 500, $"{rest} + 100 against {unknownFlows} flows of no known service");
        StringAssert.StartsWith(summary["message"], $"scan or flood from 10.9.9.9: {rest} more unexpected flows beyond the 100 unexpected_flow findings listed");
        Assert.AreEqual("ip.addr==10.9.9.9", summary["wireshark_filter"]);
        Assert.AreEqual("warning", summary["severity"]);
        // The 100 listed are single flows, as without the cap; refused flows are a kind of their own, under the cap.
        Assert.IsTrue(unexpected.Where(f => f["service"] != "summary").All(f => f["count"] == "1" && f["flow_ids"].Length > 0));
        Assert.IsTrue(findings.Any(f => f["kind"] == "refused_flow" && f["client_ip"] == "10.9.9.9"));
        Assert.HasCount(500, Csv.Read(r.File("flows.csv")));
    }

    [TestMethod]
    public void ReadmeCapsTable_SaysTheValuesOfTheCode()
    {
        var o = new TrafficAudit.Analyzers.Sip.SipAnalyzerOptions();
        static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
        var expected = new Dictionary<string, string>
        {
            ["sip_call_user_agent_limit"] = N(o.MaxUserAgentsPerCall),
            ["sip_call_media_endpoint_limit"] = N(o.MaxMediaEndpointsPerCall),
            ["sip_call_media_change_limit"] = N(o.MaxMediaChangesPerCall),
            ["sip_call_reinvite_limit"] = N(o.MaxReInviteIdsPerCall),
            ["sip_transaction_copy_limit"] = N(o.MaxCopiesPerTransaction),
            ["sip_open_transaction_limit"] = N(o.MaxOpenTransactions),
            ["sip_transactions_not_kept"] = N(o.MaxTransactionsKept),
            ["sip_tcp_stream_limit"] = N(o.MaxTcpStreams),
            ["sip_tcp_buffer_overflow"] = $"{o.MaxTcpPendingBytes / 1024} KiB",
            ["sip_tcp_total_buffer_limit"] = $"{o.MaxTcpPendingTotalBytes >> 20} MiB",
            ["rtp_flow_ssrc_limit"] = N(TrafficAudit.Analyzers.Rtp.VoipTracker.MaxStreamsPerFlow),
            ["rtp_call_ssrc_limit"] = N(TrafficAudit.Analyzers.Rtp.VoipTracker.MaxStreamsPerCall),
            ["rtp_probe_flow_limit"] = N(TrafficAudit.Analyzers.RtpProbeAnalyzer.MaxProbedFlows),
            ["flow_table_full"] = N(TrafficAudit.Pipeline.AuditOptions.DefaultMaxActiveFlows),
            ["flow_hold_full"] = N(TrafficAudit.Pipeline.AuditOptions.DefaultMaxHeldFlows),
            ["dns_names_limit"] = N(TrafficAudit.Pipeline.AuditEngine.MaxDnsNames),
            ["rtcp_sender_reports_forgotten"] = N(TrafficAudit.Analyzers.Rtp.VoipTracker.MaxSenderReports),
            ["sip_calls_evicted"] = N(o.MaxOpenCalls),
            ["rtp_streams_evicted"] = N(TrafficAudit.Analyzers.Rtp.VoipTracker.MaxOpenStreams),
            ["sip_options_pairs_limit"] = N(o.MaxOptionsPairs),
            ["sdp_media_bindings_forgotten"] = N(o.MaxRetiredMediaBindings),
            ["findings_summarised"] = N(TrafficAudit.Policy.Verdict.MaxFindingsPerKindAndSource),
            ["policy_flows_forgotten"] = N(new TrafficAudit.Policy.PolicyLimits().JoinFlows),
            ["policy_joins_early"] = N(new TrafficAudit.Policy.PolicyLimits().PendingJoins),
            ["finding_keys_limit"] = N(new TrafficAudit.Policy.PolicyLimits().FindingKeys),
            ["evidence_flow_ids_cut"] = N(new TrafficAudit.Policy.PolicyLimits().FlowIdsPerRow),
        };
        var readme = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "README.md"));
        int start = Array.FindIndex(readme, l => l.StartsWith("## Caps", StringComparison.Ordinal));
        Assert.IsGreaterThanOrEqualTo(0, start, "the README has a Caps section");
        var rows = readme.Skip(start).TakeWhile((l, i) => i == 0 || !l.StartsWith("## ", StringComparison.Ordinal))
            .Where(l => l.StartsWith("| ", StringComparison.Ordinal))
            .Select(l => l.Split('|').Select(c => c.Trim()).ToArray())
            .Where(c => c.Length == 6 && c[3].StartsWith('`'))
            .ToDictionary(c => c[3].Trim('`'), c => c[2]);
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), rows.Keys.ToList(), "one row per cap");
        foreach (var (counter, value) in expected) Assert.AreEqual(value, rows[counter], counter);
        // The classifier's verdict memory: counted in --stats, not anomalies.csv (its row names no anomaly).
        var verdicts = readme.Skip(start).Single(l => l.StartsWith("| verdicts the flow classifier remembers", StringComparison.Ordinal)).Split('|');
        Assert.AreEqual(N(TrafficAudit.Classification.FlowClassifier.MaxRemembered), verdicts[2].Trim());
        StringAssert.Contains(verdicts[3], "`verdicts_not_remembered`");
        foreach (var counter in expected.Keys)
            Assert.IsTrue(TrafficAudit.Cli.AnomalyExplanations.All.ContainsKey(counter), counter + " is explained");
    }
}
