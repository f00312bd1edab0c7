using System.Globalization;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Tests.Policy;

/// <summary>
/// The incremental policy (issue 9): records fed one by one, in whatever order they end, give the verdict
/// of the full pass (<see cref="Verdict.Evaluate"/>, which the goldens pin) field by field; the work per
/// record does not grow with what was seen; the caps count what they leave out.
/// </summary>
[TestClass]
public sealed class PolicyAccumulatorTests
{
    private static readonly PortCatalogue Catalogue = PortCatalogue.LoadEmbedded();
    private static DeploymentProfile SiteProfile => ProfileLoader.LoadFile(Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"));

    private static AuditResult Run(string path, IReadOnlyList<IpAddress>? servers = null)
    {
        using var engine = new AuditEngine(Catalogue, new AuditOptions { Servers = servers ?? [] });
        using var src = CaptureFile.Open(path, 0, engine.Anomalies);
        while (src.MoveNext()) engine.Process(src.Header, src.Data);
        return engine.Complete(src.Interfaces, src.Errors);
    }

    /// <summary>Everything a writer shows of a verdict, one line per finding and matrix row, with the counters.</summary>
    private static List<string> Render(Verdict v)
    {
        var lines = new List<string> { $"scope={v.Scope} summarised={v.SummarisedFindings}" };
        lines.AddRange(v.Counters.Select(c => $"counter {c.Name}={c.Count}"));
        for (int i = 0; i < v.Findings.Count; i++)
        {
            var f = v.Findings[i];
            var r = FindingRow.From(f, i);
            lines.Add(string.Join('|', r.FindingId, r.Severity, r.Kind, r.Service, r.Applications, r.ClientIp, r.ClientPort, r.ServerIp, r.ServerPort,
                r.Transport, r.FirstSeen, r.Count, r.Measured, r.Threshold, r.Unit, r.Method, r.Rule, r.Message, r.WiresharkFilter, r.FlowIds, r.Nodes,
                "subjects=" + f.Subjects.Count));
        }
        foreach (var e in v.Expected ?? [])
        {
            var r = ExpectedFlowRow.From(e);
            lines.Add(string.Join('|', r.Service, r.Applications, r.Peer, r.Ports, r.Status, r.EvidenceFlowIds, r.Requirement, r.Title, r.Required, r.Rules, r.Detail, e.FlowCount));
        }
        return lines;
    }

    /// <summary>The records of a result as calls on a sink, in the orders they may end in.</summary>
    private static IEnumerable<(string Name, List<Action<IAuditRecordSink>> Feed)> Orders(AuditResult r)
    {
        var flows = r.Flows.Select(f => (Action<IAuditRecordSink>)(s => s.OnFlow(f))).ToList();
        var transactions = r.Voip.Transactions.Select(t => (Action<IAuditRecordSink>)(s => s.OnTransaction(t))).ToList();
        var streams = r.Streams.Select(x => (Action<IAuditRecordSink>)(s => s.OnStream(x))).ToList();
        var calls = r.Calls.Select(c => (Action<IAuditRecordSink>)(s => s.OnCall(c))).ToList();
        yield return ("flow_id order", [.. flows, .. transactions, .. streams, .. calls]);
        yield return ("reversed", [.. Enumerable.Reverse(calls), .. Enumerable.Reverse(streams), .. Enumerable.Reverse(transactions), .. Enumerable.Reverse(flows)]);
        var all = new List<Action<IAuditRecordSink>>([.. flows, .. transactions, .. streams, .. calls]);
        var rng = new Random(20260301);
        for (int i = all.Count - 1; i > 0; i--) { int j = rng.Next(i + 1); (all[i], all[j]) = (all[j], all[i]); }
        yield return ("shuffled (seed 20260301)", all);
        var interleaved = new List<Action<IAuditRecordSink>>();
        var kinds = new[] { transactions, streams, calls, flows };
        for (int i = 0; i < kinds.Max(k => k.Count); i++)
            foreach (var k in kinds) if (i < k.Count) interleaved.Add(k[i]);
        yield return ("kinds interleaved, transactions and streams before their flows", interleaved);
    }

    /// <summary>Feeds every order and compares its verdict with the full pass; returns the number of findings compared.</summary>
    private static int AssertEveryOrderGivesTheFullPass(string name, AuditResult r, DeploymentProfile? profile, PolicyLimits? limits = null)
    {
        var expected = Render(Verdict.Evaluate(r, Catalogue, profile));
        foreach (var (order, feed) in Orders(r))
        {
            var acc = new PolicyAccumulator(Catalogue, profile, r.Nodes, limits);
            foreach (var step in feed) step(acc);
            var actual = Render(acc.Evaluate(r.Statistics, r.Interfaces, r.Errors));
            // Asked twice: the verdict does not change the accumulator.
            CollectionAssert.AreEqual(actual, Render(acc.Evaluate(r.Statistics, r.Interfaces, r.Errors)), $"{name}, {order}: a second verdict differs");
            var diff = expected.Zip(actual).FirstOrDefault(p => p.First != p.Second);
            Assert.AreEqual(expected.Count, actual.Count, $"{name}, {order}: {expected.Count} lines expected, {actual.Count} given; first difference:\n{diff.First}\n{diff.Second}");
            Assert.IsNull(diff.First, $"{name}, {order}:\nfull pass   {diff.First}\nincremental {diff.Second}");
        }
        return expected.Count;
    }

    [TestMethod]
    public void GoldenSite_EveryOrder_GivesTheFullPassVerdict_WithAndWithoutProfile()
    {
        var r = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        int withProfile = AssertEveryOrderGivesTheFullPass("imagicle-site with profile", r, SiteProfile);
        AssertEveryOrderGivesTheFullPass("imagicle-site", r, null);
        Assert.IsGreaterThan(20, withProfile, "the site has findings and matrix rows to compare");
        var v = Verdict.Evaluate(r, Catalogue, SiteProfile);
        // The site's planted problems come from flows, transactions, streams and the matrix alike.
        foreach (var kind in new[] { FindingKinds.OverLatency, FindingKinds.BlockedFlow, FindingKinds.RefusedFlow, FindingKinds.ProxyInUse })
            Assert.IsTrue(v.Findings.Any(f => f.Kind == kind), kind);
    }

    [TestMethod]
    public void WithoutSubjects_TheVerdictIsTheFullPass_AndNoFindingHoldsARecord()
    {
        var r = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var full = Verdict.Evaluate(r, Catalogue, SiteProfile);
        Assert.IsTrue(full.Findings.Any(f => f.Subjects.Count > 0), "the full pass keeps the records for --evidence");
        var acc = new PolicyAccumulator(Catalogue, SiteProfile, r.Nodes, new PolicyLimits { KeepSubjects = false });
        foreach (var f in r.Flows) acc.OnFlow(f);
        foreach (var t in r.Voip.Transactions) acc.OnTransaction(t);
        foreach (var x in r.Streams) acc.OnStream(x);
        foreach (var c in r.Calls) acc.OnCall(c);
        var v = acc.Evaluate(r.Statistics, r.Interfaces, r.Errors);
        Assert.IsTrue(v.Findings.All(f => f.Subjects.Count == 0), "a streaming run's findings hold no record");
        static string WithoutSubjects(string line) => line[..line.LastIndexOf("|subjects=", StringComparison.Ordinal)];
        CollectionAssert.AreEqual(Render(full).Select(l => l.Contains("|subjects=") ? WithoutSubjects(l) : l).ToList(),
            Render(v).Select(l => l.Contains("|subjects=") ? WithoutSubjects(l) : l).ToList(), "every other field is the full pass's");
    }

    [TestMethod]
    public void LiveSnapshot_OpenRecordsCountInThatVerdictOnly_AndAgainOnceTheyEnd()
    {
        var r = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var profile = SiteProfile;
        var full = Render(Verdict.Evaluate(r, Catalogue, profile));
        static (List<T> Ended, List<T> Open) Split<T>(IReadOnlyList<T> all) => (all.Take(all.Count / 2).ToList(), all.Skip(all.Count / 2).ToList());
        var (flows, openFlows) = Split(r.Flows);
        var (transactions, openTransactions) = Split(r.Voip.Transactions);
        var (streams, openStreams) = Split(r.Streams);
        var (calls, openCalls) = Split(r.Calls);
        var acc = new PolicyAccumulator(Catalogue, profile, r.Nodes);
        foreach (var f in flows) acc.OnFlow(f);
        foreach (var t in transactions) acc.OnTransaction(t);
        foreach (var s in streams) acc.OnStream(s);
        foreach (var c in calls) acc.OnCall(c);
        var open = new OpenRecords(openFlows, openTransactions, openStreams, openCalls);
        CollectionAssert.AreEqual(full, Render(acc.Evaluate(r.Statistics, r.Interfaces, r.Errors, open)), "ended plus open records make the full verdict");
        var withoutOpen = Render(acc.Evaluate(r.Statistics, r.Interfaces, r.Errors));
        CollectionAssert.AreNotEqual(full, withoutOpen, "the open records were not kept");
        foreach (var f in openFlows) acc.OnFlow(f);
        foreach (var t in openTransactions) acc.OnTransaction(t);
        foreach (var s in openStreams) acc.OnStream(s);
        foreach (var c in openCalls) acc.OnCall(c);
        CollectionAssert.AreEqual(full, Render(acc.Evaluate(r.Statistics, r.Interfaces, r.Errors)), "once ended they count once");
    }

    [TestMethod]
    public void PublicCaptures_EveryOrder_GivesTheFullPassVerdict_DetectedNodes_AndTheBusiestHostsAsNodesWithAProfile()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        var files = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal) || f.EndsWith(".gz", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(10, files.Count);
        int compared = 0, findings = 0;
        foreach (var file in files)
        {
            AuditResult r;
            try { r = Run(file); }
            catch (CaptureFormatException) { continue; }
            string name = Path.GetRelativePath(TestPaths.PublicCaptures, file);
            AssertEveryOrderGivesTheFullPass(name, r, null);
            // The two hosts with the most flows as nodes, with the site's profile naming them: every rule and the matrix run.
            var busiest = r.Flows.SelectMany(f => new[] { f.ClientIp, f.ServerIp }).GroupBy(a => a).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(2).Select(g => g.Key).ToList();
            if (busiest.Count == 0) continue;
            var asNodes = WithNodes(r, busiest);
            findings += AssertEveryOrderGivesTheFullPass(name + " (busiest hosts as nodes)", asNodes, SiteProfile with { Nodes = busiest });
            compared++;
        }
        Assert.IsGreaterThan(10, compared, "public captures compared");
        Assert.IsGreaterThan(100, findings, "lines compared");
    }

    private static AuditResult WithNodes(AuditResult r, IReadOnlyList<IpAddress> nodes) => new()
    {
        Flows = r.Flows, Streams = r.Streams, Calls = r.Calls, Voip = r.Voip, Statistics = r.Statistics, Anomalies = r.Anomalies,
        Interfaces = r.Interfaces, Errors = r.Errors,
        Nodes = nodes.Select(n => new DetectedNode(n, "given in the test", NodeSource.Server, NodeConfidence.Given)).ToList(),
    };

    // ------------------------------------------------------------------ synthetic records

    private static readonly IpAddress Node = IpAddress.Parse("10.0.0.10");
    private static readonly IpAddress Cucm = IpAddress.Parse("10.0.1.5");
    private const long T0 = 1_772_442_000_000_000_000;

    /// <summary>A UDP flow's record; <paramref name="voip"/>: the VoIP stage made a stream of it or read SIP in it (a join may take it).</summary>
    private static FlowRecord Udp(int id, IpAddress client, ushort clientPort, IpAddress server, ushort serverPort, string service = "sip",
        string rule = "", long answered = 1, int? at = null, bool voip = true) => new()
    {
        CarriesVoip = voip,
        FlowId = id, FirstSeenNs = T0 + (at ?? id) * 10_000_000L, LastSeenNs = T0 + (at ?? id) * 10_000_000L + 1_000_000, Transport = IpProtocol.Udp,
        ClientIp = client, ClientPort = clientPort, ServerIp = server, ServerPort = serverPort, Vlan = 0, Service = service, Applications = "",
        Direction = "IN", PacketsC2S = 1, PacketsS2C = answered, BytesC2S = 400, BytesS2C = 400 * answered, TcpState = TcpHandshakeState.None,
        SynRetries = 0, HandshakeRttNs = -1, ServerRttNs = -1, ClientRttNs = -1, MatchedRule = rule, Infrastructure = false, IcmpUnreachable = 0,
        ServerName = null, EndReason = FlowEndReason.IdleTimeout, ClientBy = "catalogue",
    };

    private static SipTransactionStat Options(int i, ushort port, double answerMs) => new()
    {
        CallId = $"{i:x8}@10.0.1.5", Method = "OPTIONS", CSeq = 101, Branch = $"z9hG4bK{i:x8}", Transport = SipTransport.Udp,
        RequesterIp = Cucm, RequesterPort = port, ResponderIp = Node, ResponderPort = 5060,
        RequestNs = T0 + i * 10_000_000L, RequestFrame = 2 * i + 1, FirstResponseNs = T0 + i * 10_000_000L + (long)(answerMs * 1e6), FirstStatus = 200,
        FinalResponseNs = T0 + i * 10_000_000L + (long)(answerMs * 1e6), FinalStatus = 200,
    };

    private static CaptureStatistics Stats(long frames) => new() { Frames = frames, IpPackets = frames, FirstNs = T0, LastNs = T0 + frames * 5_000_000L };

    private static readonly DetectedNode[] Nodes = [new(Node, "given in the test", NodeSource.Server, NodeConfidence.Given)];

    /// <summary>
    /// Twice n RTP flows of other hosts, then n OPTIONS transactions from the CUCM to the node, each on its
    /// own source port (one in ten answered after 150 ms: a slow_response that must join its flow), then
    /// their n flows: every slow transaction waits for its flow.
    /// </summary>
    private static long WorkFor(int n, out Verdict verdict, PolicyLimits? limits = null)
    {
        var acc = new PolicyAccumulator(Catalogue, null, Nodes, limits);
        for (int i = 0; i < 2 * n; i++)
            acc.OnFlow(Udp(i + 1, IpAddress.FromV4(0x0A020000u + (uint)(i % 60_000)), (ushort)(20_000 + i % 40_000), IpAddress.Parse("10.0.3.3"), 30_000, "rtp", answered: 1));
        for (int i = 0; i < n; i++) acc.OnTransaction(Options(i, (ushort)(10_000 + i % 50_000), i % 10 == 0 ? 150 : 1));
        for (int i = 0; i < n; i++) acc.OnFlow(Udp(2 * n + i + 1, Cucm, (ushort)(10_000 + i % 50_000), Node, 5060));
        verdict = acc.Evaluate(Stats(4L * n), [], []);
        return acc.Operations;
    }

    [TestMethod]
    public void Scale_40000OptionsAnd120000Flows_WorkGrowsLinearly_NotWithTransactionsTimesFlows()
    {
        // A join index large enough for every flow: the work of the records alone.
        var roomy = new PolicyLimits { JoinFlows = 1_000_000 };
        long small = WorkFor(10_000, out var v10, roomy);
        long large = WorkFor(40_000, out var v40, roomy);
        double ratio = (double)large / small;
        // Linear: 4x the records is 4x the work (a pass over every flow per transaction would be 16x).
        Assert.IsTrue(ratio is > 3.6 and < 4.4, $"work 10k: {small}, 40k: {large}, ratio {ratio:F2}");
        Assert.IsLessThan(3L * 160_000, large, "a few operations per record");
        // With the default cap (100,000 flows remembered) the 40,000 case forgets flows: a pass over the index
        // once every 10,000 flows, so still a bounded number of operations per record.
        long capped = WorkFor(40_000, out var v40capped);
        Assert.IsLessThan(12L * 160_000, capped, $"work with the index cap: {capped}");
        Assert.IsGreaterThanOrEqualTo(20_000L, v40capped.Counters.Single(c => c.Name == PolicyAnomalies.FlowsForgotten).Count,
            "120,000 flows to remember for joins, at most 100,000 kept: the oldest (RTP) ones were forgotten, and counted");
        Assert.AreEqual(4_000, v40capped.Findings.Single(f => f.Kind == FindingKinds.SlowResponse).FlowIds.Count, "the SIP flows are the newest: still joined");
        // The joins were made: one slow_response per transaction answered late, each with its flow.
        var slow = v40.Findings.Single(f => f.Kind == FindingKinds.SlowResponse);
        Assert.AreEqual(4_000, slow.Count);
        Assert.AreEqual("sip", slow.Service);
        Assert.AreEqual(4_000, slow.FlowIds.Count);
        Assert.AreEqual(80_001, slow.FlowIds[0]);
        Assert.AreEqual(1_000, v10.Findings.Single(f => f.Kind == FindingKinds.SlowResponse).Count);
        Assert.IsFalse(v40.Counters.Any(c => c.Name == PolicyAnomalies.FlowsForgotten));
    }

    [TestMethod]
    public void Transaction_BeforeOrAfterItsFlow_TakesTheFirstFlowBetweenItsEnds_AndItsBudget()
    {
        // Two flows between the same ends (the port reused after an idle timeout): the first by flow_id wins, whatever came first.
        var t = Options(1, 40_000, 120);
        var first = Udp(7, Cucm, 40_000, Node, 5060, rule: "sip-5060-manager-assistant", at: 1);
        var later = Udp(9, Node, 5060, Cucm, 40_000, service: "other", at: 2);
        var orders = new[] { new object[] { t, later, first }, new object[] { first, later, t }, new object[] { later, t, first } };
        var seen = new List<string>();
        foreach (var order in orders)
        {
            var acc = new PolicyAccumulator(Catalogue, null, Nodes);
            foreach (var rec in order)
                if (rec is FlowRecord f) acc.OnFlow(f); else acc.OnTransaction((SipTransactionStat)rec);
            var f1 = acc.Evaluate(Stats(10), [], []).Findings.Single(x => x.Kind == FindingKinds.SlowResponse);
            seen.Add($"{f1.Rule} {string.Join(';', f1.FlowIds)} {f1.Threshold} {f1.Service}");
        }
        var rule = Catalogue.Find("sip-5060-manager-assistant")!;
        Assert.AreEqual($"sip-5060-manager-assistant 7 {rule.MaxRttMs ?? 80} sip", seen[0]);
        Assert.AreEqual(1, seen.Distinct().Count(), string.Join(" / ", seen));
    }

    [TestMethod]
    public void JoinIndex_KeepsOnlyUdpFlowsAStreamOrSipCameOn_AndSipOverTcpOfANode()
    {
        var acc = new PolicyAccumulator(Catalogue, null, Nodes);
        // DNS lookups and other UDP flows the VoIP stage found nothing in: a stream or a SIP transaction cannot name their ends.
        for (int i = 0; i < 100; i++) acc.OnFlow(Udp(i + 1, Node, (ushort)(30_000 + i), IpAddress.Parse("10.0.3.3"), 53, "dns", voip: false));
        Assert.AreEqual(0, acc.JoinFlows);
        // SIP recognised by the engine is kept even when the stage read none (a superset).
        acc.OnFlow(Udp(101, Cucm, 5060, Node, 5060, voip: false) with { IsSip = true });
        acc.OnFlow(Udp(102, Cucm, 40_000, Node, 20_000, "rtp"));
        Assert.AreEqual(2, acc.JoinFlows);
        // TCP: SIP of a node only.
        acc.OnFlow(Udp(103, Cucm, 41_000, Node, 5060) with { Transport = IpProtocol.Tcp, IsSip = true });
        acc.OnFlow(Udp(104, Cucm, 41_001, Node, 443, "https") with { Transport = IpProtocol.Tcp });
        Assert.AreEqual(3, acc.JoinFlows);
        // A slow transaction on the SIP flow still finds it.
        acc.OnTransaction(Options(1, 5060, 150) with { RequesterPort = 5060 });
        var slow = acc.Evaluate(Stats(200), [], []).Findings.Single(f => f.Kind == FindingKinds.SlowResponse);
        CollectionAssert.AreEqual(new[] { 101 }, slow.FlowIds.ToArray());
    }

    [TestMethod]
    public void Caps_Reached_AreCounted_AndTheCountsStayWhole()
    {
        var limits = new PolicyLimits { JoinFlows = 50, PendingJoins = 20, FindingKeys = 30, FlowIdsPerRow = 10 };
        var acc = new PolicyAccumulator(Catalogue, null, Nodes, limits);
        // 100 flows first (50 forgotten by the join index), then 100 slow transactions on them (80 judged early).
        for (int i = 0; i < 100; i++) acc.OnFlow(Udp(i + 1, Cucm, (ushort)(10_000 + i), Node, 5060));
        for (int i = 0; i < 100; i++) acc.OnTransaction(Options(i, (ushort)(10_000 + i), 150));
        // 60 unanswered DNS requests of the node to 60 servers: 60 keys, 30 past the table of keys. The join index keeps
        // only the 30 the VoIP stage had read SIP in (a stand-in: any UDP flow a stream or SIP message came on).
        for (int i = 0; i < 60; i++) acc.OnFlow(Udp(200 + i, Node, (ushort)(30_000 + i), IpAddress.FromV4(0x0A030000u + (uint)i), 53, "dns", answered: 0, voip: i >= 30));
        var v = acc.Evaluate(Stats(1000), [], []);
        var counters = v.Counters.ToDictionary(c => c.Name, c => c.Count);
        // A full index forgets its oldest tenth and keeps the newest 45: after the 100 SIP flows, flows 55-100
        // are remembered (54 forgotten); the 30 DNS flows it keeps push out 30 more (SIP flows 55-84).
        Assert.AreEqual(84, counters[PolicyAnomalies.FlowsForgotten]);
        Assert.AreEqual(46, acc.JoinFlows);
        Assert.AreEqual(80, counters[PolicyAnomalies.JoinsEarly]);
        var slow = v.Findings.Single(f => f.Kind == FindingKinds.SlowResponse);
        Assert.AreEqual(100, slow.Count, "every transaction counted");
        Assert.HasCount(10, slow.Subjects, "at most 10 subjects kept");
        // Judged early (0-79) while flows 55-100 were remembered: 55-80 joined; of the last 20, those of flows 85-100 joined.
        CollectionAssert.AreEqual(Enumerable.Range(55, 10).ToArray(), slow.FlowIds.ToArray(), "the lowest ids among those joined");
        Assert.AreEqual(2, counters[PolicyAnomalies.FlowIdsCut], "the slow_response and the SIP flows' unexpected_flow (100 flows each)");
        // Keys: the SIP flows' unexpected_flow, the slow_response, then each DNS flow an unexpected and a blocked one:
        // 14 DNS flows fill the table of 30 keys; the other 46 flows' 92 findings only count in their summaries.
        Assert.AreEqual(92, counters[PolicyAnomalies.FindingKeysLimit]);
        var blocked = v.Findings.Where(f => f.Kind == FindingKinds.BlockedFlow).ToList();
        Assert.AreEqual(60, blocked.Sum(f => f.Count), "every unanswered flow counted");
        Assert.AreEqual(46, blocked.Single(f => f.Service == "summary").Count);
        Assert.HasCount(15, blocked);
        Assert.AreEqual(160, v.Findings.Where(f => f.Kind == FindingKinds.UnexpectedFlow).Sum(f => f.Count));
    }

    [TestMethod]
    public void Matrix_FlowIdsPerRequirement_AreTheLowestUpToTheCap_WithTheWholeCount()
    {
        var r = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var profile = SiteProfile;
        var full = Verdict.Evaluate(r, Catalogue, profile).Expected!;
        var acc = new PolicyAccumulator(Catalogue, profile, r.Nodes, new PolicyLimits { FlowIdsPerRow = 2 });
        foreach (var f in Enumerable.Reverse(r.Flows)) acc.OnFlow(f);
        foreach (var c in r.Calls) acc.OnCall(c);
        var v = acc.Evaluate(r.Statistics, r.Interfaces, r.Errors);
        var cut = v.Expected!;
        Assert.IsTrue(full.Any(e => e.FlowIds.Count > 2), "some requirement has more than 2 flows");
        for (int i = 0; i < full.Count; i++)
        {
            Assert.AreEqual(full[i].FlowIds.Count, cut[i].FlowCount, full[i].Requirement.Id);
            CollectionAssert.AreEqual(full[i].FlowIds.Take(2).ToArray(), cut[i].FlowIds.ToArray(), full[i].Requirement.Id);
            Assert.AreEqual(full[i].Status, cut[i].Status);
            Assert.AreEqual(full[i].Detail, cut[i].Detail);
        }
        Assert.IsTrue(v.Counters.Any(c => c.Name == PolicyAnomalies.FlowIdsCut && c.Count > 0));
    }
}
