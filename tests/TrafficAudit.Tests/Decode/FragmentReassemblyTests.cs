using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Decode.PacketBuilder;

namespace TrafficAudit.Tests.Decode;

[TestClass]
public sealed class FragmentReassemblyTests
{
    private const string A = "10.0.0.1", B = "10.0.0.2", A6 = "2001:db8::1", B6 = "2001:db8::2";
    private const long Second = 1_000_000_000L;

    private static readonly byte[] Data = Pattern(2992);
    // UDP 5060 -> 5062 carrying 2992 bytes: a 3000-byte IP payload, split 1480 + 1480 + 40.
    private static readonly byte[] Datagram = Udp(5060, 5062, Data);

    private AnomalyCounters _anomalies = null!;
    private PacketDecoder _decoder = null!;

    [TestInitialize]
    public void Setup()
    {
        _anomalies = new AnomalyCounters();
        _decoder = new PacketDecoder(_anomalies);
    }

    private DecodeStatus Feed(byte[] frame, long ts, out DecodedPacket packet, out byte[] buffer)
    {
        packet = DecoderHarness.Stale();
        var status = _decoder.Decode(LinkType.Ethernet, frame, ts, ref packet, out var span);
        buffer = span.ToArray();
        return status;
    }

    /// <summary>Feeds the frames; all but the last must be pending; returns the completed packet.</summary>
    private DecodedPacket FeedAllExpectLastCompletes(IEnumerable<byte[]> frames, out byte[] buffer)
    {
        var list = frames.ToList();
        for (int i = 0; i < list.Count - 1; i++)
        {
            Assert.AreEqual(DecodeStatus.FragmentPending, Feed(list[i], i, out var pending, out _), $"fragment {i}");
            Assert.AreEqual((ushort)0, pending.SrcPort, "a fragment is never read as a transport header");
            Assert.IsFalse(pending.Reassembled);
        }
        Assert.AreEqual(1L, _decoder.PendingFragments);
        Assert.AreEqual(DecodeStatus.Ok, Feed(list[^1], list.Count, out var p, out buffer));
        Assert.AreEqual(0L, _decoder.PendingFragments);
        return p;
    }

    private static void AssertUdpDatagram(DecodedPacket p, byte[] buffer, int headerLength)
    {
        Assert.IsTrue(p.Reassembled);
        Assert.AreEqual(IpProtocol.Udp, p.Protocol);
        Assert.AreEqual((ushort)5060, p.SrcPort);
        Assert.AreEqual((ushort)5062, p.DstPort);
        Assert.AreEqual(headerLength + 8, p.PayloadOffset);
        Assert.AreEqual(Data.Length, p.PayloadLength);
        CollectionAssert.AreEqual(Data, buffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
    }

    [TestMethod]
    public void Reassemble_Ipv4InOrder_ReturnsWholeDatagramOnLastFragment()
    {
        var p = FeedAllExpectLastCompletes(Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x77), out var buffer);
        AssertUdpDatagram(p, buffer, 20);
        Assert.AreEqual(20 + 3000, p.IpLength);
        Assert.AreEqual(IpAddress.Parse(A), p.Src);
        // The buffer is a valid unfragmented IPv4 datagram: length patched, MF and offset cleared.
        Assert.AreEqual(3020, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2)));
        Assert.AreEqual(0, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(6)) & 0x3FFF);
        Assert.AreEqual(0L, DecoderHarness.TotalAnomalies(_anomalies));
    }

    [TestMethod]
    public void Reassemble_Ipv4Reversed_CompletesOnFirstFragment()
    {
        var frames = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x78);
        frames.Reverse();
        var p = FeedAllExpectLastCompletes(frames, out var buffer);
        AssertUdpDatagram(p, buffer, 20);
        Assert.AreEqual(0L, DecoderHarness.TotalAnomalies(_anomalies));
    }

    [TestMethod]
    public void Reassemble_Ipv4Shuffled_Completes()
    {
        var f = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 512, id: 0x79);
        var order = new[] { 3, 0, 5, 1, 4, 2 };
        Assert.AreEqual(6, f.Count);
        var p = FeedAllExpectLastCompletes(order.Select(i => f[i]), out var buffer);
        AssertUdpDatagram(p, buffer, 20);
    }

    [TestMethod]
    public void Reassemble_Ipv4DuplicatedFragment_CountsDuplicateAndCompletesOnce()
    {
        var f = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x7A);
        var p = FeedAllExpectLastCompletes([f[0], f[1], f[1], f[2]], out var buffer);
        AssertUdpDatagram(p, buffer, 20);
        Assert.AreEqual(1L, _anomalies["ip_fragment_duplicate"]);
        Assert.AreEqual(0L, _anomalies["ip_fragment_overlap"]);
        // A late copy of a fragment after completion starts a new datagram, not a second delivery.
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[2], 10, out _, out _));
    }

    [TestMethod]
    public void Reassemble_Ipv4OverlappingFragments_CountsOverlapAndCompletes()
    {
        // 0..1480 (MF), 1472..2400 (MF, overlaps 8 bytes), 2400..3000 (last).
        var f = new[]
        {
            Ipv4Fragment(A, B, IpProtocol.Udp, Datagram[..1480], 0, true, 0x7B),
            Ipv4Fragment(A, B, IpProtocol.Udp, Datagram[1472..2400], 1472, true, 0x7B),
            Ipv4Fragment(A, B, IpProtocol.Udp, Datagram[2400..], 2400, false, 0x7B),
        };
        var p = FeedAllExpectLastCompletes(f, out var buffer);
        AssertUdpDatagram(p, buffer, 20);
        Assert.AreEqual(1L, _anomalies["ip_fragment_overlap"]);
    }

    [TestMethod]
    public void Reassemble_Ipv4MissingLastFragment_TimesOutInCaptureTime()
    {
        var f = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x7C);
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[0], 0, out _, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[1], 1 * Second, out _, out _));
        Assert.AreEqual(DecodeStatus.Ok, Feed(Frames.EthIpv4Udp, 30 * Second, out _, out _));
        Assert.AreEqual(1L, _decoder.PendingFragments, "30 s after the first fragment is not yet too late");
        Assert.AreEqual(DecodeStatus.Ok, Feed(Frames.EthIpv4Udp, 31 * Second, out _, out _));
        Assert.AreEqual(0L, _decoder.PendingFragments);
        Assert.AreEqual(1L, _anomalies["ip_fragment_timeout"]);
        // The last piece arriving afterwards cannot complete the dropped datagram.
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[2], 32 * Second, out _, out _));
    }

    [TestMethod]
    public void Reassemble_MoreDatagramsThanTheCap_EvictsOldest()
    {
        var decoder = new PacketDecoder(_anomalies, new FragmentReassemblyOptions { MaxPendingDatagrams = 2 });
        var d1 = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 1);
        var d2 = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 2);
        var d3 = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 3);
        var p = default(DecodedPacket);
        Assert.AreEqual(DecodeStatus.FragmentPending, decoder.Decode(LinkType.Ethernet, d1[0], 0, ref p, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, decoder.Decode(LinkType.Ethernet, d2[0], 1, ref p, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, decoder.Decode(LinkType.Ethernet, d3[0], 2, ref p, out _));
        Assert.AreEqual(2L, decoder.PendingFragments);
        Assert.AreEqual(1L, _anomalies["ip_fragment_evicted"]);
        // Datagram 3 still completes; datagram 1 lost its first fragment.
        Assert.AreEqual(DecodeStatus.FragmentPending, decoder.Decode(LinkType.Ethernet, d3[1], 3, ref p, out _));
        Assert.AreEqual(DecodeStatus.Ok, decoder.Decode(LinkType.Ethernet, d3[2], 4, ref p, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, decoder.Decode(LinkType.Ethernet, d1[1], 5, ref p, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, decoder.Decode(LinkType.Ethernet, d1[2], 6, ref p, out _));
    }

    [TestMethod]
    public void Reassemble_MoreBytesThanTheCap_EvictsOldest()
    {
        var decoder = new PacketDecoder(_anomalies, new FragmentReassemblyOptions { MaxPendingBytes = 6000 });
        var p = default(DecodedPacket);
        for (ushort id = 1; id <= 4; id++)
            decoder.Decode(LinkType.Ethernet, Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id)[0], id, ref p, out _);
        Assert.IsTrue(decoder.PendingFragments < 4);
        Assert.IsTrue(_anomalies["ip_fragment_evicted"] >= 1);
    }

    [TestMethod]
    public void Reassemble_SameIdDifferentProtocolOrAddress_AreSeparateDatagrams()
    {
        var udp = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 9);
        var other = Ipv4Fragments(B, A, IpProtocol.Udp, Datagram, 1480, id: 9);
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(udp[0], 0, out _, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(other[1], 1, out _, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(udp[1], 2, out _, out _));
        Assert.AreEqual(2L, _decoder.PendingFragments);
        Assert.AreEqual(DecodeStatus.Ok, Feed(udp[2], 3, out var p, out _));
        Assert.AreEqual(IpAddress.Parse(A), p.Src);
    }

    [TestMethod]
    public void Decode_NonFirstFragmentThatLooksLikeUdp_IsNotReadAsUdp()
    {
        // Offset 1480 whose first bytes happen to read as a UDP header 1234 -> 53.
        var fake = Udp(1234, 53, new byte[40]);
        var frame = Ipv4Fragment(A, B, IpProtocol.Udp, fake, 1480, more: true, id: 0x55);
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(frame, 0, out var p, out _));
        Assert.AreEqual((ushort)0, p.SrcPort);
        Assert.AreEqual((ushort)0, p.DstPort);
        Assert.AreEqual(IpProtocol.Udp, p.Protocol);
        Assert.AreEqual(IpAddress.Parse(B), p.Dst);
    }

    [TestMethod]
    public void Decode_MoreFragmentsWithLengthNotMultipleOfEight_CountsBadLength()
    {
        var frame = Ipv4Fragment(A, B, IpProtocol.Udp, Datagram[..1001], 0, more: true, id: 0x56);
        Assert.AreEqual(DecodeStatus.Malformed, Feed(frame, 0, out _, out _));
        Assert.AreEqual(1L, _anomalies["ip_fragment_bad_length"]);
        Assert.AreEqual(0L, _decoder.PendingFragments);
    }

    [TestMethod]
    public void Decode_FragmentCutBySnaplen_CountsFragmentTruncated()
    {
        var frame = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x57)[0];
        Assert.AreEqual(DecodeStatus.Malformed, Feed(frame[..200], 0, out _, out _));
        Assert.AreEqual(1L, _anomalies["ip_fragment_truncated"]);
    }

    [TestMethod]
    public void Decode_FragmentPastMaximumDatagramSize_CountsTooLarge()
    {
        var frame = Ipv4Fragment(A, B, IpProtocol.Udp, new byte[16], 65528, more: false, id: 0x58);
        Assert.AreEqual(DecodeStatus.Malformed, Feed(frame, 0, out _, out _));
        Assert.AreEqual(1L, _anomalies["ip_fragment_too_large"]);
    }

    [TestMethod]
    public void Decode_LastFragmentDisagreeingOnSize_CountsInconsistentLength()
    {
        var f = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x59);
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[2], 0, out _, out _));
        var shorterLast = Ipv4Fragment(A, B, IpProtocol.Udp, Datagram[1480..1600], 1480, more: false, id: 0x59);
        Assert.AreEqual(DecodeStatus.Malformed, Feed(shorterLast, 1, out _, out _));
        Assert.AreEqual(1L, _anomalies["ip_fragment_inconsistent_length"]);
    }

    [TestMethod]
    public void FlushFragments_AtEndOfInput_CountsIncompleteDatagrams()
    {
        Feed(Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x5A)[0], 0, out _, out _);
        _decoder.FlushFragments();
        Assert.AreEqual(0L, _decoder.PendingFragments);
        Assert.AreEqual(1L, _anomalies["ip_fragment_incomplete"]);
    }

    [TestMethod]
    public void Reassemble_Ipv6InOrder_ReturnsWholeDatagram()
    {
        var p = FeedAllExpectLastCompletes(Ipv6Fragments(A6, B6, IpProtocol.Udp, Datagram, 1232, id: 0xABCDEF01), out var buffer);
        AssertUdpDatagram(p, buffer, 48);
        Assert.AreEqual((byte)6, p.IpVersion);
        Assert.AreEqual(40 + 3000, p.IpLength, "the original packet, without the fragment header");
        Assert.AreEqual(8 + 3000, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(4)), "payload length patched");
        Assert.AreEqual(0, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(42)), "fragment header made atomic");
        Assert.AreEqual(0L, DecoderHarness.TotalAnomalies(_anomalies));
    }

    [TestMethod]
    public void Reassemble_Ipv6Reversed_CompletesOnFirstFragment()
    {
        var f = Ipv6Fragments(A6, B6, IpProtocol.Udp, Datagram, 1232, id: 7);
        f.Reverse();
        var p = FeedAllExpectLastCompletes(f, out var buffer);
        AssertUdpDatagram(p, buffer, 48);
    }

    [TestMethod]
    public void Reassemble_Ipv6DuplicateAndTimeout_AreCounted()
    {
        var f = Ipv6Fragments(A6, B6, IpProtocol.Udp, Datagram, 1232, id: 8);
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[0], 0, out _, out _));
        Assert.AreEqual(DecodeStatus.FragmentPending, Feed(f[0], 1, out _, out _));
        Assert.AreEqual(1L, _anomalies["ip_fragment_duplicate"]);
        Assert.AreEqual(DecodeStatus.Ok, Feed(Frames.EthIpv6ExtUdp, 40 * Second, out _, out _));
        Assert.AreEqual(1L, _anomalies["ip_fragment_timeout"]);
        Assert.AreEqual(0L, _decoder.PendingFragments);
    }

    [TestMethod]
    public void Reassemble_Ipv6AtomicFragment_DecodesImmediately()
    {
        var f = Ipv6Fragments(A6, B6, IpProtocol.Udp, Datagram, 4000, id: 9);
        Assert.AreEqual(1, f.Count);
        Assert.AreEqual(DecodeStatus.Ok, Feed(f[0], 0, out var p, out _));
        Assert.IsFalse(p.Reassembled);
        Assert.AreEqual((ushort)5062, p.DstPort);
    }

    [TestMethod]
    public void Reassemble_FragmentedGreTunnel_DecodesInnerPacketFromReassembledBuffer()
    {
        var inner = Ipv4("10.9.9.1", "10.9.9.2", IpProtocol.Udp, Datagram);
        var gre = new byte[] { 0x00, 0x00, 0x08, 0x00 }.Concat(inner).ToArray();
        var f = Ipv4Fragments("192.0.2.1", "192.0.2.2", IpProtocol.Gre, gre, 1480, id: 0x60);
        var p = FeedAllExpectLastCompletes(f, out var buffer);
        Assert.IsTrue(p.Reassembled);
        Assert.AreEqual((byte)1, p.TunnelDepth);
        Assert.AreEqual(IpAddress.Parse("10.9.9.1"), p.Src);
        Assert.AreEqual(3020, p.IpLength, "the inner packet's length");
        CollectionAssert.AreEqual(Data, buffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
    }

    [TestMethod]
    public void Reassemble_SteadyState_AllocatesNothing()
    {
        var f = Ipv4Fragments(A, B, IpProtocol.Udp, Datagram, 1480, id: 0x61);
        var p = default(DecodedPacket);
        var last = DecodeStatus.Malformed;
        void Round(int i)
        {
            foreach (var frame in f) last = _decoder.Decode(LinkType.Ethernet, frame, i, ref p, out _);
        }
        for (int i = 0; i < 500; i++) Round(i);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 500; i++) Round(i);
        Assert.AreEqual(0L, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.AreEqual(DecodeStatus.Ok, last);
        Assert.IsTrue(p.Reassembled);
        Assert.AreEqual(0L, _decoder.PendingFragments);
    }
}
