using System.Collections.Concurrent;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Classification;

/// <summary>
/// Matches flows against the port catalogue. Lookup tables are built once in the constructor (per
/// transport, per port); <see cref="Classify"/> allocates nothing once a verdict has been seen, because
/// verdicts are cached and shared. Safe to call from several threads.
///
/// Precedence (first step that yields a match wins):
/// <list type="number">
/// <item>ICMP/ICMPv6 flows: the icmp infrastructure row.</item>
/// <item>Remote-address rows (Teams media): an endpoint inside a listed network using a listed port.
///   An address range is more specific than any port number.</item>
/// <item>Server-name rows (Imagicle cloud, Teams signalling) when the TLS server name matches and the server
///   port is listed: an exact name beats a wildcard, a longer wildcard suffix beats a shorter one.</item>
/// <item>Payload evidence on UDP: IsT38, then IsRtcp, then IsRtp select the payload-only rows (RTP/T.38);
///   their port ranges (node &gt;= 5000, peer &gt; 1024) decide whether a rule allows the flow. When none does,
///   the service is still rtp/rtcp/t38 but MatchedRule is "". A port is never enough for these services.</item>
/// <item>Port rows. A row can match with the node as server (orientation A; vendor direction IN, IN/OUT or
///   NODE) or as client (orientation B; vendor direction OUT or IN/OUT; cluster rows list the listener's ports,
///   so never B). Flow direction IN allows only A, OUT only B, NODE and NONE both. In an orientation a row
///   matches when the node's port is in its Imagicle list, or (OUT and IN/OUT rows) the peer's port is in its
///   remote list ("any" never matches on its own). When IsSip, only SIP rows are considered. The best match is,
///   in order: infrastructure rows; for NODE flows, cluster rows; other rows; then both port lists matched,
///   the node's port matched (the server's port when no node or both nodes are known), only the peer's port;
///   higher binding priority; smaller matching port ranges; earlier in the catalogue. Rows tied on everything
///   but catalogue order all contribute to Applications. Rows with "any" on both sides (HA full
///   connectivity) apply only to NODE flows, after every other row.</item>
/// <item>When no row allows the flow in its direction, the service is still named from the best row that would
///   match with the direction ignored (e.g. RDP from a workstation to a node is "rdp"), with MatchedRule "".</item>
/// <item>IsSip without a matching row gives "sip"; anything else "unknown".</item>
/// </list>
/// </summary>
public sealed class FlowClassifier
{
    private const string DirIn = "IN", DirOut = "OUT", DirNode = "NODE", DirNone = "NONE";
    private const int MaxTies = 16;

    private enum FlowDir : byte { In, Out, Node, None }

    private sealed class Candidate(int id, CatalogueEntry entry, CatalogueBinding binding)
    {
        public readonly int Id = id;
        public readonly CatalogueEntry Entry = entry;
        public readonly CatalogueBinding Binding = binding;
        public readonly bool BothAny = binding.ImagiclePorts.IsAny && binding.RemotePorts.IsAny;
        public readonly bool IsSipService = binding.Service.StartsWith("sip", StringComparison.Ordinal);
    }

    /// <summary>Lower is better, compared field by field; <see cref="EntryIndex"/> only orders exact ties.</summary>
    private readonly record struct Score(int Tier, int Side, int NegPriority, int Width, int EntryIndex) : IComparable<Score>
    {
        public int CompareWithoutOrder(Score o)
        {
            int c = Tier.CompareTo(o.Tier);
            if (c == 0) c = Side.CompareTo(o.Side);
            if (c == 0) c = NegPriority.CompareTo(o.NegPriority);
            if (c == 0) c = Width.CompareTo(o.Width);
            return c;
        }

        public int CompareTo(Score o)
        {
            int c = CompareWithoutOrder(o);
            return c != 0 ? c : EntryIndex.CompareTo(o.EntryIndex);
        }
    }

    private readonly PortCatalogue _catalogue;
    private readonly Candidate[] _all;
    private readonly Candidate[]?[] _tcpByPort = new Candidate[]?[65536];
    private readonly Candidate[]?[] _udpByPort = new Candidate[]?[65536];
    private readonly Candidate[] _tcpWildcard, _udpWildcard, _icmp, _payload, _addressRules;
    private readonly (string Pattern, bool Wildcard, Candidate Candidate)[] _nameRules;
    private readonly ConcurrentDictionary<(int Candidate, FlowDir Dir, UInt128 Ties), FlowClassification> _cache = new();
    private readonly ConcurrentDictionary<(string Service, FlowDir Dir, bool Infra), FlowClassification> _noRule = new();

    // --- verdicts remembered by what decides them (see Classify) ---
    /// <summary>
    /// The ports where a port class starts, ascending (a class: ports 0-65535 cut at every bound of every rule's port
    /// ranges, so two ports of one class are in the same ranges of every rule: the same rows, the same range sizes). A
    /// port's class is found by binary search, rather than in a 64K table that would sit in the large-object heap. Null
    /// when the classes are too many for the key.
    /// </summary>
    private readonly int[]? _classStarts;
    /// <summary>Verdicts by <see cref="VerdictKey"/>, and those of flows whose server name a name rule reads, by key and name.</summary>
    private readonly ConcurrentDictionary<ulong, FlowClassification> _verdicts = new();
    private readonly ConcurrentDictionary<(ulong Key, string Name), FlowClassification> _namedVerdicts = new();
    private int _remembered;
    /// <summary>Verdicts remembered at most (the two tables together); past it a flow is classified without being remembered (<see cref="VerdictsNotRemembered"/>).</summary>
    public const int MaxRemembered = 65_536;
    private const int ClassBits = 12, MaxAddressRules = 64 - 1 - 2 * ClassBits - 7;

    public FlowClassifier(PortCatalogue catalogue)
    {
        ArgumentNullException.ThrowIfNull(catalogue);
        _catalogue = catalogue;
        var all = new List<Candidate>();
        var tcp = new Dictionary<int, List<Candidate>>();
        var udp = new Dictionary<int, List<Candidate>>();
        List<Candidate> tcpWild = [], udpWild = [], icmp = [], payload = [], address = [];
        var names = new List<(string, bool, Candidate)>();

        foreach (var e in catalogue.Entries)
        {
            foreach (var b in e.Bindings)
            {
                var c = new Candidate(all.Count, e, b);
                all.Add(c);
                if (b.ImagiclePorts.IsUnspecified || b.RemotePorts.IsUnspecified) continue; // PMS Link: never by port
                if (e.RemoteNetworks.Count > 0) { address.Add(c); continue; }
                if (e.ServerNames.Count > 0)
                {
                    foreach (var n in e.ServerNames)
                        names.Add(n.StartsWith("*.", StringComparison.Ordinal) ? (n[1..], true, c) : (n, false, c));
                    continue;
                }
                if (b.PayloadOnly) { payload.Add(c); continue; }
                switch (b.Transport)
                {
                    case CatalogueTransport.Icmp: icmp.Add(c); continue;
                    case CatalogueTransport.Udp when c.BothAny: udpWild.Add(c); continue;
                    case CatalogueTransport.Tcp or CatalogueTransport.TlsOverTcp when c.BothAny: tcpWild.Add(c); continue;
                }
                var index = b.Transport == CatalogueTransport.Udp ? udp : tcp;
                AddPorts(index, b.ImagiclePorts, c);
                AddPorts(index, b.RemotePorts, c);
            }
        }
        foreach (var (port, list) in tcp) _tcpByPort[port] = [.. list];
        foreach (var (port, list) in udp) _udpByPort[port] = [.. list];
        _all = [.. all];
        _tcpWildcard = [.. tcpWild];
        _udpWildcard = [.. udpWild];
        _icmp = [.. icmp];
        _payload = [.. payload];
        _addressRules = [.. address];
        _nameRules = [.. names];
        _classStarts = _addressRules.Length <= MaxAddressRules ? ClassStarts(all) : null;
    }

    /// <summary>
    /// Where the port classes start (see <see cref="_classStarts"/>): at 0, at every port where a rule's range starts and
    /// after every one that ends. Null when there are more than 2^12 classes.
    /// </summary>
    private static int[]? ClassStarts(List<Candidate> all)
    {
        var starts = new SortedSet<int> { 0 };
        foreach (var c in all)
            foreach (var set in (ReadOnlySpan<PortSet>)[c.Binding.ImagiclePorts, c.Binding.RemotePorts])
                foreach (var r in set.Ranges)
                {
                    starts.Add(r.First);
                    if (r.Last < 65535) starts.Add(r.Last + 1);
                }
        return starts.Count <= 1 << ClassBits ? [.. starts] : null;
    }

    /// <summary>The class of <paramref name="port"/>: the index of the last class start at or below it.</summary>
    private static ulong ClassOf(int[] starts, ushort port)
    {
        int i = Array.BinarySearch(starts, port);
        return (ulong)(i >= 0 ? i : ~i - 1);
    }

    /// <summary>Verdicts remembered so far (<see cref="MaxRemembered"/> at most).</summary>
    public int VerdictsRemembered => Volatile.Read(ref _remembered);

    /// <summary>Flows classified without remembering the verdict because the tables were full.</summary>
    public long VerdictsNotRemembered => Interlocked.Read(ref _notRemembered);
    private long _notRemembered;

    private static void AddPorts(Dictionary<int, List<Candidate>> index, PortSet set, Candidate c)
    {
        if (!set.IsSpecific) return;
        foreach (var r in set.Ranges)
        {
            for (int p = r.First; p <= r.Last; p++)
            {
                if (!index.TryGetValue(p, out var list)) index[p] = list = [];
                if (!list.Contains(c)) list.Add(c);
            }
        }
    }

    public PortCatalogue Catalogue => _catalogue;

    /// <summary>
    /// The flow's verdict. A verdict depends on the flow's transport, the classes of its two ports (<see cref="_classStarts"/>)
    /// and whether they are equal, its direction, its payload hints, which address rules' networks hold either end, and
    /// the server name when a name rule may read it; it is remembered by those (up to <see cref="MaxRemembered"/>), so a
    /// flow like one seen before costs a lookup rather than a walk over the rules. Tests compare both ways.
    /// </summary>
    public FlowClassification Classify(in FlowFacts f)
    {
        if (_classStarts is null || f.Transport is not (IpProtocol.Tcp or IpProtocol.Udp)) return Evaluate(in f);
        ulong key = VerdictKey(in f);
        bool named = f.Transport == IpProtocol.Tcp && !string.IsNullOrEmpty(f.ServerName) && _nameRules.Length > 0;
        FlowClassification? v;
        if (named ? _namedVerdicts.TryGetValue((key, f.ServerName!), out v) : _verdicts.TryGetValue(key, out v)) return v;
        v = Evaluate(in f);
        if (Interlocked.Increment(ref _remembered) > MaxRemembered)
        {
            Interlocked.Decrement(ref _remembered);
            Interlocked.Increment(ref _notRemembered);
            return v;
        }
        bool added = named ? _namedVerdicts.TryAdd((key, f.ServerName!), v) : _verdicts.TryAdd(key, v);
        if (!added) Interlocked.Decrement(ref _remembered);
        return v;
    }

    /// <summary>
    /// What decides a TCP or UDP flow's verdict besides its server name, in 64 bits: transport, the two port classes,
    /// whether the ports are equal, the ends that are nodes, the payload hints, and for each address rule whether it holds
    /// the flow (an end in its networks using a listed port, the other end's port in its Imagicle list).
    /// </summary>
    private ulong VerdictKey(in FlowFacts f)
    {
        var starts = _classStarts!;
        ulong key = f.Transport == IpProtocol.Tcp ? 1UL : 0UL;
        key |= ClassOf(starts, f.ClientPort) << 1;
        key |= ClassOf(starts, f.ServerPort) << (1 + ClassBits);
        int at = 1 + 2 * ClassBits;
        if (f.ClientPort == f.ServerPort) key |= 1UL << at;
        if (f.ClientIsNode) key |= 1UL << (at + 1);
        if (f.ServerIsNode) key |= 1UL << (at + 2);
        if (f.IsRtp) key |= 1UL << (at + 3);
        if (f.IsRtcp) key |= 1UL << (at + 4);
        if (f.IsT38) key |= 1UL << (at + 5);
        if (f.IsSip) key |= 1UL << (at + 6);
        at += 7;
        for (int i = 0; i < _addressRules.Length; i++, at++)
        {
            // The rule holds the flow either way round (as step 2 of Evaluate tests it); a network is looked at only when
            // the ports fit, so most flows look at none.
            var c = _addressRules[i];
            if ((c.Binding.RemotePorts.Contains(f.ServerPort) && c.Binding.ImagiclePorts.Contains(f.ClientPort) && InNetworks(c, f.ServerIp))
                || (c.Binding.RemotePorts.Contains(f.ClientPort) && c.Binding.ImagiclePorts.Contains(f.ServerPort) && InNetworks(c, f.ClientIp)))
                key |= 1UL << at;
        }
        return key;
    }

    private static bool InNetworks(Candidate c, IpAddress address)
    {
        var networks = c.Entry.RemoteNetworks;
        for (int n = 0; n < networks.Count; n++)
            if (networks[n].Contains(address)) return true;
        return false;
    }

    /// <summary>The verdict, walking the rules (<see cref="Classify"/> remembers it).</summary>
    internal FlowClassification Evaluate(in FlowFacts f)
    {
        var dir = (f.ClientIsNode, f.ServerIsNode) switch
        {
            (false, true) => FlowDir.In,
            (true, false) => FlowDir.Out,
            (true, true) => FlowDir.Node,
            _ => FlowDir.None,
        };
        Span<int> ties = stackalloc int[MaxTies];

        if (f.Transport is IpProtocol.Icmp or IpProtocol.Icmpv6)
            return _icmp.Length > 0 ? Verdict(_icmp[0], dir, ties[..0]) : NoRule("icmp", dir, infrastructure: true);

        bool isTcp = f.Transport == IpProtocol.Tcp;
        if (!isTcp && f.Transport != IpProtocol.Udp) return NoRule("unknown", dir, false);

        // 2. Remote networks (Teams media): the endpoint inside the network must use a listed remote port.
        foreach (var c in _addressRules)
        {
            if (!TransportMatches(c.Binding.Transport, isTcp)) continue;
            var networks = c.Entry.RemoteNetworks;
            // By index: a foreach over the interface would allocate an enumerator per flow.
            for (int i = 0; i < networks.Count; i++)
            {
                var net = networks[i];
                if ((net.Contains(f.ServerIp) && c.Binding.RemotePorts.Contains(f.ServerPort) && c.Binding.ImagiclePorts.Contains(f.ClientPort))
                    || (net.Contains(f.ClientIp) && c.Binding.RemotePorts.Contains(f.ClientPort) && c.Binding.ImagiclePorts.Contains(f.ServerPort)))
                    return Verdict(c, dir, ties[..0]);
            }
        }

        // 3. TLS server names.
        if (isTcp && !string.IsNullOrEmpty(f.ServerName) && _nameRules.Length > 0)
        {
            var found = MatchServerName(f, ties, out int n);
            if (found is not null) return Verdict(found, dir, ties[..n]);
        }

        // 4. Payload evidence (UDP): RTP, RTCP and T.38 are never claimed from ports alone.
        if (!isTcp && (f.IsT38 || f.IsRtcp || f.IsRtp))
        {
            string service = f.IsT38 ? "t38" : f.IsRtcp ? "rtcp" : "rtp";
            var best = Best(_payload, default, [], f, dir, service, sipOnly: false, relaxed: false, ties, out int n);
            return best is not null ? Verdict(best, dir, ties[..n]) : NoRule(service, dir, false);
        }

        // 5. Port rows.
        var byPort = isTcp ? _tcpByPort : _udpByPort;
        var wild = dir == FlowDir.Node ? (isTcp ? _tcpWildcard : _udpWildcard) : [];
        var atClient = byPort[f.ClientPort] ?? [];
        var atServer = f.ServerPort == f.ClientPort ? [] : byPort[f.ServerPort] ?? [];
        {
            var best = Best(atClient, atServer, wild, f, dir, null, f.IsSip, relaxed: false, ties, out int n);
            if (best is not null) return Verdict(best, dir, ties[..n]);
        }

        // 6. No row allows this direction: name the service from the port anyway, without a rule.
        if (dir != FlowDir.None)
        {
            var best = Best(atClient, atServer, [], f, dir, null, f.IsSip, relaxed: true, ties, out _);
            if (best is not null) return NoRule(best.Binding.Service, dir, best.Entry.Infrastructure);
        }

        // 7. Nothing matched.
        return NoRule(f.IsSip ? "sip" : "unknown", dir, false);
    }

    private static bool TransportMatches(CatalogueTransport t, bool isTcp)
        => isTcp ? t is CatalogueTransport.Tcp or CatalogueTransport.TlsOverTcp : t == CatalogueTransport.Udp;

    private Candidate? MatchServerName(in FlowFacts f, Span<int> ties, out int tieCount)
    {
        ReadOnlySpan<char> name = f.ServerName.AsSpan().TrimEnd('.');
        Candidate? best = null;
        int bestStrength = -1;
        tieCount = 0;
        // First pass: the strongest name match (earliest row on equal strength).
        foreach (var rule in _nameRules)
        {
            int strength = NameStrength(rule, name, f.ServerPort);
            if (strength > bestStrength) { best = rule.Candidate; bestStrength = strength; }
        }
        if (best is null) return null;
        // Second pass: other rows matching as strongly contribute their applications.
        foreach (var rule in _nameRules)
        {
            var c = rule.Candidate;
            if (c.Entry == best.Entry || tieCount >= ties.Length || Contains(ties[..tieCount], c.Id)) continue;
            if (NameStrength(rule, name, f.ServerPort) == bestStrength) ties[tieCount++] = c.Id;
        }
        return best;
    }

    /// <summary>-1 when the rule does not match; an exact name beats any wildcard; a longer wildcard suffix beats a shorter one.</summary>
    private static int NameStrength((string Pattern, bool Wildcard, Candidate Candidate) rule, ReadOnlySpan<char> name, ushort serverPort)
    {
        var b = rule.Candidate.Binding;
        if (!TransportMatches(b.Transport, isTcp: true) || !b.RemotePorts.Contains(serverPort)) return -1;
        if (rule.Wildcard)
        {
            // Pattern is ".domain": the name needs at least one label in front of it.
            return name.Length > rule.Pattern.Length && name.EndsWith(rule.Pattern, StringComparison.OrdinalIgnoreCase) ? rule.Pattern.Length : -1;
        }
        return name.Equals(rule.Pattern, StringComparison.OrdinalIgnoreCase) ? int.MaxValue : -1;
    }

    /// <summary>
    /// Best candidate across the given lists for this flow, and the other candidates that tie with it
    /// except for catalogue order (written to <paramref name="ties"/>).
    /// <paramref name="relaxed"/> ignores the flow direction (used only to name a service when no row allows the flow).
    /// </summary>
    private static Candidate? Best(ReadOnlySpan<Candidate> a, ReadOnlySpan<Candidate> b, ReadOnlySpan<Candidate> c,
        in FlowFacts f, FlowDir dir, string? service, bool sipOnly, bool relaxed, Span<int> ties, out int tieCount)
    {
        Candidate? best = null;
        Score bestScore = default;
        tieCount = 0;
        for (int list = 0; list < 3; list++)
        {
            var span = list == 0 ? a : list == 1 ? b : c;
            foreach (var cand in span)
            {
                if (service is not null && !string.Equals(cand.Binding.Service, service, StringComparison.Ordinal)) continue;
                if (sipOnly && !cand.IsSipService) continue;
                if (!TransportMatches(cand.Binding.Transport, f.Transport == IpProtocol.Tcp)) continue;
                if (!TryScore(cand, f, relaxed ? FlowDir.None : dir, out var s)) continue;
                if (best is null)
                {
                    best = cand; bestScore = s; tieCount = 0;
                    continue;
                }
                int cmp = s.CompareWithoutOrder(bestScore);
                if (cmp < 0)
                {
                    best = cand; bestScore = s; tieCount = 0;
                }
                else if (cmp == 0 && cand != best)
                {
                    // Same quality: keep the earlier row as the rule, remember the other for Applications.
                    var other = s.EntryIndex < bestScore.EntryIndex ? best : cand;
                    if (other == best) { best = cand; bestScore = s; }
                    if (tieCount < ties.Length && !Contains(ties[..tieCount], other.Id)) ties[tieCount++] = other.Id;
                }
            }
        }
        return best;
    }

    private static bool Contains(ReadOnlySpan<int> ids, int id)
    {
        foreach (int x in ids) if (x == id) return true;
        return false;
    }

    /// <summary>Scores the candidate in the orientations the flow direction and the row's vendor direction allow.</summary>
    private static bool TryScore(Candidate c, in FlowFacts f, FlowDir dir, out Score score)
    {
        var vd = c.Entry.Direction;
        score = default;
        bool found = false;
        // Rows with "any" on both sides (HA full connectivity) only describe node-to-node flows.
        if (c.BothAny && dir != FlowDir.Node) return false;
        int tier = c.Entry.Infrastructure ? 0 : c.BothAny ? 3 : (vd == VendorDirection.Node && dir == FlowDir.Node) ? 1 : 2;

        // Orientation A: the node is the server (vendor IN, IN/OUT, or NODE: cluster rows list the listener's ports).
        if (dir is FlowDir.In or FlowDir.Node or FlowDir.None
            && (vd is VendorDirection.In or VendorDirection.InOut || (vd == VendorDirection.Node && dir != FlowDir.In))
            && TryScoreOrientation(c, f, dir, nodeIsServer: true, tier, out var sa))
        {
            score = sa;
            found = true;
        }
        // Orientation B: the node is the client (vendor OUT or IN/OUT).
        if (dir is FlowDir.Out or FlowDir.Node or FlowDir.None && vd is VendorDirection.Out or VendorDirection.InOut
            && TryScoreOrientation(c, f, dir, nodeIsServer: false, tier, out var sb)
            && (!found || sb.CompareTo(score) < 0))
        {
            score = sb;
            found = true;
        }
        return found;
    }

    /// <summary>
    /// One orientation. Payload-only bindings (RTP/T.38) need both port lists to hold (node &gt;= 5000, peer &gt; 1024).
    /// Other bindings match when a listed (not "any") port is found on its side: the node's port in the
    /// Imagicle list, or the peer's port in the remote list (the vendor's SIP rows give the same port on both
    /// sides; either end may be the one using it). IN and NODE rows only count the node's side. The better match
    /// is: both sides listed, then the primary side (the node's port when the direction is known; the server's
    /// port when it is not, or when both ends are nodes), then only the other side.
    /// </summary>
    private static bool TryScoreOrientation(Candidate c, in FlowFacts f, FlowDir dir, bool nodeIsServer, int tier, out Score score)
    {
        var b = c.Binding;
        ushort nodePort = nodeIsServer ? f.ServerPort : f.ClientPort;
        ushort remotePort = nodeIsServer ? f.ClientPort : f.ServerPort;
        score = default;
        if (c.BothAny)
        {
            score = new Score(tier, 3, -b.Priority, 2 * 65536, c.Entry.Index);
            return true;
        }
        if (b.PayloadOnly)
        {
            if (!b.ImagiclePorts.Contains(nodePort) || !b.RemotePorts.Contains(remotePort)) return false;
            score = new Score(tier, 0, -b.Priority, RangeSize(b.ImagiclePorts, nodePort) + RangeSize(b.RemotePorts, remotePort), c.Entry.Index);
            return true;
        }
        bool nodeHit = b.ImagiclePorts.IsSpecific && b.ImagiclePorts.Contains(nodePort);
        bool remoteHit = c.Entry.Direction is not (VendorDirection.In or VendorDirection.Node)
            && b.RemotePorts.IsSpecific && b.RemotePorts.Contains(remotePort);
        if (!nodeHit && !remoteHit) return false;
        bool primaryIsNode = dir is FlowDir.In or FlowDir.Out || nodeIsServer;
        bool primaryHit = primaryIsNode ? nodeHit : remoteHit;
        int side = nodeHit && remoteHit ? 0 : primaryHit ? 1 : 2;
        int width = (nodeHit ? RangeSize(b.ImagiclePorts, nodePort) : 65536) + (remoteHit ? RangeSize(b.RemotePorts, remotePort) : 65536);
        score = new Score(tier, side, -b.Priority, width, c.Entry.Index);
        return true;
    }

    /// <summary>Size of the range in <paramref name="set"/> that holds <paramref name="port"/> (65536 for any).</summary>
    private static int RangeSize(PortSet set, ushort port) => set.RangeSizeOf(port);

    private static string DirText(FlowDir d) => d switch
    {
        FlowDir.In => DirIn,
        FlowDir.Out => DirOut,
        FlowDir.Node => DirNode,
        _ => DirNone,
    };

    /// <summary>The shared verdict for a matched row plus the rows tied with it.</summary>
    private FlowClassification Verdict(Candidate best, FlowDir dir, ReadOnlySpan<int> ties)
    {
        UInt128 mask = 0;
        bool cacheable = true;
        foreach (int id in ties)
        {
            int entryIndex = _all[id].Entry.Index;
            if (entryIndex >= 128) { cacheable = false; break; }
            mask |= UInt128.One << entryIndex;
        }
        if (cacheable && _cache.TryGetValue((best.Id, dir, mask), out var hit)) return hit;

        string apps = best.Entry.ApplicationsText;
        if (ties.Length > 0)
        {
            var entries = new List<CatalogueEntry> { best.Entry };
            foreach (int id in ties) if (!entries.Contains(_all[id].Entry)) entries.Add(_all[id].Entry);
            entries.Sort((x, y) => x.Index.CompareTo(y.Index));
            apps = string.Join(';', entries.SelectMany(e => e.Applications).Distinct(StringComparer.Ordinal));
        }
        var v = new FlowClassification(best.Binding.Service, apps, DirText(dir), best.Entry.Id, best.Entry, best.Entry.Infrastructure);
        return cacheable ? _cache.GetOrAdd((best.Id, dir, mask), v) : v;
    }

    private FlowClassification NoRule(string service, FlowDir dir, bool infrastructure)
        => _noRule.GetOrAdd((service, dir, infrastructure), k => new FlowClassification(k.Service, "", DirText(k.Dir), "", null, k.Infra));
}
