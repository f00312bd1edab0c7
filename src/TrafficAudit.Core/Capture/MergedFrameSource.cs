namespace TrafficAudit.Capture;

/// <summary>
/// Merges several frame sources (one per file) into one stream ordered by timestamp: a k-way merge
/// that keeps one pending frame per source in a binary min-heap keyed by (timestamp, file index),
/// so each frame costs O(log N) comparisons for N sources instead of a scan over all of them. Ties
/// go to the lower <see cref="FrameHeader.FileIndex"/>, then to the earlier frame of that file (file
/// indexes are unique, so the order is total and the same as a linear minimum scan would give).
/// Each source keeps its own buffer, so a pending frame's bytes stay valid while others advance;
/// <see cref="BufferSizeFor"/> shrinks those buffers when many files are open at once.
/// </summary>
public sealed class MergedFrameSource : IFrameSource
{
    /// <summary>Read buffers of all files open at once share this budget (64 MiB)...</summary>
    public const int TotalBufferBudget = 64 << 20;
    /// <summary>...but none gets less than 64 KiB (still dozens of packets per read) nor more than the 512 KiB default.</summary>
    public const int MinBufferSize = 64 << 10;

    private readonly IReadOnlyList<IFrameSource> _sources;
    // The heap holds the indexes of sources with a pending frame; keys are cached beside it so a
    // comparison reads two arrays, not two interface calls.
    private readonly int[] _heap;
    private readonly long[] _keyTime;
    private readonly int[] _keyFile;
    private int _count;
    private bool _started;
    private int _current = -1;

    public MergedFrameSource(IReadOnlyList<IFrameSource> sources)
    {
        _sources = sources;
        _heap = new int[sources.Count];
        _keyTime = new long[sources.Count];
        _keyFile = new int[sources.Count];
    }

    /// <summary>
    /// The read buffer each of <paramref name="openFiles"/> files gets when they are open at once:
    /// <see cref="TotalBufferBudget"/> shared among them, within [<see cref="MinBufferSize"/>,
    /// <see cref="CaptureInput.DefaultBufferSize"/>]. A record larger than its buffer still grows it.
    /// </summary>
    public static int BufferSizeFor(int openFiles) =>
        Math.Clamp(TotalBufferBudget / Math.Max(1, openFiles), MinBufferSize, CaptureInput.DefaultBufferSize);

    public bool MoveNext()
    {
        if (!_started)
        {
            _started = true;
            for (int i = 0; i < _sources.Count; i++)
                if (_sources[i].MoveNext()) Push(i);
        }
        else if (_current >= 0)
        {
            // The frame handed out last is the heap's root: advance its source and sift it down, or drop it.
            if (_sources[_current].MoveNext())
            {
                SetKey(_current);
                SiftDown(0);
            }
            else
            {
                _count--;
                if (_count > 0)
                {
                    _heap[0] = _heap[_count];
                    SiftDown(0);
                }
            }
        }
        _current = _count > 0 ? _heap[0] : -1;
        return _current >= 0;
    }

    private void SetKey(int source)
    {
        ref readonly var h = ref _sources[source].Header;
        _keyTime[source] = h.TimestampNs;
        _keyFile[source] = h.FileIndex;
    }

    private bool Less(int a, int b) =>
        _keyTime[a] < _keyTime[b] || (_keyTime[a] == _keyTime[b] && (_keyFile[a] < _keyFile[b] || (_keyFile[a] == _keyFile[b] && a < b)));

    private void Push(int source)
    {
        SetKey(source);
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(source, _heap[parent])) break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = source;
    }

    private void SiftDown(int i)
    {
        int item = _heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && Less(_heap[child + 1], _heap[child])) child++;
            if (!Less(_heap[child], item)) break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = item;
    }

    public ref readonly FrameHeader Header => ref _current >= 0 ? ref _sources[_current].Header : ref _none;
    private readonly FrameHeader _none;
    public ReadOnlySpan<byte> Data => _current >= 0 ? _sources[_current].Data : default;

    /// <summary>Errors of every source, in source order.</summary>
    public IReadOnlyList<CaptureReadError> Errors
    {
        get
        {
            var all = new List<CaptureReadError>();
            foreach (var s in _sources) all.AddRange(s.Errors);
            return all;
        }
    }

    /// <summary>Interfaces of every source, concatenated in source order (pcapng interfaces appear as their blocks are read).</summary>
    public IReadOnlyList<CaptureInterface> Interfaces
    {
        get
        {
            var all = new List<CaptureInterface>();
            foreach (var s in _sources) all.AddRange(s.Interfaces);
            return all;
        }
    }

    public long BytesRead
    {
        get
        {
            long sum = 0;
            foreach (var s in _sources) sum += s.BytesRead;
            return sum;
        }
    }

    public void Dispose()
    {
        foreach (var s in _sources) s.Dispose();
    }
}
