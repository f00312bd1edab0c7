using TrafficAudit.Decode;

namespace TrafficAudit.Policy;

/// <summary>How bad a finding is. Ordered: a level includes everything above it (<c>--fail-on warning</c> fails on warnings and errors).</summary>
public enum FindingSeverity : byte { Info, Warning, Error }

/// <summary>
/// The finding kinds (findings.csv `kind`), with their severity. Errors break a requirement of the
/// vendor's table (a needed flow missing, blocked, refused, too slow, or media lost one way); warnings
/// degrade service or contradict the vendor's advice without breaking a requirement; infos are about
/// the capture itself, so that engineers do not blame the network for capture artefacts.
/// </summary>
public static class FindingKinds
{
    public const string UnexpectedFlow = "unexpected_flow";
    public const string MissingFlow = "missing_flow";
    public const string BlockedFlow = "blocked_flow";
    public const string RefusedFlow = "refused_flow";
    public const string OverLatency = "over_latency";
    public const string SlowResponse = "slow_response";
    public const string OneWayMedia = "one_way_media";
    public const string OverBandwidth = "over_bandwidth";
    public const string HighJitter = "high_jitter";
    public const string PacketLoss = "packet_loss";
    public const string LowMos = "low_mos";
    public const string ProxyInUse = "proxy_in_use";
    public const string CaptureLoss = "capture_loss";
    public const string DuplicatePackets = "duplicate_packets";

    public static IReadOnlyList<string> All { get; } =
    [
        UnexpectedFlow, MissingFlow, BlockedFlow, RefusedFlow, OverLatency, SlowResponse, OneWayMedia,
        OverBandwidth, HighJitter, PacketLoss, LowMos, ProxyInUse, CaptureLoss, DuplicatePackets,
    ];

    /// <summary>Call-quality kinds: judged for every call and stream of the capture, whether an Imagicle node takes part or not.</summary>
    public static IReadOnlySet<string> Quality { get; } = new HashSet<string>(StringComparer.Ordinal) { OneWayMedia, HighJitter, PacketLoss, LowMos };

    public static FindingSeverity SeverityOf(string kind) => kind switch
    {
        MissingFlow or BlockedFlow or RefusedFlow or OverLatency or OneWayMedia => FindingSeverity.Error,
        UnexpectedFlow or SlowResponse or OverBandwidth or HighJitter or PacketLoss or LowMos or ProxyInUse => FindingSeverity.Warning,
        _ => FindingSeverity.Info,
    };
}

/// <summary>
/// One problem, with its evidence: a row of findings.csv. Occurrences of the same kind in the same
/// conversation (transport, client address, server address, server port; the client port changes on
/// every retry) are one finding with a <see cref="Count"/>; <see cref="Key"/> is that identity.
/// </summary>
public sealed record Finding
{
    public required string Kind { get; init; }
    /// <summary>The kind's severity, unless the finding rests on a node detected with weak evidence (then at most a warning).</summary>
    public FindingSeverity Severity => SeverityOverride ?? FindingKinds.SeverityOf(Kind);
    /// <summary>Set when the finding's severity is not its kind's (a finding that depends on a weakly detected node is a warning).</summary>
    public FindingSeverity? SeverityOverride { get; init; }
    /// <summary>The Imagicle nodes the finding involves (empty: no node takes part, e.g. a bad call between a gateway and a phone).</summary>
    public IReadOnlyList<IpAddress> Nodes { get; init; } = [];
    /// <summary>Catalogue service id, or a requirement name for missing flows; empty for capture-wide findings.</summary>
    public string Service { get; init; } = "";
    public string Applications { get; init; } = "";
    public IpAddress? ClientIp { get; init; }
    public int? ClientPort { get; init; }
    public IpAddress? ServerIp { get; init; }
    public int? ServerPort { get; init; }
    /// <summary>tcp, udp, icmp... or empty.</summary>
    public string Transport { get; init; } = "";
    /// <summary>Capture time of the first occurrence (ns since the epoch); 0 when not tied to a time (missing flows).</summary>
    public long FirstSeenNs { get; init; }
    public int Count { get; init; } = 1;
    /// <summary>The measured figure and the limit it broke, in <see cref="Unit"/>; null when the kind has none.</summary>
    public double? Measured { get; init; }
    public double? Threshold { get; init; }
    public string Unit { get; init; } = "";
    /// <summary>How the figure or the fact was obtained ("TCP handshake (SYN to first ACK)", "RTCP LSR/DLSR"...).</summary>
    public string Method { get; init; } = "";
    /// <summary>Catalogue rule id (the vendor table row) the finding comes from, when there is one.</summary>
    public string Rule { get; init; } = "";
    public required string Message { get; init; }
    /// <summary>A Wireshark display filter that isolates the evidence.</summary>
    public string WiresharkFilter { get; init; } = "";
    /// <summary>flows.csv flow ids of the evidence.</summary>
    public IReadOnlyList<int> FlowIds { get; init; } = [];
    /// <summary>
    /// The records behind the finding, for cutting its evidence out of the capture (--evidence): each a
    /// <see cref="Pipeline.FlowRecord"/>, <see cref="Analyzers.Sip.SipTransactionStat"/>,
    /// <see cref="Pipeline.CallRecord"/> or <see cref="Pipeline.RtpStreamRecord"/>; every merged occurrence's.
    /// Empty for findings about the whole capture or about something absent.
    /// </summary>
    public IReadOnlyList<object> Subjects { get; init; } = [];

    /// <summary>
    /// The de-duplication identity: kind, vendor rule and conversation (the client port is left out on
    /// purpose). The rule is part of it so that findings of different requirements (SIP presence 5064 and
    /// Call Recording 5070 missing towards one CUCM) are never merged.
    /// </summary>
    public string Key => $"{Kind}|{Rule}|{Transport}|{ClientIp}|{ServerIp}|{ServerPort}|{(ServerIp is null ? Service : "")}";
}
