using TrafficAudit.Analyzers;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Wire;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Analyzers;

/// <summary>The plug-in contract: who is called when (start, probe window, accept, reject, end), and what it costs per packet.</summary>
[TestClass]
public sealed class FlowAnalyzerRegistryTests
{
    private static readonly IpAddress A = IpAddress.Parse("10.0.0.1"), B = IpAddress.Parse("10.0.0.2");

    /// <summary>Counts its calls; decides by the payload's first byte ('A' accept, 'R' reject, else undecided).</summary>
    private sealed class Recorder(ProbeVerdict atStart, bool takesPackets = true, bool keepsState = true) : FlowAnalyzer
    {
        public int Starts, Probes, Packets, Ends, Snapshots;
        public override string Name => "recorder";
        public override bool TakesPackets => takesPackets;
        public override bool KeepsFlowState => keepsState;
        public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet) { Starts++; return atStart; }
        public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet)
        {
            Probes++;
            return packet.Payload[0] switch { (byte)'A' => ProbeVerdict.Accept, (byte)'R' => ProbeVerdict.Reject, _ => ProbeVerdict.Undecided };
        }
        public override void Packet(Flow flow, in AnalyzerPacket packet) => Packets++;
        public override void End(Flow flow) => Ends++;
        public override void Snapshot(Flow flow) => Snapshots++;
    }

    private static Flow NewFlow(IpProtocol protocol = IpProtocol.Udp, long sequence = 0) =>
        new() { Key = FlowKey.Create(A, 40000, B, 5060, protocol, 0, out _), FirstSenderIsA = true, Sequence = sequence };

    private static void Feed(FlowAnalyzerRegistry registry, Flow flow, string payload, IpProtocol protocol = IpProtocol.Udp, int side = 0)
    {
        var p = new DecodedPacket { Protocol = protocol, Src = A, Dst = B, SrcPort = 40000, DstPort = 5060 };
        var header = new FrameHeader(1_000, LinkType.Ethernet, 60, 60, 0, 1, 0);
        registry.Process(flow, new AnalyzerPacket(in p, System.Text.Encoding.ASCII.GetBytes(payload), side, in header));
    }

    [TestMethod]
    public void Process_UndecidedThenAccept_ProbesPayloadsOnlyThenTakesEveryPacket()
    {
        var r = new Recorder(ProbeVerdict.Undecided);
        var registry = new FlowAnalyzerRegistry(r);
        var flow = NewFlow();
        Feed(registry, flow, "");        // no payload: started, not probed
        Feed(registry, flow, "x");
        Feed(registry, flow, "A");       // accepted here: this packet is taken too
        Feed(registry, flow, "");
        Feed(registry, flow, "x");
        Assert.AreEqual(1, r.Starts);
        Assert.AreEqual(2, r.Probes);
        Assert.AreEqual(3, r.Packets);
        registry.End(flow);
        Assert.AreEqual(1, r.Ends);
    }

    [TestMethod]
    public void Process_Reject_NeverCalledAgainNorEnded()
    {
        var r = new Recorder(ProbeVerdict.Undecided);
        var registry = new FlowAnalyzerRegistry(r);
        var flow = NewFlow();
        Feed(registry, flow, "R");
        Feed(registry, flow, "A");
        registry.End(flow);
        Assert.AreEqual(1, r.Probes);
        Assert.AreEqual(0, r.Packets);
        Assert.AreEqual(0, r.Ends, "a rejecting analyzer freed its state already");
    }

    [TestMethod]
    public void Process_StartRejectsOrAccepts_NoProbe()
    {
        var no = new Recorder(ProbeVerdict.Reject);
        var yes = new Recorder(ProbeVerdict.Accept);
        var registry = new FlowAnalyzerRegistry(no, yes);
        var flow = NewFlow();
        Feed(registry, flow, "x");
        Feed(registry, flow, "x");
        Assert.AreEqual(0, no.Probes + no.Packets);
        Assert.AreEqual(0, yes.Probes);
        Assert.AreEqual(2, yes.Packets);
    }

    [TestMethod]
    public void Process_ProbeWindow_ClosesAfterMaxPayloadsAndEndsTheUndecided()
    {
        var r = new Recorder(ProbeVerdict.Undecided);
        var stateless = new Recorder(ProbeVerdict.Undecided, keepsState: false);
        var registry = new FlowAnalyzerRegistry(r, stateless);
        var flow = NewFlow();
        for (int i = 0; i < FlowAnalyzerRegistry.MaxProbePayloads + 10; i++) Feed(registry, flow, "x");
        Assert.AreEqual(FlowAnalyzerRegistry.MaxProbePayloads, r.Probes);
        Assert.AreEqual(FlowAnalyzerRegistry.MaxProbePayloads, stateless.Probes);
        Assert.AreEqual(1, r.Ends, "ended when the window closed");
        Assert.AreEqual(0, stateless.Ends, "an analyzer without per-flow state is not called at the end");
        registry.End(flow);
        Assert.AreEqual(1, r.Ends, "ended once only");
    }

    [TestMethod]
    public void Process_OnlyAnalyzersThatTakePackets_AreCalledPerPacket()
    {
        var facts = new Recorder(ProbeVerdict.Accept, takesPackets: false, keepsState: false);
        var registry = new FlowAnalyzerRegistry(facts);
        var flow = NewFlow();
        for (int i = 0; i < 10; i++) Feed(registry, flow, "x");
        Assert.AreEqual(0, facts.Packets);
        registry.Snapshot(flow);
        registry.End(flow);
        Assert.AreEqual(0, facts.Ends + facts.Snapshots);
    }

    [TestMethod]
    public void Snapshot_CallsTheAnalyzersFollowingTheFlow_WithoutEndingThem()
    {
        var r = new Recorder(ProbeVerdict.Undecided);
        var registry = new FlowAnalyzerRegistry(r);
        var flow = NewFlow();
        Feed(registry, flow, "A");
        registry.Snapshot(flow);
        Feed(registry, flow, "x");
        Assert.AreEqual(1, r.Snapshots);
        Assert.AreEqual(0, r.Ends);
        Assert.AreEqual(2, r.Packets);
    }

    [TestMethod]
    public void Process_SteadyState_AllocatesNothing()
    {
        var registry = new FlowAnalyzerRegistry(new SipHintAnalyzer(), new HttpAnalyzer(), new TlsAnalyzer(),
            new RtpProbeAnalyzer(new AnomalyCounters()), new Recorder(ProbeVerdict.Accept));
        var flows = Enumerable.Range(0, 4).Select(i => NewFlow(i % 2 == 0 ? IpProtocol.Udp : IpProtocol.Tcp, i)).ToArray();
        var payload = new byte[172];
        payload[0] = 0x80; // RTP version 2
        var p = new DecodedPacket { Src = A, Dst = B, SrcPort = 40000, DstPort = 5060 };
        var header = new FrameHeader(1_000, LinkType.Ethernet, 60, 60, 0, 1, 0);
        void Run(int n)
        {
            for (int i = 0; i < n; i++)
                foreach (var f in flows)
                {
                    p.Protocol = f.Key.Protocol;
                    payload[3] = (byte)i; // the sequence number advances: the probe decides RTP
                    registry.Process(f, new AnalyzerPacket(in p, payload, 0, in header));
                }
        }
        Run(100); // flows started, probes decided, dictionaries sized
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(1000);
        Assert.AreEqual(0L, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.IsTrue(flows[0].Rtp.IsRtp);
    }

    [TestMethod]
    public void RtpProbe_DecidedOrEnded_FreesItsState()
    {
        var an = new AnomalyCounters();
        var rtp = new RtpProbeAnalyzer(an);
        var registry = new FlowAnalyzerRegistry(rtp);
        var media = NewFlow(sequence: 1);
        var other = NewFlow(sequence: 2);
        for (ushort seq = 0; seq < RtpProbe.PacketsToConfirm; seq++) FeedBytes(registry, media, Rtp(seq));
        FeedBytes(registry, other, [1, 2, 3]);
        Assert.IsTrue(media.Rtp.IsRtp && media.Rtp.Decided);
        Assert.IsFalse(other.Rtp.Decided);
        Assert.AreEqual(1, rtp.ProbedFlows, "only the undecided flow holds a probe");
        registry.End(other);
        Assert.AreEqual(0, rtp.ProbedFlows);
        Assert.AreEqual(0, an.Entries.Count);
    }

    [TestMethod]
    public void RtpProbe_TableFull_FlowNotProbedAndCounted()
    {
        var an = new AnomalyCounters();
        var rtp = new RtpProbeAnalyzer(an, maxProbedFlows: 3);
        var registry = new FlowAnalyzerRegistry(rtp);
        var flows = Enumerable.Range(0, 5).Select(i => NewFlow(sequence: i)).ToArray();
        foreach (var f in flows) FeedBytes(registry, f, Rtp(0));
        Assert.AreEqual(3, rtp.ProbedFlows);
        Assert.AreEqual(2, an["rtp_probe_flow_limit"]);
        // The flows past the cap are not probed again; the others still decide.
        foreach (var f in flows) for (ushort seq = 1; seq < RtpProbe.PacketsToConfirm; seq++) FeedBytes(registry, f, Rtp(seq));
        Assert.AreEqual(3, flows.Count(f => f.Rtp.IsRtp));
        Assert.AreEqual(2, an["rtp_probe_flow_limit"]);
        Assert.AreEqual(0, rtp.ProbedFlows);
    }

    private static byte[] Rtp(ushort seq)
    {
        var b = new byte[172];
        b[0] = 0x80;
        b[2] = (byte)(seq >> 8);
        b[3] = (byte)seq;
        b[8] = 0x12; b[9] = 0x34; b[10] = 0x56; b[11] = 0x78;
        return b;
    }

    private static void FeedBytes(FlowAnalyzerRegistry registry, Flow flow, byte[] payload)
    {
        var p = new DecodedPacket { Protocol = IpProtocol.Udp, Src = A, Dst = B, SrcPort = 40000, DstPort = 5060 };
        var header = new FrameHeader(1_000, LinkType.Ethernet, 60, 60, 0, 1, 0);
        registry.Process(flow, new AnalyzerPacket(in p, payload, 0, in header));
    }

    /// <summary>
    /// Through the engine: short UDP flows one after another (DNS-like, undecided by the RTP probe)
    /// leave the probe table as their idle timeout ends them, so it follows the concurrent flows.
    /// </summary>
    [TestMethod]
    public void Engine_ShortUdpFlowsEnding_ProbeTableFollowsConcurrentFlows()
    {
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        var rtp = engine.Analyzers.Analyzers.OfType<RtpProbeAnalyzer>().Single();
        uint client = Frames.ParseIPv4("10.0.0.10"), server = Frames.ParseIPv4("10.0.0.20");
        const long t0 = 1_700_000_000_000_000_000, second = 1_000_000_000;
        int peak = 0;
        // 2,000 flows, one a second for 2,000 s: UDP flows end after 120 s idle, so about 130 are open at once.
        for (int i = 0; i < 2000; i++)
        {
            var frame = MediaFrames.Udp(client, server, (ushort)(10000 + i), 7000, [1, 2, 3, 4]);
            engine.Process(new FrameHeader(t0 + i * second, LinkType.Ethernet, frame.Length, frame.Length, 0, i + 1, 0), frame);
            peak = Math.Max(peak, rtp.ProbedFlows);
        }
        Assert.IsLessThanOrEqualTo(140, peak);
        Assert.IsGreaterThanOrEqualTo(100, peak);
        var result = engine.Complete([], []);
        Assert.AreEqual(0, rtp.ProbedFlows, "every flow's probe is freed at the end");
        Assert.HasCount(2000, result.Flows);
    }
}
