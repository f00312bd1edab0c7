using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Decode.DecoderHarness;

namespace TrafficAudit.Tests.Decode;

[TestClass]
public sealed class LinkLayerDecodeTests
{
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.1"), B = IpAddress.Parse("10.0.0.2");
    private static readonly IpAddress A6 = IpAddress.Parse("2001:db8::1"), B6 = IpAddress.Parse("2001:db8::2");

    [TestMethod]
    public void Decode_EthernetIpv4Udp_FillsAddressesPortsAndPayload()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual((byte)4, p.IpVersion);
        Assert.AreEqual(A, p.Src);
        Assert.AreEqual(B, p.Dst);
        Assert.AreEqual(IpProtocol.Udp, p.Protocol);
        Assert.AreEqual((byte)64, p.Ttl);
        Assert.AreEqual(51, p.IpLength);
        Assert.AreEqual((ushort)5060, p.SrcPort);
        Assert.AreEqual((ushort)5060, p.DstPort);
        Assert.AreEqual(42, p.PayloadOffset);
        Assert.AreEqual(23, p.PayloadLength);
        Assert.AreEqual("OPTIONS sip:a SIP/2.0\r\n", System.Text.Encoding.ASCII.GetString(Frames.EthIpv4Udp, p.PayloadOffset, p.PayloadLength));
        Assert.AreEqual((byte)0, p.VlanDepth);
        Assert.AreEqual((byte)0, p.TunnelDepth);
        Assert.IsFalse(p.Reassembled);
    }

    [TestMethod]
    public void Decode_EthernetPaddingAfterIpv4_IsTrimmedByTotalLength()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpv4UdpPadded, DecodeStatus.Ok);
        Assert.AreEqual(60, Frames.EthIpv4UdpPadded.Length);
        Assert.AreEqual(30, p.IpLength);
        Assert.AreEqual(2, p.PayloadLength);
        Assert.AreEqual((ushort)1000, p.SrcPort);
        Assert.AreEqual((ushort)2000, p.DstPort);
    }

    [TestMethod]
    public void Decode_ThreeStackedVlanTags_ReportsInnermostIdAndDepth()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthQinQinQIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual((ushort)300, p.Vlan);
        Assert.AreEqual((byte)3, p.VlanDepth);
        Assert.AreEqual((ushort)5062, p.DstPort);
    }

    [TestMethod]
    public void Decode_Legacy9100TagThenVlanThenIpv6_Decodes()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.Eth9100Ipv6Udp, DecodeStatus.Ok);
        Assert.AreEqual((ushort)42, p.Vlan);
        Assert.AreEqual((byte)2, p.VlanDepth);
        Assert.AreEqual((byte)6, p.IpVersion);
        Assert.AreEqual(A6, p.Src);
        Assert.AreEqual(B6, p.Dst);
    }

    [TestMethod]
    public void Decode_TwoMplsLabelsThenIpv6_PicksIpv6ByVersionNibble()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthMplsIpv6Udp, DecodeStatus.Ok);
        Assert.AreEqual((byte)6, p.IpVersion);
        Assert.AreEqual((ushort)16384, p.SrcPort);
        Assert.AreEqual((ushort)16386, p.DstPort);
        Assert.AreEqual(4, p.PayloadLength);
    }

    [TestMethod]
    public void Decode_MplsBottomLabelFollowedByPseudowireControlWord_ReturnsNotIp()
    {
        var f = (byte[])Frames.EthMplsIpv6Udp.Clone();
        f[22] = 0x00; // first byte after the bottom label: 0 nibble = RFC 4385 control word
        Assert.AreEqual(DecodeStatus.NotIp, DecodeOnce(LinkType.Ethernet, f, out _, out var a));
        Assert.AreEqual(0L, TotalAnomalies(a));
    }

    [TestMethod]
    public void Decode_LinuxSll_Decodes()
    {
        var p = DecodeAllWays(LinkType.LinuxSll, Frames.SllIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual(A, p.Src);
        Assert.AreEqual(16 + 28, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_LinuxSll2Ipv6Tcp_FillsTcpFields()
    {
        var p = DecodeAllWays(LinkType.LinuxSll2, Frames.Sll2Ipv6Tcp, DecodeStatus.Ok);
        Assert.AreEqual(IpProtocol.Tcp, p.Protocol);
        Assert.AreEqual((ushort)5061, p.SrcPort);
        Assert.AreEqual((ushort)40000, p.DstPort);
        Assert.AreEqual(1000u, p.TcpSeq);
        Assert.AreEqual(2000u, p.TcpAck);
        Assert.AreEqual(TcpFlags.Psh | TcpFlags.Ack, p.TcpFlags);
        Assert.AreEqual((ushort)512, p.TcpWindow);
        Assert.AreEqual(4, p.PayloadLength);
    }

    [TestMethod]
    public void Decode_NullLittleEndianAfInet_Decodes()
    {
        var p = DecodeAllWays(LinkType.Null, Frames.NullLeIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual(A, p.Src);
        Assert.AreEqual((ushort)7001, p.DstPort);
    }

    [TestMethod]
    public void Decode_NullBigEndianAfInet6Darwin_Decodes()
    {
        var p = DecodeAllWays(LinkType.Null, Frames.NullBeIpv6Udp, DecodeStatus.Ok);
        Assert.AreEqual((byte)6, p.IpVersion);
        Assert.AreEqual(B6, p.Dst);
    }

    [TestMethod]
    [DataRow(24u)]
    [DataRow(28u)]
    [DataRow(30u)]
    public void Decode_NullEveryBsdAfInet6InBothOrders_Decodes(uint family)
    {
        foreach (bool bigEndian in new[] { false, true })
        {
            var f = (byte[])Frames.NullBeIpv6Udp.Clone();
            if (bigEndian) System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(f, family);
            else System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(f, family);
            Assert.AreEqual(DecodeStatus.Ok, DecodeOnce(LinkType.Null, f, out var p, out _), $"family {family} big endian {bigEndian}");
            Assert.AreEqual((byte)6, p.IpVersion);
        }
    }

    [TestMethod]
    public void Decode_NullUnknownFamily_ReturnsNotIp()
    {
        var f = (byte[])Frames.NullLeIpv4Udp.Clone();
        f[0] = 7; // AF_IMPLINK
        Assert.AreEqual(DecodeStatus.NotIp, DecodeOnce(LinkType.Null, f, out _, out _));
    }

    [TestMethod]
    public void Decode_LoopNetworkOrder_Decodes()
    {
        var p = DecodeAllWays(LinkType.Loop, Frames.LoopIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual(B, p.Dst);
    }

    [TestMethod]
    public void Decode_LoopWithLittleEndianFamily_ReturnsNotIp()
    {
        // Loop is always network order: 02 00 00 00 is family 0x02000000, not AF_INET.
        Assert.AreEqual(DecodeStatus.NotIp, DecodeOnce(LinkType.Loop, Frames.NullLeIpv4Udp, out _, out _));
    }

    [TestMethod]
    [DataRow(LinkType.Raw)]
    [DataRow(LinkType.RawLegacy12)]
    [DataRow(LinkType.RawLegacy14)]
    [DataRow(LinkType.Ipv6)]
    public void Decode_RawIpv6_PicksVersionByNibble(LinkType link)
    {
        var p = DecodeAllWays(link, Frames.RawIpv6Udp, DecodeStatus.Ok);
        Assert.AreEqual((byte)6, p.IpVersion);
        Assert.AreEqual(48, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_RawIpv4_PicksVersionByNibble()
    {
        var ip = Frames.EthIpv4Udp[14..];
        var p = DecodeAllWays(LinkType.Raw, ip, DecodeStatus.Ok);
        Assert.AreEqual((byte)4, p.IpVersion);
        Assert.AreEqual((ushort)5060, p.DstPort);
    }

    [TestMethod]
    public void Decode_RawWithVersionFive_ReturnsMalformed()
    {
        var ip = Frames.EthIpv4Udp[14..];
        ip[0] = 0x55;
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Raw, ip, out _, out var a));
        Assert.AreEqual(1L, a["ip_bad_version"]);
    }

    [TestMethod]
    public void Decode_PppoeSessionIpv4_Decodes()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthPppoeIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual(A, p.Src);
        Assert.AreEqual(14 + 8 + 28, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_PppoeSessionCarryingLcp_ReturnsNotIp()
    {
        var f = (byte[])Frames.EthPppoeIpv4Udp.Clone();
        f[20] = 0xC0; f[21] = 0x21; // PPP protocol LCP
        Assert.AreEqual(DecodeStatus.NotIp, DecodeOnce(LinkType.Ethernet, f, out _, out _));
    }

    [TestMethod]
    public void Decode_PppLinkTypeWithAddressAndControl_Decodes()
    {
        var p = DecodeAllWays(LinkType.Ppp, Frames.PppIpv4Udp, DecodeStatus.Ok);
        Assert.AreEqual(A, p.Src);
        Assert.AreEqual(4 + 28, p.PayloadOffset);
    }

    [TestMethod]
    public void Decode_PppLinkTypeWithCompressedProtocol_Decodes()
    {
        // Address/control omitted and the protocol compressed to one byte (0x21), RFC 1661 6.5.
        var f = new byte[] { 0x21 }.Concat(Frames.PppIpv4Udp[4..]).ToArray();
        var p = DecodeAllWays(LinkType.Ppp, f, DecodeStatus.Ok);
        Assert.AreEqual(B, p.Dst);
    }

    [TestMethod]
    public void Decode_Arp_ReturnsNotIpWithoutAnomaly() => DecodeAllWays(LinkType.Ethernet, Frames.EthArp, DecodeStatus.NotIp);

    [TestMethod]
    public void Decode_SpanningTree8023Llc_ReturnsNotIpWithoutAnomaly() => DecodeAllWays(LinkType.Ethernet, Frames.EthStp, DecodeStatus.NotIp);

    [TestMethod]
    public void Decode_UnknownLinkType_ReturnsMalformed()
    {
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce((LinkType)147, Frames.EthIpv4Udp, out _, out var a));
        Assert.AreEqual(1L, a["unknown_link_type"]);
    }

    [TestMethod]
    [DataRow(0, "ethernet_truncated")]
    [DataRow(13, "ethernet_truncated")]
    [DataRow(15, "vlan_truncated")]
    [DataRow(21, "vlan_truncated")]
    public void Decode_TruncatedVlanFrame_CountsNamedAnomaly(int length, string anomaly)
    {
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, Frames.EthQinQinQIpv4Udp[..length], out _, out var a));
        Assert.AreEqual(1L, a[anomaly]);
        Assert.AreEqual(1L, TotalAnomalies(a));
    }

    [TestMethod]
    public void Decode_NineVlanTags_ReturnsVlanTooDeep()
    {
        var tags = Enumerable.Range(0, 9).SelectMany(_ => new byte[] { 0x00, 0x05, 0x81, 0x00 }).ToArray();
        var f = PacketBuilder.Ethernet(0x8100, tags.Concat(new byte[40]).ToArray());
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, f, out _, out var a));
        Assert.AreEqual(1L, a["vlan_too_deep"]);
    }

    [TestMethod]
    [DataRow(LinkType.LinuxSll, 15, "sll_truncated")]
    [DataRow(LinkType.LinuxSll2, 19, "sll2_truncated")]
    [DataRow(LinkType.Null, 3, "loopback_truncated")]
    [DataRow(LinkType.Raw, 0, "ip_truncated")]
    [DataRow(LinkType.Ppp, 1, "ppp_truncated")]
    public void Decode_TruncatedLinkHeader_CountsNamedAnomaly(LinkType link, int length, string anomaly)
    {
        var frame = link switch
        {
            LinkType.LinuxSll => Frames.SllIpv4Udp,
            LinkType.LinuxSll2 => Frames.Sll2Ipv6Tcp,
            LinkType.Null => Frames.NullLeIpv4Udp,
            LinkType.Ppp => Frames.PppIpv4Udp,
            _ => Frames.RawIpv6Udp,
        };
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(link, frame[..length], out _, out var a));
        Assert.AreEqual(1L, a[anomaly]);
    }

    [TestMethod]
    public void Decode_TruncatedPppoeHeader_CountsPppoeTruncated()
    {
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, Frames.EthPppoeIpv4Udp[..21], out _, out var a));
        Assert.AreEqual(1L, a["pppoe_truncated"]);
    }

    [TestMethod]
    public void Decode_TruncatedMplsStack_CountsMplsTruncated()
    {
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(LinkType.Ethernet, Frames.EthMplsIpv6Udp[..20], out _, out var a));
        Assert.AreEqual(1L, a["mpls_truncated"]);
    }
}
