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

    /// <summary>
    /// The VoIP stage's thread reads the capture ahead even when nothing else wakes it: on a capture of long TCP connections
    /// only (no VoIP batch for the stage) whose flows are all held for node detection (no rows for it either), every chunk
    /// the engine's thread gives back wakes it to read the next one (<see cref="IIdleReader.ChunkFreed"/>). Without that
    /// it read the first chunks and slept to the end, and the engine's thread read all the rest itself.
    /// </summary>
    [TestMethod]
    public void IdleStage_WokenByEachChunkFreed_ReadsAhead_WithoutBatchesOrRows()
    {
        if (Environment.ProcessorCount < 2) Assert.Inconclusive("two threads on one core: the stage runs only when the engine's thread waits");
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var pcap = Path.Combine(dir, "tcp-only.pcap");
        const int connections = 400, packets = 120_000;
        uint server = global::TrafficAudit.Synth.Wire.Frames.ParseIPv4("10.2.0.1");
        var payload = new byte[200];
        var frame = new byte[global::TrafficAudit.Synth.Wire.Frames.EthernetHeaderLength + global::TrafficAudit.Synth.Wire.Frames.IPv4HeaderLength + global::TrafficAudit.Synth.Wire.Frames.TcpHeaderLength + payload.Length];
        using (var file = File.Create(pcap))
        using (var w = new global::TrafficAudit.Synth.Pcap.PcapFileWriter(file))
        {
            for (int i = 0; i < packets; i++)
            {
                int c = i % connections;
                uint client = global::TrafficAudit.Synth.Wire.Frames.ParseIPv4("10.1.0.0") + 1 + (uint)c;
                bool toServer = (i / connections) % 2 == 0;
                var (flags, data) = (i / connections) switch { 0 => (global::TrafficAudit.Synth.Wire.TcpFlag.Syn, 0), 1 => (global::TrafficAudit.Synth.Wire.TcpFlag.Syn | global::TrafficAudit.Synth.Wire.TcpFlag.Ack, 0), _ => (global::TrafficAudit.Synth.Wire.TcpFlag.Ack | global::TrafficAudit.Synth.Wire.TcpFlag.Psh, payload.Length) };
                var (src, dst, sp, dp) = toServer ? (client, server, (ushort)(30_000 + c), (ushort)443) : (server, client, (ushort)443, (ushort)(30_000 + c));
                int off = global::TrafficAudit.Synth.Wire.Frames.WriteEthernet(frame, [0, 0x50, 0x56, 0, 0, 2], [0, 0x50, 0x56, 0, 0, 1], 0, global::TrafficAudit.Synth.Wire.EtherType.IPv4);
                int l4 = global::TrafficAudit.Synth.Wire.Frames.WriteTcp(frame.AsSpan(off + global::TrafficAudit.Synth.Wire.Frames.IPv4HeaderLength), src, dst, sp, dp, (uint)i, (uint)i, flags, 64240, [], payload.AsSpan(0, data));
                global::TrafficAudit.Synth.Wire.Frames.WriteIPv4(frame.AsSpan(off), src, dst, global::TrafficAudit.Synth.Wire.Frames.ProtocolTcp, (ushort)i, l4);
                w.Write(1_772_442_000_000_000L + i * 1_000L, frame.AsSpan(0, off + global::TrafficAudit.Synth.Wire.Frames.IPv4HeaderLength + l4));
            }
        }
        long chunks = new FileInfo(pcap).Length / ReadAhead.DefaultChunkBytes;
        Assert.IsGreaterThan(40, chunks, "a capture of many chunks");
        var r = CliRunner.Run(["audit", pcap, "--out", Path.Combine(dir, "out"), "--quiet", "--fail-on", "never", "--stats", "--threads", "2", "--read-ahead", "idle"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        string line = r.Stderr.Split('\n').Single(l => l.StartsWith("stats: ", StringComparison.Ordinal));
        var stats = line["stats: ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Directory.Delete(dir, recursive: true);
        Assert.AreEqual("idle", stats["read_ahead"]);
        Assert.AreEqual(connections.ToString(System.Globalization.CultureInfo.InvariantCulture), stats["flows"]);
        long idleReads = long.Parse(stats["idle_reads"], System.Globalization.CultureInfo.InvariantCulture);
        // Woken for each chunk freed, the stage reads most of them; asleep, it read the first four (the chunks free at the start).
        Assert.IsGreaterThan(chunks / 4, idleReads, $"{chunks} chunks: {line}");
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
        public Func<bool>? ChunkFreed { get; set; }
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
