using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Pipeline;

/// <summary>
/// One RTP stream (Wireshark's key: source, destination, ports, SSRC) with its statistics: a row of
/// rtp_streams.csv. Wireshark's own figures are kept beside ours where they differ on purpose.
/// </summary>
public sealed record RtpStreamRecord
{
    public required int StreamId { get; init; }
    public required string CallId { get; init; }
    public required uint Ssrc { get; init; }
    public required IpAddress SrcIp { get; init; }
    public required ushort SrcPort { get; init; }
    public required IpAddress DstIp { get; init; }
    public required ushort DstPort { get; init; }
    public required ushort Vlan { get; init; }
    public required byte PayloadType { get; init; }
    public required string Codec { get; init; }
    public required uint ClockRate { get; init; }
    public required long FirstSeenNs { get; init; }
    public required long LastSeenNs { get; init; }
    public required long Packets { get; init; }
    /// <summary>Distinct sequence numbers the stream's range covers.</summary>
    public required long Expected { get; init; }
    /// <summary>Expected minus distinct packets received; never negative.</summary>
    public required long Lost { get; init; }
    public required double LostPct { get; init; }
    public required long Duplicates { get; init; }
    public required long OutOfOrder { get; init; }
    public required double MaxDeltaMs { get; init; }
    public required double MeanDeltaMs { get; init; }
    public required double MaxJitterMs { get; init; }
    public required double MeanJitterMs { get; init; }
    public required double IpKbps { get; init; }
    public required double EthKbps { get; init; }
    public required double PeakIpKbps { get; init; }
    /// <summary>The headline MOS: as heard behind the adaptive jitter buffer (<see cref="MosAdapt"/>).</summary>
    public required double Mos { get; init; }
    public required bool SdpMatched { get; init; }
    /// <summary>Wireshark's expected and lost (lost = expected - packets, negative with duplicates).</summary>
    public required long WiresharkExpected { get; init; }
    public required long WiresharkLost { get; init; }
    public required long SequenceErrors { get; init; }
    public required RtpLossBursts LossBursts { get; init; }
    /// <summary>Direction within its call: "out" (caller to callee), "in" (callee to caller), "" without a call.</summary>
    public required string CallDirection { get; init; }
    public required int RtcpReports { get; init; }
    public required double RtcpJitterMs { get; init; }
    public required int RtcpCumulativeLost { get; init; }
    public required double RtcpMaxFractionLostPct { get; init; }
    public required double RtcpRttMs { get; init; }
    public required double RtcpRttMaxMs { get; init; }
    /// <summary>Bytes at the IP layer after the first packet (the numerator of the mean bandwidth).</summary>
    public required long IpBytesAfterFirst { get; init; }
    public required RtpTimeSeries? TimeSeries { get; init; }
    /// <summary>MOS from network loss only (no jitter buffer): the figure rtp_streams.csv called mos before.</summary>
    public required double MosNetwork { get; init; }
    /// <summary>MOS behind the fixed 50 ms jitter buffer (<see cref="JitterBufferModel.Fixed1Ms"/>).</summary>
    public required double MosF1 { get; init; }
    /// <summary>MOS behind the fixed 200 ms jitter buffer (<see cref="JitterBufferModel.Fixed2Ms"/>).</summary>
    public required double MosF2 { get; init; }
    /// <summary>MOS behind the adaptive jitter buffer (equal to <see cref="Mos"/>).</summary>
    public required double MosAdapt { get; init; }
    /// <summary>Distinct packets that came too late for the fixed 50 ms, fixed 200 ms and adaptive buffers.</summary>
    public required long LateF1 { get; init; }
    public required long LateF2 { get; init; }
    public required long LateAdapt { get; init; }
    /// <summary>RTCP packets on the stream's own port pair, both directions (RTCP multiplexed with RTP, RFC 5761); 0 when RTCP used its own port.</summary>
    public required long RtcpMuxPackets { get; init; }
    /// <summary>flow_id of the UDP flow that carries the stream (0 when unknown).</summary>
    public int FlowId { get; init; }
}

/// <summary>One SIP call with its media: a row of calls.csv.</summary>
public sealed record CallRecord
{
    public required SipCall Sip { get; init; }
    public required string Service { get; init; }
    public required string Applications { get; init; }
    public required string Codec { get; init; }
    public required IReadOnlyList<RtpStreamRecord> Streams { get; init; }
    /// <summary>Mean IP-layer kbit/s of the media the caller sent (out) and received (in); -1 without media that way.</summary>
    public required double MediaIpKbpsOut { get; init; }
    public required double MediaIpKbpsIn { get; init; }
    public required double MediaEthKbpsOut { get; init; }
    public required double MediaEthKbpsIn { get; init; }
    public required double PeakIpKbpsOut { get; init; }
    public required double PeakIpKbpsIn { get; init; }
    public required double MaxJitterMs { get; init; }
    /// <summary>The worse of <see cref="LostPctOut"/> and <see cref="LostPctIn"/>; 0 without RTP.</summary>
    public required double LostPct { get; init; }
    /// <summary>Lost packets of the caller's streams over their expected packets, percent; -1 without media that way.</summary>
    public required double LostPctOut { get; init; }
    /// <summary>Lost packets of the callee's streams over their expected packets, percent; -1 without media that way.</summary>
    public required double LostPctIn { get; init; }
    /// <summary>Lowest stream headline MOS (jitter buffer, <see cref="RtpStreamRecord.Mos"/>), -1 without RTP.</summary>
    public required double Mos { get; init; }
    /// <summary>Lowest stream network-only MOS, -1 without RTP.</summary>
    public required double MosNetwork { get; init; }
    /// <summary>Clock rates of <see cref="Codec"/>'s names, in the same order, ';'-joined (0 when unknown).</summary>
    public required string CodecClockRate { get; init; }
    /// <summary>RTP flowed in one direction only.</summary>
    public required bool OneWay { get; init; }
    /// <summary>flow_id of the flow that carried the call's first INVITE (0 when unknown).</summary>
    public int FlowId { get; init; }
}

/// <summary>Capture-wide VoIP facts for the console and the report.</summary>
public sealed record VoipSummary
{
    public required int PeakConcurrentCalls { get; init; }
    public required long PeakConcurrentCallsAtNs { get; init; }
    public required double PeakMediaIpKbps { get; init; }
    public required long PeakMediaIpKbpsAtNs { get; init; }
    public required int SipTlsFlows { get; init; }
    public required IReadOnlyList<OptionsPingStat> OptionsPings { get; init; }
    public required IReadOnlyList<SipTransactionStat> Transactions { get; init; }
    public required long SipMessages { get; init; }
    /// <summary>SIP messages Wireshark would mark as resent, capture-wide (tshark -z sip,stat's "resent").</summary>
    public required long SipRetransmissions { get; init; }
}
