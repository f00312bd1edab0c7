using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Outputs;
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
    };

    /// <summary>Flags common to every auditing command.</summary>
    public static IReadOnlyDictionary<string, string> FlagOptions { get; } = new Dictionary<string, string>
    {
        ["--quiet"] = "--quiet", ["-q"] = "--quiet",
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
    public static AuditSetup From(Arguments a)
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
        return new AuditSetup(outDir, servers, catalogue, a.Flag("--quiet"), profile, failOn);
    }

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
    public Verdict? WriteOutputs(AuditResult result, IReadOnlyList<string> inputs, bool final, TextWriter stdout, TextWriter stderr, string? sourceTitle = null)
    {
        var verdict = Verdict.Evaluate(result, Catalogue, Profile);
        try
        {
            AuditCsvWriter.WriteAll(OutDir, result, inputs);
            AuditCsvWriter.WriteVerdict(OutDir, verdict);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"trafficaudit: cannot write to {OutDir}: {e.Message}");
            return null;
        }
        if (final && !Quiet)
        {
            ConsoleSummary.Write(stdout, result, inputs, OutDir, Servers.Count > 0, sourceTitle);
            ConsoleVerdict.Write(stdout, verdict, OutDir);
        }
        return verdict;
    }
}
