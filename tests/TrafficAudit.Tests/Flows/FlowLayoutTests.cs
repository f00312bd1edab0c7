using System.Runtime.CompilerServices;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Tests.Flows;

/// <summary>
/// Where the runtime put the flow's fields (Flow.cs explains the order): the fields the engine writes for
/// every packet close together, and the fields the VoIP stage writes on its own thread more than a cache
/// line away from them (else each of the two cores' writes takes the line from the other: false sharing).
/// </summary>
[TestClass]
public sealed class FlowLayoutTests
{
    private const int CacheLine = 64;

    /// <summary>Stands for any object: its first field is where an object's fields start.</summary>
    private sealed class FirstField { public byte Data = 0; }

    private static long Offset<T>(Flow f, ref T field) =>
        Unsafe.ByteOffset(ref Unsafe.As<FirstField>(f).Data, ref Unsafe.As<T, byte>(ref field));

    private static Flow NewFlow()
    {
        var f = new Flow();
        f.Start(FlowKey.Create(IpAddress.Parse("10.0.0.1"), 1, IpAddress.Parse("10.0.0.2"), 2, IpProtocol.Udp, 0, out _), true, 0, 0);
        return f;
    }

    [TestMethod]
    public void FieldsTheVoipStageWrites_AreMoreThanACacheLineFromThoseEveryPacketWrites()
    {
        var f = NewFlow();
        // Written by the engine's thread for every packet (TCP ones for every TCP packet).
        var perPacket = new (string Name, long Start, int Size)[]
        {
            ("Packets", Offset(f, ref f.Packets), 16), ("Bytes", Offset(f, ref f.Bytes), 16), ("LastNs", Offset(f, ref f.LastNs), 16),
            ("LastSeenNs", Offset(f, ref f.LastSeenNs), 8), ("LastIpIdentity", Offset(f, ref f.LastIpIdentity), 16),
            ("Analysis", Offset(f, ref f.Analysis), Unsafe.SizeOf<TrafficAudit.Analyzers.FlowAnalysis>()),
            ("NextSeq", Offset(f, ref f.NextSeq), 8), ("FinSeen", Offset(f, ref f.FinSeen), 2), ("SeqKnown", Offset(f, ref f.SeqKnown), 2),
        };
        // Written by the VoIP stage for packets of a kind (its state reference, written once per flow, is read with the hot fields).
        long voipStart = Math.Min(Offset(f, ref f.T38Packets), Offset(f, ref f.RtcpPackets));
        long voipEnd = Math.Max(Offset(f, ref f.T38Packets), Offset(f, ref f.RtcpPackets)) + 8;
        foreach (var (name, start, size) in perPacket)
        {
            long gap = start >= voipEnd ? start - voipEnd : voipStart - (start + size);
            Assert.IsGreaterThanOrEqualTo(CacheLine, gap, $"{name} at {start} is {gap} bytes from the VoIP stage's fields at {voipStart}-{voipEnd}");
        }
    }

    [TestMethod]
    public void FieldsAUdpPacketTouches_SpanAtMostThreeCacheLinesOfBytes()
    {
        var f = NewFlow();
        long[] starts = [Offset(f, ref f.Hints), Offset(f, ref f.Analysis), Offset(f, ref f.Packets), Offset(f, ref f.Bytes), Offset(f, ref f.LastNs),
            Offset(f, ref f.LastSeenNs), Offset(f, ref f.FirstSeenNs), Offset(f, ref f.LastIpIdentity)];
        long first = starts.Min(), last = starts.Max() + 16;
        // Then the sequence number and first sender (16 bytes with padding). The key is not read per packet: the flow
        // table's index compares its own copy. Objects are 8-byte aligned, so 152 bytes lie on three or four cache lines
        // (192 with the key before round 3; five or six before round 2).
        long span = last - first + 16;
        Assert.IsLessThanOrEqualTo(3 * CacheLine, span, $"hints to sequence: {span} bytes");
    }
}
