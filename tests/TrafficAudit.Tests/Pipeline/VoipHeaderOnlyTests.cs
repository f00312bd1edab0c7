using System.Buffers.Binary;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// On two cores the engine hands the VoIP stage only the 12-byte fixed header of an RTP datagram on an RTP flow
/// (issue 12, round 3): which datagrams qualify, and that the stage's records stay those of the single-threaded run
/// with CSRCs, header extensions, RTCP multiplexed on the RTP port and a flow not yet shown to be RTP; and that the
/// batches come back to the engine written over (round 15).
/// </summary>
[TestClass]
public sealed class VoipHeaderOnlyTests
{
    private const long T0 = 1_700_000_000_000_000_000L;
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.10"), B = IpAddress.Parse("10.1.0.21");

    /// <summary>An RTP datagram: <paramref name="csrcs"/> CSRCs, an extension of <paramref name="extensionWords"/> words when not negative, 160 bytes of G.711.</summary>
    private static byte[] Rtp(ushort seq, uint ts, uint ssrc, int csrcs = 0, int extensionWords = -1, byte pt = 0)
    {
        int header = 12 + 4 * csrcs + (extensionWords >= 0 ? 4 + 4 * extensionWords : 0);
        var d = new byte[header + 160];
        d[0] = (byte)(0x80 | (extensionWords >= 0 ? 0x10 : 0) | csrcs);
        d[1] = pt;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), seq);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), ts);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(8), ssrc);
        if (extensionWords >= 0) BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(12 + 4 * csrcs + 2), (ushort)extensionWords);
        d.AsSpan(header).Fill(0xFF);
        return d;
    }

    /// <summary>An RTCP receiver report (RFC 3550 §6.4.2) from <paramref name="sender"/> with one block on <paramref name="about"/>.</summary>
    private static byte[] ReceiverReport(uint sender, uint about, uint jitter, int lost)
    {
        var d = new byte[32];
        d[0] = 0x81; d[1] = 201;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), 7);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), sender);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(8), about);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(12), (uint)lost & 0xFFFFFF);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), jitter);
        return d;
    }

    private static VoipPacket Udp(bool rtp, bool sip = false, bool tcp = false) => new()
    {
        TimestampNs = T0, Src = A, Dst = B, SrcPort = 20000, DstPort = 40000, IpVersion = 4, IsTcp = tcp,
        FlowIsRtp = rtp, FlowIsSip = sip, FlowRtpDecided = true, FlowId = 1,
    };

    [TestMethod]
    public void CanSendRtpHeaderOnly_OnlyValidRtpOnAnRtpFlowThatIsNotSip()
    {
        var plain = Rtp(1, 160, 0x1111);
        Assert.IsTrue(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), plain), "plain G.711 on an RTP flow");
        Assert.IsTrue(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), Rtp(1, 160, 0x1111, csrcs: 3, extensionWords: 2)), "CSRCs and an extension that fit");
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: false), plain), "flow not (yet) RTP: the SIP analyzer reads the payload");
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true, sip: true), plain), "SIP flow");
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true, tcp: true), plain), "TCP");
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), ReceiverReport(1, 2, 3, 4)), "RTCP multiplexed: its reports are read");
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), plain.AsSpan(0, 12)), "nothing to leave out");
        var tooManyCsrcs = plain.AsSpan(0, 40).ToArray();
        tooManyCsrcs[0] = 0x8F; // 15 CSRCs: 72 bytes of header in 40
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), tooManyCsrcs), "CSRC list beyond the datagram");
        var longExtension = Rtp(1, 160, 0x1111, extensionWords: 0);
        BinaryPrimitives.WriteUInt16BigEndian(longExtension.AsSpan(14), 100); // 400 bytes of extension in 176
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), longExtension), "extension beyond the datagram");
        var rtcpLike = Rtp(1, 160, 0x1111, pt: 72);
        Assert.IsFalse(VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), rtcpLike), "payload type 72-76 collides with RTCP and is no stream");
    }

    [TestMethod]
    public void CanSendRtpHeaderOnly_EveryFirstTwoBytesAndLength_AgreesWithTheProbesReadingOfTheWholeDatagram()
    {
        // The shortcut for the usual header (version 2, no CSRC, no extension) must say what the two full checks say.
        int agreed = 0, yes = 0;
        foreach (int length in new[] { 13, 16, 20, 28, 40, 172 })
            for (int first = 0; first < 256; first++)
                for (int second = 0; second < 256; second++)
                {
                    var d = new byte[length];
                    d.AsSpan(2).Fill(0x01); // an extension header here would announce 257 words: never fits
                    d[0] = (byte)first; d[1] = (byte)second;
                    bool expected = !TrafficAudit.Analyzers.RtpProbe.IsRtcpPacketType(d) && TrafficAudit.Analyzers.RtpProbe.TryReadRtpHeader(d, out _, out _, out _);
                    Assert.AreEqual(expected, VoipPipeline.CanSendRtpHeaderOnly(Udp(rtp: true), d), $"{first:X2} {second:X2}, {length} bytes");
                    agreed++;
                    if (expected) yes++;
                }
        Assert.AreEqual(6 * 65536, agreed);
        Assert.IsGreaterThan(1000, yes);
    }

    [TestMethod]
    public void ParallelStage_HeaderOnlyRtp_SameStreamsAsSingleThreaded()
    {
        // One flow both ways: G.711 at 20 ms with jitter, some packets lost, reordered and duplicated, CSRCs on one side, a header
        // extension now and then, an invalid CSRC count, RTCP reports multiplexed on the port; the flow is RTP from its third packet.
        var rng = new Random(7);
        var packets = new List<(long Ts, int Side, bool Rtp, byte[] Payload)>();
        for (int i = 0; i < 3000; i++)
        {
            long ts = T0 + i * 20_000_000L + rng.Next(0, 8_000_000);
            if (i % 97 == 13) continue; // lost
            ushort seq = (ushort)(65000 + i);
            int back = i % 211 == 50 ? -2 : 0; // reordered: an older number
            packets.Add((ts, 0, i >= 2, Rtp((ushort)(seq + back), (uint)(160 * (i + back)), 0xA1, extensionWords: i % 50 == 0 ? 1 : -1)));
            packets.Add((ts + 3_000_000, 1, i >= 2, Rtp(seq, (uint)(7_000 + 160 * i), 0xB2, csrcs: 2)));
            if (i % 300 == 7) packets.Add((ts + 4_000_000, 1, true, Rtp(seq, (uint)(7_000 + 160 * i), 0xB2, csrcs: 2))); // duplicate
            if (i % 250 == 0) packets.Add((ts + 5_000_000, 1, true, ReceiverReport(0xB2, 0xA1, (uint)(8 * i % 400), i / 97)));
            if (i % 333 == 1)
            {
                var bad = Rtp(seq, 0, 0xC3);
                bad[0] = 0x8F; // 15 CSRCs announced, fewer present: no stream
                packets.Add((ts + 6_000_000, 0, true, bad.AsSpan(0, 40).ToArray()));
            }
        }

        List<string> Records(bool parallel)
        {
            var tracker = new VoipTracker(new AnomalyCounters());
            using var stage = new VoipPipeline(tracker, parallel);
            var key = FlowKey.Create(A, 20000, B, 40000, IpProtocol.Udp, 0, out bool srcIsA);
            var flow = new Flow { Key = key, FirstSenderIsA = srcIsA, Sequence = 0 };
            long frame = 0;
            foreach (var (ts, side, rtp, payload) in packets)
            {
                var vp = new VoipPacket
                {
                    TimestampNs = ts, Frame = ++frame, Src = side == 0 ? A : B, Dst = side == 0 ? B : A, SrcPort = side == 0 ? (ushort)20000 : (ushort)40000,
                    DstPort = side == 0 ? (ushort)40000 : (ushort)20000, IpVersion = 4, Side = (byte)side, FlowIsRtp = rtp, FlowRtpDecided = rtp, FlowId = 1,
                };
                stage.Add(flow, in vp, payload);
            }
            stage.Drain();
            tracker.Complete(packets[^1].Ts);
            var sink = new Sink();
            stage.TakeEnded(sink);
            return sink.Streams.Select(s => string.Join(" ", s.StreamId, s.Ssrc, s.Packets, s.Expected, s.Lost, s.Duplicates, s.OutOfOrder, s.SequenceErrors,
                s.MaxDeltaMs, s.MeanDeltaMs, s.MaxJitterMs, s.MeanJitterMs, s.IpKbps, s.PeakIpKbps, s.IpBytesAfterFirst, s.RtcpReports, s.RtcpJitterMs,
                s.RtcpCumulativeLost, s.LateF1, s.LateF2, s.LateAdapt, s.Mos)).ToList();
        }
        var single = Records(false);
        var parallel = Records(true);
        Assert.HasCount(2, single, string.Join("\n", single));
        StringAssert.StartsWith(single[0], "1 161 2969 3000 45 14 ", "0xA1: 31 lost positions, 14 duplicates, its extensions and the 10 reordered copies counted");
        StringAssert.Contains(single[0], " 11 0 28 ", "0xA1: the 11 RTCP reports multiplexed on the port applied");
        StringAssert.StartsWith(single[1], "2 178 2979 3000 31 10 ", "0xB2 (two CSRCs): every packet and duplicate counted");
        CollectionAssert.AreEqual(single, parallel);
    }

    /// <summary>
    /// On two threads the VoIP stage writes over each batch it has analysed before the engine fills it again (issue 12,
    /// round 15): the engine's stores then land on lines the other core last wrote, not on lines both cores hold, and the
    /// batch no longer holds the streams' state of the packets it carried.
    /// </summary>
    [TestMethod]
    public void BatchesGivenBack_HaveEveryPacketFlowOffsetAndByteWrittenOver_AndTheSameRecords()
    {
        // 5,000 packets: a full batch of 4,096 and a part one. Whole datagrams (the flow is not yet known as RTP) and RTP
        // headers only (known), so that the arena holds both.
        var tracker = new VoipTracker(new AnomalyCounters());
        using var stage = new VoipPipeline(tracker, parallel: true);
        var key = FlowKey.Create(A, 20000, B, 40000, IpProtocol.Udp, 0, out bool srcIsA);
        var flow = new Flow { Key = key, FirstSenderIsA = srcIsA, Sequence = 0 };
        for (int i = 0; i < 5000; i++)
        {
            int side = i % 2;
            var vp = new VoipPacket
            {
                TimestampNs = T0 + i * 10_000_000L, Frame = i + 1, Src = side == 0 ? A : B, Dst = side == 0 ? B : A,
                SrcPort = side == 0 ? (ushort)20000 : (ushort)40000, DstPort = side == 0 ? (ushort)40000 : (ushort)20000, IpVersion = 4,
                Side = (byte)side, FlowIsRtp = i >= 100, FlowRtpDecided = i >= 100, FlowId = 1,
            };
            stage.Add(flow, in vp, Rtp((ushort)(i / 2), 160u * (uint)(i / 2), side == 0 ? 0xA1u : 0xB2u));
        }
        stage.Drain();

        var free = stage.FreeBatches();
        // Two batches, or one used twice when this thread was preempted while the stage finished the first (seen under the
        // whole suite), and the engine's next one, unused.
        Assert.AreEqual(2, free.Sum(b => b.Handed), "both hand-overs are back");
        foreach (var b in free)
        {
            Assert.AreEqual(0, b.Count);
            Assert.AreEqual(0, b.Used);
            for (int i = 0; i < b.Packets.Length; i++)
                if (!b.Packets[i].Equals(default(VoipPacket))) Assert.Fail($"packet {i} of a batch given back: frame {b.Packets[i].Frame}, its stream state {(b.Packets[i].Voip is null ? "dropped" : "held")}");
            CollectionAssert.AreEqual(new Flow?[b.Flows.Length], b.Flows, "flows of a batch given back");
            CollectionAssert.AreEqual(new int[b.Offsets.Length], b.Offsets, "offsets of a batch given back");
        }
        // The arena's bytes: the full batch carried 100 whole datagrams (172 bytes) and 3,996 RTP headers, the other 904 headers.
        const int FullBytes = 100 * 172 + 3996 * 12, PartBytes = 904 * 12;
        Assert.IsTrue(free.Where(b => b.Handed > 0).All(b => b.Bytes.Span(0, PartBytes).IndexOfAnyExcept((byte)0) < 0), "the bytes every batch carried are written over");
        Assert.IsTrue(free.Any(b => b.Handed > 0 && b.Bytes.Span(0, FullBytes).IndexOfAnyExcept((byte)0) < 0), "the bytes the full batch carried are written over");

        // The records are those of one thread.
        tracker.Complete(T0 + 5000 * 10_000_000L);
        var sink = new Sink();
        stage.TakeEnded(sink);
        Assert.HasCount(2, sink.Streams);
        Assert.AreEqual(2500L, sink.Streams[0].Packets);
        Assert.AreEqual(2500L, sink.Streams[1].Packets);
    }

    private sealed class Sink : IAuditRecordSink
    {
        public readonly List<RtpStreamRecord> Streams = new();
        public void OnFlow(FlowRecord flow) { }
        public void OnStream(RtpStreamRecord stream) => Streams.Add(stream);
        public void OnCall(CallRecord call) { }
        public void OnTransaction(SipTransactionStat transaction) { }
    }
}
