using System.Globalization;
using TrafficAudit.Synth.Scenarios;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>flow_id in rtp_streams.csv and calls.csv, and rtp_series.csv (--series), end to end.</summary>
[TestClass]
public sealed class PivotColumnsTests
{
    private static CliRunner.Result Audit(string scenario, params string[] extra)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-pivots", Guid.NewGuid().ToString("N"));
        var pcap = ScenarioCatalog.Find(scenario)!.Build(1).Save(Path.Combine(dir, scenario + ".pcap"));
        var r = CliRunner.Audit([pcap, "--profile", TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap), "--quiet", .. extra]);
        Assert.IsTrue(r.ExitCode is 0 or 1, r.Stderr);
        return r;
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [TestMethod]
    public void StreamsAndCalls_FlowId_NamesTheCarryingFlow()
    {
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), "--fail-on", "never");
        var flows = Csv.Read(r.File("flows.csv")).ToDictionary(f => f["flow_id"]);
        var streams = Csv.Read(r.File("rtp_streams.csv"));
        Assert.IsNotEmpty(streams);
        foreach (var s in streams)
        {
            var f = flows[s["flow_id"]];
            Assert.AreEqual("udp", f["transport"]);
            var ends = new[] { (f["client_ip"], f["client_port"]), (f["server_ip"], f["server_port"]) };
            CollectionAssert.AreEquivalent(ends, new[] { (s["src_ip"], s["src_port"]), (s["dst_ip"], s["dst_port"]) }, s["stream_id"]);
        }
        var calls = Csv.Read(r.File("calls.csv"));
        Assert.IsNotEmpty(calls);
        foreach (var c in calls.Where(c => c["sip_transport"] != "tls"))
        {
            var f = flows[c["flow_id"]];
            Assert.AreEqual(c["sip_transport"], f["transport"]);
            var ends = new[] { (f["client_ip"], f["client_port"]), (f["server_ip"], f["server_port"]) };
            CollectionAssert.AreEquivalent(ends, new[] { (c["caller_ip"], c["caller_port"]), (c["callee_ip"], c["callee_port"]) }, c["call_id"]);
            Assert.IsTrue(string.CompareOrdinal(f["first_seen"], c["start"]) <= 0 && string.CompareOrdinal(c["start"], f["last_seen"]) <= 0, "the flow was there at the INVITE");
        }
        CollectionAssert.AreEqual(new[] { "flow_id", "evidence_file" }, Csv.Header(r.File("calls.csv")).TakeLast(2).ToArray());
        Assert.AreEqual("flow_id", Csv.Header(r.File("rtp_streams.csv")).Last());
        Assert.IsFalse(File.Exists(r.File("rtp_series.csv")), "only with --series");
    }

    /// <summary>The series adds up to the stream: packets, expected and lost (Wireshark's), the highest jitter, the mean rate.</summary>
    [TestMethod]
    [DataRow("packet-loss")]
    [DataRow("high-jitter")]
    public void Series_PerStream_AddsUpToTheStreamRow(string scenario)
    {
        var r = Audit(scenario, "--series");
        var series = Csv.Read(r.File("rtp_series.csv"));
        CollectionAssert.AreEqual(new[] { "stream_id", "second", "bucket_s", "packets", "expected", "lost", "ip_kbps", "max_jitter_ms" }, Csv.Header(r.File("rtp_series.csv")).ToArray());
        foreach (var s in Csv.Read(r.File("rtp_streams.csv")))
        {
            var rows = series.Where(x => x["stream_id"] == s["stream_id"]).ToList();
            Assert.IsNotEmpty(rows);
            Assert.AreEqual(long.Parse(s["packets"]), rows.Sum(x => long.Parse(x["packets"])), "packets");
            Assert.AreEqual(long.Parse(s["wireshark_expected"]), rows.Sum(x => long.Parse(x["expected"])), "expected");
            Assert.AreEqual(long.Parse(s["wireshark_lost"]), rows.Sum(x => long.Parse(x["lost"])), "lost");
            Assert.AreEqual(s["first_seen"], rows[0]["second"], "buckets start at the first packet");
            Assert.IsTrue(rows.All(x => x["bucket_s"] == "1"));
            double maxJitter = rows.Max(x => x["max_jitter_ms"] == "" ? 0 : D(x["max_jitter_ms"]));
            Assert.AreEqual(D(s["max_jitter_ms"]), maxJitter, 0.0011, "max jitter");
            Assert.AreEqual(D(s["peak_ip_kbps"]), rows.Max(x => D(x["ip_kbps"])), 0.11, "peak second");
        }
        if (scenario == "packet-loss") Assert.AreEqual(20, series.Sum(x => long.Parse(x["lost"])), "the 20 packets the scenario drops");
    }
}
