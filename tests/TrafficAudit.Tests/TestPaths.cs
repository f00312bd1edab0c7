namespace TrafficAudit.Tests;

/// <summary>Where the repository, its captures and the shared public captures are, from a test's point of view.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared beside the repository (or $TRAFFICAUDIT_SHARED).</summary>
    public static string SharedDir => Environment.GetEnvironmentVariable("TRAFFICAUDIT_SHARED")
        ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>Real third-party captures; absent on some machines, so tests that need them report Inconclusive.</summary>
    public static string PublicCaptures => Path.Combine(SharedDir, "captures", "public");

    public static string Captures => Path.Combine(RepoRoot, "captures");

    public static string TestData => Path.Combine(AppContext.BaseDirectory, "TestData");

    /// <summary>Path of a public capture, or marks the test inconclusive when the shared folder is not there.</summary>
    public static string PublicCapture(string relative)
    {
        var p = Path.Combine(PublicCaptures, relative);
        if (!File.Exists(p)) Assert.Inconclusive($"public capture not available: {p}");
        return p;
    }

    private static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "TrafficAudit.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("TrafficAudit.sln not found above " + AppContext.BaseDirectory);
    }
}
