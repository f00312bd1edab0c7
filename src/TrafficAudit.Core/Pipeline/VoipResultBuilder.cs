using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Pipeline;

/// <summary>
/// Turns the VoIP stage's state into records as items end: a stream's record from its statistics, a call's
/// from its SIP facts and its streams' records. Nothing here reads a live flow: links are ids.
/// </summary>
internal static class VoipResultBuilder
{
    /// <summary>
    /// The batch result's streams, calls and summary: the records handed over so far (<paramref name="done"/>), then
    /// those still open at a live snapshot (<paramref name="open"/>); calls classified from the flow records.
    /// </summary>
    internal static (IReadOnlyList<RtpStreamRecord> Streams, IReadOnlyList<CallRecord> Calls, VoipSummary Summary) Build(
        VoipTracker voip, VoipRecordCollector done, VoipTracker.VoipOpenSnapshot? open, IReadOnlyList<FlowRecord> flows, int maxTransactions)
    {
        var streams = new List<RtpStreamRecord>(done.Streams);
        var calls = new List<CallRecord>(done.Calls);
        var transactions = new List<SipTransactionStat>(done.Transactions);
        if (open is not null)
        {
            streams.AddRange(open.Streams);
            calls.AddRange(open.Calls);
            foreach (var t in open.Transactions) if (transactions.Count < maxTransactions) transactions.Add(t);
        }
        transactions.Sort(SipTransactionStat.ByRequest);
        var (peakCalls, peakCallsAt, kbps, kbpsAt) = voip.Peaks();
        if (open is not null) (kbps, kbpsAt) = (open.PeakMediaIpKbps, open.PeakMediaIpKbpsAtNs);
        var summary = new VoipSummary
        {
            PeakConcurrentCalls = peakCalls,
            PeakConcurrentCallsAtNs = peakCallsAt,
            PeakMediaIpKbps = kbps,
            PeakMediaIpKbpsAtNs = kbpsAt,
            SipTlsFlows = flows.Count(f => f.Service == "sip-tls"),
            OptionsPings = open?.OptionsPings ?? voip.OptionsPings,
            Transactions = transactions,
            SipMessages = voip.Sip.MessageCount,
            SipRetransmissions = voip.Sip.RetransmissionCount,
        };
        return (streams, ClassifyCalls(calls, flows), summary);
    }

    /// <summary>A call's record with its streams (in order of first packet). Service and applications are today's fallback until classified.</summary>
    /// <remarks>
    /// Loops rather than LINQ (a call used to leave about 1 KB of enumerators, delegates and lists behind); each figure
    /// is computed as LINQ computed it: in the streams' order, a maximum skipping NaN, a minimum that is NaN when any is.
    /// </remarks>
    internal static CallRecord BuildCall(SipCall c, List<RtpStreamRecord> media)
    {
        var (codec, clockRates) = CallCodecs(media, c);
        int outCount = Count(media, "out"), inCount = Count(media, "in");
        double lostOut = LostPct(media, "out"), lostIn = LostPct(media, "in");
        double maxJitter = -1, mos = -1, mosNetwork = -1;
        if (media.Count > 0)
        {
            maxJitter = MaxOf(media, static m => m.MaxJitterMs);
            mos = MinOf(media, static m => m.Mos);
            mosNetwork = MinOf(media, static m => m.MosNetwork);
        }
        return new CallRecord
        {
            Sip = c,
            Service = c.Transport == SipTransport.Tls ? "sip-tls" : "sip",
            Applications = "",
            Codec = codec,
            CodecClockRate = clockRates,
            Streams = media,
            MediaIpKbpsOut = MeanKbps(media, "out", ip: true),
            MediaIpKbpsIn = MeanKbps(media, "in", ip: true),
            MediaEthKbpsOut = MeanKbps(media, "out", ip: false),
            MediaEthKbpsIn = MeanKbps(media, "in", ip: false),
            PeakIpKbpsOut = outCount == 0 ? -1 : MaxOf(media, static m => m.PeakIpKbps, "out"),
            PeakIpKbpsIn = inCount == 0 ? -1 : MaxOf(media, static m => m.PeakIpKbps, "in"),
            MaxJitterMs = maxJitter,
            // The call's figure is its worse direction: averaging the two would halve a one-sided loss.
            LostPct = Math.Max(0, Math.Max(lostOut, lostIn)),
            LostPctOut = lostOut,
            LostPctIn = lostIn,
            Mos = mos,
            MosNetwork = mosNetwork,
            // One way only when no stream runs back between the same two hosts: when a call loops through a
            // proxy every SDP may name one host, and both streams then read as 'out' by their SDP endpoint.
            OneWay = (outCount > 0) != (inCount > 0) && !HasReverseStream(media),
            FlowId = c.FlowId,
        };
    }

    private static bool In(RtpStreamRecord m, string? direction) => direction is null || m.CallDirection == direction;

    private static int Count(List<RtpStreamRecord> media, string direction)
    {
        int n = 0;
        foreach (var m in media) if (m.CallDirection == direction) n++;
        return n;
    }

    /// <summary>The largest value over the streams (of one direction), as Enumerable.Max: NaN only when every value is NaN. At least one stream.</summary>
    private static double MaxOf(List<RtpStreamRecord> media, Func<RtpStreamRecord, double> value, string? direction = null)
    {
        double max = double.NaN;
        bool any = false;
        foreach (var m in media)
        {
            if (!In(m, direction)) continue;
            double x = value(m);
            if (!any || double.IsNaN(max)) { max = x; any = true; }
            else if (x > max) max = x;
        }
        return max;
    }

    /// <summary>The smallest value over the streams, as Enumerable.Min: NaN when any value is NaN. At least one stream.</summary>
    private static double MinOf(List<RtpStreamRecord> media, Func<RtpStreamRecord, double> value)
    {
        double min = value(media[0]);
        if (double.IsNaN(min)) return min;
        for (int i = 1; i < media.Count; i++)
        {
            double x = value(media[i]);
            if (x < min) min = x;
            else if (double.IsNaN(x)) return x;
        }
        return min;
    }

    /// <summary>
    /// Service and applications of each call from the record of its signalling flow (the first flow, in flow_id
    /// order, between the call's caller and callee address and port either way round), as the batch result always
    /// gave them; calls whose flow is not among <paramref name="flows"/> keep what they have.
    /// </summary>
    internal static List<CallRecord> ClassifyCalls(IReadOnlyList<CallRecord> calls, IReadOnlyList<FlowRecord> flows)
    {
        var flowIndex = new Dictionary<(IpAddress, ushort, IpAddress, ushort), FlowRecord?>();
        foreach (var c in calls) flowIndex.TryAdd((c.Sip.CallerIp, c.Sip.CallerPort, c.Sip.CalleeIp, c.Sip.CalleePort), null);
        if (flowIndex.Count > 0)
            foreach (var f in flows)
            {
                if (flowIndex.TryGetValue((f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort), out var a) && a is null)
                    flowIndex[(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort)] = f;
                if (flowIndex.TryGetValue((f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort), out var b) && b is null)
                    flowIndex[(f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort)] = f;
            }
        var result = new List<CallRecord>(calls.Count);
        foreach (var c in calls)
        {
            flowIndex.TryGetValue((c.Sip.CallerIp, c.Sip.CallerPort, c.Sip.CalleeIp, c.Sip.CalleePort), out var signalling);
            result.Add(signalling is null || (signalling.Service == c.Service && signalling.Applications == c.Applications)
                ? c : c with { Service = signalling.Service, Applications = signalling.Applications });
        }
        return result;
    }

    /// <summary>Some stream of the call is answered by another from its destination host back to its source host.</summary>
    private static bool HasReverseStream(List<RtpStreamRecord> media)
    {
        if (media.Count < 2) return false;
        if (media.Count <= 16)
        {
            // A call has a few streams: comparing each pair costs less than a set.
            foreach (var a in media)
                foreach (var b in media)
                    if (a.SrcIp == b.DstIp && a.DstIp == b.SrcIp) return true;
            return false;
        }
        var pairs = new HashSet<(IpAddress, IpAddress)>();
        foreach (var m in media) pairs.Add((m.SrcIp, m.DstIp));
        foreach (var m in media)
            if (pairs.Contains((m.DstIp, m.SrcIp))) return true;
        return false;
    }

    /// <summary>Lost over expected packets of one direction's streams, percent; -1 without streams that way.</summary>
    private static double LostPct(List<RtpStreamRecord> media, string direction)
    {
        long expected = 0, lost = 0;
        int n = 0;
        foreach (var m in media)
        {
            if (m.CallDirection != direction) continue;
            n++;
            expected = checked(expected + m.Expected);
            lost = checked(lost + m.Lost);
        }
        if (n == 0) return -1;
        return expected == 0 ? 0 : lost * 100.0 / expected;
    }

    /// <summary>
    /// The call's codecs, one normalised name each (<see cref="CodecNames"/>), in order of first use, and
    /// their clock rates in the same order: from the streams when there are any, else from the SDP answer.
    /// </summary>
    private static (string Names, string ClockRates) CallCodecs(List<RtpStreamRecord> media, SipCall c)
    {
        var names = new List<string>(2);
        var rates = new List<uint>(2);
        if (media.Count > 0)
            foreach (var m in media) AddCodec(names, rates, CodecNames.Normalise(m.Codec), m.ClockRate);
        else
            foreach (var label in c.Codecs) { var (n, r) = CodecNames.Split(label); AddCodec(names, rates, n, r); }
        for (int i = 0; i < rates.Count; i++)
            if (rates[i] == 0) rates[i] = CodecNames.NominalClockRate(names[i]);
        if (names.Count == 1) return (names[0], rates[0].ToString(System.Globalization.CultureInfo.InvariantCulture));
        var rateTexts = new string[rates.Count];
        for (int i = 0; i < rates.Count; i++) rateTexts[i] = rates[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (string.Join(";", names), string.Join(";", rateTexts));
    }

    private static void AddCodec(List<string> names, List<uint> rates, string name, uint rate)
    {
        if (name.Length == 0) return;
        int i = names.IndexOf(name);
        if (i < 0) { names.Add(name); rates.Add(rate); }
        else if (rates[i] == 0) rates[i] = rate;
    }

    /// <summary>Mean over a direction: bytes after each stream's first packet over the time the direction was active; -1 without streams that way.</summary>
    private static double MeanKbps(List<RtpStreamRecord> media, string direction, bool ip)
    {
        long first = long.MaxValue, last = long.MinValue;
        int n = 0;
        foreach (var s in media)
        {
            if (s.CallDirection != direction) continue;
            n++;
            if (s.FirstSeenNs < first) first = s.FirstSeenNs;
            if (s.LastSeenNs > last) last = s.LastSeenNs;
        }
        if (n == 0) return -1;
        if (last <= first) return 0;
        double bytes = 0;
        foreach (var s in media)
            if (s.CallDirection == direction)
                bytes += ip ? s.IpBytesAfterFirst : s.IpBytesAfterFirst + (s.Packets - 1) * (double)RtpStreamStatistics.EthernetOverhead;
        return bytes * 8e6 / (last - first);
    }

    internal static RtpStreamRecord ToRecord(RtpStreamState s, int id)
    {
        ref readonly var st = ref s.Stats;
        string codec = s.Codec ?? "";
        var impairment = codec.Length > 0 ? CodecImpairment.ForEncodingName(codec) : CodecImpairment.ForPayloadType(s.FirstPayloadType);
        double? oneWay = s.RttSamples > 0 ? s.RttSumMs / s.RttSamples / 2 : null;
        double mosAdapt = RtpQuality.EstimatePlayoutMos(in st, 2, impairment, oneWay);
        var call = s.Call;
        string direction = "";
        if (call is not null && s.Endpoint is { } ep)
        {
            bool endpointIsDestination = ep.Address == s.Key.Dst && ep.Port == s.Key.DstPort;
            bool towardCallee = endpointIsDestination ? ep.Side == SipSide.Callee : ep.Side == SipSide.Caller;
            direction = towardCallee ? "out" : "in";
        }
        return new RtpStreamRecord
        {
            StreamId = id,
            CallId = call?.CallId ?? "",
            Ssrc = s.Key.Ssrc,
            SrcIp = s.Key.Src,
            SrcPort = s.Key.SrcPort,
            DstIp = s.Key.Dst,
            DstPort = s.Key.DstPort,
            Vlan = s.Flow.Vlan,
            PayloadType = s.FirstPayloadType,
            Codec = codec,
            ClockRate = s.ClockRate,
            FirstSeenNs = st.FirstArrivalNs,
            LastSeenNs = st.LastArrivalNs,
            Packets = st.Packets,
            Expected = st.ExpectedDistinct,
            Lost = st.LostDistinct,
            LostPct = st.LossRatio * 100,
            Duplicates = st.Duplicates,
            OutOfOrder = st.OutOfOrder,
            MaxDeltaMs = st.MaxDeltaMs,
            MeanDeltaMs = st.MeanDeltaMs,
            MaxJitterMs = st.MaxJitterMs,
            MeanJitterMs = st.MeanJitterMs,
            IpKbps = st.MeanIpKbps,
            EthKbps = st.MeanEthernetKbps,
            PeakIpKbps = st.PeakIpKbps,
            Mos = mosAdapt,
            MosNetwork = RtpQuality.EstimateMos(in st, impairment, oneWay),
            MosF1 = RtpQuality.EstimatePlayoutMos(in st, 0, impairment, oneWay),
            MosF2 = RtpQuality.EstimatePlayoutMos(in st, 1, impairment, oneWay),
            MosAdapt = mosAdapt,
            LateF1 = st.LateForBuffer(0),
            LateF2 = st.LateForBuffer(1),
            LateAdapt = st.LateForBuffer(2),
            RtcpMuxPackets = s.Flow.RtcpPackets,
            FlowId = s.Flow.FlowId,
            SdpMatched = call is not null,
            WiresharkExpected = st.ExpectedPackets,
            WiresharkLost = st.Lost,
            SequenceErrors = st.SequenceErrors,
            LossBursts = st.GetLossBursts(),
            CallDirection = direction,
            RtcpReports = s.RtcpReports,
            RtcpJitterMs = s.RtcpMaxJitterMs,
            RtcpCumulativeLost = s.RtcpCumulativeLost,
            RtcpMaxFractionLostPct = s.RtcpMaxFractionLostPct,
            RtcpRttMs = s.RttSamples > 0 ? s.RttSumMs / s.RttSamples : -1,
            RtcpRttMaxMs = s.RttMaxMs,
            IpBytesAfterFirst = (long)Math.Round(st.MeanIpKbps * st.DurationNs / 8e6),
            TimeSeries = st.TimeSeries,
        };
    }
}

/// <summary>
/// Peak aggregate media rate, built as streams end: each ended stream's 1-second buckets are summed per second of
/// capture time; a second is final (and folded into the running peak) once no open stream, nor any that may start,
/// can add to it. The open seconds span from the first packet of the oldest open stream to now. Ties go to the
/// earliest second, as the batch computation over all streams gave.
/// </summary>
internal sealed class MediaPeak
{
    private readonly Dictionary<long, long> _perSecond = new();
    private long _best = -1, _bestSecond;

    /// <summary>Open seconds held now (for tests of bounded state).</summary>
    public int OpenSeconds => _perSecond.Count;

    public void Add(RtpStreamRecord s) => Add(_perSecond, s);

    private static void Add(Dictionary<long, long> perSecond, RtpStreamRecord s)
    {
        if (s.TimeSeries is not { } series) return;
        var buckets = series.Buckets;
        for (int i = 0; i < buckets.Length; i++)
        {
            long second = (series.OriginNs + i * series.BucketWidthNs) / 1_000_000_000;
            perSecond[second] = perSecond.GetValueOrDefault(second) + buckets[i].IpBytes * 1_000_000_000 / series.BucketWidthNs;
        }
    }

    /// <summary>Seconds that start before <paramref name="beforeNs"/> are final.</summary>
    public void Fold(long beforeNs)
    {
        if (_perSecond.Count == 0) return;
        long limit = beforeNs == long.MaxValue ? long.MaxValue : beforeNs / 1_000_000_000;
        List<long>? done = null;
        foreach (var (second, value) in _perSecond)
            if (second < limit)
            {
                Consider(ref _best, ref _bestSecond, second, value);
                (done ??= new()).Add(second);
            }
        if (done is not null) foreach (var s in done) _perSecond.Remove(s);
    }

    private static void Consider(ref long best, ref long bestSecond, long second, long value)
    {
        if (value > best || (value == best && second < bestSecond)) { best = value; bestSecond = second; }
    }

    public double Kbps => Math.Max(0, _best) * 8 / 1000.0;
    public long AtNs => _best < 0 ? 0 : _bestSecond * 1_000_000_000;

    /// <summary>The peak as if <paramref name="open"/> (records of streams still open) ended now; nothing changes.</summary>
    public (double Kbps, long AtNs) Peek(IEnumerable<RtpStreamRecord> open)
    {
        var perSecond = new Dictionary<long, long>(_perSecond);
        foreach (var s in open) Add(perSecond, s);
        long best = _best, bestSecond = _bestSecond;
        foreach (var (second, value) in perSecond) Consider(ref best, ref bestSecond, second, value);
        return (Math.Max(0, best) * 8 / 1000.0, best < 0 ? 0 : bestSecond * 1_000_000_000);
    }
}

/// <summary>
/// The batch result's VoIP records: a sink that keeps every stream, call and transaction handed over (the engine
/// uses it when no sink is given, so AuditResult lists them as before). Transactions are kept up to
/// <see cref="SipAnalyzerOptions.MaxTransactionsKept"/> (<c>sip_transactions_not_kept</c> counts the rest).
/// </summary>
public sealed class VoipRecordCollector(AnomalyCounters anomalies, int maxTransactions) : IAuditRecordSink
{
    public List<RtpStreamRecord> Streams { get; } = new();
    public List<CallRecord> Calls { get; } = new();
    public List<SipTransactionStat> Transactions { get; } = new();

    public void OnFlow(FlowRecord flow) { }
    public void OnStream(RtpStreamRecord stream) => Streams.Add(stream);
    public void OnCall(CallRecord call) => Calls.Add(call);

    public void OnTransaction(SipTransactionStat transaction)
    {
        if (Transactions.Count >= maxTransactions) { anomalies.Increment("sip_transactions_not_kept"); return; }
        Transactions.Add(transaction);
    }

    /// <summary>Records gathered, all kinds.</summary>
    public int Count => Streams.Count + Calls.Count + Transactions.Count;

    /// <summary>
    /// Hands everything gathered to <paramref name="sink"/> and forgets it: streams, then transactions, then
    /// calls (a call after its streams), each kind in the order it ended; <paramref name="call"/> may restate a call.
    /// </summary>
    public void ReplayTo(IAuditRecordSink sink, Func<CallRecord, CallRecord> call)
    {
        foreach (var s in Streams) sink.OnStream(s);
        foreach (var t in Transactions) sink.OnTransaction(t);
        foreach (var c in Calls) sink.OnCall(call(c));
        Streams.Clear();
        Transactions.Clear();
        Calls.Clear();
    }
}
