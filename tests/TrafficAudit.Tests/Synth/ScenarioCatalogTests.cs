using TrafficAudit.Synth;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Scenarios;

namespace TrafficAudit.Tests.Synth;

[TestClass]
public sealed class ScenarioCatalogTests
{
    [TestMethod]
    public void All_NamesAreUniqueKebabCaseAndEachBuildsAConsistentCapture()
    {
        Assert.AreEqual(ScenarioCatalog.All.Count, ScenarioCatalog.All.Select(s => s.Name).Distinct().Count());
        foreach (var s in ScenarioCatalog.All)
        {
            StringAssert.Matches(s.Name, new System.Text.RegularExpressions.Regex("^[a-z0-9]+(-[a-z0-9]+)*$"));
            var capture = s.Build(7);
            var records = PcapRecords.ReadAll(capture.ToPcapBytes());
            Assert.AreEqual(capture.Truth.Packets, records.Count, s.Name);
            Assert.AreEqual(records.Count, capture.Truth.Flows.Sum(f => f.PacketsC2s + f.PacketsS2c), s.Name);
            Assert.AreSame(s, ScenarioCatalog.Find(s.Name.ToUpperInvariant()));
        }
    }

    [TestMethod]
    [DataRow("blocked", "unanswered")]
    [DataRow("refused", "refused")]
    public void FocusedScenario_ContainsItsFinding(string name, string tcpState)
    {
        var truth = ScenarioCatalog.Find(name)!.Build(1).Truth;
        Assert.IsTrue(truth.Flows.Any(f => f.TcpState == tcpState));
    }

    [TestMethod]
    public void CleanSite_HasOnlyEstablishedTcpAndNoLoss()
    {
        var truth = ScenarioCatalog.Find("clean-site")!.Build(1).Truth;
        Assert.IsTrue(truth.Flows.Where(f => f.Transport == "tcp").All(f => f.TcpState == "established"));
        Assert.IsTrue(truth.Calls.SelectMany(c => c.RtpStreams).All(s => s.Lost == 0 && s.MaxAddedJitterMs == 0));
        Assert.IsFalse(truth.Flows.Any(f => f.Transport == "icmp" || f.ExpectedService == "unknown"));
    }

    [TestMethod]
    public void Cli_SiteAndScenario_WriteThePcapAndTheTruthBesideIt()
    {
        var dir = Path.Combine(Path.GetTempPath(), "synth-cli-" + Environment.ProcessId);
        try
        {
            var pcap = Path.Combine(dir, "imagicle-site.pcap");
            var outW = new StringWriter();
            Assert.AreEqual(0, SynthCli.Run(["site", "--out", pcap, "--seed", "1"], outW, TextWriter.Null));
            CollectionAssert.AreEqual(new SiteScenario().Build(1).ToPcapBytes(), File.ReadAllBytes(pcap));
            var truth = GroundTruth.FromJson(File.ReadAllText(Path.Combine(dir, "imagicle-site.truth.json")));
            Assert.AreEqual("trafficaudit-synth site --seed 1", truth.Generator);

            Assert.AreEqual(0, SynthCli.Run(["scenario", "refused", "--out", dir], outW, TextWriter.Null));
            Assert.IsTrue(File.Exists(Path.Combine(dir, "refused.pcap")));
            Assert.AreEqual("trafficaudit-synth scenario refused --seed 1",
                GroundTruth.FromJson(File.ReadAllText(SyntheticCapture.TruthPathFor(Path.Combine(dir, "refused.pcap")))).Generator);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void Cli_BadArguments_ExitWithUsage()
    {
        Assert.AreEqual(SynthCli.ExitUsage, SynthCli.Run([], TextWriter.Null, TextWriter.Null));
        Assert.AreEqual(SynthCli.ExitUsage, SynthCli.Run(["site"], TextWriter.Null, TextWriter.Null));
        Assert.AreEqual(SynthCli.ExitUsage, SynthCli.Run(["scenario", "no-such", "--out", "x"], TextWriter.Null, TextWriter.Null));
        Assert.AreEqual(SynthCli.ExitUsage, SynthCli.Run(["bench", "--out", "x", "--packets", "many"], TextWriter.Null, TextWriter.Null));
    }

    [TestMethod]
    public void Truth_RoundTripsThroughJson()
    {
        var truth = ScenarioCatalog.Find("refused")!.Build(1).Truth;
        var json = truth.ToJson();
        Assert.AreEqual(json, GroundTruth.FromJson(json).ToJson());
        StringAssert.Contains(json, "\"packets_c2s\"");
        StringAssert.Contains(json, "\"handshake_rtt_ms\": null");
    }
}
