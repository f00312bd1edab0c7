using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Cli;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>What a parsed audit command line sets up before the first packet.</summary>
[TestClass]
public sealed class AuditSetupTests
{
    private static AuditSetup Setup(params string[] args)
    {
        Assert.IsTrue(CliParser.TryParseSimple(args, out var parsed), string.Join(' ', args));
        return AuditSetup.From(parsed.Arguments, args);
    }

    /// <summary>
    /// The report's table and charts are the only readers of the calls the run totals keep (up to 2,000, with their streams
    /// and SDP): without --report none is kept, and the console still has its first calls.
    /// </summary>
    [TestMethod]
    public void NewRunTotals_KeepTheReportsCalls_OnlyWithReport()
    {
        string outDir = Path.Combine(Path.GetTempPath(), "ta-setup-" + Guid.NewGuid().ToString("N"));
        var plain = Setup("audit", "site.pcap", "--out", outDir).NewRunTotals();
        Assert.AreEqual(0, plain.MaxTableCalls);
        Assert.AreEqual(0, plain.MaxChartedCalls);
        var report = Setup("audit", "site.pcap", "--out", outDir, "--report").NewRunTotals();
        Assert.AreEqual(RunTotals.DefaultMaxTableCalls, report.MaxTableCalls);
        Assert.AreEqual(RunTotals.DefaultMaxChartedCalls, report.MaxChartedCalls);

        var result = Run(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        foreach (var c in result.Calls) plain.OnCall(c);
        Assert.IsNotEmpty(result.Calls, "the sample has calls");
        Assert.IsEmpty(plain.WorstCalls);
        Assert.IsEmpty(plain.ChartedCalls);
        Assert.HasCount(Math.Min(result.Calls.Count, RunTotals.FirstCallsKept), plain.FirstCalls, "the console lists its first calls whatever the report keeps");
    }

    private static AuditResult Run(string path)
    {
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var src = CaptureFile.Open(path, 0, engine.Anomalies);
        while (src.MoveNext()) engine.Process(src.Header, src.Data);
        return engine.Complete(src.Interfaces, src.Errors);
    }
}
