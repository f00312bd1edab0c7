using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.Analyzers.Rtp;

[TestClass]
public sealed class RtpClockAndQualityTests
{
    [TestMethod]
    [DataRow(0, 8000u)]   // PCMU
    [DataRow(8, 8000u)]   // PCMA
    [DataRow(9, 8000u)]   // G.722: 8 kHz RTP clock for historic reasons
    [DataRow(18, 8000u)]  // G.729
    [DataRow(13, 8000u)]  // CN
    [DataRow(6, 16000u)]  // DVI4/16000
    [DataRow(11, 44100u)] // L16 mono
    [DataRow(34, 90000u)] // H.263
    [DataRow(20, 0u)]     // unassigned
    [DataRow(96, 0u)]     // dynamic
    [DataRow(-1, 0u)]
    [DataRow(200, 0u)]
    public void ForStaticPayloadType_ReturnsWiresharkTable(int pt, uint expected) =>
        Assert.AreEqual(expected, RtpClock.ForStaticPayloadType(pt));

    [TestMethod]
    [DataRow("AMR", 8000u)]
    [DataRow("AMR-WB", 16000u)]
    [DataRow("amr-wb", 16000u)]
    [DataRow("EVRC1", 8000u)]
    [DataRow("H264", 90000u)]
    [DataRow("telephone-event", 0u)]
    [DataRow("TELEPHONE-EVENT", 0u)]
    [DataRow("opus", 0u)]
    [DataRow("PCMU", 0u)]
    [DataRow("", 0u)]
    public void ForEncodingName_ReturnsWiresharkDynamicTable(string name, uint expected) =>
        Assert.AreEqual(expected, RtpClock.ForEncodingName(name));

    [TestMethod]
    public void Resolve_FollowsWiresharkPrecedence()
    {
        Assert.AreEqual(8000u, RtpClock.Resolve(8, "whatever", 16000));   // static table wins below 96
        Assert.AreEqual(0u, RtpClock.Resolve(111, "", 0));                // no rtpmap: no clock
        Assert.AreEqual(0u, RtpClock.Resolve(101, "telephone-event", 8000));
        Assert.AreEqual(48000u, RtpClock.Resolve(111, "opus", 48000));    // rtpmap rate first
        Assert.AreEqual(16000u, RtpClock.Resolve(97, "AMR-WB", 0));       // then the name table
    }

    [TestMethod]
    public void EstimateMos_G711NoLossNoDelay_Is4Point41()
    {
        Assert.AreEqual(93.2, RtpQuality.RFactor(CodecImpairment.G711, 0), 1e-9);
        Assert.AreEqual(4.41, RtpQuality.EstimateMos(CodecImpairment.G711, 0), 0.005);
    }

    [TestMethod]
    public void EstimateMos_G729NoLoss_LowerThanG711()
    {
        Assert.AreEqual(82.2, RtpQuality.RFactor(CodecImpairment.G729, 0), 1e-9);
        Assert.IsLessThan(RtpQuality.EstimateMos(CodecImpairment.G711, 0), RtpQuality.EstimateMos(CodecImpairment.G729, 0));
    }

    [TestMethod]
    public void RFactor_OnePercentRandomLossOnG711_FollowsG107()
    {
        // Ie_eff = 0 + 95 × 1 / (1 + 25.1)
        Assert.AreEqual(93.2 - 95 / 26.1, RtpQuality.RFactor(CodecImpairment.G711, 0.01), 1e-9);
        // Bursty loss hurts more than random loss at the same rate.
        Assert.IsLessThan(RtpQuality.RFactor(CodecImpairment.G711, 0.01), RtpQuality.RFactor(CodecImpairment.G711, 0.01, burstRatio: 3));
    }

    [TestMethod]
    public void DelayImpairment_ColeRosenbluth()
    {
        Assert.AreEqual(0, RtpQuality.DelayImpairment(0));
        Assert.AreEqual(2.4, RtpQuality.DelayImpairment(100), 1e-9);
        Assert.AreEqual(0.024 * 300 + 0.11 * (300 - 177.3), RtpQuality.DelayImpairment(300), 1e-9);
        Assert.IsLessThan(RtpQuality.EstimateMos(CodecImpairment.G711, 0), RtpQuality.EstimateMos(CodecImpairment.G711, 0, oneWayDelayMs: 300));
    }

    [TestMethod]
    public void MosFromR_ClampsAtBothEnds()
    {
        Assert.AreEqual(1.0, RtpQuality.MosFromR(-5));
        Assert.AreEqual(4.5, RtpQuality.MosFromR(120));
    }

    [TestMethod]
    public void EstimateMos_StreamWithBurstLoss_UsesDistinctLossAndBursts()
    {
        var s = new RtpStreamStatistics();
        long t = 0;
        for (int seq = 0; seq < 1000; seq++)
        {
            if (seq is >= 100 and < 110) continue; // one burst of 10
            s.Add(t + seq * 20_000_000L, new RtpPacketInfo((ushort)seq, (uint)(160 * seq), false, 8, 172, false, 8000));
        }
        Assert.AreEqual(0.01, s.LossRatio, 1e-12);
        double burstR = RtpQuality.BurstRatio(s.GetLossBursts(), s.DistinctPackets);
        Assert.IsGreaterThan(5, burstR);
        double mos = RtpQuality.EstimateMos(s, CodecImpairment.G711);
        Assert.AreEqual(RtpQuality.EstimateMos(CodecImpairment.G711, 0.01, burstR), mos, 1e-12);
        Assert.IsLessThan(RtpQuality.EstimateMos(CodecImpairment.G711, 0.01), mos);
    }

    [TestMethod]
    [DataRow(0, "G.711")]
    [DataRow(8, "G.711")]
    [DataRow(9, "G.722")]
    [DataRow(18, "G.729")]
    [DataRow(3, "other")]
    public void CodecImpairment_ForPayloadType(int pt, string name) =>
        Assert.AreEqual(name, CodecImpairment.ForPayloadType(pt).Name);
}
