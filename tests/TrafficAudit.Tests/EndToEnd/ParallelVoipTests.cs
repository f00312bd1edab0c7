using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>The VoIP stage on its own thread must give exactly the results of the single-threaded run.</summary>
[TestClass]
public sealed class ParallelVoipTests
{
    public static IEnumerable<object[]> Captures()
    {
        yield return [Path.Combine(TestPaths.Captures, "imagicle-site.pcap")];
        foreach (var f in new[] { "heplify/sip_ipv4_tcp.pcap", "ndpi/skinny.pcap", "wireshark-wiki/SIP_CALL_RTP_G711", "wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", "ndpi/fuzz-2006-06-26-2594.pcap" })
            yield return [Path.Combine(TestPaths.PublicCaptures, f)];
    }

    [TestMethod]
    [DynamicData(nameof(Captures))]
    public void Audit_ParallelAndSequentialVoip_WriteIdenticalFiles(string path)
    {
        if (!File.Exists(path)) Assert.Inconclusive($"capture not available: {path}");
        var sequential = Write(path, parallel: false);
        var parallel = Write(path, parallel: true);
        foreach (var name in new[] { "flows.csv", "rtp_streams.csv", "calls.csv", "anomalies.csv" })
            Assert.AreEqual(File.ReadAllText(Path.Combine(sequential, name)), File.ReadAllText(Path.Combine(parallel, name)), name);
    }

    [TestMethod]
    [DynamicData(nameof(Captures))]
    public void Cli_Threads1AndThreads2_WriteIdenticalFiles(string path)
    {
        if (!File.Exists(path)) Assert.Inconclusive($"capture not available: {path}");
        var dirs = new[] { "1", "2" }.Select(n =>
        {
            var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
            var r = CliRunner.Run(["audit", path, "--out", dir, "--quiet", "--fail-on", "never", "--series", "--stats", "--threads", n]);
            Assert.AreEqual(0, r.ExitCode, r.Stderr);
            StringAssert.Contains(r.Stderr, $" threads={n} ", "the engine runs on the threads asked for");
            return dir;
        }).ToArray();
        var names = Directory.GetFiles(dirs[0]).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(names, Directory.GetFiles(dirs[1]).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        Assert.IsTrue(names.Contains("flows.csv") && names.Contains("findings.csv") && names.Contains("rtp_series.csv"), string.Join(", ", names!));
        foreach (var name in names)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dirs[0], name!)), File.ReadAllBytes(Path.Combine(dirs[1], name!)), name);
    }

    private static string Write(string path, bool parallel)
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { ParallelVoip = parallel });
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        AuditCsvWriter.WriteAll(dir, engine.Complete(source.Interfaces, source.Errors), [path]);
        return dir;
    }
}
