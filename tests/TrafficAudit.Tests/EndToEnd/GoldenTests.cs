namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// Every capture in captures/ through the whole `audit` command, compared byte for byte with the
/// machine-written goldens in tests/TrafficAudit.Tests/Golden/NAME/*.expected.csv. On a difference the
/// new output is left beside the golden as *.actual.csv; after review, tools/accept-goldens.sh
/// rewrites the goldens. Nobody edits them by hand.
/// </summary>
[TestClass]
public sealed class GoldenTests
{
    private static readonly string[] OutputFiles = ["flows.csv", "rtp_streams.csv", "calls.csv", "sip_options.csv", "anomalies.csv", "findings.csv", "expected_flows.csv"];

    private static bool Accepting => Environment.GetEnvironmentVariable("TRAFFICAUDIT_ACCEPT_GOLDENS") == "1";

    public static IEnumerable<object[]> Captures() =>
        Directory.EnumerateFiles(TestPaths.Captures)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Select(f => new object[] { Path.GetFileName(f) })
            .Order();

    [TestMethod]
    [DynamicData(nameof(Captures))]
    public void Audit_BundledCapture_MatchesGolden(string capture)
    {
        // A deployment profile beside the capture (NAME.profile.json) is used for the verdict.
        var path = Path.Combine(TestPaths.Captures, capture);
        var profile = Path.ChangeExtension(path, ".profile.json");
        var r = File.Exists(profile) ? CliRunner.Audit(path, "--profile", profile, "--fail-on", "never") : CliRunner.Audit(path, "--fail-on", "never");
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var goldenDir = Path.Combine(TestPaths.RepoRoot, "tests", "TrafficAudit.Tests", "Golden", Path.GetFileNameWithoutExtension(capture));
        var differences = new List<string>();
        foreach (var name in OutputFiles)
        {
            var expectedPath = Path.Combine(goldenDir, Path.ChangeExtension(name, ".expected.csv"));
            var actualPath = Path.Combine(goldenDir, Path.ChangeExtension(name, ".actual.csv"));
            if (!File.Exists(r.File(name))) { Assert.IsFalse(File.Exists(expectedPath), $"{name} was not written"); continue; }
            var actual = File.ReadAllText(r.File(name));
            if (Accepting)
            {
                Directory.CreateDirectory(goldenDir);
                File.WriteAllText(expectedPath, actual);
                if (File.Exists(actualPath)) File.Delete(actualPath);
                continue;
            }
            Assert.IsTrue(File.Exists(expectedPath), $"no golden {expectedPath}: run tools/accept-goldens.sh and review the diff");
            if (File.ReadAllText(expectedPath) == actual)
            {
                if (File.Exists(actualPath)) File.Delete(actualPath);
                continue;
            }
            File.WriteAllText(actualPath, actual);
            differences.Add($"{name} differs: diff {expectedPath} {actualPath}");
        }
        Assert.AreEqual(0, differences.Count, string.Join("\n", differences));
    }
}
