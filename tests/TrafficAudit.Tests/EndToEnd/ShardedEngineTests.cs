using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Tests.Decode;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The sharded engine (flows split over shard threads by their key's hash, results merged in capture order) must
/// write exactly what the one-thread engine writes, whatever the number of shards: the cases where state crosses
/// flows or shards (ICMP errors quoting a flow of another shard, fragments reassembled before dispatch, sweeps that
/// end flows in every shard at once, DNS names, SDP announcing media on other flows, RTCP on port+1, live snapshots).
/// </summary>
[TestClass]
public sealed class ShardedEngineTests
{
    private static readonly int[] ShardCounts = [0, 1, 3, 8];

    /// <summary>Every scenario of the generator (seed 1), through the CLI at --threads 1, 2 (VoIP stage), 3 and 6 (1 and 4 shards).</summary>
    [TestMethod]
    public void Cli_EveryScenario_SameFilesAtEveryThreadCount()
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        Assert.IsGreaterThan(15, ScenarioCatalog.All.Count);
        foreach (var s in ScenarioCatalog.All)
        {
            var pcap = Path.Combine(dir, s.Name + ".pcap");
            File.WriteAllBytes(pcap, s.Build(1).ToPcapBytes());
            AssertSameFilesAtThreadCounts(pcap, ["1", "2", "3", "6"]);
        }
    }

    /// <summary>The public captures (fragments, SIP over TCP, SLL, VLAN, ERSPAN, malformed files) at --threads 1, 3 and 5.</summary>
    [TestMethod]
    public void Cli_EveryPublicCapture_SameFilesWithShards()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        var files = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(40, files.Count);
        foreach (var f in files) AssertSameFilesAtThreadCounts(f, ["1", "3", "5"]);
    }

    /// <summary>
    /// A gzip-compressed capture, decompressed on a thread of its own from --threads 2 (<see cref="ReadAhead"/>): whole,
    /// cut and with a bad CRC, it writes at --threads 2 and 3 what it writes at --threads 1, and --stats says who read ahead.
    /// </summary>
    [TestMethod]
    public void Cli_GzipCapture_DecompressedAhead_SameFilesAtEveryThreadCount()
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        Assert.AreEqual(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32LittleEndian(site), "a little-endian µs pcap");
        // Six copies of the site, each an hour after the one before: large enough that its gzip is read ahead.
        var big = new MemoryStream();
        big.Write(site, 0, 24);
        for (uint copy = 0; copy < 6; copy++)
        {
            for (int at = 24; at + 16 <= site.Length;)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(site.AsSpan(at + 8));
                var header = site.AsSpan(at, 16).ToArray();
                BinaryPrimitives.WriteUInt32LittleEndian(header, BinaryPrimitives.ReadUInt32LittleEndian(header) + copy * 3600);
                big.Write(header);
                big.Write(site, at + 16, length);
                at += 16 + length;
            }
        }
        var gz = new MemoryStream();
        using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) z.Write(big.ToArray());
        var whole = gz.ToArray();
        Assert.IsGreaterThan(2 << 20, whole.Length, "more than the size read on the caller's thread");
        var badCrc = (byte[])whole.Clone();
        badCrc[^8] ^= 0xFF;
        foreach (var (name, bytes) in new[] { ("site6.pcap.gz", whole), ("cut.pcap.gz", whole[..(whole.Length * 2 / 3)]), ("badcrc.pcap.gz", badCrc) })
        {
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, bytes);
            AssertSameFilesAtThreadCounts(path, ["1", "2", "3"]);
        }
        var gzPath = Path.Combine(dir, "site6.pcap.gz");
        string Stats(string path, string outName, params string[] extra) =>
            CliRunner.Run(["audit", path, "--out", Path.Combine(dir, outName), "--quiet", "--fail-on", "never", "--series", "--stats", .. extra]).Stderr;
        StringAssert.Contains(Stats(gzPath, "gz2", "--threads", "2"), " read_ahead=yes ");
        StringAssert.Contains(Stats(gzPath, "gz1", "--threads", "1"), " read_ahead=no ");
        StringAssert.Contains(Stats(gzPath, "gzn", "--threads", "2", "--read-ahead", "never"), " read_ahead=no ");
        // A plain file read ahead when asked (auto does so when a core is left over), at one thread and two.
        var plain = Path.Combine(dir, "site6.pcap");
        File.WriteAllBytes(plain, big.ToArray());
        StringAssert.Contains(Stats(plain, "never", "--threads", "1", "--read-ahead", "never"), " read_ahead=no ");
        StringAssert.Contains(Stats(plain, "always1", "--threads", "1", "--read-ahead", "always"), " read_ahead=yes ");
        StringAssert.Contains(Stats(plain, "always2", "--threads", "2", "--read-ahead", "always"), " read_ahead=yes ");
        // Read ahead by the VoIP stage's thread between its batches (auto's choice at 2 threads on 2 cores), at 2 threads
        // and at 5 (the sharded engine's reader helped by its VoIP stage); at 1 and 3 nobody helps and the engine reads.
        foreach (var threads in new[] { "1", "2", "3", "5" })
        {
            var stats = Stats(plain, "idle" + threads, "--threads", threads, "--read-ahead", "idle");
            StringAssert.Contains(stats, " read_ahead=idle ");
            AssertSameFiles(Path.Combine(dir, "never"), Path.Combine(dir, "idle" + threads), $"--read-ahead idle, --threads {threads}");
        }
        AssertSameFiles(Path.Combine(dir, "never"), Path.Combine(dir, "always1"), "--read-ahead always, --threads 1");
        AssertSameFiles(Path.Combine(dir, "never"), Path.Combine(dir, "always2"), "--read-ahead always, --threads 2");
        AssertSameFiles(Path.Combine(dir, "gz1"), Path.Combine(dir, "gz2"), "gzip, --threads 2");
    }

    /// <summary>
    /// Two gzip captures merged by time (each decompressed on a thread of its own from --threads 2): the site twelve
    /// times an hour apart, its packets dealt alternately to the two files, so that both are read side by side; the
    /// files written at --threads 2 and 3 are those of --threads 1.
    /// </summary>
    [TestMethod]
    public void Cli_TwoGzipCapturesMerged_DecompressedAhead_SameFilesAtEveryThreadCount()
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var halves = new[] { new MemoryStream(), new MemoryStream() };
        foreach (var h in halves) h.Write(site, 0, 24);
        int n = 0;
        for (uint copy = 0; copy < 12; copy++)
            for (int at = 24; at + 16 <= site.Length;)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(site.AsSpan(at + 8));
                var header = site.AsSpan(at, 16).ToArray();
                BinaryPrimitives.WriteUInt32LittleEndian(header, BinaryPrimitives.ReadUInt32LittleEndian(header) + copy * 3600);
                var half = halves[n++ & 1];
                half.Write(header);
                half.Write(site, at + 16, length);
                at += 16 + length;
            }
        var paths = new List<string>();
        foreach (var (h, name) in halves.Zip(new[] { "a.pcap.gz", "b.pcap.gz" }))
        {
            var gz = new MemoryStream();
            using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) z.Write(h.ToArray());
            Assert.IsGreaterThan(2 << 20, gz.Length, "more than the size read on the caller's thread");
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, gz.ToArray());
            paths.Add(path);
        }
        (string Out, string Stderr) Run(string threads)
        {
            var o = Path.Combine(dir, "t" + threads);
            var r = CliRunner.Run(["audit", paths[0], paths[1], "--out", o, "--quiet", "--fail-on", "never", "--series", "--stats", "--threads", threads]);
            Assert.AreEqual(0, r.ExitCode, r.Stderr);
            return (o, r.Stderr);
        }
        var one = Run("1");
        StringAssert.Contains(one.Stderr, " read_ahead=no ");
        foreach (var threads in new[] { "2", "3" })
        {
            var other = Run(threads);
            StringAssert.Contains(other.Stderr, " read_ahead=yes ");
            AssertSameFiles(one.Out, other.Out, $"two gzip files merged, --threads {threads}");
        }
    }

    /// <summary>--read-ahead auto: who reads ahead, by threads, files open at once and cores.</summary>
    [TestMethod]
    public void ReadAheadAuto_CompressedOnlyUnlessACoreIsLeftOver()
    {
        static ReadAheadMode For(ReadAheadMode? asked, int threads, int files, int cores) => TrafficAudit.Cli.AuditCommand.ReadAheadFor(asked, threads, files, cores);
        Assert.AreEqual(ReadAheadMode.Never, For(null, threads: 1, files: 1, cores: 16));
        Assert.AreEqual(ReadAheadMode.WhenIdle, For(null, threads: 2, files: 1, cores: 2), "two threads on two cores: the VoIP stage reads between its batches");
        Assert.AreEqual(ReadAheadMode.WhenIdle, For(ReadAheadMode.WhenIdle, threads: 1, files: 1, cores: 2));
        Assert.AreEqual(ReadAheadMode.Compressed, For(ReadAheadMode.WhenIdle, threads: 2, files: 3, cores: 2));
        Assert.AreEqual(ReadAheadMode.Compressed, For(null, threads: 4, files: 1, cores: 4));
        Assert.AreEqual(ReadAheadMode.Always, For(null, threads: 2, files: 1, cores: 4));
        // Files merged by time: each gzip one decompressed on its own thread, plain ones read on the engine's, up to 8 files.
        Assert.AreEqual(ReadAheadMode.Compressed, For(null, threads: 2, files: 2, cores: 16));
        Assert.AreEqual(ReadAheadMode.Compressed, For(ReadAheadMode.Always, threads: 2, files: 8, cores: 16));
        Assert.AreEqual(ReadAheadMode.Never, For(null, threads: 1, files: 2, cores: 16));
        Assert.AreEqual(ReadAheadMode.Never, For(null, threads: 2, files: 9, cores: 16));
        // Asked: always reads a lone file ahead at any thread count; never is never.
        Assert.AreEqual(ReadAheadMode.Always, For(ReadAheadMode.Always, threads: 1, files: 1, cores: 1));
        Assert.AreEqual(ReadAheadMode.Never, For(ReadAheadMode.Never, threads: 2, files: 1, cores: 16));
        Assert.AreEqual(ReadAheadMode.Never, For(ReadAheadMode.Never, threads: 2, files: 2, cores: 16));
        var r = CliRunner.Run(["audit", Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), "--read-ahead", "alway"]);
        Assert.AreEqual(2, r.ExitCode);
        StringAssert.Contains(r.Stderr, "--read-ahead 'alway' is not one of auto, always, idle, never");
        StringAssert.Contains(r.Stderr, "always");
    }

    /// <summary>--threads past what any machine here has: at most 64 shards run (the reader, the merger and 64: 66 threads), and the results do not change.</summary>
    [TestMethod]
    public void Cli_ThreadsBeyondTheShardCap_RunsAtMost64Shards()
    {
        var site = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        var r = CliRunner.Run(["audit", site, "--out", dir, "--quiet", "--fail-on", "never", "--stats", "--threads", "1024"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, " threads=67 ");
        // --stats names the CPU each thread used over the loop (Linux), busiest first.
        if (OperatingSystem.IsLinux())
            StringAssert.Matches(r.Stderr, new System.Text.RegularExpressions.Regex(@" thread_cpu_s=[^ :,]+:\d+\.\d\d(,[^ :,]+:\d+\.\d\d)*\s*$", System.Text.RegularExpressions.RegexOptions.Multiline));
        var one = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Assert.AreEqual(0, CliRunner.Run(["audit", site, "--out", one, "--quiet", "--fail-on", "never", "--threads", "1"]).ExitCode);
        AssertSameFiles(one, dir, "--threads 1024");
    }

    [TestMethod]
    public void Cli_SiteWithItsProfile_SameFilesWithShards() =>
        AssertSameFilesAtThreadCounts(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), ["1", "3", "4", "10"],
            "--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"));

    /// <summary>
    /// 300 UDP flows to a SIP port over 5 minutes of capture time (so sweeps end flows in every shard while packets
    /// keep coming), each answered by an ICMP port unreachable (its own flow, which may hash to another shard than
    /// the flow it quotes), ICMP errors quoting flows never seen, and fragmented datagrams reassembled before dispatch.
    /// </summary>
    [TestMethod]
    public void Engine_IcmpErrorsFragmentsAndSweeps_SameResultsForEveryShardCount()
    {
        var frames = IcmpAndFragmentFrames();
        string? first = null;
        foreach (int shards in ShardCounts)
        {
            var (dir, result) = Run(frames, shards);
            Assert.AreEqual(300, result.Flows.Count(f => f.IcmpUnreachable > 0), $"{shards} shards: every quoted flow marked");
            Assert.AreEqual(40, result.Anomalies.Single(a => a.Name == "icmp_unreachable_unknown_flow").Count, $"{shards} shards");
            Assert.AreEqual(120, result.Flows.Count(f => f.ServerPort == 5004 && f.BytesC2S > 3000), $"{shards} shards: fragmented datagrams reassembled");
            Assert.IsTrue(result.Flows.Any(f => f.EndReason == TrafficAudit.Flows.FlowEndReason.IdleTimeout), "some flows ended at a sweep");
            first ??= dir;
            AssertSameFiles(first, dir, $"{shards} shards");
        }
    }

    /// <summary>
    /// 40 calls, each on its own hosts (so signalling and media fall in different shards): early media announced by a
    /// 183 with SDP and flowing 3 s before the 200 OK, media both ways after it, RTCP sender reports on port+1 for
    /// every other call, BYE. The SDP that binds each stream to its call is on another flow, often in another shard.
    /// </summary>
    [TestMethod]
    public void Engine_EarlyMediaAndRtcpAcrossShards_SameResultsForEveryShardCount()
    {
        var b = new TrafficAudit.Synth.Building.CaptureBuilder(5, 0x0A000000);
        for (int i = 0; i < 40; i++)
        {
            var caller = b.AddHost(new TrafficAudit.Synth.Building.Host($"10.1.0.{i + 1}", "phone"));
            var callee = b.AddHost(new TrafficAudit.Synth.Building.Host($"10.2.0.{i + 1}", "gateway"));
            var sip = b.NewFlow(17, caller, 5060, callee, 5060, "sip");
            var d = new TrafficAudit.Synth.Protocols.SipDialog(b, sip, callerIsClient: true, "100" + i, "200" + i, null);
            ushort callerMedia = (ushort)(20000 + 2 * i), calleeMedia = (ushort)(30000 + 2 * i);
            long start = 1_000_000 + i * 400_000L;
            d.Request(start, true, "INVITE", TrafficAudit.Synth.Protocols.SipDialog.AudioSdp(caller, 1000 + i, caller, callerMedia, 0));
            d.Response(start + 2_000, false, 100, "Trying", "INVITE");
            var sdp = TrafficAudit.Synth.Protocols.SipDialog.AudioSdp(callee, 2000 + i, callee, calleeMedia, 0);
            d.Response(start + 40_000, false, 183, "Session Progress", "INVITE", sdp);
            var media = b.NewFlow(17, callee, calleeMedia, caller, callerMedia, "rtp");
            var fromCallee = new TrafficAudit.Synth.Protocols.RtpSender(b, media, fromClient: true, 0);
            fromCallee.Send(start + 60_000, 150); // ringback: 3 s before the answer
            long ok = start + 3_100_000;
            d.Response(ok, false, 200, "OK", "INVITE", sdp);
            d.Request(ok + 20_000, true, "ACK");
            var fromCaller = new TrafficAudit.Synth.Protocols.RtpSender(b, media, fromClient: false, 0);
            fromCaller.Send(ok + 40_000, 100);
            fromCallee.Send(ok + 50_000, 100);
            if (i % 2 == 0)
            {
                var rtcp = b.NewFlow(17, callee, (ushort)(calleeMedia + 1), caller, (ushort)(callerMedia + 1), "rtcp");
                b.EmitUdp(rtcp, true, ok + 1_000_000, fromCallee.SenderReport(1_764_000_000_000_000 + ok + 1_000_000, fromCaller, "gw@example"));
                b.EmitUdp(rtcp, false, ok + 1_010_000, fromCaller.SenderReport(1_764_000_000_000_000 + ok + 1_010_000, fromCallee, "phone@example"));
            }
            d.Request(ok + 2_200_000, true, "BYE");
            d.Response(ok + 2_202_000, false, 200, "OK", "BYE");
        }
        var frames = b.Build("test", "test").Frames.Select(f => (f.UnixMicros * 1000, f.Frame)).ToList();
        string? first = null;
        foreach (int shards in ShardCounts)
        {
            var (dir, result) = Run(frames, shards);
            Assert.HasCount(40, result.Calls, $"{shards} shards");
            Assert.HasCount(80, result.Streams, $"{shards} shards: two streams per call");
            foreach (var c in result.Calls)
            {
                var streams = result.Streams.Where(s => s.CallId == c.Sip.CallId).ToList();
                Assert.HasCount(2, streams, $"{shards} shards: both streams bound to call {c.Sip.CallId} by SDP");
                Assert.IsTrue(streams.Any(s => s.FirstSeenNs < c.Sip.AnswerNs), $"{shards} shards: early media before the 200 OK");
            }
            Assert.AreEqual(40, result.Streams.Count(s => s.RtcpReports > 0), $"{shards} shards: each sender report on port+1 reports on the other direction's stream");
            first ??= dir;
            AssertSameFiles(first, dir, $"{shards} shards");
        }
    }

    /// <summary>Snapshots (a live flush) taken at the same frames give the same result with and without shards, and do not change the final one.</summary>
    [TestMethod]
    public void Engine_Snapshots_SameWithShards_AndFinalUnchanged()
    {
        var path = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
        var plain = SnapshotRun(path, shards: 0);
        var sharded = SnapshotRun(path, shards: 3);
        Assert.AreEqual(plain.Count, sharded.Count);
        Assert.IsGreaterThan(5, plain.Count);
        for (int i = 0; i < plain.Count; i++) AssertSameFiles(plain[i], sharded[i], $"snapshot {i}");
        var (once, _) = Run(ReadFrames(path), shards: 3);
        AssertSameFiles(once, sharded[^1], "final result after snapshots");
    }

    /// <summary>Each shard follows its share of the flow cap; beyond it flows close early and are counted, as with one table.</summary>
    [TestMethod]
    public void Engine_FlowCap_SharedOutOverShards_CountsEvictions()
    {
        var frames = IcmpAndFragmentFrames();
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Shards = 4, MaxActiveFlows = 40, ParallelVoip = true });
        int n = 0;
        foreach (var f in frames) engine.Process(new FrameHeader(f.Ts, LinkType.Ethernet, f.Data.Length, f.Data.Length, 0, ++n, 0), f.Data);
        var result = engine.Complete([], []);
        Assert.IsGreaterThan(0, result.Anomalies.Single(a => a.Name == "flow_table_full").Count);
        CollectionAssert.AreEqual(Enumerable.Range(1, result.Flows.Count).ToList(), result.Flows.Select(f => f.FlowId).ToList(), "flow ids dense, by first packet");
        Assert.AreEqual(7, engine.Threads, "reader, merger, VoIP stage and 4 shards");
    }

    private static void AssertSameFilesAtThreadCounts(string path, string[] threads, params string[] extra)
    {
        (string Dir, int Exit, string Out)? first = null;
        foreach (var n in threads)
        {
            var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
            var r = CliRunner.Run(["audit", path, "--out", dir, "--quiet", "--fail-on", "never", "--series", "--stats", "--threads", n, .. extra]);
            if (r.ExitCode == 0) StringAssert.Contains(r.Stderr, $" threads={n} ", path);
            if (first is not { } f)
            {
                first = (dir, r.ExitCode, r.Stdout);
                continue;
            }
            Assert.AreEqual(f.Exit, r.ExitCode, $"{path} --threads {n}");
            Assert.AreEqual(f.Out, r.Stdout, $"{path} --threads {n}");
            AssertSameFiles(f.Dir, dir, $"{path} --threads {n}");
        }
    }

    private static void AssertSameFiles(string expectedDir, string actualDir, string what)
    {
        string[] Names(string d) => Directory.Exists(d) ? Directory.GetFiles(d).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray() : [];
        var names = Names(expectedDir);
        CollectionAssert.AreEqual(names, Names(actualDir), what);
        foreach (var name in names)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(expectedDir, name)), File.ReadAllBytes(Path.Combine(actualDir, name)), $"{what}: {name}");
    }

    private static (string Dir, AuditResult Result) Run(List<(long Ts, byte[] Data)> frames, int shards)
    {
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Shards = shards, ParallelVoip = shards > 0 ? null : false });
        int n = 0;
        foreach (var f in frames) engine.Process(new FrameHeader(f.Ts, LinkType.Ethernet, f.Data.Length, f.Data.Length, 0, ++n, 0), f.Data);
        var result = engine.Complete([], []);
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        AuditCsvWriter.WriteAll(dir, result, ["synthetic.pcap"]);
        return (dir, result);
    }

    private static List<(long Ts, byte[] Data)> ReadFrames(string path)
    {
        var frames = new List<(long, byte[])>();
        using var source = CaptureFile.Open(path, 0, new AnomalyCounters());
        while (source.MoveNext()) frames.Add((source.Header.TimestampNs, source.Data.ToArray()));
        return frames;
    }

    /// <summary>The CSVs of a snapshot every 300 frames, then of the final result.</summary>
    private static List<string> SnapshotRun(string path, int shards)
    {
        var dirs = new List<string>();
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Shards = shards });
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        string Write(AuditResult r)
        {
            var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
            AuditCsvWriter.WriteAll(dir, r, [path]);
            return dir;
        }
        while (source.MoveNext())
        {
            engine.Process(source.Header, source.Data);
            if (engine.Statistics.Frames % 300 == 0) dirs.Add(Write(engine.Snapshot(source.Interfaces, source.Errors)));
        }
        dirs.Add(Write(engine.Complete(source.Interfaces, source.Errors)));
        return dirs;
    }

    private static List<(long Ts, byte[] Data)> IcmpAndFragmentFrames()
    {
        const long S = 1_000_000_000L;
        long t0 = 1_764_000_000L * S;
        var frames = new List<(long, byte[])>();
        for (int i = 0; i < 300; i++)
        {
            long ts = t0 + i * S;
            string client = $"10.20.{i / 200}.{i % 200 + 1}", server = $"10.30.0.{i % 7 + 1}";
            ushort cport = (ushort)(40000 + i);
            var udp = PacketBuilder.Udp(cport, 5064, PacketBuilder.Pattern(40, i));
            frames.Add((ts, PacketBuilder.Ethernet(0x0800, PacketBuilder.Ipv4(client, server, IpProtocol.Udp, udp, id: (ushort)(i + 1)))));
            frames.Add((ts + 1000, IcmpPortUnreachable(server, client, cport, 5064)));
            // ICMP errors quoting a flow never seen.
            if (i % 15 == 0)
                for (int k = 0; k < 2; k++) frames.Add((ts + 2000 + k, IcmpPortUnreachable(server, client, (ushort)(20000 + i + k), 5999)));
            // A datagram of 3,000 bytes in three fragments, two datagrams interleaved.
            if (i % 5 == 0)
            {
                var big = PacketBuilder.Udp((ushort)(30000 + i), 5004, PacketBuilder.Pattern(3000, i));
                var a = PacketBuilder.Ipv4Fragments($"10.40.0.{i % 250 + 1}", "10.41.0.1", IpProtocol.Udp, big, 1480, (ushort)(1000 + i));
                var big2 = PacketBuilder.Udp((ushort)(31000 + i), 5004, PacketBuilder.Pattern(3000, i + 1));
                var b = PacketBuilder.Ipv4Fragments($"10.42.0.{i % 250 + 1}", "10.41.0.2", IpProtocol.Udp, big2, 1480, (ushort)(2000 + i));
                for (int k = 0; k < a.Count; k++)
                {
                    frames.Add((ts + 3000 + k, a[k]));
                    frames.Add((ts + 3500 + k, b[k]));
                }
            }
        }
        return frames;
    }

    /// <summary>An ICMP port unreachable from <paramref name="from"/> quoting a UDP packet <paramref name="to"/>:<paramref name="port"/> → <paramref name="from"/>:<paramref name="dstPort"/>.</summary>
    private static byte[] IcmpPortUnreachable(string from, string to, ushort port, ushort dstPort)
    {
        var quotedUdp = PacketBuilder.Udp(port, dstPort, PacketBuilder.Pattern(40));
        var quoted = PacketBuilder.Ipv4(to, from, IpProtocol.Udp, quotedUdp)[..28];
        BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(2), 68);
        var icmp = new byte[8 + quoted.Length];
        icmp[0] = 3;
        icmp[1] = 3;
        quoted.CopyTo(icmp, 8);
        return PacketBuilder.Ethernet(0x0800, PacketBuilder.Ipv4(from, to, IpProtocol.Icmp, icmp));
    }
}
