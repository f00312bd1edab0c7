namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// A streaming audit (records leave the engine as they end: record logs, run totals, incremental policy)
/// against a collecting one (--evidence keeps every record for the end, as every audit did before
/// issue 9): the same rows in every table, whatever their order, and the same findings and matrix.
/// </summary>
[TestClass]
public sealed class StreamingAuditTests
{
    /// <summary>Tables whose rows leave as records end (their order is the order they ended).</summary>
    private static readonly string[] RecordTables = ["flows.csv", "rtp_streams.csv", "calls.csv"];
    /// <summary>Tables written from aggregates at the end.</summary>
    private static readonly string[] AggregateTables = ["findings.csv", "expected_flows.csv", "sip_options.csv", "anomalies.csv"];

    public static IEnumerable<object[]> Captures()
    {
        yield return [Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), "--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json")];
        yield return [Path.Combine(TestPaths.Captures, "imagicle-site.pcap")];
        if (!Directory.Exists(TestPaths.PublicCaptures)) yield break;
        foreach (var f in Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
                     .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal) || f.EndsWith(".cap", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
            yield return [f];
    }

    [TestMethod]
    [DynamicData(nameof(Captures))]
    public void Audit_Streaming_HasTheRowsAndVerdictOfACollectingRun(string capture, params string[] extra)
    {
        var streamed = CliRunner.Audit([capture, "--quiet", "--fail-on", "never", .. extra]);
        var collected = CliRunner.Audit([capture, "--quiet", "--fail-on", "never", "--evidence", .. extra]);
        Assert.AreEqual(collected.ExitCode, streamed.ExitCode, streamed.Stderr);
        if (streamed.ExitCode != 0) return;   // nothing decodable: neither writes a table
        foreach (var table in RecordTables)
            CollectionAssert.AreEquivalent(Rows(collected.File(table)), Rows(streamed.File(table)), $"{table} of {capture}: the same rows, any order");
        foreach (var table in AggregateTables.Where(t => File.Exists(collected.File(t))))
            CollectionAssert.AreEqual(Rows(collected.File(table)), Rows(streamed.File(table)), $"{table} of {capture}: the same rows, same order");
    }

    /// <summary>The rows of a table as text without the evidence_file column (only a collecting run with --evidence fills it).</summary>
    private static List<string> Rows(string path)
    {
        var rows = Csv.Read(path);
        return rows.Select(r => string.Join("\u001f", r.Where(kv => kv.Key != "evidence_file").Select(kv => kv.Key + "=" + kv.Value))).ToList();
    }
}
