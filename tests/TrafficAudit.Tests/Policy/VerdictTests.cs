using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Policy;

[TestClass]
public sealed class VerdictTests
{
    private static Finding Blocked(long t, ushort clientPort, int measured) => new()
    {
        Kind = FindingKinds.BlockedFlow, Transport = "tcp", ClientIp = IpAddress.Parse("10.0.0.10"), ClientPort = clientPort,
        ServerIp = IpAddress.Parse("10.0.2.6"), ServerPort = 993, FirstSeenNs = t, Measured = measured, Message = "m", FlowIds = [clientPort],
    };

    [TestMethod]
    public void Merge_SameConversationAndKind_IsOneFindingWithACount()
    {
        var merged = Verdict.Merge([Blocked(200, 50001, 3), Blocked(100, 50002, 1), Blocked(300, 50003, 2)]);
        Assert.AreEqual(1, merged.Count);
        Assert.AreEqual(3, merged[0].Count);
        Assert.AreEqual(100, merged[0].FirstSeenNs);
        Assert.AreEqual(50002, merged[0].ClientPort);
        Assert.AreEqual(3, merged[0].Measured);
        CollectionAssert.AreEqual(new[] { 50001, 50002, 50003 }, merged[0].FlowIds.ToArray());
    }

    [TestMethod]
    public void Merge_PastTheCapPerKindAndSource_OneSummaryCountsTheRest()
    {
        // 150 refused flows from one scanner to 150 ports (each its own finding), 2 from another address.
        var scan = Enumerable.Range(0, 150).Select(i => Blocked(1000 + i, 40000, 1) with
        {
            Kind = FindingKinds.RefusedFlow, ClientIp = IpAddress.Parse("10.9.9.9"), ServerPort = (ushort)(1 + i), FlowIds = [i + 1],
        });
        var merged = Verdict.Merge([.. scan, Blocked(5, 50001, 1), Blocked(6, 50002, 1) with { ServerPort = 995 }], 100, out long summarised);
        Assert.AreEqual(50, summarised);
        Assert.HasCount(2, merged.Where(f => f.Kind == FindingKinds.BlockedFlow).ToList(), "other kinds and sources are not affected");
        var refused = merged.Where(f => f.Kind == FindingKinds.RefusedFlow).ToList();
        Assert.HasCount(101, refused);
        var summary = refused.Single(f => f.Service == "summary");
        Assert.AreEqual(50, summary.Count);
        Assert.AreEqual(1100, summary.FirstSeenNs, "the first occurrence not listed");
        StringAssert.StartsWith(summary.Message, "port scan from 10.9.9.9: 50 more refused flows");
        Assert.AreEqual("ip.addr==10.9.9.9", summary.WiresharkFilter);
        Assert.AreEqual(FindingSeverity.Error, summary.Severity);
        // The ones listed are the first 100 met, unchanged.
        CollectionAssert.AreEqual(Enumerable.Range(1, 100).ToArray(), refused.Where(f => f.Service != "summary").Select(f => (int)f.ServerPort!).Order().ToArray());
    }

    [TestMethod]
    public void Merge_ManyOccurrencesOfOneKey_FlowIdsAllKeptSorted()
    {
        var raw = Enumerable.Range(0, 20_000).Select(i => Blocked(i, (ushort)(1024 + i % 60000), 1) with { FlowIds = [20_000 - i] });
        var merged = Verdict.Merge(raw).Single();
        Assert.AreEqual(20_000, merged.Count);
        CollectionAssert.AreEqual(Enumerable.Range(1, 20_000).ToArray(), merged.FlowIds.ToArray());
    }

    [TestMethod]
    public void Merge_OtherPortOrKind_StaysSeparateAndOrderedByTime()
    {
        var other = Blocked(50, 50004, 1) with { ServerPort = 995 };
        var refused = Blocked(10, 50005, 1) with { Kind = FindingKinds.RefusedFlow };
        var merged = Verdict.Merge([Blocked(100, 50001, 1), other, refused]);
        CollectionAssert.AreEqual(new[] { "refused_flow", "blocked_flow", "blocked_flow" }, merged.Select(f => f.Kind).ToArray());
        Assert.AreEqual(995, merged[1].ServerPort);
    }

    [TestMethod]
    public void Severity_IsDocumentedPerKind()
    {
        Assert.AreEqual(FindingSeverity.Error, FindingKinds.SeverityOf(FindingKinds.MissingFlow));
        Assert.AreEqual(FindingSeverity.Error, FindingKinds.SeverityOf(FindingKinds.OneWayMedia));
        Assert.AreEqual(FindingSeverity.Warning, FindingKinds.SeverityOf(FindingKinds.SlowResponse));
        Assert.AreEqual(FindingSeverity.Warning, FindingKinds.SeverityOf(FindingKinds.UnexpectedFlow));
        Assert.AreEqual(FindingSeverity.Info, FindingKinds.SeverityOf(FindingKinds.DuplicatePackets));
        Assert.AreEqual(FindingSeverity.Info, FindingKinds.SeverityOf(FindingKinds.CaptureLoss));
    }

    [TestMethod]
    public void CaptureLoss_InterfaceDropsFromPcapngStatistics_AreReported()
    {
        var result = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var withDrops = new AuditResult
        {
            Flows = result.Flows, Streams = result.Streams, Calls = result.Calls, Voip = result.Voip, Nodes = result.Nodes,
            Statistics = result.Statistics, Anomalies = result.Anomalies, Errors = result.Errors,
            Interfaces = [new CaptureInterface { Index = 0, File = "/x/span.pcapng", LinkType = LinkType.Ethernet, Name = "eth1", InterfaceDropped = 12, OsDropped = 30 }],
        };
        var v = Verdict.Evaluate(withDrops, PortCatalogue.LoadEmbedded(), null);
        var loss = v.Findings.Single(f => f.Kind == FindingKinds.CaptureLoss);
        Assert.AreEqual(42, loss.Measured);
        StringAssert.Contains(loss.Method, "isb_ifdrop");
        StringAssert.Contains(loss.Message, "eth1");
        Assert.AreEqual(0, Verdict.Evaluate(result, PortCatalogue.LoadEmbedded(), null).Findings.Count(f => f.Kind == FindingKinds.CaptureLoss));
    }

    [TestMethod]
    public void RecordingCall_NegotiatedOneWay_IsNotOneWayMediaFinding()
    {
        // The site's Call Recording call is sendonly/recvonly by SDP (CUCM's built-in bridge forks one voice).
        var result = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        Assert.IsTrue(result.Calls.Any(c => c.OneWay && c.Applications == "call-recording"));
        var v = Verdict.Evaluate(result, PortCatalogue.LoadEmbedded(), ProfileLoader.LoadFile(Path.Combine(TestPaths.Captures, "imagicle-site.profile.json")));
        Assert.IsFalse(v.Findings.Any(f => f.Kind == FindingKinds.OneWayMedia));
    }

    [TestMethod]
    public void Site_AllowEntryCoversAdminRdp_WithoutItRdpIsUnexpected()
    {
        var result = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var profile = ProfileLoader.LoadFile(Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"));
        var cat = PortCatalogue.LoadEmbedded();
        Assert.IsFalse(Verdict.Evaluate(result, cat, profile).Findings.Any(f => f.ServerPort == 3389));
        var noAllow = Verdict.Evaluate(result, cat, profile with { Allow = [] });
        Assert.AreEqual(FindingKinds.UnexpectedFlow, noAllow.Findings.Single(f => f.ServerPort == 3389).Kind);
    }

    private static AuditResult Run(string path)
    {
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Servers = [IpAddress.Parse("10.0.0.10"), IpAddress.Parse("10.0.0.11")] });
        using var src = CaptureFile.Open(path, 0, engine.Anomalies);
        while (src.MoveNext()) engine.Process(src.Header, src.Data);
        return engine.Complete(src.Interfaces, src.Errors);
    }
}
