using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Decode.DecoderHarness;

namespace TrafficAudit.Tests.Decode;

[TestClass]
public sealed class TunnelDecodeTests
{
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.1"), B = IpAddress.Parse("10.0.0.2");
    private const int OuterIpv4 = 14 + 20;
    private const int InnerEthernetIpv4Udp = 14 + 20 + 8;

    private static void AssertInnerSip(DecodedPacket p, int tunnels)
    {
        Assert.AreEqual(A, p.Src, "the innermost source is reported");
        Assert.AreEqual(B, p.Dst);
        Assert.AreEqual((ushort)5060, p.DstPort);
        Assert.AreEqual(23, p.PayloadLength);
        Assert.AreEqual((byte)tunnels, p.TunnelDepth);
    }

    [TestMethod]
    public void Decode_Ipv4InIpv4_ReportsInnerPacket()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpInIpUdp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual(51, p.IpLength, "IpLength is the inner packet's");
    }

    [TestMethod]
    public void Decode_Ipv6InIpv4_ReportsInnerIpv6Packet()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthSixInFourUdp, DecodeStatus.Ok);
        Assert.AreEqual((byte)6, p.IpVersion);
        Assert.AreEqual(IpAddress.Parse("2001:db8::1"), p.Src);
        Assert.AreEqual((byte)1, p.TunnelDepth);
    }

    [TestMethod]
    public void Decode_GreWithChecksumKeyAndSequence_SkipsOptionalWords()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthGreChecksumKeySequenceIpv4Udp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual(OuterIpv4 + 16 + 28, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_GreTransparentEthernetWithVlan_ReportsInnerVlan()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthGreTebVlanUdp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual((ushort)55, p.Vlan);
        Assert.AreEqual((byte)1, p.VlanDepth);
    }

    [TestMethod]
    public void Decode_ErspanTypeI_EthernetFollowsGreDirectly()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthErspan1Udp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual(OuterIpv4 + 4 + InnerEthernetIpv4Udp, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_ErspanTypeII_SkipsEightByteHeader()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthErspan2Udp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual(OuterIpv4 + 8 + 8 + InnerEthernetIpv4Udp, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_ErspanTypeIII_SkipsTwelveByteHeader()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthErspan3Udp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual(OuterIpv4 + 8 + 12 + InnerEthernetIpv4Udp, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_ErspanTypeIIIWithPlatformSubheader_SkipsTwentyBytes()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthErspan3WithSubheaderUdp, DecodeStatus.Ok);
        AssertInnerSip(p, 1);
        Assert.AreEqual(OuterIpv4 + 8 + 20 + InnerEthernetIpv4Udp, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_GreVersionOne_CountsUnsupportedVersion()
    {
        var f = (byte[])Frames.EthGreChecksumKeySequenceIpv4Udp.Clone();
        f[OuterIpv4 + 1] = 0x01;
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, f, out _, out var a));
        Assert.AreEqual(1L, a["gre_unsupported_version"]);
    }

    [TestMethod]
    [DataRow(OuterIpv4 + 3, "gre_truncated")]
    [DataRow(OuterIpv4 + 15, "gre_truncated")]
    public void Decode_TruncatedGre_CountsGreTruncated(int length, string anomaly)
    {
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, Frames.EthGreChecksumKeySequenceIpv4Udp[..length], out _, out var a));
        Assert.AreEqual(1L, a[anomaly]);
    }

    [TestMethod]
    [DataRow(OuterIpv4 + 8 + 7, false)]
    [DataRow(OuterIpv4 + 8 + 11, true)]
    [DataRow(OuterIpv4 + 8 + 19, true)]
    public void Decode_TruncatedErspanHeader_CountsErspanTruncated(int length, bool typeIII)
    {
        var frame = typeIII ? Frames.EthErspan3WithSubheaderUdp : Frames.EthErspan2Udp;
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, frame[..length], out _, out var a));
        Assert.AreEqual(1L, a["erspan_truncated"]);
    }

    [TestMethod]
    public void Decode_InnerIpv4LongerThanOuterPayload_CountsBadTotalLength()
    {
        var f = (byte[])Frames.EthIpInIpUdp.Clone();
        f[OuterIpv4 + 3] += 1; // inner total length one past the outer payload
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, f, out _, out var a));
        Assert.AreEqual(1L, a["ipv4_bad_total_length"]);
    }

    [TestMethod]
    public void Decode_EightNestedIpInIp_Decodes_NineAreTooDeep()
    {
        byte[] Nest(int depth)
        {
            var ip = PacketBuilder.Ipv4("10.0.0.1", "10.0.0.2", IpProtocol.Udp, PacketBuilder.Udp(5060, 5060, [1, 2, 3]));
            for (int i = 0; i < depth; i++) ip = PacketBuilder.Ipv4("192.0.2.1", "192.0.2.2", IpProtocol.IpInIp, ip);
            return PacketBuilder.Ethernet(0x0800, ip);
        }
        var p = DecodeAllWays(LinkType.Ethernet, Nest(8), DecodeStatus.Ok);
        Assert.AreEqual((byte)8, p.TunnelDepth);
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, Nest(9), out _, out var a));
        Assert.AreEqual(1L, a["tunnel_too_deep"]);
    }
}
