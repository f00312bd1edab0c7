using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Decode.DecoderHarness;

namespace TrafficAudit.Tests.Decode;

[TestClass]
public sealed class IpAndTransportDecodeTests
{
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.1"), B = IpAddress.Parse("10.0.0.2");
    private static readonly IpAddress A6 = IpAddress.Parse("2001:db8::1"), B6 = IpAddress.Parse("2001:db8::2");

    private static void AssertMalformed(byte[] frame, string anomaly, LinkType link = LinkType.Ethernet)
    {
        Assert.AreEqual(DecodeStatus.Malformed, DecodeOnce(link, frame, out _, out var a));
        Assert.AreEqual(1L, a[anomaly], string.Join(",", a.Entries.Select(e => e.Name)));
        Assert.AreEqual(1L, TotalAnomalies(a), "exactly one anomaly per bad frame");
    }

    private static byte[] With(byte[] frame, int offset, params byte[] bytes)
    {
        var f = (byte[])frame.Clone();
        bytes.CopyTo(f, offset);
        return f;
    }

    [TestMethod]
    public void Decode_Ipv4OptionsAndTcpOptions_SkipsBoth()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpv4OptionsTcp, DecodeStatus.Ok);
        Assert.AreEqual(IpAddress.Parse("192.168.1.10"), p.Src);
        Assert.AreEqual(IpProtocol.Tcp, p.Protocol);
        Assert.AreEqual((ushort)49152, p.SrcPort);
        Assert.AreEqual((ushort)443, p.DstPort);
        Assert.AreEqual(TcpFlags.Syn, p.TcpFlags);
        Assert.AreEqual(0x01020304u, p.TcpSeq);
        Assert.AreEqual((ushort)64240, p.TcpWindow);
        Assert.AreEqual(14 + 24 + 32, p.PayloadOffset);
        Assert.AreEqual(0, p.PayloadLength);
        Assert.AreEqual(24 + 32, p.IpLength);
    }

    [TestMethod]
    public void Decode_Ipv6HopByHopRoutingDestinationOptions_ReachesUdp()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpv6ExtUdp, DecodeStatus.Ok);
        Assert.AreEqual(IpProtocol.Udp, p.Protocol);
        Assert.AreEqual((ushort)5060, p.SrcPort);
        Assert.AreEqual(14 + 40 + 8 + 24 + 8 + 8, p.PayloadOffset);
        Assert.AreEqual(40 + 40 + 31, p.IpLength);
    }

    [TestMethod]
    public void Decode_Ipv6AuthenticationHeader_ReachesTcp()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpv6AhTcp, DecodeStatus.Ok);
        Assert.AreEqual(IpProtocol.Tcp, p.Protocol);
        Assert.AreEqual((ushort)5061, p.DstPort);
        Assert.AreEqual(2, p.PayloadLength);
    }

    [TestMethod]
    public void Decode_Ipv4Esp_StopsWithProtocolEspAndNoPorts()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIpv4Esp, DecodeStatus.Ok);
        Assert.AreEqual(IpProtocol.Esp, p.Protocol);
        Assert.IsFalse(p.HasPorts);
        Assert.AreEqual(34, p.PayloadOffset);
        Assert.AreEqual(24, p.PayloadLength);
    }

    [TestMethod]
    public void Decode_Ipv4HeaderLengthBelowFive_CountsBadHeaderLength()
        => AssertMalformed(With(Frames.EthIpv4Udp, 14, 0x44), "ipv4_bad_header_length");

    [TestMethod]
    public void Decode_Ipv4HeaderLengthPastFrame_CountsIpv4Truncated()
        => AssertMalformed(Frames.EthIpv4OptionsTcp[..(14 + 22)], "ipv4_truncated");

    [TestMethod]
    public void Decode_Ipv4TotalLengthBelowHeader_CountsBadTotalLength()
        => AssertMalformed(With(Frames.EthIpv4Udp, 16, 0x00, 0x13), "ipv4_bad_total_length");

    [TestMethod]
    public void Decode_EtherTypeIpv4CarryingVersion6_CountsBadVersion()
        => AssertMalformed(With(Frames.EthIpv4Udp, 14, 0x65), "ipv4_bad_version");

    [TestMethod]
    public void Decode_Ipv6Truncated_CountsIpv6Truncated()
        => AssertMalformed(Frames.RawIpv6Udp[..39], "ipv6_truncated", LinkType.Raw);

    [TestMethod]
    public void Decode_Ipv6ExtensionLengthPastPacket_CountsExtensionTruncated()
        => AssertMalformed(With(Frames.EthIpv6ExtUdp, 14 + 40 + 1, 0x20), "ipv6_extension_truncated");

    [TestMethod]
    public void Decode_UdpLengthBelowHeader_CountsBadLength()
        => AssertMalformed(With(Frames.EthIpv4Udp, 38, 0x00, 0x07), "udp_bad_length");

    [TestMethod]
    public void Decode_UdpLengthBeyondIpPayload_CountsBadLength()
        => AssertMalformed(With(Frames.EthIpv4Udp, 38, 0x00, 0x20), "udp_bad_length");

    [TestMethod]
    public void Decode_UdpLengthShorterThanIpPayload_LimitsPayloadToUdpLength()
    {
        Assert.AreEqual(DecodeStatus.Ok, DecodeOnce(LinkType.Ethernet, With(Frames.EthIpv4Udp, 38, 0x00, 0x0A), out var p, out _));
        Assert.AreEqual(2, p.PayloadLength);
    }

    [TestMethod]
    public void Decode_TcpDataOffsetBelowFive_CountsBadDataOffset()
        => AssertMalformed(With(Frames.EthIpv4OptionsTcp, 14 + 24 + 12, 0x40), "tcp_bad_data_offset");

    [TestMethod]
    public void Decode_TcpDataOffsetBeyondIpPayload_CountsBadDataOffset()
        => AssertMalformed(With(Frames.EthIpv4OptionsTcp, 14 + 24 + 12, 0xF0), "tcp_bad_data_offset");

    [TestMethod]
    public void Decode_UdpHeaderCutBySnaplen_CountsUdpTruncated()
        => AssertMalformed(Frames.EthIpv4Udp[..(14 + 20 + 7)], "udp_truncated");

    [TestMethod]
    public void Decode_TcpOptionsCutBySnaplen_CountsTcpTruncated()
        => AssertMalformed(Frames.EthIpv4OptionsTcp[..(14 + 24 + 31)], "tcp_truncated");

    [TestMethod]
    public void Decode_UdpPayloadCutBySnaplen_DecodesHeadersAndCountsOnce()
    {
        var cut = Frames.EthIpv4Udp[..50];
        Assert.AreEqual(DecodeStatus.Ok, DecodeOnce(LinkType.Ethernet, cut, out var p, out var a));
        Assert.AreEqual((ushort)5060, p.DstPort);
        Assert.AreEqual(51, p.IpLength, "IpLength comes from the header, not the capture");
        Assert.AreEqual(8, p.PayloadLength);
        Assert.AreEqual(1L, a["ip_payload_truncated_by_snaplen"]);
        Assert.AreEqual(1L, TotalAnomalies(a));
    }

    [TestMethod]
    public void Decode_IcmpPortUnreachableQuotingUdp_FillsInnerFields()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIcmpUnreachUdp, DecodeStatus.Ok);
        Assert.AreEqual(IpProtocol.Icmp, p.Protocol);
        Assert.AreEqual(B, p.Src);
        Assert.AreEqual(A, p.Dst);
        Assert.AreEqual((byte)3, p.IcmpType);
        Assert.AreEqual((byte)3, p.IcmpCode);
        Assert.IsTrue(p.IcmpUnreachable);
        Assert.AreEqual(A, p.InnerSrc);
        Assert.AreEqual(B, p.InnerDst);
        Assert.AreEqual(IpProtocol.Udp, p.InnerProtocol);
        Assert.AreEqual((ushort)5060, p.InnerSrcPort);
        Assert.AreEqual((ushort)5080, p.InnerDstPort);
        Assert.IsFalse(p.HasPorts);
    }

    [TestMethod]
    public void Decode_Icmpv6PortUnreachableQuotingUdp_FillsInnerFields()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIcmpv6UnreachUdp, DecodeStatus.Ok);
        Assert.AreEqual(IpProtocol.Icmpv6, p.Protocol);
        Assert.AreEqual((byte)1, p.IcmpType);
        Assert.AreEqual((byte)4, p.IcmpCode);
        Assert.IsTrue(p.IcmpUnreachable);
        Assert.AreEqual(A6, p.InnerSrc);
        Assert.AreEqual(B6, p.InnerDst);
        Assert.AreEqual(IpProtocol.Udp, p.InnerProtocol);
        Assert.AreEqual((ushort)5080, p.InnerDstPort);
    }

    [TestMethod]
    public void Decode_IcmpTimeExceededQuotingTcp_FillsInnerFieldsButNotUnreachable()
    {
        var p = DecodeAllWays(LinkType.Ethernet, Frames.EthIcmpTtlTcp, DecodeStatus.Ok);
        Assert.AreEqual((byte)11, p.IcmpType);
        Assert.IsFalse(p.IcmpUnreachable);
        Assert.AreEqual(IpAddress.Parse("198.51.100.7"), p.InnerDst);
        Assert.AreEqual(IpProtocol.Tcp, p.InnerProtocol);
        Assert.AreEqual((ushort)40000, p.InnerSrcPort);
        Assert.AreEqual((ushort)443, p.InnerDstPort);
    }

    [TestMethod]
    public void Decode_IcmpUnreachableWithQuoteCut_KeepsTypeAndCountsQuoteTruncated()
    {
        Assert.AreEqual(DecodeStatus.Ok, DecodeOnce(LinkType.Ethernet, Frames.EthIcmpUnreachUdp[..(14 + 20 + 8 + 19)], out var p, out var a));
        Assert.AreEqual((byte)3, p.IcmpType);
        Assert.IsFalse(p.IcmpUnreachable);
        Assert.IsTrue(p.InnerSrc.IsEmpty);
        Assert.AreEqual(1L, a["icmp_quote_truncated"]);
    }

    [TestMethod]
    public void Decode_Icmpv6QuoteEndingInsideExtensionHeader_ReportsHeaderTypeWithoutPorts()
    {
        // The quoted packet's hop-by-hop header claims 8 bytes but only 4 were quoted.
        var quote = PacketBuilder.Ipv6("2001:db8::1", "2001:db8::2", IpProtocol.HopByHop, [17, 0, 1, 4]);
        var icmp = new byte[] { 1, 4, 0, 0, 0, 0, 0, 0 }.Concat(quote).ToArray();
        var frame = PacketBuilder.Ethernet(0x86DD, PacketBuilder.Ipv6("2001:db8::2", "2001:db8::1", IpProtocol.Icmpv6, icmp));
        var p = DecodeAllWays(LinkType.Ethernet, frame, DecodeStatus.Ok);
        Assert.IsTrue(p.IcmpUnreachable);
        Assert.AreEqual(A6, p.InnerSrc);
        Assert.AreEqual(IpProtocol.HopByHop, p.InnerProtocol);
        Assert.AreEqual((ushort)0, p.InnerDstPort);
    }

    [TestMethod]
    public void Decode_IcmpShorterThanEightBytes_CountsIcmpTruncated()
    {
        var icmp = PacketBuilder.Ipv4("10.0.0.2", "10.0.0.1", IpProtocol.Icmp, [8, 0, 0, 0, 0, 1]);
        AssertMalformed(PacketBuilder.Ethernet(0x0800, icmp), "icmp_truncated");
    }

    [TestMethod]
    public void Decode_ReusedPacketAfterIcmpError_ClearsInnerFields()
    {
        var decoder = new PacketDecoder(new AnomalyCounters());
        var p = default(DecodedPacket);
        Assert.AreEqual(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, Frames.EthIcmpUnreachUdp, 0, ref p, out _));
        Assert.IsTrue(p.IcmpUnreachable);
        Assert.AreEqual(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, Frames.EthIpv4Udp, 0, ref p, out _));
        Assert.IsFalse(p.IcmpUnreachable);
        Assert.IsTrue(p.InnerSrc.IsEmpty);
        Assert.AreEqual((byte)0, p.IcmpType);
    }

    [TestMethod]
    public void Decode_Ipv4ZeroTotalLength_TakesCapturedLengthAsSegmentationOffload()
    {
        Assert.AreEqual(DecodeStatus.Ok, DecodeOnce(LinkType.Ethernet, With(Frames.EthIpv4Udp, 16, 0, 0), out var p, out var a));
        Assert.AreEqual(51, p.IpLength);
        Assert.AreEqual((ushort)5060, p.DstPort);
        Assert.AreEqual(1L, a["ipv4_zero_total_length"]);
    }

    [TestMethod]
    public void Decode_SteadyState_AllocatesNothing()
    {
        var decoder = new PacketDecoder(new AnomalyCounters());
        var p = default(DecodedPacket);
        var frames = new[] { Frames.EthIpv4Udp, Frames.EthQinQinQIpv4Udp, Frames.EthIpv6ExtUdp, Frames.EthErspan3WithSubheaderUdp, Frames.EthIcmpUnreachUdp };
        for (int i = 0; i < 2000; i++) foreach (var f in frames) decoder.Decode(LinkType.Ethernet, f, i, ref p, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) foreach (var f in frames) decoder.Decode(LinkType.Ethernet, f, i, ref p, out _);
        Assert.AreEqual(0L, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
