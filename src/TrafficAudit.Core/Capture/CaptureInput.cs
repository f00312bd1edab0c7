namespace TrafficAudit.Capture;

/// <summary>
/// A forward-only window over a stream, backed by one large reusable buffer. Readers ask for
/// <c>n</c> contiguous bytes with <see cref="Ensure"/>, read them in place through
/// <see cref="Buffer"/>/<see cref="Offset"/>, then <see cref="Advance"/>. Nothing is allocated per
/// record: the buffer only grows when a single record is larger than it. Never seeks, so it works
/// on pipes and on standard input.
/// </summary>
internal sealed class CaptureInput : IDisposable
{
    /// <summary>
    /// 512 KiB: a read syscall still carries thousands of small packets, and the kernel's copy into the buffer leaves
    /// half of a core's 1 MB L2 cache to the flow table and the VoIP batches. With 1 MiB each read flushed that cache:
    /// the bulk capture at two threads took 0.28-0.30 s instead of 0.25-0.26 s (user CPU 0.37-0.40 against 0.32-0.34 s;
    /// README "Speed", round 7); one thread, the busy site and pcapng files were the same either way.
    /// </summary>
    public const int DefaultBufferSize = 512 << 10;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private byte[] _buffer;
    private int _offset;
    private int _end;
    private long _consumedBefore;   // stream bytes that lie before _buffer[0]
    private bool _eof;

    private readonly int _maxRead;

    /// <summary>The thread that reads ahead, or null when this thread reads (see <see cref="ReadAhead"/>).</summary>
    private readonly ReadAhead? _ahead;
    /// <summary>The chunk being read, and the one before it (given back at the next chunk: its last frame may still be looked at).</summary>
    private ReadAhead.Chunk? _chunk, _previousChunk;
    /// <summary>Where records longer than a chunk's free room in front are put together (rare; grows as needed).</summary>
    private byte[]? _joined;

    /// <param name="maxRead">Largest single read; a decompressor that fails loses the output of the failing read, so it is asked for less at a time.</param>
    /// <param name="readAhead">Read the stream on a thread of its own, ahead of this one (<see cref="ReadAhead"/>); <paramref name="bufferSize"/> is then not used.</param>
    /// <param name="aheadChunkBytes">With <paramref name="readAhead"/>: the chunk size (<see cref="ReadAhead.DefaultChunkBytes"/>; tests cut records with tiny ones).</param>
    /// <param name="shared">With <paramref name="readAhead"/>: no thread of its own, chunks read by <see cref="ReadOneAhead"/> on an idle thread and here (<see cref="ReadAhead.Shared"/>).</param>
    public CaptureInput(Stream stream, bool leaveOpen = false, int bufferSize = DefaultBufferSize, int maxRead = int.MaxValue, bool readAhead = false,
        int aheadChunkBytes = ReadAhead.DefaultChunkBytes, bool shared = false)
    {
        _stream = stream;
        _maxRead = maxRead;
        _leaveOpen = leaveOpen;
        if (readAhead)
        {
            _ahead = new ReadAhead(stream, ownsStream: !leaveOpen, maxRead, aheadChunkBytes, Math.Min(ReadAhead.DefaultGap, aheadChunkBytes),
                fillChunks: maxRead < int.MaxValue, shared: shared);
            _buffer = [];
        }
        else _buffer = new byte[Math.Max(bufferSize, 64)];
    }

    /// <summary>True when another thread reads the stream ahead of this one.</summary>
    public bool ReadsAhead => _ahead is not null;

    /// <summary>True when the stream is read ahead without a thread of its own (<see cref="ReadAhead.Shared"/>).</summary>
    public bool ReadsAheadWhenIdle => _ahead is { Shared: true };

    /// <summary>Chunks another thread read ahead through <see cref="ReadOneAhead"/>.</summary>
    public long ChunksReadAhead => _ahead?.ChunksReadAhead ?? 0;

    /// <summary>Times this reader waited for a chunk another thread was reading, and the seconds in all (<see cref="ReadAhead.ConsumerWaits"/>).</summary>
    public (long Waits, double Seconds) ReadWaits => _ahead is { } a ? (a.ConsumerWaits, a.ConsumerWaitTicks / (double)System.Diagnostics.Stopwatch.Frequency) : (0, 0);

    /// <summary>Shared reading ahead: one chunk read on the calling thread (see <see cref="ReadAhead.TryReadOneAhead"/>); false otherwise.</summary>
    public bool ReadOneAhead() => _ahead is { Shared: true } a && a.TryReadOneAhead();

    /// <summary>Shared reading ahead: called on the reading thread after each chunk it gives back (<see cref="ReadAhead.ChunkFreed"/>); otherwise never.</summary>
    public Func<bool>? ChunkFreed
    {
        get => _ahead is { Shared: true } a ? a.ChunkFreed : null;
        set
        {
            if (_ahead is { Shared: true } a) a.ChunkFreed = value;
        }
    }

    public byte[] Buffer => _buffer;
    /// <summary>Index in <see cref="Buffer"/> of the next unread byte.</summary>
    public int Offset => _offset;
    /// <summary>Unread bytes already in the buffer.</summary>
    public int Available => _end - _offset;
    /// <summary>Byte offset in the (decompressed) stream of the next unread byte.</summary>
    public long Position => _consumedBefore + _offset;

    /// <summary>Every byte received from the stream so far (decompressed bytes for gzip).</summary>
    public long TotalReceived => _consumedBefore + _end;

    /// <summary>The compressed side when the stream is a gzip decompressor: its byte counts and its diagnosis.</summary>
    public GzipInput? Gzip { get; init; }

    /// <summary>True when the stream stopped on a decompressor (or device) error rather than at its end.</summary>
    public bool Failed => ReadFailure is not null;

    /// <summary>
    /// What a reader adds to the message of the error that stopped it: for gzip, that offsets are in the
    /// decompressed data, how much compressed data was read, and whether the file is cut or which gzip
    /// error stopped the decompressor; else why the stream failed, if it did. Null when there is nothing to add.
    /// </summary>
    public string? DescribeEnd()
    {
        if (Gzip is not null) return Gzip.Describe(TotalReceived, Failed);
        return ReadFailure is null ? null : "reading stopped: " + ReadFailure;
    }

    /// <summary>Why the stream stopped early (corrupt compressed data, I/O error), or null at a normal end.</summary>
    public string? ReadFailure { get; private set; }

    public ReadOnlySpan<byte> Span(int count) => new(_buffer, _offset, count);

    /// <summary>
    /// Makes at least <paramref name="count"/> bytes available contiguously from <see cref="Offset"/>.
    /// False when the stream ends first (what there is stays available).
    /// </summary>
    public bool Ensure(int count)
    {
        if (_end - _offset >= count) return true;
        return Fill(count);
    }

    private bool Fill(int count)
    {
        if (_eof) return false;
        if (_ahead is not null) return FillAhead(count);
        if (count > _buffer.Length)
        {
            var bigger = new byte[Math.Max(count, _buffer.Length * 2)];
            System.Buffer.BlockCopy(_buffer, _offset, bigger, 0, _end - _offset);
            _consumedBefore += _offset;
            _end -= _offset;
            _offset = 0;
            _buffer = bigger;
        }
        else if (_buffer.Length - _offset < count)
        {
            // Slide the unread tail to the front; happens once per buffer, not per packet.
            int remaining = _end - _offset;
            System.Buffer.BlockCopy(_buffer, _offset, _buffer, 0, remaining);
            _consumedBefore += _offset;
            _offset = 0;
            _end = remaining;
        }
        while (_end - _offset < count)
        {
            int n;
            try
            {
                n = _stream.Read(_buffer, _end, Math.Min(_buffer.Length - _end, _maxRead));
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // Corrupt gzip data or a failing device: what was read stays usable; the reader reports it
                // (for gzip, GzipInput names the real error: .NET calls every data error an unsupported method).
                ReadFailure = DescribeReadFailure(e);
                n = 0;
            }
            if (n <= 0) { _eof = true; return false; }
            _end += n;
        }
        return true;
    }

    /// <summary>Why a read stopped the stream early, as <see cref="ReadFailure"/> says it.</summary>
    internal static string DescribeReadFailure(Exception e) =>
        e is InvalidDataException ? "corrupt compressed data" : "input/output error: " + e.Message;

    /// <summary>
    /// <see cref="Fill"/> from the chunks the <see cref="ReadAhead"/> thread read. The unread end of the current data
    /// is copied in front of the next chunk's data, which is then read in place; an end longer than that room (a
    /// record longer than a chunk) is put together with the next chunk in <see cref="_joined"/>.
    /// </summary>
    private bool FillAhead(int count)
    {
        while (_end - _offset < count)
        {
            if (_aheadEnded)
            {
                // The reads' end, as reading on this thread meets it: after the bytes read before it.
                _eof = true;
                ReadFailure = _aheadFailure;
                if (_aheadError is { } error)
                {
                    _aheadError = null;
                    error.Throw();
                }
                return false;
            }
            var next = _ahead!.Take();
            // Read before the chunk may go back to the reading thread, which refills it.
            if (next.End)
            {
                _aheadEnded = true;
                _aheadFailure = next.Failure;
                _aheadError = next.Error;
            }
            int remaining = _end - _offset;
            if (next.Length > 0 && remaining <= _ahead.Gap)
            {
                int start = _ahead!.Gap - remaining;
                System.Buffer.BlockCopy(_buffer, _offset, next.Bytes, start, remaining);
                _consumedBefore += _offset - start; // Position (_consumedBefore + _offset) goes on from where it was
                _buffer = next.Bytes;
                _offset = start;
                _end = _ahead.Gap + next.Length;
                Retire(next);
            }
            else if (next.Length > 0)
            {
                int needed = remaining + next.Length;
                var joined = _joined is { } j && j.Length >= needed ? j : new byte[Math.Max(needed, _ahead.Gap + _ahead.ChunkBytes)];
                System.Buffer.BlockCopy(_buffer, _offset, joined, 0, remaining); // may move within _joined itself
                System.Buffer.BlockCopy(next.Bytes, _ahead.Gap, joined, remaining, next.Length);
                _consumedBefore += _offset;
                _joined = _buffer = joined;
                _offset = 0;
                _end = needed;
                _ahead.Release(next);
                Retire(null);
            }
            else _ahead.Release(next);
        }
        return true;
    }

    /// <summary>The stream's last chunk has been taken; what ended it is told once its bytes are read (<see cref="FillAhead"/>).</summary>
    private bool _aheadEnded;
    private string? _aheadFailure;
    private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _aheadError;

    /// <summary>Makes <paramref name="current"/> the chunk being read; the one before it goes back to be read into.</summary>
    private void Retire(ReadAhead.Chunk? current)
    {
        if (_previousChunk is not null) _ahead!.Release(_previousChunk);
        _previousChunk = _chunk;
        _chunk = current;
    }

    public void Advance(int count) => _offset += count;

    /// <summary>Skips <paramref name="count"/> bytes without keeping them. False when the stream ends first.</summary>
    public bool Skip(long count)
    {
        while (count > 0)
        {
            int avail = _end - _offset;
            if (avail == 0)
            {
                if (!Fill(1)) return false;
                continue;
            }
            int step = (int)Math.Min(avail, count);
            _offset += step;
            count -= step;
        }
        return true;
    }

    public void Dispose()
    {
        if (_ahead is not null) _ahead.Dispose(); // it disposes the stream it owns once its read returns
        else if (!_leaveOpen) _stream.Dispose();
    }
}

/// <summary>A read-only stream that first returns a few already-read bytes, then the rest of another stream.</summary>
internal sealed class PrefixedStream(byte[] prefix, int prefixLength, Stream inner, bool leaveOpen) : ReadOnlyForwardStream
{
    private int _prefixPos;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_prefixPos < prefixLength)
        {
            int n = Math.Min(buffer.Length, prefixLength - _prefixPos);
            prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
            _prefixPos += n;
            if (n == buffer.Length) return n;
            // The rest of the request from the stream, so that reads do not depend on how much was peeked first
            // (a decompressor's output, and what a failing read of it loses, depend on how its input came).
            try
            {
                return n + Math.Max(0, inner.Read(buffer[n..]));
            }
            catch (IOException)
            {
                return n; // the stream's error comes again at the next read, after these bytes
            }
        }
        return inner.Read(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// Asks its inner stream for pieces of one fixed size, whatever its caller asks for, and hands them out from a buffer
/// of its own. For a decompressor: a read that fails loses what it decompressed, so with reads of a size that does not
/// depend on the caller (its buffer's free room, a read-ahead chunk's) the same bytes reach the caller, and the same
/// are lost, whichever thread reads and in what sizes it asks (<see cref="ReadAhead"/>).
/// </summary>
internal sealed class PieceStream(Stream inner, int pieceBytes) : ReadOnlyForwardStream
{
    private readonly byte[] _piece = new byte[pieceBytes];
    private int _at, _length;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (_at == _length)
        {
            _at = _length = 0;
            int n = inner.Read(_piece, 0, _piece.Length);
            if (n <= 0) return 0;
            _length = n;
        }
        int take = Math.Min(buffer.Length, _length - _at);
        _piece.AsSpan(_at, take).CopyTo(buffer);
        _at += take;
        return take;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
