using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Wire;
using SynthEtherType = TrafficAudit.Synth.Wire.EtherType;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// Issue 12: what a short RTP stream costs the whole engine once the pools are warm (the busy site's calls: a new flow and
/// stream every few hundred milliseconds, each a few seconds of G.711). Counted in bytes allocated on the engine's thread
/// (the VoIP stage inline), no timing. Before the VoIP stage reused stream states and bandwidth rings, each stream
/// allocated its 4.8 KB ring and 1.5 KB series array on top of its 1.2 KB state: this test measured 8,894 bytes per
/// stream with its flow on d47e748, and fails there.
/// </summary>
[TestClass]
public sealed class RtpStreamChurnTests
{
    private static readonly PortCatalogue Catalogue = ChurnKit.Catalogue;
    private static readonly uint Node = ChurnKit.Node;
    private static readonly byte[] MacA = ChurnKit.MacA, MacB = ChurnKit.MacB;
    private const long Start = ChurnKit.Start;

    /// <summary>Writes one RTP packet's frame into <paramref name="f"/> (no allocation: the frames are not counted).</summary>
    private static void Rtp(byte[] f, byte[] payload, uint src, ushort srcPort, ushort seq, uint ssrc)
    {
        payload[0] = 0x80;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), seq);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), seq * 160u);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8), ssrc);
        int off = Frames.WriteEthernet(f, MacB, MacA, 0, SynthEtherType.IPv4);
        int l4 = Frames.WriteUdp(f.AsSpan(off + Frames.IPv4HeaderLength), src, Node, srcPort, 30_000, payload);
        Frames.WriteIPv4(f.AsSpan(off), src, Node, Frames.ProtocolUdp, seq, l4);
    }

    [TestMethod]
    public void ShortRtpStreams_OnceWarm_AllocateAFractionOfWhatTheyDid()
    {
        // A stream every 100 ms from a new address and port, each 2 s of packets every 20 ms (20 at once), for 600 s:
        // 6,000 streams and flows. Streams and flows end 2 min after their last packet, so from about 125 s on the
        // spare states and rings are in use; the last 300 s are measured.
        const int streams = 6_000, packetsEach = 100;
        var events = new List<(long Ns, int Stream, int Seq)>(streams * packetsEach);
        for (int s = 0; s < streams; s++)
            for (int k = 0; k < packetsEach; k++)
                events.Add((Start + s * 100_000_000L + k * 20_000_000L + s * 1_000L, s, k));
        events.Sort((a, b) => a.Ns.CompareTo(b.Ns));
        var sink = new ChurnKit.CountingSink();
        using var engine = new AuditEngine(Catalogue, new AuditOptions { Servers = [IpAddress.FromV4(Node)], ParallelVoip = false }, sink);
        var payload = new byte[12 + 160];
        var frame = new byte[Frames.EthernetHeaderLength + Frames.IPv4HeaderLength + Frames.UdpHeaderLength + payload.Length];
        uint phone = Frames.ParseIPv4("172.16.0.1");
        int half = events.Count / 2;
        long before = 0, streamsBefore = 0, flowsBefore = 0;
        for (int i = 0; i < events.Count; i++)
        {
            if (i == half)
            {
                streamsBefore = sink.Streams;
                flowsBefore = sink.Flows;
                before = GC.GetAllocatedBytesForCurrentThread();
            }
            var (ns, s, seq) = events[i];
            Rtp(frame, payload, phone, (ushort)(20_000 + s), (ushort)(1000 + seq), 0x1000_0000u + (uint)s);
            engine.Process(new FrameHeader(ns, LinkType.Ethernet, frame.Length, frame.Length, 0, i + 1, 0), frame);
        }
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        long ended = sink.Streams - streamsBefore, flows = sink.Flows - flowsBefore;
        Assert.IsGreaterThan(2_000, ended, "streams ended during the measured part");
        Assert.AreEqual(ended, flows, "one flow per stream");
        double perStream = (double)bytes / ended;
        Console.WriteLine($"short RTP streams, once warm: {bytes} bytes over {events.Count - half} packets ({(double)bytes / (events.Count - half):F2} per packet), " +
                          $"{ended} streams and their flows ended: {perStream:F0} bytes per stream with its flow");
        // Measured: see the README (Flow churn). What is left per stream: its record and per-second series (they leave with
        // the record), its flow's record and VoIP view, the open list's node. The ring (1-4.8 KB) and the state (1.2 KB) must not come back.
        Assert.IsLessThan(2_000.0, perStream, "a stream allocates its record and series, not its statistics' rings or state");
        engine.Complete([], []);
        Assert.AreEqual(streams, sink.Streams, "every stream written");
    }
}
