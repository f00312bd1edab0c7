using TrafficAudit.Decode;

namespace TrafficAudit.Catalogue;

/// <summary>
/// The Imagicle port catalogue: every row of the vendor's port tables, plus infrastructure rows, as
/// loaded from JSON (embedded copy or a file given by the user). Immutable once loaded.
/// </summary>
public sealed class PortCatalogue
{
    /// <summary>Logical name of the embedded catalogue (see TrafficAudit.Core.csproj).</summary>
    public const string EmbeddedResourceName = "TrafficAudit.Catalogue.imagicle-catalogue.json";
    /// <summary>Name used in error messages for the embedded catalogue.</summary>
    public const string EmbeddedSourceName = "imagicle-catalogue.json (embedded)";

    /// <summary>The application id a row uses for every installation (never listed in a profile).</summary>
    public const string AllApplications = "all";

    // Ports that are the listening side of some row, per transport: index 0 TCP, 1 UDP.
    private readonly bool[] _tcpService = new bool[65536];
    private readonly bool[] _udpService = new bool[65536];
    private readonly Dictionary<string, CatalogueEntry> _byId;

    internal PortCatalogue(string sourceName, string? title, IReadOnlyList<CatalogueEntry> entries)
    {
        SourceName = sourceName;
        Title = title;
        Entries = entries;
        _byId = entries.ToDictionary(e => e.Id, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            foreach (var b in e.Bindings)
            {
                if (b.PayloadOnly) continue; // RTP's ">= 5000" must not make every high port a service port
                var table = b.Transport switch
                {
                    CatalogueTransport.Tcp or CatalogueTransport.TlsOverTcp => _tcpService,
                    CatalogueTransport.Udp => _udpService,
                    _ => null,
                };
                if (table is null) continue;
                Mark(table, b.ImagiclePorts);
                Mark(table, b.RemotePorts);
            }
        }
    }

    private static void Mark(bool[] table, PortSet set)
    {
        if (!set.IsSpecific) return;
        foreach (var r in set.Ranges)
            for (int p = r.First; p <= r.Last; p++) table[p] = true;
    }

    /// <summary>File name (or <see cref="EmbeddedSourceName"/>) the catalogue was read from.</summary>
    public string SourceName { get; }
    /// <summary>The catalogue's "source" text, when given.</summary>
    public string? Title { get; }
    /// <summary>Entries in file order (<see cref="CatalogueEntry.Index"/> is the position here).</summary>
    public IReadOnlyList<CatalogueEntry> Entries { get; }
    /// <summary>What makes a host an Imagicle node (catalogue `nodeEvidence`); <see cref="NodeEvidenceRules.None"/> when the file has none.</summary>
    public NodeEvidenceRules NodeEvidence { get; init; } = NodeEvidenceRules.None;

    public CatalogueEntry? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>The vendor's applications (catalogue `applications`), in file order; empty when the file declares none.</summary>
    public IReadOnlyList<CatalogueApplication> Applications { get; init; } = [];

    /// <summary>
    /// Application ids a profile may list, in order: the declared <see cref="Applications"/>, or, when the
    /// file declares none, the ids its rows use. Never <see cref="AllApplications"/>.
    /// </summary>
    public IReadOnlyList<string> ApplicationIds
    {
        get => _applicationIds;
        init
        {
            _applicationIds = value;
            _applicationSet = value.ToHashSet(StringComparer.Ordinal);
        }
    }
    private readonly IReadOnlyList<string> _applicationIds = [];
    private readonly HashSet<string> _applicationSet = new(StringComparer.Ordinal);

    /// <summary>True for "all" and for every id of <see cref="ApplicationIds"/>.</summary>
    public bool IsApplication(string id) => id == AllApplications || _applicationSet.Contains(id);

    /// <summary>The vendor's tables in page order (catalogue `sections`), plus "infrastructure" for our own rows; empty when the file declares none.</summary>
    public IReadOnlyList<CatalogueSection> Sections { get; init; } = [];

    /// <summary>Roles a profile's `peers` may name, in file order (catalogue `peerRoles`); rows name them in `peerRole`.</summary>
    public IReadOnlyList<PeerRoleInfo> PeerRoles { get; init; } = [];

    /// <summary>The role ids of <see cref="PeerRoles"/>.</summary>
    public IReadOnlyList<string> PeerRoleIds => _peerRoleIds ??= PeerRoles.Select(r => r.Id).ToArray();
    private string[]? _peerRoleIds;

    /// <summary>Groups of rows that are alternatives (catalogue `matrixGroups`), in file order.</summary>
    public IReadOnlyList<MatrixGroup> MatrixGroups
    {
        get => _groups;
        init
        {
            _groups = value;
            _groupById = value.ToDictionary(g => g.Id, StringComparer.Ordinal);
        }
    }
    private readonly IReadOnlyList<MatrixGroup> _groups = [];
    private readonly Dictionary<string, MatrixGroup> _groupById = new(StringComparer.Ordinal);

    /// <summary>The matrix group of a row, or null when it stands alone.</summary>
    public MatrixGroup? GroupOf(CatalogueEntry e) => e.Group is { } g ? _groupById.GetValueOrDefault(g) : null;

    /// <summary>Ports web proxies listen on (catalogue `proxy.ports`): HTTP from a node to one of them is proxy_in_use.</summary>
    public PortSet ProxyPorts { get; init; } = PortSet.Unspecified;

    /// <summary>Profile role whose peers are web proxies (catalogue `proxy.peerRole`), or null.</summary>
    public string? ProxyRole { get; init; }

    /// <summary>
    /// TCP ports whose segments go to SIP reassembly from the SYN on, before any SIP text is seen
    /// (catalogue `sipPorts`; without it, the ports of every SIP row).
    /// </summary>
    public PortSet SipPorts
    {
        get => _sipPorts;
        init
        {
            _sipPorts = value;
            Array.Clear(_sipPort);
            Mark(_sipPort, value);
        }
    }
    private readonly PortSet _sipPorts = PortSet.Unspecified;
    private readonly bool[] _sipPort = new bool[65536];

    /// <summary>True when <paramref name="port"/> is one of <see cref="SipPorts"/> (a table lookup: called per packet).</summary>
    public bool IsSipPort(ushort port) => _sipPort[port];

    /// <summary>Round-trip budgets where no matched row states one (catalogue `defaultRttMs`).</summary>
    public DefaultRttBudgets DefaultRtt { get; init; } = DefaultRttBudgets.None;

    /// <summary>Row cited by media findings whose stream matched no row (catalogue `mediaRule`), or null.</summary>
    public string? MediaRule { get; init; }

    /// <summary>UDP services that answer every request (catalogue `udpRequestResponse`): a node's datagram there without a reply is blocked.</summary>
    public IReadOnlySet<string> UdpRequestResponseServices { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// True when <paramref name="port"/> is a named server-side port of some row for this transport
    /// (specific ports on either side of a binding; "any" and payload-only ranges such as RTP's
    /// &gt;= 5000 do not count). Used to tell client from server when no SYN was seen.
    /// Note: the cluster IPC range 52000-52999 counts, and overlaps Windows' ephemeral range.
    /// </summary>
    public bool IsServicePort(IpProtocol transport, ushort port) => transport switch
    {
        IpProtocol.Tcp => _tcpService[port],
        IpProtocol.Udp => _udpService[port],
        _ => false,
    };

    private static readonly Lazy<PortCatalogue> EmbeddedCatalogue = new(LoadEmbedded);

    /// <summary>The catalogue shipped inside TrafficAudit.Core, loaded once (immutable, shared).</summary>
    public static PortCatalogue Embedded => EmbeddedCatalogue.Value;

    /// <summary>The catalogue shipped inside TrafficAudit.Core.</summary>
    public static PortCatalogue LoadEmbedded()
    {
        using var s = typeof(PortCatalogue).Assembly.GetManifestResourceStream(EmbeddedResourceName)
            ?? throw new CatalogueException(EmbeddedSourceName, 0, 0, $"embedded resource '{EmbeddedResourceName}' is missing from {typeof(PortCatalogue).Assembly.GetName().Name}");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Parse(ms.GetBuffer().AsSpan(0, (int)ms.Length), EmbeddedSourceName);
    }

    /// <summary>Writes the embedded catalogue's JSON text, as a starting point for a --catalogue file.</summary>
    public static void WriteEmbeddedJson(TextWriter writer)
    {
        using var s = typeof(PortCatalogue).Assembly.GetManifestResourceStream(EmbeddedResourceName)
            ?? throw new InvalidOperationException($"embedded resource '{EmbeddedResourceName}' is missing");
        using var reader = new StreamReader(s);
        writer.Write(reader.ReadToEnd());
    }

    /// <summary>Reads a catalogue file. Any problem throws <see cref="CatalogueException"/> naming file, line and column.</summary>
    /// <remarks>At most <see cref="MaxFileBytes"/> + 1 bytes are read, so a device or a FIFO cannot take the memory.</remarks>
    public static PortCatalogue LoadFile(string path)
    {
        byte[] bytes = ConfigurationText.ReadCapped(path, "catalogue", MaxFileBytes, (problem, inner) => new CatalogueException(path, 0, 0, problem, inner));
        return Parse(bytes, path);
    }

    /// <summary>Largest catalogue read (4 MiB): a larger file is refused before parsing.</summary>
    public const int MaxFileBytes = ConfigurationText.MaxCatalogueBytes;

    /// <summary>Parses catalogue JSON (UTF-8, comments allowed); <paramref name="sourceName"/> is used in error messages.</summary>
    public static PortCatalogue Parse(ReadOnlySpan<byte> utf8Json, string sourceName)
        => new CatalogueReader(utf8Json.Length > MaxFileBytes ? utf8Json[..(MaxFileBytes + 1)].ToArray() : utf8Json.ToArray(), sourceName).Read();
}
