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
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Shards = 4, MaxActiveFlows = 40 });
        int n = 0;
        foreach (var f in frames) engine.Process(new FrameHeader(f.Ts, LinkType.Ethernet, f.Data.Length, f.Data.Length, 0, ++n, 0), f.Data);
        var result = engine.Complete([], []);
        Assert.IsGreaterThan(0, result.Anomalies.Single(a => a.Name == "flow_table_full").Count);
        CollectionAssert.AreEqual(Enumerable.Range(1, result.Flows.Count).ToList(), result.Flows.Select(f => f.FlowId).ToList(), "flow ids dense, by first packet");
        Assert.AreEqual(6, engine.Threads, "reader, merger (with the VoIP stage) and 4 shards");
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
