using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Decode.DecoderHarness;
using static TrafficAudit.Tests.Decode.PacketBuilder;

namespace TrafficAudit.Tests.Decode;

/// <summary>
/// The decoder takes a short cut for untagged Ethernet + IPv4 without options + UDP or TCP. The same IP
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
