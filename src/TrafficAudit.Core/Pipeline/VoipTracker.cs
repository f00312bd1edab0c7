using System.Runtime.InteropServices;
using TrafficAudit.Analyzers;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline;

/// <summary>Wireshark's RTP stream key: source, destination, ports and SSRC.</summary>
public readonly record struct RtpStreamKey(IpAddress Src, ushort SrcPort, IpAddress Dst, ushort DstPort, uint Ssrc);

/// <summary>One RTP stream being measured, and what SDP and RTCP said about it.</summary>
public sealed class RtpStreamState(RtpStreamKey key, Flow flow, long sequence)
{
    public RtpStreamKey Key { get; } = key;
    public Flow Flow { get; } = flow;
    public long Sequence { get; } = sequence;
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
    internal int CachedMediaVersion = -1;
    internal byte CachedPayloadType = 0xFF;
    internal uint CachedClock;
    internal IReadOnlyList<SdpPayload>? Payloads;

    // What the far end reported about this stream in RTCP receiver/sender reports.
    public int RtcpReports;
    public double RtcpMaxJitterMs = -1;
    public double RtcpLastJitterMs = -1;
    public int RtcpCumulativeLost;
    public double RtcpMaxFractionLostPct;
    public int RttSamples;
    public double RttSumMs;
    public double RttMaxMs = -1;
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
    private readonly Dictionary<RtpStreamKey, RtpStreamState> _streams = new();
    // RTCP SRs seen: (sender SSRC, middle 32 bits of NTP) -> capture time, for LSR/DLSR round trips.
    private readonly Dictionary<(uint Ssrc, uint Ntp), long> _senderReports = new();
    // Streams by SSRC, for RTCP report blocks (which name only the SSRC): no scan over every stream per block.
    private readonly Dictionary<uint, List<RtpStreamState>> _bySsrc = new();
    private long _streamSequence;

    /// <summary>RTP streams (SSRCs) measured per flow; packets of further SSRCs count in the flow only (<c>rtp_flow_ssrc_limit</c>).</summary>
    public const int MaxStreamsPerFlow = 64;
    /// <summary>RTP streams tied to one call by its SDP; packets of further streams count in their flow only (<c>rtp_call_ssrc_limit</c>).</summary>
    public const int MaxStreamsPerCall = 256;
    /// <summary>RTCP sender reports remembered for LSR/DLSR round trips; past it the table starts anew (<c>rtcp_sender_reports_forgotten</c> counts the reports forgotten).</summary>
    public const int MaxSenderReports = 100_000;

    /// <param name="anomalies">Counters of this stage only: it may run on its own thread; the engine merges them at the end.</param>
    public VoipTracker(AnomalyCounters anomalies)
    {
        Anomalies = anomalies;
        _sip = new SipAnalyzer(anomalies);
    }

    public AnomalyCounters Anomalies { get; }

    public SipAnalyzer Sip => _sip;
    public IEnumerable<RtpStreamState> Streams => _streams.Values;

    /// <summary>One TCP segment of a flow that may carry SIP.</summary>
    public void OnTcp(in VoipPacket p, ReadOnlySpan<byte> payload) =>
        _sip.OnTcp(p.TimestampNs, p.Src, p.SrcPort, p.Dst, p.DstPort, p.TcpSeq, p.TcpFlags, payload, p.Frame);

    /// <summary>Per-flow VoIP state: last stream per direction and the SDP bindings of its two endpoints.</summary>
    private sealed class FlowVoip
    {
        public RtpStreamState? Last0, Last1;
        public int MediaVersion = -1;
        public SipMediaBinding? Media0, Media1;
        // On a flow not yet shown to be RTP, the first packet of a new SSRC is held here until a second
        // one with the same SSRC follows, so single stray datagrams (DNS, NTP...) never create a stream.
        // Two slots per direction, for senders that interleave two sources.
        public readonly Held[] Pending = new Held[4];
        /// <summary>Streams created on this flow (both directions), against <see cref="MaxStreamsPerFlow"/>.</summary>
        public int Streams;
    }

    private struct Held
    {
        public bool Used;
        public uint Ssrc;
        public long Ts;
        public RtpPacketInfo Info;
    }

    /// <summary>
    /// One UDP datagram. <paramref name="p"/> carries the flow's hints as they stood when the packet
    /// was decoded (the decoding stage may run ahead on another thread), so results never depend on timing.
    /// </summary>
    public void OnUdp(Flow flow, in VoipPacket p, ReadOnlySpan<byte> payload)
    {
        long ts = p.TimestampNs, frame = p.Frame;
        int side = p.Side;
        if (p.FlowIsSip || !p.FlowIsRtp) _sip.OnUdp(ts, p.Src, p.SrcPort, p.Dst, p.DstPort, payload, frame);
        if (p.FlowIsSip) return;

        var v = flow.Voip as FlowVoip;
        if (_sip.MediaVersion > 0 && (v is null || v.MediaVersion != _sip.MediaVersion))
        {
            v ??= new FlowVoip();
            flow.Voip = v;
            RefreshBindings(flow, v);
        }
        // SDP said this address:port now takes T.38 (UDPTL): count it for the call, it is not RTP.
        SipMediaBinding? toward = v is null ? null : side == 0 ? v.Media1 : v.Media0;
        // Where only the sender's SDP is known (symmetric RTP), its binding still ties the stream to the call.
        SipMediaBinding? bound = toward ?? (v is null ? null : side == 0 ? v.Media0 : v.Media1);
        if (toward is { IsT38: true } t38)
        {
            flow.T38Packets++;
            t38.Call.T38Packets++;
            return;
        }

        if (payload.Length < 8 || (payload[0] >> 6) != 2) return;
        // RTCP on its own port, or multiplexed on the RTP port (RFC 5761 §4: second byte 192-223): the
        // reports of this session, never an RTP stream.
        if (RtpProbe.IsRtcpPacketType(payload))
        {
            if (RtpProbe.FirstRtcpLengthFits(payload)) flow.RtcpPackets++;
            if (RtpProbe.IsPlainRtcp(payload)) OnRtcp(payload, ts);
            return;
        }
        if (p.FlowRtpDecided && !p.FlowIsRtp && bound is null) return;
        if (!RtpProbe.TryReadRtpHeader(payload, out uint ssrc, out ushort seq, out byte pt)) return;

        v ??= (FlowVoip)(flow.Voip ??= new FlowVoip());
        ref RtpStreamState? last = ref side == 0 ? ref v.Last0 : ref v.Last1;
        RtpStreamState? stream = last is not null && last.Key.Ssrc == ssrc ? last : null;
        if (stream is null)
        {
            var key = new RtpStreamKey(p.Src, p.SrcPort, p.Dst, p.DstPort, ssrc);
            if (!_streams.TryGetValue(key, out stream))
            {
                var first = new RtpPacketInfo(seq, ReadTimestamp(payload), (payload[1] & 0x80) != 0, pt, payload.Length, p.IpVersion == 6, 0, frame);
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
                if (bound is not null && bound.Call.RtpStreamCount >= MaxStreamsPerCall) { Anomalies.Increment("rtp_call_ssrc_limit"); return; }
                v.Streams++;
                if (bound is not null) bound.Call.RtpStreamCount++;
                stream = new RtpStreamState(key, flow, _streamSequence++) { IsIPv6 = p.IpVersion == 6 };
                _streams.Add(key, stream);
                ref var sameSsrc = ref CollectionsMarshal.GetValueRefOrAddDefault(_bySsrc, ssrc, out _);
                (sameSsrc ??= new List<RtpStreamState>(1)).Add(stream);
                if (slot >= 0)
                {
                    ref Held h = ref v.Pending[slot];
                    h.Used = false;
                    stream.FirstPayloadType = h.Info.PayloadType;
                    Feed(stream, h.Ts, h.Info, bound);
                }
                else stream.FirstPayloadType = pt;
            }
            last = stream;
        }
        var info = new RtpPacketInfo(seq, ReadTimestamp(payload), (payload[1] & 0x80) != 0, pt, payload.Length, p.IpVersion == 6, 0, frame);
        Feed(stream, ts, info, bound);
    }

    private static int FindHeld(FlowVoip v, int side, uint ssrc)
    {
        for (int i = side * 2; i < side * 2 + 2; i++)
            if (v.Pending[i].Used && v.Pending[i].Ssrc == ssrc) return i;
        return -1;
    }

    private static void Hold(FlowVoip v, int side, uint ssrc, long ts, in RtpPacketInfo info)
    {
        int i = side * 2;
        // Keep the newer of the two held packets; replace the older (or a free slot).
        if (v.Pending[i].Used && (!v.Pending[i + 1].Used || v.Pending[i + 1].Ts < v.Pending[i].Ts)) i++;
        v.Pending[i] = new Held { Used = true, Ssrc = ssrc, Ts = ts, Info = info };
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
                if (s.Call is null) { s.Call = b.Call; s.Endpoint = b.Endpoint; }
                s.Payloads = b.Payloads;
            }
            string? name = null;
            uint sdpClock = 0;
            if (s.Payloads is not null)
                foreach (var pl in s.Payloads)
                    if (pl.PayloadType == raw.PayloadType) { name = pl.EncodingName; sdpClock = (uint)Math.Max(0, pl.ClockRate); break; }
            s.CachedClock = RtpClock.Resolve(raw.PayloadType, name, sdpClock);
            if (s.Codec is null && raw.PayloadType == s.FirstPayloadType)
            {
                s.Codec = name is null ? StaticCodecName(raw.PayloadType) : CodecNames.Normalise(name);
                s.ClockRate = s.CachedClock != 0 ? s.CachedClock : sdpClock;
            }
        }
        var info = new RtpPacketInfo(raw.SequenceNumber, raw.Timestamp, raw.Marker, raw.PayloadType, raw.RtpLength, raw.IsIPv6, s.CachedClock, raw.FrameNumber);
        s.Stats.Add(ts, in info);
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
