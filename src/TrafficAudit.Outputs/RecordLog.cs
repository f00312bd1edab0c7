using System.Collections.Concurrent;
using System.Globalization;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// --rotate: when a record file is closed and the next one opened. Either a period of capture time
/// (files cover aligned periods: --rotate 1h gives files starting at 06:00:00, 07:00:00... UTC) or a
/// size (a file is closed once the bytes written to it reach the size; it ends with the row that
/// reached it, never with part of a row).
/// </summary>
public sealed record RecordRotation
{
    private RecordRotation(TimeSpan? period, long? maxBytes)
    {
        Period = period;
        MaxBytes = maxBytes;
    }

    public TimeSpan? Period { get; }
    public long? MaxBytes { get; }

    /// <summary>Shortest and longest period, smallest and largest size --rotate accepts.</summary>
    public static readonly TimeSpan MinPeriod = TimeSpan.FromSeconds(1), MaxPeriod = TimeSpan.FromDays(366);
    public const long MinBytes = 1_000, MaxBytesLimit = 1_000_000_000_000;

    public static RecordRotation Every(TimeSpan period) =>
        period > TimeSpan.Zero ? new(period, null) : throw new ArgumentOutOfRangeException(nameof(period), "a rotation period is positive");

    public static RecordRotation AtSize(long bytes) =>
        bytes > 0 ? new(null, bytes) : throw new ArgumentOutOfRangeException(nameof(bytes), "a rotation size is positive");

    /// <summary>
    /// Reads "30s", "15m", "1h", "1d" (capture time) or "500KB", "100MB", "2GB" (decimal: 1 MB = 1,000,000
    /// bytes; KiB, MiB, GiB are binary); units are case-insensitive, the number is whole. Returns null
    /// with the reason in <paramref name="error"/> otherwise.
    /// </summary>
    public static RecordRotation? Parse(string text, out string error)
    {
        error = "";
        string t = text.Trim();
        int digits = 0;
        while (digits < t.Length && char.IsAsciiDigit(t[digits])) digits++;
        string unit = t[digits..].Trim().ToLowerInvariant();
        if (digits == 0 || !long.TryParse(t.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            error = $"--rotate '{text}' is neither a period (30s, 15m, 1h, 1d) nor a size (500KB, 100MB, 2GB)";
            return null;
        }
        long? seconds = unit switch { "s" => 1, "m" or "min" => 60, "h" => 3600, "d" => 86400, _ => null };
        long? bytes = unit switch { "kb" => 1_000, "mb" => 1_000_000, "gb" => 1_000_000_000, "kib" => 1 << 10, "mib" => 1 << 20, "gib" => 1 << 30, _ => null };
        if (seconds is { } s)
        {
            if (n == 0 || n > MaxPeriod.TotalSeconds / s)
            {
                error = $"--rotate '{text}' is not a period between {MinPeriod.TotalSeconds:0}s and {MaxPeriod.TotalDays:0}d";
                return null;
            }
            return Every(TimeSpan.FromSeconds(n * s));
        }
        if (bytes is { } b)
        {
            if (n == 0 || n > MaxBytesLimit / b || n * b < MinBytes)
            {
                error = $"--rotate '{text}' is not a size between 1KB and 1000GB";
                return null;
            }
            return AtSize(n * b);
        }
        error = unit.Length == 0
            ? $"--rotate '{text}' needs a unit: a period (30s, 15m, 1h, 1d) or a size (500KB, 100MB, 2GB)"
            : $"--rotate '{text}' has an unknown unit '{t[digits..].Trim()}': use s, m, h, d for a period or KB, MB, GB for a size";
        return null;
    }

    public override string ToString() => Period is { } p ? $"every {p} of capture time" : $"at {MaxBytes} bytes";
}

/// <summary>What a <see cref="RecordLog"/> writes and how.</summary>
public sealed record RecordLogOptions
{
    public OutputFormat Format { get; init; } = OutputFormat.Csv;
    /// <summary>Null: one file per table for the whole run (flows.csv...).</summary>
    public RecordRotation? Rotation { get; init; }
    /// <summary>--anonymize: each record is mapped to its pseudonymous row once, before it is encoded.</summary>
    public Anonymizer? Anonymizer { get; init; }
    /// <summary>--series: rtp_series rows are appended with each stream.</summary>
    public bool Series { get; init; }
    /// <summary>Records the queue holds before a caller waits (see <see cref="RecordLog.QueueFullWaits"/>).</summary>
    public int QueueCapacity { get; init; } = RecordLog.DefaultQueueCapacity;
    /// <summary>Flush() also asks the OS to put the bytes on the device (fsync); without it they are in the page cache, which a killed process does not lose.</summary>
    public bool FlushToDevice { get; init; }
    /// <summary>Who writes the rows (and runs the sink of <see cref="RecordLog.Then"/>): a thread of the log's own by default.</summary>
    public RecordWriter Writer { get; init; } = RecordWriter.Thread;
}

/// <summary>Who writes a <see cref="RecordLog"/>'s rows and hands its records to the sink of <see cref="RecordLog.Then"/>.</summary>
public enum RecordWriter
{
    /// <summary>A writer thread of the log's own; the caller only queues each record.</summary>
    Thread,
    /// <summary>
    /// The caller, as each record comes (`audit --threads 1`: one thread does everything). Only for a single caller that
    /// also calls <see cref="RecordLog.Flush"/> and <see cref="RecordLog.Dispose"/> (a file audit, not live capture's
    /// flush on its own thread).
    /// </summary>
    Caller,
    /// <summary>
    /// No thread of its own: records are queued, and whichever thread has time writes them, a slice at a time, through
    /// <see cref="RecordLog.WriteSome"/> (`audit --threads 2`: the VoIP stage between its batches, and the engine's thread
    /// while that stage is behind). The caller writes a slice itself when more than <see cref="RecordLog.SharedBacklog"/>
    /// records wait and no other thread is writing one (past <see cref="RecordLog.SharedLimit"/> it waits for that
    /// thread), and everything at
    /// <see cref="RecordLog.Sync"/>, <see cref="RecordLog.Flush"/> and <see cref="RecordLog.Dispose"/>. One thread writes
    /// at a time, in the order the records came. The same single-caller rule as <see cref="Caller"/>.
    /// </summary>
    Shared,
}

/// <summary>
/// Appendable record logs: flows, rtp_streams and calls (and rtp_series with --series), opened once,
/// a header once per file (CSV), one row per record as the engine hands records over
/// (<see cref="IAuditRecordSink"/>), in the order they arrive. The caller's thread only queues the
/// record; a writer thread makes the (anonymized) row, encodes it and appends it (or, by
/// <see cref="RecordLogOptions.Writer"/>, the caller as each record comes, or whichever thread has time).
/// <list type="bullet">
/// <item>Whole rows: rows are encoded into a memory buffer and reach the file only as whole rows (one
/// write per batch, when 64 KB are pending, when the queue runs empty, at <see cref="Flush"/> and at
/// <see cref="Dispose"/>), so a reader that opens the file between two writes sees only whole rows.</item>
/// <item>Bounded queue: <see cref="RecordLogOptions.QueueCapacity"/> records; a caller that finds it
/// full waits until the writer catches up (nothing is dropped) and <see cref="QueueFullWaits"/> counts it.</item>
/// <item><see cref="Flush"/> returns once every record queued before it is written to the files;
/// <see cref="Dispose"/> drains the queue, writes everything and closes the files.</item>
/// <item>Rotation (<see cref="RecordRotation"/>): files are named TABLE_NNNNN_YYYYMMDDTHHMMSSZ.EXT
/// (sequence, then the UTC capture time the file starts at: the period start, or for a size rotation
/// the time of its first record), so names sort by time; numbering continues after the files already
/// in the folder. Each file has its own header. The capture clock is the latest end time of the
/// records handed over (flow and stream last_seen, a call's end), so all tables switch together.</item>
/// </list>
/// An I/O error on the writer thread stops the writing (the error is in <see cref="Failure"/>, later
/// records are counted in <see cref="RecordsLost"/>) and never reaches the capture thread.
/// </summary>
public sealed class RecordLog : IAuditRecordSink, IDisposable
{
    public const int DefaultQueueCapacity = 65_536;
    /// <summary>Bytes of whole rows buffered before they are written to a file.</summary>
    public const int BatchBytes = 64 * 1024;

    /// <summary>Null without a writer thread (<see cref="RecordLogOptions.Writer"/>).</summary>
    private readonly BlockingCollection<Item>? _queue;
    private readonly Thread? _writer;
    /// <summary><see cref="RecordWriter.Shared"/>: the records waiting, and the lock of whichever thread writes them.</summary>
    private readonly ConcurrentQueue<Item>? _shared;
    private readonly object _writeGate = new();
    private long _sharedSlices;

    /// <summary><see cref="RecordWriter.Shared"/>: records written per <see cref="WriteSome"/> (some 100 µs of a busy site's rows).</summary>
    public const int SharedSlice = 64;
    /// <summary><see cref="RecordWriter.Shared"/>: records waiting beyond which the caller writes a slice itself at each record (unless another thread is writing one).</summary>
    public const int SharedBacklog = 4096;
    /// <summary>
    /// <see cref="RecordWriter.Shared"/>: records waiting beyond which the caller, finding another thread writing a slice,
    /// waits for it and writes one too: the bound on the records waiting.
    /// </summary>
    public const int SharedLimit = 4 * SharedBacklog;
    private readonly RecordLogOptions _options;
    private readonly TableLog<FlowRow> _flows;
    private readonly TableLog<RtpStreamRow> _streams;
    private readonly TableLog<CallRow> _calls;
    private readonly TableLog<RtpSeriesRow>? _series;
    private readonly TableLog[] _tables;
    private long _clockNs;
    private long _queueFullWaits;
    private long _recordsLost;
    private volatile Exception? _failure;
    private int _disposed;
    /// <summary>Cuts the writer's nap short: set by <see cref="Flush"/> and <see cref="Dispose"/>, which are waited for (no spinning: a nap is meant to cost nothing).</summary>
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);

    /// <summary>Opens the logs in <paramref name="outDir"/> (created when missing); without rotation the files are created now, each with its header.</summary>
    public RecordLog(string outDir, RecordLogOptions? options = null)
    {
        _options = options ?? new RecordLogOptions();
        if (_options.QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(options), "the queue holds at least one record");
        Directory.CreateDirectory(outDir);
        OutDir = outDir;
        _flows = new TableLog<FlowRow>(outDir, RecordSchemas.Flows, _options);
        _streams = new TableLog<RtpStreamRow>(outDir, RecordSchemas.RtpStreams, _options);
        _calls = new TableLog<CallRow>(outDir, RecordSchemas.Calls, _options);
        _series = _options.Series ? new TableLog<RtpSeriesRow>(outDir, RecordSchemas.RtpSeries, _options) : null;
        _tables = _series is null ? [_flows, _streams, _calls] : [_flows, _streams, _calls, _series];
        if (_options.Rotation is null)
            foreach (var t in _tables) t.OpenSingle();
        if (_options.Writer == RecordWriter.Caller) return;
        if (_options.Writer == RecordWriter.Shared)
        {
            _shared = new ConcurrentQueue<Item>();
            return;
        }
        _queue = new BlockingCollection<Item>(new ConcurrentQueue<Item>(), _options.QueueCapacity);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "trafficaudit record log" };
        _writer.Start();
    }

    public string OutDir { get; }

    /// <summary>Who writes the rows (<see cref="RecordLogOptions.Writer"/>).</summary>
    public RecordWriter Writer => _options.Writer;

    /// <summary>
    /// <see cref="RecordWriter.Shared"/>: called on the thread that hands a record over while a slice's worth of records or
    /// more wait, to wake a thread that writes them when it has time (the VoIP stage's, asleep between its batches); true
    /// when that thread is free to write them now. The caller then leaves the rows to it up to <see cref="SharedLimit"/>
    /// waiting, instead of writing slices itself past <see cref="SharedBacklog"/>. Set it before the first record.
    /// </summary>
    public Func<bool>? RecordsWaiting { get; set; }

    /// <summary>
    /// <see cref="RecordWriter.Shared"/>: <paramref name="records"/> records already in memory are about to be handed over
    /// at once (the flows held until the nodes were decided: 20,000 on a busy site). Until all of them are handed over
    /// and the records waiting are back within <see cref="SharedBacklog"/>, the limit at which the caller waits for
    /// another thread's slice (<see cref="SharedLimit"/>) grows by their number: past the backlog the caller still
    /// writes a slice whenever no other thread is writing one, but it never waits, and goes on with its packets.
    /// Without it the caller, past the limit, waited at each record for the slice another thread was writing: the
    /// burst was written by one thread at a time while the packets stood still. The caller's thread only.
    /// </summary>
    public void ExpectBurst(int records)
    {
        if (_shared is null || records <= 0) return;
        _burst += records;
        _burstToCome += records;
    }

    /// <summary>Records of a burst (<see cref="ExpectBurst"/>) the bounds allow for, and those not yet handed over; the caller's thread only.</summary>
    private int _burst, _burstToCome;

    /// <summary>Slices written by <see cref="WriteSome"/> on a thread that had time (<see cref="RecordWriter.Shared"/>; those a caller writes past <see cref="SharedBacklog"/> are not counted).</summary>
    public long SharedSlices => Interlocked.Read(ref _sharedSlices);

    /// <summary>
    /// <see cref="RecordWriter.Shared"/>: writes up to <see cref="SharedSlice"/> waiting records, in order, on the calling
    /// thread. False at once when none waits, another thread is writing, or the log is not shared. Any thread, any time
    /// (also after <see cref="Dispose"/>); an exception of a row or of the sink is kept as the writer thread keeps it.
    /// </summary>
    public bool WriteSome()
    {
        var shared = _shared;
        if (shared is null || (shared.IsEmpty && Volatile.Read(ref _batch) is null) || !Monitor.TryEnter(_writeGate)) return false;
        try
        {
            if (WriteWaiting(SharedSlice) == 0) return false;
            Interlocked.Increment(ref _sharedSlices);
            return true;
        }
        finally
        {
            Monitor.Exit(_writeGate);
        }
    }

    /// <summary>Writes up to <paramref name="most"/> waiting records (hold <see cref="_writeGate"/>); how many. A batch of flows is written record by record, before anything queued after it.</summary>
    private int WriteWaiting(int most)
    {
        int n = 0;
        var slice = _slice;
        while (n < most)
        {
            // A slice of records taken in order, their flows' Community IDs computed together, then each record handled.
            int taken = 0;
            while (taken < slice.Length && n + taken < most)
            {
                if (_batch is { } batch)
                {
                    var flow = batch.Flows.Make(batch.Next++);
                    if (batch.Next == batch.Flows.Count) Volatile.Write(ref _batch, null);
                    slice[taken++] = new Item(ItemKind.Flow, flow, flow.LastSeenNs);
                    continue;
                }
                if (!_shared!.TryDequeue(out var item)) break;
                if (item.Kind == ItemKind.FlowBatch)
                {
                    var next = (BatchCursor)item.Payload;
                    if (next.Flows.Count > 0) Volatile.Write(ref _batch, next);
                    continue;
                }
                slice[taken++] = item;
            }
            if (taken == 0) break;
            HandleSlice(slice.AsSpan(0, taken));
            n += taken;
        }
        return n;
    }

    /// <summary>A batch's records, made and handled a slice at a time (the one thread that writes: the caller's, or the log's own).</summary>
    private void HandleBatch(IFlowRecordBatch flows, int count)
    {
        var slice = _slice;
        for (int i = 0; i < count;)
        {
            int taken = 0;
            for (; taken < slice.Length && i < count; i++)
            {
                var flow = flows.Make(i);
                slice[taken++] = new Item(ItemKind.Flow, flow, flow.LastSeenNs);
            }
            HandleSlice(slice.AsSpan(0, taken));
        }
    }

    /// <summary>Records taken for one slice (<see cref="WriteWaiting"/> under <see cref="_writeGate"/>, or <see cref="HandleBatch"/>).</summary>
    private readonly Item[] _slice = new Item[SharedSlice];

    /// <summary>
    /// Handles records in order, with the Community IDs of the flows among them computed together first (when flows.csv
    /// rows are written straight from their records): four SHA-1s side by side. Clears the records from the span.
    /// </summary>
    private void HandleSlice(Span<Item> items)
    {
        if (_options.Anonymizer is null && _flows.Csv is not null) _ids.Compute(items);
        for (int i = 0; i < items.Length; i++)
        {
            Handle(items[i]);
            items[i] = default;
        }
        _ids.Clear();
    }

    /// <summary>The Community IDs of a slice's flows (<see cref="HandleSlice"/>).</summary>
    private readonly SliceCommunityIds _ids = new(SharedSlice);

    /// <summary>
    /// The Community IDs of the flows of a slice of records, computed together (<see cref="CommunityId.FormatUtf8"/>), and
    /// taken by the rows in the same order.
    /// </summary>
    private sealed class SliceCommunityIds(int capacity)
    {
        private readonly FlowRecord?[] _flows = new FlowRecord?[capacity];
        private readonly CommunityIdTuple[] _tuples = new CommunityIdTuple[capacity];
        private readonly byte[] _utf8 = new byte[capacity * CommunityId.Length];
        private readonly int[] _lengths = new int[capacity];
        private int _count, _next;

        public void Compute(ReadOnlySpan<Item> items)
        {
            _count = _next = 0;
            foreach (var item in items)
            {
                if (item.Kind != ItemKind.Flow) continue;
                var f = (FlowRecord)item.Payload;
                _flows[_count] = f;
                _tuples[_count++] = new CommunityIdTuple(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort, f.Transport);
            }
            CommunityId.FormatUtf8(_tuples.AsSpan(0, _count), _utf8, _lengths);
        }

        /// <summary>The ID of <paramref name="flow"/> when it is the next flow of the slice computed.</summary>
        public bool TryTake(FlowRecord flow, out ReadOnlySpan<byte> id)
        {
            if (_next < _count && ReferenceEquals(_flows[_next], flow))
            {
                id = _utf8.AsSpan(_next * CommunityId.Length, _lengths[_next]);
                _next++;
                return true;
            }
            id = default;
            return false;
        }

        public void Clear()
        {
            Array.Clear(_flows, 0, _count);
            _count = _next = 0;
        }
    }

    /// <summary><see cref="RecordWriter.Shared"/>: the batch of flows being written (under <see cref="_writeGate"/>), and the next of its records.</summary>
    private BatchCursor? _batch;

    private sealed class BatchCursor(IFlowRecordBatch flows)
    {
        public readonly IFlowRecordBatch Flows = flows;
        public int Next;
    }

    /// <summary>Every waiting record written, on this thread (after another thread's slice in progress).</summary>
    private void WriteAllWaiting()
    {
        lock (_writeGate) WriteWaiting(int.MaxValue);
    }

    /// <summary>How many times a caller found the queue full and waited for the writer (<see cref="RecordWriter.Shared"/>: wrote a slice itself).</summary>
    public long QueueFullWaits => Interlocked.Read(ref _queueFullWaits);

    /// <summary>Records not written because the writer stopped on an I/O error (see <see cref="Failure"/>).</summary>
    public long RecordsLost => Interlocked.Read(ref _recordsLost);

    /// <summary>The I/O error that stopped the writer, or null.</summary>
    public Exception? Failure => _failure;

    /// <summary>Rows written so far per table ("flows" → 12), rotation included.</summary>
    public IReadOnlyDictionary<string, long> RowsWritten
    {
        get
        {
            lock (_tables) return _tables.ToDictionary(t => t.Name, t => t.Rows);
        }
    }

    /// <summary>Every file opened so far, in order (file names inside <see cref="OutDir"/>).</summary>
    public IReadOnlyList<string> FilesOpened
    {
        get
        {
            lock (_tables) return _tables.SelectMany(t => t.Files).ToArray();
        }
    }

    public void OnFlow(FlowRecord flow) => Enqueue(new Item(ItemKind.Flow, flow, flow.LastSeenNs));

    /// <summary>
    /// Flows handed over together (<see cref="IAuditRecordSink.OnFlows"/>): queued as one item, and their records made one
    /// by one by the thread that writes them (<see cref="RecordWriter.Shared"/>: a slice at a time, by whichever has time;
    /// the writer thread; <see cref="RecordWriter.Caller"/>: now). The same rows in the same order as one call per flow.
    /// </summary>
    public void OnFlows(IFlowRecordBatch flows)
    {
        if (_queue is null && _shared is null)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            _queuedAny = true;
            HandleBatch(flows, flows.Count);
            return;
        }
        if (flows.Count == 0) return;
        // A burst announced for them (ExpectBurst) is one item now: the bounds need not make room for it.
        _burstToCome = Math.Max(0, _burstToCome - flows.Count);
        _burst = Math.Max(0, _burst - flows.Count);
        Enqueue(new Item(ItemKind.FlowBatch, new BatchCursor(flows), 0));
        RecordsWaiting?.Invoke();
    }
    public void OnStream(RtpStreamRecord stream) => Enqueue(new Item(ItemKind.Stream, stream, stream.LastSeenNs));
    public void OnCall(CallRecord call) => Enqueue(new Item(ItemKind.Call, call, Math.Max(call.Sip.StartNs, call.Sip.EndNs)));
    /// <summary>Transactions have no table of their own (sip_options is an aggregate): queued only for the sink given to <see cref="Then"/>.</summary>
    public void OnTransaction(SipTransactionStat transaction)
    {
        if (_then is not null) Enqueue(new Item(ItemKind.Transaction, transaction, 0));
    }

    private IAuditRecordSink? _then;
    private volatile Exception? _thenFailure;
    private bool _queuedAny;

    /// <summary>
    /// Hands every record to <paramref name="sink"/> too, on the writer thread (the caller's without one), after its row and in the order the records
    /// came (the run totals and the policy: their work leaves the engine's thread). Call it before the first record. Read
    /// the sink's state only when the writer is idle: after <see cref="Sync"/>, <see cref="Flush"/> or <see cref="Dispose"/>.
    /// Rows that an I/O error kept from their file still reach the sink.
    /// </summary>
    public void Then(IAuditRecordSink sink)
    {
        if (_queuedAny) throw new InvalidOperationException("Then is called before the first record");
        _then = sink;
    }

    /// <summary>What the sink given to <see cref="Then"/> threw (a bug): it is given no record after it. Null when nothing.</summary>
    public Exception? ThenFailure => _thenFailure;

    /// <summary>Waits until the writer has taken every record queued before this call (their rows may still be in its buffer).</summary>
    public void Sync()
    {
        if (_shared is not null)
        {
            WriteAllWaiting();
            return;
        }
        if (_queue is null) return;
        using var done = new ManualResetEventSlim();
        Enqueue(new Item(ItemKind.Sync, done, 0));
        _wake.Set();
        done.Wait();
    }

    /// <summary>Waits until every record queued before this call is written to its file (and, with <see cref="RecordLogOptions.FlushToDevice"/>, on the device).</summary>
    public void Flush()
    {
        if (_queue is null)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            lock (_writeGate)
            {
                if (_shared is not null) WriteWaiting(int.MaxValue);
                WriteAllPending();
            }
            return;
        }
        using var done = new ManualResetEventSlim();
        Enqueue(new Item(ItemKind.Flush, done, 0));
        _wake.Set();
        done.Wait();
    }

    /// <summary>Writes what is queued, closes the files and ends the writer thread. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_queue is null)
        {
            lock (_writeGate)
            {
                if (_shared is not null) WriteWaiting(int.MaxValue);
                CloseTables();
            }
            _wake.Dispose();
            return;
        }
        _queue.CompleteAdding();
        _wake.Set();
        _writer!.Join();
        _queue.Dispose();
        _wake.Dispose();
    }

    private void Enqueue(Item item)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _queuedAny = true;
        if (_shared is not null)
        {
            _shared.Enqueue(item);
            int waiting = _shared.Count;
            bool helped = waiting >= SharedSlice && RecordsWaiting is { } wake && wake();
            // A burst (ExpectBurst) waits beyond the usual bounds, from its first record until, all of it handed over, the
            // records waiting are back within the backlog.
            int burst = _burst;
            if (burst > 0)
            {
                if (_burstToCome > 0) _burstToCome--;
                else if (waiting <= SharedBacklog) _burst = burst = 0;
            }
            // Nobody has had time: the caller takes a slice itself, so the records waiting stay bounded. When another
            // thread is writing a slice just now, the caller goes on (rows are being written) rather than wait for it,
            // up to SharedLimit records waiting. Waiting there used to leave the busy site's packet thread idle for a
            // slice's time, hundreds of times a run.
            // A thread free to write them (RecordsWaiting) takes them up to SharedLimit.
            if (waiting > SharedBacklog && !(helped && waiting <= SharedLimit + burst))
            {
                if (Monitor.TryEnter(_writeGate))
                {
                    try
                    {
                        Interlocked.Increment(ref _queueFullWaits);
                        WriteWaiting(SharedSlice);
                    }
                    finally
                    {
                        Monitor.Exit(_writeGate);
                    }
                }
                else if (_shared.Count > SharedLimit + burst)
                {
                    Interlocked.Increment(ref _queueFullWaits);
                    lock (_writeGate) WriteWaiting(SharedSlice);
                }
            }
            return;
        }
        if (_queue is null)
        {
            Handle(item);
            return;
        }
        if (_queue.TryAdd(item)) return;
        Interlocked.Increment(ref _queueFullWaits);
        _queue.Add(item);
    }

    /// <summary>
    /// How long the writer naps when it has emptied the queue (and written its rows to the files) before it waits
    /// for the next record. Without it a writer that keeps up wakes for nearly every record: it spins and yields
    /// in the queue's wait, and the engine's thread wakes it, per record. With it the records of a millisecond
    /// are taken in one go; a row reaches its file at most this much later. <see cref="Flush"/> and
    /// <see cref="Dispose"/> cut the nap short.
    /// </summary>
    private const int NapMilliseconds = 1;

    private void WriterLoop()
    {
        var queue = _queue!;
        while (true)
        {
            if (!queue.TryTake(out var item))
            {
                // The queue ran empty: what is pending goes to the files now (whole rows), then a nap.
                WritePendingRows();
                if (queue.IsCompleted) break;
                _wake.Wait(NapMilliseconds);
                _wake.Reset();
                if (!queue.TryTake(out item, Timeout.Infinite)) break;
            }
            if (item.Kind == ItemKind.Flush)
            {
                WriteAllPending();
                ((ManualResetEventSlim)item.Payload).Set();
                continue;
            }
            if (item.Kind == ItemKind.Sync)
            {
                ((ManualResetEventSlim)item.Payload).Set();
                continue;
            }
            if (item.Kind == ItemKind.FlowBatch)
            {
                var flows = ((BatchCursor)item.Payload).Flows;
                HandleBatch(flows, flows.Count);
                continue;
            }
            Handle(item);
        }
        CloseTables();
    }

    /// <summary>One record: its row (unless the writing stopped on an I/O error), then the sink of <see cref="Then"/>.</summary>
    private void Handle(Item item)
    {
        if (item.Kind == ItemKind.Transaction) { }
        else if (_failure is not null) Interlocked.Increment(ref _recordsLost);
        else
        {
            // Per record: no closure (a lambda capturing the item would be allocated for every row).
            try
            {
                Append(item);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _failure = e;
            }
        }
        if (_then is not null && _thenFailure is null) Follow(_then, item);
    }

    /// <summary>Every table's pending rows to its file, and to the device with <see cref="RecordLogOptions.FlushToDevice"/>.</summary>
    private void WriteAllPending() => Guard(() =>
    {
        foreach (var t in _tables) t.WritePending(flushToDevice: _options.FlushToDevice);
    });

    /// <summary>The last rows written and every file closed (the end of <see cref="Dispose"/>).</summary>
    private void CloseTables()
    {
        WriteAllPending();
        foreach (var t in _tables)
        {
            try
            {
                t.Close();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _failure ??= e;
            }
        }
    }

    /// <summary>Every table's pending rows to its file (no closure: this runs each time the queue runs empty).</summary>
    private void WritePendingRows()
    {
        if (_failure is not null) return;
        try
        {
            foreach (var t in _tables) t.WritePending(flushToDevice: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failure = e;
        }
    }

    private void Guard(Action action)
    {
        if (_failure is not null) return;
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failure = e;
        }
    }

    private void Append(Item item)
    {
        if (item.TimeNs > _clockNs) _clockNs = item.TimeNs;
        var anonymizer = _options.Anonymizer;
        lock (_tables)
        {
            switch (item.Kind)
            {
                case ItemKind.Flow:
                    var flow = (FlowRecord)item.Payload;
                    // CSV without pseudonyms: the row straight from the record, no FlowRow and no string per cell.
                    if (anonymizer is null && _flows.Csv is { } csv)
                    {
                        if (_ids.TryTake(flow, out var id)) _flows.AppendFlow(flow, csv, _clockNs, id);
                        else _flows.AppendFlow(flow, csv, _clockNs);
                    }
                    else _flows.Append(FlowRow.From(flow, anonymizer), _clockNs);
                    break;
                case ItemKind.Stream:
                    var stream = (RtpStreamRecord)item.Payload;
                    if (anonymizer is null && _streams.Csv is { } streamCsv) _streams.AppendStream(stream, streamCsv, _clockNs);
                    else _streams.Append(RtpStreamRow.From(stream, anonymizer), _clockNs);
                    if (_series is not null)
                        foreach (var row in RtpSeriesRow.From(stream)) _series.Append(row, _clockNs);
                    break;
                case ItemKind.Call:
                    _calls.Append(CallRow.From((CallRecord)item.Payload, anonymizer), _clockNs);
                    break;
            }
        }
    }

    /// <summary>The record to the sink of <see cref="Then"/>; what it throws stops it (<see cref="ThenFailure"/>), not the writer.</summary>
    private void Follow(IAuditRecordSink sink, Item item)
    {
        try
        {
            switch (item.Kind)
            {
                case ItemKind.Flow: sink.OnFlow((FlowRecord)item.Payload); break;
                case ItemKind.Stream: sink.OnStream((RtpStreamRecord)item.Payload); break;
                case ItemKind.Call: sink.OnCall((CallRecord)item.Payload); break;
                case ItemKind.Transaction: sink.OnTransaction((SipTransactionStat)item.Payload); break;
            }
        }
        catch (Exception e)
        {
            _thenFailure = e;
        }
    }

    private enum ItemKind { Flow, Stream, Call, Transaction, Flush, Sync, FlowBatch }

    private readonly record struct Item(ItemKind Kind, object Payload, long TimeNs);

    private abstract class TableLog
    {
        public abstract string Name { get; }
        public long Rows { get; protected set; }
        public List<string> Files { get; } = [];
        public abstract void OpenSingle();
        public abstract void WritePending(bool flushToDevice);
        public abstract void Close();
    }

    /// <summary>One table's current file, its whole-row buffer and its rotation state.</summary>
    private sealed class TableLog<TRow> : TableLog
    {
        private readonly string _outDir;
        private readonly RecordSchema<TRow> _schema;
        private readonly RecordLogOptions _options;
        private readonly MemoryStream _pending = new();
        private readonly RowWriter<TRow> _encoder;
        private FileStream? _file;
        private long _fileBytes;
        private long _period = long.MinValue;
        private int _sequence;

        public TableLog(string outDir, RecordSchema<TRow> schema, RecordLogOptions options)
        {
            _outDir = outDir;
            _schema = schema;
            _options = options;
            _encoder = RowWriter<TRow>.Create(schema, options.Format, _pending);
            if (options.Rotation is not null) _sequence = LastSequenceInFolder();
        }

        public override string Name => _schema.Name;

        /// <summary>Without rotation: TABLE.EXT, replaced, with its header written at once.</summary>
        public override void OpenSingle() => Open(OutputFormats.FileName(_schema.Name, _options.Format));

        /// <summary>The CSV encoder when this table is written as CSV (null for JSON lines).</summary>
        public CsvEncoder? Csv => (_encoder as CsvRowWriter<TRow>)?.Csv;

        /// <summary>Write flows.csv and rtp_streams.csv rows straight from their records (<see cref="AppendFlow"/>, <see cref="AppendStream"/>); made at the first.</summary>
        private FlowCsvRow? _flowRow;
        private RtpStreamCsvRow? _streamRow;

        public void Append(TRow row, long clockNs)
        {
            BeginRow(clockNs);
            _encoder.WriteRow(row);
            EndRow();
        }

        /// <summary>A flows.csv row written straight from its record by <see cref="FlowCsvRow"/> (nothing allocated per row).</summary>
        public void AppendFlow(FlowRecord flow, CsvEncoder csv, long clockNs)
        {
            BeginRow(clockNs);
            (_flowRow ??= new FlowCsvRow()).Write(csv, flow);
            EndRow();
        }

        /// <summary><see cref="AppendFlow(FlowRecord, CsvEncoder, long)"/> with the flow's Community ID computed already.</summary>
        public void AppendFlow(FlowRecord flow, CsvEncoder csv, long clockNs, ReadOnlySpan<byte> communityId)
        {
            BeginRow(clockNs);
            (_flowRow ??= new FlowCsvRow()).Write(csv, flow, communityId);
            EndRow();
        }

        /// <summary>An rtp_streams.csv row written straight from its record by <see cref="RtpStreamCsvRow"/>.</summary>
        public void AppendStream(RtpStreamRecord stream, CsvEncoder csv, long clockNs)
        {
            BeginRow(clockNs);
            (_streamRow ??= new RtpStreamCsvRow()).Write(csv, stream);
            EndRow();
        }

        private void BeginRow(long clockNs)
        {
            var rotation = _options.Rotation;
            if (rotation?.Period is { } period)
            {
                long periodNs = period.Ticks * 100;
                long p = Math.Max(0, clockNs) / periodNs;
                if (_file is not null && p != _period) Close();
                if (_file is null)
                {
                    _period = p;
                    Open(RotatedName(p * periodNs));
                }
            }
            else if (_file is null) Open(RotatedName(clockNs));
        }

        private void EndRow()
        {
            var rotation = _options.Rotation;
            _encoder.Flush();
            Rows++;
            if (_pending.Length >= BatchBytes) WritePending(flushToDevice: false);
            if (rotation?.MaxBytes is { } max && _fileBytes + _pending.Length >= max) Close();
        }

        public override void WritePending(bool flushToDevice)
        {
            if (_file is null) return;
            if (_pending.Length > 0)
            {
                // One write of whole rows: the file never ends inside a row between two writes.
                _file.Write(_pending.GetBuffer(), 0, (int)_pending.Length);
                _fileBytes += _pending.Length;
                _pending.SetLength(0);
            }
            _file.Flush(flushToDevice);
        }

        public override void Close()
        {
            if (_file is null) return;
            try
            {
                WritePending(flushToDevice: _options.FlushToDevice);
            }
            finally
            {
                // The handle goes even when the last write failed (the error reaches RecordLog.Failure).
                _file.Dispose();
                _file = null;
            }
        }

        private void Open(string name)
        {
            // Unbuffered: bytes go to the OS only in WritePending's whole-row writes.
            _file = new FileStream(Path.Combine(_outDir, name), FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
            _fileBytes = 0;
            Files.Add(name);
            _encoder.WriteHeader();
            _encoder.Flush();
            WritePending(flushToDevice: false);
        }

        private string RotatedName(long startNs)
        {
            _sequence++;
            var start = DateTime.UnixEpoch.AddTicks(Math.Max(0, startNs) / 100);
            return string.Create(CultureInfo.InvariantCulture, $"{_schema.Name}_{_sequence:D5}_{start:yyyyMMdd'T'HHmmss'Z'}{_options.Format.Extension()}");
        }

        /// <summary>The highest sequence number of this table's rotated files already in the folder (0 when none), so a new run's files sort after them.</summary>
        private int LastSequenceInFolder()
        {
            int last = 0;
            string ext = _options.Format.Extension();
            foreach (var path in Directory.EnumerateFiles(_outDir, _schema.Name + "_*" + ext))
            {
                string name = Path.GetFileName(path);
                var rest = name.AsSpan(_schema.Name.Length + 1);
                int underscore = rest.IndexOf('_');
                if (underscore > 0 && int.TryParse(rest[..underscore], NumberStyles.None, CultureInfo.InvariantCulture, out int n)) last = Math.Max(last, n);
            }
            return last;
        }
    }
}
