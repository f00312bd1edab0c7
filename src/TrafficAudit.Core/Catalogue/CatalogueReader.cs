using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TrafficAudit.Catalogue;

/// <summary>
/// Reads catalogue JSON with <see cref="Utf8JsonReader"/> directly (not the serializer), so that every
/// value's byte offset is known (<see cref="Utf8JsonReader.TokenStartIndex"/>) and semantic errors can
/// name their line and column. The offset is turned into a 1-based line (counting '\n') and a 1-based
/// column counting UTF-8 code points from the line start. Syntax errors come from the reader's
/// <see cref="JsonException"/> (0-based LineNumber and BytePositionInLine), converted the same way.
/// Unknown fields are errors (a misspelt field would otherwise be silently ignored).
/// </summary>
internal sealed class CatalogueReader(byte[] json, string file)
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = false };
    private readonly JsonTextPositions _positions = new(json);
    private readonly string _file = file;
    private int _bomLength;

    public PortCatalogue Read()
    {
        _bomLength = _positions.BomLength;
        _positions.CheckText(ConfigurationText.MaxCatalogueBytes, "catalogue", Error);
        var r = new Utf8JsonReader(_positions.Text, Options);
        if (!Next(ref r)) throw Error(_bomLength, "the catalogue is empty");
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "expected a JSON object at the top level");
        long rootStart = _bomLength + r.TokenStartIndex;
        int? version = null;
        string? title = null;
        List<CatalogueEntry>? entries = null;
        NodeEvidenceRules evidence = NodeEvidenceRules.None;
        List<PeerRoleInfo> roles = [];
        List<CatalogueApplication>? applications = null;
        List<CatalogueSection>? sections = null;
        List<MatrixGroup> groups = [];
        PortSet proxyPorts = PortSet.Unspecified;
        string? proxyRole = null;
        PortSet? sipPorts = null;
        var budgets = DefaultRttBudgets.None;
        string? mediaRule = null;
        HashSet<string> requestResponse = new(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "version":
                    version = Int(ref r, name);
                    if (version != 1) throw Error(ref r, $"unsupported catalogue version {version} (this program reads version 1)");
                    break;
                case "source": title = String(ref r, name); break;
                case "entries": entries = Entries(ref r); break;
                case "nodeEvidence": evidence = NodeEvidence(ref r); break;
                case "peerRoles":
                    roles = IdList(ref r, name, "peer role", "description", (id, text) => new PeerRoleInfo(id, text),
                        [PeerRoleInfo.Nodes, PeerRoleInfo.Any], "is built in (rows between nodes, media with any peer): not a profile role");
                    break;
                case "applications":
                    applications = IdList(ref r, name, "application", "name", (id, text) => new CatalogueApplication(id, text),
                        [PortCatalogue.AllApplications], "is built in (a row for every installation): not an application to declare");
                    break;
                case "sections": sections = IdList(ref r, name, "section", "title", (id, text) => new CatalogueSection(id, text)); break;
                case "matrixGroups": groups = IdList(ref r, name, "matrix group", "title", (id, text) => new MatrixGroup(id, text)); break;
                case "proxy": (proxyPorts, proxyRole) = Proxy(ref r); break;
                case "sipPorts":
                    sipPorts = Ports(ref r, name);
                    if (!sipPorts.IsSpecific) throw Error(ref r, "'sipPorts' must list ports, like 5060-5071");
                    break;
                case "defaultRttMs": budgets = DefaultRtt(ref r); break;
                case "mediaRule":
                    mediaRule = RuleId(ref r, name);
                    _refs.Add(new Reference(_bomLength + r.TokenStartIndex, ReferenceKind.MediaRule, mediaRule, null));
                    break;
                case "udpRequestResponse":
                    requestResponse = StringArray(ref r, name, (string s, ref Utf8JsonReader rr) =>
                    {
                        if (!IsSlug(s)) throw Error(ref rr, $"service id '{s}' must be lower-case letters, digits and '-'");
                        _refs.Add(new Reference(_bomLength + rr.TokenStartIndex, ReferenceKind.Service, s, null));
                        return s;
                    }).ToHashSet(StringComparer.Ordinal);
                    break;
                default: throw Error(namePos, $"unknown field '{name}' at the top level");
            }
        }
        if (Next(ref r)) throw Error(ref r, "unexpected content after the catalogue object");
        if (version is null) throw Error(rootStart, "missing required field 'version'");
        if (entries is null) throw Error(rootStart, "missing required field 'entries'");
        CheckReferences(entries, roles, groups, applications, sections);
        return new PortCatalogue(_file, title, entries)
        {
            Applications = applications ?? [], Sections = sections ?? [],
            ApplicationIds = applications is not null ? applications.Select(a => a.Id).ToArray()
                : entries.SelectMany(e => e.Applications).Where(a => a != PortCatalogue.AllApplications).Distinct().ToArray(),
            NodeEvidence = evidence, PeerRoles = roles, MatrixGroups = groups, ProxyPorts = proxyPorts, ProxyRole = proxyRole,
            SipPorts = sipPorts ?? SipPortsOfRows(entries), DefaultRtt = budgets, MediaRule = mediaRule,
            UdpRequestResponseServices = requestResponse,
        };
    }

    private enum ReferenceKind : byte { PeerRole, Group, ProxyRole, MediaRule, Service, Application, Section }

    /// <summary>A name used before the section that declares it may have been read; checked at the end, reported where it is used.</summary>
    private sealed record Reference(long Offset, ReferenceKind Kind, string Name, string? EntryRole);

    private readonly List<Reference> _refs = [];

    private void CheckReferences(List<CatalogueEntry> entries, List<PeerRoleInfo> roles, List<MatrixGroup> groups,
        List<CatalogueApplication>? applications, List<CatalogueSection>? sections)
    {
        var applicationIds = applications?.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var sectionIds = sections?.Select(x => x.Id).ToHashSet(StringComparer.Ordinal);
        var roleIds = roles.Select(x => x.Id).ToHashSet(StringComparer.Ordinal);
        var groupIds = groups.Select(x => x.Id).ToHashSet(StringComparer.Ordinal);
        var ruleIds = entries.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var services = entries.SelectMany(e => e.Bindings.Select(b => b.Service)).ToHashSet(StringComparer.Ordinal);
        string Declared(IEnumerable<string> ids, string section) => ids.Any() ? $"declared in '{section}': {string.Join(", ", ids)}" : $"the catalogue has no '{section}'";
        // A group's rows between nodes or with any peer (media) cannot mix with rows towards a profile role.
        var groupRole = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var x in _refs)
        {
            switch (x.Kind)
            {
                case ReferenceKind.PeerRole when x.Name is not (PeerRoleInfo.Nodes or PeerRoleInfo.Any) && !roleIds.Contains(x.Name):
                    throw Error(x.Offset, $"unknown peer role '{x.Name}' ({Declared(roleIds, "peerRoles")}; or nodes, any)");
                case ReferenceKind.ProxyRole when !roleIds.Contains(x.Name):
                    throw Error(x.Offset, $"unknown peer role '{x.Name}' ({Declared(roleIds, "peerRoles")})");
                case ReferenceKind.Group:
                    if (!groupIds.Contains(x.Name)) throw Error(x.Offset, $"unknown matrix group '{x.Name}' ({Declared(groupIds, "matrixGroups")})");
                    if (!groupRole.TryGetValue(x.Name, out var first)) groupRole[x.Name] = x.EntryRole;
                    else if (first != x.EntryRole && (IsSpecialRole(first) || IsSpecialRole(x.EntryRole)))
                        throw Error(x.Offset, $"matrix group '{x.Name}' mixes peer role '{x.EntryRole ?? "(none)"}' with '{first ?? "(none)"}': rows between nodes, media rows and rows without a peer role each need their own group");
                    break;
                case ReferenceKind.MediaRule when !ruleIds.Contains(x.Name):
                    throw Error(x.Offset, $"'mediaRule' names no entry: '{x.Name}'");
                case ReferenceKind.Service when !services.Contains(x.Name):
                    throw Error(x.Offset, $"no entry has service '{x.Name}'");
                // Without 'applications' or 'sections' the rows' own ids are the list.
                case ReferenceKind.Application when applicationIds is not null && x.Name != PortCatalogue.AllApplications && !applicationIds.Contains(x.Name):
                    throw Error(x.Offset, $"unknown application id '{x.Name}' ({Declared(applicationIds, "applications")}; or all)");
                case ReferenceKind.Section when sectionIds is not null && !sectionIds.Contains(x.Name):
                    throw Error(x.Offset, $"unknown section '{x.Name}' ({Declared(sectionIds, "sections")})");
            }
        }
    }

    private static bool IsSpecialRole(string? role) => role is null or PeerRoleInfo.Nodes or PeerRoleInfo.Any;

    /// <summary>Without 'sipPorts': every specific port of a SIP row (service sip or sip-tls).</summary>
    private static PortSet SipPortsOfRows(List<CatalogueEntry> entries)
    {
        var ports = new SortedSet<ushort>();
        foreach (var b in entries.SelectMany(e => e.Bindings))
        {
            if (!b.Service.StartsWith("sip", StringComparison.Ordinal) || b.PayloadOnly) continue;
            foreach (var set in new[] { b.ImagiclePorts, b.RemotePorts })
                if (set.IsSpecific)
                    foreach (var range in set.Ranges)
                        for (int p = range.First; p <= range.Last; p++) ports.Add((ushort)p);
        }
        return ports.Count == 0 ? PortSet.Unspecified : PortSet.Of([.. ports.Select(p => new PortRange(p, p))]);
    }

    /// <summary>An array of { "id": slug, <paramref name="textField"/>: text } objects with unique ids;
    /// <paramref name="reserved"/> ids are refused with "'id' <paramref name="reservedWhy"/>".</summary>
    private List<T> IdList<T>(ref Utf8JsonReader r, string field, string what, string textField, Func<string, string, T> make,
        string[]? reserved = null, string reservedWhy = "")
    {
        if (r.TokenType != JsonTokenType.StartArray) throw Error(ref r, $"'{field}' must be an array");
        var list = new List<T>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            Expect(ref r);
            if (r.TokenType == JsonTokenType.EndArray) break;
            if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, $"each {what} must be an object");
            long start = _bomLength + r.TokenStartIndex;
            string? id = null, text = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (NextProperty(ref r, seen, out string name, out long namePos))
            {
                if (name == "id")
                {
                    id = String(ref r, name);
                    if (!IsSlug(id)) throw Error(ref r, $"{what} id '{id}' must be lower-case letters, digits and '-'");
                    if (reserved is not null && reserved.Contains(id)) throw Error(ref r, $"'{id}' {reservedWhy}");
                    if (!ids.Add(id)) throw Error(ref r, $"duplicate {what} '{id}'");
                }
                else if (name == textField)
                {
                    text = String(ref r, name);
                    if (text.Length == 0) throw Error(ref r, $"'{textField}' is empty");
                }
                else throw Error(namePos, $"unknown field '{name}' in {(what[0] is 'a' ? "an" : "a")} {what} (valid: id, {textField})");
            }
            if (id is null || text is null) throw Error(start, $"{(what[0] is 'a' ? "an" : "a")} {what} needs 'id' and '{textField}'");
            list.Add(make(id, text));
        }
        return list;
    }

    private (PortSet Ports, string? Role) Proxy(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "'proxy' must be an object");
        long start = r.TokenStartIndex;
        PortSet? ports = null;
        string? role = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "ports":
                    ports = Ports(ref r, name);
                    if (ports.IsAny) throw Error(ref r, "proxy 'ports' must list ports (or be \"unspecified\"), not any");
                    break;
                case "peerRole":
                    role = String(ref r, name);
                    _refs.Add(new Reference(_bomLength + r.TokenStartIndex, ReferenceKind.ProxyRole, role, null));
                    break;
                default: throw Error(namePos, $"unknown field '{name}' in 'proxy' (valid: ports, peerRole)");
            }
        }
        if (ports is null) throw Error(_bomLength + start, "'proxy' is missing required field 'ports'");
        return (ports, role);
    }

    private DefaultRttBudgets DefaultRtt(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "'defaultRttMs' must be an object");
        int? sip = null, media = null, nodes = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "sip": sip = NullableInt(ref r, name, 1, 10_000); break;
                case "media": media = NullableInt(ref r, name, 1, 10_000); break;
                case "betweenNodes": nodes = NullableInt(ref r, name, 1, 10_000); break;
                default: throw Error(namePos, $"unknown field '{name}' in 'defaultRttMs' (valid: sip, media, betweenNodes)");
            }
        }
        return new DefaultRttBudgets(sip, media, nodes);
    }

    private NodeEvidenceRules NodeEvidence(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "'nodeEvidence' must be an object");
        long start = r.TokenStartIndex;
        int? nodeScore = null, strongScore = null;
        List<NodeEvidenceRule>? rules = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "nodeScore": nodeScore = NullableInt(ref r, name, 1, 1000); break;
                case "strongScore": strongScore = NullableInt(ref r, name, 1, 1000); break;
                case "rules":
                    if (r.TokenType != JsonTokenType.StartArray) throw Error(ref r, "'rules' must be an array");
                    rules = [];
                    var ids = new HashSet<string>(StringComparer.Ordinal);
                    while (true)
                    {
                        Expect(ref r);
                        if (r.TokenType == JsonTokenType.EndArray) break;
                        rules.Add(EvidenceRule(ref r, ids));
                    }
                    break;
                default: throw Error(namePos, $"unknown field '{name}' in 'nodeEvidence' (valid: nodeScore, strongScore, rules)");
            }
        }
        if (nodeScore is null) throw Error(_bomLength + start, "'nodeEvidence' is missing required field 'nodeScore'");
        if (strongScore is null) throw Error(_bomLength + start, "'nodeEvidence' is missing required field 'strongScore'");
        if (rules is null) throw Error(_bomLength + start, "'nodeEvidence' is missing required field 'rules'");
        if (strongScore < nodeScore) throw Error(_bomLength + start, "'strongScore' must not be below 'nodeScore'");
        return new NodeEvidenceRules { NodeScore = nodeScore.Value, StrongScore = strongScore.Value, Rules = rules };
    }

    private NodeEvidenceRule EvidenceRule(ref Utf8JsonReader r, HashSet<string> ids)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "each node evidence rule must be an object");
        long start = r.TokenStartIndex;
        string? id = null, label = null, description = null;
        NodeEvidenceKind? kind = null;
        CatalogueTransport? transport = null;
        PortSet? ports = null;
        int? score = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "id":
                    id = RuleId(ref r, name);
                    if (!ids.Add(id)) throw Error(ref r, $"duplicate node evidence rule id '{id}'");
                    break;
                case "kind":
                    string k = String(ref r, name);
                    kind = k switch
                    {
                        "serves" => NodeEvidenceKind.Serves,
                        "serves-or-sends" => NodeEvidenceKind.ServesOrSends,
                        "answers-with-media" => NodeEvidenceKind.AnswersWithMedia,
                        "cluster-peer" => NodeEvidenceKind.ClusterPeer,
                        "cluster-confirm" => NodeEvidenceKind.ClusterConfirm,
                        _ => throw Error(ref r, $"unknown node evidence kind '{k}' (expected serves, serves-or-sends, answers-with-media, cluster-peer or cluster-confirm)"),
                    };
                    break;
                case "name": label = String(ref r, name); break;
                case "transport":
                    string t = String(ref r, name);
                    transport = t switch
                    {
                        "tcp" => CatalogueTransport.Tcp,
                        "udp" => CatalogueTransport.Udp,
                        _ => throw Error(ref r, $"unknown transport '{t}' (expected tcp or udp)"),
                    };
                    break;
                case "ports": ports = Ports(ref r, name); break;
                case "score": score = NullableInt(ref r, name, 0, 1000); break;
                case "description": description = String(ref r, name); break;
                default: throw Error(namePos, $"unknown field '{name}' in a node evidence rule");
            }
        }
        string where = id is null ? "a node evidence rule" : $"node evidence rule '{id}'";
        if (id is null || kind is null || label is null || score is null || description is null)
            throw Error(_bomLength + start, $"{where} needs 'id', 'kind', 'name', 'score' and 'description'");
        if (kind != NodeEvidenceKind.AnswersWithMedia && (transport is null || ports is not { IsSpecific: true }))
            throw Error(_bomLength + start, $"{where} needs 'transport' and concrete 'ports'");
        return new NodeEvidenceRule
        {
            Id = id, Kind = kind.Value, Name = label, Transport = transport, Ports = ports ?? PortSet.Unspecified,
            Score = score.Value, Description = description,
        };
    }

    private List<CatalogueEntry> Entries(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw Error(ref r, "'entries' must be an array");
        var list = new List<CatalogueEntry>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            Expect(ref r);
            if (r.TokenType == JsonTokenType.EndArray) break;
            list.Add(Entry(ref r, list.Count, ids));
        }
        if (list.Count == 0) throw Error(ref r, "'entries' is empty");
        return list;
    }

    private CatalogueEntry Entry(ref Utf8JsonReader r, int index, HashSet<string> ids)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "each entry must be an object");
        long start = _bomLength + r.TokenStartIndex;
        string? id = null, section = null, protocol = null, service = null, description = null;
        VendorDirection? direction = null;
        List<string>? apps = null;
        bool optional = false, infrastructure = false, onDemand = false;
        string? peerRole = null, group = null;
        long groupPos = 0;
        int? maxRtt = null, bandwidth = null;
        List<PendingBinding>? bindings = null;
        List<IpPrefix> networks = [];
        List<string> serverNames = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "id":
                    id = RuleId(ref r, name);
                    if (!ids.Add(id)) throw Error(ref r, $"duplicate rule id '{id}'");
                    break;
                case "section":
                    section = String(ref r, name);
                    if (!IsSlug(section)) throw Error(ref r, $"section id '{section}' must be lower-case letters, digits and '-'");
                    _refs.Add(new Reference(_bomLength + r.TokenStartIndex, ReferenceKind.Section, section, null));
                    break;
                case "protocol":
                    protocol = String(ref r, name);
                    if (protocol.Length == 0) throw Error(ref r, "'protocol' is empty");
                    break;
                case "service":
                    service = String(ref r, name);
                    if (!IsSlug(service)) throw Error(ref r, $"service id '{service}' must be lower-case letters, digits and '-'");
                    break;
                case "direction":
                    string d = String(ref r, name);
                    direction = d switch
                    {
                        "IN" => VendorDirection.In,
                        "OUT" => VendorDirection.Out,
                        "IN/OUT" => VendorDirection.InOut,
                        "NODE" => VendorDirection.Node,
                        _ => throw Error(ref r, $"unknown direction '{d}' (expected IN, OUT, IN/OUT or NODE)"),
                    };
                    break;
                case "applications":
                    apps = StringArray(ref r, name, (string s, ref Utf8JsonReader rr) =>
                    {
                        if (!IsSlug(s)) throw Error(ref rr, $"application id '{s}' must be lower-case letters, digits and '-'");
                        _refs.Add(new Reference(_bomLength + rr.TokenStartIndex, ReferenceKind.Application, s, null));
                        return s;
                    });
                    if (apps.Count == 0) throw Error(ref r, "'applications' is empty");
                    break;
                case "optional": optional = Bool(ref r, name); break;
                case "infrastructure": infrastructure = Bool(ref r, name); break;
                case "onDemand": onDemand = Bool(ref r, name); break;
                case "peerRole":
                    peerRole = String(ref r, name);
                    _refs.Add(new Reference(_bomLength + r.TokenStartIndex, ReferenceKind.PeerRole, peerRole, null));
                    break;
                case "group":
                    group = String(ref r, name);
                    groupPos = _bomLength + r.TokenStartIndex;
                    break;
                case "maxRttMs": maxRtt = NullableInt(ref r, name, 1, 10_000); break;
                case "bandwidthKbpsPerCall": bandwidth = NullableInt(ref r, name, 1, 10_000_000); break;
                case "description":
                    description = String(ref r, name);
                    if (description.Length == 0) throw Error(ref r, "'description' is empty");
                    break;
                case "remoteNetworks":
                    networks = StringArray(ref r, name, (string s, ref Utf8JsonReader rr) =>
                        IpPrefix.TryParse(s, out var p) ? p : throw Error(ref rr, $"'{s}' is not a network like 52.112.0.0/14"));
                    break;
                case "serverNames":
                    serverNames = StringArray(ref r, name, (string s, ref Utf8JsonReader rr) =>
                        IsServerNamePattern(s) ? s : throw Error(ref rr, $"'{s}' is not a server name or '*.domain' pattern (lower case)"));
                    break;
                case "bindings": bindings = Bindings(ref r); break;
                default: throw Error(namePos, $"unknown field '{name}' in entry {index + 1}");
            }
        }
        string where = id is null ? $"entry {index + 1}" : $"entry '{id}'";
        if (id is null) throw Error(start, $"{where} is missing required field 'id'");
        if (section is null) throw Error(start, $"{where} is missing required field 'section'");
        if (protocol is null) throw Error(start, $"{where} is missing required field 'protocol'");
        if (service is null) throw Error(start, $"{where} is missing required field 'service'");
        if (direction is null) throw Error(start, $"{where} is missing required field 'direction'");
        if (apps is null) throw Error(start, $"{where} is missing required field 'applications'");
        if (description is null) throw Error(start, $"{where} is missing required field 'description'");
        if (bindings is null) throw Error(start, $"{where} is missing required field 'bindings'");
        if (group is not null) _refs.Add(new Reference(groupPos, ReferenceKind.Group, group, peerRole));
        return new CatalogueEntry
        {
            Id = id, Section = section, Protocol = protocol, Service = service, Direction = direction.Value,
            Applications = apps, Optional = optional, Infrastructure = infrastructure, MaxRttMs = maxRtt,
            BandwidthKbpsPerCall = bandwidth, Description = description, RemoteNetworks = networks,
            ServerNames = serverNames, Index = index, PeerRole = peerRole, Group = group, OnDemand = onDemand,
            Bindings = bindings.Select(b => b.Build(service)).ToArray(),
        };
    }

    private sealed record PendingBinding(CatalogueTransport Transport, string? Service, PortSet ImagiclePorts, PortSet RemotePorts, bool PayloadOnly, int Priority)
    {
        public CatalogueBinding Build(string entryService) => new()
        {
            Transport = Transport, Service = Service ?? entryService, ImagiclePorts = ImagiclePorts,
            RemotePorts = RemotePorts, PayloadOnly = PayloadOnly, Priority = Priority,
        };
    }

    private List<PendingBinding> Bindings(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw Error(ref r, "'bindings' must be an array");
        var list = new List<PendingBinding>();
        while (true)
        {
            Expect(ref r);
            if (r.TokenType == JsonTokenType.EndArray) break;
            list.Add(Binding(ref r));
        }
        if (list.Count == 0) throw Error(ref r, "'bindings' is empty");
        return list;
    }

    private PendingBinding Binding(ref Utf8JsonReader r)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "each binding must be an object");
        long start = _bomLength + r.TokenStartIndex;
        CatalogueTransport? transport = null;
        string? service = null;
        PortSet? imagicle = null, remote = null;
        bool payloadOnly = false;
        int priority = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref r, seen, out string name, out long namePos))
        {
            switch (name)
            {
                case "transport":
                    string t = String(ref r, name);
                    transport = t switch
                    {
                        "tcp" => CatalogueTransport.Tcp,
                        "udp" => CatalogueTransport.Udp,
                        "tls-over-tcp" => CatalogueTransport.TlsOverTcp,
                        "icmp" => CatalogueTransport.Icmp,
                        _ => throw Error(ref r, $"unknown transport '{t}' (expected tcp, udp, tls-over-tcp or icmp)"),
                    };
                    break;
                case "service":
                    service = String(ref r, name);
                    if (!IsSlug(service)) throw Error(ref r, $"service id '{service}' must be lower-case letters, digits and '-'");
                    break;
                case "imagiclePorts": imagicle = Ports(ref r, name); break;
                case "remotePorts": remote = Ports(ref r, name); break;
                case "payloadOnly": payloadOnly = Bool(ref r, name); break;
                case "priority": priority = Int(ref r, name); break;
                default: throw Error(namePos, $"unknown field '{name}' in a binding");
            }
        }
        if (transport is null) throw Error(start, "binding is missing required field 'transport'");
        if (imagicle is null) throw Error(start, "binding is missing required field 'imagiclePorts'");
        if (remote is null) throw Error(start, "binding is missing required field 'remotePorts'");
        if (transport == CatalogueTransport.Icmp && (!imagicle.IsAny || !remote.IsAny)) throw Error(start, "an icmp binding has no ports: use \"any\" on both sides");
        if (payloadOnly && transport != CatalogueTransport.Udp) throw Error(start, "'payloadOnly' bindings must be udp (RTP, RTCP, T.38)");
        return new PendingBinding(transport.Value, service, imagicle, remote, payloadOnly, priority);
    }

    /// <summary>"any", "unspecified", or "p", "a-b" items separated by commas; ports 1-65535.</summary>
    private PortSet Ports(ref Utf8JsonReader r, string field)
    {
        string text = String(ref r, field);
        if (text == "any") return PortSet.Any;
        if (text == "unspecified") return PortSet.Unspecified;
        var ranges = new List<PortRange>();
        foreach (var raw in text.Split(','))
        {
            string item = raw.Trim();
            int dash = item.IndexOf('-');
            string a = dash < 0 ? item : item[..dash];
            string? b = dash < 0 ? null : item[(dash + 1)..];
            ushort first = Port(ref r, field, a, item);
            ushort last = b is null ? first : Port(ref r, field, b, item);
            if (last < first) throw Error(ref r, $"bad port range '{item}' in '{field}': first port is above the last");
            ranges.Add(new PortRange(first, last));
        }
        return PortSet.Of([.. ranges]);
    }

    private ushort Port(ref Utf8JsonReader r, string field, string text, string item)
    {
        if (text.Length == 0 || text.Length > 6 || !text.All(char.IsAsciiDigit))
            throw Error(ref r, $"bad port '{item}' in '{field}' (expected any, unspecified, or ports and ranges like 5060,16384-32766)");
        int p = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        if (p < 1 || p > 65535) throw Error(ref r, $"port {p} in '{field}' is out of range 1-65535");
        return (ushort)p;
    }

    private delegate T ItemParser<T>(string s, ref Utf8JsonReader r);

    private List<T> StringArray<T>(ref Utf8JsonReader r, string field, ItemParser<T> parse)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw Error(ref r, $"'{field}' must be an array of strings");
        var list = new List<T>();
        while (true)
        {
            Expect(ref r);
            if (r.TokenType == JsonTokenType.EndArray) break;
            list.Add(parse(String(ref r, field), ref r));
        }
        return list;
    }

    /// <summary>Moves to an object's next property and onto its value; false at the object's end. A name seen twice is an error.</summary>
    private bool NextProperty(ref Utf8JsonReader r, HashSet<string> seen, out string name, out long namePos)
    {
        Expect(ref r);
        name = "";
        namePos = _bomLength + r.TokenStartIndex;
        if (r.TokenType == JsonTokenType.EndObject) return false;
        name = PropertyName(ref r, seen);
        Expect(ref r);
        return true;
    }

    private string PropertyName(ref Utf8JsonReader r, HashSet<string> seen)
    {
        string name = _positions.GetString(ref r, Error);
        if (!seen.Add(name)) throw Error(ref r, $"field '{name}' appears twice");
        return name;
    }

    /// <summary>A rule id: lower-case letters, digits and '-'.</summary>
    private string RuleId(ref Utf8JsonReader r, string field)
    {
        string id = String(ref r, field);
        return IsSlug(id) ? id : throw Error(ref r, $"rule id '{id}' must be lower-case letters, digits and '-'");
    }

    private string String(ref Utf8JsonReader r, string field)
        => r.TokenType == JsonTokenType.String ? _positions.GetString(ref r, Error) : throw Error(ref r, $"'{field}' must be a string");

    private bool Bool(ref Utf8JsonReader r, string field) => r.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Error(ref r, $"'{field}' must be true or false"),
    };

    private int Int(ref Utf8JsonReader r, string field)
        => r.TokenType == JsonTokenType.Number && r.TryGetInt32(out int v) ? v : throw Error(ref r, $"'{field}' must be an integer");

    private int? NullableInt(ref Utf8JsonReader r, string field, int min, int max)
    {
        if (r.TokenType == JsonTokenType.Null) return null;
        int v = Int(ref r, field);
        if (v < min || v > max) throw Error(ref r, $"'{field}' = {v} is out of range {min}-{max}");
        return v;
    }

    private static bool IsSlug(string s)
    {
        if (s.Length == 0 || s[0] == '-' || s[^1] == '-') return false;
        foreach (char c in s) if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')) return false;
        return true;
    }

    /// <summary>"name.example" or "*.example": lower-case DNS labels; a '*' only as the whole first label.</summary>
    private static bool IsServerNamePattern(string s)
    {
        string rest = s.StartsWith("*.", StringComparison.Ordinal) ? s[2..] : s;
        if (rest.Length == 0 || rest.Length > 253) return false;
        foreach (var label in rest.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (char c in label) if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || c == '_')) return false;
        }
        return true;
    }

    /// <summary>Reads the next token; a syntax error becomes a <see cref="CatalogueException"/> at the reader's position.</summary>
    private bool Next(ref Utf8JsonReader r) =>
        _positions.Read(ref r, (line, col, problem, ex) => new CatalogueException(_file, line, col, problem, ex));

    private void Expect(ref Utf8JsonReader r)
    {
        if (!Next(ref r)) throw Error(_positions.Length, "unexpected end of the catalogue");
    }

    private CatalogueException Error(ref Utf8JsonReader r, string problem) => Error(_bomLength + r.TokenStartIndex, problem);

    /// <summary>An error at byte offset <paramref name="offset"/> of the file.</summary>
    private CatalogueException Error(long offset, string problem)
    {
        var (line, col) = _positions.FromOffset(offset);
        return new CatalogueException(_file, line, col, problem);
    }
}
