using System.Diagnostics;
using System.IO.Compression;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The executable users run is compiled ahead of time (tools/publish.sh: .NET Native AOT), not the
/// JIT-compiled build every other test runs in-process. Each case here runs both, one after the other
/// into the same output folder, and demands the same exit code, the same console text and every file
/// the same, byte for byte: what the tests prove of the in-process build then holds for what ships.
/// tools/test.sh publishes the executable and names it in TRAFFICAUDIT_SHIPPED; without that variable
/// the tests are inconclusive.
/// </summary>
[TestClass]
public sealed class ShippedBuildTests
{
    private static string Shipped
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("TRAFFICAUDIT_SHIPPED");
            if (string.IsNullOrEmpty(path)) Assert.Inconclusive("TRAFFICAUDIT_SHIPPED is not set: tools/test.sh publishes the shipped executable and sets it");
            Assert.IsTrue(File.Exists(path), $"TRAFFICAUDIT_SHIPPED names no file: {path}");
            return path;
        }
    }

    private static string Site => Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
    private static string SiteProfile => Path.Combine(TestPaths.Captures, "imagicle-site.profile.json");

    public static IEnumerable<object[]> SiteCases()
    {
        string site = Site, profile = SiteProfile;
        yield return ["every output option", new[] { "audit", site, "--profile", profile, "--report", "--series", "--evidence", "--title", "Site A" }];
        yield return ["detected nodes", new[] { "audit", site, "--report" }];
        yield return ["jsonl, anonymized", new[] { "audit", site, "--profile", profile, "--format", "jsonl", "--anonymize-seed", "s1" }];
        yield return ["rotation", new[] { "audit", site, "--rotate", "30s", "--series", "--fail-on", "never" }];
        yield return ["window", new[] { "audit", site, "--from", "+30s", "--to", "+90s", "--count", "1000", "--server", "10.0.0.10" }];
        yield return ["one thread", new[] { "audit", site, "--profile", profile, "--threads", "1", "--quiet" }];
        yield return ["catalogue table", new[] { "catalogue" }];
        yield return ["catalogue json", new[] { "catalogue", "--json" }];
        yield return ["catalogue wide", new[] { "catalogue", "--wide" }];
        yield return ["version", new[] { "--version" }];
        yield return ["help", new[] { "--help" }];
        yield return ["audit help", new[] { "audit", "--help" }];
        yield return ["live help", new[] { "live", "--help" }];
        yield return ["typo", new[] { "audit", site, "--reprot" }];
        yield return ["bad rotation", new[] { "audit", site, "--rotate", "5x" }];
        yield return ["missing capture", new[] { "audit", "/nonexistent/trafficaudit.pcap" }];
    }

    [TestMethod]
    [DynamicData(nameof(SiteCases))]
    public void Shipped_SiteCommands_PrintAndWriteWhatTheInProcessCliDoes(string name, string[] args) => AssertSame(name, args);

    [TestMethod]
    public void Shipped_BadProfileAndGzipInput_SameMessagesAndFiles()
    {
        var dir = NewDir();
        Directory.CreateDirectory(dir);
        // A profile with a syntax error on its third line: both must name the file, line and column.
        var bad = Path.Combine(dir, "bad.profile.json");
        File.WriteAllText(bad, "{\n  \"nodes\": [\"10.0.0.10\"],\n  \"applications\": [tru\n}\n");
        AssertSame("bad profile", ["audit", Site, "--profile", bad]);
        var gz = Path.Combine(dir, "site.pcap.gz");
        using (var output = File.Create(gz))
        using (var zip = new GZipStream(output, CompressionLevel.Fastest))
            File.OpenRead(Site).CopyTo(zip);
        AssertSame("gzip capture", ["audit", gz, "--profile", SiteProfile]);
    }

    [TestMethod]
    public void Shipped_EveryPublicCapture_WritesWhatTheInProcessCliWrites()
    {
        _ = Shipped;
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        // Every file of the public set, whatever its name (some have no extension, some are malformed on purpose).
        var files = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(40, files.Count);
        foreach (var f in files) AssertSame(f, ["audit", f, "--series", "--report", "--fail-on", "never"]);
    }

    /// <summary>
    /// Runs <paramref name="args"/> (with --out added for audit) through the shipped executable, moves what it
    /// wrote aside, runs the same through the in-process CLI into the same folder, and compares everything.
    /// </summary>
    private static void AssertSame(string name, string[] args)
    {
        string shipped = Shipped;
        var dir = NewDir();
        string[] full = args.Length > 0 && args[0] == "audit" && !args.Contains("--help") ? [.. args, "--out", dir] : args;
        var native = RunNative(shipped, full);
        var nativeDir = dir + ".shipped";
        if (Directory.Exists(dir)) Directory.Move(dir, nativeDir);
        var inProcess = CliRunner.Run(full);
        Assert.AreEqual(inProcess.ExitCode, native.ExitCode, $"{name}: exit code; shipped stderr: {native.Stderr}");
        // System.CommandLine names the program in a command's usage line after the running executable: the test host here.
        Assert.AreEqual(inProcess.Stdout.Replace("\n  TrafficAudit.Tests ", "\n  trafficaudit ", StringComparison.Ordinal), native.Stdout, $"{name}: standard output");
        Assert.AreEqual(inProcess.Stderr, native.Stderr, $"{name}: standard error");
        var expected = Files(dir);
        CollectionAssert.AreEqual(expected, Files(nativeDir), $"{name}: files written");
        foreach (var f in expected)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dir, f)), File.ReadAllBytes(Path.Combine(nativeDir, f)), $"{name}: {f}");
    }

    private static string NewDir() => Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));

    private static string[] Files(string dir) => Directory.Exists(dir)
        ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal).ToArray()
        : [];

    private static (int ExitCode, string Stdout, string Stderr) RunNative(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{exe} {string.Join(' ', args)}: no exit within 120 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
