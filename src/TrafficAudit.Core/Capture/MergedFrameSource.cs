namespace TrafficAudit.Capture;

/// <summary>
/// Merges several frame sources (one per file) into one stream ordered by timestamp: a k-way merge
/// that keeps one pending frame per source. Ties go to the lower <see cref="FrameHeader.FileIndex"/>,
/// then to the earlier frame of that file. Sources are few, so a linear minimum scan is enough.
/// Each source keeps its own buffer, so a pending frame's bytes stay valid while others advance.
/// </summary>
public sealed class MergedFrameSource : IFrameSource
{
    private readonly IReadOnlyList<IFrameSource> _sources;
    private readonly bool[] _pending;
    private bool _started;
    private int _current = -1;

    public MergedFrameSource(IReadOnlyList<IFrameSource> sources)
    {
        _sources = sources;
        _pending = new bool[sources.Count];
    }

    public bool MoveNext()
    {
        if (!_started)
        {
            for (int i = 0; i < _sources.Count; i++) _pending[i] = _sources[i].MoveNext();
            _started = true;
        }
        else if (_current >= 0)
        {
            _pending[_current] = _sources[_current].MoveNext();
        }

        int best = -1;
        for (int i = 0; i < _sources.Count; i++)
        {
            if (!_pending[i]) continue;
            if (best < 0) { best = i; continue; }
            var a = _sources[i].Header;
            var b = _sources[best].Header;
            if (a.TimestampNs < b.TimestampNs || (a.TimestampNs == b.TimestampNs && a.FileIndex < b.FileIndex)) best = i;
        }
        _current = best;
        return best >= 0;
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
