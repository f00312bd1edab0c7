using TrafficAudit.Cli;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>Runs the trafficaudit command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, string OutDir)
    {
        public string[] FlowsCsv => System.IO.File.ReadAllLines(Path.Combine(OutDir, "flows.csv"));
        public string File(string name) => Path.Combine(OutDir, name);
    }

    public static Result Audit(params string[] argsAfterFiles) => Run(["audit", .. argsAfterFiles]);

    public static Result Run(string[] args)
    {
        var outDir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        bool hasOut = args.Contains("--out");
        string[] full = hasOut || args.Length == 0 || args[0] != "audit" ? args : [.. args, "--out", outDir];
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = CommandLine.Run(full, o, e);
        int at = Array.IndexOf(full, "--out");
        string dir = at >= 0 && at + 1 < full.Length ? full[at + 1] : outDir;
        return new Result(rc, o.ToString(), e.ToString(), dir);
    }
}
