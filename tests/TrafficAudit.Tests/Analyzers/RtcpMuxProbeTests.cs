using System.Buffers.Binary;
using TrafficAudit.Analyzers;

namespace TrafficAudit.Tests.Analyzers;

/// <summary>RFC 5761 §4: RTCP on the RTP port is told from RTP by its second byte (192-223).</summary>
[TestClass]
public sealed class RtcpMuxProbeTests
{
    private static byte[] Rtp(ushort seq, byte pt = 0, bool marker = false)
    {
        var b = new byte[172];
        b[0] = 0x80;
        b[1] = (byte)((marker ? 0x80 : 0) | pt);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), seq);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), seq * 160u);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), 0xCAFE0001);
        return b;
    }

    /// <summary>One RTCP packet of <paramref name="type"/> with <paramref name="words"/> 32-bit words after the header, sender SSRC 0xCAFE0001.</summary>
    private static byte[] Rtcp(byte type, int words, int trailer = 0)
    {
        var b = new byte[4 + 4 * words + trailer];
        b[0] = 0x81;
        b[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)words);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), 0xCAFE0001);
        return b;
    }

    [TestMethod]
    [DataRow((byte)200)] [DataRow((byte)201)] [DataRow((byte)202)] [DataRow((byte)203)] [DataRow((byte)204)]
    [DataRow((byte)205)] [DataRow((byte)206)] [DataRow((byte)207)] [DataRow((byte)208)] [DataRow((byte)209)] [DataRow((byte)210)]
    [DataRow((byte)192)] [DataRow((byte)223)]
    public void IsRtcpPacketType_RtcpTypes_True(byte type) => Assert.IsTrue(RtpProbe.IsRtcpPacketType(Rtcp(type, 6)));

    [TestMethod]
    public void IsRtcpPacketType_RtpPayloadTypes_False()
    {
        Assert.IsFalse(RtpProbe.IsRtcpPacketType(Rtp(1, pt: 0)));
        Assert.IsFalse(RtpProbe.IsRtcpPacketType(Rtp(1, pt: 8, marker: true)));
        Assert.IsFalse(RtpProbe.IsRtcpPacketType(Rtp(1, pt: 111, marker: true)), "marker + 111 = 239, above the RTCP range");
        Assert.IsFalse(RtpProbe.IsRtcpPacketType(Rtp(1, pt: 96, marker: true)), "marker + 96 = 224, just above it");
        Assert.IsFalse(RtpProbe.IsRtcpPacketType([0x80, 200, 0]), "too short");
    }

    [TestMethod]
    public void IsPlainRtcp_CompoundAndReducedSize_TrueAndSrtcpFalse()
    {
        byte[] compound = [.. Rtcp(200, 6), .. Rtcp(202, 3)];
        Assert.IsTrue(RtpProbe.IsPlainRtcp(compound));
        Assert.IsTrue(RtpProbe.IsPlainRtcp(Rtcp(206, 2)), "RFC 5506 reduced-size: a lone PSFB");
        Assert.IsFalse(RtpProbe.IsPlainRtcp(Rtcp(200, 6, trailer: 14)), "SRTCP: E+index and a 10-byte tag follow the packets");
    }

    [TestMethod]
    public void Inspect_SrtcpOnlyFlowWithChangingLengths_IsNeverRtp()
    {
        // SRTCP-like feedback packets: the length word (RTP's sequence number) advances, the SSRC stays:
        // without the RFC 5761 test these would pass for RTP with payload types 77-79 and the marker bit.
        var probe = new RtpProbe();
        for (int i = 0; i < 40; i++) probe.Inspect(Rtcp((byte)(205 + i % 3), 2 + i, trailer: 14), i % 2);
        Assert.IsFalse(probe.IsRtp);
        Assert.IsTrue(probe.Decided);
    }

    [TestMethod]
    public void Inspect_ReducedSizeRtcpOnlyFlow_IsRtcp()
    {
        var probe = new RtpProbe();
        for (int i = 0; i < 3; i++) probe.Inspect(Rtcp((byte)(205 + i % 2), 2 + i), 0);
        Assert.IsFalse(probe.IsRtp);
        Assert.IsTrue(probe.IsRtcp);
    }

    [TestMethod]
    public void Inspect_LlmnrQueriesWithAnRtcpLikeSecondByte_AreNotRtcp()
    {
        // LLMNR query, ID 0x80C8 (second byte 200 by chance), flags 0, one question: repeated twice.
        byte[] q = [0x80, 0xC8, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, (byte)'w', (byte)'p', (byte)'a', (byte)'d', 0x00, 0x00, 0x01, 0x00, 0x01];
        var probe = new RtpProbe();
        probe.Inspect(q, 0);
        probe.Inspect(q, 0);
        Assert.IsFalse(probe.IsRtcp);
        Assert.IsFalse(probe.IsRtp);
    }

    [TestMethod]
    public void Inspect_RtpWithMultiplexedRtcpBetween_IsRtp()
    {
        var probe = new RtpProbe();
        probe.Inspect(Rtp(10), 0);
        probe.Inspect(Rtcp(200, 6), 0);
        probe.Inspect(Rtp(11), 0);
        probe.Inspect(Rtcp(201, 7), 1);
        probe.Inspect(Rtp(12), 0);
        probe.Inspect(Rtp(13), 0);
        Assert.IsTrue(probe.IsRtp);
        Assert.IsFalse(probe.IsRtcp);
    }
}
