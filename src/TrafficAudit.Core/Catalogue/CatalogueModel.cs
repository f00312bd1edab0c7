using TrafficAudit.Decode;

namespace TrafficAudit.Catalogue;

/// <summary>Transport of a catalogue binding. <c>TlsOverTcp</c> is matched as TCP; the name records that the vendor says TLS.</summary>
public enum CatalogueTransport : byte
{
    Tcp,
    Udp,
    TlsOverTcp,
    /// <summary>ICMP and ICMPv6 (our infrastructure rows only; the vendor table has none).</summary>
    Icmp,
}

/// <summary>Direction as the vendor states it, from the Imagicle server's point of view.</summary>
public enum VendorDirection : byte
{
    /// <summary>The remote peer opens the connection to the Imagicle node.</summary>
    In,
    /// <summary>The Imagicle node opens the connection to the remote peer.</summary>
    Out,
    /// <summary>Either side may open it.</summary>
    InOut,
    /// <summary>Between two nodes of one Imagicle cluster; the listed ports are the listening node's.</summary>
    Node,
}

/// <summary>An inclusive port range.</summary>
public readonly record struct PortRange(ushort First, ushort Last)
{
    public int Count => Last - First + 1;
    public bool Contains(ushort port) => port >= First && port <= Last;
    public override string ToString() => First == Last ? First.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{First}-{Last}");
}

/// <summary>
/// The ports one side of a binding may use: "any", "unspecified" (the vendor gives no number; never
/// matched), or a list of ranges.
/// </summary>
public sealed class PortSet
{
    public static readonly PortSet Any = new(isAny: true, isUnspecified: false, []);
    public static readonly PortSet Unspecified = new(isAny: false, isUnspecified: true, []);

    private PortSet(bool isAny, bool isUnspecified, PortRange[] ranges)
    {
        IsAny = isAny;
        IsUnspecified = isUnspecified;
        Ranges = _ranges = ranges;
        foreach (var r in ranges) Count += r.Count;
        if (isAny) Count = 65536;
    }

    public static PortSet Of(params PortRange[] ranges) => new(false, false, ranges);

    public bool IsAny { get; }
    public bool IsUnspecified { get; }
    /// <summary>True when the set names concrete ports.</summary>
    public bool IsSpecific => !IsAny && !IsUnspecified;
    public IReadOnlyList<PortRange> Ranges { get; }
    /// <summary>Number of ports in the set (65536 for any, 0 for unspecified): smaller is more specific.</summary>
    public int Count { get; }

    // The array behind Ranges: a loop over it allocates no enumerator (Contains runs for every flow classified).
    private readonly PortRange[] _ranges;

    public bool Contains(ushort port)
    {
        if (IsAny) return true;
        foreach (var r in _ranges) if (r.Contains(port)) return true;
        return false;
    }

    /// <summary>Number of ports in the range of this set that holds <paramref name="port"/>: 65536 for any or when none holds it.</summary>
    public int RangeSizeOf(ushort port)
    {
        if (IsAny) return 65536;
        foreach (var r in _ranges) if (r.Contains(port)) return r.Count;
        return 65536;
    }

    public override string ToString() => IsAny ? "any" : IsUnspecified ? "unspecified" : string.Join(",", Ranges);
}

/// <summary>One transport/port combination of a catalogue row (a vendor row may list several).</summary>
public sealed class CatalogueBinding
{
    public required CatalogueTransport Transport { get; init; }
    /// <summary>Service id of flows matching this binding (the entry's service unless the binding overrides it).</summary>
    public required string Service { get; init; }
    /// <summary>Ports on the Imagicle node.</summary>
    public required PortSet ImagiclePorts { get; init; }
    /// <summary>Ports on the remote peer (for cluster rows: the other node).</summary>
    public required PortSet RemotePorts { get; init; }
    /// <summary>Matched only when the flow's payload was validated as this service (RTP, RTCP, T.38), never by port alone.</summary>
    public bool PayloadOnly { get; init; }
    /// <summary>Breaks ties between equally specific rows: higher wins.</summary>
    public int Priority { get; init; }
}

/// <summary>One row of the vendor's port tables (or one of our infrastructure rows).</summary>
public sealed class CatalogueEntry
{
    /// <summary>Stable rule id, e.g. "ldap-out", "sip-5062-advanced-queuing".</summary>
    public required string Id { get; init; }
    /// <summary>Vendor table the row comes from (one of <see cref="PortCatalogue.Sections"/> when the file declares them).</summary>
    public required string Section { get; init; }
    /// <summary>Protocol as the vendor names it ("AXL (Cisco specific)").</summary>
    public required string Protocol { get; init; }
    /// <summary>Service id of the row, e.g. "sip", "cti-tls".</summary>
    public required string Service { get; init; }
    public required VendorDirection Direction { get; init; }
    /// <summary>Application ids (see <see cref="PortCatalogue.ApplicationIds"/>); "all" for every application.</summary>
    public required IReadOnlyList<string> Applications { get; init; }
    /// <summary>The vendor calls the connection optional ("optionally used", "not mandatory").</summary>
    public bool Optional { get; init; }
    /// <summary>A service every server uses (DNS, NTP...), not a row of the vendor table.</summary>
    public bool Infrastructure { get; init; }
    /// <summary>Maximum round-trip time the vendor requires, in ms, when stated.</summary>
    public int? MaxRttMs { get; init; }
    /// <summary>Bandwidth the vendor budgets per simultaneous call, in kbit/s, when stated.</summary>
    public int? BandwidthKbpsPerCall { get; init; }
    /// <summary>Our own short description of what the connection is for.</summary>
    public required string Description { get; init; }
    public required IReadOnlyList<CatalogueBinding> Bindings { get; init; }
    /// <summary>When not empty, the row matches only when the remote address is in one of these networks.</summary>
    public IReadOnlyList<IpPrefix> RemoteNetworks { get; init; } = [];
    /// <summary>When not empty, the row matches only when the TLS server name matches one of these ("*.x.y" = any name below x.y).</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = [];
    /// <summary>
    /// Profile role of the row's remote peer in the expected-flow matrix (catalogue `peerRole`): one of the
    /// catalogue's <see cref="PortCatalogue.PeerRoles"/>, <see cref="PeerRoleInfo.Nodes"/> for rows between
    /// nodes, <see cref="PeerRoleInfo.Any"/> for media with any peer; null when the profile cannot name the
    /// peer (phones, internet, cloud): the row is then never expected.
    /// </summary>
    public string? PeerRole { get; init; }
    /// <summary>Matrix group (catalogue `group`, one of <see cref="PortCatalogue.MatrixGroups"/>): rows of one group are alternatives, one expectation.</summary>
    public string? Group { get; init; }
    /// <summary>Traffic only when someone acts or on some suite versions (catalogue `onDemand`): never reported missing.</summary>
    public bool OnDemand { get; init; }
    /// <summary>Position of the entry in the catalogue (0-based): earlier rows win exact ties.</summary>
    public int Index { get; init; }
    /// <summary>Applications joined with ';' (precomputed for output).</summary>
    public string ApplicationsText => _applicationsText ??= string.Join(';', Applications);
    private string? _applicationsText;

    public override string ToString() => Id;
}

/// <summary>An IP network (address and prefix length). IPv4 prefixes are held on the v4-mapped form.</summary>
public readonly record struct IpPrefix(IpAddress Network, int PrefixLength)
{
    public bool Contains(IpAddress a)
    {
        if (Network.IsV4 != a.IsV4) return false;
        var (hiMask, loMask) = Masks(Network.IsV4 ? PrefixLength + 96 : PrefixLength);
        return (a.Hi & hiMask) == (Network.Hi & hiMask) && (a.Lo & loMask) == (Network.Lo & loMask);
    }

    /// <summary>Parses "a.b.c.d/n" or "x::/n"; the address must have no host bits set, so typos are caught.</summary>
    public static bool TryParse(string text, out IpPrefix prefix)
    {
        prefix = default;
        int slash = text.IndexOf('/');
        if (slash <= 0) return false;
        if (!TryParseDottedQuad(text.AsSpan(0, slash), out var addr) && !IpAddress.TryParse(text[..slash], out addr)) return false;
        if (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int len)) return false;
        if (len > (addr.IsV4 ? 32 : 128)) return false;
        var (hiMask, loMask) = Masks(addr.IsV4 ? len + 96 : len);
        if ((addr.Hi & ~hiMask) != 0 || (addr.Lo & ~loMask) != 0) return false;
        prefix = new IpPrefix(addr, len);
        return true;
    }

    /// <summary>
    /// "a.b.c.d", four decimal numbers 0-255 without leading zeros, read here: System.Net's parser has no
    /// precompiled code in the ReadyToRun image and was JIT-compiled (about ten methods) when the built-in
    /// catalogue loaded at start (issue 12). Any other form ("010.0.0.0" is octal to it, IPv6) is left to it.
    /// </summary>
    internal static bool TryParseDottedQuad(ReadOnlySpan<char> text, out IpAddress address)
    {
        address = default;
        uint value = 0;
        int parts = 0, i = 0;
        while (true)
        {
            int start = i, part = 0;
            while (i < text.Length && i - start < 4 && char.IsAsciiDigit(text[i])) part = part * 10 + (text[i++] - '0');
            int digits = i - start;
            if (digits is 0 or > 3 || part > 255 || (digits > 1 && text[start] == '0')) return false;
            value = value << 8 | (uint)part;
            if (++parts == 4) break;
            if (i >= text.Length || text[i] != '.') return false;
            i++;
        }
        if (i != text.Length) return false;
        address = IpAddress.FromV4(value);
        return true;
    }

    /// <summary>Masks over the 128-bit form for a prefix of <paramref name="bits"/> bits.</summary>
    private static (ulong Hi, ulong Lo) Masks(int bits)
    {
        ulong hi = bits >= 64 ? ulong.MaxValue : bits <= 0 ? 0 : ulong.MaxValue << (64 - bits);
        ulong lo = bits <= 64 ? 0 : bits >= 128 ? ulong.MaxValue : ulong.MaxValue << (128 - bits);
        return (hi, lo);
    }

    public override string ToString() => $"{Network}/{PrefixLength}";
}

/// <summary>What a node-evidence rule looks at (catalogue `nodeEvidence.rules[].kind`).</summary>
public enum NodeEvidenceKind : byte
{
    /// <summary>"serves": the host is the answering server on one of the ports.</summary>
    Serves,
    /// <summary>"serves-or-sends": the answering server, or the sender from one of the ports to a different port.</summary>
    ServesOrSends,
    /// <summary>"answers-with-media": a host with SIP evidence that also sends RTP itself.</summary>
    AnswersWithMedia,
    /// <summary>"cluster-peer": serves one of the ports to a host already found to be a node.</summary>
    ClusterPeer,
    /// <summary>"cluster-confirm": serves one of the ports between two nodes; named in the reason only.</summary>
    ClusterConfirm,
}

/// <summary>One kind of evidence that a host is an Imagicle node, with its weight.</summary>
public sealed class NodeEvidenceRule
{
    public required string Id { get; init; }
    public required NodeEvidenceKind Kind { get; init; }
    /// <summary>Short name for reasons ("CTI", "SIP", "HA IPC").</summary>
    public required string Name { get; init; }
    /// <summary>Null for kinds without ports (answers-with-media).</summary>
    public CatalogueTransport? Transport { get; init; }
    public PortSet Ports { get; init; } = PortSet.Unspecified;
    /// <summary>Added once per distinct port seen (once for answers-with-media).</summary>
    public required int Score { get; init; }
    public required string Description { get; init; }

    public bool Fits(IpProtocol transport, ushort port) => Ports.IsSpecific && Ports.Contains(port) && Transport switch
    {
        CatalogueTransport.Udp => transport == IpProtocol.Udp,
        CatalogueTransport.Tcp or CatalogueTransport.TlsOverTcp => transport == IpProtocol.Tcp,
        _ => false,
    };
}

/// <summary>
/// The catalogue's node-detection knowledge (`nodeEvidence`): a host whose evidence adds up to
/// <see cref="NodeScore"/> is a node; at <see cref="StrongScore"/> its evidence is strong, below it weak.
/// </summary>
public sealed class NodeEvidenceRules
{
    public static readonly NodeEvidenceRules None = new() { NodeScore = int.MaxValue, StrongScore = int.MaxValue, Rules = [] };

    public required int NodeScore { get; init; }
    public required int StrongScore { get; init; }
    public required IReadOnlyList<NodeEvidenceRule> Rules { get; init; }
}

/// <summary>A peer role a profile may name (catalogue `peerRoles`), e.g. "cucm", "mail".</summary>
public sealed record PeerRoleInfo(string Id, string Description)
{
    /// <summary>Row role for flows between two nodes (the peers are the profile's nodes); not a profile role.</summary>
    public const string Nodes = "nodes";
    /// <summary>Row role for media with any peer (expected only when the capture holds an answered call); not a profile role.</summary>
    public const string Any = "any";
}

/// <summary>Rows that are alternatives of one another (catalogue `matrixGroups`): one expectation with one title.</summary>
public sealed record MatrixGroup(string Id, string Title);

/// <summary>
/// The vendor's round-trip budgets used where no matched row states one (catalogue `defaultRttMs`); null
/// when the catalogue gives none (nothing is then judged against it).
/// </summary>
public sealed record DefaultRttBudgets(int? SipMs, int? MediaMs, int? BetweenNodesMs)
{
    public static readonly DefaultRttBudgets None = new(null, null, null);
}

/// <summary>One of the vendor's applications (catalogue `applications`): the id rows and profiles use, and its product name.</summary>
public sealed record CatalogueApplication(string Id, string Name);

/// <summary>One of the vendor's port tables (catalogue `sections`): the id rows use, and the table's title.</summary>
public sealed record CatalogueSection(string Id, string Title);
