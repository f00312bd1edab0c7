using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TrafficAudit.Flows;

/// <summary>
/// The flow table's index: flows in progress by <see cref="FlowKey"/>, a chained hash table over one array
/// of entries. Each entry holds the key's hash (computed once per packet by the caller and compared before
/// the key), the flow, and a copy of the flow's last-seen time, so that the idle sweep and the eviction
/// scan the entries without loading the flow objects of flows still active. The keys lie in an array of
/// their own beside the entries, so a lookup compares keys without loading the flow object (the entries and
/// keys of a few hundred flows stay in the core's first-level cache), while a sweep still reads 24 bytes a flow.
/// <para>
/// The order of the entries is the one <see cref="Dictionary{TKey,TValue}"/> gives (the table used it
/// before, and the idle sweep and the eviction's choice among flows last seen at the same time follow
/// it): a new flow takes the entry freed most recently, else the next never used; growing keeps the order.
/// </para>
/// </summary>
internal sealed class FlowIndex
{
    private struct Entry
    {
        /// <summary>Null when the entry is free.</summary>
        public Flow? Flow;
        public long LastSeenNs;
        public int Hash;
        /// <summary>Next entry in the bucket's chain plus one (0 = end); when the entry is free, the next free entry.</summary>
        public int Next;
    }

    private Entry[] _entries;
    /// <summary>The key of each entry (stale when the entry is free), same index as <see cref="_entries"/>.</summary>
    private FlowKey[] _keys;
    /// <summary>Per bucket, the first entry of its chain plus one (0 = empty).</summary>
    private int[] _buckets;
    private int _mask;
    /// <summary>Entries used so far (free ones included): the end of the enumeration.</summary>
    private int _end;
    private int _freeList = -1;
    private int _freeCount;
    /// <summary>The entry <see cref="Find"/> found or <see cref="Add"/> filled last (-1 none).</summary>
    private int _lastFound = -1;

    public FlowIndex(int capacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 16));
        _entries = new Entry[size];
        _keys = new FlowKey[size];
        _buckets = new int[size];
        _mask = size - 1;
    }

    public int Count => _end - _freeCount;

    /// <summary>Entries to enumerate: 0 to End, skipping those whose <see cref="FlowAt"/> is null.</summary>
    public int End => _end;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Flow? FlowAt(int index) => _entries[index].Flow;

    /// <summary>Replaces the flow of an entry (a new connection on the same key keeps the entry); its last-seen time starts again.</summary>
    public void SetFlowAt(int index, Flow? flow)
    {
        ref Entry e = ref _entries[index];
        e.Flow = flow;
        e.LastSeenNs = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long LastSeenAt(int index) => ref _entries[index].LastSeenNs;

    /// <summary>The entry of <paramref name="key"/> (whose <see cref="FlowKey.Hash"/> is <paramref name="hash"/>), or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(in FlowKey key, int hash)
    {
        var entries = _entries;
        var keys = _keys; // as long as the entries (both change together in Grow)
        // Packets of one flow come in runs (a request and its answer, both directions of a call): the entry
        // found last is tried first. Checked by hash and key, so a freed or reused entry simply misses.
        int i = _lastFound;
        if ((uint)i < (uint)entries.Length)
        {
            ref Entry last = ref entries[i];
            if (last.Hash == hash && last.Flow is not null && Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(keys), i).Equals(in key)) return i;
        }
        i = _buckets[hash & _mask] - 1;
        while ((uint)i < (uint)entries.Length)
        {
            ref Entry e = ref entries[i];
            // A free entry is never in a chain: its key needs no check of the flow.
            if (e.Hash == hash && Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(keys), i).Equals(in key)) return _lastFound = i;
            i = e.Next - 1;
        }
        return -1;
    }

    /// <summary>Adds a flow whose key (<paramref name="key"/>, of hash <paramref name="hash"/>) is not in the index yet; returns its entry.</summary>
    public int Add(in FlowKey key, int hash, Flow flow)
    {
        int index;
        if (_freeCount > 0)
        {
            index = _freeList;
            _freeList = _entries[index].Next;
            _freeCount--;
        }
        else
        {
            if (_end == _entries.Length) Grow();
            index = _end++;
        }
        ref int bucket = ref _buckets[hash & _mask];
        _keys[index] = key;
        ref Entry e = ref _entries[index];
        e.Flow = flow;
        e.LastSeenNs = 0;
        e.Hash = hash;
        e.Next = bucket;
        bucket = index + 1;
        return _lastFound = index;
    }

    /// <summary>Removes the entry and returns its flow; the entry is the next one <see cref="Add"/> takes.</summary>
    public Flow RemoveAt(int index)
    {
        ref Entry e = ref _entries[index];
        var flow = e.Flow!;
        ref int link = ref _buckets[e.Hash & _mask];
        while (link - 1 != index) link = ref _entries[link - 1].Next;
        link = e.Next;
        e.Flow = null;
        e.Next = _freeList;
        _freeList = index;
        _freeCount++;
        return flow;
    }

    public void Clear()
    {
        Array.Clear(_entries, 0, _end);
        Array.Clear(_buckets);
        _end = 0;
        _freeList = -1;
        _freeCount = 0;
    }

    /// <summary>The flows in entry order (not the hot path).</summary>
    public List<Flow> Flows()
    {
        var list = new List<Flow>(Count);
        for (int i = 0; i < _end; i++)
            if (_entries[i].Flow is { } f) list.Add(f);
        return list;
    }

    private void Grow()
    {
        int size = _entries.Length * 2;
        Array.Resize(ref _entries, size);
        Array.Resize(ref _keys, size);
        _buckets = new int[size];
        _mask = size - 1;
        // Every entry is used (a full array has no free entry): chained again under the new mask.
        for (int i = 0; i < _end; i++)
        {
            ref Entry e = ref _entries[i];
            ref int bucket = ref _buckets[e.Hash & _mask];
            e.Next = bucket;
            bucket = i + 1;
        }
    }
}
