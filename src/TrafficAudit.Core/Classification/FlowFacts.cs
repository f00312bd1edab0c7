using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Classification;

/// <summary>
/// What the flow table and analyzers know about one flow, as input to <see cref="FlowClassifier"/>.
/// Client is the side that opened the flow (SYN sender, or first sender / ephemeral-port side).
/// IsRtp / IsRtcp / IsT38 / IsSip mean the payload was validated as that protocol (not guessed from ports);
/// ServerName is the TLS SNI (or a DNS name seen for the server's address), null when unknown.
/// ClientIsNode / ServerIsNode say whether that side is an Imagicle node (detected or given with --server).
/// </summary>
public readonly record struct FlowFacts(
    IpProtocol Transport,
    IpAddress ClientIp, ushort ClientPort,
    IpAddress ServerIp, ushort ServerPort,
    bool IsRtp, bool IsRtcp, bool IsT38, bool IsSip, bool IsTls,
    string? ServerName,
    bool ClientIsNode, bool ServerIsNode);

/// <summary>
/// The classifier's verdict for one flow. Instances are shared between flows with the same verdict: do not
/// compare by reference.
/// </summary>
/// <param name="Service">Service id (e.g. "sip", "cti-tls", "rtp", "dns"), or "unknown".</param>
/// <param name="Applications">Imagicle application ids joined with ';' ("" when no catalogue rule matched). When
/// several rows match equally well, the union of their applications in catalogue order.</param>
/// <param name="Direction">From the Imagicle node's point of view: IN, OUT, NODE (both ends nodes) or NONE (no node).</param>
/// <param name="MatchedRule">Rule id of the catalogue row that allows the flow, or "" when no row allows it.</param>
/// <param name="Entry">The matched catalogue row, or null.</param>
/// <param name="Infrastructure">True for services every server uses (DNS, NTP, DHCP, ICMP, NetBIOS names).</param>
public sealed record FlowClassification(
    string Service,
    string Applications,
    string Direction,
    string MatchedRule,
    CatalogueEntry? Entry,
    bool Infrastructure);
