using System.Buffers.Binary;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// On two threads the VoIP stage writes over each batch it has analysed before the engine fills it again (issue 12,
/// round 15): the engine's stores then land on lines the other core last wrote, not on lines both cores hold, and the
/// batch no longer holds the streams' state of the packets it carried.
/// </summary>
[TestClass]
public sealed class VoipBatchHandBackTests
{
    private const long T0 = 1_700_000_000_000_000_000L;
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.10"), B = IpAddress.Parse("10.1.0.21");

    private static byte[] Rtp(ushort seq, uint ssrc, int payload)
    {
        var d = new byte[12 + payload];
        d[0] = 0x80;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), seq);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), 160u * seq);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(8), ssrc);
        d.AsSpan(12).Fill(0xD5);
        return d;
    }

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
            stage.Add(flow, in vp, Rtp((ushort)(i / 2), side == 0 ? 0xA1u : 0xB2u, 160));
        }
        stage.Drain();

        var free = stage.FreeBatches();
        Assert.IsGreaterThanOrEqualTo(2, free.Count, "both batches handed over are back (and the engine's next one, unused)");
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
        Assert.IsGreaterThanOrEqualTo(2, free.Count(b => b.Bytes.Span(0, PartBytes).IndexOfAnyExcept((byte)0) < 0), "the bytes both batches carried are written over");
        Assert.IsTrue(free.Any(b => b.Bytes.Span(0, FullBytes).IndexOfAnyExcept((byte)0) < 0), "the bytes the full batch carried are written over");

        // The records are those of one thread.
        tracker.Complete(T0 + 5000 * 10_000_000L);
        var sink = new StreamSink();
        stage.TakeEnded(sink);
        Assert.HasCount(2, sink.Streams);
        Assert.AreEqual(2500L, sink.Streams[0].Packets);
        Assert.AreEqual(2500L, sink.Streams[1].Packets);
    }

    private sealed class StreamSink : IAuditRecordSink
    {
        public readonly List<RtpStreamRecord> Streams = new();
        public void OnFlow(FlowRecord flow) { }
        public void OnStream(RtpStreamRecord stream) => Streams.Add(stream);
        public void OnCall(CallRecord call) { }
        public void OnTransaction(SipTransactionStat transaction) { }
    }
}
