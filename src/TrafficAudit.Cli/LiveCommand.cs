using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TrafficAudit.Capture.Live;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Cli;

/// <summary>
/// `trafficaudit live -i IFACE ...`: audits what an interface captures, through the same engine and
/// the same post-processing (<see cref="AuditSetup.WriteOutputs"/>) as `audit`. Prints a status line
/// every second on stderr, rewrites the CSVs every --flush seconds, and writes them in full when the
/// capture ends (--duration, Ctrl+C, SIGTERM). Optionally keeps the raw frames in pcapng (--write),
/// as one file or a ring (--ring-size, --ring-files).
/// </summary>
public static class LiveCommand
{
    private const double DefaultFlushSeconds = 10;
    private const long StatusIntervalMs = 1000;

    /// <summary>Everything the command line asked for, checked before the interface is opened.</summary>
    internal sealed record Settings(
        LiveCaptureOptions Capture,
        TimeSpan? Duration,
        TimeSpan Flush,
        PcapNgRingOptions? Write,
        long MaxFrames = 0);

    public static int Run(Arguments a, string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}' (live reads an interface: -i IFACE)");
        var settings = ReadSettings(a);
        var setup = AuditSetup.From(a, ["live", .. args], (int)Math.Ceiling(settings.Flush.TotalSeconds));

        LiveFrameSource source;
        try
        {
            // -i 3: dumpcap's interface number.
            string name = LiveInterfaces.Resolve(settings.Capture.Interface);
            var options = name == settings.Capture.Interface ? settings.Capture : new LiveCaptureOptions
            {
                Interface = name,
                Filter = settings.Capture.Filter,
                SnapLength = settings.Capture.SnapLength,
                BufferSize = settings.Capture.BufferSize,
            };
            source = LiveFrameSource.Open(options, cancellationToken);
        }
        catch (LiveCaptureException e)
        {
            return Fail(e, stderr);
        }

        using var signals = new StopOnSignals(source);
        using (source)
        {
            return Capture(source, setup, settings, stdout, stderr);
        }
    }

    /// <summary>Prints a capture problem as one sentence; configuration mistakes exit 2, an environment that cannot capture 3.</summary>
    internal static int Fail(LiveCaptureException e, TextWriter stderr)
    {
        stderr.WriteLine($"trafficaudit: {e.Message}");
        return e.Problem is LiveCaptureProblem.BadFilter or LiveCaptureProblem.BadOptions or LiveCaptureProblem.NoSuchInterface
            ? ExitCodes.Usage
            : ExitCodes.CaptureUnreadable;
    }

    internal static Settings ReadSettings(Arguments a)
    {
        string iface = a.Value("--interface") ?? throw new UsageException("live needs an interface: -i IFACE or -i NUMBER (see 'trafficaudit interfaces')");
        if (iface.Length == 0) throw new UsageException("-i needs an interface name or number (see 'trafficaudit interfaces')");
        long maxFrames = 0;
        if (a.Value("--count") is { } c && (!long.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out maxFrames) || maxFrames < 1))
            throw new UsageException($"-c/--count '{c}' is not a whole number of packets above 0");
        TimeSpan? duration = a.Value("--duration") is { } d ? TimeSpan.FromSeconds(PositiveSeconds("--duration", d)) : null;
        var flush = TimeSpan.FromSeconds(a.Value("--flush") is { } f ? PositiveSeconds("--flush", f) : DefaultFlushSeconds);
        int snap = a.Value("--snaplen") is { } s ? Integer("--snaplen", s, LiveCaptureOptions.MinSnapLength, LiveCaptureOptions.MaxSnapLength) : LiveCaptureOptions.DefaultSnapLength;
        int bufferMb = a.Value("--buffer") is { } b ? Integer("--buffer", b, 1, 2047) : LiveCaptureOptions.DefaultBufferSize >> 20;

        PcapNgRingOptions? write = null;
        string? ringSize = a.Value("--ring-size"), ringFiles = a.Value("--ring-files");
        if (a.Value("--write") is { } path)
        {
            if (path.Length == 0) throw new UsageException("--write needs a file name");
            // dumpcap counts its -b filesize in kB of 1000 bytes; --ring-size is in MB of 1,000,000.
            long sizeBytes = ringSize is null ? 0 : Integer("--ring-size", ringSize, 1, 1_000_000) * 1_000_000L;
            int files = ringFiles is null ? 0 : Integer("--ring-files", ringFiles, 1, 100_000);
            if (files > 0 && sizeBytes == 0) throw new UsageException("--ring-files needs --ring-size (a ring switches files by size)");
            write = new PcapNgRingOptions { Path = path, RingSizeBytes = sizeBytes, RingFiles = files };
        }
        else if (ringSize is not null || ringFiles is not null) throw new UsageException("--ring-size and --ring-files go with --write FILE.pcapng");
        if (a.Flag("--evidence") && write is null) throw new UsageException("live --evidence cuts the evidence from the packets it keeps: add --write FILE.pcapng");

        var capture = new LiveCaptureOptions
        {
            Interface = iface,
            Filter = a.Value("--filter"),
            SnapLength = snap,
            BufferSize = bufferMb << 20,
        };
        return new Settings(capture, duration, flush, write, maxFrames);
    }

    private static double PositiveSeconds(string option, string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || v > 365 * 86400.0)
            throw new UsageException($"{option} '{text}' is not a number of seconds above 0");
        return v;
    }

    private static int Integer(string option, string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new UsageException($"{option} '{text}' is not a whole number in {min}..{max}");
        return v;
    }

    private static int Capture(LiveFrameSource source, AuditSetup setup, Settings settings, TextWriter stdout, TextWriter stderr)
    {
        var inv = CultureInfo.InvariantCulture;
        string[] inputs = [source.InterfaceName];
        string title = $"live capture on {source.InterfaceName}" + (source.Filter is null ? "" : $" (filter \"{source.Filter}\")");
        long maxFrames = settings.MaxFrames > 0 ? settings.MaxFrames : long.MaxValue;
        foreach (var w in source.Warnings) stderr.WriteLine($"trafficaudit: warning: libpcap setting not applied: {w}");

        PcapNgRingWriter? writer = null;
        int writerInterface = 0;
        if (settings.Write is { } wo)
        {
            try
            {
                string? dir = Path.GetDirectoryName(Path.GetFullPath(wo.Path));
                if (dir is not null) Directory.CreateDirectory(dir);
                writer = new PcapNgRingWriter(wo);
                writerInterface = writer.AddInterface(source.LinkType, source.Options.SnapLength, source.InterfaceName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                stderr.WriteLine($"trafficaudit: cannot write {wo.Path}: {TrafficAudit.Capture.IoErrors.Describe(e)}");
                return ExitCodes.Usage;
            }
        }

        // Records leave the engine as they end (record logs appended, incremental policy, bounded totals),
        // unless --evidence needs them all at the end.
        if (!StreamingAudit.TryOpen(setup, stderr, out var streaming))
        {
            writer?.Dispose();
            return ExitCodes.Usage;
        }
        using var streamingScope = streaming;
        var engine = streaming?.Engine ?? setup.CreateEngine();
        var flusher = new BackgroundFlush(setup, streaming, inputs, stdout);
        // The folder is checked (and the CSVs exist, empty) before the first packet.
        if (!flusher.WriteNow(engine, source, stderr))
        {
            writer?.Dispose();
            return ExitCodes.Usage;
        }
        string flushText = settings.Flush.TotalSeconds.ToString("0.###", inv);
        string durationText = (settings.Duration is { } dd ? ", for " + dd.TotalSeconds.ToString("0.###", inv) + " s" : "")
            + (settings.MaxFrames > 0 ? $", at most {settings.MaxFrames.ToString("N0", inv)} packets" : "");
        string writeText = writer is not null ? ", packets to " + settings.Write!.Path : "";
        stderr.WriteLine($"trafficaudit: {title}: writing {setup.OutDir} every {flushText} s{durationText}{writeText}; Ctrl+C to stop");

        // On a terminal the status line rewrites itself; into a file or a pipe, one line a second.
        var status = new StatusLine(stderr, engine, source, setup.Quiet, inPlace: DeferredConsoleWriter.IsStandardError(stderr is SafeTerminalWriter safe ? safe.Inner : stderr) && !Console.IsErrorRedirected);
        long startMs = Environment.TickCount64;
        long endMs = settings.Duration is { } du ? startMs + (long)du.TotalMilliseconds : long.MaxValue;
        long flushMs = (long)settings.Flush.TotalMilliseconds;
        long nextFlush = startMs + flushMs;
        long nextStatus = startMs + StatusIntervalMs;
        while (true)
        {
            if (source.TryMoveNext(out bool timedOut))
            {
                engine.Process(in source.Header, source.Data);
                if (writer is not null) writer = WriteFrame(writer, writerInterface, source, stderr);
                if (engine.Statistics.Frames >= maxFrames) source.Stop();   // -c N, as tshark
            }
            else if (!timedOut) break;

            // A coarse monotonic clock read (a few ns): cheap enough for every frame, so the status
            // line keeps its second under a trickle of packets as well as under a flood.
            long now = Environment.TickCount64;
            if (now < nextStatus && now < nextFlush && now < endMs) continue;
            if (now >= endMs) { source.Stop(); continue; }
            if (now >= nextStatus)
            {
                status.Write(now);
                nextStatus = now + StatusIntervalMs - (now - nextStatus) % StatusIntervalMs;
            }
            if (now >= nextFlush)
            {
                source.RefreshStatistics();
                // The snapshot and its verdict are taken here (they read the engine); the files are written off this thread.
                if (flusher.Start(engine, source, stderr) is { } findings) status.Findings = findings;
                if (writer is not null)
                {
                    writer.SetStatistics(writerInterface, source.Interfaces[0]);
                    writer = FlushWriter(writer, stderr);
                }
                nextFlush = Environment.TickCount64 + flushMs;
            }
        }

        // The end: every frame seen goes into the final CSVs, whatever stopped the capture.
        flusher.Wait(stderr);
        source.RefreshStatistics();
        status.Write(Environment.TickCount64);
        status.End();
        IReadOnlyList<string> written = [];
        if (writer is not null)
        {
            writer.SetStatistics(writerInterface, source.Interfaces[0]);
            try
            {
                writer.Dispose();
                written = writer.Files;
            }
            catch (IOException e)
            {
                stderr.WriteLine($"trafficaudit: warning: writing {settings.Write!.Path} failed: {e.Message}");
            }
        }
        foreach (var err in source.Errors)
            stderr.WriteLine($"trafficaudit: warning: {err.Message}; the frames before it were audited");
        if (!StreamingAudit.TryComplete(streaming, engine, source.Interfaces, source.Errors, setup.OutDir, stderr, out var result, out var streamedVerdict))
            return ExitCodes.Usage;
        // --evidence: cut from the files --write kept (the ring may have deleted the oldest).
        var verdict = setup.WriteOutputs(result, inputs, final: true, stdout, stderr, title, evidenceFiles: written,
            totals: streaming?.Totals, verdict: streamedVerdict);
        if (verdict is null) return ExitCodes.Usage;
        if (!setup.Quiet)
        {
            stdout.WriteLine(string.Create(inv,
                $"Capture: {source.FramesCaptured:N0} frames audited, {source.ReceivedPackets:N0} received by the filter, {source.DroppedPackets:N0} dropped by the kernel, {source.InterfaceDroppedPackets:N0} by the interface"));
            if (flusher.Started + flusher.Skipped > 0)
                stdout.WriteLine(string.Create(inv,
                    $"Flushes: {flusher.Started:N0} written, {flusher.Skipped:N0} skipped (the one before still writing); the longest held the capture {flusher.LongestPauseMs:N0} ms"));
            if (written.Count > 0) stdout.WriteLine("Packets written: " + string.Join(", ", written));
            if (setup.Rotation is not null && streaming is not null)
                stdout.WriteLine("Record files (--rotate): " + string.Join(", ", streaming.Log.FilesOpened.Select(Path.GetFileName)));
        }
        return ExitCodes.Decide(verdict, setup.FailOn).Code;
    }

    /// <summary>
    /// The periodic flush of a live capture. The capture thread takes the snapshot (and, streaming, its
    /// verdict on copies of the small aggregates: the cost of what is open, not of what was seen); a
    /// background thread writes the files (record logs flushed, aggregates and report rewritten
    /// atomically), so the capture thread never waits for the disk. A flush that comes while the previous
    /// one is still writing is skipped (the next one writes everything); what the background writes to
    /// stderr is printed by the capture thread.
    /// </summary>
    private sealed class BackgroundFlush(AuditSetup setup, StreamingAudit? streaming, IReadOnlyList<string> inputs, TextWriter stdout)
    {
        private Task? _writing;
        private StringWriter? _messages;

        /// <summary>Flushes skipped because the one before was still writing.</summary>
        public long Skipped { get; private set; }
        /// <summary>Periodic flushes started.</summary>
        public long Started { get; private set; }
        /// <summary>The longest time a periodic flush held the capture thread (its snapshot of the engine), in ms.</summary>
        public double LongestPauseMs { get; private set; }

        /// <summary>Takes a snapshot and writes it on this thread (the first, empty outputs: the folder is checked). False when it cannot be written.</summary>
        public bool WriteNow(AuditEngine engine, LiveFrameSource source, TextWriter stderr)
        {
            var (result, verdict, totals) = Take(engine, source);
            streaming?.FlushLog();
            return setup.WriteOutputs(result, inputs, final: false, stdout, stderr, totals: totals, verdict: verdict) is not null;
        }

        /// <summary>Starts a flush in the background; returns the findings of its verdict, or null when skipped or not known yet (collecting run).</summary>
        public int? Start(AuditEngine engine, LiveFrameSource source, TextWriter stderr)
        {
            if (_writing is { IsCompleted: false }) { Skipped++; return null; }
            Report(stderr);
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var (result, verdict, totals) = Take(engine, source);
            LongestPauseMs = Math.Max(LongestPauseMs, System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            Started++;
            var messages = _messages = new StringWriter();
            // A collecting run (--evidence) judges on the writing thread: its snapshot holds every record already.
            _writing = Task.Run(() =>
            {
                try
                {
                    // The rows handed to the record logs so far reach their files (whole rows), then the aggregates.
                    streaming?.FlushLog();
                    setup.WriteOutputs(result, inputs, final: false, TextWriter.Null, messages, totals: totals, verdict: verdict);
                }
                catch (Exception e)
                {
                    // A flush that fails (a full disk, or a bug of ours) costs this flush only: the capture goes on,
                    // and the final outputs are written on the capture thread, where an error is reported as usual.
                    messages.WriteLine($"trafficaudit: warning: the flush to {setup.OutDir} failed: {e.Message}; the next flush writes again");
                }
            });
            return verdict?.Findings.Count;
        }

        /// <summary>Waits for the flush being written, and prints what it said.</summary>
        public void Wait(TextWriter stderr)
        {
            _writing?.Wait();
            Report(stderr);
        }

        private void Report(TextWriter stderr)
        {
            if (_messages is null || _writing is { IsCompleted: false }) return;
            string text = _messages.ToString();
            if (text.Length > 0) stderr.Write(text);
            _messages = null;
        }

        private (AuditResult Result, Policy.Verdict? Verdict, RunTotals? Totals) Take(AuditEngine engine, LiveFrameSource source)
        {
            if (streaming is null) return (engine.Snapshot(source.Interfaces, source.Errors), null, null);
            var (open, verdict, totals) = streaming.Snapshot(source.Interfaces, source.Errors);
            return (open, verdict, totals);
        }
    }

    /// <summary>Writes one frame; a disk error stops the packet file (with a warning), never the audit.</summary>
    private static PcapNgRingWriter? WriteFrame(PcapNgRingWriter writer, int id, LiveFrameSource source, TextWriter stderr)
    {
        try
        {
            writer.WritePacket(id, in source.Header, source.Data);
            return writer;
        }
        catch (IOException e)
        {
            return Abandon(writer, stderr, e);
        }
    }

    private static PcapNgRingWriter? FlushWriter(PcapNgRingWriter writer, TextWriter stderr)
    {
        try
        {
            writer.Flush();
            return writer;
        }
        catch (IOException e)
        {
            return Abandon(writer, stderr, e);
        }
    }

    private static PcapNgRingWriter? Abandon(PcapNgRingWriter writer, TextWriter stderr, IOException e)
    {
        stderr.WriteLine($"trafficaudit: warning: packet file stopped after {writer.PacketsWritten:N0} packets: {e.Message}; the audit goes on");
        try { writer.Dispose(); } catch (IOException) { }
        return null;
    }

    /// <summary>
    /// The per-second status on stderr, times in UTC like every output:
    /// "live lo 14:03:07Z  1,204 pkt/s  12,000 packets  35 flows  2 calls in progress  drops 0 (kernel 0, interface 0)".
    /// On a terminal (<paramref name="inPlace"/>) it is rewritten in place (carriage return, then the
    /// line padded over the previous one); otherwise one line a second, for a log file.
    /// </summary>
    internal sealed class StatusLine(TextWriter stderr, AuditEngine engine, LiveFrameSource? source, bool quiet, bool inPlace)
    {
        private long _lastMs = Environment.TickCount64;
        private long _lastFrames;
        private int _lastLength;

        /// <summary>Findings at the last flush (the policy runs at each flush, not every second).</summary>
        public int Findings { get; set; }

        public void Write(long nowMs)
        {
            long frames = engine.Statistics.Frames;
            double seconds = Math.Max(1, nowMs - _lastMs) / 1000.0;
            double rate = (frames - _lastFrames) / seconds;
            _lastMs = nowMs;
            _lastFrames = frames;
            if (quiet) return;
            ulong kernel = source?.DroppedPackets ?? 0, iface = source?.InterfaceDroppedPackets ?? 0;
            string line = string.Create(CultureInfo.InvariantCulture,
                $"live {source?.InterfaceName} {DateTime.UtcNow:HH:mm:ss}Z  {rate,9:N0} pkt/s  {frames:N0} packets  {engine.TotalFlows:N0} flows  {engine.CallsInProgress:N0} calls in progress  {Findings:N0} findings  drops {kernel + iface:N0} (kernel {kernel:N0}, interface {iface:N0})");
            WriteLine(line);
        }

        private static int TerminalWidth()
        {
            try { return Console.WindowWidth; }
            catch (Exception e) when (e is IOException or InvalidOperationException or PlatformNotSupportedException) { return 0; }
        }

        internal void WriteLine(string line)
        {
            if (!inPlace)
            {
                stderr.WriteLine(line);
                return;
            }
            // Cut to the terminal's width: a line that wraps cannot be rewritten by a carriage return.
            int width = TerminalWidth();
            if (width > 1 && line.Length >= width) line = line[..(width - 1)];
            stderr.Write("\r" + line + (line.Length < _lastLength ? new string(' ', _lastLength - line.Length) : ""));
            stderr.Flush();
            _lastLength = line.Length;
        }

        /// <summary>Ends the rewritten line, so what follows starts on a line of its own.</summary>
        public void End()
        {
            if (inPlace && _lastLength > 0 && !quiet) stderr.WriteLine();
            _lastLength = 0;
        }
    }

    /// <summary>Ctrl+C (SIGINT) and SIGTERM end the capture cleanly; a second signal ends the process as usual.</summary>
    private sealed class StopOnSignals : IDisposable
    {
        private readonly List<PosixSignalRegistration> _registrations = new();
        private int _signals;

        public StopOnSignals(LiveFrameSource source)
        {
            foreach (var signal in (PosixSignal[])[PosixSignal.SIGINT, PosixSignal.SIGTERM])
            {
                try
                {
                    _registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
                    {
                        if (Interlocked.Increment(ref _signals) > 1) return;   // the second one is not cancelled
                        ctx.Cancel = true;
                        source.Stop();
                    }));
                }
                catch (PlatformNotSupportedException) { }
            }
        }

        public void Dispose()
        {
            foreach (var r in _registrations) r.Dispose();
        }
    }
}
