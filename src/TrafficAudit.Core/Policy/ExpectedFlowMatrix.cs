using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>
/// One expectation: the vendor rows (alternatives count as one) that the installed applications need
/// with one kind of peer. <see cref="Required"/> is false for rows the vendor calls optional and for
/// connections that exist only when someone acts (the catalogue's `onDemand` rows):
/// those are reported as NOT SEEN (optional) but never as missing.
/// </summary>
public sealed record Requirement
{
    /// <summary>Stable id: the group name, or the rule id when the row stands alone.</summary>
    public required string Id { get; init; }
    /// <summary>What the requirement is, for people ("SIP signalling of Advanced Queuing").</summary>
    public required string Title { get; init; }
    /// <summary>Service ids of the rows, ';'-joined.</summary>
    public required string Service { get; init; }
    public required IReadOnlyList<CatalogueEntry> Rules { get; init; }
    /// <summary>Installed applications that need it, ';'-joined ("all" for every installation).</summary>
    public required string Applications { get; init; }
    /// <summary>Profile role of the peer ("cucm", "mail"...), "nodes" for cluster rows, "any" for media.</summary>
    public required string PeerRole { get; init; }
    public required IReadOnlyList<IpPrefix> Peers { get; init; }
    /// <summary>Transports and ports on the peer's or the listening side, as the vendor lists them ("tcp/8443,8080").</summary>
    public required string Ports { get; init; }
    public required bool Required { get; init; }
    /// <summary>Media is expected only when the capture holds an answered call.</summary>
    public bool NeedsCalls { get; init; }

}

/// <summary>
/// A requirement with what the capture showed: a row of expected_flows.csv. <see cref="FlowIds"/> lists at
/// most <see cref="PolicyLimits.FlowIdsPerRow"/> ids (the lowest); <see cref="FlowCount"/> counts every
/// matching flow (the detail's counts add up to it).
/// </summary>
public sealed record ExpectedFlow(Requirement Requirement, RequirementStatus Status, string Detail, IReadOnlyList<int> FlowIds)
{
    /// <summary>Every flow that matched the requirement, listed or not.</summary>
    public long FlowCount { get; init; } = FlowIds.Count;
}

/// <summary>
/// The expected-flow matrix: from the profile (installed applications, peers by role, nodes) and the
/// catalogue, every flow the vendor's table says should exist, then each marked against the capture.
/// Expectations are per site: one node of an HA pair doing it satisfies the requirement.
/// </summary>
public static class ExpectedFlowMatrix
{
    /// <summary>
    /// The profile role of a row's remote peer (the catalogue's `peerRole`: "nodes" for cluster rows, "any"
    /// for media); null when the profile cannot name it (phones, internet, Microsoft cloud). Which rows are
    /// alternatives (`group`, <see cref="PortCatalogue.GroupOf"/>) and which are on demand (`onDemand`) is
    /// in the catalogue too, so `--catalogue FILE` changes the whole matrix.
    /// </summary>
    public static string? RoleOf(CatalogueEntry e) => e.PeerRole;

    /// <summary>The requirements of a profile, in catalogue order of their first row.</summary>
    public static IReadOnlyList<Requirement> Build(PortCatalogue catalogue, DeploymentProfile profile)
    {
        var byGroup = new Dictionary<string, List<CatalogueEntry>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var e in catalogue.Entries)
        {
            if (!e.Applications.Any(profile.HasApplication)) continue;
            string? role = RoleOf(e);
            if (role is null) continue;
            if (role == "nodes" ? profile.Nodes.Count < 2 : role != "any" && profile.PeersOf(role).Count == 0) continue;
            string group = catalogue.GroupOf(e)?.Id ?? e.Id;
            if (!byGroup.TryGetValue(group, out var list)) { byGroup[group] = list = []; order.Add(group); }
            list.Add(e);
        }
        var result = new List<Requirement>();
        foreach (var id in order)
        {
            var rules = byGroup[id];
            string role = RoleOf(rules[0])!;
            // A group's rows may name different roles (mail-to-fax: mail for IMAP4/POP3, exchange for EWS): its peers are all of theirs.
            var peers = role == "nodes" ? profile.Nodes.Select(n => new IpPrefix(n, n.IsV4 ? 32 : 128)).ToList()
                : role == "any" ? [] : rules.Select(RoleOf).Distinct().SelectMany(r => profile.PeersOf(r!)).ToList();
            var apps = rules.SelectMany(r => r.Applications).Where(profile.HasApplication).Distinct().ToList();
            result.Add(new Requirement
            {
                Id = id,
                Title = catalogue.GroupOf(rules[0])?.Title ?? $"{rules[0].Protocol} ({rules[0].Id})",
                Service = string.Join(';', rules.SelectMany(r => r.Bindings.Select(b => b.Service)).Distinct()),
                Rules = rules,
                Applications = string.Join(';', apps),
                PeerRole = role,
                Peers = peers,
                Ports = string.Join(' ', rules.SelectMany(r => r.Bindings).Select(PortsText).Distinct()),
                Required = rules.Any(r => !r.Optional && !r.OnDemand),
                NeedsCalls = role == "any",
            });
        }
        return result;
    }

    private static string PortsText(CatalogueBinding b)
    {
        string t = b.Transport switch { CatalogueTransport.Udp => "udp", CatalogueTransport.TlsOverTcp => "tls", CatalogueTransport.Icmp => "icmp", _ => "tcp" };
        // The vendor names the listening side; for OUT rows that is the remote peer.
        var ports = b.RemotePorts.IsSpecific && !(b.ImagiclePorts.IsSpecific && b.ImagiclePorts.Count <= b.RemotePorts.Count) ? b.RemotePorts : b.ImagiclePorts;
        return $"{t}/{ports}";
    }

    /// <summary>True when the flow is one of the requirement's: a row's binding fits its ports and the remote end is one of the peers.</summary>
    public static bool Matches(Requirement q, FlowRecord f, PolicyContext ctx)
    {
        if (!ctx.TouchesNode(f)) return false;
        return Matches(q, f, NodeEnds.Of(ctx, f));
    }

    /// <summary>What <see cref="Matches(Requirement, FlowRecord, PolicyContext)"/> asks of the nodes about a flow touching one, asked once per flow (not once per requirement).</summary>
    internal readonly record struct NodeEnds(bool BothNodes, ushort NodePort, IpAddress Remote, ushort RemotePort)
    {
        public static NodeEnds Of(PolicyContext ctx, FlowRecord f)
        {
            bool clientIsNode = ctx.IsNode(f.ClientIp), serverIsNode = ctx.IsNode(f.ServerIp);
            // As PolicyContext.Ends: the node end is the server when the server is a node.
            return serverIsNode
                ? new(clientIsNode, f.ServerPort, f.ClientIp, f.ClientPort)
                : new(false, f.ClientPort, f.ServerIp, f.ServerPort);
        }
    }

    /// <summary><see cref="Matches(Requirement, FlowRecord, PolicyContext)"/> for a flow touching a node, whose ends are <paramref name="ends"/>.</summary>
    internal static bool Matches(Requirement q, FlowRecord f, in NodeEnds ends) => new Matcher(q).Matches(f, ends);

    /// <summary>
    /// A requirement in the form the matrix checks every flow against: its role compared once, its peers, rows
    /// and bindings in arrays (read without interface calls: this runs for every flow and requirement).
    /// </summary>
    internal sealed class Matcher
    {
        private readonly bool _nodesRow, _checkPeers;
        private readonly IpPrefix[] _peers;
        private readonly string[] _ruleIds;
        private readonly CatalogueBinding[][] _bindings;

        public Matcher(Requirement q)
        {
            Requirement = q;
            _nodesRow = q.PeerRole == "nodes";
            _checkPeers = q.PeerRole is not ("any" or "nodes");
            _peers = q.Peers.ToArray();
            _ruleIds = q.Rules.Select(r => r.Id).ToArray();
            _bindings = q.Rules.Select(r => r.Bindings.ToArray()).ToArray();
        }

        public Requirement Requirement { get; }

        /// <summary>True when the flow (touching a node, whose ends are <paramref name="ends"/>) is one of the requirement's.</summary>
        public bool Matches(FlowRecord f, in NodeEnds ends)
        {
            if (_nodesRow != ends.BothNodes) return false;
            if (_checkPeers && !AnyContains(_peers, ends.Remote)) return false;
            for (int i = 0; i < _ruleIds.Length; i++)
            {
                if (_ruleIds[i] == f.MatchedRule) return true;
                var bindings = _bindings[i];
                for (int j = 0; j < bindings.Length; j++)
                    if (BindingFits(bindings[j], f, ends.NodePort, ends.RemotePort)) return true;
            }
            return false;
        }

        private static bool AnyContains(IpPrefix[] prefixes, IpAddress a)
        {
            for (int i = 0; i < prefixes.Length; i++)
                if (prefixes[i].Contains(a)) return true;
            return false;
        }
    }

    private static bool BindingFits(CatalogueBinding b, FlowRecord f, ushort nodePort, ushort remotePort)
    {
        bool transport = b.Transport switch
        {
            CatalogueTransport.Udp => f.Transport == IpProtocol.Udp,
            CatalogueTransport.Tcp or CatalogueTransport.TlsOverTcp => f.Transport == IpProtocol.Tcp,
            _ => false,
        };
        if (!transport) return false;
        if (b.PayloadOnly) return f.Service == b.Service;
        // PMS Link: the vendor gives no port; any connection with the PMS is one.
        if (b.ImagiclePorts.IsUnspecified && b.RemotePorts.IsUnspecified) return true;
        return b.ImagiclePorts.Contains(nodePort) && b.RemotePorts.Contains(remotePort);
    }
}

/// <summary>
/// The expected-flow matrix kept up to date record by record: per requirement the counts of ok,
/// unanswered, refused and over-budget flows and the lowest flow ids (at most a cap; the counts stay
/// whole); per capture the calls with one-way media touching a node and whether any call was answered.
/// A flow costs one check per requirement (a profile has a few dozen); nothing is kept per flow.
/// </summary>
public sealed class MatrixAccumulator
{
    private readonly IReadOnlyList<Requirement> _requirements;
    private readonly ExpectedFlowMatrix.Matcher[] _matchers;
    private readonly Row[] _rows;
    private long _oneWayCalls;
    private bool _answeredCall;

    public MatrixAccumulator(IReadOnlyList<Requirement> requirements, int maxFlowIdsPerRow)
    {
        _requirements = requirements;
        _matchers = requirements.Select(q => new ExpectedFlowMatrix.Matcher(q)).ToArray();
        _rows = new Row[requirements.Count];
        for (int i = 0; i < _rows.Length; i++) _rows[i] = new Row(maxFlowIdsPerRow);
    }

    /// <summary>A copy to add a live snapshot's open records to, leaving this one as it is.</summary>
    public MatrixAccumulator Clone()
    {
        var c = new MatrixAccumulator(_requirements, 1) { _oneWayCalls = _oneWayCalls, _answeredCall = _answeredCall };
        for (int i = 0; i < _rows.Length; i++) c._rows[i] = _rows[i].Clone();
        return c;
    }

    /// <summary>Checks made (one per requirement and flow touching a node): the work the matrix did.</summary>
    public long Operations { get; private set; }

    public void OnFlow(PolicyContext ctx, FlowRecord f)
    {
        if (!ctx.TouchesNode(f)) return;
        var ends = ExpectedFlowMatrix.NodeEnds.Of(ctx, f);
        FlowOutcome? outcome = null;
        for (int i = 0; i < _rows.Length; i++)
        {
            Operations++;
            if (!_matchers[i].Matches(f, ends)) continue;
            var row = _rows[i];
            row.Ids.Add(f.FlowId);
            switch (outcome ??= ctx.Outcome(f))
            {
                case FlowOutcome.Ok: row.Ok++; break;
                case FlowOutcome.Unanswered: row.Unanswered++; break;
                case FlowOutcome.Refused: row.Refused++; break;
                case FlowOutcome.OverBudget: row.Over++; break;
            }
        }
    }

    public void OnCall(PolicyContext ctx, CallRecord c)
    {
        if (c.Sip.Answered) _answeredCall = true;
        if (FindingRules.IsOneWayProblem(ctx, c) && FindingRules.CallTouchesNode(ctx, c)) _oneWayCalls++;
    }

    /// <summary>The rows of expected_flows.csv as they stand (the accumulator is not changed); <paramref name="idsCut"/> counts rows whose id list was cut.</summary>
    public IReadOnlyList<ExpectedFlow> Rows(PolicyContext ctx, out long idsCut)
    {
        idsCut = 0;
        var rows = new List<ExpectedFlow>(_rows.Length);
        for (int r = 0; r < _rows.Length; r++)
        {
            var q = _requirements[r];
            var a = _rows[r];
            long seen = a.Ok + a.Unanswered + a.Refused + a.Over;
            var parts = new List<string>();
            if (a.Ok > 0) parts.Add($"{a.Ok} ok");
            if (a.Unanswered > 0) parts.Add($"{a.Unanswered} unanswered");
            if (a.Refused > 0) parts.Add($"{a.Refused} refused");
            if (a.Over > 0) parts.Add($"{a.Over} over the RTT budget");
            var failures = RequirementFailure.None;
            if (a.Unanswered > 0) failures |= RequirementFailure.Blocked;
            if (a.Refused > 0) failures |= RequirementFailure.Refused;
            if (a.Over > 0) failures |= RequirementFailure.OverBudget;
            if (q.NeedsCalls && seen > 0 && _oneWayCalls > 0) { failures |= RequirementFailure.OneWay; parts.Add($"{_oneWayCalls} call(s) with one-way media"); }
            // The one place that decides the state; missing_flow is raised exactly for NOT SEEN (required).
            RequirementStatus status = seen > 0
                ? failures == RequirementFailure.None ? RequirementStatus.Pass : RequirementStatus.Fail(failures)
                : !q.Required ? RequirementStatus.NotSeenOptional
                : q.NeedsCalls && !_answeredCall ? RequirementStatus.NotExpected
                : RequirementStatus.NotSeenRequired;
            string detail = seen > 0 ? string.Join(", ", parts)
                : !q.Required ? "optional or on demand: not observed"
                : q.NeedsCalls && !_answeredCall ? "no answered call in the capture"
                : $"not observed in {ctx.CaptureLengthText} of capture";
            var ids = a.Ids.Result();
            if (a.Ids.Cut) idsCut++;
            rows.Add(new ExpectedFlow(q, status, detail, ids) { FlowCount = seen });
        }
        return rows;
    }

    private sealed class Row(int maxIds)
    {
        public long Ok, Unanswered, Refused, Over;
        public Smallest<int> Ids = new(maxIds, Comparer<int>.Default, distinct: true);

        public Row Clone() => new(1) { Ok = Ok, Unanswered = Unanswered, Refused = Refused, Over = Over, Ids = Ids.Clone() };
    }
}
