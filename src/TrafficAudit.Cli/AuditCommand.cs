using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TrafficAudit.Capture;
using TrafficAudit.Decode;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Cli;

/// <summary>`trafficaudit audit FILE... --out DIR`: the offline audit.</summary>
public static class AuditCommand
{
    public static int Run(Arguments a, string[] args, TextWriter stdout, TextWriter stderr, Stream? stdin = null)
    {
        // 1. Everything that can be wrong with the command line or configuration fails here,
        //    before the first packet is read (exit code 2).
        if (a.Positional.Count == 0) throw new UsageException("audit needs at least one capture file, folder or pattern ('-' for standard input)");
        var setup = AuditSetup.From(a, ["audit", .. args]);
        var window = ReadWindow(a);
        var readAheadAsked = ReadAheadOption(a);
        PhaseClock.Set(PhaseClock.Mark.Setup);
        IReadOnlyList<string> files;
        try
        {
            files = CaptureInputs.Expand(a.Positional, note => stderr.WriteLine($"trafficaudit: note: {note}"));
        }
        catch (CaptureInputException e)
        {
            if (e.Usage) throw new UsageException(e.Message);
            stderr.WriteLine($"trafficaudit: {e.Message}");
            return ExitCodes.CaptureUnreadable;
        }
        if (files.Contains(CaptureFile.StandardInputPath) && stdin is null && StandardInput.ClosedReason() is { } closed)
        {
            stderr.WriteLine($"trafficaudit: '-' reads standard input, but {closed}: pipe a capture in (tcpdump -w - | trafficaudit audit -) or name a file");
            return ExitCodes.CaptureUnreadable;
        }

        // Built on first use: a clean run logs nothing and need not pay for the logging set-up.
        ILoggerFactory? loggerFactory = null;
        ILogger Log() => (loggerFactory ??= LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Information)
            .AddProvider(new TextWriterLoggerProvider(stderr, LogLevel.Warning)))).CreateLogger("trafficaudit");

        // 2. Check every file first: one that is not a capture stops the run before anything is read (exit 3).
        //    The files of one dumpcap ring are read one after the other (one open file at a time); the
        //    rest are merged by timestamp.
        var sources = new List<IFrameSource>();
        // Records leave the engine as they end (record logs, totals, incremental policy), unless --evidence needs them all at the end.
        if (!StreamingAudit.TryOpen(setup, stderr, out var opened)) return ExitCodes.Usage;
        using var streaming = opened;
        using var engine = streaming?.Engine ?? setup.CreateEngine();
        PhaseClock.Set(PhaseClock.Mark.Engine);
        string opening = "";
        // One file of each run is open at a time; their read buffers share a fixed budget.
        var runs = CaptureInputs.SequentialRuns(files);
        int bufferSize = MergedFrameSource.BufferSizeFor(runs.Count);
        var readAhead = ReadAheadFor(readAheadAsked, setup.Threads, runs.Count, Environment.ProcessorCount);
        IFrameSource Open(string path, int index) => path == CaptureFile.StandardInputPath && stdin is not null
            ? CaptureFile.Open(stdin, "(standard input)", index, engine.Anomalies, leaveOpen: true, bufferSize, readAhead)
            : CaptureFile.Open(path, index, engine.Anomalies, bufferSize, readAhead);
        try
        {
            foreach (var run in runs)
            {
                opening = files[run[0]];
                var first = Open(opening, run[0]);
                if (run.Count == 1)
                {
                    sources.Add(first);
                    continue;
                }
                sources.Add(new SequentialFrameSource(run.Select(i => (files[i], i)).ToList(), Open, first));
                foreach (int i in run.Skip(1))
                {
                    opening = files[i];
                    if (CaptureInputs.NotACapture(files[i]) is { } why) throw new CaptureFormatException(files[i], why);
                }
            }
        }
        catch (CaptureFormatException e)
        {
            streaming?.Abandon();
            foreach (var s in sources) s.Dispose();
            stderr.WriteLine($"trafficaudit: {e.Message}");
            return ExitCodes.CaptureUnreadable;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            streaming?.Abandon();
            foreach (var s in sources) s.Dispose();
            stderr.WriteLine($"trafficaudit: cannot read {opening}: {IoErrors.Describe(e)}");
            return ExitCodes.CaptureUnreadable;
        }

        // 3. The hot loop.
        PhaseClock.Set(PhaseClock.Mark.Opened);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        long loopStartedAt = Stopwatch.GetTimestamp();
        var loopStartedAtUtc = DateTime.UtcNow;
        IFrameSource merged = sources.Count == 1 ? sources[0] : new MergedFrameSource(sources);
        var windowed = window is { } w ? new WindowedFrameSource(merged, w.From, w.To, w.Count) : null;
        using IFrameSource source = windowed ?? merged;
        var progress = new ProgressReporter(stderr, files);
        // Between its batches the VoIP stage's thread writes the record files' waiting rows (a shared record log), then
        // reads the capture's next chunks (read ahead when idle), so that two threads share two cores. While that stage
        // is behind, the engine's thread writes the rows instead.
        var sharedLog = streaming?.Log is { Writer: RecordWriter.Shared } log ? log : null;
        var idleReader = readAhead == ReadAheadMode.WhenIdle ? source as IIdleReader : null;
        engine.VoipIdleWork = IdleWork(idleReader, sharedLog);
        // A chunk given back is one to read ahead: the stage's thread, when asleep, is woken for it, as for rows. Otherwise
        // it slept on until its next batch, and the engine's thread read the chunks it had no time to wait for (most of
        // the busy site's in the hold of node detection).
        if (idleReader is not null && engine.VoipIdleWork is not null) idleReader.ChunkFreed = engine.WakeVoipIdle;
        engine.VoipBehindWork = sharedLog is null ? null : sharedLog.WriteSome;
        if (sharedLog is not null)
        {
            sharedLog.RecordsWaiting = engine.WakeVoipIdle;
            engine.HeldFlowsLeaving = sharedLog.ExpectBurst;
        }
        if (source is PcapFrameSource pcap)
        {
            // One classic pcap file, the common case: the same loop through the sealed type, so its three calls
            // per packet are direct (and may be inlined) rather than interface calls.
            while (pcap.MoveNext())
            {
                engine.Process(in pcap.Header, pcap.Data);
                if ((engine.Statistics.Frames & 0x3FFFF) == 0) progress.Report(engine.Statistics.Frames, pcap.BytesRead);
            }
        }
        else if (source is PcapNgFrameSource pcapng)
        {
            // One pcapng file (Wireshark's and dumpcap's format): the same, through its sealed type.
            while (pcapng.MoveNext())
            {
                engine.Process(in pcapng.Header, pcapng.Data);
                if ((engine.Statistics.Frames & 0x3FFFF) == 0) progress.Report(engine.Statistics.Frames, pcapng.BytesRead);
            }
        }
        else
        {
            while (source.MoveNext())
            {
                engine.Process(source.Header, source.Data);
                if ((engine.Statistics.Frames & 0x3FFFF) == 0) progress.Report(engine.Statistics.Frames, source.BytesRead);
            }
        }
        progress.Done(engine.Statistics.Frames);
        engine.VoipIdleWork = null;
        engine.VoipBehindWork = null;
        if (idleReader is not null) idleReader.ChunkFreed = null;
        clock.Stop();
        PhaseClock.Set(PhaseClock.Mark.Loop);
        var loopEndedAtUtc = DateTime.UtcNow;
        // The VoIP stage's sleep over the loop (it sleeps on while the outputs are written).
        var voipSleep = engine.VoipSleep;
        long allocatedLoop = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        // Every thread is still there (the VoIP stage's ends with the input): what each used over the loop.
        string threadCpu = a.Flag("--stats") ? ThreadCpu.Summary() : "";

        // 4. Nothing decodable: one sentence and exit 3, no empty outputs.
        var st = engine.Statistics;
        if (st.Frames - st.MalformedFrames <= 0)
        {
            var why = source.Errors.Count > 0 ? $" ({source.Errors[0].Message} at byte offset {source.Errors[0].ByteOffset})" : "";
            streaming?.Abandon();
            stderr.WriteLine($"trafficaudit: nothing to audit: {string.Join(", ", files)} hold{(files.Count == 1 ? "s" : "")} no packet that could be decoded{why}");
            loggerFactory?.Dispose();
            return ExitCodes.CaptureUnreadable;
        }
        // What was read is always audited and written, even when a file ended early.
        foreach (var err in source.Errors)
            Log().LogWarning("{File}: reading stopped at byte offset {Offset}: {Message}; the frames before it were audited", err.File, err.ByteOffset, err.Message);
        loggerFactory?.Dispose();
        if (!StreamingAudit.TryComplete(streaming, engine, source.Interfaces, source.Errors, setup.OutDir, stderr, out var result, out var streamedVerdict))
            return ExitCodes.Usage;
        PhaseClock.Set(PhaseClock.Mark.Completed);
        // 5. Policy and outputs: once, on the finished result (mechanism above, policy here).
        // --evidence reads the files a second time; standard input is gone by then.
        bool stdinUsed = files.Contains(CaptureFile.StandardInputPath);
        if (setup.Evidence && stdinUsed)
            stderr.WriteLine("trafficaudit: warning: --evidence reads the captures a second time and standard input cannot be read twice: no evidence written (save the capture to a file and audit that)");
        var verdict = setup.WriteOutputs(result, files, final: true, stdout, stderr, inputNote: windowed is null ? null : WindowNote(windowed), evidenceFiles: stdinUsed ? null : files,
            totals: streaming?.Totals, verdict: streamedVerdict);
        if (verdict is null) return ExitCodes.Usage;
        PhaseClock.Set(PhaseClock.Mark.Outputs);
        if (a.Flag("--stats"))
        {
            // Measurement for tools/bench.sh: the read/decode/flow loop alone, and the whole process.
            long frames = Math.Max(1, engine.Statistics.Frames);
            using var self = Process.GetCurrentProcess();
            string phases = PhaseClock.Phases(self.StartTime.ToUniversalTime());
            stderr.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"stats: frames={engine.Statistics.Frames} threads={engine.Threads} before_loop_s={(loopStartedAtUtc - self.StartTime.ToUniversalTime()).TotalSeconds:F3} after_loop_s={(DateTime.UtcNow - loopEndedAtUtc).TotalSeconds:F3} loop_s={clock.Elapsed.TotalSeconds:F3} loop_mpps={frames / clock.Elapsed.TotalSeconds / 1e6:F2} " +
                $"loop_alloc_bytes={allocatedLoop} alloc_per_packet={(double)allocatedLoop / frames:F3} gc0={GC.CollectionCount(0)} gc1={GC.CollectionCount(1)} gc2={GC.CollectionCount(2)} gc_pause_s={GC.GetTotalPauseDuration().TotalSeconds:F3} " +
                $"peak_working_set_mb={self.PeakWorkingSet64 / 1048576.0:F1} flows={streaming?.Totals.Flows ?? result.Flows.Count} voip_waits={engine.VoipStageWaits.Waits} voip_wait_s={engine.VoipStageWaits.Seconds:F3} read_ahead={(sources.Any(s => s is FrameSourceBase { ReadsAheadWhenIdle: true }) ? "idle" : sources.Any(s => s is FrameSourceBase { ReadsAhead: true }) ? "yes" : "no")} idle_reads={sources.Sum(s => (s as FrameSourceBase)?.ChunksReadAhead ?? 0)} read_waits={sources.Sum(s => (s as FrameSourceBase)?.ReadWaits.Waits ?? 0)} read_wait_s={sources.Sum(s => (s as FrameSourceBase)?.ReadWaits.Seconds ?? 0):F3} record_writer={(streaming is null ? "none" : streaming.Log.Writer switch { RecordWriter.Thread => "thread", RecordWriter.Caller => "inline", _ => "shared" })} shared_slices={streaming?.Log.SharedSlices ?? 0} behind_work={engine.VoipBehindWorkDone} idle_wakes={engine.VoipIdleWakes} queue_full_waits={streaming?.Log.QueueFullWaits ?? 0} " +
                $"hold_s={HoldSeconds(engine, loopStartedAt, clock):F3} voip_sleep_s={voipSleep.Seconds:F3} voip_sleep_hold_s={voipSleep.BeforeSettled:F3} verdicts_remembered={engine.Verdicts.Remembered} verdicts_not_remembered={engine.Verdicts.NotRemembered} {phases}{(threadCpu.Length > 0 ? " thread_cpu_s=" : "")}{threadCpu}"));
        }
        return ExitCodes.Decide(verdict, setup.FailOn).Code;
    }

    /// <summary>
    /// Seconds of the loop before the nodes were decided (`--stats` `hold_s`): 0 when they were given (--server, a profile's
    /// nodes), the whole loop when the hold never filled (decided at the end of input).
    /// </summary>
    internal static double HoldSeconds(AuditEngine engine, long loopStartedAt, Stopwatch loop) =>
        engine.SettledAtTimestamp != 0 ? (double)(engine.SettledAtTimestamp - loopStartedAt) / Stopwatch.Frequency
        : engine.HoldsFlows ? loop.Elapsed.TotalSeconds : 0;

    /// <summary>
    /// What the VoIP stage's thread does between its batches: write waiting rows first, then read the capture ahead; null:
    /// nothing. Rows first: a record written soon dies young, while one left waiting outlives a collection or two and is
    /// copied (busy site 0.234 -> 0.215 s, peak 41 -> 36 MB, against reading first); a chunk waits in the ring either way.
    /// </summary>
    internal static Func<bool>? IdleWork(IIdleReader? reader, RecordLog? log) => (reader, log) switch
    {
        (null, null) => null,
        ({ } r, null) => r.ReadOneAhead,
        (null, { } l) => l.WriteSome,
        ({ } r, { } l) => () => l.WriteSome() || r.ReadOneAhead(),
    };

    /// <summary>
    /// --read-ahead auto|always|idle|never: who reads the capture files. Null for auto (<see cref="ReadAheadFor"/>).
    /// </summary>
    internal static ReadAheadMode? ReadAheadOption(Arguments a) => a.Value("--read-ahead") switch
    {
        null or "auto" => null,
        "always" => ReadAheadMode.Always,
        "idle" => ReadAheadMode.WhenIdle,
        "never" => ReadAheadMode.Never,
        var other => throw new UsageException($"--read-ahead '{other}' is not one of auto, always, idle, never" + CliParser.Hint(other, ["auto", "always", "idle", "never"])),
    };

    /// <summary>Files merged by time (open at once) that are each decompressed on a thread of their own, at most.</summary>
    internal const int MaxFilesReadAhead = 8;

    /// <summary>
    /// Who reads the capture files. --read-ahead auto (<paramref name="asked"/> null), with more than one thread: a
    /// gzip-compressed file on a thread of its own (its decompressor is the heaviest stage of the run), also each of up
    /// to <see cref="MaxFilesReadAhead"/> files merged by time (their decompressors then run side by side); a plain file,
    /// when it is the only one open, on a thread of its own if the process may use a core more than the engine's threads,
    /// else, at 2 threads, by the VoIP stage's thread between its batches (<see cref="ReadAheadMode.WhenIdle"/>). On two
    /// cores a third thread costs more than it takes off (the kernel's copy costs no less there, and it competes with
    /// the VoIP stage), while the stage's idle moments are free (README, "Reading ahead"). A ring's files, read one after
    /// the other, count as one. --read-ahead always and idle read a lone file that way whatever the threads, and merged
    /// files as auto does; never, never.
    /// </summary>
    internal static ReadAheadMode ReadAheadFor(ReadAheadMode? asked, int threads, int filesOpenAtOnce, int cores)
    {
        if (asked == ReadAheadMode.Never || filesOpenAtOnce > MaxFilesReadAhead) return ReadAheadMode.Never;
        if (filesOpenAtOnce > 1) return threads >= 2 || asked is not null ? ReadAheadMode.Compressed : ReadAheadMode.Never;
        if (asked is { } mode) return mode;
        if (threads < 2) return ReadAheadMode.Never;
        if (cores > threads) return ReadAheadMode.Always;
        // Two threads, no core left over: the VoIP stage reads ahead between its batches (a gzip file still has a thread).
        return threads == 2 ? ReadAheadMode.WhenIdle : ReadAheadMode.Compressed;
    }

    /// <summary>--from, --to and -c, or null when none is given.</summary>
    internal static (CaptureTime? From, CaptureTime? To, long Count)? ReadWindow(Arguments a)
    {
        CaptureTime? from = Time("--from", a.Value("--from")), to = Time("--to", a.Value("--to"));
        long count = 0;
        if (a.Value("--count") is { } c && (!long.TryParse(c, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count) || count < 1))
            throw new UsageException($"-c/--count '{c}' is not a whole number of packets above 0");
        if (from is { } f && to is { } t && f.Relative == t.Relative && t.Nanoseconds < f.Nanoseconds)
            throw new UsageException($"--to {a.Value("--to")} is before --from {a.Value("--from")}");
        return from is null && to is null && count == 0 ? null : (from, to, count);
    }

    private static CaptureTime? Time(string option, string? text)
    {
        if (text is null) return null;
        if (!CaptureTime.TryParse(text, out var t))
            throw new UsageException($"{option} '{text}' is not a time: give UTC ISO 8601 (2024-05-02T10:15:00Z) or an offset from the first packet (+30s, +5m, +1h)");
        return t;
    }

    /// <summary>The console line that says which part of the capture was audited.</summary>
    private static string WindowNote(WindowedFrameSource w)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (w.From is not null) parts.Add($"from {NsTime.Iso(w.Resolved.FromNs)} ({w.SkippedBefore.ToString("N0", inv)} earlier packets skipped)");
        if (w.To is not null) parts.Add($"to {NsTime.Iso(w.Resolved.ToNs)}");
        if (w.MaxFrames != long.MaxValue) parts.Add($"at most {w.MaxFrames.ToString("N0", inv)} packets");
        string stop = w.StoppedBy switch
        {
            "--to" => "; reading stopped at the first packet after --to",
            "-c" => "; reading stopped after -c packets",
            _ => "",
        };
        return $"Window: {string.Join(", ", parts)}{stop}";
    }

    /// <summary>Progress on stderr, only once reading has taken more than two seconds.</summary>
    private sealed class ProgressReporter(TextWriter stderr, IReadOnlyList<string> files)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly long _totalBytes = files.Sum(f => f != "-" && File.Exists(f) && !f.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new FileInfo(f).Length : 0);
        private long _lastReportMs;
        private bool _shown;

        public void Report(long frames, long bytesRead)
        {
            long ms = _clock.ElapsedMilliseconds;
            if (ms < 2000 || ms - _lastReportMs < 1000) return;
            _lastReportMs = ms;
            _shown = true;
            string pct = _totalBytes > 0 ? $" ({Math.Min(100, 100.0 * bytesRead / _totalBytes):F0}%)" : "";
            stderr.WriteLine($"trafficaudit: {frames:N0} packets read{pct}, {frames / (ms / 1000.0) / 1e6:F1} M packets/s");
        }

        public void Done(long frames)
        {
            if (_shown) stderr.WriteLine($"trafficaudit: {frames:N0} packets read in {_clock.Elapsed.TotalSeconds:F1} s");
        }
    }
}
