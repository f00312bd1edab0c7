using System.Runtime.InteropServices;
using TrafficAudit.Decode;

namespace TrafficAudit.Policy;

/// <summary>
/// Where a raw finding stands in the order of the full pass (the rules run kind by kind over flows by
/// flow_id, then SIP transactions, RTP streams and calls): the class of its record, then figures of the
/// record itself. It decides which occurrence is a finding's first when two share a time, and which
/// findings are listed under the cap per kind and client; since it comes from the record, not from when
/// the record arrived, the merged findings do not depend on the order records end in.
/// </summary>
public readonly record struct FindingRank(byte Class, long A, long B, string? Tie = null) : IComparable<FindingRank>
{
    /// <summary>Flows, by flow_id.</summary>
    public static FindingRank Flow(int flowId) => new(0, flowId, 0);
    /// <summary>SIP transactions, by request time and frame.</summary>
    public static FindingRank Transaction(Analyzers.Sip.SipTransactionStat t) => new(1, t.RequestNs, t.RequestFrame);
    /// <summary>RTP streams, by first packet and stream id (rtp_streams.csv order).</summary>
    public static FindingRank Stream(Pipeline.RtpStreamRecord s) => new(2, s.FirstSeenNs, s.StreamId);
    /// <summary>Calls, by start, then the flow of their first INVITE and their Call-ID.</summary>
    public static FindingRank Call(Pipeline.CallRecord c) => new(3, c.Sip.StartNs, c.FlowId, c.Sip.CallId);
    /// <summary>Findings about the capture or the matrix, computed at the end, in the order they are made.</summary>
    public static FindingRank End(int index) => new(4, index, 0);

    public int CompareTo(FindingRank other)
    {
        int c = Class.CompareTo(other.Class);
        if (c == 0) c = A.CompareTo(other.A);
        if (c == 0) c = B.CompareTo(other.B);
        if (c == 0) c = string.CompareOrdinal(Tie, other.Tie);
        return c;
    }
}

/// <summary>
/// Keeps the <c>cap</c> smallest items added (all of them when fewer), sorted on demand. Adding costs
/// O(log cap) amortised: the list is sorted and cut each time it doubles, and an item past the last one
/// kept is refused at once.
/// </summary>
public sealed class Smallest<T>
{
    private readonly int _cap;
    private readonly IComparer<T> _comparer;
    private readonly bool _distinct;
    private List<T> _items = [];
    private bool _full;
    private T _worst = default!;

    public Smallest(int cap, IComparer<T> comparer, bool distinct)
    {
        _cap = Math.Max(1, cap);
        _comparer = comparer;
        _distinct = distinct;
    }

    /// <summary>True once an item was left out for the cap.</summary>
    public bool Cut { get; private set; }

    public void Add(T item)
    {
        if (_full)
        {
            int c = _comparer.Compare(item, _worst);
            if (c > 0 || (c == 0 && _distinct)) { if (c > 0) Cut = true; return; }
        }
        _items.Add(item);
        if (_cap <= int.MaxValue / 2 && _items.Count >= 2 * _cap) Trim();
    }

    private void Trim()
    {
        _items.Sort(_comparer);
        if (_distinct) Dedupe(_items, _comparer);
        if (_items.Count > _cap)
        {
            _items.RemoveRange(_cap, _items.Count - _cap);
            Cut = true;
            _full = true;
            _worst = _items[^1];
        }
    }

    private static void Dedupe(List<T> sorted, IComparer<T> comparer)
    {
        int w = 0;
        for (int r = 0; r < sorted.Count; r++)
            if (w == 0 || comparer.Compare(sorted[w - 1], sorted[r]) != 0) sorted[w++] = sorted[r];
        sorted.RemoveRange(w, sorted.Count - w);
    }

    /// <summary>The items kept, smallest first (a new array; the set is not changed).</summary>
    public T[] Result()
    {
        var copy = new List<T>(_items);
        copy.Sort(_comparer);
        if (_distinct) Dedupe(copy, _comparer);
        if (copy.Count > _cap) { copy.RemoveRange(_cap, copy.Count - _cap); Cut = true; }
        return copy.ToArray();
    }

    public int Count => _items.Count;

    public Smallest<T> Clone()
    {
        var c = new Smallest<T>(_cap, _comparer, _distinct) { _items = new List<T>(_items), _full = _full, _worst = _worst, Cut = Cut };
        return c;
    }
}

/// <summary>
/// Merges raw findings per <see cref="Finding.Key"/> as they come (count, worst measured value, first
/// occurrence by time then <see cref="FindingRank"/>, the lowest flow ids and the first subjects up to a
/// cap) and, when asked, lists at most <c>cap</c> keys per kind and client address (those met first in
/// rank order) and counts the rest in one summary finding. Memory grows with distinct keys, not with
/// occurrences; past <c>maxKeys</c> distinct keys a new key's occurrences go straight to its summary.
/// </summary>
public sealed class FindingMerger
{
    private readonly int _maxIds;
    private readonly int _maxKeys;
    private readonly bool _keepSubjects;
    private readonly Dictionary<string, Acc> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Kind, IpAddress? Client), Overflow> _overflow = new();

    /// <param name="keepSubjects">False: the findings' records (<see cref="Finding.Subjects"/>) are dropped as they
    /// merge, so that a finding holds no record (a run without --evidence never reads them).</param>
    public FindingMerger(int maxIdsPerFinding, int maxKeys, bool keepSubjects = true)
    {
        _maxIds = maxIdsPerFinding;
        _maxKeys = maxKeys;
        _keepSubjects = keepSubjects;
    }

    /// <summary>Raw findings whose new key found the table of keys full (counted in their summary finding).</summary>
    public long KeysOverflowed { get; private set; }
    public int Keys => _keys.Count;
    public long Operations { get; private set; }

    public void Add(Finding f, FindingRank rank) => Add(_keys, f, rank, null);

    private void Add(Dictionary<string, Acc> keys, Finding f, FindingRank rank, HashSet<string>? copied)
    {
        Operations++;
        if (!_keepSubjects && f.Subjects.Count > 0) f = f with { Subjects = [] };
        string key = f.Key;
        ref var acc = ref CollectionsMarshal.GetValueRefOrAddDefault(keys, key, out bool had);
        if (!had)
        {
            if (copied is null && keys.Count > _maxKeys)
            {
                keys.Remove(key);
                KeysOverflowedAdd(f, rank);
                return;
            }
            acc = new Acc(f, rank, _maxIds);
            copied?.Add(key);
        }
        else if (copied is not null && copied.Add(key)) acc = acc!.Clone();
        acc!.Merge(f, rank);
    }

    private void KeysOverflowedAdd(Finding f, FindingRank rank)
    {
        KeysOverflowed += f.Count;
        ref var o = ref CollectionsMarshal.GetValueRefOrAddDefault(_overflow, (f.Kind, f.ClientIp), out _);
        o ??= new Overflow { First = f, Rank = rank, FirstSeenNs = f.FirstSeenNs };
        if (rank.CompareTo(o.Rank) < 0) { o.First = f; o.Rank = rank; }
        o.FirstSeenNs = Math.Min(o.FirstSeenNs, f.FirstSeenNs);
        o.Count += f.Count;
    }

    /// <summary>
    /// The merged findings with <paramref name="extra"/> raw findings added (those of the end: missing flows,
    /// capture loss, joins resolved now), ordered by first occurrence, kind and key. The merger is not changed.
    /// </summary>
    /// <param name="isNode">Tells the nodes of a summary finding from its findings' ends (null: none).</param>
    /// <param name="finish">Applied to each merged finding and each summary before ordering (null: none).</param>
    public IReadOnlyList<Finding> Build(IEnumerable<(Finding Finding, FindingRank Rank)> extra, int cap, out long summarised, out long idsCut,
        Func<IpAddress, bool>? isNode = null, Func<Finding, Finding>? finish = null)
    {
        var keys = new Dictionary<string, Acc>(_keys, StringComparer.Ordinal);
        var copied = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (f, r) in extra) Add(keys, f, r, copied);

        var groups = new Dictionary<(string Kind, IpAddress? Client), List<Acc>>();
        foreach (var acc in keys.Values)
        {
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, (acc.First.Kind, acc.First.ClientIp), out _);
            (list ??= []).Add(acc);
        }
        foreach (var g in _overflow.Keys) groups.TryAdd(g, []);

        summarised = 0;
        idsCut = 0;
        var all = new List<Finding>();
        foreach (var ((kind, client), list) in groups)
        {
            list.Sort((a, b) => a.MinRank.CompareTo(b.MinRank));
            int listed = Math.Min(cap, list.Count);
            for (int i = 0; i < listed; i++)
            {
                var one = list[i].ToFinding(out bool cut);
                if (cut) idsCut++;
                all.Add(finish is null ? one : finish(one));
            }
            _overflow.TryGetValue((kind, client), out var over);
            if (listed == list.Count && over is null) continue;
            var sum = new Summary();
            for (int i = listed; i < list.Count; i++)
            {
                var a = list[i];
                if (sum.First is null) { sum.First = a.First; sum.FirstSeenNs = a.First.FirstSeenNs; }
                sum.FirstSeenNs = Math.Min(sum.FirstSeenNs, a.First.FirstSeenNs);
                sum.Count += a.Count;
                if (sum.Nodes.Count < 16)
                {
                    foreach (var n in a.Nodes) sum.Nodes.Add(n);
                    if (a.AnyWithoutNodes && isNode is not null)
                    {
                        if (a.First.ClientIp is { } ci && isNode(ci)) sum.Nodes.Add(ci);
                        if (a.First.ServerIp is { } si && isNode(si)) sum.Nodes.Add(si);
                    }
                }
                if (a.AnyUnhedged) sum.AnyUnhedged = true;
            }
            if (over is not null)
            {
                if (sum.First is null || over.Rank.CompareTo(list[listed < list.Count ? listed : 0].MinRank) < 0) sum.First = over.First;
                sum.FirstSeenNs = sum.Count == 0 ? over.FirstSeenNs : Math.Min(sum.FirstSeenNs, over.FirstSeenNs);
                sum.Count += over.Count;
                if (over.First.SeverityOverride is null) sum.AnyUnhedged = true;
            }
            summarised += sum.Count;
            var s = SummaryFinding(kind, client, sum, cap);
            all.Add(finish is null ? s : finish(s));
        }
        var kindOrder = FindingKinds.All;
        return all
            .OrderBy(f => f.FirstSeenNs)
            .ThenBy(f => IndexOf(kindOrder, f.Kind))
            .ThenBy(f => f.Key, StringComparer.Ordinal)
            .ToArray();
    }

    private static int IndexOf(IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == item) return i;
        return -1;
    }

    /// <summary>"port scan from 10.9.9.9: 65,000 more refused flows beyond the 100 listed", with a filter on the source.</summary>
    private static Finding SummaryFinding(string kind, IpAddress? client, Summary sum, int cap)
    {
        string n = sum.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        string what = kind switch
        {
            FindingKinds.RefusedFlow => $"port scan from {client}: {n} more refused flows",
            FindingKinds.BlockedFlow => $"port scan or flood from {client}: {n} more unanswered flows",
            FindingKinds.UnexpectedFlow => $"scan or flood from {client}: {n} more unexpected flows",
            _ => client is null ? $"{n} more {kind} findings" : $"{n} more {kind} findings from {client}",
        };
        return new Finding
        {
            Kind = kind,
            SeverityOverride = sum.AnyUnhedged ? null : sum.First!.SeverityOverride,
            Nodes = sum.Nodes.Order().ToArray(),
            Service = "summary",
            ClientIp = client,
            Transport = sum.First!.Transport,
            FirstSeenNs = sum.FirstSeenNs,
            Count = (int)Math.Min(int.MaxValue, sum.Count),
            Measured = sum.Count,
            Unit = "findings",
            Method = $"summary: at most {cap} {kind} findings are listed per client address",
            Message = $"{what} beyond the {cap} {kind} findings listed for this address (counted here, not listed one by one)",
            WiresharkFilter = client is { } c ? DisplayFilter.Address(c) : "",
        };
    }

    private sealed class Acc
    {
        private static readonly IComparer<(FindingRank Rank, object Subject)> SubjectOrder =
            Comparer<(FindingRank Rank, object Subject)>.Create((a, b) => a.Rank.CompareTo(b.Rank));

        public Finding First;
        public FindingRank FirstRank;
        public FindingRank MinRank;
        public long Count;
        public double? Measured;
        public Smallest<int> FlowIds;
        public Smallest<(FindingRank Rank, object Subject)> Subjects;
        public List<IpAddress> Nodes = [];
        public bool AnyWithoutNodes;
        public bool AnyUnhedged;
        private int _occurrences;
        private readonly int _maxIds;

        public Acc(Finding f, FindingRank rank, int maxIds)
        {
            First = f;
            FirstRank = rank;
            MinRank = rank;
            Measured = f.Measured;
            _maxIds = maxIds;
            FlowIds = new Smallest<int>(maxIds, Comparer<int>.Default, distinct: true);
            Subjects = new Smallest<(FindingRank, object)>(maxIds, SubjectOrder, distinct: false);
        }

        public void Merge(Finding f, FindingRank rank)
        {
            if (_occurrences++ > 0)
            {
                if (f.FirstSeenNs < First.FirstSeenNs || (f.FirstSeenNs == First.FirstSeenNs && rank.CompareTo(FirstRank) < 0)) { First = f; FirstRank = rank; }
                if (rank.CompareTo(MinRank) < 0) MinRank = rank;
                Measured = Measured is { } a && f.Measured is { } b ? Math.Max(a, b) : Measured ?? f.Measured;
            }
            Count += f.Count;
            foreach (var id in f.FlowIds) FlowIds.Add(id);
            foreach (var s in f.Subjects) Subjects.Add((rank, s));
            if (f.Nodes.Count == 0) AnyWithoutNodes = true;
            else if (Nodes.Count < 16) foreach (var n in f.Nodes) if (!Nodes.Contains(n)) Nodes.Add(n);
            if (f.SeverityOverride is null) AnyUnhedged = true;
        }

        public Acc Clone() => new(First, FirstRank, _maxIds)
        {
            MinRank = MinRank, Count = Count, Measured = Measured, FlowIds = FlowIds.Clone(), Subjects = Subjects.Clone(),
            Nodes = [.. Nodes], AnyWithoutNodes = AnyWithoutNodes, AnyUnhedged = AnyUnhedged, _occurrences = _occurrences,
        };

        public Finding ToFinding(out bool cut)
        {
            var ids = FlowIds.Result();
            var subjects = Subjects.Result();
            cut = FlowIds.Cut || Subjects.Cut;
            if (Count == First.Count && Measured == First.Measured && ids.Length == First.FlowIds.Count && subjects.Length == First.Subjects.Count)
                return First;
            var list = new object[subjects.Length];
            for (int i = 0; i < list.Length; i++) list[i] = subjects[i].Subject;
            return First with { Count = (int)Math.Min(int.MaxValue, Count), Measured = Measured, FlowIds = ids, Subjects = list };
        }
    }

    private sealed class Overflow
    {
        public required Finding First;
        public FindingRank Rank;
        public long FirstSeenNs;
        public long Count;
    }

    private sealed class Summary
    {
        public Finding? First;
        public long FirstSeenNs;
        public long Count;
        public readonly HashSet<IpAddress> Nodes = new();
        public bool AnyUnhedged;
    }
}
