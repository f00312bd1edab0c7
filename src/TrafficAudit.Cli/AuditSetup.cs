using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Evidence;
using TrafficAudit.Outputs;
using TrafficAudit.Outputs.Report;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Cli;

/// <summary>
/// What `audit` and `live` share: the options that shape the audit (--out, --server, --catalogue,
/// --profile, --fail-on, --quiet), the engine built from them, and the post-processing of a result
/// (<see cref="WriteOutputs"/>: policy, CSVs, console).
/// One engine, two sources: a command only adds how frames are read.
/// </summary>
public sealed class AuditSetup
{
    private AuditSetup(string outDir, IReadOnlyList<IpAddress> servers, PortCatalogue catalogue, bool quiet, DeploymentProfile? profile, FindingSeverity? failOn)
    {
        OutDir = outDir;
        Servers = servers;
        Catalogue = catalogue;
        Quiet = quiet;
        Profile = profile;
        FailOn = failOn;
    }

    public DeploymentProfile? Profile { get; }
    /// <summary>--report: DIR/report.html, written with the CSVs (at every live flush too).</summary>
    public bool Report { get; private init; }
    /// <summary>--evidence: DIR/evidence/finding-N.pcapng and call-N.pcapng, cut from the capture files by a second pass after the audit (see <see cref="EvidencePlan"/>).</summary>
    public bool Evidence { get; private init; }
    /// <summary>--series: DIR/rtp_series.csv, per RTP stream and second.</summary>
    public bool Series { get; private init; }
    /// <summary>--title: customer and site, in the console header and the report (control characters replaced); null when not given.</summary>
    public string? Title { get; private init; }
    /// <summary>--anonymize: pseudonyms for addresses and SIP users in every output; one per run, so they stay stable across flushes.</summary>
    public Anonymizer? Anonymizer { get; private init; }
    /// <summary>--anonymize-map FILE: where the pseudonym mapping goes (for the engineer only).</summary>
    public string? AnonymizeMap { get; private init; }
    /// <summary>--format csv|jsonl: the format of every table file (NAME.csv or NAME.jsonl).</summary>
    public OutputFormat Format { get; private init; }
    /// <summary>live --rotate: rotation of the appended record files; null without it.</summary>
    public RecordRotation? Rotation { get; private init; }
    /// <summary>--threads N: threads the engine uses (default: <see cref="DefaultThreads"/>); 1 keeps the VoIP stage on the packet thread; from 3 the flows are sharded, and from 4 the VoIP stage has a thread of its own beside the merger.</summary>
    public int Threads { get; private init; } = DefaultThreads;
    /// <summary>
    /// Threads without --threads: 2 (the packet thread and the VoIP stage) when the process may run on two cores or more,
    /// else 1. The sharded engine (3 threads and more) is not the default: on this project's 2-core machine it costs more
    /// CPU than it spreads (README, "The sharded engine").
    /// </summary>
    public static int DefaultThreads => Math.Min(Environment.ProcessorCount, 2);
    /// <summary>
    /// Flow shards at most, whatever --threads asks: past the cores there are, a shard only adds its buffers (its flow
    /// table, about 2 MB of epoch buffers) and a thread that waits.
    /// </summary>
    public const int MaxShards = 64;
    /// <summary>Highest --threads accepted.</summary>
    public const int MaxThreads = 1024;
    /// <summary>The command line as typed, for the report's facts.</summary>
    public string CommandLineText { get; private init; } = "";
    /// <summary>Live capture: the report says it refreshes every this many seconds.</summary>
    public int? RefreshSeconds { get; private init; }
    /// <summary>Lowest severity that makes the exit code 1; null: never.</summary>
    public FindingSeverity? FailOn { get; }

    public string OutDir { get; }
    public IReadOnlyList<IpAddress> Servers { get; }
    public PortCatalogue Catalogue { get; }
    public bool Quiet { get; }

    /// <summary>Reads the common options; every mistake is a <see cref="UsageException"/> before anything is captured or read.</summary>
    /// <param name="commandLine">The arguments as typed (shown in the report).</param>
    /// <param name="refreshSeconds">For a live capture, the flush interval (the report refreshes itself).</param>
    public static AuditSetup From(Arguments a, IReadOnlyList<string> commandLine, int? refreshSeconds = null)
    {
        string outDir = a.Value("--out") ?? "trafficaudit-out";
        if (outDir.Length == 0) throw new UsageException("--out needs a folder name (it is created when missing)");
        if (File.Exists(outDir) && !Directory.Exists(outDir)) throw new UsageException($"--out {outDir} is a file, not a folder: name a folder (it is created when missing)");
        var servers = new List<IpAddress>();
        foreach (var s in a.Values("--server"))
        {
            if (!IpAddress.TryParse(s, out var ip)) throw new UsageException($"--server '{s}' is not an IP address");
            servers.Add(ip);
        }
        var catalogue = CatalogueCommand.LoadCatalogue(a.Value("--catalogue"));
        PhaseClock.Set(PhaseClock.Mark.Catalogue);
        FindingSeverity? failOn = ParseFailOn(a.Value("--fail-on") ?? "error");
        DeploymentProfile? profile = null;
        if (a.Value("--profile") is { } profilePath)
        {
            if (profilePath.Length == 0) throw new UsageException("--profile needs a file name");
            if (Directory.Exists(profilePath)) throw new UsageException($"--profile {profilePath} is a folder: name the profile's JSON file");
            try
            {
                profile = ProfileLoader.LoadFile(profilePath, catalogue); // the roles and applications are the catalogue's
            }
            catch (ProfileException e)
            {
                throw new UsageException("bad profile: " + e.Message);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read profile {profilePath}: {TrafficAudit.Capture.IoErrors.Describe(e)}");
            }
            if (profile.Nodes.Count > 0)
            {
                if (servers.Count > 0) throw new UsageException("the nodes are given twice: use --server or the profile's \"nodes\", not both");
                servers.AddRange(profile.Nodes);
            }
        }
        string? map = a.Value("--anonymize-map");
        if (map is not null)
        {
            if (map.Length == 0) throw new UsageException("--anonymize-map needs a file name");
            if (Directory.Exists(map)) throw new UsageException($"--anonymize-map {map} is a folder: name a file");
        }
        string? seed = a.Value("--anonymize-seed");
        if (seed is { Length: 0 }) throw new UsageException("--anonymize-seed needs a text (any words; the same text gives the same pseudonyms)");
        if (seed is { Length: > MaxTitleLength * 5 }) throw new UsageException($"--anonymize-seed is {seed.Length} characters long: a passphrase of under {MaxTitleLength * 5} does");
        string? title = a.Value("--title");
        if (title is not null)
        {
            // Shown on the console and in the report: printable characters only.
            title = new string(title.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();
            if (title.Length == 0) throw new UsageException("--title needs a text, e.g. --title \"ACME, Milan site\"");
            if (title.Length > MaxTitleLength) throw new UsageException($"--title is {title.Length} characters long: keep it under {MaxTitleLength} (customer and site)");
        }
        var format = OutputFormat.Csv;
        if (a.Value("--format") is { } formatText)
            format = OutputFormats.Parse(formatText) ?? throw new UsageException($"--format '{formatText}' is not one of csv, jsonl" + CliParser.Hint(formatText, ["csv", "jsonl"]));
        RecordRotation? rotation = null;
        int threads = DefaultThreads;
        if (a.Value("--threads") is { } threadsText
            && (!int.TryParse(threadsText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out threads) || threads < 1 || threads > MaxThreads))
            throw new UsageException($"--threads '{threadsText}' is not a whole number from 1 to {MaxThreads}");
        if (a.Value("--rotate") is { } rotateText)
            rotation = RecordRotation.Parse(rotateText, out string rotateError) ?? throw new UsageException(rotateError);
        bool anonymize = a.Flag("--anonymize") || map is not null || seed is not null;
        if (anonymize && a.Flag("--evidence"))
            throw new UsageException("--evidence copies the original packets, addresses included: it cannot go with --anonymize (run the two separately)");
        return new AuditSetup(outDir, servers, catalogue, a.Flag("--quiet"), profile, failOn)
        {
            Report = a.Flag("--report"),
            Evidence = a.Flag("--evidence"),
            Series = a.Flag("--series"),
            Title = title,
            Anonymizer = anonymize ? Anonymizer.Create(seed, catalogue) : null,
            AnonymizeMap = map,
            CommandLineText = "trafficaudit " + string.Join(' ', commandLine.Select(Quote)),
            RefreshSeconds = refreshSeconds,
            Format = format,
            Rotation = rotation,
            Threads = threads,
        };
    }

    /// <summary>Longest --title accepted.</summary>
    public const int MaxTitleLength = 200;

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    /// <summary>--fail-on error|warning|info|never: the lowest severity that makes the exit code 1.</summary>
    private static FindingSeverity? ParseFailOn(string text) => text switch
    {
        "error" => FindingSeverity.Error,
        "warning" => FindingSeverity.Warning,
        "info" => FindingSeverity.Info,
        "never" or "none" => null,
        _ => throw new UsageException($"--fail-on '{text}' is not one of error, warning, info, never" + CliParser.Hint(text, ["error", "warning", "info", "never"])),
    };

    /// <summary>
    /// The appendable record logs of this run (flows, rtp_streams, calls, and rtp_series with --series)
    /// in --format, rotated by --rotate, anonymized with --anonymize: a sink for the engine's records.
    /// Flush it at each live flush; dispose it after the engine's last records (end of capture, Ctrl+C, SIGTERM).
    /// Who writes them: <see cref="WriterFor"/>.
    /// </summary>
    public RecordLog CreateRecordLog() => new(OutDir, new RecordLogOptions
    {
        Format = Format, Rotation = Rotation, Anonymizer = Anonymizer, Series = Series,
        Writer = WriterFor(Threads, live: RefreshSeconds is not null, Environment.ProcessorCount),
    });

    /// <summary>
    /// Who writes the record files. `audit --threads 1`: its one thread (one thread does everything, so the other thread
    /// counts are measured against a single core's work). `audit --threads 2` on two cores: shared out
    /// (<see cref="RecordWriter.Shared"/>: the VoIP stage writes between its batches, the engine when they pile up), so
    /// two threads share the two cores instead of three; with a core left over, a writer thread of its own runs there.
    /// The sharded engine and live capture (whose flush runs on a thread of its own) have a writer thread.
    /// </summary>
    internal static RecordWriter WriterFor(int threads, bool live, int cores) =>
        live || threads > 2 || (threads == 2 && cores > threads) ? RecordWriter.Thread
        : threads == 2 ? RecordWriter.Shared
        : RecordWriter.Caller;

    /// <summary>
    /// Empty run totals with this run's thresholds, for a streaming run to feed as a sink of the engine and hand to
    /// <see cref="WriteOutputs"/>. Without --report they keep no calls for the report's table and charts (only the console's
    /// first calls): up to 2,000 calls with their streams and SDP held to the end of the run for nothing, copied by every
    /// collection that promotes them.
    /// </summary>
    public RunTotals NewRunTotals() => Report
        ? new(ReportInputs.BudgetOf(Profile))
        : new(ReportInputs.BudgetOf(Profile), maxTableCalls: 0, maxChartedCalls: 0);

    /// <param name="sink">Where records go as they end (a streaming run: <see cref="StreamingAudit"/>); null: the engine collects them for one result at the end.</param>
    public AuditEngine CreateEngine(IAuditRecordSink? sink = null) => new(Catalogue, new AuditOptions
    {
        Servers = Servers.ToList(),
        // 2 threads: the engine's and the VoIP stage's. 3: the reader, the merger with the VoIP stage inline, one flow
        // shard. From 4: the reader, the merger, the VoIP stage, and the rest as flow shards, at most MaxShards.
        ParallelVoip = Threads == 2 || Threads >= 4,
        Shards = Threads == 3 ? 1 : Threads >= 4 ? Math.Min(Threads - 3, MaxShards) : 0,
        ServersSource = Profile is { Nodes.Count: > 0 } ? Classification.NodeSource.Profile : Classification.NodeSource.Server,
    }, sink);

    /// <summary>
    /// Whether this run streams its records (record logs appended as records end, incremental policy, bounded
    /// totals) rather than collecting every record for the end. --evidence needs every flow and call of the
    /// findings when the input ends (to cut their packets), so a run with it collects.
    /// </summary>
    public bool Streams => !Evidence;

    /// <summary>A live capture that streams: its flushes write the records still open to open_flows, open_rtp_streams and open_calls.</summary>
    public bool LiveStreaming => Streams && RefreshSeconds is not null;

    /// <summary>
    /// The post-processing of a result, the same for a file audit and for a live capture (each
    /// periodic flush and the final one): the policy verdict (findings, expected-flow matrix), the
    /// CSV files (each replaced atomically) and, when <paramref name="final"/> and not --quiet, the
    /// console summary and verdict. Returns null, with the reason on <paramref name="stderr"/>, when
    /// the folder cannot be written.
    /// </summary>
    /// <param name="inputs">The capture files, or the live interface's label: anomalies.csv names them.</param>
    /// <param name="evidenceFiles">With --evidence, the capture files to cut the evidence from (read a second time when <paramref name="final"/>); null: no evidence.</param>
    /// <param name="totals">What the console and the report show (a sink of the engine, built with <see cref="NewRunTotals"/>); null: from the result's records.</param>
    public Verdict? WriteOutputs(AuditResult result, IReadOnlyList<string> inputs, bool final, TextWriter stdout, TextWriter stderr, string? sourceTitle = null, string? inputNote = null,
        IReadOnlyList<string>? evidenceFiles = null, RunTotals? totals = null, Verdict? verdict = null)
    {
        // Built from the result's records only when the report or the console needs them (not at a quiet live flush).
        var records = result;
        RunTotals Totals() => totals ??= RunTotals.From(records, ReportInputs.BudgetOf(Profile));
        // A streaming run brings its verdict (the incremental policy) and has appended its records already.
        bool recordsLogged = verdict is not null;
        verdict ??= Verdict.Evaluate(result, Catalogue, Profile);
        result = PolicyAnomalies.WithVerdictAnomalies(result, verdict);
        var evidence = Evidence && final && evidenceFiles is { Count: > 0 } ? EvidencePlan.Build(result, verdict.Findings) : null;
        long evidencePackets = 0;
        IReadOnlyList<string> removed;
        try
        {
            if (!recordsLogged)
            {
                AuditCsvWriter.WriteRecords(OutDir, result, Anonymizer, evidence, Format);
                if (Series) AuditCsvWriter.WriteSeries(OutDir, result, Format);
            }
            else if (!final) AuditCsvWriter.WriteRecords(OutDir, result, Anonymizer, null, Format, AuditCsvWriter.OpenPrefix);
            else
                foreach (var e in OutputFiles.All.Where(e => e.Name.StartsWith(AuditCsvWriter.OpenPrefix, StringComparison.Ordinal)))
                    File.Delete(Path.Combine(OutDir, e.FileName(Format)));
            AuditCsvWriter.WriteAggregates(OutDir, result, inputs, Anonymizer, Format);
            AuditCsvWriter.WriteVerdict(OutDir, verdict, Anonymizer, evidence, Format);
            if (Report)
                HtmlReportWriter.Write(OutDir, ReportInputs.Create(result, verdict, inputs, CommandLine.Version, CommandLineText,
                    Servers.Count > 0, Anonymizer, live: RefreshSeconds is not null, RefreshSeconds, totals: Totals()) with { ExitReason = ExitCodes.Decide(verdict, FailOn).Reason, Title = Title });
            removed = OutputFiles.RemoveStale(OutDir, this);
            if (final && AnonymizeMap is not null) Anonymizer!.WriteMapping(AnonymizeMap);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"trafficaudit: cannot write to {OutDir}: {TrafficAudit.Capture.IoErrors.Describe(e)}; choose another folder with --out");
            return null;
        }
        if (evidence is not null)
        {
            // A second read of the captures, after every other output is in place: a capture that fails now costs the evidence only.
            try { evidencePackets = EvidenceOutput.Write(OutDir, evidence, evidenceFiles!); }
            catch (Capture.CaptureFormatException e) { stderr.WriteLine($"trafficaudit: warning: no evidence written: {e.Message}"); evidence = null; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"trafficaudit: cannot write evidence to {OutDir}: {TrafficAudit.Capture.IoErrors.Describe(e)}; choose another folder with --out");
                evidence = null;
            }
        }
        if (removed.Count > 0)
            stderr.WriteLine($"trafficaudit: removed {string.Join(", ", removed)} of an older run from {OutDir} (this run does not write {(removed.Count == 1 ? "it" : "them")})");
        if (final && !Quiet)
        {
            var console = Anonymizer?.Wrap(stdout) ?? stdout;
            ConsoleSummary.Write(console, result, inputs, OutDir, Servers.Count > 0, sourceTitle, Title, inputNote, Totals());
            ConsoleVerdict.Write(console, verdict, OutDir);
            ConsoleSummary.WriteWritten(console, OutDir, OutputFiles.WrittenBy(this), result, Totals());
            if (evidence is not null)
                console.WriteLine($"Evidence: {evidence.Targets.Count} pcapng file(s), {evidencePackets} packet(s), in {Path.Combine(OutDir, EvidencePlan.Folder)} (findings.csv and calls.csv name them in evidence_file)");
            console.WriteLine(ConsoleVerdict.VerdictLine(verdict, FailOn));
            console.Flush();
        }
        return verdict;
    }
}
