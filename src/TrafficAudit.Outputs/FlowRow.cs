using System.Globalization;
using CsvHelper;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// A row of flows.csv. Columns, in this order (the first 22 are a contract others rely on):
/// flow_id; first_seen, last_seen (UTC ISO 8601, µs); transport (tcp, udp, icmp, icmpv6, or the IP
/// protocol number); client_ip, client_port, server_ip, server_port; vlan (innermost 802.1Q id, 0 when
/// untagged); service; applications (';'-joined Imagicle application ids); direction (IN, OUT, NODE,
/// NONE from the Imagicle server's point of view); packets_c2s, packets_s2c; bytes_c2s, bytes_s2c
/// (IP layer: IP header and payload); tcp_state (established, unanswered, refused, midstream; empty for
/// non-TCP); syn_retries; handshake_rtt_ms (Wireshark's tcp.analysis.initial_rtt), server_rtt_ms (SYN to
/// SYN/ACK), client_rtt_ms (SYN/ACK to ACK), all in ms with 3 decimals, empty when not measured;
/// matched_rule (catalogue rule id). Added after them: infrastructure (true for DNS, NTP, DHCP...),
/// icmp_unreachable (ICMP unreachable messages that refused this flow), server_name (TLS SNI or DNS
/// name of the server), end_reason (fin, rst, idle_timeout, port_reuse, evicted, capture_end), client_by (how the
/// client side was chosen: syn, synack, catalogue, first_sender). Pivots to other tools, at the end:
/// community_id (Community ID v1 flow hash, seed 0, as Zeek and Suricata log it; empty for ICMP;
/// computed from the pseudonyms under --anonymize), duration_s (last_seen minus first_seen, s, 6 decimals).
/// </summary>
[CsvRecord]
public sealed partial class FlowRow
{
    [CsvColumn("flow_id")] public int FlowId { get; set; }
    [CsvColumn("first_seen")] public string FirstSeen { get; set; } = "";
    [CsvColumn("last_seen")] public string LastSeen { get; set; } = "";
    [CsvColumn("transport")] public string Transport { get; set; } = "";
    [CsvColumn("client_ip")] public string ClientIp { get; set; } = "";
    [CsvColumn("client_port")] public int ClientPort { get; set; }
    [CsvColumn("server_ip")] public string ServerIp { get; set; } = "";
    [CsvColumn("server_port")] public int ServerPort { get; set; }
    [CsvColumn("vlan")] public int Vlan { get; set; }
    [CsvColumn("service")] public string Service { get; set; } = "";
    [CsvColumn("applications")] public string Applications { get; set; } = "";
    [CsvColumn("direction")] public string Direction { get; set; } = "";
    [CsvColumn("packets_c2s")] public long PacketsC2S { get; set; }
    [CsvColumn("packets_s2c")] public long PacketsS2C { get; set; }
    [CsvColumn("bytes_c2s")] public long BytesC2S { get; set; }
    [CsvColumn("bytes_s2c")] public long BytesS2C { get; set; }
    [CsvColumn("tcp_state")] public string TcpState { get; set; } = "";
    [CsvColumn("syn_retries")] public int SynRetries { get; set; }
    [CsvColumn("handshake_rtt_ms")] public string HandshakeRttMs { get; set; } = "";
    [CsvColumn("server_rtt_ms")] public string ServerRttMs { get; set; } = "";
    [CsvColumn("client_rtt_ms")] public string ClientRttMs { get; set; } = "";
    [CsvColumn("matched_rule")] public string MatchedRule { get; set; } = "";
    [CsvColumn("infrastructure")] public bool Infrastructure { get; set; }
    [CsvColumn("icmp_unreachable")] public int IcmpUnreachable { get; set; }
    [CsvColumn("server_name")] public string ServerName { get; set; } = "";
    [CsvColumn("end_reason")] public string EndReason { get; set; } = "";
    [CsvColumn("client_by")] public string ClientBy { get; set; } = "";
    [CsvColumn("community_id")] public string CommunityId { get; set; } = "";
    [CsvColumn("duration_s")] public string DurationS { get; set; } = "";

    public static FlowRow From(FlowRecord f) => From(f, null);

    /// <summary>The row of <paramref name="f"/>; with an anonymizer, client_ip, server_ip and server_name are pseudonyms.</summary>
    public static FlowRow From(FlowRecord f, Anonymizer? anonymizer) => new()
    {
        CommunityId = CommunityIdOf(f, anonymizer),
        DurationS = ((f.LastSeenNs - f.FirstSeenNs) / 1e9).ToString("F6", CultureInfo.InvariantCulture),
        FlowId = f.FlowId,
        FirstSeen = NsTime.Iso(f.FirstSeenNs),
        LastSeen = NsTime.Iso(f.LastSeenNs),
        Transport = TransportName(f.Transport),
        ClientIp = anonymizer?.Ip(f.ClientIp) ?? f.ClientIp.ToString(),
        ClientPort = f.ClientPort,
        ServerIp = anonymizer?.Ip(f.ServerIp) ?? f.ServerIp.ToString(),
        ServerPort = f.ServerPort,
        Vlan = f.Vlan,
        Service = f.Service,
        Applications = f.Applications,
        Direction = f.Direction,
        PacketsC2S = f.PacketsC2S,
        PacketsS2C = f.PacketsS2C,
        BytesC2S = f.BytesC2S,
        BytesS2C = f.BytesS2C,
        TcpState = TcpStateName(f.TcpState),
        SynRetries = f.SynRetries,
        HandshakeRttMs = NsTime.Ms(f.HandshakeRttNs),
        ServerRttMs = NsTime.Ms(f.ServerRttNs),
        ClientRttMs = NsTime.Ms(f.ClientRttNs),
        MatchedRule = f.MatchedRule,
        Infrastructure = f.Infrastructure,
        IcmpUnreachable = f.IcmpUnreachable,
        ServerName = anonymizer?.Host(f.ServerName) ?? f.ServerName ?? "",
        EndReason = EndReasonName(f.EndReason),
        ClientBy = f.ClientBy,
    };

    /// <summary>Community ID of the flow as written (with an anonymizer, of the pseudonymous addresses, so the hash reveals nothing the row hides).</summary>
    private static string CommunityIdOf(FlowRecord f, Anonymizer? anonymizer)
    {
        var client = f.ClientIp;
        var server = f.ServerIp;
        if (anonymizer is not null)
        {
            if (!IpAddress.TryParse(anonymizer.Ip(client), out client) || !IpAddress.TryParse(anonymizer.Ip(server), out server)) return "";
        }
        return Flows.CommunityId.Compute(client, f.ClientPort, server, f.ServerPort, f.Transport);
    }

    public static string TransportName(IpProtocol p) => p switch
    {
        IpProtocol.Tcp => "tcp",
        IpProtocol.Udp => "udp",
        IpProtocol.Icmp => "icmp",
        IpProtocol.Icmpv6 => "icmpv6",
        IpProtocol.Sctp => "sctp",
        _ => ((byte)p).ToString(CultureInfo.InvariantCulture),
    };

    public static string TcpStateName(TcpHandshakeState s) => s switch
    {
        TcpHandshakeState.Established => "established",
        TcpHandshakeState.Unanswered => "unanswered",
        TcpHandshakeState.Refused => "refused",
        TcpHandshakeState.Midstream => "midstream",
        _ => "",
    };

    public static string EndReasonName(FlowEndReason r) => r switch
    {
        FlowEndReason.Fin => "fin",
        FlowEndReason.Rst => "rst",
        FlowEndReason.IdleTimeout => "idle_timeout",
        FlowEndReason.PortReuse => "port_reuse",
        FlowEndReason.Evicted => "evicted",
        _ => "capture_end",
    };
}

/// <summary>A row of anomalies.csv: name (snake_case anomaly), count, first_packet (frame number of the first occurrence), first_file.</summary>
[CsvRecord]
public sealed partial class AnomalyRow
{
    [CsvColumn("name")] public string Name { get; set; } = "";
    [CsvColumn("count")] public long Count { get; set; }
    [CsvColumn("first_packet")] public long FirstPacket { get; set; }
    [CsvColumn("first_file")] public string FirstFile { get; set; } = "";
}
