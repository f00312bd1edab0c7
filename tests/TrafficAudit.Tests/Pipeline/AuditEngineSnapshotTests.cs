using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// A live capture flushes <see cref="AuditEngine.Snapshot"/> results while frames keep coming; the
/// final <see cref="AuditEngine.Complete"/> must not depend on how many snapshots were taken.
/// </summary>
[TestClass]
public sealed class AuditEngineSnapshotTests
{
    /// <summary>Audits <paramref name="path"/>, taking a snapshot every <paramref name="every"/> frames (0 = never), and writes the CSVs to a new folder.</summary>
    private static (string Dir, int Snapshots, int MaxCallsSeenInSnapshot) AuditWithSnapshots(string path, int every)
    {
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        int snapshots = 0, maxCalls = 0;
        while (source.MoveNext())
        {
            engine.Process(source.Header, source.Data);
            if (every > 0 && engine.Statistics.Frames % every == 0)
            {
                var partial = engine.Snapshot(source.Interfaces, source.Errors);
                snapshots++;
                maxCalls = Math.Max(maxCalls, partial.Calls.Count);
                Assert.AreEqual(partial.Calls.Count(c => !c.Sip.Ended), engine.CallsInProgress, "calls in progress agree with the snapshot");
            }
        }
        var result = engine.Complete(source.Interfaces, source.Errors);
        string dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        AuditCsvWriter.WriteAll(dir, result, [path]);
        return (dir, snapshots, maxCalls);
    }

    private static void AssertSameOutputs(string path, int every)
    {
        var (plain, _, _) = AuditWithSnapshots(path, 0);
        var (flushed, snapshots, maxCalls) = AuditWithSnapshots(path, every);
        Assert.IsTrue(snapshots > 3, "snapshots taken");
        foreach (var csv in (string[])["flows.csv", "calls.csv", "rtp_streams.csv", "anomalies.csv"])
        {
            var expected = File.ReadAllLines(Path.Combine(plain, csv));
            var actual = File.ReadAllLines(Path.Combine(flushed, csv));
            CollectionAssert.AreEqual(expected, actual, $"{csv} after {snapshots} snapshots (every {every} frames)");
        }
        Assert.IsTrue(maxCalls > 0, "the snapshots saw calls while they were going on");
        Directory.Delete(plain, true);
        Directory.Delete(flushed, true);
    }

    [TestMethod]
    public void Snapshot_EveryFewFramesOfSiteCapture_FinalResultUnchanged()
        => AssertSameOutputs(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), 37);

    [TestMethod]
    public void Snapshot_DuringSipOverTcp_FinalResultUnchanged()
        => AssertSameOutputs(TestPaths.PublicCapture("heplify/sip_ipv4_tcp.pcap"), 3);

    [TestMethod]
    public void Snapshot_DuringSipCallSwitchingToT38_FinalResultUnchanged()
        => AssertSameOutputs(TestPaths.PublicCapture("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"), 101);
}

/// <summary>What the engine does with IP datagrams whose fragments never all arrive.</summary>
[TestClass]
public sealed class AuditEngineFragmentTests
{
    [TestMethod]
    public void Complete_DatagramStillMissingFragments_IsCountedAsIncomplete()
    {
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        var datagram = TrafficAudit.Tests.Decode.PacketBuilder.Udp(5060, 5062, TrafficAudit.Tests.Decode.PacketBuilder.Pattern(3000));
        // The first fragment of a 3-fragment datagram only: the rest never comes.
        var first = TrafficAudit.Tests.Decode.PacketBuilder.Ipv4Fragments("10.0.0.1", "10.0.0.2", TrafficAudit.Decode.IpProtocol.Udp, datagram, 1480, id: 0x42)[0];
        engine.Process(new FrameHeader(1_700_000_000_000_000_000, LinkType.Ethernet, first.Length, first.Length, 0, 1, 0), first);
        var snapshot = engine.Snapshot([], []);
        Assert.IsFalse(snapshot.Anomalies.Any(a => a.Name == "ip_fragment_incomplete"), "a live snapshot keeps waiting for the rest");
        var result = engine.Complete([], []);
        Assert.AreEqual(1L, result.Anomalies.Single(a => a.Name == "ip_fragment_incomplete").Count);
    }
}

/// <summary>The engine's own tables (DNS names) are bounded, with a counter.</summary>
[TestClass]
public sealed class AuditEngineDnsNamesTests
{
    [TestMethod]
    public void DnsAnswers_PastTheCap_AreCounted()
    {
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        uint resolver = TrafficAudit.Synth.Wire.Frames.ParseIPv4("10.0.0.53"), client = TrafficAudit.Synth.Wire.Frames.ParseIPv4("10.0.0.10");
        int extra = 5;
        for (int i = 0; i < AuditEngine.MaxDnsNames + extra; i++)
        {
            // A distinct address in every answer (10.128.0.0 upwards), each lookup from its own client port
            // (only a flow's first payloads are inspected).
            var dns = TrafficAudit.Synth.Protocols.Payloads.DnsResponseA((ushort)i, $"h{i}.example.test", 0x0A80_0000u + (uint)i, 60);
            var frame = TrafficAudit.Tests.EndToEnd.MediaFrames.Udp(resolver, client + (uint)(i / 60_000), 53, (ushort)(1024 + i % 60_000), dns);
            engine.Process(new FrameHeader(1_700_000_000_000_000_000 + i * 1000L, LinkType.Ethernet, frame.Length, frame.Length, 0, i + 1, 0), frame);
        }
        var result = engine.Complete([], []);
        Assert.AreEqual(extra, result.Anomalies.Single(a => a.Name == "dns_names_limit").Count);
    }

    /// <summary>
    /// Snapshots reuse the records of open flows and streams unchanged since the snapshot before (a live flush every
    /// second would otherwise make every open record again): taken at the same frames, they must write exactly what
    /// snapshots made afresh write, with and without shards.
    /// </summary>
    [TestMethod]
    [DataRow("imagicle-site.pcap", 0)]
    [DataRow("imagicle-site.pcap", 3)]
    [DataRow("wireshark-wiki/SIP_CALL_RTP_G711", 0)]
    [DataRow("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 0)]
    public void Snapshots_ReusingUnchangedRecords_WriteWhatFreshSnapshotsWrite(string name, int shards)
    {
        string path = name.Contains('/') ? Path.Combine(TestPaths.PublicCaptures, name) : Path.Combine(TestPaths.Captures, name);
        if (!File.Exists(path)) Assert.Inconclusive($"capture not available: {path}");
        using var reusing = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Shards = shards });
        using var fresh = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { Shards = shards }) { ReuseSnapshotRecords = false };
        using var source = CaptureFile.Open(path, 0, new TrafficAudit.Decode.AnomalyCounters());
        int snapshots = 0;
        while (source.MoveNext())
        {
            reusing.Process(source.Header, source.Data);
            fresh.Process(source.Header, source.Data);
            // Every 97 frames, and twice in a row now and then (nothing changed between those two).
            if (reusing.Statistics.Frames % 97 != 0) continue;
            for (int again = 0; again < (snapshots % 3 == 0 ? 2 : 1); again++)
            {
                string a = Write(reusing.Snapshot(source.Interfaces, source.Errors), path), b = Write(fresh.Snapshot(source.Interfaces, source.Errors), path);
                foreach (var file in Directory.GetFiles(b).Select(Path.GetFileName))
                    CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(b, file!)), File.ReadAllBytes(Path.Combine(a, file!)), $"{name}: snapshot {snapshots}, {file}");
                snapshots++;
            }
        }
        Assert.IsGreaterThan(3, snapshots);
        Assert.IsGreaterThan(0, reusing.SnapshotRecordsReused, "flow records reused");
        Assert.AreEqual(0, fresh.SnapshotRecordsReused);
        if (name != "imagicle-site.pcap" || shards == 0) Assert.IsGreaterThan(0, reusing.SnapshotStreamRecordsReused, "stream records reused");
    }

    private static string Write(AuditResult r, string path)
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        AuditCsvWriter.WriteAll(dir, r, [path]);
        return dir;
    }
}
