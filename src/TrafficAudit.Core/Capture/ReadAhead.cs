using System.Runtime.ExceptionServices;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Capture;

/// <summary>
/// Reads a stream on a thread of its own, a few chunks ahead of the thread that decodes it, so the kernel's copy of
/// the file (about a third of the packet thread's time on a capture of small RTP packets) or the gzip decompressor
/// runs beside the packet loop instead of inside it. Chunks are recycled: nothing is allocated per read. The consumer
/// (<see cref="CaptureInput"/>) reads each chunk in place; each chunk leaves <see cref="Gap"/> bytes free in front of
/// its data, where the consumer copies the unread end of the chunk before it (a record cut by the chunk boundary), so
/// records stay contiguous without copying the chunk itself.
/// <para>
/// Order and errors are those of reading on the consumer's thread: chunks come in stream order; an I/O or
/// decompression error ends the data at the last good read and is reported as the stream's end (as
/// <see cref="CaptureInput"/> does itself); any other exception is thrown again on the consumer's thread, where
/// that read would have thrown it.
/// </para>
/// </summary>
internal sealed class ReadAhead : IDisposable
{
    /// <summary>Data bytes per chunk: thousands of packets per read, and a chunk stays within a core's L2 cache.</summary>
    public const int DefaultChunkBytes = 512 << 10;
    /// <summary>Room in front of a chunk's data for the unread end of the previous chunk (longer ends are merged by copying).</summary>
    public const int DefaultGap = 64 << 10;
    /// <summary>Chunks in all: the one being decoded, the one before it (its frame may still be looked at), and two being read.</summary>
    private const int Chunks = 4;

    /// <summary>Data bytes per chunk (<see cref="DefaultChunkBytes"/>; tests use a few bytes to cut records everywhere).</summary>
    public int ChunkBytes { get; }
    /// <summary>Room in front of each chunk's data (<see cref="DefaultGap"/>).</summary>
    public int Gap { get; }

    internal sealed class Chunk(int size)
    {
        public readonly byte[] Bytes = new byte[size];
        /// <summary>Data bytes, from <see cref="Gap"/>.</summary>
        public int Length;
        /// <summary>The stream ended after this chunk's data (at its end, or on an error).</summary>
        public bool End;
        /// <summary>Why the stream stopped early (I/O or decompression error), or null.</summary>
        public string? Failure;
        /// <summary>Any other exception of the read, thrown again on the consumer's thread.</summary>
        public ExceptionDispatchInfo? Error;
    }

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly int _maxRead;
    private readonly bool _fillChunks;
    private readonly HandOffQueue<Chunk> _filled = new();
    private readonly HandOffQueue<Chunk> _free = new();
    private readonly Thread _thread;
    private readonly object _disposeGate = new();
    private bool _disposed;
    private bool _readerDone;

    /// <param name="ownsStream">Dispose <paramref name="stream"/> once reading stops.</param>
    /// <param name="maxRead">Largest single read (a decompressor loses the output of a failing read).</param>
    /// <param name="fillChunks">Hand a chunk over only once it is full (or the stream ended): for a decompressor, whose
    /// short reads say nothing about what is ready. Otherwise a short read is handed over at once (a pipe gave what it had).</param>
    public ReadAhead(Stream stream, bool ownsStream, int maxRead, int chunkBytes = DefaultChunkBytes, int gap = DefaultGap, bool fillChunks = false)
    {
        _fillChunks = fillChunks;
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(gap);
        ChunkBytes = chunkBytes;
        Gap = gap;
        _stream = stream;
        _ownsStream = ownsStream;
        _maxRead = Math.Max(1, maxRead);
        for (int i = 0; i < Chunks; i++) _free.Add(new Chunk(gap + chunkBytes));
        _thread = new Thread(Run) { IsBackground = true, Name = "trafficaudit-rd" };
        _thread.Start();
    }

    /// <summary>The next chunk in stream order, waiting for it. After a chunk marked <see cref="Chunk.End"/> there is none.</summary>
    public Chunk Take()
    {
        if (!_filled.Take(out var chunk)) throw new ObjectDisposedException(nameof(ReadAhead));
        return chunk;
    }

    /// <summary>Gives a chunk back to be read into again; the consumer no longer looks at its bytes.</summary>
    public void Release(Chunk chunk)
    {
        lock (_disposeGate)
        {
            if (_disposed) return;
            _free.Add(chunk);
        }
    }

    private void Run()
    {
        try
        {
            while (_free.Take(out var chunk))
            {
                Fill(chunk);
                _filled.Add(chunk);
                if (chunk.End) return;
            }
        }
        catch (InvalidOperationException)
        {
            // Disposed while a chunk was being handed over: nobody reads any more.
        }
        finally
        {
            lock (_disposeGate)
            {
                _readerDone = true;
                if (_disposed && _ownsStream) _stream.Dispose();
            }
        }
    }

    private void Fill(Chunk chunk)
    {
        chunk.Length = 0;
        chunk.End = false;
        chunk.Failure = null;
        chunk.Error = null;
        try
        {
            while (chunk.Length < ChunkBytes)
            {
                int want = Math.Min(ChunkBytes - chunk.Length, _maxRead);
                int n = _stream.Read(chunk.Bytes, Gap + chunk.Length, want);
                if (n <= 0)
                {
                    chunk.End = true;
                    return;
                }
                chunk.Length += n;
                // A pipe returned what it had: hand that over now rather than wait for more.
                if (n < want && !_fillChunks) return;
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            chunk.Failure = CaptureInput.DescribeReadFailure(e);
            chunk.End = true;
        }
        catch (Exception e)
        {
            chunk.Error = ExceptionDispatchInfo.Capture(e);
            chunk.End = true;
        }
    }

    /// <summary>
    /// Stops reading. Does not wait for a read in progress (a pipe may never answer): the reading thread disposes an
    /// owned stream when that read returns; otherwise the stream is disposed here.
    /// </summary>
    public void Dispose()
    {
        bool disposeHere;
        lock (_disposeGate)
        {
            if (_disposed) return;
            _disposed = true;
            _free.CompleteAdding();
            _filled.CompleteAdding();
            disposeHere = _readerDone && _ownsStream;
        }
        if (disposeHere) _stream.Dispose();
    }
}
