using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrafficAudit.Synth.Model;

/// <summary>
/// The ground truth written beside a synthetic capture (NAME.truth.json). Every count in it is
/// taken from the packets as they were written; nothing is typed by hand.
/// </summary>
public sealed class GroundTruth
{
    [JsonPropertyName("generator")] public string Generator { get; set; } = "";
    [JsonPropertyName("seed")] public int Seed { get; set; }
    /// <summary>Timestamp of the first record, ISO 8601 UTC.</summary>
    [JsonPropertyName("capture_start")] public string CaptureStart { get; set; } = "";
    /// <summary>Last record minus first record, in seconds.</summary>
    [JsonPropertyName("duration_s")] public double DurationSeconds { get; set; }
    [JsonPropertyName("packets")] public int Packets { get; set; }
    /// <summary>Capture point assumed when the TCP delays were chosen.</summary>
    [JsonPropertyName("capture_point")] public string CapturePoint { get; set; } = "";
    [JsonPropertyName("nodes")] public List<string> Nodes { get; set; } = [];
    [JsonPropertyName("hosts")] public List<HostTruth> Hosts { get; set; } = [];
    [JsonPropertyName("flows")] public List<FlowTruth> Flows { get; set; } = [];
    [JsonPropertyName("calls")] public List<CallTruth> Calls { get; set; } = [];
    /// <summary>The findings the scenario plants, for an audit with the scenario's profile (NAME.profile.json); an audit must report exactly these.</summary>
    [JsonPropertyName("expected_findings")] public List<FindingTruth> ExpectedFindings { get; set; } = [];
    /// <summary>The exit code of that audit when it is not simply 1-if-an-error-else-0 (3: nothing to audit); null otherwise.</summary>
    [JsonPropertyName("expected_exit_code")] public int? ExpectedExitCode { get; set; }
    /// <summary>Words the audit's closing verdict line must contain ("Not audited against the vendor's table"); null when not planted.</summary>
    [JsonPropertyName("expected_verdict")] public string? ExpectedVerdict { get; set; }
    /// <summary>Hosts that must not be taken for Imagicle nodes (a public SIP provider on an Imagicle port).</summary>
    [JsonPropertyName("not_nodes")] public List<string> NotNodes { get; set; } = [];

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NewLine = "\n",
        IndentSize = 2,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions) + "\n";

    public static GroundTruth FromJson(string json)
        => JsonSerializer.Deserialize<GroundTruth>(json, JsonOptions) ?? throw new InvalidDataException("empty truth file");
}

/// <summary>A named address of the scenario (role is free text, e.g. "imagicle-node").</summary>
public sealed class HostTruth
{
    [JsonPropertyName("ip")] public string Ip { get; set; } = "";
    [JsonPropertyName("role")] public string Role { get; set; } = "";
}

/// <summary>
/// One bidirectional flow (5-tuple). Client is the side that opened it (SYN sender, or first UDP
/// sender); for a midstream flow the side holding the ephemeral port. Directions: IN (remote to
/// node), OUT (node to remote), NODE (node to node), NONE (no node involved).
/// </summary>
public sealed class FlowTruth
{
    /// <summary>tcp, udp or icmp.</summary>
    [JsonPropertyName("transport")] public string Transport { get; set; } = "";
    [JsonPropertyName("client_ip")] public string ClientIp { get; set; } = "";
    [JsonPropertyName("client_port")] public int ClientPort { get; set; }
    [JsonPropertyName("server_ip")] public string ServerIp { get; set; } = "";
    [JsonPropertyName("server_port")] public int ServerPort { get; set; }
    /// <summary>802.1Q VLAN id of the flow's frames, null when untagged.</summary>
    [JsonPropertyName("vlan")] public int? Vlan { get; set; }
    [JsonPropertyName("expected_service")] public string ExpectedService { get; set; } = "";
    [JsonPropertyName("direction")] public string Direction { get; set; } = "";
    /// <summary>established, unanswered, refused, midstream; empty for UDP and ICMP.</summary>
    [JsonPropertyName("tcp_state")] public string TcpState { get; set; } = "";
    [JsonPropertyName("syn_retries")] public int SynRetries { get; set; }
    /// <summary>Wireshark's tcp.analysis.initial_rtt: first pure ACK after the last SYN minus that SYN, ms.</summary>
    [JsonPropertyName("handshake_rtt_ms")] public double? HandshakeRttMs { get; set; }
    /// <summary>SYN/ACK minus SYN at the capture point, ms; for a refused connection RST/ACK minus SYN (tshark reports that as initial_rtt too).</summary>
    [JsonPropertyName("server_rtt_ms")] public double? ServerRttMs { get; set; }
    /// <summary>ACK minus SYN/ACK at the capture point, ms.</summary>
    [JsonPropertyName("client_rtt_ms")] public double? ClientRttMs { get; set; }
    [JsonPropertyName("packets_c2s")] public int PacketsC2s { get; set; }
    [JsonPropertyName("packets_s2c")] public int PacketsS2c { get; set; }
    /// <summary>Sum of IPv4 total length, client to server.</summary>
    [JsonPropertyName("bytes_c2s")] public long BytesC2s { get; set; }
    [JsonPropertyName("bytes_s2c")] public long BytesS2c { get; set; }
    /// <summary>Seconds from the capture's first record to the flow's first packet (tshark frame.time_relative).</summary>
    [JsonPropertyName("first_s")] public double FirstSeconds { get; set; }
    [JsonPropertyName("last_s")] public double LastSeconds { get; set; }
    [JsonPropertyName("note")] public string Note { get; set; } = "";
}

public sealed class CallTruth
{
    [JsonPropertyName("call_id")] public string CallId { get; set; } = "";
    [JsonPropertyName("sip_port")] public int SipPort { get; set; }
    /// <summary>PCMU, PCMA; "PCMA+T.38" for a fax call switched to T.38.</summary>
    [JsonPropertyName("codec")] public string Codec { get; set; } = "";
    [JsonPropertyName("sip_messages")] public int SipMessages { get; set; }
    [JsonPropertyName("note")] public string Note { get; set; } = "";
    [JsonPropertyName("rtp_streams")] public List<RtpStreamTruth> RtpStreams { get; set; } = [];
    /// <summary>RTCP packets sent on the RTP port pair (RFC 5761 multiplexing), both directions; absent when RTCP used its own ports.</summary>
    [JsonPropertyName("rtcp_mux_packets")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? RtcpMuxPackets { get; set; }
}

public sealed class RtpStreamTruth
{
    [JsonPropertyName("ssrc")] public string Ssrc { get; set; } = "";
    /// <summary>ip:port of the sender.</summary>
    [JsonPropertyName("src")] public string Src { get; set; } = "";
    [JsonPropertyName("dst")] public string Dst { get; set; } = "";
    [JsonPropertyName("payload_type")] public int PayloadType { get; set; }
    [JsonPropertyName("packets")] public int Packets { get; set; }
    /// <summary>Sequence numbers skipped by the generator (never the first or last).</summary>
    [JsonPropertyName("lost")] public int Lost { get; set; }
    [JsonPropertyName("marker_first")] public bool MarkerFirst { get; set; }
    /// <summary>Largest arrival offset added to a packet, ms (0 = sent on the 20 ms grid).</summary>
    [JsonPropertyName("max_added_jitter_ms")] public double MaxAddedJitterMs { get; set; }
    /// <summary>
    /// Packets that arrive later than a fixed 50 ms / 200 ms jitter buffer would play them (added delay
    /// above the depth, with the stream's least delay 0), when the scenario planted a delay pattern.
    /// </summary>
    [JsonPropertyName("late_fixed_50ms")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? LateFixed50Ms { get; set; }
    [JsonPropertyName("late_fixed_200ms")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? LateFixed200Ms { get; set; }
}

/// <summary>A finding the generator planted: its kind and the server end of the conversation (empty for capture-wide kinds).</summary>
public sealed class FindingTruth
{
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("server_ip")] public string ServerIp { get; set; } = "";
    [JsonPropertyName("server_port")] public int? ServerPort { get; set; }
    [JsonPropertyName("note")] public string Note { get; set; } = "";
}
