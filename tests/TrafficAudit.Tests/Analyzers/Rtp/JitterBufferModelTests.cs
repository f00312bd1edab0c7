using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.Analyzers.Rtp;

/// <summary>The playout rule of <see cref="JitterBufferModel"/> and its use in the E-model.</summary>
[TestClass]
public sealed class JitterBufferModelTests
{
    private const uint Clock = 8000;
    private const uint Ticks = 160; // 20 ms at 8 kHz

    /// <summary>Feeds packet i sent at i × 20 ms and arriving <paramref name="delaysMs"/>[i] later; returns the drops per packet.</summary>
    private static JitterBufferDrops[] Feed(double[] delaysMs, uint firstTimestamp = 1000, uint clock = Clock)
    {
        var jb = new JitterBufferModel();
        var drops = new JitterBufferDrops[delaysMs.Length];
        // Capture order: by arrival time.
        foreach (int i in Enumerable.Range(0, delaysMs.Length).OrderBy(i => i * 20 + delaysMs[i]))
            drops[i] = jb.Add(i * 20 + delaysMs[i], unchecked(firstTimestamp + (uint)i * Ticks), clock);
        return drops;
    }

    private static int Count(JitterBufferDrops[] drops, JitterBufferDrops which) => drops.Count(d => (d & which) != 0);

    [TestMethod]
    public void Add_PacketsOnTheSendersClock_AreNeverLate()
    {
        var drops = Feed(Enumerable.Repeat(5.0, 500).ToArray());
        Assert.IsTrue(drops.All(d => d == JitterBufferDrops.None));
    }

    [TestMethod]
    public void Add_OnePacket60MsLate_IsLateFor50MsOnlyAndForTheAdaptiveBufferAtItsStartingDepth()
    {
        var delays = new double[100];
        delays[40] = 60;
        var drops = Feed(delays);
        Assert.AreEqual(JitterBufferDrops.Fixed1 | JitterBufferDrops.Adaptive, drops[40]);
        Assert.AreEqual(1, drops.Count(d => d != JitterBufferDrops.None));
    }

    [TestMethod]
    public void Add_PacketExactlyAtTheDepth_IsPlayed()
    {
        var delays = new double[10];
        delays[5] = JitterBufferModel.Fixed1Ms;
        delays[6] = JitterBufferModel.Fixed2Ms;
        var drops = Feed(delays);
        Assert.AreEqual(JitterBufferDrops.None, drops[5]);
        Assert.AreEqual(JitterBufferDrops.Fixed1 | JitterBufferDrops.Adaptive, drops[6], "200 ms: too late for 50 ms, just in time for 200 ms");
    }

    [TestMethod]
    public void Add_StallAtTheStart_TheBufferResynchronisesOnTheEarlierPackets()
    {
        // The first packets were held 150, 140, 130... ms: each comes earlier than the one before, never late.
        var delays = Enumerable.Range(0, 50).Select(i => Math.Max(0, 150 - 10.0 * i)).ToArray();
        var drops = Feed(delays);
        Assert.IsTrue(drops.All(d => d == JitterBufferDrops.None));
    }

    [TestMethod]
    public void Add_EarlyBurstAtTheStart_DoesNotMakeTheSteadyPacketsLate()
    {
        // Seven packets released together at the start (the first six early against the rest), then a
        // steady stream: playout runs from the first packet, and the steady packets are in time
        // (wireshark-wiki/LtoZ_rtpFilter_fail_2.pcap starts like this).
        var jb = new JitterBufferModel();
        var drops = new List<JitterBufferDrops>();
        for (int i = 0; i < 7; i++) drops.Add(jb.Add(120 + i, 1000 + (uint)i * Ticks, Clock));
        for (int i = 7; i < 100; i++) drops.Add(jb.Add(i * 20 + 19, 1000 + (uint)i * Ticks, Clock));
        Assert.IsTrue(drops.All(d => d == JitterBufferDrops.None));
    }

    [TestMethod]
    public void Add_TimestampsJumpForward_TheBufferFollowsWithoutLoss()
    {
        var jb = new JitterBufferModel();
        for (int i = 0; i < 50; i++) Assert.AreEqual(JitterBufferDrops.None, jb.Add(i * 20, (uint)i * Ticks, Clock));
        // The sender's timestamps jump 5 s ahead: packets look 5 s early, then jitter 30 ms around the new schedule.
        for (int i = 50; i < 100; i++)
            Assert.AreEqual(JitterBufferDrops.None, jb.Add(i * 20 + (i % 2) * 30, (uint)i * Ticks + 40_000, Clock) & JitterBufferDrops.Fixed1);
    }

    [TestMethod]
    public void Add_NetworkDelayStepsUpForGood_ResynchronisesAfterTenLatePackets()
    {
        // From packet 100 on, every packet takes 300 ms longer: 10 late packets, then the buffers follow.
        var delays = Enumerable.Range(0, 400).Select(i => i >= 100 ? 300.0 : 0).ToArray();
        var drops = Feed(delays);
        Assert.AreEqual(JitterBufferModel.ResyncAfterLate, Count(drops, JitterBufferDrops.Fixed1));
        Assert.AreEqual(JitterBufferModel.ResyncAfterLate, Count(drops, JitterBufferDrops.Fixed2));
        Assert.IsTrue(drops.Take(100).All(d => d == JitterBufferDrops.None));
        Assert.IsTrue(drops.Skip(100 + JitterBufferModel.ResyncAfterLate).All(d => d == JitterBufferDrops.None));
    }

    [TestMethod]
    public void Add_TimestampsWrappingAt2Pow32_AreNotLate()
    {
        var drops = Feed(Enumerable.Repeat(1.0, 100).ToArray(), firstTimestamp: uint.MaxValue - 50 * Ticks);
        Assert.IsTrue(drops.All(d => d == JitterBufferDrops.None));
    }

    [TestMethod]
    public void Add_NoClock_NeverJudged()
    {
        var jb = new JitterBufferModel();
        Assert.AreEqual(JitterBufferDrops.None, jb.Add(0, 0, 0));
        Assert.AreEqual(JitterBufferDrops.None, jb.Add(5000, 160, 0));
    }

    [TestMethod]
    public void Add_UniformJitterUpTo120Ms_TheAdaptiveBufferGrowsAndLosesFarFewerThanTheFixed50Ms()
    {
        var rng = new Random(3);
        var delays = Enumerable.Range(0, 1000).Select(_ => rng.NextDouble() * 120).ToArray();
        var jb = new JitterBufferModel();
        int f1 = 0, f2 = 0, adaptive = 0;
        foreach (int i in Enumerable.Range(0, delays.Length).OrderBy(i => i * 20 + delays[i]))
        {
            var d = jb.Add(i * 20 + delays[i], 1000 + (uint)i * Ticks, Clock);
            if ((d & JitterBufferDrops.Fixed1) != 0) f1++;
            if ((d & JitterBufferDrops.Fixed2) != 0) f2++;
            if ((d & JitterBufferDrops.Adaptive) != 0) adaptive++;
        }
        Assert.IsGreaterThan(200, f1, $"fixed 50 ms lost {f1}");
        Assert.AreEqual(0, f2);
        Assert.IsLessThan(30, adaptive, $"adaptive lost {adaptive}");
        Assert.IsGreaterThan(120.0, jb.AdaptiveDepthMs, "mean + 4 deviations of a uniform 0-120 ms spread");
    }

    [TestMethod]
    public void Add_SparseEqualSpikes_AreLostByTheAdaptiveBufferToo()
    {
        // The documented limit of a mean + 4 deviations rule: one 120 ms spike in 10 packets moves the
        // target to about 112 ms, short of the spikes. A 200 ms fixed buffer holds them.
        var delays = Enumerable.Range(0, 1000).Select(i => i % 10 == 5 ? 120.0 : 0).ToArray();
        var drops = Feed(delays);
        Assert.AreEqual(100, Count(drops, JitterBufferDrops.Fixed1));
        Assert.AreEqual(0, Count(drops, JitterBufferDrops.Fixed2));
        Assert.AreEqual(100, Count(drops, JitterBufferDrops.Adaptive));
    }

    [TestMethod]
    public void Add_HugeRandomJitter_AdaptiveDepthStaysWithinItsBounds()
    {
        var rng = new Random(7);
        var delays = Enumerable.Range(0, 2000).Select(_ => rng.NextDouble() * 3000).ToArray();
        var jb = new JitterBufferModel();
        foreach (int i in Enumerable.Range(0, delays.Length).OrderBy(i => i * 20 + delays[i]))
        {
            jb.Add(i * 20 + delays[i], (uint)i * Ticks, Clock);
            Assert.IsTrue(jb.AdaptiveDepthMs is >= JitterBufferModel.AdaptiveMinMs and <= JitterBufferModel.AdaptiveMaxMs);
        }
    }

    /// <summary>Stream statistics over a stream with stalls: late packets per model, their runs, and the MOS the E-model gives them.</summary>
    [TestMethod]
    public void Statistics_StalledStream_CountsLatePacketsAsBurstLossInThePlayoutMos()
    {
        // A 230 ms stall every 100 packets: packets k = 0..11 of a stall arrive together (230 - 20k ms late).
        var delays = new double[1000];
        for (int start = 50; start < 1000; start += 100)
            for (int k = 0; 230 - 20 * k > 0; k++) delays[start + k] = 230 - 20 * k;
        var s = new RtpStreamStatistics();
        long t0 = 1_700_000_000_000_000_000;
        foreach (int i in Enumerable.Range(0, delays.Length).OrderBy(i => i * 20 + delays[i]))
        {
            long ts = t0 + (long)((i * 20 + delays[i]) * 1_000_000);
            s.Add(ts, new RtpPacketInfo((ushort)(40000 + i), 1000 + (uint)i * Ticks, i == 0, 8, 172, false, Clock));
        }
        Assert.AreEqual(0, s.LostDistinct);
        Assert.AreEqual(90, s.LateForBuffer(0), "230..70 ms: 9 per stall over 50 ms");
        Assert.AreEqual(20, s.LateForBuffer(1), "230 and 210 ms: 2 per stall over 200 ms");
        var f1 = s.GetPlayoutLossBursts(0);
        Assert.AreEqual(10, f1.Bursts);
        Assert.AreEqual(9, f1.LongestBurst);
        Assert.AreEqual(90, f1.LostPackets);
        Assert.AreEqual(10, s.GetPlayoutLossBursts(1).Bursts);
        Assert.AreEqual(0, s.GetLossBursts().Bursts);

        double network = RtpQuality.EstimateMos(in s, CodecImpairment.G711);
        double mosF1 = RtpQuality.EstimatePlayoutMos(in s, 0, CodecImpairment.G711);
        double burstR = RtpQuality.BurstRatio(f1, 1000 - 90);
        Assert.AreEqual(4.41, network, 0.005);
        Assert.AreEqual(RtpQuality.EstimateMos(CodecImpairment.G711, 0.09, burstR), mosF1, 1e-12);
        Assert.IsLessThan(3.5, mosF1);
        Assert.IsLessThan(network, RtpQuality.EstimatePlayoutMos(in s, 1, CodecImpairment.G711));
    }

    [TestMethod]
    public void Statistics_PerPacket_AllocatesNothingAfterTheFirstPacket()
    {
        var s = new RtpStreamStatistics();
        long t0 = 1_700_000_000_000_000_000;
        s.Add(t0, new RtpPacketInfo(1, 0, true, 0, 172, false, Clock));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < 3000; i++)
        {
            double jitter = (i % 7) * 13.0;
            s.Add(t0 + (long)((i * 20 + jitter) * 1_000_000), new RtpPacketInfo((ushort)(1 + i), (uint)i * Ticks, false, 0, 172, false, Clock));
        }
        // The time series array grows by doubling per stream (not per packet): allow its few resizes.
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(4096L, allocated, $"{allocated} bytes for 3000 packets");
    }
}
