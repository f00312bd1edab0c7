using System.Buffers.Binary;
using TrafficAudit.Analyzers;

namespace TrafficAudit.Tests.Analyzers;

[TestClass]
public sealed class RtpProbeTests
{
    /// <summary>RTP header: 80 08 SS SS TT TT TT TT 12 34 56 78 then 160 bytes of G.711A payload.</summary>
    private static byte[] Rtp(ushort seq, uint ssrc = 0x12345678, byte pt = 8, int payload = 160)
    {
        var b = new byte[12 + payload];
        b[0] = 0x80;
        b[1] = pt;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), seq);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), seq * 160u);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), ssrc);
        return b;
    }

    [TestMethod]
    public void Inspect_FourAdvancingPacketsOfOneSsrc_ConfirmsRtp()
    {
        var probe = new RtpProbe();
        for (ushort s = 65534; s != 2; s++) probe.Inspect(Rtp(s), 0); // wraps through 0
        Assert.IsTrue(probe.IsRtp);
        Assert.AreEqual(0x12345678u, probe.Ssrc);
        Assert.AreEqual(8, probe.PayloadType);
    }

    [TestMethod]
    public void Inspect_ChangingSsrc_IsNotRtp()
    {
        var probe = new RtpProbe();
        for (ushort s = 1; s < 20; s++) probe.Inspect(Rtp(s, ssrc: s), 0);
        Assert.IsFalse(probe.IsRtp);
    }

    [TestMethod]
    public void Inspect_RandomBytes_IsNotRtp()
    {
        var rnd = new Random(7);
        var probe = new RtpProbe();
        for (int i = 0; i < 40; i++)
        {
            var b = new byte[100];
            rnd.NextBytes(b);
            probe.Inspect(b, i & 1);
        }
        Assert.IsFalse(probe.IsRtp);
        Assert.IsTrue(probe.Decided);
    }

    [TestMethod]
    public void LooksLikeRtcp_CompoundSenderReportAndSdes_IsRtcp()
    {
        // SR with no report blocks (28 bytes, length 6) followed by SDES (12 bytes, length 2).
        var b = new byte[28 + 12];
        b[0] = 0x80; b[1] = 200; b[3] = 6;
        b[28] = 0x81; b[29] = 202; b[31] = 2;
        Assert.IsTrue(RtpProbe.LooksLikeRtcp(b));
        Assert.IsFalse(RtpProbe.LooksLikeRtcp(b.AsSpan(0, 39)));
        var probe = new RtpProbe();
        probe.Inspect(b, 0);
        probe.Inspect(b, 1);
        Assert.IsTrue(probe.IsRtcp);
        Assert.IsFalse(probe.IsRtp);
    }

    [TestMethod]
    public void TryReadRtpHeader_CutAtEveryLength_NeverThrows()
    {
        var full = Rtp(1);
        full[0] = 0x93; // V=2, X=1, CC=3: needs 12 + 12 + 4 bytes before the extension words
        for (int n = 0; n <= full.Length; n++)
            RtpProbe.TryReadRtpHeader(full.AsSpan(0, n), out _, out _, out _);
        Assert.IsFalse(RtpProbe.TryReadRtpHeader(full.AsSpan(0, 20), out _, out _, out _));
    }
}
