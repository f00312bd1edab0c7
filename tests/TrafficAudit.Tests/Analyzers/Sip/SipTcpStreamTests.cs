using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Sip;

[TestClass]
public sealed class SipTcpStreamTests
{
    private const uint Isn = 0xFFFF_FF00u; // close to the wrap, so sequence arithmetic must wrap
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.1"), B = IpAddress.Parse("10.0.0.2");

    private sealed class Collector : ISipMessageSink
    {
        public readonly List<string> Messages = new();
        public void OnStreamMessage(ReadOnlySpan<byte> message) => Messages.Add(Encoding.UTF8.GetString(message));
    }

    /// <summary>Three messages back to back: INVITE with SDP, a bodiless response, a BYE; plus the list of each.</summary>
    private static (byte[] Stream, string[] Each) ThreeMessages()
    {
        string[] each =
        [
            SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()),
            SipSamples.Response(180, "Ringing", "INVITE", 1, "z9hG4bK1", toTag: SipSamples.BobTag),
            SipSamples.Request("BYE", 2, "z9hG4bK2", toTag: SipSamples.BobTag),
        ];
        return (Encoding.UTF8.GetBytes(string.Concat(each)), each);
    }

    private static SipTcpStream NewStream(Collector sink, AnomalyCounters an, int maxPending = 64 * 1024)
    {
        var s = new SipTcpStream(maxPending);
        s.Push(Isn - 1, TcpFlags.Syn, default, sink, an);
        return s;
    }

    [TestMethod]
    public void Push_ThreeMessagesCutAtEveryOffsetIntoTwoSegments_FramesTheSameMessages()
    {
        var (stream, each) = ThreeMessages();
        for (int cut = 0; cut <= stream.Length; cut++)
        {
            var sink = new Collector();
            var an = new AnomalyCounters();
            var s = NewStream(sink, an);
            s.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, cut), sink, an);
            s.Push(Isn + (uint)cut, TcpFlags.Ack | TcpFlags.Psh, stream.AsSpan(cut), sink, an);
            CollectionAssert.AreEqual(each, sink.Messages, $"cut at {cut}");
            Assert.AreEqual(0, an.Entries.Count, $"cut at {cut}");
            Assert.IsFalse(s.HasPartialMessage);
        }
    }

    [TestMethod]
    public void Push_ThreeMessagesCutAtEveryOffsetDeliveredOutOfOrder_FramesTheSameMessages()
    {
        var (stream, each) = ThreeMessages();
        for (int cut = 1; cut < stream.Length; cut++)
        {
            var sink = new Collector();
            var an = new AnomalyCounters();
            var s = NewStream(sink, an);
            s.Push(Isn + (uint)cut, TcpFlags.Ack, stream.AsSpan(cut), sink, an); // the second half first
            s.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, cut), sink, an);
            CollectionAssert.AreEqual(each, sink.Messages, $"cut at {cut}");
        }
    }

    [TestMethod]
    public void Push_OneByteSegmentsWithEveryByteSentTwice_FramesTheSameMessages()
    {
        var (stream, each) = ThreeMessages();
        var sink = new Collector();
        var an = new AnomalyCounters();
        var s = NewStream(sink, an);
        for (int i = 0; i < stream.Length; i++)
        {
            s.Push(Isn + (uint)i, TcpFlags.Ack, stream.AsSpan(i, 1), sink, an);
            s.Push(Isn + (uint)i, TcpFlags.Ack, stream.AsSpan(i, 1), sink, an); // retransmission
        }
        CollectionAssert.AreEqual(each, sink.Messages);
        Assert.AreEqual(stream.Length, s.DuplicateSegments);
    }

    [TestMethod]
    public void Push_OverlappingRetransmissionWithNewBytes_KeepsOnlyTheNewPart()
    {
        var (stream, each) = ThreeMessages();
        var sink = new Collector();
        var an = new AnomalyCounters();
        var s = NewStream(sink, an);
        s.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 300), sink, an);
        s.Push(unchecked(Isn + 200), TcpFlags.Ack, stream.AsSpan(200, 400), sink, an); // 100 old + 300 new bytes
        s.Push(unchecked(Isn + 100), TcpFlags.Ack, stream.AsSpan(100, 50), sink, an);  // entirely old
        s.Push(unchecked(Isn + 600), TcpFlags.Ack, stream.AsSpan(600), sink, an);
        CollectionAssert.AreEqual(each, sink.Messages);
        Assert.AreEqual(2, s.DuplicateSegments);
    }

    [TestMethod]
    public void Push_ShuffledSegmentsWithDuplicates_FramesTheSameMessages()
    {
        var (stream, each) = ThreeMessages();
        var rng = new Random(20240611);
        for (int round = 0; round < 50; round++)
        {
            var segments = new List<(int Off, int Len)>();
            for (int off = 0; off < stream.Length;) { int len = Math.Min(stream.Length - off, rng.Next(1, 200)); segments.Add((off, len)); off += len; }
            segments.AddRange(segments.Where(_ => rng.Next(4) == 0).ToList());
            var order = segments.OrderBy(_ => rng.Next()).ToList();
            var sink = new Collector();
            var an = new AnomalyCounters();
            var s = NewStream(sink, an);
            foreach (var (off, len) in order) s.Push(Isn + (uint)off, TcpFlags.Ack, stream.AsSpan(off, len), sink, an);
            CollectionAssert.AreEqual(each, sink.Messages, $"round {round}");
        }
    }

    [TestMethod]
    public void Push_KeepalivesBetweenMessages_AreSkipped()
    {
        var (_, each) = ThreeMessages();
        var bytes = Encoding.UTF8.GetBytes("\r\n\r\n" + each[0] + "\r\n" + each[1] + "\r\n\r\n" + each[2]);
        var sink = new Collector();
        var an = new AnomalyCounters();
        NewStream(sink, an).Push(Isn, TcpFlags.Ack, bytes, sink, an);
        CollectionAssert.AreEqual(each, sink.Messages);
    }

    [TestMethod]
    public void Push_MissingContentLength_CountsAnomalyAndEndsAtTheHeaders()
    {
        string noLength = "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bKo\r\nCall-ID: o@a\r\nCSeq: 9 OPTIONS\r\n\r\n";
        var (_, each) = ThreeMessages();
        var sink = new Collector();
        var an = new AnomalyCounters();
        NewStream(sink, an).Push(Isn, TcpFlags.Ack, Encoding.UTF8.GetBytes(noLength + each[2]), sink, an);
        CollectionAssert.AreEqual(new[] { noLength, each[2] }, sink.Messages);
        Assert.AreEqual(1, an["sip_tcp_missing_content_length"]);
    }

    [TestMethod]
    public void Push_GarbageBetweenMessages_ResyncsAtTheNextStartLine()
    {
        var (_, each) = ThreeMessages();
        var bytes = Encoding.UTF8.GetBytes(each[0] + "this is not SIP\r\nnor this\r\n" + each[1] + each[2]);
        var sink = new Collector();
        var an = new AnomalyCounters();
        NewStream(sink, an).Push(Isn, TcpFlags.Ack, bytes, sink, an);
        CollectionAssert.AreEqual(each, sink.Messages);
        Assert.AreEqual(1, an["sip_bad_start_line"]);
    }

    [TestMethod]
    public void Push_MessageLargerThanTheBudget_OverflowsAndResyncs()
    {
        var (_, each) = ThreeMessages();
        string huge = "MESSAGE sip:b@example.com SIP/2.0\r\nCall-ID: big@a\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5000\r\n\r\n" + new string('x', 5000);
        var bytes = Encoding.UTF8.GetBytes(huge + each[1] + each[2]);
        var sink = new Collector();
        var an = new AnomalyCounters();
        var s = NewStream(sink, an, maxPending: 1024);
        for (int off = 0; off < bytes.Length; off += 500)
            s.Push(Isn + (uint)off, TcpFlags.Ack, bytes.AsSpan(off, Math.Min(500, bytes.Length - off)), sink, an);
        Assert.IsGreaterThanOrEqualTo(1, an["sip_tcp_buffer_overflow"]);
        CollectionAssert.AreEqual(new[] { each[1], each[2] }, sink.Messages);
        Assert.IsLessThanOrEqualTo(1024 + 500, s.PendingBytes);
    }

    [TestMethod]
    public void Push_GapBeyondTheBudget_SkipsTheGapAndResyncs()
    {
        var (stream, each) = ThreeMessages();
        var sink = new Collector();
        var an = new AnomalyCounters();
        var s = NewStream(sink, an, maxPending: 256);
        int second = each[0].Length;
        // The first message's segment is lost for good; the rest arrives.
        s.Push(Isn + (uint)second, TcpFlags.Ack, stream.AsSpan(second), sink, an);
        Assert.AreEqual(1, an["sip_tcp_buffer_overflow"]);
        CollectionAssert.AreEqual(new[] { each[1], each[2] }, sink.Messages);
    }

    [TestMethod]
    public void OnTcp_MidStreamJoin_StartsAtTheFirstSipSegment()
    {
        var (stream, _) = ThreeMessages();
        var an = new AnomalyCounters();
        var sip = new SipAnalyzer(an);
        int second = SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()).Length;
        // Join in the middle of the INVITE body: ignored until the 180 starts a segment.
        sip.OnTcp(1, A, 5060, B, 40000, 1000, TcpFlags.Ack, stream.AsSpan(100, second - 100), 1);
        sip.OnTcp(2, A, 5060, B, 40000, 1000 + (uint)(second - 100), TcpFlags.Ack, stream.AsSpan(second), 2);
        var r = sip.Complete();
        Assert.AreEqual(2, r.Messages);
        Assert.AreEqual(1, r.RequestCounts["BYE"]);
        Assert.AreEqual(1, r.ResponseCounts[180]);
    }

    [TestMethod]
    public void OnTcp_ConnectionOfAnotherProtocol_IsDroppedAtItsFirstBytes()
    {
        var an = new AnomalyCounters();
        var sip = new SipAnalyzer(an);
        sip.OnTcp(1, A, 40000, B, 5061, 100, TcpFlags.Syn, default, 1);
        sip.OnTcp(2, A, 40000, B, 5061, 101, TcpFlags.Ack, new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05 }, 2); // TLS ClientHello start
        sip.OnTcp(3, A, 40000, B, 5061, 106, TcpFlags.Ack, Encoding.ASCII.GetBytes(SipSamples.Request("OPTIONS", 1, "z9hG4bKx")), 3);
        sip.OnTcp(4, A, 40001, B, 23, 7, TcpFlags.Ack, new byte[] { 0xFF, 0xFD, 0x18 }, 4); // telnet, no SYN seen
        var r = sip.Complete();
        Assert.AreEqual(0, r.Messages, "nothing after a non-SIP start is read as SIP");
        Assert.AreEqual(0, an.Entries.Count);
    }

    [TestMethod]
    public void OnTcp_FinWithHalfAMessage_CountsIncompleteMessage()
    {
        var (stream, _) = ThreeMessages();
        var an = new AnomalyCounters();
        var sip = new SipAnalyzer(an);
        sip.OnTcp(1, A, 40000, B, 5060, Isn - 1, TcpFlags.Syn, default, 1);
        sip.OnTcp(2, A, 40000, B, 5060, Isn, TcpFlags.Ack | TcpFlags.Fin, stream.AsSpan(0, 50), 2);
        Assert.AreEqual(1, an["sip_tcp_incomplete_message"]);
        Assert.AreEqual(0, sip.Complete().Messages);
    }
}
