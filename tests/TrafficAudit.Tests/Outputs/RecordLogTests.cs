using System.Globalization;
using System.Text;
using System.Text.Json;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// The appendable record logs: rows as records arrive, whole rows for a reader at any moment, rotation
/// by size and by capture time (names that sort, a header in each file, no row lost or split), the
/// writer thread drained by Dispose, and the same rows as the batch writer.
/// </summary>
[TestClass]
public sealed class RecordLogTests
{
    private static readonly Lazy<AuditResult> Site = new(() => Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap")));

    private static AuditResult Audit(string path)
    {
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        return engine.Complete(source.Interfaces, source.Errors);
    }

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void Feed(IAuditRecordSink sink, AuditResult r)
    {
        foreach (var f in r.Flows) sink.OnFlow(f);
        foreach (var s in r.Streams) sink.OnStream(s);
        foreach (var c in r.Calls) sink.OnCall(c);
    }

    /// <summary>Records as a sink sees them, with the thread it saw them on.</summary>
    private sealed class OrderSink(int throwAt = -1) : IAuditRecordSink
    {
        public readonly List<object> Seen = [];
        public readonly HashSet<int> Threads = [];

        private void See(object r)
        {
            if (Seen.Count == throwAt) throw new InvalidOperationException("a bug in a sink");
            Seen.Add(r);
            Threads.Add(Environment.CurrentManagedThreadId);
        }

        public void OnFlow(FlowRecord flow) => See(flow);
        public void OnStream(RtpStreamRecord stream) => See(stream);
        public void OnCall(CallRecord call) => See(call);
        public void OnTransaction(TrafficAudit.Analyzers.Sip.SipTransactionStat transaction) => See(transaction);
    }

    [TestMethod]
    public void Then_TheSinkGetsEveryRecordInOrder_OnTheWriterThread_AfterSync()
    {
        var r = Site.Value;
        var sink = new OrderSink();
        using var log = new RecordLog(TempDir());
        log.Then(sink);
        var handed = new List<object>();
        foreach (var f in r.Flows) { log.OnFlow(f); handed.Add(f); }
        foreach (var t in r.Voip.Transactions.Take(5)) { log.OnTransaction(t); handed.Add(t); }
        foreach (var s in r.Streams) { log.OnStream(s); handed.Add(s); }
        foreach (var c in r.Calls) { log.OnCall(c); handed.Add(c); }
        log.Sync();
        Assert.IsGreaterThan(10, handed.Count);
        CollectionAssert.AreEqual(handed, sink.Seen, "every record, transactions included, in the order handed over");
        CollectionAssert.DoesNotContain(sink.Threads.ToList(), Environment.CurrentManagedThreadId, "the caller only queues");
        Assert.IsNull(log.ThenFailure);
        Assert.ThrowsExactly<InvalidOperationException>(() => log.Then(new OrderSink()), "too late: records were queued");
    }

    [TestMethod]
    public void CallerWriter_TheCallersThreadWritesEachRowAndFollowsTheSink_AsTheRecordComes()
    {
        var r = Site.Value;
        string dir = TempDir();
        var sink = new OrderSink();
        var log = new RecordLog(dir, new RecordLogOptions { Writer = RecordWriter.Caller });
        log.Then(sink);
        var handed = new List<object>();
        foreach (var f in r.Flows)
        {
            log.OnFlow(f);
            handed.Add(f);
            // No queue: the sink has the record before OnFlow returns.
            Assert.AreSame(f, sink.Seen[^1]);
        }
        foreach (var t in r.Voip.Transactions.Take(5)) { log.OnTransaction(t); handed.Add(t); }
        foreach (var s in r.Streams) { log.OnStream(s); handed.Add(s); }
        log.Sync();
        CollectionAssert.AreEqual(handed, sink.Seen);
        CollectionAssert.AreEqual(new[] { Environment.CurrentManagedThreadId }, sink.Threads.ToList(), "one thread: the caller's");
        Assert.AreEqual(r.Flows.Count, log.RowsWritten["flows"]);
        log.Flush();
        Assert.AreEqual(r.Flows.Count + 1, File.ReadAllLines(Path.Combine(dir, "flows.csv")).Length, "Flush wrote every row");
        log.Dispose();
        log.Dispose();
        Assert.IsNull(log.Failure);
        Assert.AreEqual(0, log.QueueFullWaits);
        Assert.ThrowsExactly<ObjectDisposedException>(() => log.OnFlow(r.Flows[0]));
        Assert.ThrowsExactly<ObjectDisposedException>(() => log.Flush());
    }

    [TestMethod]
    [DataRow(OutputFormat.Csv, null)]
    [DataRow(OutputFormat.JsonLines, null)]
    [DataRow(OutputFormat.Csv, "seed")]
    public void EveryWriter_WritesTheWriterThreadsBytes(OutputFormat format, string? seed)
    {
        var r = Site.Value;
        var dirs = new Dictionary<string, string>();
        foreach (var (name, writer, helped) in new[] { ("thread", RecordWriter.Thread, false), ("caller", RecordWriter.Caller, false), ("shared", RecordWriter.Shared, false), ("helped", RecordWriter.Shared, true) })
        {
            string dir = dirs[name] = TempDir();
            var options = new RecordLogOptions
            {
                Format = format, Series = true, Writer = writer,
                Anonymizer = seed is null ? null : Anonymizer.Create(seed),
                // Small files: rotation by size runs on whichever thread writes.
                Rotation = RecordRotation.AtSize(1_000),
            };
            using var l = new RecordLog(dir, options);
            using var helper = helped ? new Helper(l) : null;
            // Several rounds, so that a helper writes some of them and the caller (past the backlog) some.
            for (int round = 0; round < 3; round++) Feed(l, r);
        }
        var names = Directory.GetFiles(dirs["thread"]).Select(Path.GetFileName).Order().ToArray();
        Assert.IsGreaterThan(4, names.Length, "rotated into several files");
        foreach (var (name, dir) in dirs)
        {
            CollectionAssert.AreEqual(names, Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray(), name);
            foreach (var file in names)
                CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dirs["thread"], file!)), File.ReadAllBytes(Path.Combine(dir, file!)), $"{name}: {file}");
        }
    }

    /// <summary>Another thread that writes a shared log's waiting records (<see cref="RecordLog.WriteSome"/>) all along, until disposed.</summary>
    private sealed class Helper : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        public long Slices;

        public Helper(RecordLog log)
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                    if (log.WriteSome()) Slices++;
                    else Thread.Yield();
            }) { IsBackground = true };
            _thread.Start();
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }

    [TestMethod]
    public void SharedWriter_TheSinkGetsEveryRecordInOrder_WhoeverWrites_AndWaitingRecordsStayBounded()
    {
        var r = Site.Value;
        string dir = TempDir();
        var sink = new OrderSink();
        var log = new RecordLog(dir, new RecordLogOptions { Writer = RecordWriter.Shared });
        log.Then(sink);
        Assert.IsFalse(log.WriteSome(), "nothing waits");
        var handed = new List<object>();
        // Alone, the caller only queues...
        foreach (var f in r.Flows.Take(10)) { log.OnFlow(f); handed.Add(f); }
        Assert.IsEmpty(sink.Seen, "queued, not written");
        // ...until more than the backlog waits: then it writes a slice itself at each record.
        int rounds = RecordLog.SharedBacklog / r.Flows.Count + 2;
        for (int i = 0; i < rounds; i++)
            foreach (var f in r.Flows) { log.OnFlow(f); handed.Add(f); }
        Assert.IsGreaterThan(0, sink.Seen.Count, "the caller wrote past the backlog");
        Assert.IsLessThanOrEqualTo(RecordLog.SharedBacklog + 1, handed.Count - sink.Seen.Count, "at most the backlog waits");
        Assert.IsGreaterThan(0, log.QueueFullWaits);
        // Another thread writes the rest, a slice at a time, while the caller goes on.
        using (var helper = new Helper(log))
        {
            foreach (var s in r.Streams) { log.OnStream(s); handed.Add(s); }
            foreach (var c in r.Calls) { log.OnCall(c); handed.Add(c); }
            for (int i = 0; i < 2000 && sink.Seen.Count < handed.Count; i++) Thread.Sleep(1);
        }
        log.Sync();
        CollectionAssert.AreEqual(handed, sink.Seen, "every record once, in the order handed over");
        Assert.IsGreaterThan(1, sink.Threads.Count, "written by the caller and by the helper");
        Assert.IsGreaterThan(0, log.SharedSlices);
        log.Flush();
        Assert.AreEqual(handed.OfType<FlowRecord>().Count() + 1, File.ReadAllLines(Path.Combine(dir, "flows.csv")).Length);
        log.Dispose();
        Assert.IsFalse(log.WriteSome(), "after Dispose: nothing, no exception");
        Assert.IsNull(log.Failure);
        using var threaded = new RecordLog(TempDir());
        threaded.OnFlow(r.Flows[0]);
        Assert.IsFalse(threaded.WriteSome(), "a log with a writer thread is never helped");
    }

    /// <summary>A sink that holds the first record it gets on <see cref="Holder"/>'s thread until released.</summary>
    private sealed class HoldingSink : IAuditRecordSink, IDisposable
    {
        public readonly List<object> Seen = [];
        public readonly ManualResetEventSlim Entered = new(), Release = new();
        public int Holder = -1;

        private void See(object r)
        {
            if (Environment.CurrentManagedThreadId == Holder && !Entered.IsSet)
            {
                Entered.Set();
                if (!Release.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("never released");
            }
            lock (Seen) Seen.Add(r);
        }

        public void OnFlow(FlowRecord flow) => See(flow);
        public void OnStream(RtpStreamRecord stream) => See(stream);
        public void OnCall(CallRecord call) => See(call);
        public void OnTransaction(TrafficAudit.Analyzers.Sip.SipTransactionStat transaction) => See(transaction);

        public void Dispose()
        {
            Release.Set();
            Entered.Dispose();
            Release.Dispose();
        }
    }

    /// <summary>
    /// A shared log whose sink holds, inside its first row, the one other thread that writes a slice
    /// (<see cref="HoldHelper"/>), with the records handed over so far.
    /// </summary>
    private sealed class HeldSharedLog : IDisposable
    {
        public readonly HoldingSink Sink = new();
        public readonly RecordLog Log = new(TempDir(), new RecordLogOptions { Writer = RecordWriter.Shared });
        public readonly List<object> Handed = [];
        private Thread? _helper;

        public HeldSharedLog() => Log.Then(Sink);

        public void Hand(int count)
        {
            var flows = Site.Value.Flows;
            for (int i = 0; i < count; i++)
            {
                var f = flows[Handed.Count % flows.Count];
                Log.OnFlow(f);
                Handed.Add(f);
            }
        }

        /// <summary>Hands <paramref name="count"/> records on another thread; false when that did not end within 30 s (the caller waited).</summary>
        public bool HandsWithoutWaiting(int count) => Task.Run(() => Hand(count)).Wait(TimeSpan.FromSeconds(30));

        /// <summary>Another thread writes a slice, and is held inside it (its first record's sink call).</summary>
        public void HoldHelper()
        {
            _helper = new Thread(() => Log.WriteSome()) { IsBackground = true };
            Sink.Holder = _helper.ManagedThreadId;
            _helper.Start();
            Assert.IsTrue(Sink.Entered.Wait(TimeSpan.FromSeconds(30)), "the helper is writing");
        }

        /// <summary>The next record waits for the held helper; once the helper is let go, both finish.</summary>
        public void AssertNextRecordWaitsForTheHelper(string what)
        {
            var past = Task.Run(() => Hand(1));
            Assert.IsFalse(past.Wait(TimeSpan.FromMilliseconds(300)), what);
            Sink.Release.Set();
            Assert.IsTrue(past.Wait(TimeSpan.FromSeconds(30)));
            Assert.IsTrue(_helper!.Join(TimeSpan.FromSeconds(30)));
        }

        public void AssertEveryRecordOnceInOrder()
        {
            Log.Sync();
            CollectionAssert.AreEqual(Handed, Sink.Seen, "every record once, in the order handed over");
        }

        public void Dispose()
        {
            Log.Dispose();
            Sink.Dispose();
        }
    }

    [TestMethod]
    public void SharedWriter_PastTheBacklog_TheCallerGoesOnWhileAnotherThreadWrites_AndWaitsForItPastTheLimit()
    {
        using var held = new HeldSharedLog();
        held.Hand(1);
        held.HoldHelper();
        // Up to the limit the caller neither writes nor waits: the helper's slice is being written.
        held.Hand(RecordLog.SharedLimit);
        Assert.IsEmpty(held.Sink.Seen, "the caller wrote nothing while the helper writes");
        Assert.AreEqual(0, held.Log.QueueFullWaits);
        // Past it the caller waits for the helper, then writes a slice itself.
        held.AssertNextRecordWaitsForTheHelper("past the limit the caller waits for the writing thread");
        Assert.AreEqual(1, held.Log.QueueFullWaits);
        Assert.AreEqual(2 * RecordLog.SharedSlice, held.Sink.Seen.Count, "the helper's slice, then the caller's");
        held.AssertEveryRecordOnceInOrder();
    }

    [TestMethod]
    public void SharedWriter_ABurst_WaitsBeyondTheLimitByItsSize_WithoutTheCallerWaiting_ThenTheLimitHoldsAgain()
    {
        // Larger than the backlog: a burst that fits in it needs no allowance, and has none once handed over.
        const int burst = 3 * RecordLog.SharedBacklog;
        using (var held = new HeldSharedLog())
        {
            held.Hand(1);
            held.HoldHelper();
            // The held flows leave at once: up to the limit plus the burst, the caller goes on.
            held.Log.ExpectBurst(burst);
            Assert.IsTrue(held.HandsWithoutWaiting(RecordLog.SharedLimit + burst), "within the limit and the burst the caller does not wait");
            Assert.IsEmpty(held.Sink.Seen, "and writes nothing while the helper writes");
            Assert.AreEqual(0, held.Log.QueueFullWaits);
            // Past both it waits for the helper, as past the limit.
            held.AssertNextRecordWaitsForTheHelper("past the limit and the burst the caller waits");
            Assert.AreEqual(1, held.Log.QueueFullWaits);
            held.AssertEveryRecordOnceInOrder();
        }
        // Written down to the backlog, the burst is over: the limit alone holds again.
        using (var held = new HeldSharedLog())
        {
            held.Log.ExpectBurst(burst);
            held.Hand(burst + 100); // nobody else writes: past the backlog the caller does
            held.Log.Sync();
            held.Hand(1);
            held.HoldHelper();
            Assert.IsTrue(held.HandsWithoutWaiting(RecordLog.SharedLimit));
            held.AssertNextRecordWaitsForTheHelper("the burst allowance is spent: past the limit the caller waits");
            held.AssertEveryRecordOnceInOrder();
        }
    }

    [TestMethod]
    public void SharedWriter_AFreeThread_IsWokenForWaitingRows_AndTheCallerLeavesThemToItUpToTheLimit()
    {
        var flows = Site.Value.Flows;
        var sink = new OrderSink();
        using var log = new RecordLog(TempDir(), new RecordLogOptions { Writer = RecordWriter.Shared });
        log.Then(sink);
        var waitingAtCall = new List<int>();
        bool free = true;
        int handedCount = 0;
        log.RecordsWaiting = () =>
        {
            waitingAtCall.Add(handedCount - sink.Seen.Count);
            return free;
        };
        var handed = new List<object>();
        void Hand(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var f = flows[handed.Count % flows.Count];
                handedCount++;
                log.OnFlow(f);
                handed.Add(f);
            }
        }
        Hand(RecordLog.SharedSlice - 1);
        Assert.IsEmpty(waitingAtCall, "less than a slice waits: nobody is woken");
        Hand(1);
        CollectionAssert.AreEqual(new[] { RecordLog.SharedSlice }, waitingAtCall, "a slice waits: the free thread is woken");
        // A free thread takes them: the caller writes nothing up to the limit...
        Hand(RecordLog.SharedLimit - RecordLog.SharedSlice);
        Assert.IsEmpty(sink.Seen, "left to the free thread");
        Assert.AreEqual(0, log.QueueFullWaits);
        // ...and past it writes a slice itself at each record, as when nobody helps.
        Hand(1);
        Assert.HasCount(RecordLog.SharedSlice, sink.Seen);
        Assert.AreEqual(1, log.QueueFullWaits);
        // Nobody free: past the backlog the caller writes.
        free = false;
        while (handed.Count - sink.Seen.Count > RecordLog.SharedBacklog) Hand(1);
        Hand(1);
        Assert.IsLessThanOrEqualTo(RecordLog.SharedBacklog + 1, handed.Count - sink.Seen.Count);
        log.Sync();
        CollectionAssert.AreEqual(handed, sink.Seen, "every record once, in the order handed over");
    }

    [TestMethod]
    public void Then_ASinkThatThrows_IsStopped_TheRowsAreStillWritten()
    {
        var flows = Site.Value.Flows;
        string dir = TempDir();
        var sink = new OrderSink(throwAt: 3);
        using (var log = new RecordLog(dir))
        {
            log.Then(sink);
            foreach (var f in flows) log.OnFlow(f);
            log.Sync();
            Assert.IsInstanceOfType<InvalidOperationException>(log.ThenFailure);
        }
        Assert.HasCount(3, sink.Seen, "no record after the failure");
        Assert.AreEqual(flows.Count + 1, File.ReadAllLines(Path.Combine(dir, "flows.csv")).Length, "every row and the header");
    }

    [TestMethod]
    [DataRow(OutputFormat.Csv)]
    [DataRow(OutputFormat.JsonLines)]
    public void Log_WithoutRotation_WritesTheBatchWritersBytes(OutputFormat format)
    {
        var r = Site.Value;
        string batch = TempDir(), log = TempDir();
        AuditCsvWriter.WriteRecords(batch, r, anonymizer: null, format: format);
        AuditCsvWriter.WriteSeries(batch, r, format);
        using (var l = new RecordLog(log, new RecordLogOptions { Format = format, Series = true }))
        {
            Feed(l, r);
            l.Flush();
            Assert.AreEqual(r.Flows.Count, l.RowsWritten["flows"]);
        }
        foreach (var table in new[] { "flows", "rtp_streams", "calls", "rtp_series" })
        {
            string name = OutputFormats.FileName(table, format);
            Assert.AreEqual(File.ReadAllText(Path.Combine(batch, name)), File.ReadAllText(Path.Combine(log, name)), name);
        }
    }

    [TestMethod]
    public void Log_Anonymized_WritesTheBatchWritersPseudonyms()
    {
        var r = Site.Value;
        string batch = TempDir(), log = TempDir();
        AuditCsvWriter.WriteRecords(batch, r, Anonymizer.Create("seed"));
        using (var l = new RecordLog(log, new RecordLogOptions { Anonymizer = Anonymizer.Create("seed") }))
            Feed(l, r);
        Assert.AreEqual(File.ReadAllText(Path.Combine(batch, "flows.csv")), File.ReadAllText(Path.Combine(log, "flows.csv")));
        Assert.DoesNotContain("10.0.0.10", File.ReadAllText(Path.Combine(log, "flows.csv")));
    }

    [TestMethod]
    [DataRow(OutputFormat.Csv)]
    [DataRow(OutputFormat.JsonLines)]
    public void Log_ReadMidRun_HoldsOnlyWholeRows(OutputFormat format)
    {
        var flows = Site.Value.Flows;
        string dir = TempDir();
        string path = Path.Combine(dir, OutputFormats.FileName("flows", format));
        using var log = new RecordLog(dir, new RecordLogOptions { Format = format });
        int columns = RecordSchemas.Flows.Columns.Count;
        long handed = 0;
        int reads = 0, rowsSeen = 0;
        var partialReads = new List<string>();
        using var stop = new CancellationTokenSource();
        // A reader that opens the file again and again while rows are appended.
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                string text = ReadShared(path);
                reads++;
                int end = text.LastIndexOf('\n') + 1;
                if (end < text.Length && partialReads.Count < 20) partialReads.Add(text);
                rowsSeen = Math.Max(rowsSeen, AssertWholeRows(text[..end], format, columns, path));
            }
        });
        for (int round = 0; round < 300; round++)
        {
            foreach (var f in flows) log.OnFlow(f);
            handed += flows.Count;
            if (round % 50 == 49)
            {
                // After Flush: everything handed over is in the file, and the file ends with a whole row.
                log.Flush();
                string text = ReadShared(path);
                Assert.EndsWith("\n", text);
                Assert.AreEqual(handed, AssertWholeRows(text, format, columns, path));
            }
        }
        log.Flush();
        stop.Cancel();
        reader.GetAwaiter().GetResult();
        Assert.IsGreaterThan(1, reads, "the reader read the file while it grew");
        Assert.IsGreaterThan(0, rowsSeen);
        // A read that overlapped a write in progress may end inside that write (the kernel copies a
        // write page by page); it is then a prefix of the file: the row completes, nothing is torn.
        string final = ReadShared(path);
        foreach (var partial in partialReads) StringAssert.StartsWith(final, partial, StringComparison.Ordinal);
        Console.WriteLine($"{reads} reads, {partialReads.Count} ended inside a write in progress");
    }

    [TestMethod]
    [DataRow(OutputFormat.Csv)]
    [DataRow(OutputFormat.JsonLines)]
    public void Rotation_BySize_ClosesFilesAtTheSizeWithAHeaderEachAndLosesNoRow(OutputFormat format)
    {
        var r = Site.Value;
        string single = TempDir(), rotated = TempDir();
        const long size = 8_000;
        using (var l = new RecordLog(single, new RecordLogOptions { Format = format }))
            for (int i = 0; i < 20; i++) Feed(l, r);
        IReadOnlyList<string> opened;
        using (var l = new RecordLog(rotated, new RecordLogOptions { Format = format, Rotation = RecordRotation.AtSize(size) }))
        {
            for (int i = 0; i < 20; i++) Feed(l, r);
            l.Flush();
            opened = l.FilesOpened;
        }
        foreach (var table in new[] { "flows", "rtp_streams", "calls" })
        {
            var files = Directory.GetFiles(rotated, table + "_*" + format.Extension()).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.IsGreaterThan(2, files.Count, table);
            CollectionAssert.AreEqual(opened.Where(n => n.StartsWith(table + "_", StringComparison.Ordinal)).ToList(), files, "names sort in the order the files were opened");
            string whole = File.ReadAllText(Path.Combine(single, OutputFormats.FileName(table, format)));
            string header = format == OutputFormat.Csv ? whole[..(whole.IndexOf('\n') + 1)] : "";
            var joined = new StringBuilder(header);
            for (int i = 0; i < files.Count; i++)
            {
                string text = File.ReadAllText(Path.Combine(rotated, files[i]!));
                StringAssert.StartsWith(text, header, files[i]);
                Assert.EndsWith("\n", text, $"{files[i]} ends with a whole row");
                long bytes = new FileInfo(Path.Combine(rotated, files[i]!)).Length;
                if (i < files.Count - 1) Assert.IsGreaterThanOrEqualTo(size, bytes, $"{files[i]} was closed at the size");
                // It was closed by the row that reached the size: without that row it was below it.
                int lastRow = text.TrimEnd('\n').LastIndexOf('\n') + 1;
                Assert.IsLessThan(size, Encoding.UTF8.GetByteCount(text[..lastRow]), $"{files[i]} went on after the size");
                joined.Append(text[header.Length..]);
            }
            Assert.AreEqual(whole, joined.ToString(), $"{table}: the rotated files hold every row once, in order");
        }
    }

    [TestMethod]
    public void Rotation_ByCaptureTime_GivesAlignedPeriodsThatSortAndHoldTheirRows()
    {
        var r = Site.Value;
        string dir = TempDir();
        var period = TimeSpan.FromSeconds(30);
        var flows = r.Flows.OrderBy(f => f.LastSeenNs).ToList();
        using (var l = new RecordLog(dir, new RecordLogOptions { Rotation = RecordRotation.Every(period) }))
            foreach (var f in flows) l.OnFlow(f);
        var files = Directory.GetFiles(dir, "flows_*.csv").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(2, files.Count, string.Join(", ", files));
        var starts = new List<DateTime>();
        int rows = 0;
        for (int i = 0; i < files.Count; i++)
        {
            string name = files[i]!;
            Assert.AreEqual($"flows_{i + 1:D5}_", name[..12], name);
            var start = DateTime.ParseExact(name[12..28], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            Assert.AreEqual(0, start.Ticks % period.Ticks, $"{name} starts at a multiple of the period");
            starts.Add(start);
            var table = EndToEnd.Csv.Read(Path.Combine(dir, name));
            CollectionAssert.AreEqual(RecordSchemas.Flows.ColumnNames.ToArray(), EndToEnd.Csv.Header(Path.Combine(dir, name)).ToArray(), $"{name} has the header");
            Assert.IsNotEmpty(table, name);
            foreach (var row in table)
            {
                var lastSeen = DateTime.Parse(row["last_seen"], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
                Assert.IsTrue(lastSeen >= start && lastSeen < start + period, $"{name}: flow {row["flow_id"]} ended at {row["last_seen"]}");
            }
            rows += table.Count;
        }
        CollectionAssert.AreEqual(starts.Order().ToList(), starts, "names sort by time");
        Assert.AreEqual(flows.Count, rows);
    }

    [TestMethod]
    public void Rotation_NewRun_NumbersAfterTheFilesAlreadyThere()
    {
        var r = Site.Value;
        string dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "flows_00007_20260302T090000Z.csv"), "older run\r\n");
        using (var l = new RecordLog(dir, new RecordLogOptions { Rotation = RecordRotation.AtSize(1_000_000) }))
            foreach (var f in r.Flows) l.OnFlow(f);
        var files = Directory.GetFiles(dir, "flows_*.csv").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        // A size-rotated file is named by the capture time of its first record (flow 1 ended at 09:02:08.2).
        Assert.AreEqual("2026-03-02T09:02:08.200619Z", NsTime.Iso(r.Flows[0].LastSeenNs));
        CollectionAssert.AreEqual(new[] { "flows_00007_20260302T090000Z.csv", "flows_00008_20260302T090208Z.csv" }, files);
        Assert.AreEqual("older run\r\n", File.ReadAllText(Path.Combine(dir, files[0]!)), "an older file is never touched");
    }

    [TestMethod]
    public void Dispose_RightAfterManyRecords_DrainsTheQueueAndASmallQueueMakesCallersWait()
    {
        var flows = Site.Value.Flows;
        string dir = TempDir();
        const int rounds = 1500;
        RecordLog log;
        using (log = new RecordLog(dir, new RecordLogOptions { QueueCapacity = 8 }))
            for (int i = 0; i < rounds; i++)
                foreach (var f in flows) log.OnFlow(f);
        Assert.AreEqual((long)rounds * flows.Count, log.RowsWritten["flows"]);
        Assert.HasCount(rounds * flows.Count, EndToEnd.Csv.Read(Path.Combine(dir, "flows.csv")));
        Assert.IsGreaterThan(0, log.QueueFullWaits, "8 records of queue fill up");
        Assert.IsNull(log.Failure);
        Assert.ThrowsExactly<ObjectDisposedException>(() => log.OnFlow(flows[0]));
    }

    [TestMethod]
    [DataRow(RecordWriter.Thread)]
    [DataRow(RecordWriter.Caller)]
    [DataRow(RecordWriter.Shared)]
    public void IoError_IsKeptAndCountsTheLostRecords_TheSinkStillJudges(RecordWriter writer)
    {
        var flows = Site.Value.Flows;
        string dir = TempDir();
        var log = new RecordLog(dir, new RecordLogOptions { Rotation = RecordRotation.AtSize(2_000), Writer = writer });
        var judge = new OrderSink();
        log.Then(judge);
        foreach (var f in flows.Take(5)) log.OnFlow(f);
        log.Flush();
        Directory.Delete(dir, recursive: true);   // the next file cannot be created
        foreach (var f in flows) log.OnFlow(f);   // no exception reaches the caller, whoever writes
        while (log.WriteSome()) { }                // a helper's slices (shared) meet the error too: kept, not thrown
        log.Flush();
        log.Dispose();
        Assert.IsInstanceOfType<IOException>(log.Failure);
        Assert.IsGreaterThan(0, log.RecordsLost);
        // The rows are lost, the verdict is not: the sink of Then still judged every record.
        Assert.HasCount(5 + flows.Count, judge.Seen);
    }

    [TestMethod]
    [DataRow("30s", 30L, null)]
    [DataRow("15m", 900L, null)]
    [DataRow("1h", 3600L, null)]
    [DataRow("1H", 3600L, null)]
    [DataRow("2d", 172800L, null)]
    [DataRow("100MB", null, 100_000_000L)]
    [DataRow("500kb", null, 500_000L)]
    [DataRow("2GiB", null, 2147483648L)]
    public void Rotation_Parse_ReadsPeriodsAndSizes(string text, long? seconds, long? bytes)
    {
        var r = RecordRotation.Parse(text, out string error);
        Assert.IsNotNull(r, error);
        Assert.AreEqual(seconds, r.Period is { } p ? (long)p.TotalSeconds : null);
        Assert.AreEqual(bytes, r.MaxBytes);
    }

    [TestMethod]
    [DataRow("0")]
    [DataRow("0h")]
    [DataRow("5 parsecs")]
    [DataRow("-1h")]
    [DataRow("1.5h")]
    [DataRow("10")]
    [DataRow("400d")]
    [DataRow("100B")]
    [DataRow("99999999999999999999MB")]
    public void Rotation_Parse_RefusesWithOneSentence(string text)
    {
        Assert.IsNull(RecordRotation.Parse(text, out string error));
        StringAssert.StartsWith(error, $"--rotate '{text}' ");
        Assert.DoesNotContain("\n", error);
    }

    private static string ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(s, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Parses every line of <paramref name="text"/> as a whole row; returns the rows (header excluded).</summary>
    private static int AssertWholeRows(string text, OutputFormat format, int columns, string path)
    {
        if (text.Length == 0) return 0;
        var lines = text.Split('\n')[..^1];
        if (format == OutputFormat.JsonLines)
        {
            foreach (var line in lines)
            {
                using var doc = JsonDocument.Parse(line);
                Assert.AreEqual(columns, doc.RootElement.EnumerateObject().Count(), $"{path}: {line}");
            }
            return lines.Length;
        }
        Assert.AreEqual(string.Join(',', RecordSchemas.Flows.ColumnNames) + "\r", lines[0]);
        string tmp = Path.GetTempFileName();
        File.WriteAllText(tmp, text);
        var rows = EndToEnd.Csv.Read(tmp);
        File.Delete(tmp);
        Assert.HasCount(lines.Length - 1, rows, "no row has a line break inside");
        foreach (var row in rows)
        {
            Assert.HasCount(columns, row);
            Assert.IsTrue(int.TryParse(row["flow_id"], out _) && row["duration_s"].Length > 0, $"{path}: a whole row");
        }
        return rows.Count;
    }
}
