using System.Globalization;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Classification;

/// <summary>
/// One observed flow, as the node detector needs it. Client is the side that opened the flow (TCP SYN
/// sender; for UDP the first sender). <paramref name="Answered"/>: the server replied (TCP handshake
/// completed, or UDP packets seen in both directions). Packet counts are per direction.
/// <paramref name="Rtp"/>: the flow's packets were validated as RTP.
/// </summary>
public readonly record struct ObservedFlow(
    IpProtocol Transport,
    IpAddress ClientIp, ushort ClientPort,
    IpAddress ServerIp, ushort ServerPort,
    bool Answered,
    long PacketsFromClient, long PacketsFromServer,
    bool Rtp = false);

/// <summary>Where the node list came from: the profile's "nodes", --server, or detection from the capture.</summary>
public enum NodeSource : byte { Detected, Server, Profile }

/// <summary>How sure the node is: given by the user, or detected with strong or weak evidence (catalogue `nodeEvidence`).</summary>
public enum NodeConfidence : byte { Weak, Strong, Given }

/// <summary>An Imagicle node, where it came from, why we think so and how sure we are.</summary>
public sealed record DetectedNode(IpAddress Address, string Reason, NodeSource Source = NodeSource.Detected,
    NodeConfidence Confidence = NodeConfidence.Strong, int Score = 0)
{
    /// <summary>Given by the user (--server or the profile), not detected.</summary>
    public bool Explicit => Source != NodeSource.Detected;

    /// <summary>"given in the profile", "given with --server", or "strong evidence (score 3): ...".</summary>
    public string Evidence => Source switch
    {
        NodeSource.Profile => "given in the profile's \"nodes\"",
        NodeSource.Server => "given with --server",
        _ => string.Create(CultureInfo.InvariantCulture, $"{(Confidence == NodeConfidence.Strong ? "strong" : "weak")} evidence (score {Score}): {Reason}"),
    };

    /// <summary>How a list of nodes is introduced: "given in the profile", "given with --server", "detected".</summary>
    public static string SourceText(NodeSource s) => s switch
    {
        NodeSource.Profile => "given in the profile",
        NodeSource.Server => "given with --server",
        _ => "detected",
    };
}

/// <summary>
/// Decides which hosts are Imagicle nodes from evidence only an Imagicle node gives. The knowledge is in
/// the catalogue (`nodeEvidence`: which ports, which behaviour, how much each weighs), not here. Feed
/// every flow to <see cref="Observe"/> (cheap; only flows a rule cares about are remembered) and call
/// <see cref="Decide"/> when the nodes are needed; observing more flows and deciding again only adds evidence
/// (the engine decides once its hold of ended flows is full, then again at each sweep).
///
/// Each rule adds its score once per distinct port a host shows (once for answers-with-media). A host is
/// a node when its score reaches the catalogue's nodeScore; at strongScore its evidence is strong,
/// below it weak. With the built-in catalogue, one Imagicle SIP port alone (1) is never a node: a public
/// SIP provider answering on 5070 is not an Imagicle recorder. Two of the suite's SIP ports, or one
/// answered with the host's own RTP, are a node with weak evidence; the CTI ports or HA IPC towards a
/// node are strong. A host whose address is routed on the internet (not RFC 1918, CGNAT, link-local or
/// IPv6 unique local) needs strong evidence. A flow counts only when it was answered. Explicit nodes (--server, profile) bypass
/// detection entirely.
/// </summary>
public sealed class NodeDetector(NodeEvidenceRules rules)
{
    private readonly NodeEvidenceRules _rules = rules;
    // One bit per TCP and per UDP port that some rule's ports hold: a flow with neither end on one matches no rule, and
    // most flows (web, DNS, directory, mail) leave here without the loop over the rules.
    private readonly ulong[] _tcpPorts = PortsOf(rules, IpProtocol.Tcp);
    private readonly ulong[] _udpPorts = PortsOf(rules, IpProtocol.Udp);
    // (host, rule, port, serving?) -> distinct peers.
    private readonly Dictionary<(IpAddress Host, NodeEvidenceRule Rule, ushort Port, bool Serving), HashSet<IpAddress>> _evidence = [];
    // (server, client, rule, port) of cluster flows, resolved in Decide once the first-level nodes are known.
    private readonly HashSet<(IpAddress Server, IpAddress Client, NodeEvidenceRule Rule, ushort Port)> _cluster = [];
    // Hosts that sent RTP, with the number of RTP flows they sent on.
    private readonly Dictionary<IpAddress, int> _rtpSenders = [];

    /// <summary>Changes whenever an observed flow added evidence: a <see cref="Decide"/> at the same version gives the same nodes.</summary>
    public long Version { get; private set; }

    /// <summary>Records one flow; ignores flows no rule cares about or that were not answered.</summary>
    public void Observe(in ObservedFlow f)
    {
        if (f.Transport is not (IpProtocol.Tcp or IpProtocol.Udp) || f.ClientIp == f.ServerIp) return;
        if (f.Rtp)
        {
            if (f.PacketsFromClient > 0) _rtpSenders[f.ClientIp] = _rtpSenders.GetValueOrDefault(f.ClientIp) + 1;
            if (f.PacketsFromServer > 0) _rtpSenders[f.ServerIp] = _rtpSenders.GetValueOrDefault(f.ServerIp) + 1;
            Version++;
            return;
        }
        bool answered = f.Answered || (f.PacketsFromClient > 0 && f.PacketsFromServer > 0);
        if (!answered) return;
        var ports = f.Transport == IpProtocol.Tcp ? _tcpPorts : _udpPorts;
        if (!Holds(ports, f.ServerPort) && !Holds(ports, f.ClientPort)) return;
        var rules = _rules.Rules;
        // By index: a foreach over the interface would allocate an enumerator per flow.
        for (int i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            switch (rule.Kind)
            {
                case NodeEvidenceKind.Serves or NodeEvidenceKind.ServesOrSends when rule.Fits(f.Transport, f.ServerPort):
                    Add(f.ServerIp, rule, f.ServerPort, serving: true, f.ClientIp);
                    return;
                // An Imagicle trunk calling out from its own port; when both ends use the same port
                // (the vendor lists 5062-5062), only the answering server counts.
                case NodeEvidenceKind.ServesOrSends when rule.Fits(f.Transport, f.ClientPort) && f.ClientPort != f.ServerPort:
                    Add(f.ClientIp, rule, f.ClientPort, serving: false, f.ServerIp);
                    return;
                case NodeEvidenceKind.ClusterPeer or NodeEvidenceKind.ClusterConfirm when rule.Fits(f.Transport, f.ServerPort):
                    if (_cluster.Add((f.ServerIp, f.ClientIp, rule, f.ServerPort))) Version++;
                    return;
            }
        }
    }

    private static bool Holds(ulong[] bits, ushort port) => (bits[port >> 6] & (1UL << (port & 63))) != 0;

    /// <summary>The ports of <paramref name="transport"/> that a rule with ports (every kind but answers-with-media) may fit (<see cref="NodeEvidenceRule.Fits"/>).</summary>
    private static ulong[] PortsOf(NodeEvidenceRules rules, IpProtocol transport)
    {
        var bits = new ulong[65536 / 64];
        foreach (var rule in rules.Rules)
        {
            if (!rule.Ports.IsSpecific || rule.Kind == NodeEvidenceKind.AnswersWithMedia) continue;
            foreach (var r in rule.Ports.Ranges)
                for (int port = r.First; port <= r.Last; port++)
                    if (rule.Fits(transport, (ushort)port)) bits[port >> 6] |= 1UL << (port & 63);
        }
        return bits;
    }

    private void Add(IpAddress host, NodeEvidenceRule rule, ushort port, bool serving, IpAddress peer)
    {
        if (!_evidence.TryGetValue((host, rule, port, serving), out var peers)) _evidence[(host, rule, port, serving)] = peers = [];
        if (peers.Add(peer)) Version++;
    }

    /// <summary>
    /// The nodes, sorted by address. With <paramref name="explicitServers"/> not empty, exactly those
    /// addresses are returned (their <paramref name="source"/>: --server or the profile) and the observed flows are not used.
    /// </summary>
    public IReadOnlyList<DetectedNode> Decide(IReadOnlyCollection<IpAddress>? explicitServers = null, NodeSource source = NodeSource.Server)
    {
        if (explicitServers is { Count: > 0 })
        {
            var given = source == NodeSource.Detected ? NodeSource.Server : source;
            var addresses = new List<IpAddress>(new HashSet<IpAddress>(explicitServers));
            addresses.Sort();
            var list = new List<DetectedNode>(addresses.Count);
            foreach (var a in addresses) list.Add(new DetectedNode(a, DetectedNode.SourceText(given), given, NodeConfidence.Given));
            return list;
        }

        // Plain loops and sorts of reference-typed items, no LINQ: LINQ over these value-typed keys has no
        // precompiled code in the ReadyToRun image, and the JIT compiled some 60 methods at its first use (issue 12).
        var hosts = new Dictionary<IpAddress, HostEvidence>();
        HostEvidence Of(IpAddress a) => hosts.TryGetValue(a, out var h) ? h : hosts[a] = new HostEvidence();

        // By rule name, the serving side first, then port; equal keys keep the order they were found in.
        var evidence = new List<Ranked<(IpAddress Host, NodeEvidenceRule Rule, ushort Port, bool Serving)>>(_evidence.Count);
        foreach (var (key, peers) in _evidence) evidence.Add(new(key, peers.Count, evidence.Count));
        evidence.Sort(static (x, y) =>
        {
            int c = string.CompareOrdinal(x.Key.Rule.Name, y.Key.Rule.Name);
            if (c == 0) c = (x.Key.Serving ? 0 : 1).CompareTo(y.Key.Serving ? 0 : 1);
            if (c == 0) c = x.Key.Port.CompareTo(y.Key.Port);
            return c != 0 ? c : x.Order.CompareTo(y.Order);
        });
        foreach (var e in evidence)
        {
            var (host, rule, port, serving) = e.Key;
            int peers = e.Peers;
            var h = Of(host);
            string proto = rule.Transport == CatalogueTransport.Udp ? "UDP" : "TCP";
            h.Reasons.Add(serving
                ? string.Create(CultureInfo.InvariantCulture, $"terminates {rule.Name} {proto} {port} from {peers} client{(peers == 1 ? "" : "s")}")
                : string.Create(CultureInfo.InvariantCulture, $"sends {rule.Name} from {proto} {port} to {peers} peer{(peers == 1 ? "" : "s")}"));
            if (h.Ports.Add((rule, port))) h.Score += rule.Score;
            if (rule.Kind == NodeEvidenceKind.ServesOrSends) h.Sip = true;
        }

        // Answering with its own media: a host with SIP evidence that sends RTP itself.
        var rules = _rules.Rules;
        for (int i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (rule.Kind != NodeEvidenceKind.AnswersWithMedia) continue;
            foreach (var (host, h) in hosts)
            {
                if (!h.Sip || !_rtpSenders.TryGetValue(host, out int streams)) continue;
                h.Score += rule.Score;
                h.Reasons.Add(string.Create(CultureInfo.InvariantCulture, $"sends {rule.Name} itself ({streams} flow{(streams == 1 ? "" : "s")})"));
            }
        }

        // Cluster ports served to a first-level node make the server a node (cluster-peer) or only confirm a pair.
        var firstLevel = new HashSet<IpAddress>();
        foreach (var (host, h) in hosts)
            if (h.Score >= _rules.NodeScore) firstLevel.Add(host);
        var clusterPeers = new Dictionary<(IpAddress Server, NodeEvidenceRule Rule, string Ports), HashSet<IpAddress>>();
        foreach (var (server, client, rule, port) in _cluster)
        {
            bool promote = rule.Kind == NodeEvidenceKind.ClusterPeer && firstLevel.Contains(client);
            bool confirm = firstLevel.Contains(client) && firstLevel.Contains(server);
            if (!promote && !confirm) continue;
            var range = RangeOf(rule.Ports, port);
            string ports = range.Count > 1 ? range.ToString() : port.ToString(CultureInfo.InvariantCulture);
            if (!clusterPeers.TryGetValue((server, rule, ports), out var set)) clusterPeers[(server, rule, ports)] = set = [];
            set.Add(client);
        }
        // By rule name, then ports; equal keys keep the order they were found in.
        var cluster = new List<Ranked<(IpAddress Server, NodeEvidenceRule Rule, string Ports)>>(clusterPeers.Count);
        foreach (var (key, peers) in clusterPeers) cluster.Add(new(key, peers.Count, cluster.Count, FirstOf(peers)));
        cluster.Sort(static (x, y) =>
        {
            int c = string.CompareOrdinal(x.Key.Rule.Name, y.Key.Rule.Name);
            if (c == 0) c = string.CompareOrdinal(x.Key.Ports, y.Key.Ports);
            return c != 0 ? c : x.Order.CompareTo(y.Order);
        });
        foreach (var e in cluster)
        {
            var (server, rule, ports) = e.Key;
            var h = Of(server);
            string proto = rule.Transport == CatalogueTransport.Udp ? "UDP" : "TCP";
            h.Reasons.Add($"serves {rule.Name} {proto} {ports} to {(e.Peers == 1 ? "node " + e.First : e.Peers.ToString(CultureInfo.InvariantCulture) + " nodes")}");
            if (h.Ports.Add((rule, 0))) h.Score += rule.Score;
        }

        // Imagicle nodes are the customer's servers: an address routed on the internet (a SIP provider's
        // border controller sending its own media scores like a weak node) must show strong evidence.
        var nodes = new List<DetectedNode>();
        foreach (var (host, h) in hosts)
        {
            if (h.Score < (host.IsPrivate ? _rules.NodeScore : Math.Max(_rules.NodeScore, _rules.StrongScore))) continue;
            nodes.Add(new DetectedNode(host, string.Join("; ", h.Reasons), NodeSource.Detected,
                h.Score >= _rules.StrongScore ? NodeConfidence.Strong : NodeConfidence.Weak, h.Score));
        }
        nodes.Sort(static (x, y) => x.Address.CompareTo(y.Address));
        return nodes;
    }

    /// <summary>An evidence key with its number of peers (and the first, for a single one) and the position it was found at, for a stable sort.</summary>
    private sealed record Ranked<TKey>(TKey Key, int Peers, int Order, IpAddress First = default);

    private static PortRange RangeOf(PortSet ports, ushort port)
    {
        var ranges = ports.Ranges;
        for (int i = 0; i < ranges.Count; i++)
            if (ranges[i].Contains(port)) return ranges[i];
        throw new InvalidOperationException($"port {port} is in no range of {ports}"); // a cluster rule fits only its own ports
    }

    private static IpAddress FirstOf(HashSet<IpAddress> set)
    {
        foreach (var a in set) return a;
        return default;
    }

    private sealed class HostEvidence
    {
        public readonly List<string> Reasons = [];
        public readonly HashSet<(NodeEvidenceRule, ushort)> Ports = [];
        public int Score;
        public bool Sip;
    }

    /// <summary>Convenience: observes every flow, then decides, with the rules of <paramref name="rules"/> (the built-in catalogue's when null).</summary>
    public static IReadOnlyList<DetectedNode> Detect(IEnumerable<ObservedFlow> flows, IReadOnlyCollection<IpAddress>? explicitServers = null,
        NodeSource source = NodeSource.Server, NodeEvidenceRules? rules = null)
    {
        var d = new NodeDetector(rules ?? PortCatalogue.Embedded.NodeEvidence);
        if (explicitServers is not { Count: > 0 })
            foreach (var f in flows) d.Observe(f);
        return d.Decide(explicitServers, source);
    }
}
