using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Decode.DecoderHarness;
using static TrafficAudit.Tests.Decode.PacketBuilder;

namespace TrafficAudit.Tests.Decode;

/// <summary>
/// The decoder takes a short cut for Ethernet (untagged or behind one 802.1Q tag) + IPv4 without options + UDP or TCP. The same IP
/// packet decoded as a raw IP frame (link type 101) always goes the general way, so it is the oracle: for
/// every change of one header byte and every cut, both must give the same status, the same anomalies and
/// the same packet (payload offsets 14 bytes apart).
/// </summary>
[TestClass]
public sealed class PlainEthernetFastPathTests
{
    private static byte[] TcpSegment(ushort src, ushort dst, byte[] data)
    {
        var t = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(t, src);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), dst);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), 0x01020304);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), 0x0A0B0C0D);
        t[12] = 0x50;
        t[13] = (byte)(TcpFlags.Psh | TcpFlags.Ack);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 64240);
        data.CopyTo(t, 20);
        return t;
    }

    private static readonly byte[] UdpFrame = Ethernet(0x0800, Ipv4("10.1.2.3", "10.4.5.6", IpProtocol.Udp, Udp(16384, 16386, Pattern(40)), fragment: 0));
    private static readonly byte[] TcpFrame = Ethernet(0x0800, Ipv4("10.1.2.3", "10.4.5.6", IpProtocol.Tcp, TcpSegment(50000, 5060, Pattern(30))));

    private static void AssertSameAsGeneralWalk(byte[] frame, string what)
    {
        var viaEthernet = DecodeOnce(LinkType.Ethernet, frame, out var e, out var ea);
        var viaRaw = DecodeOnce(LinkType.Raw, frame[14..], out var r, out var ra);
        Assert.AreEqual(viaRaw, viaEthernet, what);
        CollectionAssert.AreEqual(ra.Entries.Select(x => $"{x.Name}={x.Count}").ToList(), ea.Entries.Select(x => $"{x.Name}={x.Count}").ToList(), what);
        if (viaEthernet != DecodeStatus.Ok) return;
        r.PayloadOffset += 14;
        Assert.AreEqual(r, e, what);
    }

    [TestMethod]
    public void Decode_PlainUdpAndTcp_MatchTheGeneralWalk()
    {
        foreach (var frame in new[] { UdpFrame, TcpFrame })
        {
            AssertSameAsGeneralWalk(frame, "exact");
            var p = DecodeAllWays(LinkType.Ethernet, frame, DecodeStatus.Ok);
            Assert.AreEqual(14 + 20 + (frame == UdpFrame ? 8 : 20), p.PayloadOffset);
            Assert.AreEqual(frame == UdpFrame ? 40 : 30, p.PayloadLength);
        }
    }

    [TestMethod]
    public void Decode_EveryOneByteChangeOfTheHeaders_MatchesTheGeneralWalk()
    {
        int checkedFrames = 0;
        foreach (var frame in new[] { UdpFrame, TcpFrame })
        {
            for (int i = 14; i < 14 + 20 + 20 && i < frame.Length; i++)
            {
                foreach (byte v in new byte[] { 0x00, 0x01, 0x05, 0x11, 0x20, 0x3F, 0x45, 0x46, 0x80, 0xFF, (byte)(frame[i] ^ 0x01), (byte)(frame[i] + 1), (byte)(frame[i] - 1) })
                {
                    // The version nibble picks IPv6 on a raw frame but not behind EtherType 0x0800: not comparable.
                    if (i == 14 && v >> 4 != 4) continue;
                    var f = (byte[])frame.Clone();
                    f[i] = v;
                    AssertSameAsGeneralWalk(f, $"byte {i} = 0x{v:X2}");
                    checkedFrames++;
                }
            }
        }
        Assert.IsGreaterThan(500, checkedFrames);
    }

    /// <summary>The frame behind one 802.1Q tag (VLAN 101, priority 5, as a voice VLAN): 0x8100, the TCI, then the frame's own EtherType.</summary>
    private static byte[] Tagged(byte[] frame)
    {
        var f = new byte[frame.Length + 4];
        frame.AsSpan(0, 12).CopyTo(f);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x8100);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 5 << 13 | 101);
        frame.AsSpan(12).CopyTo(f.AsSpan(16));
        return f;
    }

    private static DecodeStatus Decode(byte[] frame, bool onePass, out DecodedPacket packet, out AnomalyCounters anomalies)
    {
        anomalies = new AnomalyCounters();
        var decoder = new PacketDecoder(anomalies) { OnePass = onePass };
        packet = Stale();
        return decoder.Decode(LinkType.Ethernet, frame, 0, ref packet, out _);
    }

    /// <summary>The same frame through the decoder as it runs and through the general walk alone: same status, anomalies and packet.</summary>
    private static void AssertOnePassIsTheGeneralWalk(byte[] frame, string what)
    {
        var fast = Decode(frame, onePass: true, out var f, out var fa);
        var general = Decode(frame, onePass: false, out var g, out var ga);
        Assert.AreEqual(general, fast, what);
        CollectionAssert.AreEqual(ga.Entries.Select(x => $"{x.Name}={x.Count}").ToList(), fa.Entries.Select(x => $"{x.Name}={x.Count}").ToList(), what);
        if (fast == DecodeStatus.Ok) Assert.AreEqual(g, f, what);
    }

    [TestMethod]
    public void Decode_VlanTaggedUdpAndTcp_MatchTheGeneralWalk()
    {
        foreach (var frame in new[] { Tagged(UdpFrame), Tagged(TcpFrame) })
        {
            var status = Decode(frame, onePass: true, out var p, out _);
            Assert.AreEqual(DecodeStatus.Ok, status);
            Assert.AreEqual((ushort)101, p.Vlan);
            Assert.AreEqual((byte)1, p.VlanDepth);
            Assert.AreEqual(frame.Length == UdpFrame.Length + 4 ? 18 + 20 + 8 : 18 + 20 + 20, p.PayloadOffset);
            AssertOnePassIsTheGeneralWalk(frame, "exact");
        }
    }

    [TestMethod]
    public void Decode_EveryOneByteChangeCutAndPadding_TaggedOrNot_OnePassIsTheGeneralWalk()
    {
        int checkedFrames = 0;
        foreach (var frame in new[] { UdpFrame, TcpFrame, Tagged(UdpFrame), Tagged(TcpFrame), Tagged(Tagged(UdpFrame)) })
        {
            // From the EtherType on: the tag, the inner EtherType, the IPv4 header and the transport header.
            for (int i = 12; i < Math.Min(frame.Length, 12 + 4 + 4 + 2 + 20 + 20); i++)
            {
                foreach (byte v in new byte[] { 0x00, 0x01, 0x05, 0x08, 0x11, 0x20, 0x3F, 0x45, 0x46, 0x60, 0x80, 0x81, 0x86, 0x88, 0xA8, 0xDD, 0xFF, (byte)(frame[i] ^ 0x01), (byte)(frame[i] + 1), (byte)(frame[i] - 1) })
                {
                    var f = (byte[])frame.Clone();
                    f[i] = v;
                    AssertOnePassIsTheGeneralWalk(f, $"{frame.Length}-byte frame, byte {i} = 0x{v:X2}");
                    checkedFrames++;
                }
            }
            for (int length = 0; length <= frame.Length; length++) AssertOnePassIsTheGeneralWalk(frame[..length], $"{frame.Length}-byte frame cut at {length}");
            AssertOnePassIsTheGeneralWalk([.. frame, .. Enumerable.Repeat((byte)0xFF, 24)], $"{frame.Length}-byte frame padded");
        }
        Assert.IsGreaterThan(3000, checkedFrames);
    }

    [TestMethod]
    public void Decode_CutOrPaddedFrames_MatchTheGeneralWalk()
    {
        foreach (var frame in new[] { UdpFrame, TcpFrame })
        {
            for (int length = 15; length <= frame.Length; length++) AssertSameAsGeneralWalk(frame[..length], $"cut at {length}");
            AssertSameAsGeneralWalk([.. frame, .. Enumerable.Repeat((byte)0xFF, 24)], "padded");
        }
    }
}
