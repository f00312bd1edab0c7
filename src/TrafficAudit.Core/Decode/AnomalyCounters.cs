namespace TrafficAudit.Decode;

/// <summary>
/// Named counters for malformed or surprising input ("weirds" in Zeek's words). A bad packet
/// increments one and the run goes on. Names are snake_case and stable: they are the rows of
/// anomalies.csv. Pass string literals: they are interned, so counting allocates nothing.
/// </summary>
public sealed class AnomalyCounters
{
    public sealed class Entry(string name, long firstFrame, int firstFile, long firstOrdinal = 0)
    {
        /// <summary>Ordinal of the first frame that raised it in the run (1 = the first frame read; 0 = not known): orders frames of several files.</summary>
        public long FirstOrdinal { get; internal set; } = firstOrdinal;
        public string Name { get; } = name;
        public long Count { get; internal set; }
        /// <summary>Frame number (1-based, within its file) of the first packet that raised it.</summary>
        public long FirstFrame { get; internal set; } = firstFrame;
        public int FirstFileIndex { get; internal set; } = firstFile;
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Frame currently being decoded; set by the pipeline so decoders need not pass it.</summary>
    public long CurrentFrame { get; set; }
    public int CurrentFileIndex { get; set; }
    /// <summary>Ordinal of the current frame in the run (1-based; 0 when the caller does not say): with several files, which frame came first.</summary>
    public long CurrentOrdinal { get; set; }

    public void Increment(string name) => Add(name, 1);

    public void Add(string name, long count)
    {
        if (!_entries.TryGetValue(name, out var e))
        {
            e = new Entry(name, CurrentFrame, CurrentFileIndex, CurrentOrdinal);
            _entries.Add(name, e);
        }
        e.Count += count;
    }

    /// <summary>
    /// Adds another set of counters (kept by a stage that ran on its own thread) into this one; the
    /// first occurrence is the earlier of the two.
    /// </summary>
    public void Merge(AnomalyCounters other)
    {
        foreach (var o in other._entries.Values)
        {
            if (!_entries.TryGetValue(o.Name, out var e))
            {
                _entries.Add(o.Name, new Entry(o.Name, o.FirstFrame, o.FirstFileIndex, o.FirstOrdinal) { Count = o.Count });
                continue;
            }
            e.Count += o.Count;
            // The run's frame ordinals when both sides know them (the shards of a sharded engine), else file and frame.
            bool earlier = o.FirstOrdinal > 0 && e.FirstOrdinal > 0
                ? o.FirstOrdinal < e.FirstOrdinal
                : o.FirstFileIndex < e.FirstFileIndex || (o.FirstFileIndex == e.FirstFileIndex && o.FirstFrame < e.FirstFrame);
            if (earlier)
            {
                e.FirstFrame = o.FirstFrame;
                e.FirstFileIndex = o.FirstFileIndex;
                e.FirstOrdinal = o.FirstOrdinal;
            }
        }
        other._entries.Clear();
    }

    public long this[string name] => _entries.TryGetValue(name, out var e) ? e.Count : 0;

    public IReadOnlyList<Entry> Entries => _entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
}
