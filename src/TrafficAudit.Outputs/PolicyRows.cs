using System.Globalization;
using CsvHelper;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Outputs;

/// <summary>
/// A row of findings.csv, one per problem. The first 19 columns are the contract, in this order:
/// finding_id (1-based, in order of first occurrence); severity (error, warning, info); kind
/// (unexpected_flow, missing_flow, blocked_flow, refused_flow, over_latency, slow_response, one_way_media,
/// over_bandwidth, high_jitter, packet_loss, proxy_in_use, capture_loss, duplicate_packets); service
/// (catalogue service id); applications (';'-joined); client_ip, client_port, server_ip, server_port
/// (the conversation; empty when the finding is not about one); transport; first_seen (UTC ISO 8601 µs,
/// empty for missing flows); count (occurrences merged into this row: flows, transactions, streams,
/// calls); measured and threshold (in unit; empty when the kind has no figure); unit (ms, kbit/s, %,
/// packets, syn...); method (how the figure or fact was obtained); rule (catalogue rule id of the vendor
/// table row); message; wireshark_filter (a display filter that isolates the evidence). Added:
/// flow_ids (flows.csv ids of the evidence, ';'-joined); nodes (the Imagicle nodes the finding involves,
/// ';'-joined; empty when none does, e.g. a bad call between a gateway and a phone); evidence_file (with
/// --evidence, the finding's pcapng under the output folder, e.g. evidence/finding-3.pcapng; empty without one).
/// </summary>
[CsvRecord]
public sealed partial class FindingRow
{
    [CsvColumn("finding_id")] public int FindingId { get; set; }
    [CsvColumn("severity")] public string Severity { get; set; } = "";
    [CsvColumn("kind")] public string Kind { get; set; } = "";
    [CsvColumn("service")] public string Service { get; set; } = "";
    [CsvColumn("applications")] public string Applications { get; set; } = "";
    [CsvColumn("client_ip")] public string ClientIp { get; set; } = "";
    [CsvColumn("client_port")] public string ClientPort { get; set; } = "";
    [CsvColumn("server_ip")] public string ServerIp { get; set; } = "";
    [CsvColumn("server_port")] public string ServerPort { get; set; } = "";
    [CsvColumn("transport")] public string Transport { get; set; } = "";
    [CsvColumn("first_seen")] public string FirstSeen { get; set; } = "";
    [CsvColumn("count")] public int Count { get; set; }
    [CsvColumn("measured")] public string Measured { get; set; } = "";
    [CsvColumn("threshold")] public string Threshold { get; set; } = "";
    [CsvColumn("unit")] public string Unit { get; set; } = "";
    [CsvColumn("method")] public string Method { get; set; } = "";
    [CsvColumn("rule")] public string Rule { get; set; } = "";
    [CsvColumn("message")] public string Message { get; set; } = "";
    [CsvColumn("wireshark_filter")] public string WiresharkFilter { get; set; } = "";
    [CsvColumn("flow_ids")] public string FlowIds { get; set; } = "";
    [CsvColumn("nodes")] public string Nodes { get; set; } = "";
    [CsvColumn("evidence_file")] public string EvidenceFile { get; set; } = "";

    public static FindingRow From(Finding f, int index) => From(f, index, null);

    /// <summary>The row of <paramref name="f"/>; with an anonymizer, addresses (also inside the message and the filter) and SIP users are pseudonyms.</summary>
    public static FindingRow From(Finding f, int index, Anonymizer? anonymizer) => new()
    {
        FindingId = index + 1,
        Severity = SeverityName(f.Severity),
        Kind = f.Kind,
        Service = f.Service,
        Applications = f.Applications,
        ClientIp = f.ClientIp is { } c ? anonymizer?.Ip(c) ?? c.ToString() : "",
        ClientPort = f.ClientPort?.ToString(CultureInfo.InvariantCulture) ?? "",
        ServerIp = f.ServerIp is { } sv ? anonymizer?.Ip(sv) ?? sv.ToString() : "",
        ServerPort = f.ServerPort?.ToString(CultureInfo.InvariantCulture) ?? "",
        Transport = f.Transport,
        FirstSeen = f.FirstSeenNs == 0 ? "" : NsTime.Iso(f.FirstSeenNs),
        Count = f.Count,
        Measured = Number(f.Measured),
        Threshold = Number(f.Threshold),
        Unit = f.Unit,
        Method = f.Method,
        Rule = f.Rule,
        Message = anonymizer?.Text(f.Message) ?? f.Message,
        WiresharkFilter = anonymizer?.Text(f.WiresharkFilter) ?? f.WiresharkFilter,
        FlowIds = string.Join(';', f.FlowIds),
        Nodes = string.Join(';', f.Nodes.Select(n => anonymizer?.Ip(n) ?? n.ToString())),
    };

    public static string SeverityName(FindingSeverity s) => s switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "info",
    };

    /// <summary>Up to 3 decimals, no trailing zeros ("161.763", "80", "1.5").</summary>
    private static string Number(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("0.###", CultureInfo.InvariantCulture) : "";
}

/// <summary>
/// A row of expected_flows.csv, the expected-flow matrix. Columns: service (catalogue service ids of
/// the requirement, ';'-joined); applications (installed applications that need it); peer (profile
/// role and addresses, "nodes" for cluster rows, "any" for media); ports (transport/ports as the vendor
/// lists them, alternatives space-separated); status (the requirement's state in the words every output
/// uses: PASS, FAIL (blocked, refused, over budget, one-way), NOT SEEN (required), NOT SEEN (optional),
/// NOT EXPECTED; see <see cref="RequirementStatus"/>); evidence_flow_ids
/// (flows.csv ids, ';'-joined). Added: requirement (stable id), title, required (false for optional
/// and on-demand rows, which are never missing), rules (catalogue rule ids), detail (counts of ok,
/// unanswered, refused and over-budget flows, or why nothing was expected).
/// </summary>
[CsvRecord]
public sealed partial class ExpectedFlowRow
{
    [CsvColumn("service")] public string Service { get; set; } = "";
    [CsvColumn("applications")] public string Applications { get; set; } = "";
    [CsvColumn("peer")] public string Peer { get; set; } = "";
    [CsvColumn("ports")] public string Ports { get; set; } = "";
    [CsvColumn("status")] public string Status { get; set; } = "";
    [CsvColumn("evidence_flow_ids")] public string EvidenceFlowIds { get; set; } = "";
    [CsvColumn("requirement")] public string Requirement { get; set; } = "";
    [CsvColumn("title")] public string Title { get; set; } = "";
    [CsvColumn("required")] public bool Required { get; set; }
    [CsvColumn("rules")] public string Rules { get; set; } = "";
    [CsvColumn("detail")] public string Detail { get; set; } = "";

    public static ExpectedFlowRow From(ExpectedFlow e) => From(e, null);

    public static ExpectedFlowRow From(ExpectedFlow e, Anonymizer? anonymizer) => new()
    {
        Service = e.Requirement.Service,
        Applications = e.Requirement.Applications,
        Peer = e.Requirement.PeerRole is "any" or "nodes" ? e.Requirement.PeerRole
            : e.Requirement.PeerRole + " " + string.Join(' ', e.Requirement.Peers.Select(p => anonymizer?.Text(PeerText(p)) ?? PeerText(p))),
        Ports = e.Requirement.Ports,
        Status = e.Status.Label,
        EvidenceFlowIds = string.Join(';', e.FlowIds),
        Requirement = e.Requirement.Id,
        Title = e.Requirement.Title,
        Required = e.Requirement.Required,
        Rules = string.Join(';', e.Requirement.Rules.Select(r => r.Id)),
        Detail = anonymizer?.Text(e.Detail) ?? e.Detail,
    };

    private static string PeerText(TrafficAudit.Catalogue.IpPrefix p)
        => p.PrefixLength == (p.Network.IsV4 ? 32 : 128) ? p.Network.ToString() : p.ToString();
}
