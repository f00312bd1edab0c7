using TrafficAudit.Synth.Bench;

namespace TrafficAudit.Tests.Synth;

[TestClass]
public sealed class BenchGeneratorTests
{
    private static byte[] Generate(long packets, int calls, int seed, out BenchSummary summary)
    {
        using var ms = new MemoryStream();
        summary = BenchGenerator.Generate(ms, new BenchOptions(packets, calls, seed));
        return ms.ToArray();
    }

    [TestMethod]
    public void Generate_SameSeed_IsByteIdentical_OtherSeedDiffers()
    {
        var a = Generate(20_000, 50, 1, out _);
        var b = Generate(20_000, 50, 1, out _);
        var c = Generate(20_000, 50, 2, out _);
        CollectionAssert.AreEqual(a, b);
        CollectionAssert.AreNotEqual(a, c);
    }

    [TestMethod]
    [DataRow(0L, 10)]
    [DataRow(1L, 10)]
    [DataRow(7L, 3)]
    [DataRow(20_011L, 40)]
    public void Generate_WritesExactlyTheRequestedPacketCount(long packets, int calls)
    {
        var bytes = Generate(packets, calls, 1, out var summary);
        var records = PcapRecords.ReadAll(bytes);
        Assert.AreEqual(packets, records.Count);
        Assert.AreEqual(packets, summary.Packets);
        Assert.AreEqual(summary.Packets, summary.RtpPackets + summary.OtherPackets);
        Assert.AreEqual(records.Sum(r => (long)r.Frame.Length), summary.Bytes);
        if (packets > 1) Assert.AreEqual((records[^1].UnixMicros - records[0].UnixMicros) / 1e6, summary.CaptureSeconds, 1e-9);
    }

    [TestMethod]
    public void Generate_MixIsAboutNinetyPercentRtpOf214ByteFrames_WithContinuousSequences()
    {
        const int calls = 60;
        var records = PcapRecords.ReadAll(Generate(30_000, calls, 3, out var summary));
        int rtp = 0, sip = 0, tcp = 0, dns = 0;
        var lastSeq = new Dictionary<uint, ushort>();
        var markers = new Dictionary<uint, int>();
        foreach (var r in records)
        {
            var p = PacketView.Decode(r.Frame);
            if (p.Transport == "tcp") { tcp++; continue; }
            if (p.SrcPort == 53 || p.DstPort == 53) { dns++; continue; }
            if (p.SrcPort == 5062 && p.DstPort == 5062) { sip++; continue; }
            Assert.IsTrue(p.TryRtp(out var ssrc, out var seq, out var marker, out var pt), "unexpected UDP packet");
            Assert.AreEqual(214, r.Frame.Length, "G.711 20 ms RTP on Ethernet");
            Assert.IsTrue(pt is 0 or 8);
            if (lastSeq.TryGetValue(ssrc, out var prev)) Assert.AreEqual((ushort)(prev + 1), seq, $"sequence gap in {ssrc:x8}");
            lastSeq[ssrc] = seq;
            if (marker) markers[ssrc] = markers.GetValueOrDefault(ssrc) + 1;
            rtp++;
        }
        Assert.AreEqual(summary.RtpPackets, rtp);
        Assert.AreEqual(2 * calls, lastSeq.Count, "two streams per call");
        Assert.IsTrue(markers.Values.All(m => m == 1) && markers.Count == 2 * calls, "marker on the first packet of each stream only");
        double share = rtp / (double)records.Count;
        Assert.IsTrue(share is > 0.85 and < 0.93, $"RTP share {share:P1}");
        Assert.IsGreaterThan(5 * calls - 1, sip, "each call set up with INVITE/100/180/200/ACK");
        Assert.IsGreaterThan(0, tcp);
        Assert.IsGreaterThan(0, dns);
    }

    [TestMethod]
    public void Generate_RtpStreams_Advance160SamplesPer20ms()
    {
        var records = PcapRecords.ReadAll(Generate(5_000, 5, 1, out _));
        var seen = new Dictionary<uint, (long FirstTime, uint FirstTs, long LastTime, uint LastTs, int Count)>();
        foreach (var r in records)
        {
            var p = PacketView.Decode(r.Frame);
            if (p.SrcPort is 5062 or 53 || p.DstPort == 53 || !p.TryRtp(out var ssrc, out _, out _, out _)) continue;
            uint ts = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(p.Payload.AsSpan(4));
            seen[ssrc] = seen.TryGetValue(ssrc, out var s) ? (s.FirstTime, s.FirstTs, r.UnixMicros, ts, s.Count + 1) : (r.UnixMicros, ts, r.UnixMicros, ts, 1);
        }
        Assert.HasCount(10, seen);
        foreach (var (ssrc, s) in seen)
        {
            Assert.IsGreaterThan(100, s.Count);
            Assert.AreEqual((uint)(160 * (s.Count - 1)), s.LastTs - s.FirstTs, $"{ssrc:x8} timestamp");
            double meanGapMs = (s.LastTime - s.FirstTime) / 1000.0 / (s.Count - 1);
            Assert.AreEqual(20.0, meanGapMs, 0.05, $"{ssrc:x8} packet spacing");
        }
    }

    [TestMethod]
    public void Generate_BadOptions_Throw()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BenchGenerator.Generate(Stream.Null, new BenchOptions(10, 0)));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BenchGenerator.Generate(Stream.Null, new BenchOptions(-1, 10)));
    }
}
