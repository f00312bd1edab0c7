using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.Analyzers.Rtp;

/// <summary>
/// Hand-built packet sequences. Where a figure is Wireshark's, it was checked with tshark 4.0.17 on a
/// capture holding exactly the packets of the test (Ethernet/IPv4/UDP 10.0.0.1:40000 -> 10.0.0.2:50000,
/// 172-byte RTP packets, SSRC 0x1234), running
/// <c>tshark -r FILE -q -o rtp.heuristic_rtp:TRUE -z rtp,streams</c>; the printed row is quoted beside the test.
/// </summary>
[TestClass]
public sealed class RtpStreamStatisticsTests
{
    private const long Ms = 1_000_000;
    private const long T0 = 1_700_000_000L * 1_000_000_000L;
    private const int G711Rtp = 172; // 12-byte header + 160 bytes = 20 ms of G.711

    private static RtpPacketInfo G711(ushort seq, uint ts, bool marker = false, byte pt = 0, bool v6 = false, int rtpLength = G711Rtp) =>
        new(seq, ts, marker, pt, rtpLength, v6, RtpClock.ForStaticPayloadType(pt), frameNumber: seq);

    /// <summary>Feeds packet i at T0 + i × 20 ms with sequence seqs[i] and timestamp 1000 + 160 × seqs[i] (no jitter).</summary>
    private static RtpStreamStatistics Regular(params int[] seqs)
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < seqs.Length; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)seqs[i], (uint)(1000 + 160 * seqs[i])));
        return s;
    }

    private static int[] Range(int first, int count) => Enumerable.Range(first, count).ToArray();

    [TestMethod]
    public void Add_InOrderG711Every20Ms_JitterZeroDelta20NoLoss()
    {
        var s = Regular(Range(100, 50));
        Assert.AreEqual(50, s.Packets);
        Assert.AreEqual(50, s.ExpectedPackets);
        Assert.AreEqual(0, s.Lost);
        Assert.AreEqual(0, s.LostDistinct);
        Assert.AreEqual(0, s.SequenceErrors);
        Assert.IsFalse(s.Problem);
        Assert.AreEqual(20.0, s.MaxDeltaMs, 1e-9);
        Assert.AreEqual(20.0, s.MinDeltaMs, 1e-9);
        Assert.AreEqual(20.0, s.MeanDeltaMs, 1e-9);
        Assert.AreEqual(0.0, s.MaxJitterMs, 1e-9);
        Assert.AreEqual(0.0, s.MeanJitterMs, 1e-9);
        Assert.AreEqual(0.0, s.MinJitterMs, 1e-9);
        Assert.AreEqual(0.0, s.MaxSkewMs, 1e-9);
        Assert.AreEqual(101, s.MaxDeltaFrame); // the first packet that reached the maximum
        Assert.AreEqual(100, s.FirstFrame);
        Assert.AreEqual(0, s.GetLossBursts().Bursts);
    }

    [TestMethod]
    public void Add_G711Every20MsOverIPv4_Is80KbitAtIpAnd87Point2AtEthernet()
    {
        var s = Regular(Range(1, 500)); // 10 s
        Assert.AreEqual(80.0, s.MeanIpKbps, 1e-9);
        Assert.AreEqual(87.2, s.MeanEthernetKbps, 1e-9);
        Assert.AreEqual(80.0, s.PeakIpKbps, 1e-9);   // 50 packets × 200 bytes in each whole second
        Assert.AreEqual(87.2, s.PeakEthernetKbps, 1e-9);
        Assert.AreEqual(500L * 200, s.IpBytes);
        Assert.AreEqual(500L * 218, s.EthernetBytes);
        // Wireshark's window holds the packets no more than 1000 ms old: 51 of them at 20 ms spacing.
        Assert.AreEqual(51 * 200 * 8 / 1000.0, s.BandwidthKbps, 1e-9);
        Assert.AreEqual(s.BandwidthKbps, s.MaxBandwidthKbps, 1e-9);
    }

    [TestMethod]
    public void Add_G711OverIPv6_Adds48BytesPerPacket()
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 100; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)i, (uint)(160 * i), v6: true));
        Assert.AreEqual(100L * (172 + 48), s.IpBytes);
        Assert.AreEqual(88.0, s.MeanIpKbps, 1e-9); // 220 bytes every 20 ms
        Assert.AreEqual(95.2, s.MeanEthernetKbps, 1e-9);
    }

    /// <summary>tshark: "g711U 12 0 (0.0%) 20.000 20.000 20.000 0.000 0.000 0.000" (no problem mark).</summary>
    [TestMethod]
    public void Add_SequenceWrapsAt65535_NoLossNoError()
    {
        var s = new RtpStreamStatistics();
        int[] seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5];
        for (int i = 0; i < seqs.Length; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)seqs[i], (uint)(1000 + 160 * i)));
        Assert.AreEqual(12, s.Packets);
        Assert.AreEqual(12, s.ExpectedPackets);
        Assert.AreEqual(0, s.Lost);
        Assert.AreEqual(0, s.SequenceErrors);
        Assert.IsFalse(s.Problem);
        Assert.AreEqual(12, s.ExpectedDistinct);
        Assert.AreEqual(0, s.LostDistinct);
    }

    /// <summary>tshark: "g711U 7 52 (88.1%) 20.000 20.000 20.000 0.000 0.000 0.000 X": the jump back of more than 0xFF00 is a wrap with loss.</summary>
    [TestMethod]
    public void Add_JumpAcrossWrapWithLoss_CountsTheLossAsWireshark()
    {
        var s = new RtpStreamStatistics();
        int[] seqs = [65490, 65491, 65492, 65493, 10, 11, 12];
        for (int i = 0; i < seqs.Length; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)seqs[i], (uint)(1000 + 160 * i)));
        Assert.AreEqual(52, s.Lost);
        Assert.AreEqual(1, s.SequenceErrors);
        Assert.IsTrue(s.Problem);
        Assert.AreEqual(52, s.LostDistinct);
        var bursts = s.GetLossBursts();
        Assert.AreEqual(1, bursts.Bursts);
        Assert.AreEqual(52, bursts.LongestBurst);
        Assert.AreEqual(1, bursts.LengthOver10);
    }

    [TestMethod]
    public void Add_OneLostPacket_LostOneDeltaFortyProblem()
    {
        var s = Regular([1, 2, 3, 5, 6, 7]); // 4 missing; arrivals keep 20 ms spacing, timestamps jump
        Assert.AreEqual(6, s.Packets);
        Assert.AreEqual(7, s.ExpectedPackets);
        Assert.AreEqual(1, s.Lost);
        Assert.AreEqual(1, s.LostDistinct);
        Assert.AreEqual(1, s.SequenceErrors);
        Assert.IsTrue(s.Problem);
        var bursts = s.GetLossBursts();
        Assert.AreEqual(1, bursts.Bursts);
        Assert.AreEqual(1, bursts.Length1);
        Assert.AreEqual(0, s.Duplicates);
    }

    /// <summary>tshark: "g711U 6 -1 (-20.0%) 20.000 20.000 20.000 0.000 0.704 1.250 X".</summary>
    [TestMethod]
    public void Add_DuplicatePacket_WiresharkLostMinusOneOursZeroWithOneDuplicate()
    {
        var s = Regular([1, 2, 3, 3, 4, 5]);
        Assert.AreEqual(-1, s.Lost);
        Assert.AreEqual(0, s.LostDistinct);
        Assert.AreEqual(1, s.Duplicates);
        Assert.AreEqual(5, s.DistinctPackets);
        Assert.AreEqual(s.LostDistinct - s.Duplicates, s.Lost);
        Assert.IsTrue(s.Problem);
        Assert.AreEqual(1.250, s.MaxJitterMs, 0.0005);
        Assert.AreEqual(0.704, s.MeanJitterMs, 0.0005);
        Assert.AreEqual(0, s.OutOfOrder);
    }

    /// <summary>tshark: "g711U 6 0 (0.0%) 20.000 20.000 20.000 0.000 2.803 4.692 X": jitter is computed for the late packet too.</summary>
    [TestMethod]
    public void Add_ReorderedPacket_NoLossOneOutOfOrderTwoSequenceErrors()
    {
        var s = Regular([1, 2, 4, 3, 5, 6]);
        Assert.AreEqual(0, s.Lost);
        Assert.AreEqual(0, s.LostDistinct);
        Assert.AreEqual(1, s.OutOfOrder);
        Assert.AreEqual(0, s.Duplicates);
        Assert.AreEqual(2, s.SequenceErrors); // the jump to 4 and the late 3
        Assert.AreEqual(0, s.GetLossBursts().Bursts); // 3 came late but within the window: not a loss
        Assert.AreEqual(4.692, s.MaxJitterMs, 0.0005);
        Assert.AreEqual(2.803, s.MeanJitterMs, 0.0005);
    }

    [TestMethod]
    public void Add_LastPacketLate_WiresharkExpectedUsesTheLatestSequenceNumber()
    {
        var s = Regular([1, 2, 3, 5, 6, 4]);
        Assert.AreEqual(4, s.ExpectedPackets); // 4 - 1 + 1: Wireshark takes the last packet's number
        Assert.AreEqual(-2, s.Lost);
        Assert.AreEqual(6, s.ExpectedDistinct);
        Assert.AreEqual(0, s.LostDistinct);
    }

    [TestMethod]
    public void Add_OnePacketLateBy8Ms_JitterFollowsRfc3550()
    {
        var s = new RtpStreamStatistics();
        s.Add(T0, G711(1, 0));
        s.Add(T0 + 20 * Ms, G711(2, 160));
        s.Add(T0 + 48 * Ms, G711(3, 320)); // 8 ms late: |D| = 8, J = 8/16
        Assert.AreEqual(0.5, s.JitterMs, 1e-9);
        s.Add(T0 + 60 * Ms, G711(4, 480)); // on time again: D = 12 - 20 = -8, J = (15 × 0.5 + 8) / 16
        Assert.AreEqual(0.96875, s.JitterMs, 1e-9);
        Assert.AreEqual(0.96875, s.MaxJitterMs, 1e-9);
        Assert.AreEqual(28.0, s.MaxDeltaMs, 1e-9);
        Assert.AreEqual(12.0, s.MinDeltaMs, 1e-9);
        Assert.AreEqual(3, s.MaxDeltaFrame);
        // Wireshark's running mean: m2 = 0, m3 = (0 × 1 + 0.5) / 2, m4 = (m3 × 2 + 0.96875) / 3
        Assert.AreEqual((0.25 * 2 + 0.96875) / 3, s.MeanJitterMs, 1e-9);
        Assert.AreEqual(-8.0, s.MaxSkewMs, 1e-9); // packet 3 arrived 8 ms after its RTP time
    }

    [TestMethod]
    public void Add_MarkerAfterSilence_GapLeftOutOfDeltaAndJitter()
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 10; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)i, (uint)(160 * i)));
        // One second of silence, then a new talkspurt with the marker bit; the RTP clock ran on by 500 ms only.
        s.Add(T0 + 1180 * Ms, G711(10, 160 * 10 + 4000, marker: true));
        Assert.IsTrue(s.LastFlags.HasFlag(RtpPacketFlags.Marker));
        double atMarker = s.JitterMs; // |D| = 1000 - 520 = 480 ms: J = 30
        Assert.AreEqual(30.0, atMarker, 1e-9);
        Assert.AreEqual(0.0, s.MaxJitterMs, 1e-9);
        for (int i = 11; i < 20; i++) s.Add(T0 + 1180 * Ms + (i - 10) * 20 * Ms, G711((ushort)i, (uint)(160 * i + 4000)));
        Assert.AreEqual(20.0, s.MaxDeltaMs, 1e-9);
        Assert.IsFalse(s.Problem);
        // The jump at the marker packet is not in the maximum, but J decays through the next packets, which count.
        Assert.AreEqual(atMarker * 15 / 16, s.MaxJitterMs, 1e-9);
    }

    [TestMethod]
    public void Add_ComfortNoise_CnAndItsFollowerLeftOutOfDelta()
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 5; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)i, (uint)(160 * i), pt: 8));
        s.Add(T0 + 400 * Ms, new RtpPacketInfo(5, 160 * 5, false, RtpClock.ComfortNoise, 13, false, RtpClock.ForStaticPayloadType(13)));
        Assert.IsTrue(s.LastFlags.HasFlag(RtpPacketFlags.ComfortNoise));
        s.Add(T0 + 900 * Ms, G711(6, 160 * 6 + 3000, pt: 8)); // speech resumes after 500 ms
        Assert.IsTrue(s.LastFlags.HasFlag(RtpPacketFlags.FollowsComfortNoise));
        s.Add(T0 + 920 * Ms, G711(7, 160 * 7 + 3000, pt: 8));
        Assert.AreEqual(20.0, s.MaxDeltaMs, 1e-9);
        Assert.AreEqual(0, s.Lost);
        Assert.IsFalse(s.Problem);
        Assert.AreEqual(5 * 200 + 41 + 2 * 200, s.IpBytes);
    }

    [TestMethod]
    public void Add_TelephoneEventWithClockZero_NoJitterButDeltas()
    {
        var s = new RtpStreamStatistics();
        // RFC 4733: every packet of one event repeats the event's start timestamp.
        for (int i = 0; i < 8; i++) s.Add(T0 + i * 50 * Ms, new RtpPacketInfo((ushort)(200 + i), 8000, i == 0, 101, 16, false, RtpClock.Resolve(101, "telephone-event", 8000)));
        Assert.AreEqual(-1.0, s.MinJitterMs);
        Assert.AreEqual(0.0, s.MaxJitterMs);
        Assert.AreEqual(0.0, s.MeanJitterMs);
        Assert.AreEqual(50.0, s.MaxDeltaMs, 1e-9);
        Assert.AreEqual(50.0, s.MinDeltaMs, 1e-9);
        Assert.IsFalse(s.Problem);
        Assert.IsTrue(s.TimeSeries!.Buckets.ToArray().All(b => b.MaxJitterMs == 0));
    }

    /// <summary>tshark: "g711U 6 0 (0.0%) 20.000 24.000 40.000 0.000 0.000 0.000 X": the mean delta is Wireshark's weighted one (a plain mean would be 25).</summary>
    [TestMethod]
    public void Add_TimestampBeforeTheFirst_WrongTimestampProblemAndSkipped()
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 6; i++)
        {
            ushort seq = (ushort)(i + 1);
            uint ts = i == 3 ? 5u : (uint)(100000 + 160 * seq);
            s.Add(T0 + i * 20 * Ms, G711(seq, ts));
            if (i == 3) Assert.IsTrue(s.LastFlags.HasFlag(RtpPacketFlags.WrongTimestamp));
        }
        Assert.IsTrue(s.Problem);
        Assert.AreEqual(0, s.Lost);
        Assert.AreEqual(1, s.SequenceErrors); // the skipped packet does not move the reference, so 5 after 3 is a jump
        Assert.AreEqual(40.0, s.MaxDeltaMs, 1e-9); // the packet after the skipped one measures from the one before it
        Assert.AreEqual(24.0, s.MeanDeltaMs, 1e-9);
        Assert.AreEqual(0.0, s.MaxJitterMs, 1e-9);
    }

    /// <summary>
    /// Wireshark 4.0 judges timestamps against the FIRST packet only: a timestamp that steps back from the
    /// previous packet but stays after the first is not "wrong", and its jitter counts.
    /// tshark: "g711U 10 0 (0.0%) 20.000 20.000 20.000 0.000 2.690 7.266" (no problem mark).
    /// </summary>
    [TestMethod]
    public void Add_TimestampBackwardsButAfterTheFirst_NotAProblemJitterCounts()
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 10; i++)
        {
            uint ts = (uint)(1000 + 160 * (i == 6 ? 3 : i));
            s.Add(T0 + i * 20 * Ms, G711((ushort)(100 + i), ts));
        }
        Assert.IsFalse(s.Problem);
        Assert.AreEqual(7.266, s.MaxJitterMs, 0.0005);
        Assert.AreEqual(2.690, s.MeanJitterMs, 0.0005);
    }

    [TestMethod]
    public void Add_TimestampWrapsPast2Pow32_StaysInSequence()
    {
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 10; i++) s.Add(T0 + i * 20 * Ms, G711((ushort)i, unchecked(uint.MaxValue - 500 + (uint)(160 * i))));
        Assert.IsFalse(s.Problem);
        Assert.AreEqual(0.0, s.MaxJitterMs, 1e-9);
    }

    [TestMethod]
    public void Add_L16At44100Hz_UsesWholeKilohertzLikeWireshark()
    {
        // 441 ticks = 10 ms at 44.1 kHz, but Wireshark divides by 44 ticks/ms: 10.0227 ms per packet.
        var s = new RtpStreamStatistics();
        for (int i = 0; i < 3; i++) s.Add(T0 + i * 10 * Ms, new RtpPacketInfo((ushort)i, (uint)(441 * i), false, 11, 12 + 882, false, 44100));
        double d = 441.0 / 44 - 10;
        Assert.AreEqual((15 * (d / 16) + d) / 16, s.JitterMs, 1e-12);
    }

    [TestMethod]
    public void Add_LossBurstsOfSeveralLengths_Histogram()
    {
        // Gaps of 1, 2, 4, 7 and 12 packets.
        var seqs = new List<int>();
        int seq = 0;
        foreach (int gap in new[] { 1, 2, 4, 7, 12 })
        {
            for (int i = 0; i < 5; i++) seqs.Add(seq++);
            seq += gap;
        }
        seqs.Add(seq);
        var s = Regular([.. seqs]);
        var b = s.GetLossBursts();
        Assert.AreEqual(5, b.Bursts);
        Assert.AreEqual(12, b.LongestBurst);
        Assert.AreEqual(26, b.LostPackets);
        Assert.AreEqual(1, b.Length1);
        Assert.AreEqual(1, b.Length2);
        Assert.AreEqual(1, b.Length3To5);
        Assert.AreEqual(1, b.Length6To10);
        Assert.AreEqual(1, b.LengthOver10);
        Assert.AreEqual(26, s.LostDistinct);
        Assert.AreEqual(26, s.Lost);
        Assert.AreEqual(26 / 5.0, b.MeanBurstLength, 1e-12);
    }

    [TestMethod]
    public void GetLossBursts_RandomLossPatterns_AreTheRunsOfTheMissingNumbers()
    {
        // Runs of every length, across the 64-position words the window is scanned by, inside and beyond the window.
        var rng = new Random(12);
        for (int trial = 0; trial < 300; trial++)
        {
            int n = rng.Next(2, 3000);
            double lossShare = rng.NextDouble() * 0.3;
            var seqs = new List<int>();
            for (int q = 0; q < n; q++)
            {
                if (q > 0 && q < n - 1 && rng.NextDouble() < lossShare)
                {
                    int run = rng.Next(1, rng.Next(2) == 0 ? 4 : 150);
                    q += run - 1;
                    continue;
                }
                seqs.Add(q);
            }
            if (seqs[^1] != n - 1) seqs.Add(n - 1);
            var expected = new RtpLossBursts(0, 0, 0, 0, 0, 0, 0, 0);
            for (int i = 1; i < seqs.Count; i++) expected = expected.WithRun(seqs[i] - seqs[i - 1] - 1);
            var s = Regular([.. seqs]);
            Assert.AreEqual(expected, s.GetLossBursts(), $"trial {trial}: {n} numbers, {seqs.Count} received");
            // With no packet late, each jitter buffer hears the network's runs.
            for (int m = 0; m < 3; m++) Assert.AreEqual(expected, s.GetPlayoutLossBursts(m), $"trial {trial}, model {m}");
        }
    }

    [TestMethod]
    public void Add_LossesOlderThanTheWindow_StillCountedOnceAsBursts()
    {
        var seqs = Range(0, 5000).Where(q => q != 10 && q is not (>= 500 and <= 502) && q != 4990).ToArray();
        var s = Regular(seqs);
        var b = s.GetLossBursts();
        Assert.AreEqual(3, b.Bursts);
        Assert.AreEqual(3, b.LongestBurst);
        Assert.AreEqual(5, b.LostPackets);
        Assert.AreEqual(5, s.LostDistinct);
        Assert.AreEqual(5, s.Lost);
        Assert.AreEqual(b, s.GetLossBursts()); // reading does not change the state
    }

    [TestMethod]
    public void Add_PacketFromBeyondTheWindow_CountedAsLateNotDuplicate()
    {
        var seqs = Range(0, 3000).Append(5).ToArray();
        var s = Regular(seqs);
        Assert.AreEqual(1, s.LateBeyondWindow);
        Assert.AreEqual(0, s.Duplicates);
        Assert.AreEqual(3000, s.DistinctPackets);
        Assert.AreEqual(0, s.LostDistinct);
    }

    [TestMethod]
    public void Add_PacketOlderThanTheFirst_ExtendsTheExpectedRange()
    {
        var s = Regular([10, 11, 12, 8, 13]);
        Assert.AreEqual(6, s.ExpectedDistinct); // 8..13
        Assert.AreEqual(1, s.LostDistinct);     // 9
        Assert.AreEqual(1, s.GetLossBursts().Bursts);
        Assert.AreEqual(1, s.OutOfOrder);
    }

    [TestMethod]
    public void Add_HugeSequenceJump_BoundedWorkAndOneBurst()
    {
        var s = Regular([1, 2, 3, 20003, 20004]);
        Assert.AreEqual(19999, s.LostDistinct);
        Assert.AreEqual(19999, s.GetLossBursts().LongestBurst);
        Assert.AreEqual(1, s.GetLossBursts().Bursts);
    }

    [TestMethod]
    public void TimeSeries_ThreeSecondsOfG711_FiftyPacketsAndTenKilobytesPerSecond()
    {
        var s = Regular(Range(0, 150));
        var buckets = s.TimeSeries!.Buckets;
        Assert.AreEqual(3, buckets.Length);
        Assert.AreEqual(1_000_000_000L, s.TimeSeries.BucketWidthNs);
        foreach (var b in buckets)
        {
            Assert.AreEqual(50, b.Packets);
            Assert.AreEqual(50L * 200, b.IpBytes);
        }
    }

    [TestMethod]
    public void TimeSeries_LongerThanFourHours_MergesIntoCoarserBuckets()
    {
        var series = new RtpTimeSeries(T0);
        long fiveHours = 5L * 3600 * 1_000_000_000;
        for (long t = 0; t <= fiveHours; t += 10_000_000_000) series.Add(T0 + t, 200, 1.5);
        Assert.AreEqual(2_000_000_000L, series.BucketWidthNs);
        Assert.IsLessThanOrEqualTo(RtpTimeSeries.MaxBuckets, series.Buckets.Length);
        long packets = 0;
        foreach (var b in series.Buckets) packets += b.Packets;
        Assert.AreEqual(5 * 360 + 1, packets);
        Assert.AreEqual(1.5, series.Buckets[^1].MaxJitterMs);
    }

    [TestMethod]
    public void TimeSeries_KeptBucket_SameAsAddingEveryPacketToTheSeries()
    {
        // The statistics keep the bucket of the latest packets to themselves and write it back when a packet falls
        // elsewhere or the series is read. Fed through them, the series must hold what adding every packet to a
        // series directly gives: steady packets, a clock stepping back into an earlier bucket and before the first
        // packet, a gap, and a jump past four hours that coarsens the buckets, with reads of the series in between.
        var s = new RtpStreamStatistics();
        var direct = new RtpTimeSeries(T0);
        long[] offsetsMs = [0, 20, 40, 980, 1000, 1020, 1500, 990, 2020, -3000, 2040, 7000, 7020, 5 * 3600 * 1000L, 5 * 3600 * 1000L + 20, 3000, 5 * 3600 * 1000L + 40];
        for (int i = 0; i < offsetsMs.Length; i++)
        {
            s.Add(T0 + offsetsMs[i] * Ms, G711((ushort)i, (uint)(160 * i), rtpLength: G711Rtp + i));
            direct.Add(T0 + offsetsMs[i] * Ms, G711Rtp + i + 28, -1);
            if (i % 5 == 4) Assert.AreEqual(i + 1, s.TimeSeries!.Buckets.ToArray().Sum(b => b.Packets), $"read after packet {i}");
        }
        var kept = s.TimeSeries!;
        Assert.AreEqual(direct.BucketWidthNs, kept.BucketWidthNs);
        Assert.AreEqual(2_000_000_000L, kept.BucketWidthNs, "five hours of 1-second buckets are more than the cap: coarsened once");
        CollectionAssert.AreEqual(direct.Buckets.ToArray().Select(b => (b.Packets, b.IpBytes)).ToList(), kept.Buckets.ToArray().Select(b => (b.Packets, b.IpBytes)).ToList());
        // Reading again writes the same bucket back: nothing changes.
        CollectionAssert.AreEqual(kept.Buckets.ToArray(), s.TimeSeries!.Buckets.ToArray());
        Assert.AreEqual(offsetsMs.Length, kept.Buckets.ToArray().Sum(b => b.Packets));
        Assert.IsTrue(kept.Buckets[^1].HighestSequence > 0, "the last bucket carries the highest sequence number");
    }

    [TestMethod]
    public void Add_ClockSteppingBack_NoThrowChargedToCurrentBuckets()
    {
        var s = new RtpStreamStatistics();
        s.Add(T0, G711(1, 0));
        s.Add(T0 + 20 * Ms, G711(2, 160));
        s.Add(T0 - 5000 * Ms, G711(3, 320));
        Assert.AreEqual(3, s.Packets);
        Assert.AreEqual(3, s.TimeSeries!.Buckets[0].Packets);
    }

    [TestMethod]
    public void Add_NoPackets_FiguresAreEmpty()
    {
        var s = new RtpStreamStatistics();
        Assert.IsFalse(s.HasPackets);
        Assert.AreEqual(0, s.ExpectedPackets);
        Assert.AreEqual(0, s.LostDistinct);
        Assert.AreEqual(0, s.MeanIpKbps);
        Assert.AreEqual(0, s.GetLossBursts().Bursts);
        Assert.IsNull(s.TimeSeries);
    }
    /// <summary>
    /// Wireshark's bandwidth window as tap-rtp-analysis.c keeps it: a ring of 300 samples written from the start,
    /// old samples dropped from the oldest while more than 1000 ms older than the packet; a packet in a full ring
    /// overwrites the oldest sample, whose bytes stay counted. Returns kbit/s after each packet.
    /// </summary>
    private static double[] ReferenceBandwidth(long[] offsetsMs, int[] bytes)
    {
        const int size = 300;
        var times = new double[size];
        var sizes = new int[size];
        int start = 0, index = 0;
        uint total = 0;
        var result = new double[offsetsMs.Length];
        for (int i = 0; i < offsetsMs.Length; i++)
        {
            double now = offsetsMs[i];
            times[index] = now;
            sizes[index] = bytes[i];
            while (times[start] + 1000 < now)
            {
                total -= (uint)sizes[start];
                start = (start + 1) % size;
            }
            total += (uint)bytes[i];
            result[i] = total * 8 / 1000.0;
            index = (index + 1) % size;
        }
        return result;
    }

    [TestMethod]
    [DataRow(20, 3)]     // 51 samples in the window: the first ring holds them
    [DataRow(10, 3)]     // 101: grows once
    [DataRow(2, 3)]      // 501 a second: grows to 300, then Wireshark's overwriting
    [DataRow(1, 2)]
    public void Add_BandwidthWindow_AsWiresharksRingOf300WhateverTheRate(int spacingMs, int seconds)
    {
        // A steady stream, then a burst of 400 packets in 100 ms, a pause of 1.5 s, and the steady stream again:
        // the ring starts small and grows while a second holds more samples than it has room for.
        var offsets = new List<long>();
        long t = 0;
        for (int i = 0; i < seconds * 1000 / spacingMs; i++, t += spacingMs) offsets.Add(t);
        for (int i = 0; i < 400; i++) offsets.Add(t + i / 4);
        t += 1600;
        for (int i = 0; i < seconds * 1000 / spacingMs; i++, t += spacingMs) offsets.Add(t);
        var rng = new Random(spacingMs);
        int[] bytes = offsets.Select(_ => 40 + rng.Next(1200)).ToArray();
        var expected = ReferenceBandwidth([.. offsets], bytes);
        var s = new RtpStreamStatistics();
        double max = 0;
        for (int i = 0; i < offsets.Count; i++)
        {
            s.Add(T0 + offsets[i] * Ms, G711((ushort)i, (uint)(160 * i), rtpLength: bytes[i] - 28));
            Assert.AreEqual(expected[i], s.BandwidthKbps, $"packet {i} at {offsets[i]} ms");
            max = Math.Max(max, expected[i]);
        }
        Assert.AreEqual(max, s.MaxBandwidthKbps);
    }
}
