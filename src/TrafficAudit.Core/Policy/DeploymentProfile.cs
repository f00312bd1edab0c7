using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Policy;

/// <summary>
/// What the auditor knows about the site before looking at packets (the `--profile` JSON): the
/// Imagicle nodes, the installed applications, the peers by role, the extra flows the customer allows,
/// and the media thresholds. The policy layer compares the capture with it; the engine never sees it
/// (except <see cref="Nodes"/>, which replace node detection).
/// </summary>
public sealed record DeploymentProfile
{
    /// <summary>File the profile was read from (for messages).</summary>
    public required string SourceName { get; init; }
    public required IReadOnlyList<IpAddress> Nodes { get; init; }
    /// <summary>Installed application ids (see <see cref="ApplicationIds"/>).</summary>
    public required IReadOnlyList<string> Applications { get; init; }
    /// <summary>Peer addresses or networks by role (see <see cref="PeerRoles"/>).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<IpPrefix>> Peers { get; init; }
    public required IReadOnlyList<AllowEntry> Allow { get; init; }
    public required PolicyThresholds Thresholds { get; init; }

    /// <summary>Application ids a profile may list with the built-in catalogue (its `applications`; a `--catalogue` file's own list applies when given).</summary>
    public static IReadOnlyList<string> ApplicationIds => PortCatalogue.Embedded.ApplicationIds;

    /// <summary>
    /// Peer roles with the built-in catalogue (its `peerRoles`): cucm (the calling platform: CUCM, CUBE,
    /// SBC), mail, ldap, exchange (EWS), file-share, pms, proxy, consoles. A `--catalogue` file's own list applies when given.
    /// </summary>
    public static IReadOnlyList<string> PeerRoles => PortCatalogue.Embedded.PeerRoleIds;

    /// <summary>The addresses of one role (empty when the profile names none).</summary>
    public IReadOnlyList<IpPrefix> PeersOf(string role) => Peers.TryGetValue(role, out var l) ? l : [];

    public bool IsPeer(string role, IpAddress a)
    {
        foreach (var p in PeersOf(role)) if (p.Contains(a)) return true;
        return false;
    }

    public bool HasApplication(string id) => id == "all" || Applications.Contains(id);
}

/// <summary>
/// A flow the customer allows beyond the vendor's table (`allow` entry): transport (null = any),
/// port (null = any; the server port of the flow), peer network (the remote side; null = any), and a note.
/// </summary>
public sealed record AllowEntry(IpProtocol? Transport, ushort? Port, IpPrefix? Peer, string Note)
{
    public bool Matches(IpProtocol transport, ushort serverPort, IpAddress remote)
        => (Transport is null || Transport == transport) && (Port is null || Port == serverPort) && (Peer is null || Peer.Value.Contains(remote));

    public override string ToString()
    {
        string t = Transport switch { IpProtocol.Tcp => "tcp", IpProtocol.Udp => "udp", _ => "any" };
        return $"{t}/{(Port is { } p ? p.ToString(System.Globalization.CultureInfo.InvariantCulture) : "any")} peer {(Peer is { } n ? n.ToString() : "any")}" + (Note.Length > 0 ? $" ({Note})" : "");
    }
}

/// <summary>
/// Media thresholds (`thresholds`). Defaults: <c>call_kbps</c> 80 (the vendor's per-call budget, per
/// direction at the IP layer: G.711 at 20 ms is exactly 80.0), <c>jitter_ms</c> 30 (the usual ceiling for
/// voice, ITU-T G.114 planning and Cisco's guidance), <c>loss_pct</c> 1 (G.711 degrades audibly above 1 %),
/// <c>min_mos</c> 3.6 (a stream rated below it is low_mos: MOS 3.6 is R = 70 in ITU-T G.107, where the
/// E-model's "some users dissatisfied" band begins).
/// </summary>
public sealed record PolicyThresholds
{
    public double CallKbps { get; init; } = 80;
    public double JitterMs { get; init; } = 30;
    public double LossPct { get; init; } = 1;
    public double MinMos { get; init; } = 3.6;

    /// <summary>
    /// The defaults with a catalogue: <c>call_kbps</c> is the vendor's per-call budget, the
    /// <c>bandwidthKbpsPerCall</c> of the catalogue's <c>mediaRule</c> row (80 built in), when it states one.
    /// </summary>
    public static PolicyThresholds For(PortCatalogue catalogue)
        => catalogue.MediaRule is { } id && catalogue.Find(id)?.BandwidthKbpsPerCall is int kbps ? new PolicyThresholds { CallKbps = kbps } : new PolicyThresholds();
}
