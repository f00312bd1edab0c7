namespace TrafficAudit.Capture;

/// <summary>
/// Reads files one after the other, each opened only when the one before it ends: the files of one
/// dumpcap ring (FILE_NNNNN_YYYYMMDDhhmmss), which follow each other in time, cost the memory of one
/// open file however many there are (a merge keeps a read buffer per file). A file that cannot be
/// opened when its turn comes (removed meanwhile, not a capture) is recorded in <see cref="Errors"/>
/// and reading goes on with the next.
/// </summary>
public sealed class SequentialFrameSource : IFrameSource, IIdleReader
{
    private readonly IReadOnlyList<(string Path, int FileIndex)> _files;
    private readonly Func<string, int, IFrameSource> _open;
    private readonly List<CaptureInterface> _interfaces = new();
    private readonly List<CaptureReadError> _errors = new();
    private IFrameSource? _current;
    private int _next;
    private long _bytesBefore;
    private readonly FrameHeader _none;

    /// <param name="files">The files in reading order, with their index in the run's file list.</param>
    /// <param name="open">Opens one file (e.g. <see cref="CaptureFile.Open(string, int, Decode.AnomalyCounters?, int)"/>).</param>
    /// <param name="first">The first file, already opened (so it is checked before anything is read); null to open it here.</param>
    public SequentialFrameSource(IReadOnlyList<(string Path, int FileIndex)> files, Func<string, int, IFrameSource> open, IFrameSource? first = null)
    {
        _files = files;
        _open = open;
        if (first is not null)
        {
            _current = first;
            _next = 1;
        }
    }

    /// <summary>The file being read, read one chunk ahead (<see cref="ReadAheadMode.WhenIdle"/>); any thread, at any time.</summary>
    public bool ReadOneAhead() => Volatile.Read(ref _current) is IIdleReader current && current.ReadOneAhead();

    private Func<bool>? _chunkFreed;

    /// <inheritdoc/>
    public Func<bool>? ChunkFreed
    {
        get => _chunkFreed;
        set
        {
            _chunkFreed = value;
            if (_current is IIdleReader current) current.ChunkFreed = value;
        }
    }

    public bool MoveNext()
    {
        while (true)
        {
            if (_current is not null)
            {
                if (_current.MoveNext()) return true;
                Close();
            }
            if (_next >= _files.Count) return false;
            var (path, index) = _files[_next++];
            try
            {
                _current = _open(path, index);
                if (_chunkFreed is not null && _current is IIdleReader opened) opened.ChunkFreed = _chunkFreed;
            }
            catch (CaptureFormatException e)
            {
                _errors.Add(new CaptureReadError(path, 0, e.Message));
            }
        }
    }

    /// <summary>Keeps what the finished file reported (interfaces with their drop counters, errors) and frees its buffer.</summary>
    private void Close()
    {
        var done = _current!;
        _current = null;
        _interfaces.AddRange(done.Interfaces);
        _errors.AddRange(done.Errors);
        _bytesBefore += done.BytesRead;
        done.Dispose();
    }

    public ref readonly FrameHeader Header => ref _current is not null ? ref _current.Header : ref _none;
    public ReadOnlySpan<byte> Data => _current is not null ? _current.Data : default;

    public IReadOnlyList<CaptureReadError> Errors => _current is null ? _errors : [.. _errors, .. _current.Errors];
    public IReadOnlyList<CaptureInterface> Interfaces => _current is null ? _interfaces : [.. _interfaces, .. _current.Interfaces];
    public long BytesRead => _bytesBefore + (_current?.BytesRead ?? 0);

    public void Dispose()
    {
        _current?.Dispose();
        _current = null;
    }
}
