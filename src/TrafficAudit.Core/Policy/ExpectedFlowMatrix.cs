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

/// <summary>A requirement with what the capture showed: a row of expected_flows.csv.</summary>
public sealed record ExpectedFlow(Requirement Requirement, RequirementStatus Status, string Detail, IReadOnlyList<int> FlowIds);

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
        bool bothNodes = ctx.IsNode(f.ClientIp) && ctx.IsNode(f.ServerIp);
        if (q.PeerRole == "nodes" != bothNodes) return false;
        var (_, nodePort, remote, remotePort) = ctx.Ends(f);
        if (q.PeerRole is not ("any" or "nodes") && !q.Peers.Any(p => p.Contains(remote))) return false;
        foreach (var rule in q.Rules)
        {
            if (rule.Id == f.MatchedRule) return true;
            foreach (var b in rule.Bindings)
                if (BindingFits(b, f, nodePort, remotePort)) return true;
        }
        return false;
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

    /// <summary>Marks each requirement against the capture's flows.</summary>
    public static IReadOnlyList<ExpectedFlow> Evaluate(IReadOnlyList<Requirement> requirements, PolicyContext ctx)
    {
        var rows = new List<ExpectedFlow>(requirements.Count);
        foreach (var q in requirements)
        {
            var ids = new List<int>();
            int ok = 0, unanswered = 0, refused = 0, over = 0;
            foreach (var f in ctx.Result.Flows)
            {
                if (!Matches(q, f, ctx)) continue;
                ids.Add(f.FlowId);
                switch (ctx.Outcome(f))
                {
                    case FlowOutcome.Ok: ok++; break;
                    case FlowOutcome.Unanswered: unanswered++; break;
                    case FlowOutcome.Refused: refused++; break;
                    case FlowOutcome.OverBudget: over++; break;
                }
            }
            var parts = new List<string>();
            if (ok > 0) parts.Add($"{ok} ok");
            if (unanswered > 0) parts.Add($"{unanswered} unanswered");
            if (refused > 0) parts.Add($"{refused} refused");
            if (over > 0) parts.Add($"{over} over the RTT budget");
            var failures = RequirementFailure.None;
            if (unanswered > 0) failures |= RequirementFailure.Blocked;
            if (refused > 0) failures |= RequirementFailure.Refused;
            if (over > 0) failures |= RequirementFailure.OverBudget;
            if (q.NeedsCalls && ids.Count > 0)
            {
                int oneWay = ctx.Result.Calls.Count(c => FindingRules.IsOneWayProblem(ctx, c) && FindingRules.CallTouchesNode(ctx, c));
                if (oneWay > 0) { failures |= RequirementFailure.OneWay; parts.Add($"{oneWay} call(s) with one-way media"); }
            }
            // The one place that decides the state; missing_flow is raised exactly for NOT SEEN (required).
            RequirementStatus status = ids.Count > 0
                ? failures == RequirementFailure.None ? RequirementStatus.Pass : RequirementStatus.Fail(failures)
                : !q.Required ? RequirementStatus.NotSeenOptional
                : q.NeedsCalls && !HasAnsweredCall(ctx) ? RequirementStatus.NotExpected
                : RequirementStatus.NotSeenRequired;
            string detail = ids.Count > 0 ? string.Join(", ", parts)
                : !q.Required ? "optional or on demand: not observed"
                : q.NeedsCalls && !HasAnsweredCall(ctx) ? "no answered call in the capture"
                : $"not observed in {ctx.CaptureLengthText} of capture";
            rows.Add(new ExpectedFlow(q, status, detail, ids));
        }
        return rows;
    }

    public static bool HasAnsweredCall(PolicyContext ctx) => ctx.Result.Calls.Any(c => c.Sip.Answered);
}
