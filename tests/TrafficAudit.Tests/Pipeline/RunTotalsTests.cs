using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;
using TrafficAudit.Tests.Report;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// <see cref="RunTotals"/> against the full lists it replaces: the counts, selections and percentiles of records
/// fed in any order equal those of a sort of the whole list (the LINQ the console and report ran before), below
/// and above every cap; the selections never hold more than their caps.
/// </summary>
[TestClass]
public sealed class RunTotalsTests
{
    private static AuditResult? _sample;
    private static AuditResult Sample => _sample ??= ReportTestKit.Audit(ReportTestKit.SamplePath);

    private static readonly CallQualityBudget Budget = new();

    [TestMethod]
    public void From_SampleCapture_CountsEqualTheFullLists()
    {
        var r = Sample;
        var t = RunTotals.From(r);
        Assert.AreEqual(r.Flows.Count, t.Flows);
        var services = r.Flows.GroupBy(f => f.Service).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count()} {g.Sum(f => f.PacketsC2S + f.PacketsS2C)}").ToList();
        CollectionAssert.AreEqual(services, t.Services.Select(s => $"{s.Service} {s.Total.Flows} {s.Total.Packets}").ToList());
        Assert.IsGreaterThan(3, services.Count);
        var states = r.Flows.Where(f => f.TcpState != TcpHandshakeState.None).GroupBy(f => f.TcpState).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}").ToList();
        CollectionAssert.AreEqual(states, t.TcpStates.Select(s => $"{s.State} {s.Flows}").ToList());
        Assert.AreEqual(r.Flows.Count(f => f.TcpState == TcpHandshakeState.Refused), t.TcpFlows(TcpHandshakeState.Refused));
        Assert.IsGreaterThan(0, t.TcpFlows(TcpHandshakeState.Refused), "the sample refuses POP3S and SIP presence");

        Assert.AreEqual(r.Voip.SipTlsFlows, t.SipTlsFlows);
        Assert.AreEqual(r.Streams.Count, t.Streams);
        Assert.AreEqual(r.Streams.Count(s => s.SdpMatched), t.StreamsSdpMatched);
        Assert.AreEqual(r.Streams.Count(s => s.CallId.Length == 0), t.StreamsWithoutCall);
        Assert.AreEqual(r.Calls.Count, t.Calls);
        Assert.AreEqual(r.Calls.Count(c => c.Sip.Answered), t.CallsAnswered);
        Assert.AreEqual(r.Calls.Count(c => c.Streams.Count > 0), t.CallsWithRtp);
        Assert.AreEqual(r.Calls.Count(FindingRules.IsOneWayProblem), t.CallsOneWayProblem);
        Assert.AreEqual(r.Calls.Count(FindingRules.IsOneWayByNegotiation), t.CallsOneWayByNegotiation);
        Assert.AreEqual(1, t.CallsOneWayByNegotiation, "the sample's recording call is one way by its SDP");
        Assert.AreEqual(r.Calls.Count(c => c.OneWay), t.CallsOneWay);
        CollectionAssert.AreEqual(Enumerable.Range(1, r.Calls.Count).ToList(), r.Calls.Select(c => c.Sip.Number).ToList(), "the analyzer numbers calls by their first INVITE");
    }

    [TestMethod]
    [DataRow(7, 1)]
    [DataRow(60, 2)]
    [DataRow(2600, 3)]
    public void Feed_AnyOrder_SameSelectionsAndCountsAsASortOfTheFullList(int n, int seed)
    {
        var (calls, streams) = Synthetic(n, seed);
        var reference = Reference(calls, streams);
        for (int round = 0; round < 3; round++)
        {
            var rnd = new Random(seed * 100 + round);
            var t = new RunTotals(Budget);
            // Calls and streams interleaved, in a shuffled order (round 0: the list's order, as a batch run feeds them).
            var feed = calls.Select(c => (object)c).Concat(streams).ToList();
            if (round > 0) rnd.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(feed));
            foreach (var o in feed)
                if (o is CallRecord c) t.OnCall(c); else t.OnStream((RtpStreamRecord)o);
            var got = Observe(t);
            Assert.AreEqual(reference, got, $"n={n} round={round}");
        }
    }

    [TestMethod]
    public void Feed_ManyCalls_SelectionsHoldAtMostTheirCaps_SeriesOnlyForChartedCalls()
    {
        var (calls, streams) = Synthetic(2600, 9);
        var t = new RunTotals(Budget, exactQualityValues: 1000);
        foreach (var s in streams) t.OnStream(s);
        foreach (var c in calls) t.OnCall(c);
        Assert.AreEqual(2600, t.Calls);
        Assert.HasCount(RunTotals.DefaultMaxTableCalls, t.WorstCalls);
        Assert.HasCount(RunTotals.DefaultMaxChartedCalls, t.ChartedCalls);
        Assert.HasCount(RunTotals.FirstCallsKept, t.FirstCalls);
        Assert.HasCount(RunTotals.WorstStreamsKept, t.WorstStreams);
        Assert.IsGreaterThan(t.MaxChartedCalls, t.CallsWithSeries);
        Assert.IsTrue(t.WorstCalls.All(x => x.Call.Streams.All(s => s.TimeSeries is null)), "the table keeps no series");
        Assert.IsTrue(t.FirstCalls.All(x => x.Call.Streams.All(s => s.TimeSeries is null)), "the console list keeps no series");
        Assert.IsTrue(t.WorstStreams.All(s => s.TimeSeries is null));
        Assert.IsTrue(t.ChartedCalls.All(x => x.Call.Streams.Any(s => s.TimeSeries is { } ts && ts.Buckets.Length > 0)), "charted calls keep theirs");
        Assert.IsFalse(t.Mos.IsExact || t.JitterMs.IsExact || t.LossPct.IsExact, "2,600 values under a cap of 1,000: histograms");
    }

    [TestMethod]
    public void Feed_EvictedRecords_AreNotHeld()
    {
        // Every call has its own series; only the charted ones may stay reachable from the totals.
        var t = new RunTotals(Budget, maxTableCalls: 30, maxChartedCalls: 5);
        var weak = FeedWithSeries(t, 400);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        int alive = weak.Count(w => w.IsAlive);
        Assert.IsLessThanOrEqualTo(5, alive, $"{alive} series of 400 still reachable");
        Assert.HasCount(5, t.ChartedCalls);
        GC.KeepAlive(t);
    }

    [TestMethod]
    public void Clone_FedTheRest_EqualsTheWhole_OriginalUnchanged()
    {
        // A live flush: the ended records' totals copied, the open ones fed to the copy only.
        var (calls, streams) = Synthetic(300, 4);
        var ended = new RunTotals(Budget, maxTableCalls: 40, maxChartedCalls: 6, exactQualityValues: 100);
        var whole = new RunTotals(Budget, maxTableCalls: 40, maxChartedCalls: 6, exactQualityValues: 100);
        var half = new RunTotals(Budget, maxTableCalls: 40, maxChartedCalls: 6, exactQualityValues: 100);
        foreach (var c in calls.Take(150)) { ended.OnCall(c); half.OnCall(c); }
        foreach (var s in streams.Take(150)) { ended.OnStream(s); half.OnStream(s); }
        foreach (var c in calls) whole.OnCall(c);
        foreach (var s in streams) whole.OnStream(s);
        var snapshot = ended.Clone();
        foreach (var c in calls.Skip(150)) snapshot.OnCall(c);
        foreach (var s in streams.Skip(150)) snapshot.OnStream(s);
        Assert.AreEqual(Observe(whole), Observe(snapshot));
        Assert.AreEqual(Observe(half), Observe(ended), "the original did not see the snapshot");
        Assert.AreNotEqual(Observe(half), Observe(whole));
    }

    [TestMethod]
    public void QualityDistribution_BelowCap_Exact_AboveCap_WithinOneBin_AnyOrder()
    {
        var rnd = new Random(5);
        var values = Enumerable.Range(0, 5000).Select(_ => Math.Round(1 + rnd.NextDouble() * 3.5, 4)).ToList();
        var sorted = values.OrderBy(v => v).ToList();
        foreach (int cap in new[] { 10_000, 1000 })
        {
            double[]? first = null;
            for (int round = 0; round < 3; round++)
            {
                var d = QualityDistribution.ForMos(cap);
                var order = values.ToArray();
                if (round > 0) new Random(round).Shuffle(order);
                foreach (var v in order) d.Add(v);
                Assert.AreEqual(cap > values.Count, d.IsExact);
                Assert.AreEqual(sorted[0], d.Min);
                Assert.AreEqual(sorted[^1], d.Max);
                var got = new[] { 0.0, 5, 50, 95, 100 }.Select(d.Percentile).ToArray();
                for (int i = 0; i < got.Length; i++)
                {
                    double p = new[] { 0.0, 5, 50, 95, 100 }[i];
                    double exact = sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
                    if (d.IsExact) Assert.AreEqual(exact, got[i], $"p{p}");
                    else Assert.IsTrue(got[i] <= exact && exact - got[i] < d.Resolution + 1e-12, $"p{p}: {got[i]} for {exact}");
                }
                first ??= got;
                CollectionAssert.AreEqual(first, got, "the same whatever the order");
            }
        }
        var j = QualityDistribution.ForJitterMs(2);
        foreach (var v in new[] { 1.0, 4.41, 4.47, 12.3, 5000.0 }) j.Add(v);
        Assert.IsFalse(j.IsExact);
        Assert.AreEqual(1.0, j.Percentile(20), 1e-12);
        Assert.AreEqual(4.4, j.Percentile(40), 1e-12, "bin of 0.1 ms: 4.41 shows its lower edge");
        Assert.AreEqual(4.4, j.Percentile(60), 1e-12, "and so does 4.47");
        Assert.AreEqual(12.3, j.Percentile(80), 1e-12, "12.3 × 10 is 122.99... in binary, still bin 123");
        Assert.AreEqual(5000, j.Percentile(100), "the highest value is exact, not the top bin's 2,000");
        j.Add(3000);
        Assert.AreEqual(2000, j.Percentile(80), "3,000, below the highest, the top bin reads as its lower edge");
        var low = QualityDistribution.ForMos(1);
        low.Add(4.419);
        low.Add(4.418);
        Assert.AreEqual(4.418, low.Percentile(1), "a bin's lower edge (4.41) is never below the lowest value");
    }

    [TestMethod]
    public void Report_GivenTotals_SameAsBuiltFromTheResult_AndRejectsOtherThresholds()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath);
        string built = TrafficAudit.Outputs.Report.HtmlReportWriter.Render(input);
        var fed = new RunTotals(new CallQualityBudget { CallKbps = input.CallKbpsBudget, JitterMs = input.JitterBudgetMs, LossPct = input.LossBudgetPct });
        foreach (var c in Sample.Calls.Reverse()) fed.OnCall(c);
        foreach (var s in Sample.Streams.Reverse()) fed.OnStream(s);
        foreach (var f in Sample.Flows.Reverse()) fed.OnFlow(f);
        Assert.AreEqual(built, TrafficAudit.Outputs.Report.HtmlReportWriter.Render(input with { Totals = fed }), "records fed in reverse give the same page");
        var other = new RunTotals(new CallQualityBudget { JitterMs = 5 });
        Assert.ThrowsExactly<ArgumentException>(() => TrafficAudit.Outputs.Report.HtmlReportWriter.Render(input with { Totals = other }));
    }

    [TestMethod]
    public void Report_PastTheExactCap_SaysItsPercentilesComeFromAHistogram()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath);
        var exact = RunTotals.From(Sample, new CallQualityBudget());
        var binned = new RunTotals(new CallQualityBudget(), exactQualityValues: 2);
        foreach (var c in Sample.Calls) binned.OnCall(c);
        Assert.IsTrue(exact.Mos.IsExact);
        Assert.IsFalse(binned.Mos.IsExact);
        Assert.DoesNotContain("from a histogram", TrafficAudit.Outputs.Report.HtmlReportWriter.Render(input with { Totals = exact }));
        StringAssert.Contains(TrafficAudit.Outputs.Report.HtmlReportWriter.Render(input with { Totals = binned }),
            "(past 2 calls from a histogram: MOS to 0.01, jitter to 0.1 ms, loss to 0.01 %, lowest and highest exact)");
    }

    [TestMethod]
    public void Readme_SelectionsAndPercentileCaps_AreTheCodes()
    {
        string readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        string section = readme[readme.IndexOf("### What the console and the report keep", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", StringComparison.Ordinal)];
        StringAssert.Contains(section, FormattableString.Invariant($"| calls of the console's list | {RunTotals.FirstCallsKept} |"));
        StringAssert.Contains(section, FormattableString.Invariant($"| streams of the console's list | {RunTotals.WorstStreamsKept} |"));
        StringAssert.Contains(section, FormattableString.Invariant($"| calls of the report's table and worst-calls list | {RunTotals.DefaultMaxTableCalls:N0} |"));
        StringAssert.Contains(section, FormattableString.Invariant($"| calls the report charts, with their per-second series | {RunTotals.DefaultMaxChartedCalls} |"));
        StringAssert.Contains(section, FormattableString.Invariant($"exact up to {QualityDistribution.DefaultExactCap:N0} calls per figure"));
        var (mos, jitter, loss) = (QualityDistribution.ForMos(), QualityDistribution.ForJitterMs(), QualityDistribution.ForLossPct());
        StringAssert.Contains(section, FormattableString.Invariant($"bins of {mos.Resolution} for MOS (up to {mos.HistogramTop})"));
        StringAssert.Contains(section, FormattableString.Invariant($"{jitter.Resolution} ms for\njitter (up to {jitter.HistogramTop:N0} ms"));
        StringAssert.Contains(section, FormattableString.Invariant($"{loss.Resolution} % for loss"));
        var defaults = new TrafficAudit.Outputs.Report.ReportInput { Result = Sample, Files = [], ToolVersion = "", CommandLine = "" };
        Assert.AreEqual(RunTotals.DefaultMaxTableCalls, defaults.MaxTableCalls, "the report lists what the totals keep");
        Assert.AreEqual(RunTotals.DefaultMaxChartedCalls, defaults.MaxChartedCalls);
    }

    // ----- the reference: the full lists, sorted as the console and the report did before -----

    private static string Reference(List<CallRecord> calls, List<RtpStreamRecord> streams)
    {
        var ranked = calls.Select(c => (Call: c, Number: c.Sip.Number, Problems: CallRanking.Problems(c, Budget)))
            .OrderBy(x => x.Problems.Count == 0 ? 1 : 0)
            .ThenBy(x => x.Call.Mos < 0 ? double.MaxValue : x.Call.Mos)
            .ThenByDescending(x => x.Call.Streams.Count == 0 ? -1 : x.Call.LostPct)
            .ThenByDescending(x => x.Call.MaxJitterMs)
            .ThenBy(x => x.Number)
            .ToList();
        var withMedia = ranked.Where(x => x.Call.Streams.Any(s => s.TimeSeries is { } t && t.Buckets.Length > 0)).ToList();
        var mos = calls.Where(c => c.Mos >= 0).Select(c => c.Mos).OrderBy(x => x).ToList();
        var jitter = calls.Where(c => c.MaxJitterMs >= 0 && c.Streams.Count > 0).Select(c => c.MaxJitterMs).OrderBy(x => x).ToList();
        var loss = calls.Where(c => c.Streams.Count > 0).Select(c => c.LostPct).OrderBy(x => x).ToList();
        var worstStreams = streams.OrderByDescending(s => s.MaxJitterMs).ThenBy(s => s.Ssrc).Take(RunTotals.WorstStreamsKept).Select(s => s.StreamId);
        return string.Join("\n",
            $"calls {calls.Count} answered {calls.Count(c => c.Sip.Answered)} rtp {calls.Count(c => c.Streams.Count > 0)} oneway {calls.Count(FindingRules.IsOneWayProblem)}/{calls.Count(c => c.OneWay)}",
            $"problems {ranked.Count(x => x.Problems.Count > 0)} series {withMedia.Count}",
            "table " + string.Join(",", ranked.Take(RunTotals.DefaultMaxTableCalls).Select(x => x.Number)),
            "problems " + string.Join("|", ranked.Take(RunTotals.DefaultMaxTableCalls).Select(x => string.Join(";", x.Problems))),
            "charts " + string.Join(",", withMedia.Take(RunTotals.DefaultMaxChartedCalls).Select(x => x.Number)),
            "first " + string.Join(",", calls.OrderBy(c => c.Sip.Number).Take(RunTotals.FirstCallsKept).Select(c => c.Sip.Number)),
            $"streams {streams.Count} matched {streams.Count(s => s.SdpMatched)} loose {streams.Count(s => s.CallId.Length == 0)} worst " + string.Join(",", worstStreams),
            Percentiles("mos", mos), Percentiles("jitter", jitter), Percentiles("loss", loss));
    }

    private static string Percentiles(string name, List<double> sorted) => sorted.Count == 0 ? name + " none"
        : $"{name} {sorted.Count} min {sorted[0]} max {sorted[^1]} p5 {Rank(sorted, 5)} p50 {Rank(sorted, 50)} p95 {Rank(sorted, 95)}";

    private static double Rank(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Observe(RunTotals t)
    {
        static string P(string name, QualityDistribution d) => d.Count == 0 ? name + " none"
            : $"{name} {d.Count} min {d.Min} max {d.Max} p5 {d.Percentile(5)} p50 {d.Percentile(50)} p95 {d.Percentile(95)}";
        return string.Join("\n",
            $"calls {t.Calls} answered {t.CallsAnswered} rtp {t.CallsWithRtp} oneway {t.CallsOneWayProblem}/{t.CallsOneWay}",
            $"problems {t.CallsWithProblem} series {t.CallsWithSeries}",
            "table " + string.Join(",", t.WorstCalls.Select(x => x.Number)),
            "problems " + string.Join("|", t.WorstCalls.Select(x => string.Join(";", x.Problems))),
            "charts " + string.Join(",", t.ChartedCalls.Select(x => x.Number)),
            "first " + string.Join(",", t.FirstCalls.Select(x => x.Number)),
            $"streams {t.Streams} matched {t.StreamsSdpMatched} loose {t.StreamsWithoutCall} worst " + string.Join(",", t.WorstStreams.Select(s => s.StreamId)),
            P("mos", t.Mos), P("jitter", t.JitterMs), P("loss", t.LossPct));
    }

    // ----- synthetic records: the sample's call and stream with figures drawn from few values, so ties are many -----

    private static (List<CallRecord> Calls, List<RtpStreamRecord> Streams) Synthetic(int n, int seed)
    {
        var rnd = new Random(seed);
        var templateCall = Sample.Calls.First(c => c.Streams.Count >= 2);
        var templateStream = templateCall.Streams[0];
        Assert.IsNotNull(templateStream.TimeSeries, "the sample's streams carry a series");
        double[] mos = [-1, 3.2, 4.33, 4.41, 4.41];
        double[] loss = [0, 0, 0.5, 2.5];
        double[] jitter = [0.4, 1.2, 12.5, 45];
        var calls = new List<CallRecord>(n);
        for (int i = 1; i <= n; i++)
        {
            var sip = NewSip(i, answered: rnd.Next(4) > 0, failed: rnd.Next(6) == 0);
            int kind = rnd.Next(4);   // 0: no RTP; 1: RTP without series; 2-3: RTP with its series
            var streams = kind == 0 ? [] : templateCall.Streams.Select(s => kind == 1 ? s with { TimeSeries = null } : s).ToList();
            calls.Add(templateCall with
            {
                Sip = sip,
                Streams = streams,
                Mos = kind == 0 ? -1 : mos[rnd.Next(mos.Length)],
                LostPct = kind == 0 ? 0 : loss[rnd.Next(loss.Length)],
                MaxJitterMs = kind == 0 ? -1 : jitter[rnd.Next(jitter.Length)],
                OneWay = kind != 0 && rnd.Next(8) == 0,
                MediaIpKbpsOut = rnd.Next(10) == 0 ? 95 : 80,
            });
        }
        var list = new List<RtpStreamRecord>(n);
        for (int i = 1; i <= n; i++)
            list.Add(templateStream with
            {
                StreamId = i,
                Ssrc = (uint)rnd.Next(4),
                MaxJitterMs = jitter[rnd.Next(jitter.Length)],
                CallId = rnd.Next(3) == 0 ? "" : "call",
                SdpMatched = rnd.Next(2) == 0,
            });
        return (calls, list);
    }

    private static SipCall NewSip(int number, bool answered, bool failed)
    {
        var sip = new SipCall
        {
            CallId = $"call-{number}@test", FromUri = "sip:a@10.0.0.1", ToUri = "sip:b@10.0.0.2", Transport = SipTransport.Udp,
            CallerIp = IpAddress.Parse("10.0.0.1"), CallerPort = 5060, CalleeIp = IpAddress.Parse("10.0.0.2"), CalleePort = 5060,
            StartNs = 1_700_000_000_000_000_000 + number * 1_000_000L, StartFrame = number, Number = number,
        };
        if (answered) sip.AnswerNs = sip.StartNs + 500_000_000;
        else if (failed) { sip.FinalStatus = 486; sip.FinalReason = "Busy Here"; }
        return sip;
    }

    private static List<WeakReference> FeedWithSeries(RunTotals t, int n)
    {
        var template = Sample.Calls.First(c => c.Streams.Count >= 2);
        var weak = new List<WeakReference>(n);
        for (int i = 1; i <= n; i++)
        {
            var series = new RtpTimeSeries(0);
            for (int k = 0; k < 5; k++) series.Add(k * 1_000_000_000L, 200, 1.0);
            weak.Add(new WeakReference(series));
            t.OnCall(template with
            {
                Sip = NewSip(i, answered: true, failed: false),
                Streams = [template.Streams[0] with { TimeSeries = series }],
                Mos = 3 + (i % 97) / 100.0,
            });
        }
        return weak;
    }
}
