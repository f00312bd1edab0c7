using System.Globalization;
using CsvHelper;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>Fixed-decimal, invariant formatting shared by the CSV rows.</summary>
internal static class Fmt
{
    public static string F(double v, int decimals) => double.IsFinite(v) ? FixedDecimal.Format(v, decimals) : "";
    /// <summary>Empty for "not measured" (negative sentinel).</summary>
    public static string Opt(double v, int decimals) => v < 0 ? "" : F(v, decimals);
    public static string Opt(double? v, int decimals) => v is { } x ? F(x, decimals) : "";
    public static string Bool(bool b) => b ? "true" : "false";
}

/// <summary>
/// A row of rtp_streams.csv. The first 27 columns are the contract: stream_id; call_id (empty when no
/// SDP tied the stream to a call); ssrc (0x + 8 upper-case hex digits); src_ip, src_port, dst_ip,
/// dst_port; payload_type (of the first packet); codec (rtpmap name or static name); clock_rate (Hz,
/// 0 when unknown: no jitter then, as in Wireshark); first_seen, last_seen (UTC ISO 8601 µs); packets
/// (received, duplicates included); expected (distinct sequence numbers the stream spans); lost
/// (expected - distinct received, never negative); lost_pct; duplicates; out_of_order; max_delta_ms,
/// mean_delta_ms, max_jitter_ms, mean_jitter_ms (computed exactly as Wireshark's RTP Stream Analysis,
/// 3 decimals); ip_kbps, eth_kbps (mean bandwidth at the IP and Ethernet layers, kbit/s, 1 decimal);
/// peak_ip_kbps (highest 1-second bucket of the stream's own time, never below the mean ip_kbps); mos
/// (E-model estimate behind the adaptive jitter buffer, equal to mos_adapt; see README); sdp_matched. Added:
/// wireshark_expected and wireshark_lost (Wireshark's figures: lost = expected - packets, negative with
/// duplicates), sequence_errors, loss_bursts, longest_burst, call_direction (out: caller to callee, in:
/// callee to caller), vlan, rtcp_reports, rtcp_jitter_ms (highest jitter the receiver reported),
/// rtcp_cumulative_lost, rtcp_max_fraction_lost_pct, rtcp_rtt_ms and rtcp_rtt_max_ms (LSR/DLSR round
/// trip from the capture point to the receiver and back); mos_network (E-model from network loss only,
/// no jitter buffer), mos_f1, mos_f2, mos_adapt (behind a fixed 50 ms, a fixed 200 ms and the adaptive
/// jitter buffer of <see cref="Analyzers.Rtp.JitterBufferModel"/>: late packets count as lost), late_f1,
/// late_f2, late_adapt (distinct packets too late for each buffer), rtcp_mux_packets (RTCP packets on the
/// stream's own port pair, both directions: RTCP multiplexed with RTP, RFC 5761). Then flow_id (the flows.csv row of the UDP
/// flow that carries the stream).
/// </summary>
[CsvRecord]
public sealed partial class RtpStreamRow
{
    [CsvColumn("stream_id")] public int StreamId { get; set; }
    [CsvColumn("call_id")] public string CallId { get; set; } = "";
    [CsvColumn("ssrc")] public string Ssrc { get; set; } = "";
    [CsvColumn("src_ip")] public string SrcIp { get; set; } = "";
    [CsvColumn("src_port")] public int SrcPort { get; set; }
    [CsvColumn("dst_ip")] public string DstIp { get; set; } = "";
    [CsvColumn("dst_port")] public int DstPort { get; set; }
    [CsvColumn("payload_type")] public int PayloadType { get; set; }
    [CsvColumn("codec")] public string Codec { get; set; } = "";
    [CsvColumn("clock_rate")] public long ClockRate { get; set; }
    [CsvColumn("first_seen")] public string FirstSeen { get; set; } = "";
    [CsvColumn("last_seen")] public string LastSeen { get; set; } = "";
    [CsvColumn("packets")] public long Packets { get; set; }
    [CsvColumn("expected")] public long Expected { get; set; }
    [CsvColumn("lost")] public long Lost { get; set; }
    [CsvColumn("lost_pct")] public string LostPct { get; set; } = "";
    [CsvColumn("duplicates")] public long Duplicates { get; set; }
    [CsvColumn("out_of_order")] public long OutOfOrder { get; set; }
    [CsvColumn("max_delta_ms")] public string MaxDeltaMs { get; set; } = "";
    [CsvColumn("mean_delta_ms")] public string MeanDeltaMs { get; set; } = "";
    [CsvColumn("max_jitter_ms")] public string MaxJitterMs { get; set; } = "";
    [CsvColumn("mean_jitter_ms")] public string MeanJitterMs { get; set; } = "";
    [CsvColumn("ip_kbps")] public string IpKbps { get; set; } = "";
    [CsvColumn("eth_kbps")] public string EthKbps { get; set; } = "";
    [CsvColumn("peak_ip_kbps")] public string PeakIpKbps { get; set; } = "";
    [CsvColumn("mos")] public string Mos { get; set; } = "";
    [CsvColumn("sdp_matched")] public string SdpMatched { get; set; } = "";
    [CsvColumn("wireshark_expected")] public long WiresharkExpected { get; set; }
    [CsvColumn("wireshark_lost")] public long WiresharkLost { get; set; }
    [CsvColumn("sequence_errors")] public long SequenceErrors { get; set; }
    [CsvColumn("loss_bursts")] public long LossBursts { get; set; }
    [CsvColumn("longest_burst")] public long LongestBurst { get; set; }
    [CsvColumn("burst_histogram")] public string BurstHistogram { get; set; } = "";
    [CsvColumn("call_direction")] public string CallDirection { get; set; } = "";
    [CsvColumn("vlan")] public int Vlan { get; set; }
    [CsvColumn("rtcp_reports")] public int RtcpReports { get; set; }
    [CsvColumn("rtcp_jitter_ms")] public string RtcpJitterMs { get; set; } = "";
    [CsvColumn("rtcp_cumulative_lost")] public int RtcpCumulativeLost { get; set; }
    [CsvColumn("rtcp_max_fraction_lost_pct")] public string RtcpMaxFractionLostPct { get; set; } = "";
    [CsvColumn("rtcp_rtt_ms")] public string RtcpRttMs { get; set; } = "";
    [CsvColumn("rtcp_rtt_max_ms")] public string RtcpRttMaxMs { get; set; } = "";
    [CsvColumn("mos_network")] public string MosNetwork { get; set; } = "";
    [CsvColumn("mos_f1")] public string MosF1 { get; set; } = "";
    [CsvColumn("mos_f2")] public string MosF2 { get; set; } = "";
    [CsvColumn("mos_adapt")] public string MosAdapt { get; set; } = "";
    [CsvColumn("late_f1")] public long LateF1 { get; set; }
    [CsvColumn("late_f2")] public long LateF2 { get; set; }
    [CsvColumn("late_adapt")] public long LateAdapt { get; set; }
    [CsvColumn("rtcp_mux_packets")] public long RtcpMuxPackets { get; set; }
    [CsvColumn("flow_id")] public string FlowId { get; set; } = "";

    public static RtpStreamRow From(RtpStreamRecord s) => From(s, null);

    /// <summary>The row of <paramref name="s"/>; with an anonymizer, addresses and the Call-ID's addresses and users are pseudonyms.</summary>
    public static RtpStreamRow From(RtpStreamRecord s, Anonymizer? anonymizer) => new()
    {
        StreamId = s.StreamId,
        CallId = anonymizer?.Text(s.CallId) ?? s.CallId,
        Ssrc = "0x" + s.Ssrc.ToString("X8", CultureInfo.InvariantCulture),
        SrcIp = anonymizer?.Ip(s.SrcIp) ?? s.SrcIp.ToString(),
        SrcPort = s.SrcPort,
        DstIp = anonymizer?.Ip(s.DstIp) ?? s.DstIp.ToString(),
        DstPort = s.DstPort,
        PayloadType = s.PayloadType,
        Codec = s.Codec,
        ClockRate = s.ClockRate,
        FirstSeen = NsTime.Iso(s.FirstSeenNs),
        LastSeen = NsTime.Iso(s.LastSeenNs),
        Packets = s.Packets,
        Expected = s.Expected,
        Lost = s.Lost,
        LostPct = Fmt.F(s.LostPct, 2),
        Duplicates = s.Duplicates,
        OutOfOrder = s.OutOfOrder,
        MaxDeltaMs = Fmt.F(s.MaxDeltaMs, 3),
        MeanDeltaMs = Fmt.F(s.MeanDeltaMs, 3),
        MaxJitterMs = Fmt.F(s.MaxJitterMs, 3),
        MeanJitterMs = Fmt.F(s.MeanJitterMs, 3),
        IpKbps = Fmt.F(s.IpKbps, 1),
        EthKbps = Fmt.F(s.EthKbps, 1),
        PeakIpKbps = Fmt.F(s.PeakIpKbps, 1),
        Mos = Fmt.F(s.Mos, 2),
        SdpMatched = Fmt.Bool(s.SdpMatched),
        WiresharkExpected = s.WiresharkExpected,
        WiresharkLost = s.WiresharkLost,
        SequenceErrors = s.SequenceErrors,
        LossBursts = s.LossBursts.Bursts,
        LongestBurst = s.LossBursts.LongestBurst,
        BurstHistogram = s.LossBursts.Bursts == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
            $"1:{s.LossBursts.Length1};2:{s.LossBursts.Length2};3-5:{s.LossBursts.Length3To5};6-10:{s.LossBursts.Length6To10};>10:{s.LossBursts.LengthOver10}"),
        CallDirection = s.CallDirection,
        Vlan = s.Vlan,
        RtcpReports = s.RtcpReports,
        RtcpJitterMs = Fmt.Opt(s.RtcpJitterMs, 3),
        RtcpCumulativeLost = s.RtcpCumulativeLost,
        RtcpMaxFractionLostPct = s.RtcpReports > 0 ? Fmt.F(s.RtcpMaxFractionLostPct, 2) : "",
        RtcpRttMs = Fmt.Opt(s.RtcpRttMs, 3),
        RtcpRttMaxMs = Fmt.Opt(s.RtcpRttMaxMs, 3),
        MosNetwork = Fmt.F(s.MosNetwork, 2),
        MosF1 = Fmt.F(s.MosF1, 2),
        MosF2 = Fmt.F(s.MosF2, 2),
        MosAdapt = Fmt.F(s.MosAdapt, 2),
        LateF1 = s.LateF1,
        LateF2 = s.LateF2,
        LateAdapt = s.LateAdapt,
        RtcpMuxPackets = s.RtcpMuxPackets,
        FlowId = s.FlowId > 0 ? s.FlowId.ToString(CultureInfo.InvariantCulture) : "",
    };
}

/// <summary>
/// A row of calls.csv. The first 23 columns are the contract: call_id; from_uri, to_uri; sip_transport
/// (udp, tcp, tls); caller_ip, callee_ip (sender and receiver of the first INVITE); service (of the
/// signalling flow); start (first INVITE, UTC); answered, ended (BYE, CANCEL or a final failure seen);
/// final_status (last final response code); response_100_ms, post_dial_delay_ms (INVITE to first 18x),
/// answer_ms (INVITE to 200), all from the first INVITE; duration_s (200 to BYE, or to the end of the
/// capture); codec; streams (RTP streams tied to the call); media_ip_kbps_out and media_ip_kbps_in (mean
/// IP-layer kbit/s sent by the caller and by the callee); max_jitter_ms; lost_pct (the worse of
/// lost_pct_out and lost_pct_in); mos (lowest stream's headline MOS, behind the adaptive jitter buffer);
/// one_way (RTP in one direction only). Added: caller_port, callee_port, final_reason, end_reason,
/// media_eth_kbps_out/in, peak_ip_kbps_out/in, retransmissions, reinvites, t38 (answer accepted T.38),
/// t38_packets, applications, user_agents, lost_pct_out and lost_pct_in (lost over expected packets of
/// the caller's and of the callee's streams, empty without media that way), mos_network (lowest
/// stream's network-only MOS), codec_clock_rate (clock of each codec name, same order). Then flow_id (the flows.csv row of
/// the flow that carried the first INVITE), evidence_file (with --evidence, the call's pcapng under the
/// output folder, else empty).
/// </summary>
[CsvRecord]
public sealed partial class CallRow
{
    [CsvColumn("call_id")] public string CallId { get; set; } = "";
    [CsvColumn("from_uri")] public string FromUri { get; set; } = "";
    [CsvColumn("to_uri")] public string ToUri { get; set; } = "";
    [CsvColumn("sip_transport")] public string SipTransport { get; set; } = "";
    [CsvColumn("caller_ip")] public string CallerIp { get; set; } = "";
    [CsvColumn("callee_ip")] public string CalleeIp { get; set; } = "";
    [CsvColumn("service")] public string Service { get; set; } = "";
    [CsvColumn("start")] public string Start { get; set; } = "";
    [CsvColumn("answered")] public string Answered { get; set; } = "";
    [CsvColumn("ended")] public string Ended { get; set; } = "";
    [CsvColumn("final_status")] public string FinalStatus { get; set; } = "";
    [CsvColumn("response_100_ms")] public string Response100Ms { get; set; } = "";
    [CsvColumn("post_dial_delay_ms")] public string PostDialDelayMs { get; set; } = "";
    [CsvColumn("answer_ms")] public string AnswerMs { get; set; } = "";
    [CsvColumn("duration_s")] public string DurationS { get; set; } = "";
    [CsvColumn("codec")] public string Codec { get; set; } = "";
    [CsvColumn("streams")] public int Streams { get; set; }
    [CsvColumn("media_ip_kbps_out")] public string MediaIpKbpsOut { get; set; } = "";
    [CsvColumn("media_ip_kbps_in")] public string MediaIpKbpsIn { get; set; } = "";
    [CsvColumn("max_jitter_ms")] public string MaxJitterMs { get; set; } = "";
    [CsvColumn("lost_pct")] public string LostPct { get; set; } = "";
    [CsvColumn("mos")] public string Mos { get; set; } = "";
    [CsvColumn("one_way")] public string OneWay { get; set; } = "";
    [CsvColumn("caller_port")] public int CallerPort { get; set; }
    [CsvColumn("callee_port")] public int CalleePort { get; set; }
    [CsvColumn("final_reason")] public string FinalReason { get; set; } = "";
    [CsvColumn("end_reason")] public string EndReason { get; set; } = "";
    [CsvColumn("media_eth_kbps_out")] public string MediaEthKbpsOut { get; set; } = "";
    [CsvColumn("media_eth_kbps_in")] public string MediaEthKbpsIn { get; set; } = "";
    [CsvColumn("peak_ip_kbps_out")] public string PeakIpKbpsOut { get; set; } = "";
    [CsvColumn("peak_ip_kbps_in")] public string PeakIpKbpsIn { get; set; } = "";
    [CsvColumn("retransmissions")] public int Retransmissions { get; set; }
    [CsvColumn("reinvites")] public int ReInvites { get; set; }
    [CsvColumn("t38")] public string T38 { get; set; } = "";
    [CsvColumn("t38_packets")] public long T38Packets { get; set; }
    [CsvColumn("applications")] public string Applications { get; set; } = "";
    [CsvColumn("user_agents")] public string UserAgents { get; set; } = "";
    [CsvColumn("lost_pct_out")] public string LostPctOut { get; set; } = "";
    [CsvColumn("lost_pct_in")] public string LostPctIn { get; set; } = "";
    [CsvColumn("mos_network")] public string MosNetwork { get; set; } = "";
    [CsvColumn("codec_clock_rate")] public string CodecClockRate { get; set; } = "";
    [CsvColumn("flow_id")] public string FlowId { get; set; } = "";
    [CsvColumn("evidence_file")] public string EvidenceFile { get; set; } = "";

    public static CallRow From(CallRecord r) => From(r, null);

    /// <summary>
    /// The row of <paramref name="r"/>; with an anonymizer, addresses and SIP user parts (in the URIs,
    /// the Call-ID and the user agents) are pseudonyms.
    /// </summary>
    public static CallRow From(CallRecord r, Anonymizer? anonymizer)
    {
        var c = r.Sip;
        var a = anonymizer;
        return new CallRow
        {
            CallId = a?.Text(c.CallId) ?? c.CallId,
            FromUri = a?.SipUri(c.FromUri) ?? c.FromUri,
            ToUri = a?.SipUri(c.ToUri) ?? c.ToUri,
            SipTransport = c.Transport switch { Analyzers.Sip.SipTransport.Tcp => "tcp", Analyzers.Sip.SipTransport.Tls => "tls", _ => "udp" },
            CallerIp = a?.Ip(c.CallerIp) ?? c.CallerIp.ToString(),
            CalleeIp = a?.Ip(c.CalleeIp) ?? c.CalleeIp.ToString(),
            Service = r.Service,
            Start = NsTime.Iso(c.StartNs),
            Answered = Fmt.Bool(c.Answered),
            Ended = Fmt.Bool(c.Ended),
            FinalStatus = c.FinalStatus == 0 ? "" : c.FinalStatus.ToString(CultureInfo.InvariantCulture),
            Response100Ms = Fmt.Opt(c.Response100Ms, 3),
            PostDialDelayMs = Fmt.Opt(c.PostDialDelayMs, 3),
            AnswerMs = Fmt.Opt(c.AnswerMs, 3),
            DurationS = Fmt.Opt(c.DurationS, 3),
            Codec = r.Codec,
            Streams = r.Streams.Count,
            MediaIpKbpsOut = Fmt.Opt(r.MediaIpKbpsOut, 1),
            MediaIpKbpsIn = Fmt.Opt(r.MediaIpKbpsIn, 1),
            MaxJitterMs = Fmt.Opt(r.MaxJitterMs, 3),
            LostPct = r.Streams.Count == 0 ? "" : Fmt.F(r.LostPct, 2),
            Mos = Fmt.Opt(r.Mos, 2),
            OneWay = Fmt.Bool(r.OneWay),
            CallerPort = c.CallerPort,
            CalleePort = c.CalleePort,
            FinalReason = c.FinalReason,
            EndReason = c.EndReason switch { SipCallEnd.Bye => "bye", SipCallEnd.Cancel => "cancel", SipCallEnd.Failed => "failed", _ => "capture_end" },
            MediaEthKbpsOut = Fmt.Opt(r.MediaEthKbpsOut, 1),
            MediaEthKbpsIn = Fmt.Opt(r.MediaEthKbpsIn, 1),
            PeakIpKbpsOut = Fmt.Opt(r.PeakIpKbpsOut, 1),
            PeakIpKbpsIn = Fmt.Opt(r.PeakIpKbpsIn, 1),
            Retransmissions = c.Retransmissions,
            ReInvites = c.ReInviteCount,
            T38 = Fmt.Bool(c.T38),
            T38Packets = c.T38Packets,
            Applications = r.Applications,
            UserAgents = a?.Text(string.Join(" | ", c.UserAgents)) ?? string.Join(" | ", c.UserAgents),
            LostPctOut = Fmt.Opt(r.LostPctOut, 2),
            LostPctIn = Fmt.Opt(r.LostPctIn, 2),
            MosNetwork = Fmt.Opt(r.MosNetwork, 2),
            CodecClockRate = r.CodecClockRate,
            FlowId = r.FlowId > 0 ? r.FlowId.ToString(CultureInfo.InvariantCulture) : "",
        };
    }
}

/// <summary>
/// A row of sip_options.csv: SIP OPTIONS keepalives per requester and responder (trunk health):
/// requester_ip, responder_ip, pings (transactions, retransmissions not counted again), answered,
/// unanswered, min_response_ms, mean_response_ms, max_response_ms, last_status, first_seen, last_seen.
/// </summary>
[CsvRecord]
public sealed partial class SipOptionsRow
{
    [CsvColumn("requester_ip")] public string RequesterIp { get; set; } = "";
    [CsvColumn("responder_ip")] public string ResponderIp { get; set; } = "";
    [CsvColumn("pings")] public int Pings { get; set; }
    [CsvColumn("answered")] public int Answered { get; set; }
    [CsvColumn("unanswered")] public int Unanswered { get; set; }
    [CsvColumn("min_response_ms")] public string MinResponseMs { get; set; } = "";
    [CsvColumn("mean_response_ms")] public string MeanResponseMs { get; set; } = "";
    [CsvColumn("max_response_ms")] public string MaxResponseMs { get; set; } = "";
    [CsvColumn("last_status")] public string LastStatus { get; set; } = "";
    [CsvColumn("first_seen")] public string FirstSeen { get; set; } = "";
    [CsvColumn("last_seen")] public string LastSeen { get; set; } = "";

    public static SipOptionsRow From(OptionsPingStat o) => From(o, null);

    public static SipOptionsRow From(OptionsPingStat o, Anonymizer? anonymizer) => new()
    {
        RequesterIp = anonymizer?.Ip(o.RequesterIp) ?? o.RequesterIp.ToString(),
        ResponderIp = anonymizer?.Ip(o.ResponderIp) ?? o.ResponderIp.ToString(),
        Pings = o.Count,
        Answered = o.Answered,
        Unanswered = o.Unanswered,
        MinResponseMs = Fmt.Opt(o.MinResponseMs, 3),
        MeanResponseMs = Fmt.Opt(o.MeanResponseMs, 3),
        MaxResponseMs = Fmt.Opt(o.MaxResponseMs, 3),
        LastStatus = o.LastStatus == 0 ? "" : o.LastStatus.ToString(CultureInfo.InvariantCulture),
        FirstSeen = NsTime.Iso(o.FirstNs),
        LastSeen = NsTime.Iso(o.LastNs),
    };
}
