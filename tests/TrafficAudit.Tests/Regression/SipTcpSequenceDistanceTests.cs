using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Regression;

/// <summary>
/// Found by the decoder fuzz target: a SIP-over-TCP segment exactly 2^31 sequence numbers behind the next
/// expected byte made the distance int.MinValue, whose negation overflows, and slicing the payload threw
/// ArgumentOutOfRangeException (Regression/decoder/sip-over-tcp-segment-2pow31-behind...).
/// </summary>
[TestClass]
public sealed class SipTcpSequenceDistanceTests
{
    private sealed class Collector : ISipMessageSink
    {
        public List<string> Messages { get; } = [];
        public void OnStreamMessage(ReadOnlySpan<byte> message) => Messages.Add(Encoding.UTF8.GetString(message));
    }

    private static readonly byte[] Options = Encoding.ASCII.GetBytes(
        "OPTIONS sip:10.0.0.10 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.1.5;branch=z9hG4bK1\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");

    [TestMethod]
    [DataRow(0x8000_0000u)]
    [DataRow(0x7FFF_FFFFu)]
    [DataRow(0x8000_0001u)]
    public void Push_SegmentHalfTheSequenceSpaceAway_IsDroppedOrHeldWithoutThrowing(uint distance)
    {
        var s = new SipTcpStream(64 * 1024);
        var sink = new Collector();
        var anomalies = new AnomalyCounters();
        s.Push(999, TcpFlags.Syn, [], sink, anomalies);
        s.Push(1000, TcpFlags.Ack, Options, sink, anomalies);
        uint next = 1000 + (uint)Options.Length;
        s.Push(unchecked(next + distance), TcpFlags.Ack, Options, sink, anomalies);
        s.Push(next, TcpFlags.Ack, Options, sink, anomalies);
        Assert.IsGreaterThanOrEqualTo(2, sink.Messages.Count, "the in-order messages are still delivered");
    }
}
