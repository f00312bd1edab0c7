using System.Globalization;

namespace TrafficAudit.Outputs;

/// <summary>What a cell holds, whatever the format: text, a whole number, a decimal number (with the
/// fixed decimals the CSV has always had), a boolean. Every kind may be empty (null in JSON lines).</summary>
public enum ValueKind { Text, Integer, Floating, Bool }

/// <summary>
/// One cell of a record, typed. A value is carried either as its text (the exact characters the CSV
/// has always written: "12.345", "true", "" for empty) or, for whole numbers and booleans kept as
/// such, as a number; <see cref="IsNull"/> is true for an empty text.
/// </summary>
public readonly struct RecordValue
{
    private RecordValue(ValueKind kind, string? text, long number)
    {
        Kind = kind;
        Text = text;
        Number = number;
    }

    public ValueKind Kind { get; }
    /// <summary>The value as written in the CSV; null when it is carried as <see cref="Number"/>.</summary>
    public string? Text { get; }
    /// <summary>The whole number (or 0/1 for a boolean) when <see cref="Text"/> is null.</summary>
    public long Number { get; }
    public bool IsNull => Text is { Length: 0 };

    public static RecordValue OfText(ValueKind kind, string? text) => new(kind, text ?? "", 0);
    public static RecordValue OfInteger(long value) => new(ValueKind.Integer, null, value);
    public static RecordValue OfBool(bool value) => new(ValueKind.Bool, null, value ? 1 : 0);

    /// <summary>The text the CSV holds for this value (before the text-cell safety rule).</summary>
    public override string ToString() => Text ?? (Kind == ValueKind.Bool ? (Number != 0 ? "true" : "false") : Number.ToString(CultureInfo.InvariantCulture));
}

/// <summary>One column: its name (the CSV header and the JSON key), its unit for the documentation, its kind, and how a row gives its value.</summary>
public sealed class RecordColumn<TRow>(string name, string unit, ValueKind kind, Func<TRow, RecordValue> value)
{
    public string Name { get; } = name;
    /// <summary>"ms", "kbit/s", "UTC ISO 8601"...; empty when the column has no unit (ids, names, states).</summary>
    public string Unit { get; } = unit;
    public ValueKind Kind { get; } = kind;
    public RecordValue ValueOf(TRow row) => value(row);
}

/// <summary>The columns of one output table, untyped view (names, units, kinds) for documentation and tests.</summary>
public interface IRecordSchema
{
    /// <summary>The table's name: the file name without extension (flows, rtp_streams...).</summary>
    string Name { get; }
    IReadOnlyList<string> ColumnNames { get; }
    IReadOnlyList<(string Name, string Unit, ValueKind Kind)> Describe();
}

/// <summary>
/// The schema of one table: its columns in order. Every writer (CSV, JSON lines; batch or appended)
/// works from it, so the formats cannot disagree on names, order or values.
/// </summary>
public sealed class RecordSchema<TRow>(string name, IReadOnlyList<RecordColumn<TRow>> columns) : IRecordSchema
{
    public string Name { get; } = name;
    public IReadOnlyList<RecordColumn<TRow>> Columns { get; } = columns;
    public IReadOnlyList<string> ColumnNames { get; } = columns.Select(c => c.Name).ToArray();
    public IReadOnlyList<(string Name, string Unit, ValueKind Kind)> Describe() => Columns.Select(c => (c.Name, c.Unit, c.Kind)).ToArray();
}

/// <summary>
/// The schemas of every table the audit writes. A row type (<see cref="FlowRow"/>...) is made once
/// from a record, anonymized when --anonymize is on; the schema reads its values. Kinds:
/// Int (a whole-number property), IntText (a whole number kept as text, empty when absent), Float (a
/// number already formatted with its fixed decimals, empty when not measured), Bool, BoolText
/// ("true"/"false" kept as text), Text (free text: the safety rule of <see cref="SafeText"/> applies).
/// </summary>
public static class RecordSchemas
{
    private static class C
    {
        public static RecordColumn<T> Int<T>(string n, string u, Func<T, long> f) => new(n, u, ValueKind.Integer, r => RecordValue.OfInteger(f(r)));
        public static RecordColumn<T> Bool<T>(string n, string u, Func<T, bool> f) => new(n, u, ValueKind.Bool, r => RecordValue.OfBool(f(r)));
        public static RecordColumn<T> Text<T>(string n, string u, Func<T, string> f) => new(n, u, ValueKind.Text, r => RecordValue.OfText(ValueKind.Text, f(r)));
        public static RecordColumn<T> IntText<T>(string n, string u, Func<T, string> f) => new(n, u, ValueKind.Integer, r => RecordValue.OfText(ValueKind.Integer, f(r)));
        public static RecordColumn<T> Float<T>(string n, string u, Func<T, string> f) => new(n, u, ValueKind.Floating, r => RecordValue.OfText(ValueKind.Floating, f(r)));
        public static RecordColumn<T> BoolText<T>(string n, string u, Func<T, string> f) => new(n, u, ValueKind.Bool, r => RecordValue.OfText(ValueKind.Bool, f(r)));
    }

    public static readonly RecordSchema<FlowRow> Flows = new("flows",
    [
        C.Int<FlowRow>("flow_id", "", r => r.FlowId),
        C.Text<FlowRow>("first_seen", "UTC ISO 8601", r => r.FirstSeen),
        C.Text<FlowRow>("last_seen", "UTC ISO 8601", r => r.LastSeen),
        C.Text<FlowRow>("transport", "", r => r.Transport),
        C.Text<FlowRow>("client_ip", "", r => r.ClientIp),
        C.Int<FlowRow>("client_port", "", r => r.ClientPort),
        C.Text<FlowRow>("server_ip", "", r => r.ServerIp),
        C.Int<FlowRow>("server_port", "", r => r.ServerPort),
        C.Int<FlowRow>("vlan", "", r => r.Vlan),
        C.Text<FlowRow>("service", "", r => r.Service),
        C.Text<FlowRow>("applications", "", r => r.Applications),
        C.Text<FlowRow>("direction", "", r => r.Direction),
        C.Int<FlowRow>("packets_c2s", "packets", r => r.PacketsC2S),
        C.Int<FlowRow>("packets_s2c", "packets", r => r.PacketsS2C),
        C.Int<FlowRow>("bytes_c2s", "bytes", r => r.BytesC2S),
        C.Int<FlowRow>("bytes_s2c", "bytes", r => r.BytesS2C),
        C.Text<FlowRow>("tcp_state", "", r => r.TcpState),
        C.Int<FlowRow>("syn_retries", "", r => r.SynRetries),
        C.Float<FlowRow>("handshake_rtt_ms", "ms", r => r.HandshakeRttMs),
        C.Float<FlowRow>("server_rtt_ms", "ms", r => r.ServerRttMs),
        C.Float<FlowRow>("client_rtt_ms", "ms", r => r.ClientRttMs),
        C.Text<FlowRow>("matched_rule", "", r => r.MatchedRule),
        C.Bool<FlowRow>("infrastructure", "", r => r.Infrastructure),
        C.Int<FlowRow>("icmp_unreachable", "", r => r.IcmpUnreachable),
        C.Text<FlowRow>("server_name", "", r => r.ServerName),
        C.Text<FlowRow>("end_reason", "", r => r.EndReason),
        C.Text<FlowRow>("client_by", "", r => r.ClientBy),
        C.Text<FlowRow>("community_id", "", r => r.CommunityId),
        C.Float<FlowRow>("duration_s", "s", r => r.DurationS),
    ]);

    public static readonly RecordSchema<RtpStreamRow> RtpStreams = new("rtp_streams",
    [
        C.Int<RtpStreamRow>("stream_id", "", r => r.StreamId),
        C.Text<RtpStreamRow>("call_id", "", r => r.CallId),
        C.Text<RtpStreamRow>("ssrc", "", r => r.Ssrc),
        C.Text<RtpStreamRow>("src_ip", "", r => r.SrcIp),
        C.Int<RtpStreamRow>("src_port", "", r => r.SrcPort),
        C.Text<RtpStreamRow>("dst_ip", "", r => r.DstIp),
        C.Int<RtpStreamRow>("dst_port", "", r => r.DstPort),
        C.Int<RtpStreamRow>("payload_type", "", r => r.PayloadType),
        C.Text<RtpStreamRow>("codec", "", r => r.Codec),
        C.Int<RtpStreamRow>("clock_rate", "Hz", r => r.ClockRate),
        C.Text<RtpStreamRow>("first_seen", "UTC ISO 8601", r => r.FirstSeen),
        C.Text<RtpStreamRow>("last_seen", "UTC ISO 8601", r => r.LastSeen),
        C.Int<RtpStreamRow>("packets", "packets", r => r.Packets),
        C.Int<RtpStreamRow>("expected", "packets", r => r.Expected),
        C.Int<RtpStreamRow>("lost", "packets", r => r.Lost),
        C.Float<RtpStreamRow>("lost_pct", "%", r => r.LostPct),
        C.Int<RtpStreamRow>("duplicates", "packets", r => r.Duplicates),
        C.Int<RtpStreamRow>("out_of_order", "packets", r => r.OutOfOrder),
        C.Float<RtpStreamRow>("max_delta_ms", "ms", r => r.MaxDeltaMs),
        C.Float<RtpStreamRow>("mean_delta_ms", "ms", r => r.MeanDeltaMs),
        C.Float<RtpStreamRow>("max_jitter_ms", "ms", r => r.MaxJitterMs),
        C.Float<RtpStreamRow>("mean_jitter_ms", "ms", r => r.MeanJitterMs),
        C.Float<RtpStreamRow>("ip_kbps", "kbit/s", r => r.IpKbps),
        C.Float<RtpStreamRow>("eth_kbps", "kbit/s", r => r.EthKbps),
        C.Float<RtpStreamRow>("peak_ip_kbps", "kbit/s", r => r.PeakIpKbps),
        C.Float<RtpStreamRow>("mos", "MOS (1-5)", r => r.Mos),
        C.BoolText<RtpStreamRow>("sdp_matched", "", r => r.SdpMatched),
        C.Int<RtpStreamRow>("wireshark_expected", "packets", r => r.WiresharkExpected),
        C.Int<RtpStreamRow>("wireshark_lost", "packets", r => r.WiresharkLost),
        C.Int<RtpStreamRow>("sequence_errors", "", r => r.SequenceErrors),
        C.Int<RtpStreamRow>("loss_bursts", "", r => r.LossBursts),
        C.Int<RtpStreamRow>("longest_burst", "packets", r => r.LongestBurst),
        C.Text<RtpStreamRow>("burst_histogram", "", r => r.BurstHistogram),
        C.Text<RtpStreamRow>("call_direction", "", r => r.CallDirection),
        C.Int<RtpStreamRow>("vlan", "", r => r.Vlan),
        C.Int<RtpStreamRow>("rtcp_reports", "", r => r.RtcpReports),
        C.Float<RtpStreamRow>("rtcp_jitter_ms", "ms", r => r.RtcpJitterMs),
        C.Int<RtpStreamRow>("rtcp_cumulative_lost", "packets", r => r.RtcpCumulativeLost),
        C.Float<RtpStreamRow>("rtcp_max_fraction_lost_pct", "%", r => r.RtcpMaxFractionLostPct),
        C.Float<RtpStreamRow>("rtcp_rtt_ms", "ms", r => r.RtcpRttMs),
        C.Float<RtpStreamRow>("rtcp_rtt_max_ms", "ms", r => r.RtcpRttMaxMs),
        C.Float<RtpStreamRow>("mos_network", "MOS (1-5)", r => r.MosNetwork),
        C.Float<RtpStreamRow>("mos_f1", "MOS (1-5)", r => r.MosF1),
        C.Float<RtpStreamRow>("mos_f2", "MOS (1-5)", r => r.MosF2),
        C.Float<RtpStreamRow>("mos_adapt", "MOS (1-5)", r => r.MosAdapt),
        C.Int<RtpStreamRow>("late_f1", "packets", r => r.LateF1),
        C.Int<RtpStreamRow>("late_f2", "packets", r => r.LateF2),
        C.Int<RtpStreamRow>("late_adapt", "packets", r => r.LateAdapt),
        C.Int<RtpStreamRow>("rtcp_mux_packets", "packets", r => r.RtcpMuxPackets),
        C.IntText<RtpStreamRow>("flow_id", "", r => r.FlowId),
    ]);

    public static readonly RecordSchema<CallRow> Calls = new("calls",
    [
        C.Text<CallRow>("call_id", "", r => r.CallId),
        C.Text<CallRow>("from_uri", "", r => r.FromUri),
        C.Text<CallRow>("to_uri", "", r => r.ToUri),
        C.Text<CallRow>("sip_transport", "", r => r.SipTransport),
        C.Text<CallRow>("caller_ip", "", r => r.CallerIp),
        C.Text<CallRow>("callee_ip", "", r => r.CalleeIp),
        C.Text<CallRow>("service", "", r => r.Service),
        C.Text<CallRow>("start", "UTC ISO 8601", r => r.Start),
        C.BoolText<CallRow>("answered", "", r => r.Answered),
        C.BoolText<CallRow>("ended", "", r => r.Ended),
        C.IntText<CallRow>("final_status", "", r => r.FinalStatus),
        C.Float<CallRow>("response_100_ms", "ms", r => r.Response100Ms),
        C.Float<CallRow>("post_dial_delay_ms", "ms", r => r.PostDialDelayMs),
        C.Float<CallRow>("answer_ms", "ms", r => r.AnswerMs),
        C.Float<CallRow>("duration_s", "s", r => r.DurationS),
        C.Text<CallRow>("codec", "", r => r.Codec),
        C.Int<CallRow>("streams", "", r => r.Streams),
        C.Float<CallRow>("media_ip_kbps_out", "kbit/s", r => r.MediaIpKbpsOut),
        C.Float<CallRow>("media_ip_kbps_in", "kbit/s", r => r.MediaIpKbpsIn),
        C.Float<CallRow>("max_jitter_ms", "ms", r => r.MaxJitterMs),
        C.Float<CallRow>("lost_pct", "%", r => r.LostPct),
        C.Float<CallRow>("mos", "MOS (1-5)", r => r.Mos),
        C.BoolText<CallRow>("one_way", "", r => r.OneWay),
        C.Int<CallRow>("caller_port", "", r => r.CallerPort),
        C.Int<CallRow>("callee_port", "", r => r.CalleePort),
        C.Text<CallRow>("final_reason", "", r => r.FinalReason),
        C.Text<CallRow>("end_reason", "", r => r.EndReason),
        C.Float<CallRow>("media_eth_kbps_out", "kbit/s", r => r.MediaEthKbpsOut),
        C.Float<CallRow>("media_eth_kbps_in", "kbit/s", r => r.MediaEthKbpsIn),
        C.Float<CallRow>("peak_ip_kbps_out", "kbit/s", r => r.PeakIpKbpsOut),
        C.Float<CallRow>("peak_ip_kbps_in", "kbit/s", r => r.PeakIpKbpsIn),
        C.Int<CallRow>("retransmissions", "", r => r.Retransmissions),
        C.Int<CallRow>("reinvites", "", r => r.ReInvites),
        C.BoolText<CallRow>("t38", "", r => r.T38),
        C.Int<CallRow>("t38_packets", "packets", r => r.T38Packets),
        C.Text<CallRow>("applications", "", r => r.Applications),
        C.Text<CallRow>("user_agents", "", r => r.UserAgents),
        C.Float<CallRow>("lost_pct_out", "%", r => r.LostPctOut),
        C.Float<CallRow>("lost_pct_in", "%", r => r.LostPctIn),
        C.Float<CallRow>("mos_network", "MOS (1-5)", r => r.MosNetwork),
        C.Text<CallRow>("codec_clock_rate", "", r => r.CodecClockRate),
        C.IntText<CallRow>("flow_id", "", r => r.FlowId),
        C.Text<CallRow>("evidence_file", "", r => r.EvidenceFile),
    ]);

    public static readonly RecordSchema<SipOptionsRow> SipOptions = new("sip_options",
    [
        C.Text<SipOptionsRow>("requester_ip", "", r => r.RequesterIp),
        C.Text<SipOptionsRow>("responder_ip", "", r => r.ResponderIp),
        C.Int<SipOptionsRow>("pings", "transactions", r => r.Pings),
        C.Int<SipOptionsRow>("answered", "transactions", r => r.Answered),
        C.Int<SipOptionsRow>("unanswered", "transactions", r => r.Unanswered),
        C.Float<SipOptionsRow>("min_response_ms", "ms", r => r.MinResponseMs),
        C.Float<SipOptionsRow>("mean_response_ms", "ms", r => r.MeanResponseMs),
        C.Float<SipOptionsRow>("max_response_ms", "ms", r => r.MaxResponseMs),
        C.IntText<SipOptionsRow>("last_status", "", r => r.LastStatus),
        C.Text<SipOptionsRow>("first_seen", "UTC ISO 8601", r => r.FirstSeen),
        C.Text<SipOptionsRow>("last_seen", "UTC ISO 8601", r => r.LastSeen),
    ]);

    public static readonly RecordSchema<AnomalyRow> Anomalies = new("anomalies",
    [
        C.Text<AnomalyRow>("name", "", r => r.Name),
        C.Int<AnomalyRow>("count", "occurrences", r => r.Count),
        C.Int<AnomalyRow>("first_packet", "", r => r.FirstPacket),
        C.Text<AnomalyRow>("first_file", "", r => r.FirstFile),
    ]);

    public static readonly RecordSchema<FindingRow> Findings = new("findings",
    [
        C.Int<FindingRow>("finding_id", "", r => r.FindingId),
        C.Text<FindingRow>("severity", "", r => r.Severity),
        C.Text<FindingRow>("kind", "", r => r.Kind),
        C.Text<FindingRow>("service", "", r => r.Service),
        C.Text<FindingRow>("applications", "", r => r.Applications),
        C.Text<FindingRow>("client_ip", "", r => r.ClientIp),
        C.IntText<FindingRow>("client_port", "", r => r.ClientPort),
        C.Text<FindingRow>("server_ip", "", r => r.ServerIp),
        C.IntText<FindingRow>("server_port", "", r => r.ServerPort),
        C.Text<FindingRow>("transport", "", r => r.Transport),
        C.Text<FindingRow>("first_seen", "UTC ISO 8601", r => r.FirstSeen),
        C.Int<FindingRow>("count", "occurrences", r => r.Count),
        C.Float<FindingRow>("measured", "unit column", r => r.Measured),
        C.Float<FindingRow>("threshold", "unit column", r => r.Threshold),
        C.Text<FindingRow>("unit", "", r => r.Unit),
        C.Text<FindingRow>("method", "", r => r.Method),
        C.Text<FindingRow>("rule", "", r => r.Rule),
        C.Text<FindingRow>("message", "", r => r.Message),
        C.Text<FindingRow>("wireshark_filter", "", r => r.WiresharkFilter),
        C.Text<FindingRow>("flow_ids", "", r => r.FlowIds),
        C.Text<FindingRow>("nodes", "", r => r.Nodes),
        C.Text<FindingRow>("evidence_file", "", r => r.EvidenceFile),
    ]);

    public static readonly RecordSchema<ExpectedFlowRow> ExpectedFlows = new("expected_flows",
    [
        C.Text<ExpectedFlowRow>("service", "", r => r.Service),
        C.Text<ExpectedFlowRow>("applications", "", r => r.Applications),
        C.Text<ExpectedFlowRow>("peer", "", r => r.Peer),
        C.Text<ExpectedFlowRow>("ports", "", r => r.Ports),
        C.Text<ExpectedFlowRow>("status", "", r => r.Status),
        C.Text<ExpectedFlowRow>("evidence_flow_ids", "", r => r.EvidenceFlowIds),
        C.Text<ExpectedFlowRow>("requirement", "", r => r.Requirement),
        C.Text<ExpectedFlowRow>("title", "", r => r.Title),
        C.Bool<ExpectedFlowRow>("required", "", r => r.Required),
        C.Text<ExpectedFlowRow>("rules", "", r => r.Rules),
        C.Text<ExpectedFlowRow>("detail", "", r => r.Detail),
    ]);

    public static readonly RecordSchema<RtpSeriesRow> RtpSeries = new("rtp_series",
    [
        C.Int<RtpSeriesRow>("stream_id", "", r => r.StreamId),
        C.Text<RtpSeriesRow>("second", "UTC ISO 8601", r => r.Second),
        C.Int<RtpSeriesRow>("bucket_s", "s", r => r.BucketS),
        C.Int<RtpSeriesRow>("packets", "packets", r => r.Packets),
        C.Int<RtpSeriesRow>("expected", "packets", r => r.Expected),
        C.Int<RtpSeriesRow>("lost", "packets", r => r.Lost),
        C.Float<RtpSeriesRow>("ip_kbps", "kbit/s", r => r.IpKbps),
        C.Float<RtpSeriesRow>("max_jitter_ms", "ms", r => r.MaxJitterMs),
    ]);

    /// <summary>Every schema, in the order the outputs are listed.</summary>
    public static readonly IReadOnlyList<IRecordSchema> All = [Flows, RtpStreams, Calls, SipOptions, Anomalies, Findings, ExpectedFlows, RtpSeries];
}
