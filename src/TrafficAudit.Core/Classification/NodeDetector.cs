using System.Globalization;
using TrafficAudit.Decode;

namespace TrafficAudit.Classification;

/// <summary>
/// One observed flow, as the node detector needs it. Client is the side that opened the flow (TCP SYN
/// sender; for UDP the first sender). <paramref name="Answered"/>: the server replied (TCP handshake
/// completed, or UDP packets seen in both directions). Packet counts are per direction.
/// </summary>
public readonly record struct ObservedFlow(
    IpProtocol Transport,
    IpAddress ClientIp, ushort ClientPort,
    IpAddress ServerIp, ushort ServerPort,
    bool Answered,
    long PacketsFromClient, long PacketsFromServer);

/// <summary>An Imagicle node and why we think so.</summary>
public sealed record DetectedNode(IpAddress Address, string Reason, bool Explicit);

/// <summary>
/// Decides which hosts are Imagicle nodes from the ports they serve. Feed every flow to <see cref="Observe"/>
/// (cheap; only flows on the ports below are remembered) and call <see cref="Decide"/> once.
///
/// Evidence, strongest first:
/// <list type="bullet">
/// <item>Serving the Imagicle CTI ports to clients: TCP 51234, 51235, 51236 (console CTI) and 21050 (Mondago GoConnect).</item>
/// <item>Using an Imagicle-specific SIP port: UDP/TCP 5062, UDP 5064, UDP 5066, UDP/TCP 5070, TCP 5063, TCP 5071.
///   The host on that port counts: the server when it listens there, or the client when it sends from
///   there to a different port (an Imagicle trunk calling out from its own port). When both ends use the
///   same port (the vendor lists 5062-5062 etc.), only the answering server counts.</item>
/// <item>Cluster traffic: a host serving TCP 52000-52999 (Imagicle HA IPC) to a node found above becomes a node
///   too (the standby of a pair is often quiet otherwise). TCP 4369/5672/15672/25672 (Erlang/RabbitMQ, used by
///   many other products) only add to the reason when both ends are already nodes.</item>
/// </list>
/// A flow counts only when it was answered. Explicit <c>--server</c> addresses bypass detection entirely.
/// </summary>
public sealed class NodeDetector
{
    private static readonly ushort[] CtiPorts = [51234, 51235, 51236, 21050];
    private static readonly (IpProtocol Transport, ushort Port)[] SipPorts =
    [
        (IpProtocol.Udp, 5062), (IpProtocol.Tcp, 5062), (IpProtocol.Tcp, 5063), (IpProtocol.Udp, 5064),
        (IpProtocol.Udp, 5066), (IpProtocol.Udp, 5070), (IpProtocol.Tcp, 5070), (IpProtocol.Tcp, 5071),
    ];
    private static readonly ushort[] BrokerPorts = [4369, 5672, 15672, 25672];
    private const ushort HaIpcFirst = 52000, HaIpcLast = 52999;

    // (host, evidence label with {0} for the peer count and {1} for a plural s) -> distinct peers.
    private readonly Dictionary<(IpAddress Host, string Label), HashSet<IpAddress>> _evidence = [];
    // (server, client, label) of HA flows, resolved in Decide once the first-level nodes are known.
    private readonly HashSet<(IpAddress Server, IpAddress Client, string Label, bool Ipc)> _cluster = [];

    /// <summary>Records one flow; ignores flows that are not on an Imagicle port or were not answered.</summary>
    public void Observe(in ObservedFlow f)
    {
        if (f.Transport is not (IpProtocol.Tcp or IpProtocol.Udp)) return;
        bool answered = f.Answered || (f.PacketsFromClient > 0 && f.PacketsFromServer > 0);
        if (!answered || f.ClientIp == f.ServerIp) return;
        string proto = f.Transport == IpProtocol.Tcp ? "TCP" : "UDP";

        if (f.Transport == IpProtocol.Tcp && Array.IndexOf(CtiPorts, f.ServerPort) >= 0)
        {
            Add(f.ServerIp, $"terminates {(f.ServerPort == 21050 ? "Mondago CTI" : "CTI")} TCP {f.ServerPort} from {{0}} client{{1}}", f.ClientIp);
            return;
        }
        if (IsSipPort(f.Transport, f.ServerPort))
        {
            Add(f.ServerIp, $"terminates SIP {proto} {f.ServerPort} from {{0}} client{{1}}", f.ClientIp);
            return;
        }
        if (IsSipPort(f.Transport, f.ClientPort) && f.ClientPort != f.ServerPort)
        {
            Add(f.ClientIp, $"sends SIP from {proto} {f.ClientPort} to {{0}} peer{{1}}", f.ServerIp);
            return;
        }
        if (f.Transport == IpProtocol.Tcp)
        {
            if (f.ServerPort is >= HaIpcFirst and <= HaIpcLast)
                _cluster.Add((f.ServerIp, f.ClientIp, "serves HA IPC TCP 52000-52999", true));
            else if (Array.IndexOf(BrokerPorts, f.ServerPort) >= 0)
                _cluster.Add((f.ServerIp, f.ClientIp, $"serves message broker TCP {f.ServerPort}", false));
        }
    }

    private static bool IsSipPort(IpProtocol t, ushort port)
    {
        foreach (var (tt, p) in SipPorts) if (tt == t && p == port) return true;
        return false;
    }

    private void Add(IpAddress host, string label, IpAddress peer)
    {
        if (!_evidence.TryGetValue((host, label), out var peers)) _evidence[(host, label)] = peers = [];
        peers.Add(peer);
    }

    /// <summary>
    /// The nodes, sorted by address. With <paramref name="explicitServers"/> not empty, exactly those
    /// addresses are returned (reason "given with --server") and the observed flows are not used.
    /// </summary>
    public IReadOnlyList<DetectedNode> Decide(IReadOnlyCollection<IpAddress>? explicitServers = null)
    {
        if (explicitServers is { Count: > 0 })
            return explicitServers.Distinct().Order().Select(a => new DetectedNode(a, "given with --server", true)).ToList();

        var reasons = new Dictionary<IpAddress, List<string>>();
        foreach (var ((host, label), peers) in _evidence.OrderBy(k => k.Key.Label, StringComparer.Ordinal))
        {
            if (!reasons.TryGetValue(host, out var list)) reasons[host] = list = [];
            list.Add(string.Format(CultureInfo.InvariantCulture, label, peers.Count, peers.Count == 1 ? "" : "s"));
        }

        // HA IPC served to a first-level node makes the server a node; the broker ports only confirm.
        var firstLevel = reasons.Keys.ToHashSet();
        var ipcPeers = new Dictionary<(IpAddress, string), HashSet<IpAddress>>();
        foreach (var (server, client, label, ipc) in _cluster)
        {
            bool promote = ipc && firstLevel.Contains(client);
            bool confirm = firstLevel.Contains(client) && firstLevel.Contains(server);
            if (!promote && !confirm) continue;
            if (!ipcPeers.TryGetValue((server, label), out var set)) ipcPeers[(server, label)] = set = [];
            set.Add(client);
        }
        foreach (var ((server, label), peers) in ipcPeers.OrderBy(k => k.Key.Item2, StringComparer.Ordinal))
        {
            if (!reasons.TryGetValue(server, out var list)) reasons[server] = list = [];
            list.Add($"{label} to {(peers.Count == 1 ? "node " + peers.First() : peers.Count.ToString(CultureInfo.InvariantCulture) + " nodes")}");
        }

        return reasons.OrderBy(kv => kv.Key)
            .Select(kv => new DetectedNode(kv.Key, string.Join("; ", kv.Value), false))
            .ToList();
    }

    /// <summary>Convenience: observes every flow, then decides.</summary>
    public static IReadOnlyList<DetectedNode> Detect(IEnumerable<ObservedFlow> flows, IReadOnlyCollection<IpAddress>? explicitServers = null)
    {
        var d = new NodeDetector();
        if (explicitServers is not { Count: > 0 })
            foreach (var f in flows) d.Observe(f);
        return d.Decide(explicitServers);
    }
}
