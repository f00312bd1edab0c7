namespace TrafficAudit.Decode;

/// <summary>
/// Named counters for malformed or surprising input ("weirds" in Zeek's words). A bad packet
/// increments one and the run goes on. Names are snake_case and stable: they are the rows of
/// anomalies.csv. Pass string literals: they are interned, so counting allocates nothing.
/// </summary>
public sealed class AnomalyCounters
{
    public sealed class Entry(string name, long firstFrame, int firstFile)
    {
        public string Name { get; } = name;
        public long Count { get; internal set; }
        /// <summary>Frame number (1-based, within its file) of the first packet that raised it.</summary>
        public long FirstFrame { get; } = firstFrame;
        public int FirstFileIndex { get; } = firstFile;
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Frame currently being decoded; set by the pipeline so decoders need not pass it.</summary>
    public long CurrentFrame { get; set; }
    public int CurrentFileIndex { get; set; }

    public void Increment(string name) => Add(name, 1);

    public void Add(string name, long count)
    {
        if (!_entries.TryGetValue(name, out var e))
        {
            e = new Entry(name, CurrentFrame, CurrentFileIndex);
            _entries.Add(name, e);
        }
        e.Count += count;
    }

    public long this[string name] => _entries.TryGetValue(name, out var e) ? e.Count : 0;

    public IReadOnlyList<Entry> Entries => _entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
}
