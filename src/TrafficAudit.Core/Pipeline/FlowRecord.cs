using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline;

/// <summary>
/// One finished, classified conversation from the client's point of view: a row of flows.csv.
/// Times are nanoseconds since the Unix epoch; durations are nanoseconds, -1 when not measured.
/// Made once per flow as it leaves the engine; the classification (service, applications, direction,
/// rule, infrastructure, server name) is written into it by the engine before any sink sees it, and
/// never changes after.
/// </summary>
public sealed record FlowRecord
{
    public required int FlowId { get; init; }
    public required long FirstSeenNs { get; init; }
    public required long LastSeenNs { get; init; }
    public required IpProtocol Transport { get; init; }
    public required IpAddress ClientIp { get; init; }
    public required ushort ClientPort { get; init; }
    public required IpAddress ServerIp { get; init; }
    public required ushort ServerPort { get; init; }
    public required ushort Vlan { get; init; }
    public string Service { get; internal set; } = "";
    /// <summary>Imagicle application ids, ';'-joined.</summary>
    public string Applications { get; internal set; } = "";
    /// <summary>IN, OUT, NODE or NONE, from the Imagicle server's point of view.</summary>
    public string Direction { get; internal set; } = "";
    public required long PacketsC2S { get; init; }
    public required long PacketsS2C { get; init; }
    /// <summary>IP-layer bytes (IP header and payload) sent by the client.</summary>
    public required long BytesC2S { get; init; }
    public required long BytesS2C { get; init; }
    public required TcpHandshakeState TcpState { get; init; }
    public required int SynRetries { get; init; }
    /// <summary>Wireshark's tcp.analysis.initial_rtt: first ACK without SYN after the most recent SYN, minus that SYN.</summary>
    public required long HandshakeRttNs { get; init; }
    /// <summary>SYN to SYN/ACK: capture point to server and back.</summary>
    public required long ServerRttNs { get; init; }
    /// <summary>SYN/ACK to the client's ACK: capture point to client and back.</summary>
    public required long ClientRttNs { get; init; }
    /// <summary>Catalogue rule id that matched, or empty.</summary>
    public string MatchedRule { get; internal set; } = "";
    public bool Infrastructure { get; internal set; }
    public required int IcmpUnreachable { get; init; }
    public string? ServerName { get; internal set; }
    public required FlowEndReason EndReason { get; init; }
    /// <summary>How the client side was chosen: syn, synack, catalogue or first_sender.</summary>
    public required string ClientBy { get; init; }
    // Facts the policy and the evidence pcaps need beyond the columns (a record never points back into the engine).
    /// <summary>The payload was recognised as SIP.</summary>
    public bool IsSip { get; init; }
    /// <summary>
    /// The VoIP stage made an RTP stream of this flow's datagrams or read a SIP message in them: a UDP flow whose ends an
    /// RTP stream's or a SIP transaction's record may name (the policy's join index keeps only those).
    /// </summary>
    public bool CarriesVoip { get; init; }
    /// <summary>The client sent an HTTP/1.x request line.</summary>
    public bool IsHttp { get; init; }
    /// <summary>Authority of an HTTP CONNECT request (the flow goes through a proxy), or null.</summary>
    public string? HttpConnectTarget { get; init; }
    /// <summary>Time of the first ACK without SYN after the most recent SYN (end of the handshake as Wireshark measures it); 0 when not seen.</summary>
    public long FirstAckNs { get; init; }
    /// <summary>ACKs of data the capture never saw (segments missing from the capture).</summary>
    public int AckedUnseen { get; init; }
    /// <summary>Packets that are SPAN copies of the one before them.</summary>
    public int DuplicatePackets { get; init; }
}
