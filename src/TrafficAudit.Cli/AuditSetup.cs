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
    /// <summary>Value options common to every auditing command, with their aliases.</summary>
    public static IReadOnlyDictionary<string, string> ValueOptions { get; } = new Dictionary<string, string>
    {
        ["--out"] = "--out", ["-o"] = "--out",
        ["--server"] = "--server", ["-s"] = "--server",
        ["--catalogue"] = "--catalogue", ["--catalog"] = "--catalogue",
        ["--profile"] = "--profile", ["-p"] = "--profile",
        ["--fail-on"] = "--fail-on",
        ["--anonymize-seed"] = "--anonymize-seed",
        ["--anonymize-map"] = "--anonymize-map",
    };

    /// <summary>Flags common to every auditing command.</summary>
    public static IReadOnlyDictionary<string, string> FlagOptions { get; } = new Dictionary<string, string>
    {
        ["--quiet"] = "--quiet", ["-q"] = "--quiet",
        ["--report"] = "--report",
        ["--anonymize"] = "--anonymize",
        ["--evidence"] = "--evidence",
        ["--series"] = "--series",
    };

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
    /// <summary>--series: DIR/rtp_series.csv, per stream and second.</summary>
    public bool Series { get; private init; }
    /// <summary>--anonymize: pseudonyms for addresses and SIP users in every output; one per run, so they stay stable across flushes.</summary>
    public Anonymizer? Anonymizer { get; private init; }
    /// <summary>--anonymize-map FILE: where the pseudonym mapping goes (for the engineer only).</summary>
    public string? AnonymizeMap { get; private init; }
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

    /// <summary>Merges a command's own options into the common ones.</summary>
    public static Dictionary<string, string> With(IReadOnlyDictionary<string, string> common, IReadOnlyDictionary<string, string> own)
    {
        var all = new Dictionary<string, string>(common, StringComparer.Ordinal);
        foreach (var (k, v) in own) all.Add(k, v);
        return all;
    }

    /// <summary>Reads the common options; every mistake is a <see cref="UsageException"/> before anything is captured or read.</summary>
    /// <param name="commandLine">The arguments as typed (shown in the report).</param>
    /// <param name="refreshSeconds">For a live capture, the flush interval (the report refreshes itself).</param>
    public static AuditSetup From(Arguments a, IReadOnlyList<string> commandLine, int? refreshSeconds = null)
    {
        string outDir = a.Value("--out") ?? "trafficaudit-out";
        var servers = new List<IpAddress>();
        foreach (var s in a.Values("--server"))
        {
            if (!IpAddress.TryParse(s, out var ip)) throw new UsageException($"--server '{s}' is not an IP address");
            servers.Add(ip);
        }
        var catalogue = CatalogueCommand.LoadCatalogue(a.Value("--catalogue"));
        FindingSeverity? failOn = ParseFailOn(a.Value("--fail-on") ?? "error");
        DeploymentProfile? profile = null;
        if (a.Value("--profile") is { } profilePath)
        {
            try
            {
                profile = ProfileLoader.LoadFile(profilePath);
            }
            catch (ProfileException e)
            {
                throw new UsageException("bad profile: " + e.Message);
            }
            if (profile.Nodes.Count > 0)
            {
                if (servers.Count > 0) throw new UsageException("the nodes are given twice: use --server or the profile's \"nodes\", not both");
                servers.AddRange(profile.Nodes);
            }
        }
        bool anonymize = a.Flag("--anonymize") || a.Value("--anonymize-map") is not null || a.Value("--anonymize-seed") is not null;
        if (anonymize && a.Flag("--evidence"))
            throw new UsageException("--evidence copies the original packets, addresses included: it cannot go with --anonymize (run the two separately)");
        return new AuditSetup(outDir, servers, catalogue, a.Flag("--quiet"), profile, failOn)
        {
            Report = a.Flag("--report"),
            Evidence = a.Flag("--evidence"),
            Series = a.Flag("--series"),
            Anonymizer = anonymize ? Anonymizer.Create(a.Value("--anonymize-seed")) : null,
            AnonymizeMap = a.Value("--anonymize-map"),
            CommandLineText = "trafficaudit " + string.Join(' ', commandLine.Select(Quote)),
            RefreshSeconds = refreshSeconds,
        };
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";

    /// <summary>--fail-on error|warning|info|never: the lowest severity that makes the exit code 1.</summary>
    private static FindingSeverity? ParseFailOn(string text) => text switch
    {
        "error" => FindingSeverity.Error,
        "warning" => FindingSeverity.Warning,
        "info" => FindingSeverity.Info,
        "never" or "none" => null,
        _ => throw new UsageException($"--fail-on '{text}' is not one of error, warning, info, never"),
    };

    public AuditEngine CreateEngine() => new(Catalogue, new AuditOptions { Servers = Servers.ToList() });

    /// <summary>
    /// The post-processing of a result, the same for a file audit and for a live capture (each
    /// periodic flush and the final one): the policy verdict (findings, expected-flow matrix), the
    /// CSV files (each replaced atomically) and, when <paramref name="final"/> and not --quiet, the
    /// console summary and verdict. Returns null, with the reason on <paramref name="stderr"/>, when
    /// the folder cannot be written.
    /// </summary>
    /// <param name="inputs">The capture files, or the live interface's label: anomalies.csv names them.</param>
    /// <param name="evidenceFiles">With --evidence, the capture files to cut the evidence from (read a second time when <paramref name="final"/>); null: no evidence.</param>
    public Verdict? WriteOutputs(AuditResult result, IReadOnlyList<string> inputs, bool final, TextWriter stdout, TextWriter stderr, string? sourceTitle = null,
        IReadOnlyList<string>? evidenceFiles = null)
    {
        var verdict = Verdict.Evaluate(result, Catalogue, Profile);
        var evidence = Evidence && final && evidenceFiles is { Count: > 0 } ? EvidencePlan.Build(result, verdict.Findings) : null;
        long evidencePackets = 0;
        try
        {
            AuditCsvWriter.WriteAll(OutDir, result, inputs, Anonymizer, evidence);
            if (Series) AuditCsvWriter.WriteSeries(OutDir, result);
            AuditCsvWriter.WriteVerdict(OutDir, verdict, Anonymizer, evidence);
            if (evidence is not null) evidencePackets = EvidenceOutput.Write(OutDir, evidence, evidenceFiles!);
            if (Report)
                HtmlReportWriter.Write(OutDir, ReportInputs.Create(result, verdict, inputs, CommandLine.Version, CommandLineText,
                    Servers.Count > 0, Anonymizer, live: RefreshSeconds is not null, RefreshSeconds));
            if (final && AnonymizeMap is not null) Anonymizer!.WriteMapping(AnonymizeMap);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"trafficaudit: cannot write to {OutDir}: {e.Message}");
            return null;
        }
        catch (Capture.CaptureFormatException e)
        {
            stderr.WriteLine($"trafficaudit: warning: no evidence written: {e.Message}");
        }
        if (final && !Quiet)
        {
            var console = Anonymizer?.Wrap(stdout) ?? stdout;
            ConsoleSummary.Write(console, result, inputs, OutDir, Servers.Count > 0, sourceTitle);
            ConsoleVerdict.Write(console, verdict, OutDir);
            if (Report) console.WriteLine($"Report: {Path.Combine(OutDir, HtmlReportWriter.FileName)}");
            if (evidence is not null)
                console.WriteLine($"Evidence: {evidence.Targets.Count} pcapng file(s), {evidencePackets} packet(s), in {Path.Combine(OutDir, EvidencePlan.Folder)} (findings.csv and calls.csv name them in evidence_file)");
            console.Flush();
        }
        return verdict;
    }
}
