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
/// <para>
/// Shared (no thread of its own): another thread that has nothing to do reads the next chunk through
/// <see cref="TryReadOneAhead"/> (the VoIP stage between its batches, see <see cref="IIdleReader"/>), and the consumer reads
/// one itself when none is ready. On two cores busy with the engine's two threads, a third thread only competes for
/// them; the VoIP stage's idle moments take a share of the kernel's copies off the packet thread instead. Only for a
/// file (a seekable stream): a read must never wait for data that is not there (a pipe), since the helper holds the
/// read lock and the engine waits for the helper.
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
    /// <summary>Null when shared: no thread of its own.</summary>
    private readonly Thread? _thread;
    private readonly object _disposeGate = new();
    private bool _disposed;
    private bool _readerDone;
    /// <summary>Shared: held by whichever thread reads; chunks join <see cref="_filled"/> under it, so in stream order.</summary>
    private readonly object _readGate = new();
    /// <summary>Shared: a chunk marked <see cref="Chunk.End"/> was read, or the reader is disposed (under <see cref="_readGate"/>).</summary>
    private bool _ended;

    /// <summary>No thread of its own: chunks are read by <see cref="TryReadOneAhead"/> and by <see cref="Take"/>.</summary>
    public bool Shared { get; }

    /// <summary>Chunks read ahead by another thread so far (shared only; the consumer's own reads are not counted).</summary>
    public long ChunksReadAhead => Interlocked.Read(ref _chunksReadAhead);
    private long _chunksReadAhead;

    /// <param name="ownsStream">Dispose <paramref name="stream"/> once reading stops.</param>
    /// <param name="maxRead">Largest single read (a decompressor loses the output of a failing read).</param>
    /// <param name="fillChunks">Hand a chunk over only once it is full (or the stream ended): for a decompressor, whose
    /// short reads say nothing about what is ready. Otherwise a short read is handed over at once (a pipe gave what it had).</param>
    /// <param name="shared">No thread of its own (see the type's remarks): only for a stream whose reads never wait for data.</param>
    public ReadAhead(Stream stream, bool ownsStream, int maxRead, int chunkBytes = DefaultChunkBytes, int gap = DefaultGap, bool fillChunks = false,
        bool shared = false)
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
        Shared = shared;
        if (shared) return;
        _thread = new Thread(Run) { IsBackground = true, Name = "trafficaudit-rd" };
        _thread.Start();
    }

    /// <summary>
    /// The next chunk in stream order, waiting for it. After a chunk marked <see cref="Chunk.End"/> there is none.
    /// Shared: the one read ahead, else one read now on this thread (after a read in progress elsewhere, which gives it).
    /// </summary>
    public Chunk Take()
    {
        if (Shared) return TakeShared();
        if (!_filled.Take(out var chunk)) throw new ObjectDisposedException(nameof(ReadAhead));
        return chunk;
    }

    private Chunk TakeShared()
    {
        if (_filled.TryTake(out var ready)) return ready;
        if (!Monitor.TryEnter(_readGate))
        {
            // Another thread is reading the next chunk: wait for it.
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            Monitor.Enter(_readGate);
            ConsumerWaits++;
            ConsumerWaitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
        }
        try
        {
            if (_filled.TryTake(out ready)) return ready;
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_ended) throw new InvalidOperationException("the stream ended: no chunk follows one marked End");
            // The consumer holds at most two chunks (the current one and the one before it) of four, and none is filled.
            if (!_free.TryTake(out var own)) throw new InvalidOperationException("no chunk is free: release the ones read");
            Fill(own);
            if (own.End) _ended = true;
            return own;
        }
        finally
        {
            Monitor.Exit(_readGate);
        }
    }

    /// <summary>Shared: times the consumer waited for a chunk another thread was reading, and how long in all (<see cref="System.Diagnostics.Stopwatch"/> ticks); the consumer's thread.</summary>
    public long ConsumerWaits { get; private set; }
    public long ConsumerWaitTicks { get; private set; }

    /// <summary>
    /// Shared: reads the next chunk ahead when a chunk is free, no other thread is reading and the stream has not ended;
    /// false otherwise, at once (it never waits for the read lock). Any thread may call it, at any time, also after
    /// <see cref="Dispose"/>. The chunk's errors reach the consumer as if it had read it.
    /// </summary>
    public bool TryReadOneAhead()
    {
        if (!Shared || Volatile.Read(ref _ended) || !Monitor.TryEnter(_readGate)) return false;
        try
        {
            if (_ended || !_free.TryTake(out var chunk)) return false;
            Fill(chunk);
            if (chunk.End) _ended = true;
            _filled.Add(chunk);
            Interlocked.Increment(ref _chunksReadAhead);
            return true;
        }
        finally
        {
            Monitor.Exit(_readGate);
        }
    }

    /// <summary>
    /// Shared: called on the consumer's thread after each chunk it gives back (<see cref="Release"/>), so that an idle
    /// thread asleep can be woken to read the next one ahead. Null: nothing.
    /// </summary>
    public Func<bool>? ChunkFreed { get; set; }

    /// <summary>Gives a chunk back to be read into again; the consumer no longer looks at its bytes.</summary>
    public void Release(Chunk chunk)
    {
        lock (_disposeGate)
        {
            if (_disposed) return;
            _free.Add(chunk);
        }
        if (Shared) ChunkFreed?.Invoke();
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
        if (Shared)
        {
            // A read in progress on another thread finishes first (a regular file's read returns).
            lock (_readGate)
            {
                lock (_disposeGate)
                {
                    if (_disposed) return;
                    _disposed = true;
                }
                _ended = true;
                if (_ownsStream) _stream.Dispose();
            }
            return;
        }
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
