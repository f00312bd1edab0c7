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
    /// <summary>1 MiB: large enough that a read syscall carries thousands of small packets.</summary>
    public const int DefaultBufferSize = 1 << 20;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private byte[] _buffer;
    private int _offset;
    private int _end;
    private long _consumedBefore;   // stream bytes that lie before _buffer[0]
    private bool _eof;

    private readonly int _maxRead;

    /// <param name="maxRead">Largest single read; a decompressor that fails loses the output of the failing read, so it is asked for less at a time.</param>
    public CaptureInput(Stream stream, bool leaveOpen = false, int bufferSize = DefaultBufferSize, int maxRead = int.MaxValue)
    {
        _stream = stream;
        _maxRead = maxRead;
        _leaveOpen = leaveOpen;
        _buffer = new byte[Math.Max(bufferSize, 64)];
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
                ReadFailure = e is InvalidDataException ? "corrupt compressed data" : "input/output error: " + e.Message;
                n = 0;
            }
            if (n <= 0) { _eof = true; return false; }
            _end += n;
        }
        return true;
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
        if (!_leaveOpen) _stream.Dispose();
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
            return n;
        }
        return inner.Read(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen) inner.Dispose();
        base.Dispose(disposing);
    }
}
