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
    private static readonly Dictionary<string, string> ValueOptions = AuditSetup.With(AuditSetup.ValueOptions, new Dictionary<string, string>());
    private static readonly Dictionary<string, string> FlagOptions = AuditSetup.With(AuditSetup.FlagOptions, new Dictionary<string, string> { ["--stats"] = "--stats" });

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Stream? stdin = null)
    {
        // 1. Everything that can be wrong with the command line or configuration fails here,
        //    before the first packet is read (exit code 2).
        var a = Arguments.Parse(args, ValueOptions, FlagOptions);
        if (a.Positional.Count == 0) throw new UsageException("audit needs at least one capture file ('-' for standard input)");
        if (a.Positional.Count(p => p == "-") > 1) throw new UsageException("standard input ('-') can be given only once");
        var setup = AuditSetup.From(a, ["audit", .. args]);
        string outDir = setup.OutDir;

        // Built on first use: a clean run logs nothing and need not pay for the logging set-up.
        ILoggerFactory? loggerFactory = null;
        ILogger Log() => (loggerFactory ??= LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Information)
            .AddProvider(new TextWriterLoggerProvider(stderr, LogLevel.Warning)))).CreateLogger("trafficaudit");

        // 2. Open every file first: a file that is not a capture stops the run before anything is read (exit 3).
        var files = a.Positional;
        var sources = new List<IFrameSource>();
        using var engine = setup.CreateEngine();
        try
        {
            for (int i = 0; i < files.Count; i++)
                sources.Add(files[i] == CaptureFile.StandardInputPath && stdin is not null
                    ? CaptureFile.Open(stdin, "(standard input)", i, engine.Anomalies, leaveOpen: true)
                    : CaptureFile.Open(files[i], i, engine.Anomalies));
        }
        catch (CaptureFormatException e)
        {
            foreach (var s in sources) s.Dispose();
            stderr.WriteLine($"trafficaudit: {e.Message}");
            return ExitCodes.CaptureUnreadable;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var s in sources) s.Dispose();
            stderr.WriteLine($"trafficaudit: cannot read {files[sources.Count]}: {e.Message}");
            return ExitCodes.CaptureUnreadable;
        }

        // 3. The hot loop.
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var loopStartedAtUtc = DateTime.UtcNow;
        using IFrameSource source = sources.Count == 1 ? sources[0] : new MergedFrameSource(sources);
        var progress = new ProgressReporter(stderr, files);
        while (source.MoveNext())
        {
            engine.Process(source.Header, source.Data);
            if ((engine.Statistics.Frames & 0x3FFFF) == 0) progress.Report(engine.Statistics.Frames, source.BytesRead);
        }
        progress.Done(engine.Statistics.Frames);
        clock.Stop();
        var loopEndedAtUtc = DateTime.UtcNow;
        long allocatedLoop = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        // 4. What was read is always audited and written, even when a file ended early.
        foreach (var err in source.Errors)
            Log().LogWarning("{File}: reading stopped at byte offset {Offset}: {Message}; the frames before it were audited", err.File, err.ByteOffset, err.Message);
        loggerFactory?.Dispose();
        var result = engine.Complete(source.Interfaces, source.Errors);
        // 5. Policy and outputs: once, on the finished result (mechanism above, policy here).
        // --evidence reads the files a second time; standard input is gone by then.
        bool stdinUsed = files.Contains(CaptureFile.StandardInputPath);
        if (setup.Evidence && stdinUsed)
            stderr.WriteLine("trafficaudit: warning: --evidence reads the captures a second time and standard input cannot be read twice: no evidence written (save the capture to a file and audit that)");
        var verdict = setup.WriteOutputs(result, files, final: true, stdout, stderr, evidenceFiles: stdinUsed ? null : files);
        if (verdict is null) return ExitCodes.Usage;
        if (a.Flag("--stats"))
        {
            // Measurement for tools/bench.sh: the read/decode/flow loop alone, and the whole process.
            long frames = Math.Max(1, engine.Statistics.Frames);
            using var self = Process.GetCurrentProcess();
            stderr.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"stats: frames={engine.Statistics.Frames} before_loop_s={(loopStartedAtUtc - self.StartTime.ToUniversalTime()).TotalSeconds:F3} after_loop_s={(DateTime.UtcNow - loopEndedAtUtc).TotalSeconds:F3} loop_s={clock.Elapsed.TotalSeconds:F3} loop_mpps={frames / clock.Elapsed.TotalSeconds / 1e6:F2} " +
                $"loop_alloc_bytes={allocatedLoop} alloc_per_packet={(double)allocatedLoop / frames:F3} gc0={GC.CollectionCount(0)} gc1={GC.CollectionCount(1)} gc2={GC.CollectionCount(2)} " +
                $"peak_working_set_mb={self.PeakWorkingSet64 / 1048576.0:F1} flows={result.Flows.Count}"));
        }
        return verdict.FailsAt(setup.FailOn) ? ExitCodes.Findings : ExitCodes.Ok;
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
