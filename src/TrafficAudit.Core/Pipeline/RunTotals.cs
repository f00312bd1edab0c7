using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Flows;
using TrafficAudit.Policy;

namespace TrafficAudit.Pipeline;

/// <summary>
/// What the console summary and the report show about a run, gathered record by record as records leave
/// the engine (an <see cref="IAuditRecordSink"/>), in memory that does not grow with the run's length:
/// counts (flows and packets by service, TCP handshake states, streams, calls, answered, one-way media),
/// call quality distributions (<see cref="QualityDistribution"/>: exact up to a cap of values, then a
/// histogram) and bounded selections of records: the first <see cref="FirstCallsKept"/> calls by start, the
/// <see cref="WorstStreamsKept"/> streams of highest jitter, the worst <see cref="MaxTableCalls"/> calls in the
/// report's order (<see cref="CallRanking"/>) and the worst <see cref="MaxChartedCalls"/> calls that can be
/// charted, the only ones whose per-second series are kept. A record that ranks better than the last kept
/// one evicts it. The selections and counts are the same whatever order the records come in.
/// A batch run feeds it every record of its result (<see cref="From"/>); a streaming run makes it one of
/// the engine's sinks. Not thread-safe: fed from the engine's thread, as every sink.
/// </summary>
public sealed class RunTotals : IAuditRecordSink
{
    /// <summary>Calls the console lists by start (the rest are in calls.csv).</summary>
    public const int FirstCallsKept = 20;
    /// <summary>Streams the console lists, highest jitter first.</summary>
    public const int WorstStreamsKept = 3;
    /// <summary>Calls of the report's table, worst first (without their per-second series).</summary>
    public const int DefaultMaxTableCalls = 2000;
    /// <summary>Calls the report charts, worst first among those with a per-second series (kept with it).</summary>
    public const int DefaultMaxChartedCalls = 50;

    private Dictionary<string, ServiceTotal> _services = new(StringComparer.Ordinal);
    private Dictionary<TcpHandshakeState, long> _tcpStates = new();
    private BoundedSelection<RankedCall> _firstCalls = new(FirstCallsKept, ByStart);
    private BoundedSelection<(RtpStreamRecord Stream, long Arrival)> _worstStreams = new(WorstStreamsKept, ByJitter);
    private BoundedSelection<RankedCall> _tableCalls;
    private BoundedSelection<RankedCall> _chartedCalls;
    private long _streamArrivals;

    /// <param name="budget">The thresholds that decide a call's problems (the profile's; defaults without one).</param>
    /// <param name="exactQualityValues">Values per quality figure kept exactly before the histogram (<see cref="QualityDistribution"/>).</param>
    public RunTotals(CallQualityBudget? budget = null, int maxTableCalls = DefaultMaxTableCalls, int maxChartedCalls = DefaultMaxChartedCalls,
        int exactQualityValues = QualityDistribution.DefaultExactCap)
    {
        Budget = budget ?? new CallQualityBudget();
        MaxTableCalls = maxTableCalls;
        MaxChartedCalls = maxChartedCalls;
        _tableCalls = new(maxTableCalls, CallRanking.WorstFirst);
        _chartedCalls = new(maxChartedCalls, CallRanking.WorstFirst);
        Mos = QualityDistribution.ForMos(exactQualityValues);
        JitterMs = QualityDistribution.ForJitterMs(exactQualityValues);
        LossPct = QualityDistribution.ForLossPct(exactQualityValues);
    }

    /// <summary>The totals of a finished (or snapshot) result: every flow, stream and call fed in the result's order.</summary>
    public static RunTotals From(AuditResult result, CallQualityBudget? budget = null, int maxTableCalls = DefaultMaxTableCalls,
        int maxChartedCalls = DefaultMaxChartedCalls)
    {
        var t = new RunTotals(budget, maxTableCalls, maxChartedCalls);
        foreach (var f in result.Flows) t.OnFlow(f);
        foreach (var s in result.Streams) t.OnStream(s);
        foreach (var c in result.Calls) t.OnCall(c);
        return t;
    }

    /// <summary>
    /// A copy that goes on on its own, for a live flush: the totals of the records that ended are copied, the
    /// snapshot of what is still open is fed to the copy only, and those records reach the original when they end.
    /// </summary>
    public RunTotals Clone()
    {
        var copy = (RunTotals)MemberwiseClone();
        copy._services = new(_services, StringComparer.Ordinal);
        copy._tcpStates = new(_tcpStates);
        copy._firstCalls = _firstCalls.Clone();
        copy._worstStreams = _worstStreams.Clone();
        copy._tableCalls = _tableCalls.Clone();
        copy._chartedCalls = _chartedCalls.Clone();
        copy.Mos = Mos.Clone();
        copy.JitterMs = JitterMs.Clone();
        copy.LossPct = LossPct.Clone();
        return copy;
    }

    public CallQualityBudget Budget { get; }
    public int MaxTableCalls { get; }
    public int MaxChartedCalls { get; }

    // ----- flows -----

    /// <summary>Flows and packets (both directions) of one service.</summary>
    public readonly record struct ServiceTotal(long Flows, long Packets);

    public long Flows { get; private set; }

    /// <summary>Flows and packets per service, most flows first, then by name (ordinal), as the console lists them.</summary>
    public IReadOnlyList<(string Service, ServiceTotal Total)> Services =>
        _services.OrderByDescending(kv => kv.Value.Flows).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).ToList();

    /// <summary>TCP flows per handshake state (<see cref="TcpHandshakeState.None"/> is not TCP and not counted), in the enum's order.</summary>
    public IReadOnlyList<(TcpHandshakeState State, long Flows)> TcpStates =>
        _tcpStates.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)).ToList();

    /// <summary>Flows of one service (0 when none).</summary>
    public long FlowsOf(string service) => _services.TryGetValue(service, out var t) ? t.Flows : 0;

    /// <summary>SIP over TLS flows (service sip-tls): signalling that cannot be read.</summary>
    public long SipTlsFlows => FlowsOf("sip-tls");

    /// <summary>TCP flows in one handshake state.</summary>
    public long TcpFlows(TcpHandshakeState state) => _tcpStates.GetValueOrDefault(state);

    // ----- streams -----

    public long Streams { get; private set; }
    /// <summary>Streams an SDP announced (the rest were found by their headers).</summary>
    public long StreamsSdpMatched { get; private set; }
    /// <summary>Streams that belong to no SIP call.</summary>
    public long StreamsWithoutCall { get; private set; }

    /// <summary>The <see cref="WorstStreamsKept"/> streams of highest max jitter (then by SSRC, stream id), without their series.</summary>
    public IReadOnlyList<RtpStreamRecord> WorstStreams => _worstStreams.ToSortedList().Select(x => x.Stream).ToList();

    // ----- calls -----

    public long Calls { get; private set; }
    public long CallsAnswered { get; private set; }
    /// <summary>Calls with at least one RTP stream.</summary>
    public long CallsWithRtp { get; private set; }
    /// <summary>RTP one way, both directions asked (<see cref="FindingRules.IsOneWayProblem(CallRecord)"/>).</summary>
    public long CallsOneWayProblem { get; private set; }
    /// <summary>One way as the SDP asked (<see cref="FindingRules.IsOneWayByNegotiation"/>: recording legs).</summary>
    public long CallsOneWayByNegotiation { get; private set; }
    /// <summary>RTP one way, whatever the SDP said (<see cref="CallRecord.OneWay"/>).</summary>
    public long CallsOneWay { get; private set; }
    /// <summary>Calls with a problem by <see cref="CallRanking.Problems"/> under <see cref="Budget"/>.</summary>
    public long CallsWithProblem { get; private set; }
    /// <summary>Calls with a stream that has a per-second series (the calls that can be charted).</summary>
    public long CallsWithSeries { get; private set; }

    /// <summary>Per call with RTP: its MOS (calls with a MOS).</summary>
    public QualityDistribution Mos { get; private set; }
    /// <summary>Per call with RTP: its highest stream jitter, ms.</summary>
    public QualityDistribution JitterMs { get; private set; }
    /// <summary>Per call with RTP: its worse direction's loss, %.</summary>
    public QualityDistribution LossPct { get; private set; }

    /// <summary>The <see cref="FirstCallsKept"/> calls of lowest number (first INVITE first), without their series.</summary>
    public IReadOnlyList<RankedCall> FirstCalls => _firstCalls.ToSortedList();
    /// <summary>The worst <see cref="MaxTableCalls"/> calls, worst first, without their series.</summary>
    public IReadOnlyList<RankedCall> WorstCalls => _tableCalls.ToSortedList();
    /// <summary>The worst <see cref="MaxChartedCalls"/> calls among those with a series, worst first, with their streams' series.</summary>
    public IReadOnlyList<RankedCall> ChartedCalls => _chartedCalls.ToSortedList();

    // ----- the sink -----

    public void OnFlow(FlowRecord flow)
    {
        Flows++;
        long packets = flow.PacketsC2S + flow.PacketsS2C;
        _services[flow.Service] = _services.TryGetValue(flow.Service, out var t) ? new(t.Flows + 1, t.Packets + packets) : new(1, packets);
        if (flow.TcpState != TcpHandshakeState.None)
            _tcpStates[flow.TcpState] = _tcpStates.GetValueOrDefault(flow.TcpState) + 1;
    }

    public void OnStream(RtpStreamRecord stream)
    {
        Streams++;
        if (stream.SdpMatched) StreamsSdpMatched++;
        if (stream.CallId.Length == 0) StreamsWithoutCall++;
        var item = (stream, _streamArrivals++);
        if (_worstStreams.WouldKeep(item)) _worstStreams.Offer((WithoutSeries(stream), item.Item2), out _);
    }

    public void OnCall(CallRecord call)
    {
        Calls++;
        var sip = call.Sip;
        if (sip.Answered) CallsAnswered++;
        bool rtp = call.Streams.Count > 0;
        if (rtp) CallsWithRtp++;
        if (call.OneWay) CallsOneWay++;
        if (FindingRules.IsOneWayProblem(call)) CallsOneWayProblem++;
        if (FindingRules.IsOneWayByNegotiation(call)) CallsOneWayByNegotiation++;
        if (call.Mos >= 0) Mos.Add(call.Mos);
        if (call.MaxJitterMs >= 0 && rtp) JitterMs.Add(call.MaxJitterMs);
        if (rtp) LossPct.Add(call.LostPct);

        var problems = CallRanking.Problems(call, Budget);
        if (problems.Count > 0) CallsWithProblem++;
        // Numbered by the analyzer at the first INVITE; a call built elsewhere takes its arrival.
        var ranked = new RankedCall(call, sip.Number > 0 ? sip.Number : (int)Calls, problems) { Arrival = Calls };
        bool series = call.Streams.Any(s => s.TimeSeries is { } ts && ts.Buckets.Length > 0);
        if (series)
        {
            CallsWithSeries++;
            _chartedCalls.Offer(ranked, out _);
        }
        if (_tableCalls.WouldKeep(ranked) || _firstCalls.WouldKeep(ranked))
        {
            // The table and the console list show no series: a kept call lets go of them.
            var light = series ? ranked with { Call = WithoutSeries(call) } : ranked;
            _tableCalls.Offer(light, out _);
            _firstCalls.Offer(light, out _);
        }
    }

    /// <summary>Nothing of a transaction is shown by the console or the report.</summary>
    public void OnTransaction(SipTransactionStat transaction) { }

    // ----- orders -----

    /// <summary>First INVITE first: the call's number, then arrival.</summary>
    private static readonly IComparer<RankedCall> ByStart = Comparer<RankedCall>.Create((a, b) =>
        a!.Number != b!.Number ? a.Number.CompareTo(b.Number) : a.Arrival.CompareTo(b.Arrival));

    /// <summary>Highest max jitter first, then SSRC, then stream id, then arrival (the console's order, total).</summary>
    private static readonly IComparer<(RtpStreamRecord Stream, long Arrival)> ByJitter = Comparer<(RtpStreamRecord Stream, long Arrival)>.Create((a, b) =>
    {
        int c = b.Stream.MaxJitterMs.CompareTo(a.Stream.MaxJitterMs);
        if (c != 0) return c;
        c = a.Stream.Ssrc.CompareTo(b.Stream.Ssrc);
        if (c != 0) return c;
        c = a.Stream.StreamId.CompareTo(b.Stream.StreamId);
        return c != 0 ? c : a.Arrival.CompareTo(b.Arrival);
    });

    private static RtpStreamRecord WithoutSeries(RtpStreamRecord s) => s.TimeSeries is null ? s : s with { TimeSeries = null };

    private static CallRecord WithoutSeries(CallRecord c) => c with { Streams = c.Streams.Select(WithoutSeries).ToList() };
}
