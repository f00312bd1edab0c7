using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Cli;

/// <summary>
/// What `audit` and `live` share: the options that shape the audit (--out, --server, --catalogue,
/// --quiet), the engine built from them, and the post-processing of a result (<see cref="WriteOutputs"/>).
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
    };

    /// <summary>Flags common to every auditing command.</summary>
    public static IReadOnlyDictionary<string, string> FlagOptions { get; } = new Dictionary<string, string>
    {
        ["--quiet"] = "--quiet", ["-q"] = "--quiet",
    };

    private AuditSetup(string outDir, IReadOnlyList<IpAddress> servers, PortCatalogue catalogue, bool quiet)
    {
        OutDir = outDir;
        Servers = servers;
        Catalogue = catalogue;
        Quiet = quiet;
    }

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
        return new AuditSetup(outDir, servers, catalogue, a.Flag("--quiet"));
    }

    public AuditEngine CreateEngine() => new(Catalogue, new AuditOptions { Servers = Servers.ToList() });

    /// <summary>
    /// The post-processing of a result, the same for a file audit and for a live capture (each
    /// periodic flush and the final one): the CSV files (each replaced atomically) and, when
    /// <paramref name="final"/> and not --quiet, the console summary. Findings plug in here, for both.
    /// Returns false, with the reason on <paramref name="stderr"/>, when the folder cannot be written.
    /// </summary>
    /// <param name="inputs">The capture files, or the live interface's label: anomalies.csv names them.</param>
    public bool WriteOutputs(AuditResult result, IReadOnlyList<string> inputs, bool final, TextWriter stdout, TextWriter stderr, string? sourceTitle = null)
    {
        try
        {
            AuditCsvWriter.WriteAll(OutDir, result, inputs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"trafficaudit: cannot write to {OutDir}: {e.Message}");
            return false;
        }
        if (final && !Quiet) ConsoleSummary.Write(stdout, result, inputs, OutDir, Servers.Count > 0, sourceTitle);
        return true;
    }
}
