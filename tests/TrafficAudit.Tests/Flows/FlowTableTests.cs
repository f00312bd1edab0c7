using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Tests.Flows;

[TestClass]
public sealed class FlowTableTests
{
    private static readonly IpAddress Client = IpAddress.Parse("10.0.0.10");
    private static readonly IpAddress Server = IpAddress.Parse("10.0.1.5");
    private const long Ms = 1_000_000;

    private static DecodedPacket Tcp(bool fromClient, TcpFlags flags, int ipLength = 40) => new()
    {
        IpVersion = 4,
        Protocol = IpProtocol.Tcp,
        Src = fromClient ? Client : Server,
        Dst = fromClient ? Server : Client,
        SrcPort = fromClient ? (ushort)50000 : (ushort)8443,
        DstPort = fromClient ? (ushort)8443 : (ushort)50000,
        TcpFlags = flags,
        IpLength = ipLength,
    };

    private static Flow Feed(FlowTable t, params (long TimeMs, DecodedPacket Packet)[] packets)
    {
        Flow? f = null;
        foreach (var (time, p) in packets) f = t.Track(in p, time * Ms, out _);
        return f!;
    }

    [TestMethod]
    public void Track_ThreeWayHandshake_MeasuresBothHalvesAndInitialRtt()
    {
        var t = new FlowTable();
        var f = Feed(t,
            (1000, Tcp(true, TcpFlags.Syn)),
            (1030, Tcp(false, TcpFlags.Syn | TcpFlags.Ack)),
            (1032, Tcp(true, TcpFlags.Ack)),
            (1040, Tcp(true, TcpFlags.Ack | TcpFlags.Psh, 140)));
        Assert.AreEqual(TcpHandshakeState.Established, f.HandshakeState);
        Assert.AreEqual(0, f.SynSide);
        Assert.AreEqual(32 * Ms, f.FirstAckNs - f.LastSynNs);
        Assert.AreEqual(30 * Ms, f.SynAckNs - f.LastSynNs);
        Assert.AreEqual(2 * Ms, f.HandshakeAckNs - f.SynAckNs);
        Assert.AreEqual(3, f.Packets[0]);
        Assert.AreEqual(1, f.Packets[1]);
        Assert.AreEqual(40 + 40 + 140, f.Bytes[0]);
        Assert.AreEqual(1, t.ActiveCount);
    }

    [TestMethod]
    public void Track_RetransmittedSyn_MeasuresFromTheMostRecentSyn()
    {
        var t = new FlowTable();
        var f = Feed(t,
            (0, Tcp(true, TcpFlags.Syn)),
            (1000, Tcp(true, TcpFlags.Syn)),
            (3000, Tcp(true, TcpFlags.Syn)),
            (3020, Tcp(false, TcpFlags.Syn | TcpFlags.Ack)),
            (3021, Tcp(true, TcpFlags.Ack)));
        Assert.AreEqual(2, f.SynRetries);
        Assert.AreEqual(21 * Ms, f.FirstAckNs - f.LastSynNs);
        Assert.AreEqual(TcpHandshakeState.Established, f.HandshakeState);
    }

    [TestMethod]
    public void Track_SynsWithoutAnswer_AreUnanswered()
    {
        var t = new FlowTable();
        var f = Feed(t, (0, Tcp(true, TcpFlags.Syn)), (1000, Tcp(true, TcpFlags.Syn)));
        Assert.AreEqual(TcpHandshakeState.Unanswered, f.HandshakeState);
        Assert.AreEqual(1, f.SynRetries);
        Assert.AreEqual(0, f.FirstAckNs);
    }

    [TestMethod]
    public void Track_RstAnsweringSyn_IsRefused_AndWiresharkStillTakesTheRstAckAsFirstAck()
    {
        var t = new FlowTable();
        var f = Feed(t, (1000, Tcp(true, TcpFlags.Syn)), (1005, Tcp(false, TcpFlags.Rst | TcpFlags.Ack)));
        Assert.AreEqual(TcpHandshakeState.Refused, f.HandshakeState);
        Assert.AreEqual(5 * Ms, f.FirstAckNs - f.LastSynNs);
        Assert.IsTrue(f.Closed);
    }

    [TestMethod]
    public void Track_NoSyn_IsMidstream()
    {
        var t = new FlowTable();
        var f = Feed(t, (0, Tcp(false, TcpFlags.Ack | TcpFlags.Psh)), (5, Tcp(true, TcpFlags.Ack)));
        Assert.AreEqual(TcpHandshakeState.Midstream, f.HandshakeState);
        Assert.AreEqual(-1, f.SynSide);
    }

    [TestMethod]
    public void Track_IcmpUnreachableForUdp_TiesBackToTheFlow()
    {
        var t = new FlowTable();
        var udp = new DecodedPacket { IpVersion = 4, Protocol = IpProtocol.Udp, Src = Client, Dst = Server, SrcPort = 5064, DstPort = 5064, IpLength = 300 };
        var f = t.Track(in udp, 0, out _);
        var icmp = new DecodedPacket
        {
            IpVersion = 4, Protocol = IpProtocol.Icmp, Src = Server, Dst = Client, IcmpType = 3, IcmpCode = 3, IcmpUnreachable = true,
            InnerSrc = Client, InnerDst = Server, InnerProtocol = IpProtocol.Udp, InnerSrcPort = 5064, InnerDstPort = 5064,
        };
        Assert.IsTrue(t.TrackUnreachable(in icmp, 10 * Ms));
        Assert.AreEqual(1, f.IcmpUnreachable);
    }

    [TestMethod]
    public void Track_NewSynAfterFinishedConnection_StartsANewFlow()
    {
        var ended = new List<Flow>();
        var t = new FlowTable(ended: ended.Add);
        var first = Feed(t,
            (0, Tcp(true, TcpFlags.Syn)),
            (1, Tcp(false, TcpFlags.Syn | TcpFlags.Ack)),
            (2, Tcp(true, TcpFlags.Ack)),
            (3, Tcp(true, TcpFlags.Fin | TcpFlags.Ack)),
            (4, Tcp(false, TcpFlags.Fin | TcpFlags.Ack)),
            (5, Tcp(true, TcpFlags.Ack)));
        var newSyn = Tcp(true, TcpFlags.Syn);
        newSyn.TcpSeq = 777;
        var second = Feed(t, (100, newSyn));
        Assert.AreNotSame(first, second);
        Assert.AreEqual(FlowEndReason.Fin, first.EndReason);
        // The first connection left the table as the new SYN arrived; the second at the end of input.
        CollectionAssert.AreEqual(new[] { first }, ended);
        t.Complete();
        CollectionAssert.AreEqual(new[] { first, second }, ended);
        Assert.AreEqual(0, t.ActiveCount);
    }

    [TestMethod]
    public void Track_SameSynRetriedAfterEachRst_StaysOneRefusedFlowWithRetries()
    {
        var t = new FlowTable();
        var f = Feed(t,
            (1000, Tcp(true, TcpFlags.Syn)), (1050, Tcp(false, TcpFlags.Rst | TcpFlags.Ack)),
            (1500, Tcp(true, TcpFlags.Syn)), (1550, Tcp(false, TcpFlags.Rst | TcpFlags.Ack)));
        Assert.AreEqual(1, t.ActiveCount);
        Assert.AreEqual(1, f.SynRetries);
        Assert.AreEqual(TcpHandshakeState.Refused, f.HandshakeState);
        Assert.AreEqual(50 * Ms, f.FirstAckNs - 1000 * Ms);
    }

    [TestMethod]
    public void Sweep_IdleUdpFlow_LeavesTheTableAfterItsTimeout()
    {
        var ended = new List<Flow>();
        var t = new FlowTable(new FlowTimeouts { UdpIdleNs = 60_000 * Ms, SweepIntervalNs = 1000 * Ms }, ended.Add);
        var udp = new DecodedPacket { IpVersion = 4, Protocol = IpProtocol.Udp, Src = Client, Dst = Server, SrcPort = 40000, DstPort = 53, IpLength = 60 };
        t.Track(in udp, 0, out _);
        var other = udp with { SrcPort = 40001 };
        t.Track(in other, 30_000 * Ms, out _);
        t.Track(in other, 61_000 * Ms, out _);
        t.Track(in other, 62_000 * Ms, out _);
        Assert.AreEqual(1, t.ActiveCount);
        Assert.HasCount(1, ended);
        Assert.AreEqual(FlowEndReason.IdleTimeout, ended[0].EndReason);
        Assert.AreEqual(40000, ended[0].Port(0));
    }

    [TestMethod]
    public void Sweep_OneFrameWithABogusFutureTimestamp_ExpiresNothing()
    {
        var ended = new List<Flow>();
        var t = new FlowTable(new FlowTimeouts { SweepIntervalNs = 1000 * Ms }, ended.Add);
        var f = Feed(t,
            (1000, Tcp(true, TcpFlags.Syn)),
            (1000L + 50L * 365 * 86_400_000, Tcp(false, TcpFlags.Syn | TcpFlags.Ack)), // decades ahead
            (1002, Tcp(true, TcpFlags.Ack)));
        Assert.IsEmpty(ended);
        Assert.AreEqual(2 * Ms, f.FirstAckNs - f.LastSynNs);
    }

    [TestMethod]
    public void FlowKey_IsTheSameInBothDirections()
    {
        var k1 = FlowKey.Create(Client, 1, Server, 2, IpProtocol.Udp, 0, out bool aFirst);
        var k2 = FlowKey.Create(Server, 2, Client, 1, IpProtocol.Udp, 0, out bool aSecond);
        Assert.AreEqual(k1, k2);
        Assert.AreEqual(k1.GetHashCode(), k2.GetHashCode());
        Assert.AreNotEqual(aFirst, aSecond);
    }
}

[TestClass]
public sealed class FlowTableCaptureQualityTests
{
    private static readonly IpAddress Client = IpAddress.Parse("10.0.0.10");
    private static readonly IpAddress Server = IpAddress.Parse("10.0.1.5");
    private const long Us = 1_000;

    private static DecodedPacket Tcp(bool fromClient, TcpFlags flags, uint seq, uint ack, int data, ushort ipId) => new()
    {
        IpVersion = 4, Protocol = IpProtocol.Tcp,
        Src = fromClient ? Client : Server, Dst = fromClient ? Server : Client,
        SrcPort = fromClient ? (ushort)50000 : (ushort)389, DstPort = fromClient ? (ushort)389 : (ushort)50000,
        TcpFlags = flags, TcpSeq = seq, TcpAck = ack, TcpDataLength = data, PayloadLength = data,
        IpLength = 40 + data, IpId = ipId, IpChecksum = (ushort)(0x1000 + ipId),
    };

    [TestMethod]
    public void Track_SameIpPacketTwiceWithinMilliseconds_CountsOneDuplicate()
    {
        var t = new FlowTable();
        var syn = Tcp(true, TcpFlags.Syn, 100, 0, 0, 7);
        t.Track(in syn, 1_000 * Us, out _);
        var f = t.Track(in syn, 1_012 * Us, out _);
        Assert.AreEqual(1, f.DuplicatePackets);
        var later = Tcp(true, TcpFlags.Ack, 101, 1, 0, 8);
        t.Track(in later, 2_000 * Us, out _);
        t.Track(in later, 9_000 * Us, out _); // 7 ms later: a retransmission's timing, not a SPAN copy
        Assert.AreEqual(1, f.DuplicatePackets);
        var zeroId = Tcp(true, TcpFlags.Ack, 101, 1, 0, 0);
        t.Track(in zeroId, 9_100 * Us, out _);
        t.Track(in zeroId, 9_101 * Us, out _);
        Assert.AreEqual(1, f.DuplicatePackets, "id 0 is never compared");
    }

    [TestMethod]
    public void Track_AckBeyondTheDataSeen_CountsASegmentTheCaptureMissed()
    {
        var t = new FlowTable();
        Flow f = t.Track(Tcp(true, TcpFlags.Syn, 1000, 0, 0, 1), 0, out _);
        t.Track(Tcp(false, TcpFlags.Syn | TcpFlags.Ack, 5000, 1001, 0, 1), 1 * Us, out _);
        t.Track(Tcp(true, TcpFlags.Ack, 1001, 5001, 0, 2), 2 * Us, out _);
        t.Track(Tcp(true, TcpFlags.Ack | TcpFlags.Psh, 1001, 5001, 100, 3), 3 * Us, out _);
        t.Track(Tcp(false, TcpFlags.Ack, 5001, 1101, 0, 2), 4 * Us, out _);
        Assert.AreEqual(0, f.AckedUnseen);
        // The client's next 200 bytes (1101-1300) are not in the capture, the server ACKs them.
        t.Track(Tcp(false, TcpFlags.Ack, 5001, 1301, 0, 3), 6 * Us, out _);
        t.Track(Tcp(false, TcpFlags.Ack, 5001, 1301, 0, 4), 7 * Us, out _);
        Assert.AreEqual(1, f.AckedUnseen, "one gap, counted once");
    }
}
