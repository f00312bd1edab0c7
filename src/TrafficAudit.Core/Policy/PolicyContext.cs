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
/// The facts the policy layer shares: the audit result, the catalogue, the profile (or null), the
/// Imagicle nodes, and per-flow judgements. Built once per audit, after the capture; nothing here runs
/// per packet.
/// </summary>
public sealed class PolicyContext
{
    private readonly HashSet<IpAddress> _nodes;

    public PolicyContext(AuditResult result, PortCatalogue catalogue, DeploymentProfile? profile)
    {
        Result = result;
        Catalogue = catalogue;
        Profile = profile;
        _nodes = profile is { Nodes.Count: > 0 } ? profile.Nodes.ToHashSet() : result.Nodes.Select(n => n.Address).ToHashSet();
        CaptureSeconds = result.Statistics.Duration.TotalSeconds;
    }

    public AuditResult Result { get; }
    public PortCatalogue Catalogue { get; }
    public DeploymentProfile? Profile { get; }
    public IReadOnlySet<IpAddress> Nodes => _nodes;
    public double CaptureSeconds { get; }

    public bool IsNode(IpAddress a) => _nodes.Contains(a);
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

    private Dictionary<(IpAddress, ushort, IpAddress, ushort), int>? _udpIndex;

    /// <summary>
    /// The first UDP flow (in flows.csv order) between these two ends, either way round, or null. Indexed on
    /// first use, so a finding per stream does not scan every flow.
    /// </summary>
    public FlowRecord? UdpFlow(IpAddress a, ushort aPort, IpAddress b, ushort bPort)
    {
        var flows = Result.Flows;
        if (_udpIndex is null)
        {
            _udpIndex = new();
            for (int i = 0; i < flows.Count; i++)
            {
                var f = flows[i];
                if (f.Transport != IpProtocol.Udp) continue;
                _udpIndex.TryAdd((f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort), i);
                _udpIndex.TryAdd((f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort), i);
            }
        }
        return _udpIndex.TryGetValue((a, aPort, b, bPort), out int at) ? flows[at] : null;
    }

    /// <summary>Seconds of capture as text for messages ("143.9 s").</summary>
    public string CaptureLengthText => CaptureSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " s";
}
