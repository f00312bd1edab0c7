using System.Runtime.InteropServices;
using TrafficAudit.Analyzers;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Analyzers.Rtp;

/// <summary>Wireshark's RTP stream key: source, destination, ports and SSRC.</summary>
public readonly record struct RtpStreamKey(IpAddress Src, ushort SrcPort, IpAddress Dst, ushort DstPort, uint Ssrc);

/// <summary>Limits and times of the VoIP stage (capture time throughout).</summary>
public sealed record VoipTrackerOptions
{
    /// <summary>An RTP stream ends this long after its last packet: the UDP idle time of the flow table.</summary>
    public long StreamIdleNs { get; init; } = new FlowTimeouts().UdpIdleNs;
    /// <summary>
    /// An ended call (BYE, CANCEL, final failure) leaves this long after its last SIP message, and not before
    /// its streams ended: the SIP transaction linger (2 x 64·T1), so late retransmissions of the BYE, its 200
    /// or an authentication retry (401/407, then a new INVITE) still belong to it.
    /// </summary>
    public long CallLingerNs { get; init; } = 64_000_000_000L;
    /// <summary>A call that did not end leaves after this long with neither SIP nor RTP (a BYE the capture missed).</summary>
    public long CallIdleNs { get; init; } = 3600_000_000_000L;
    /// <summary>How often (capture time) streams and calls are checked for their end.</summary>
    public long SweepIntervalNs { get; init; } = 10_000_000_000L;
    /// <summary>RTP streams measured at once; a new stream past it ends the oldest early (<c>rtp_streams_evicted</c>), which is still written.</summary>
    public int MaxOpenStreams { get; init; } = VoipTracker.MaxOpenStreams;
    public SipAnalyzerOptions? Sip { get; init; }
    /// <summary>
    /// Service and applications of a call from its signalling endpoints (the engine classifies them as it
    /// classifies flows); called on the engine's thread when the call is handed over. Null, or a null
    /// answer: "sip" ("sip-tls" for SIP over TLS) and no application.
    /// </summary>
    public Func<SipCall, (string Service, string Applications)?>? ClassifyCall { get; init; }
}

/// <summary>
/// One RTP stream being measured, and what SDP and RTCP said about it. The tracker reuses the object of an ended stream
/// for a new one (<see cref="Start"/>): once its record is made nothing refers to it.
/// </summary>
internal sealed class RtpStreamState
{
    public RtpStreamState(RtpStreamKey key, VoipTracker.FlowVoip flow, long sequence) => Start(key, flow, sequence);

    public RtpStreamKey Key { get; private set; }
    /// <summary>The VoIP view of the flow that carries it (flow_id, VLAN, RTP hint, RTCP packets): never the engine's live flow.</summary>
    internal VoipTracker.FlowVoip Flow { get; private set; } = null!;
    public long Sequence { get; private set; }
    /// <summary>Ended (idle, evicted, its call evicted or the end of the run): no longer fed.</summary>
    internal bool Ended;
    /// <summary>An SDP announced its address and port (its call may have left since): a stream even where the flow's RTP probe said no.</summary>
    internal bool Announced;
    internal LinkedListNode<RtpStreamState>? Node;
    public RtpStreamStatistics Stats;
    public byte FirstPayloadType;
    public bool IsIPv6;
    /// <summary>Call whose SDP announced this stream's destination (or source) address and port.</summary>
    public SipCall? Call;
    public SipMediaEndpoint? Endpoint;
    /// <summary>Encoding name and clock of the first payload type, from SDP or the static table.</summary>
    public string? Codec;
    public uint ClockRate;

    // Per-payload-type clock cache: resolved again only when the type or the SDP changes.
    internal int CachedMediaVersion;
    internal byte CachedPayloadType;
    internal uint CachedClock;
    internal IReadOnlyList<SdpPayload>? Payloads;

    // What the far end reported about this stream in RTCP receiver/sender reports.
    public int RtcpReports;
    public double RtcpMaxJitterMs;
    public double RtcpLastJitterMs;
    public int RtcpCumulativeLost;
    public double RtcpMaxFractionLostPct;
    public int RttSamples;
    public double RttSumMs;
    public double RttMaxMs;

    /// <summary>
    /// The record the last live snapshot made of this stream, and what it was made from (packets, RTCP reports on it,
    /// RTCP packets on its flow): the next snapshot reuses it while they are unchanged (a stream waiting for its idle
    /// timeout after its call ended gets nothing). Records are never changed once made.
    /// </summary>
    internal RtpStreamRecord? SnapshotRecord;
    internal long SnapshotPackets;
    internal int SnapshotRtcpReports;
    internal long SnapshotRtcpMux;

    /// <summary>
    /// Starts as a new stream: every field as a new object's (a test checks each), but the statistics keep the bandwidth
    /// ring they had, for the new stream's first packets.
    /// </summary>
    internal void Start(RtpStreamKey key, VoipTracker.FlowVoip flow, long sequence)
    {
        Key = key;
        Flow = flow;
        Sequence = sequence;
        Ended = false;
        Announced = false;
        Node = null;
        var ring = Stats.ReleaseBandwidthRing();
        Stats = default;
        if (ring is not null) Stats.UseBandwidthRing(ring);
        FirstPayloadType = 0;
        IsIPv6 = false;
        Call = null;
        Endpoint = null;
        Codec = null;
        ClockRate = 0;
        CachedMediaVersion = -1;
        CachedPayloadType = 0xFF;
        CachedClock = 0;
        Payloads = null;
        RtcpReports = 0;
        SnapshotRecord = null;
        SnapshotPackets = 0;
        SnapshotRtcpReports = 0;
        SnapshotRtcpMux = 0;
        RtcpMaxJitterMs = -1;
        RtcpLastJitterMs = -1;
        RtcpCumulativeLost = 0;
        RtcpMaxFractionLostPct = 0;
        RttSamples = 0;
        RttSumMs = 0;
        RttMaxMs = -1;
    }
}

/// <summary>
/// The VoIP part of the engine, fed per packet: SIP to the <see cref="SipAnalyzer"/>, RTP to
/// per-stream statistics computed as Wireshark does, RTCP reports, and T.38 packets counted per
/// call. Streams live in a dictionary with a struct key; each flow remembers its last stream per
/// direction, so a steady RTP flow costs no dictionary look-up.
/// </summary>
public sealed class VoipTracker
{
    private readonly SipAnalyzer _sip;
    private readonly VoipTrackerOptions _options;
    private readonly Dictionary<RtpStreamKey, RtpStreamState> _streams = new();
    // Open streams in order of creation: the oldest is evicted first at the cap; a sweep walks them for idle ones.
    private readonly LinkedList<RtpStreamState> _open = new();
    // RTCP SRs seen: (sender SSRC, middle 32 bits of NTP) -> capture time, for LSR/DLSR round trips.
    private readonly Dictionary<(uint Ssrc, uint Ntp), long> _senderReports = new();
    // Streams by SSRC, for RTCP report blocks (which name only the SSRC): no scan over every stream per block.
    private readonly Dictionary<uint, List<RtpStreamState>> _bySsrc = new();
    private long _streamSequence;
    private int _streamIds;
    private long _nextSweepNs = long.MinValue;
    private readonly MediaPeak _peak = new();
    // Records of ended streams, calls and transactions, in the order they ended, until the engine takes them.
    private readonly object _endedGate = new();
    private List<EndedRecord> _ended = new();
    private List<EndedRecord> _spare = new();

    /// <summary>RTP streams (SSRCs) measured per flow; packets of further SSRCs count in the flow only (<c>rtp_flow_ssrc_limit</c>).</summary>
    public const int MaxStreamsPerFlow = 64;
    /// <summary>RTP streams tied to one call by its SDP; packets of further streams count in their flow only (<c>rtp_call_ssrc_limit</c>).</summary>
    public const int MaxStreamsPerCall = 256;
    /// <summary>RTCP sender reports remembered for LSR/DLSR round trips; past it the table starts anew (<c>rtcp_sender_reports_forgotten</c> counts the reports forgotten).</summary>
    public const int MaxSenderReports = 100_000;
    /// <summary>RTP streams measured at once (default of <see cref="VoipTrackerOptions.MaxOpenStreams"/>; <c>rtp_streams_evicted</c>).</summary>
    public const int MaxOpenStreams = 100_000;

    /// <param name="anomalies">Counters of this stage only: it may run on its own thread; the engine merges them at the end.</param>
    public VoipTracker(AnomalyCounters anomalies, VoipTrackerOptions? options = null)
    {
        Anomalies = anomalies;
        _options = options ?? new VoipTrackerOptions();
        _sip = new SipAnalyzer(anomalies, _options.Sip)
        {
            TransactionEnded = t => Enqueue(new EndedRecord(null, null, t)),
            CallEnded = OnCallLeft,
        };
    }

    public AnomalyCounters Anomalies { get; }
    public VoipTrackerOptions Options => _options;

    public SipAnalyzer Sip => _sip;
    /// <summary>RTP streams open now (measured, not yet ended).</summary>
    public int OpenStreamCount => _open.Count;
    /// <summary>Seconds of aggregate media rate held for the peak (those open streams may still add to).</summary>
    public int PeakOpenSeconds => _peak.OpenSeconds;
    /// <summary>Stream records handed out so far (the last stream_id given).</summary>
    public int StreamsEnded => _streamIds;
    /// <summary>
    /// Packets given to <see cref="OnTcp"/> and <see cref="OnUdp"/> so far; each record that ends is stamped with it, so
    /// that <see cref="TakeEnded"/> can take exactly the records ended by a given packet, whichever thread runs the stage.
    /// </summary>
    public long PacketsSeen { get; private set; }

    /// <summary>Records ended and not yet taken by the engine.</summary>
    public int PendingRecords { get { lock (_endedGate) return _ended.Count; } }

    /// <summary>One TCP segment of a flow that may carry SIP.</summary>
    public void OnTcp(in VoipPacket p, ReadOnlySpan<byte> payload)
    {
        PacketsSeen++;
        _sip.OnTcp(p.TimestampNs, p.Src, p.SrcPort, p.Dst, p.DstPort, p.TcpSeq, p.TcpFlags, payload, p.Frame, p.FlowId);
        if (p.TimestampNs >= _nextSweepNs) Sweep(p.TimestampNs);
    }

    /// <summary>
    /// Per-flow VoIP state: last stream per direction, the SDP bindings of its two endpoints, and the flow's
    /// facts a stream record needs (flow_id, VLAN, RTP hint, RTCP packets), so that no record reads the live flow.
    /// </summary>
    internal sealed class FlowVoip(int flowId, ushort vlan)
    {
        public readonly int FlowId = flowId;
        public readonly ushort Vlan = vlan;
        /// <summary>The flow's RTP hint as of its latest packet seen here.</summary>
        public bool IsRtp;
        /// <summary>RTCP packets on the flow (both directions) seen here.</summary>
        public long RtcpPackets;
        public RtpStreamState? Last0, Last1;
        public int MediaVersion = -1;
        public SipMediaBinding? Media0, Media1;
        // On a flow not yet shown to be RTP, the first packet of a new SSRC is held here until a second
        // one with the same SSRC follows, so single stray datagrams (DNS, NTP...) never create a stream.
        // Two slots per direction, for senders that interleave two sources. Made on the first packet held: most flows
        // that get this state (any UDP flow once an SDP was seen, for its bindings) never hold one.
        public Held[]? Pending;
        /// <summary>Streams created on this flow (both directions), against <see cref="MaxStreamsPerFlow"/>.</summary>
        public int Streams;
    }

    internal struct Held
    {
        public bool Used;
        public uint Ssrc;
        public long Ts;
        public RtpPacketInfo Info;
    }

    /// <summary>A call's media while it is open: its streams still open, and the records of those that ended.</summary>
    private sealed class CallMedia
    {
        public readonly List<RtpStreamState> Open = new(1);
        public readonly List<(long First, long Sequence, RtpStreamRecord Record)> Ended = new(2);
    }

    private static FlowVoip VoipOf(Flow flow, in VoipPacket p)
    {
        if ((p.Voip ?? flow.Voip) is { } v) return v;
        v = new FlowVoip(p.FlowId, flow.Key.Vlan);
        flow.Voip = v;
        return v;
    }

    /// <summary>
    /// One UDP datagram. <paramref name="p"/> carries the flow's hints as they stood when the packet
    /// was decoded (the decoding stage may run ahead on another thread), so results never depend on timing.
    /// </summary>
    public void OnUdp(Flow flow, in VoipPacket p, ReadOnlySpan<byte> payload)
    {
        PacketsSeen++;
        Udp(flow, in p, payload);
        // After the packet, as the SIP analyzer sweeps after each message: a packet after a long silence still
        // finds its transaction, call or stream (a capture whose clock jumps keeps them as the batch result did).
        if (p.TimestampNs >= _nextSweepNs) Sweep(p.TimestampNs);
    }

    private void Udp(Flow flow, in VoipPacket p, ReadOnlySpan<byte> payload)
    {
        long ts = p.TimestampNs, frame = p.Frame;
        int side = p.Side;
        // Written only on this stage's thread: the copy the packet carries, when there is one, is the flow's.
        var v = p.Voip ?? flow.Voip;
        if (v is not null && p.FlowIsRtp) v.IsRtp = true;
        if ((p.FlowIsSip || !p.FlowIsRtp) && _sip.OnUdp(ts, p.Src, p.SrcPort, p.Dst, p.DstPort, payload, frame, p.FlowId)) flow.CarriesVoip = true;
        if (p.FlowIsSip) return;

        if (_sip.MediaVersion > 0 && (v is null || v.MediaVersion != _sip.MediaVersion))
        {
            v ??= VoipOf(flow, in p);
            v.IsRtp |= p.FlowIsRtp;
            RefreshBindings(flow, v);
        }
        // SDP said this address:port now takes T.38 (UDPTL): count it for the call, it is not RTP.
        SipMediaBinding? toward = v is null ? null : side == 0 ? v.Media1 : v.Media0;
        // Where only the sender's SDP is known (symmetric RTP), its binding still ties the stream to the call.
        SipMediaBinding? bound = toward ?? (v is null ? null : side == 0 ? v.Media0 : v.Media1);
        if (toward is { IsT38: true } t38)
        {
            flow.T38Packets++;
            if (!t38.Retired) t38.Call.T38Packets++;
            return;
        }

        // On two cores an RTP datagram may come as its fixed header only (VoipPacket.RtpHeaderOnly): its length is then
        // the datagram's, and its header was found valid on the whole datagram.
        int length = p.RtpHeaderOnly ? p.WireLength : payload.Length;
        if (length < 8 || (payload[0] >> 6) != 2) return;
        // RTCP on its own port, or multiplexed on the RTP port (RFC 5761 §4: second byte 192-223): the
        // reports of this session, never an RTP stream.
        if (RtpProbe.IsRtcpPacketType(payload))
        {
            if (RtpProbe.FirstRtcpLengthFits(payload))
            {
                flow.RtcpPackets++;
                v ??= VoipOf(flow, in p);
                v.IsRtp |= p.FlowIsRtp;
                v.RtcpPackets++;
            }
            if (RtpProbe.IsPlainRtcp(payload)) OnRtcp(payload, ts);
            return;
        }
        if (p.FlowRtpDecided && !p.FlowIsRtp && bound is null) return;
        uint ssrc; ushort seq; byte pt;
        if (p.RtpHeaderOnly) ReadCheckedRtpHeader(payload, out ssrc, out seq, out pt);
        else if (!RtpProbe.TryReadRtpHeader(payload, out ssrc, out seq, out pt)) return;

        if (v is null)
        {
            v = VoipOf(flow, in p);
            v.IsRtp |= p.FlowIsRtp;
        }
        ref RtpStreamState? last = ref side == 0 ? ref v.Last0 : ref v.Last1;
        RtpStreamState? stream = last is not null && last.Key.Ssrc == ssrc && !last.Ended ? last : null;
        if (stream is null)
        {
            // A stream's record joins the flow of its ends (the policy remembers only such UDP flows); once per new SSRC here.
            flow.CarriesVoip = true;
            var key = new RtpStreamKey(p.Src, p.SrcPort, p.Dst, p.DstPort, ssrc);
            if (!_streams.TryGetValue(key, out stream))
            {
                var first = new RtpPacketInfo(seq, ReadTimestamp(payload), (payload[1] & 0x80) != 0, pt, length, p.IpVersion == 6, 0, frame);
                bool trusted = p.FlowIsRtp || bound is not null;
                int slot = FindHeld(v, side, ssrc);
                if (!trusted && slot < 0)
                {
                    Hold(v, side, ssrc, ts, first);
                    return;
                }
                // Bounded: a sender changing SSRC on every packet (or a flood towards an SDP-announced port)
                // cannot make a stream, with its statistics, per packet. The packet still counts in its flow.
                if (v.Streams >= MaxStreamsPerFlow) { Anomalies.Increment("rtp_flow_ssrc_limit"); return; }
                if (bound is { Retired: false } && bound.Call.RtpStreamCount >= MaxStreamsPerCall) { Anomalies.Increment("rtp_call_ssrc_limit"); return; }
                if (_open.Count >= _options.MaxOpenStreams && _open.First is { } oldest)
                {
                    // Bounded: the oldest open stream ends early and is still written.
                    Anomalies.Increment("rtp_streams_evicted");
                    EndStream(oldest.Value);
                }
                v.Streams++;
                if (bound is { Retired: false }) bound.Call.RtpStreamCount++;
                if (_spareStreams.TryPop(out stream)) stream.Start(key, v, _streamSequence++);
                else stream = new RtpStreamState(key, v, _streamSequence++);
                stream.IsIPv6 = p.IpVersion == 6;
                stream.Node = _open.AddLast(stream);
                _streams.Add(key, stream);
                ref var sameSsrc = ref CollectionsMarshal.GetValueRefOrAddDefault(_bySsrc, ssrc, out _);
                (sameSsrc ??= new List<RtpStreamState>(1)).Add(stream);
                if (slot >= 0)
                {
                    ref Held h = ref v.Pending![slot];
                    h.Used = false;
                    stream.FirstPayloadType = h.Info.PayloadType;
                    Feed(stream, h.Ts, h.Info, bound);
                }
                else stream.FirstPayloadType = pt;
            }
            last = stream;
        }
        var info = new RtpPacketInfo(seq, ReadTimestamp(payload), (payload[1] & 0x80) != 0, pt, length, p.IpVersion == 6, 0, frame);
        Feed(stream, ts, info, bound);
    }

    /// <summary>
    /// Ends what is over at capture time <paramref name="nowNs"/>: streams idle for <see cref="VoipTrackerOptions.StreamIdleNs"/>
    /// (in order of their first packet), transactions past their linger, calls past their linger or idle time.
    /// Runs every <see cref="VoipTrackerOptions.SweepIntervalNs"/> of capture time, on the stage's thread.
    /// </summary>
    public void Sweep(long nowNs)
    {
        StatisticsRunner?.Barrier();
        _nextSweepNs = nowNs + _options.SweepIntervalNs;
        long cutoff = nowNs - _options.StreamIdleNs;
        var idle = _idle;
        long minFirst = long.MaxValue;
        foreach (var s in _open)
        {
            if (s.Stats.LastArrivalNs < cutoff) idle.Add(s);
            else if (s.Stats.FirstArrivalNs < minFirst) minFirst = s.Stats.FirstArrivalNs;
        }
        if (idle.Count > 0)
        {
            idle.Sort(ByFirstPacketComparer);
            foreach (var s in idle) EndStream(s);
            idle.Clear();
            if (idle.Capacity > 4096) idle.Capacity = 4096;
        }
        _sip.Sweep(nowNs);
        _sip.EndCalls(nowNs, _options.CallLingerNs, _options.CallIdleNs, HasOpenMedia);
        // No stream still open, nor any starting from now on, adds to seconds before these: their peak is final.
        _peak.Fold(Math.Min(minFirst, cutoff));
    }

    // States of ended streams, for new ones: once the first streams ended a new stream allocates neither its state nor
    // its bandwidth ring (about 2.3 KB). Bounded: after a burst of ends the rest are left to the collector.
    private readonly Stack<RtpStreamState> _spareStreams = new();
    private const int MaxSpareStreams = 256;
    // Streams found idle at a sweep (reused: a sweep every 10 s of capture time would otherwise make a list each time).
    private readonly List<RtpStreamState> _idle = new();
    private static readonly Comparison<RtpStreamState> ByFirstPacketComparer = ByFirstPacket;

    private static readonly Func<SipCall, bool> HasOpenMedia = c => c.MediaState is CallMedia { Open.Count: > 0 };

    private static int ByFirstPacket(RtpStreamState a, RtpStreamState b)
    {
        int c = a.Stats.FirstArrivalNs.CompareTo(b.Stats.FirstArrivalNs);
        return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
    }

    /// <summary>A stream ends: its state is freed and, when it is a stream (its flow proved RTP or an SDP announced it), its record queued.</summary>
    private void EndStream(RtpStreamState s)
    {
        StatisticsRunner?.Barrier(); // its record reads its statistics, and its state serves a later stream
        s.Ended = true;
        _streams.Remove(s.Key);
        _open.Remove(s.Node!);
        s.Node = null;
        var fv = s.Flow;
        if (ReferenceEquals(fv.Last0, s)) fv.Last0 = null;
        if (ReferenceEquals(fv.Last1, s)) fv.Last1 = null;
        if (_bySsrc.TryGetValue(s.Key.Ssrc, out var same))
        {
            same.Remove(s);
            if (same.Count == 0) _bySsrc.Remove(s.Key.Ssrc);
        }
        var media = s.Call?.MediaState as CallMedia;
        media?.Open.Remove(s);
        if (s.Call is { } call && s.Stats.LastArrivalNs > call.LastMediaNs) call.LastMediaNs = s.Stats.LastArrivalNs;
        // Keep a stream when its flow proved to be RTP or an SDP announced it: stray datagrams that
        // merely start with version 2 bits are not streams.
        if (!s.Stats.HasPackets || !(fv.IsRtp || s.Call is not null || s.Announced)) { Spare(s); return; }
        var record = VoipResultBuilder.ToRecord(s, ++_streamIds);
        Spare(s);
        _peak.Add(record);
        media?.Ended.Add((s.Stats.FirstArrivalNs, s.Sequence, record));
        Enqueue(new EndedRecord(record, null, null));
    }

    /// <summary>
    /// An ended stream's state, with its bandwidth ring, serves the next new stream: nothing refers to it once its record is
    /// made (the flow's last stream, the open list, the look-ups by key and SSRC and its call's open streams let it go first).
    /// </summary>
    private void Spare(RtpStreamState s)
    {
        if (_spareStreams.Count >= MaxSpareStreams) return;
        s.Call = null;
        s.Endpoint = null;
        s.Payloads = null;
        _spareStreams.Push(s);
    }

    /// <summary>A call left the SIP analyzer (linger or idle time over, or evicted): streams it still has end first, then its record is queued.</summary>
    private void OnCallLeft(SipCall call)
    {
        if (call.MediaState is CallMedia { Open.Count: > 0 } media)
        {
            StatisticsRunner?.Barrier(); // the streams are sorted by their first packet
            var open = media.Open.ToList();
            open.Sort(ByFirstPacket);
            foreach (var s in open) EndStream(s);
        }
        Enqueue(new EndedRecord(null, VoipResultBuilder.BuildCall(call, TakeMedia(call)), null));
    }

    /// <summary>The records of a call's ended streams in order of first packet, and the call's media state freed.</summary>
    private static List<RtpStreamRecord> TakeMedia(SipCall call)
    {
        var media = call.MediaState as CallMedia;
        call.MediaState = null;
        return SortedRecords(media?.Ended);
    }

    private static List<RtpStreamRecord> SortedRecords(List<(long First, long Sequence, RtpStreamRecord Record)>? ended)
    {
        if (ended is null || ended.Count == 0) return [];
        var list = ended.ToList();
        list.Sort((a, b) => a.First != b.First ? a.First.CompareTo(b.First) : a.Sequence.CompareTo(b.Sequence));
        return list.ConvertAll(e => e.Record);
    }

    /// <summary>
    /// Ends the run at <paramref name="captureEndNs"/>: streams still open end in order of their first packet, open
    /// transactions close, calls still open leave in order of their first INVITE. Every record is queued for
    /// <see cref="TakeEnded"/>.
    /// </summary>
    public void Complete(long captureEndNs)
    {
        StatisticsRunner?.Barrier();
        var rest = _open.ToList();
        rest.Sort(ByFirstPacket);
        foreach (var s in rest) EndStream(s);
        var sip = _sip.Complete(captureEndNs);
        foreach (var c in sip.Calls) Enqueue(new EndedRecord(null, VoipResultBuilder.BuildCall(c, TakeMedia(c)), null));
        _peak.Fold(long.MaxValue);
        OptionsPings = sip.OptionsPings;
    }

    /// <summary>OPTIONS summaries per (requester, responder), set by <see cref="Complete"/>.</summary>
    public IReadOnlyList<OptionsPingStat> OptionsPings { get; private set; } = [];

    /// <summary>
    /// Records of what is open now, without ending anything (a live flush): open streams numbered after the ended
    /// ones in order of their first packet, copies of open calls with their streams, open transactions, and the
    /// summary figures as if everything ended now. A later <see cref="Complete"/> is not affected.
    /// </summary>
    public VoipOpenSnapshot Snapshot(long captureEndNs)
    {
        StatisticsRunner?.Barrier();
        var rest = _open.ToList();
        rest.Sort(ByFirstPacket);
        var streams = new List<RtpStreamRecord>(rest.Count);
        var provisional = new Dictionary<CallMedia, List<(long, long, RtpStreamRecord)>>(ReferenceEqualityComparer.Instance);
        int id = _streamIds;
        foreach (var s in rest)
        {
            if (!s.Stats.HasPackets || !(s.Flow.IsRtp || s.Call is not null || s.Announced)) continue;
            var r = SnapshotRecordOf(s, ++id);
            streams.Add(r);
            if (s.Call?.MediaState is CallMedia cm)
            {
                if (!provisional.TryGetValue(cm, out var l)) provisional[cm] = l = new();
                l.Add((s.Stats.FirstArrivalNs, s.Sequence, r));
            }
        }
        var sip = _sip.Snapshot(captureEndNs);
        var calls = new List<CallRecord>(sip.Calls.Count);
        foreach (var copy in sip.Calls)
        {
            // A copy still names the open call's media state (read here, then dropped from the copy).
            var media = new List<(long First, long Sequence, RtpStreamRecord Record)>();
            if (copy.MediaState is CallMedia m)
            {
                media.AddRange(m.Ended);
                if (provisional.TryGetValue(m, out var l)) media.AddRange(l);
            }
            copy.MediaState = null;
            calls.Add(VoipResultBuilder.BuildCall(copy, SortedRecords(media)));
        }
        var (kbps, at) = _peak.Peek(streams);
        return new VoipOpenSnapshot(streams, calls, _sip.OpenTransactions(), sip.OptionsPings, kbps, at);
    }

    /// <summary>Runs the streams' statistics on other threads (the sharded engine); null: on this stage's thread.</summary>
    internal IRtpStatisticsRunner? StatisticsRunner { get; set; }

    /// <summary>Snapshots reuse the record of a stream unchanged since the last one (false: every record made again; tests compare both).</summary>
    internal bool ReuseSnapshotRecords { get; set; } = true;
    /// <summary>Stream records a snapshot took over from the one before (tests).</summary>
    internal long SnapshotRecordsReused { get; private set; }

    /// <summary>A snapshot's record of an open stream: made again only when the stream changed since the last snapshot.</summary>
    private RtpStreamRecord SnapshotRecordOf(RtpStreamState s, int id)
    {
        if (ReuseSnapshotRecords && s.SnapshotRecord is { } cached && s.SnapshotPackets == s.Stats.Packets
            && s.SnapshotRtcpReports == s.RtcpReports && s.SnapshotRtcpMux == s.Flow.RtcpPackets)
        {
            SnapshotRecordsReused++;
            return cached.StreamId == id ? cached : s.SnapshotRecord = cached with { StreamId = id };
        }
        var r = VoipResultBuilder.ToRecord(s, id);
        // The stream goes on after the snapshot: its record gets a copy of the series, which the VoIP
        // stage keeps adding to while the snapshot is written on another thread.
        if (r.TimeSeries is { } series) r = r with { TimeSeries = series.Copy() };
        s.SnapshotRecord = r;
        s.SnapshotPackets = s.Stats.Packets;
        s.SnapshotRtcpReports = s.RtcpReports;
        s.SnapshotRtcpMux = s.Flow.RtcpPackets;
        return r;
    }

    /// <summary>Peak simultaneous calls (as the messages came) and peak media rate over the streams ended so far, with their times.</summary>
    public (int PeakCalls, long PeakCallsAtNs, double PeakKbps, long PeakKbpsAtNs) Peaks() =>
        (_sip.PeakConcurrentCalls, _sip.PeakConcurrentCallsAtNs, _peak.Kbps, _peak.AtNs);

    private void Enqueue(in EndedRecord r)
    {
        var stamped = r with { Packet = PacketsSeen };
        lock (_endedGate) _ended.Add(stamped);
    }

    /// <summary>
    /// Hands the records ended so far to <paramref name="sink"/>, in the order they ended, and forgets them. Call it
    /// on the engine's thread (never the stage's): the sink is called there; calls get their service and applications
    /// from <see cref="VoipTrackerOptions.ClassifyCall"/> here. Returns the number of records handed over.
    /// </summary>
    /// <param name="upToPacket">Only the records that ended by this packet (<see cref="PacketsSeen"/>); the later ones
    /// stay for the next call. The stage on another thread may be anywhere beyond it, and the records taken do not depend on where.</param>
    public int TakeEnded(IAuditRecordSink sink, long upToPacket = long.MaxValue)
    {
        List<EndedRecord> batch;
        lock (_endedGate)
        {
            if (_ended.Count == 0) return 0;
            // Records end in packet order: those taken now are a prefix.
            int take = _ended.Count;
            if (_ended[^1].Packet > upToPacket)
            {
                take = 0;
                while (take < _ended.Count && _ended[take].Packet <= upToPacket) take++;
                if (take == 0) return 0;
            }
            if (take == _ended.Count)
            {
                batch = _ended;
                _ended = _spare;
            }
            else
            {
                batch = _spare;
                batch.AddRange(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ended)[..take]);
                _ended.RemoveRange(0, take);
            }
        }
        var classify = _options.ClassifyCall;
        foreach (var r in batch)
        {
            if (r.Stream is { } s) sink.OnStream(s);
            else if (r.Call is { } c)
            {
                if (classify?.Invoke(c.Sip) is { } cls) c = c with { Service = cls.Service, Applications = cls.Applications };
                sink.OnCall(c);
            }
            else if (r.Transaction is { } t) sink.OnTransaction(t);
        }
        int n = batch.Count;
        batch.Clear();
        if (batch.Capacity > 4096) batch.Capacity = 4096;
        lock (_endedGate) _spare = batch;
        return n;
    }

    /// <summary>Streams and calls still open at a live snapshot, as records (the calls with their streams so far).</summary>
    public sealed record VoipOpenSnapshot(IReadOnlyList<RtpStreamRecord> Streams, IReadOnlyList<CallRecord> Calls,
        IReadOnlyList<SipTransactionStat> Transactions, IReadOnlyList<OptionsPingStat> OptionsPings, double PeakMediaIpKbps, long PeakMediaIpKbpsAtNs);

    /// <summary>An ended record and <see cref="PacketsSeen"/> when it ended.</summary>
    private readonly record struct EndedRecord(RtpStreamRecord? Stream, CallRecord? Call, SipTransactionStat? Transaction, long Packet = 0);

    private static int FindHeld(FlowVoip v, int side, uint ssrc)
    {
        if (v.Pending is not { } pending) return -1;
        for (int i = side * 2; i < side * 2 + 2; i++)
            if (pending[i].Used && pending[i].Ssrc == ssrc) return i;
        return -1;
    }

    private static void Hold(FlowVoip v, int side, uint ssrc, long ts, in RtpPacketInfo info)
    {
        int i = side * 2;
        var pending = v.Pending ??= new Held[4];
        // Keep the newer of the two held packets; replace the older (or a free slot).
        if (pending[i].Used && (!pending[i + 1].Used || pending[i + 1].Ts < pending[i].Ts)) i++;
        pending[i] = new Held { Used = true, Ssrc = ssrc, Ts = ts, Info = info };
    }

    /// <summary>The fields <see cref="RtpProbe.TryReadRtpHeader"/> reads, from a header it already accepted on the whole datagram.</summary>
    private static void ReadCheckedRtpHeader(ReadOnlySpan<byte> rtp, out uint ssrc, out ushort seq, out byte payloadType)
    {
        ssrc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(rtp[8..]);
        seq = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(rtp[2..]);
        payloadType = (byte)(rtp[1] & 0x7F);
    }

    private static uint ReadTimestamp(ReadOnlySpan<byte> rtp) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(rtp[4..]);

    private void Feed(RtpStreamState s, long ts, in RtpPacketInfo raw, SipMediaBinding? bound)
    {
        if (s.CachedPayloadType != raw.PayloadType || s.CachedMediaVersion != _sip.MediaVersion)
        {
            s.CachedMediaVersion = _sip.MediaVersion;
            s.CachedPayloadType = raw.PayloadType;
            if (bound is { } b)
            {
                s.Announced = true;
                if (s.Call is null && b.Retired) s.Payloads ??= b.Payloads;
                else if (s.Call is null)
                {
                    s.Call = b.Call; s.Endpoint = b.Endpoint;
                    ((CallMedia)(b.Call.MediaState ??= new CallMedia())).Open.Add(s);
                }
                if (!b.Retired) s.Payloads = b.Payloads;
            }
            string? name = null;
            uint sdpClock = 0;
            // Indexed: a foreach over the interface would allocate an enumerator each time an SDP anywhere changes.
            if (s.Payloads is { } payloads)
                for (int i = 0; i < payloads.Count; i++)
                {
                    var pl = payloads[i];
                    if (pl.PayloadType == raw.PayloadType) { name = pl.EncodingName; sdpClock = (uint)Math.Max(0, pl.ClockRate); break; }
                }
            s.CachedClock = RtpClock.Resolve(raw.PayloadType, name, sdpClock);
            if (s.Codec is null && raw.PayloadType == s.FirstPayloadType)
            {
                s.Codec = name is null ? StaticCodecName(raw.PayloadType) : CodecNames.Normalise(name);
                s.ClockRate = s.CachedClock != 0 ? s.CachedClock : sdpClock;
            }
        }
        var info = new RtpPacketInfo(raw.SequenceNumber, raw.Timestamp, raw.Marker, raw.PayloadType, raw.RtpLength, raw.IsIPv6, s.CachedClock, raw.FrameNumber);
        if (StatisticsRunner is { } runner) runner.Add(s, ts, in info);
        else s.Stats.Add(ts, in info);
    }

    private void RefreshBindings(Flow flow, FlowVoip v)
    {
        v.MediaVersion = _sip.MediaVersion;
        v.Media0 = _sip.TryFindMedia(flow.Address(0), flow.Port(0), out var b0) ? b0 : null;
        v.Media1 = _sip.TryFindMedia(flow.Address(1), flow.Port(1), out var b1) ? b1 : null;
    }

    private void OnRtcp(ReadOnlySpan<byte> payload, long ts)
    {
        var reader = new RtcpReader(payload);
        while (reader.TryNext(out byte type, out uint sender, out uint ntpMiddle, out var blocks, out int count))
        {
            if (type == RtcpReader.SenderReport)
            {
                _senderReports[(sender, ntpMiddle)] = ts;
                if (_senderReports.Count > MaxSenderReports)
                {
                    // Bounded: old sender reports are no longer echoed by receivers; forgetting them costs at most the round trips of the next few reports.
                    Anomalies.Add("rtcp_sender_reports_forgotten", _senderReports.Count);
                    _senderReports.Clear();
                }
            }
            for (int i = 0; i < count; i++)
            {
                var block = RtcpReader.ReadBlock(sender, blocks, i);
                if (_bySsrc.TryGetValue(block.SourceSsrc, out var same))
                    foreach (var s in same) ApplyReport(s, block, ts);
            }
        }
    }

    private void ApplyReport(RtpStreamState s, in RtcpReportBlock b, long ts)
    {
        s.RtcpReports++;
        if (s.ClockRate > 0)
        {
            double jitterMs = b.Jitter * 1000.0 / s.ClockRate;
            s.RtcpLastJitterMs = jitterMs;
            if (jitterMs > s.RtcpMaxJitterMs) s.RtcpMaxJitterMs = jitterMs;
        }
        s.RtcpCumulativeLost = b.CumulativeLost;
        double fraction = b.FractionLost * 100.0 / 256;
        if (fraction > s.RtcpMaxFractionLostPct) s.RtcpMaxFractionLostPct = fraction;
        // RFC 3550 §6.4.1: round trip = arrival of this report - LSR - DLSR. With capture times the
        // SR's own arrival stands for LSR, so this is the round trip from the capture point to the
        // reporter and back (the SR's sender is the SSRC the block reports on).
        if (b.LastSr != 0 && _senderReports.TryGetValue((b.SourceSsrc, b.LastSr), out long srTs))
        {
            double rttMs = (ts - srTs) / 1e6 - b.DelaySinceLastSr * 1000.0 / 65536;
            if (rttMs >= 0)
            {
                s.RttSamples++;
                s.RttSumMs += rttMs;
                if (rttMs > s.RttMaxMs) s.RttMaxMs = rttMs;
            }
        }
    }

    /// <summary>Names of the static payload types (RFC 3551 table 4), for streams without SDP.</summary>
    public static string? StaticCodecName(byte pt) => pt switch
    {
        0 => "PCMU", 3 => "GSM", 4 => "G723", 5 or 6 => "DVI4", 7 => "LPC", 8 => "PCMA", 9 => "G722",
        10 or 11 => "L16", 12 => "QCELP", 13 => "CN", 14 => "MPA", 15 => "G728", 16 or 17 => "DVI4",
        18 => "G729", 19 => "CN", 25 => "CelB", 26 => "JPEG", 28 => "nv", 31 => "H261", 32 => "MPV", 33 => "MP2T", 34 => "H263",
        _ => null,
    };
}
