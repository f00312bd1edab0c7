using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>How one flow fared, as far as the expected-flow matrix and the finding rules care.</summary>
public enum FlowOutcome : byte
{
    /// <summary>Answered (TCP handshake completed or midstream; UDP answered), within its latency budget.</summary>
    Ok,
    /// <summary>TCP SYNs never answered, or a UDP request never answered.</summary>
    Unanswered,
    /// <summary>RST in answer to a SYN, or an ICMP unreachable.</summary>
    Refused,
    /// <summary>Answered, but its TCP handshake round trip is above the vendor's budget.</summary>
    OverBudget,
}

/// <summary>
/// The facts the policy layer shares: the catalogue, the profile (or null), the Imagicle nodes, and
/// per-flow judgements. Known before the first record (the engine settles the nodes first); the capture
/// length is set once the capture ends. Nothing here looks at more than the record it is given.
/// </summary>
public sealed class PolicyContext
{
    private readonly HashSet<IpAddress> _nodes;
    /// <summary>
    /// The nodes as an array, looked through in order when there are few (a site has one to a handful): a
    /// flow is checked several times per rule and requirement, and comparing two or four addresses is cheaper
    /// than hashing one.
    /// </summary>
    private readonly IpAddress[] _nodeList;
    private const int ScanNodes = 8;

    public PolicyContext(PortCatalogue catalogue, DeploymentProfile? profile, IReadOnlyList<Classification.DetectedNode> detected)
    {
        Catalogue = catalogue;
        Profile = profile;
        _nodes = profile is { Nodes.Count: > 0 } ? profile.Nodes.ToHashSet() : detected.Select(n => n.Address).ToHashSet();
        _nodeList = _nodes.ToArray();
        // The smallest budget any SIP transaction can have: a quicker answer needs no look at its flow.
        int min = catalogue.DefaultRtt.SipMs ?? int.MaxValue;
        foreach (var e in catalogue.Entries) if (e.MaxRttMs is { } b && b < min) min = b;
        MinBudgetMs = Math.Min(min, catalogue.DefaultRtt.BetweenNodesMs ?? int.MaxValue);
        Thresholds = profile?.Thresholds ?? PolicyThresholds.For(catalogue);
    }

    /// <summary>The media thresholds judged against: the profile's, else the catalogue's defaults (decided once: rules ask per call and stream).</summary>
    public PolicyThresholds Thresholds { get; }

    public PortCatalogue Catalogue { get; }
    public DeploymentProfile? Profile { get; }
    public IReadOnlySet<IpAddress> Nodes => _nodes;
    /// <summary>Seconds of capture: known at the end (the messages of missing flows and the matrix's details quote it).</summary>
    public double CaptureSeconds { get; internal set; }
    /// <summary>The lowest round-trip budget of any row and of the catalogue's defaults (`defaultRttMs`: SIP 80 ms, between nodes 100 ms built in).</summary>
    public int MinBudgetMs { get; }

    public bool IsNode(IpAddress a)
    {
        var list = _nodeList;
        if (list.Length > ScanNodes) return _nodes.Contains(a);
        for (int i = 0; i < list.Length; i++)
            if (list[i].Hi == a.Hi && list[i].Lo == a.Lo) return true;
        return false;
    }
    public bool TouchesNode(FlowRecord f) => IsNode(f.ClientIp) || IsNode(f.ServerIp);

    /// <summary>The node end of a flow (the server when both are nodes) and the other end.</summary>
    public (IpAddress Node, ushort NodePort, IpAddress Remote, ushort RemotePort) Ends(FlowRecord f)
        => IsNode(f.ServerIp) ? (f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort) : (f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort);

    public CatalogueEntry? RuleOf(FlowRecord f) => f.MatchedRule.Length == 0 ? null : Catalogue.Find(f.MatchedRule);

    /// <summary>The vendor's round-trip budget for the flow's service, in ms: the matched row's figure; any flow between two nodes has the catalogue's `defaultRttMs.betweenNodes` (100 ms).</summary>
    public int? BudgetMs(FlowRecord f)
    {
        int? budget = RuleOf(f)?.MaxRttMs;
        if (budget is null && IsNode(f.ClientIp) && IsNode(f.ServerIp)) budget = Catalogue.DefaultRtt.BetweenNodesMs;
        return budget;
    }

    public FlowOutcome Outcome(FlowRecord f)
    {
        if (f.Transport == IpProtocol.Tcp)
        {
            if (f.TcpState == TcpHandshakeState.Unanswered) return FlowOutcome.Unanswered;
            if (f.TcpState == TcpHandshakeState.Refused) return FlowOutcome.Refused;
            if (BudgetMs(f) is { } b && f.HandshakeRttNs > (long)b * 1_000_000) return FlowOutcome.OverBudget;
            return FlowOutcome.Ok;
        }
        if (f.IcmpUnreachable > 0) return FlowOutcome.Refused;
        if (f.Transport == IpProtocol.Udp && f.PacketsS2C == 0 && IsNode(f.ClientIp) && Catalogue.UdpRequestResponseServices.Contains(f.Service))
            return FlowOutcome.Unanswered;
        return FlowOutcome.Ok;
    }

    /// <summary>Seconds of capture as text for messages ("143.9 s").</summary>
    public string CaptureLengthText => CaptureSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " s";

    // The engine's hints about a flow that the rules read, carried by the record itself.
    internal static string? HttpConnectTarget(FlowRecord f) => f.HttpConnectTarget;
    internal static bool IsHttp(FlowRecord f) => f.IsHttp;
    internal static long AckedUnseen(FlowRecord f) => f.AckedUnseen;
    internal static long DuplicatePackets(FlowRecord f) => f.DuplicatePackets;
}
