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
        var names = AssertThreadCountsWriteTheSameFiles(path, []);
        Assert.IsTrue(names.Contains("flows.csv") && names.Contains("findings.csv") && names.Contains("rtp_series.csv"), string.Join(", ", names));
    }

    [TestMethod]
    public void Cli_Threads1AndThreads2_WriteIdenticalFiles_SiteWithItsProfile_AndEveryPublicCapture()
    {
        AssertThreadCountsWriteTheSameFiles(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), ["--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json")]);
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        // Every file of the public set, whatever its name (some have no extension, some are malformed on purpose).
        var files = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(40, files.Count);
        foreach (var f in files) AssertThreadCountsWriteTheSameFiles(f, []);
    }

    /// <summary>Audits <paramref name="path"/> through the CLI with --threads 1 and 2; every file written must be the same byte for byte. Returns the names.</summary>
    private static string[] AssertThreadCountsWriteTheSameFiles(string path, string[] extra)
    {
        var runs = new[] { "1", "2" }.Select(n =>
        {
            var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
            var r = CliRunner.Run(["audit", path, "--out", dir, "--quiet", "--fail-on", "never", "--series", "--stats", "--threads", n, .. extra]);
            if (r.ExitCode == 0)
            {
                StringAssert.Contains(r.Stderr, $" threads={n} ", $"{path}: the engine runs on the threads asked for");
                // --threads 1 is one thread: the record files are written on it too.
                StringAssert.Contains(r.Stderr, n == "1" ? " record_writer=inline "
                    : Environment.ProcessorCount > 2 ? " record_writer=thread " : " record_writer=shared ", path);
            }
            return (Dir: dir, r.ExitCode);
        }).ToArray();
        Assert.AreEqual(runs[0].ExitCode, runs[1].ExitCode, path);
        string[] Names(string dir) => Directory.Exists(dir) ? Directory.GetFiles(dir).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray() : [];
        var names = Names(runs[0].Dir);
        CollectionAssert.AreEqual(names, Names(runs[1].Dir), path);
        foreach (var name in names)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(runs[0].Dir, name)), File.ReadAllBytes(Path.Combine(runs[1].Dir, name)), $"{path}: {name}");
        return names;
    }

    /// <summary>
    /// `--stats` says how long the loop held flows for node detection and how long the VoIP stage's thread slept, in all
    /// and during the hold: nothing held with the profile's nodes; without them the sample's hold never fills, so the
    /// whole loop is the hold.
    /// </summary>
    /// <summary>The `--stats` line of the sample site's audit on two threads, by name.</summary>
    private static Dictionary<string, string> SiteStats(params string[] extra)
    {
        string site = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        var r = CliRunner.Run(["audit", site, "--out", dir, "--quiet", "--fail-on", "never", "--stats", "--threads", "2", .. extra]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        string line = r.Stderr.Split('\n').Single(l => l.StartsWith("stats: ", StringComparison.Ordinal));
        return line["stats: ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
    }

    /// <summary>`--stats` counts the classifier's remembered verdicts: some, fewer than the flows, none refused below the cap.</summary>
    [TestMethod]
    public void Stats_Verdicts_FewerThanTheFlows_NoneRefused()
    {
        var stats = SiteStats();
        int remembered = int.Parse(stats["verdicts_remembered"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsGreaterThan(0, remembered);
        Assert.IsLessThan(int.Parse(stats["flows"], System.Globalization.CultureInfo.InvariantCulture), remembered);
        Assert.AreEqual("0", stats["verdicts_not_remembered"]);
    }

    [TestMethod]
    public void Stats_HoldAndTheStagesSleep_NoneHeldWithTheProfile_TheWholeLoopWithoutOne()
    {
        Dictionary<string, string> Stats(params string[] extra) => SiteStats(extra);
        var profiled = Stats("--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"));
        Assert.AreEqual("0.000", profiled["hold_s"]);
        Assert.AreEqual("0.000", profiled["voip_sleep_hold_s"]);
        Assert.IsGreaterThanOrEqualTo(0.0, double.Parse(profiled["voip_sleep_s"], System.Globalization.CultureInfo.InvariantCulture));
        var detected = Stats();
        Assert.AreEqual(detected["loop_s"], detected["hold_s"], "the hold never filled: the nodes were decided at the end");
        Assert.AreEqual(detected["voip_sleep_s"], detected["voip_sleep_hold_s"]);
    }

    /// <summary>Who writes the record files, by threads, live capture and cores.</summary>
    [TestMethod]
    public void RecordWriter_OneThreadWritesItself_TwoThreadsShareTwoCores_ElseAThreadOfItsOwn()
    {
        static TrafficAudit.Outputs.RecordWriter For(int threads, bool live, int cores) => TrafficAudit.Cli.AuditSetup.WriterFor(threads, live, cores);
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Caller, For(1, live: false, cores: 1));
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Caller, For(1, live: false, cores: 16), "one thread is one thread, whatever the cores");
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Shared, For(2, live: false, cores: 2));
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Shared, For(2, live: false, cores: 1));
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Thread, For(2, live: false, cores: 4), "a core left over takes the writer");
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Thread, For(3, live: false, cores: 2), "the sharded engine");
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Thread, For(1, live: true, cores: 1), "live's flush runs on a thread of its own");
        Assert.AreEqual(TrafficAudit.Outputs.RecordWriter.Thread, For(2, live: true, cores: 2));
    }

    /// <summary>A reader that counts the chunks it is asked to read ahead, and has some while <see cref="Free"/> lasts.</summary>
    private sealed class CountingReader : IIdleReader
    {
        public int Reads, Free = int.MaxValue;
        public bool ReadOneAhead()
        {
            if (Free == 0) return false;
            Free--;
            Reads++;
            return true;
        }
    }

    [TestMethod]
    public void IdleWork_WritesWaitingRowsFirst_ThenReadsAhead()
    {
        var flows = SiteFlows.Value;
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        using var log = new RecordLog(dir, new RecordLogOptions { Writer = RecordWriter.Shared });
        var reader = new CountingReader();
        var idle = TrafficAudit.Cli.AuditCommand.IdleWork(reader, log)!;
        for (int i = 0; i < RecordLog.SharedSlice + 1; i++) log.OnFlow(flows[i % flows.Count]);
        // Rows wait: the idle thread writes a slice, then the rest, and reads nothing meanwhile.
        Assert.IsTrue(idle());
        Assert.AreEqual(0, reader.Reads);
        Assert.AreEqual(1, log.SharedSlices);
        Assert.IsTrue(idle());
        Assert.AreEqual(0, reader.Reads);
        Assert.AreEqual(2, log.SharedSlices);
        // None waits: it reads ahead, one chunk a call, while one is free.
        reader.Free = 2;
        Assert.IsTrue(idle());
        Assert.IsTrue(idle());
        Assert.AreEqual(2, reader.Reads);
        Assert.IsFalse(idle(), "nothing to write, no chunk free");
        // Either alone, and neither.
        Assert.IsNull(TrafficAudit.Cli.AuditCommand.IdleWork(null, null));
        Assert.IsFalse(TrafficAudit.Cli.AuditCommand.IdleWork(null, log)!(), "nothing waits");
        reader.Free = 1;
        Assert.IsTrue(TrafficAudit.Cli.AuditCommand.IdleWork(reader, null)!());
        Assert.AreEqual(3, reader.Reads);
    }

    /// <summary>The site's flow records, made once.</summary>
    private static readonly Lazy<IReadOnlyList<FlowRecord>> SiteFlows = new(() =>
    {
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        return engine.Complete(source.Interfaces, source.Errors).Flows;
    });

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
