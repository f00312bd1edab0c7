using TrafficAudit.Analyzers;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Pipeline;

/// <summary>
/// Hands the packets the VoIP stage (SIP, SDP, RTP, RTCP: <see cref="VoipTracker"/>) needs to the
/// <see cref="VoipPipeline"/>, which may run it on another thread: every UDP payload (SIP and RTP
/// run on any port; the tracker tells them apart), and every segment of a TCP flow on a SIP port
/// (from the SYN on, for reassembly) or in which SIP was recognised. Each packet carries the flow's
/// hints as they stand now, so results do not depend on the other thread's timing. In a shard of a sharded
/// engine the packets go to the shard's output instead (<see cref="Shard"/>), and the merger hands them to the
/// stage in capture order.
/// </summary>
public sealed class VoipStageAnalyzer(VoipPipeline? stage, Func<ushort, bool> isSipPort) : FlowAnalyzer
{
    /// <summary>Set in a shard: the packets go to it, not to a stage.</summary>
    internal Sharding.FlowShard? Shard { get; init; }

    public override string Name => "voip";
    public override bool TakesPackets => true;

    public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet)
    {
        ref readonly DecodedPacket p = ref packet.Ip;
        if (p.Protocol == IpProtocol.Udp) return ProbeVerdict.Accept;
        if (p.Protocol != IpProtocol.Tcp) return ProbeVerdict.Reject;
        return isSipPort(p.SrcPort) || isSipPort(p.DstPort) ? ProbeVerdict.Accept : ProbeVerdict.Undecided;
    }

    // Runs after the SIP hint analyzer on the same payload.
    public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet) =>
        flow.Hints.IsSip ? ProbeVerdict.Accept : ProbeVerdict.Undecided;

    public override void Packet(Flow flow, in AnalyzerPacket packet)
    {
        ref readonly DecodedPacket p = ref packet.Ip;
        bool udp = p.Protocol == IpProtocol.Udp;
        if (udp && packet.Payload.IsEmpty) return;
        if (Shard is { } shard) shard.AddVoip(flow, in packet);
        else stage!.Add(flow, in packet);
    }
}
