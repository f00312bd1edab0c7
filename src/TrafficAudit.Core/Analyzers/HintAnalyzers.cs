using System.Runtime.InteropServices;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Analyzers;

/// <summary>SIP over UDP or TCP on any port: a payload that starts with a SIP request or status line (<see cref="FlowHints.IsSip"/>).</summary>
public sealed class SipHintAnalyzer : FlowAnalyzer
{
    public override string Name => "sip";

    public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet) =>
        packet.Ip.Protocol is IpProtocol.Udp or IpProtocol.Tcp ? ProbeVerdict.Undecided : ProbeVerdict.Reject;

    public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet)
    {
        if (!SipText.LooksLikeSip(packet.Payload)) return ProbeVerdict.Undecided;
        flow.Hints.IsSip = true;
        return ProbeVerdict.Accept;
    }
}

/// <summary>HTTP/1.x: the client's request line (<see cref="FlowHints.IsHttp"/>), and a CONNECT's authority (<see cref="FlowHints.HttpConnectTarget"/>). Stands back on a SIP flow (same request-line shape).</summary>
public sealed class HttpAnalyzer : FlowAnalyzer
{
    public override string Name => "http";

    public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet) =>
        packet.Ip.Protocol == IpProtocol.Tcp ? ProbeVerdict.Undecided : ProbeVerdict.Reject;

    public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet)
    {
        if (flow.Hints.IsSip) return ProbeVerdict.Reject;
        if (!HttpText.TryReadRequestLine(packet.Payload, out bool connect, out var target)) return ProbeVerdict.Undecided;
        flow.Hints.IsHttp = true;
        if (connect) flow.Hints.HttpConnectTarget = target;
        return ProbeVerdict.Accept;
    }
}

/// <summary>TLS: a payload that starts with a handshake record (<see cref="FlowHints.IsTls"/>); the ClientHello's server name (<see cref="FlowHints.ServerName"/>) when it is in that segment.</summary>
public sealed class TlsAnalyzer : FlowAnalyzer
{
    public override string Name => "tls";

    public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet) =>
        packet.Ip.Protocol == IpProtocol.Tcp ? ProbeVerdict.Undecided : ProbeVerdict.Reject;

    public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet)
    {
        var payload = packet.Payload;
        // RFC 8446 §5.1: content type 22 (handshake), legacy version 3.x.
        if (payload.Length < 6 || payload[0] != 0x16 || payload[1] != 0x03) return ProbeVerdict.Undecided;
        flow.Hints.IsTls = true;
        if (TlsClientHello.TryGetServerName(payload, out var name) && name is not null) flow.Hints.ServerName = name;
        return ProbeVerdict.Accept;
    }
}

/// <summary>
/// Decides once per UDP flow whether it carries RTP or RTCP (<see cref="FlowHints.Rtp"/>) with an
/// <see cref="RtpProbe"/> per flow, kept in this analyzer's table while the flow is undecided and
/// freed when it decides or ends. The table is capped: a flow beyond it is not probed
/// (<c>rtp_probe_flow_limit</c>); its streams are still measured when a call's SDP names them.
/// </summary>
public sealed class RtpProbeAnalyzer(AnomalyCounters anomalies, int maxProbedFlows = RtpProbeAnalyzer.MaxProbedFlows) : FlowAnalyzer
{
    /// <summary>UDP flows probed at once (undecided flows with payload, about 70 bytes each here; the flows themselves cost several times more).</summary>
    public const int MaxProbedFlows = 1_000_000;

    private readonly Dictionary<long, RtpProbe> _probes = new();

    public override string Name => "rtp";
    public override bool KeepsFlowState => true;

    /// <summary>Flows being probed now.</summary>
    public int ProbedFlows => _probes.Count;

    public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet) =>
        packet.Ip.Protocol == IpProtocol.Udp ? ProbeVerdict.Undecided : ProbeVerdict.Reject;

    public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet)
    {
        if (_probes.Count >= maxProbedFlows && !_probes.ContainsKey(flow.Sequence))
        {
            anomalies.Increment("rtp_probe_flow_limit");
            return ProbeVerdict.Reject;
        }
        ref RtpProbe probe = ref CollectionsMarshal.GetValueRefOrAddDefault(_probes, flow.Sequence, out _);
        probe.Inspect(packet.Payload, packet.Side);
        if (!probe.Decided) return ProbeVerdict.Undecided;
        flow.Hints.Rtp = new RtpVerdict { IsRtp = probe.IsRtp, IsRtcp = probe.IsRtcp, Decided = true, Ssrc = probe.Ssrc, PayloadType = probe.PayloadType };
        _probes.Remove(flow.Sequence);
        // Nothing to take per packet: stream statistics live in the VoIP stage.
        return ProbeVerdict.Reject;
    }

    public override void End(Flow flow) => _probes.Remove(flow.Sequence);
}

/// <summary>
/// DNS answers (UDP from port 53 or 5353) in a flow's first payloads: remembers a name per
/// address, to name servers in flows.csv (<see cref="TryGetName"/>). Capped at
/// <see cref="MaxNames"/> addresses (<c>dns_names_limit</c>).
/// </summary>
public sealed class DnsNamesAnalyzer(AnomalyCounters anomalies) : FlowAnalyzer
{
    /// <summary>Addresses whose DNS name is remembered; further answers are counted in <c>dns_names_limit</c>.</summary>
    public const int MaxNames = 100_000;

    private readonly Dictionary<IpAddress, string> _names = new();
    private readonly DnsAnswerReader _reader = new();

    public override string Name => "dns";

    /// <summary>Addresses named so far.</summary>
    public int NamedAddresses => _names.Count;

    public bool TryGetName(IpAddress address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name) =>
        _names.TryGetValue(address, out name);

    public override ProbeVerdict Start(Flow flow, in AnalyzerPacket packet) =>
        packet.Ip.Protocol == IpProtocol.Udp && (IsDnsPort(flow.Key.PortA) || IsDnsPort(flow.Key.PortB)) ? ProbeVerdict.Undecided : ProbeVerdict.Reject;

    private static bool IsDnsPort(ushort port) => port is 53 or 5353;

    /// <summary>Reads the answers of the flow's first payloads (it never accepts: the probe window bounds the work per flow).</summary>
    public override ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet)
    {
        if (IsDnsPort(packet.Ip.SrcPort)) Collect(packet.Payload);
        return ProbeVerdict.Undecided;
    }

    /// <summary>
    /// Set in a shard of a sharded engine: the answers go there (to the merger, which learns them in capture order
    /// into the one table the engine names servers from) instead of into this analyzer's table.
    /// </summary>
    internal IDnsAnswerSink? Forward { get; init; }

    private void Collect(ReadOnlySpan<byte> payload)
    {
        if (!_reader.TryRead(payload)) return;
        foreach (var answer in _reader.Answers)
        {
            if (Forward is { } f) f.OnAnswer(answer.Address, _reader.Name(answer));
            else Learn(answer.Address, _reader.Name(answer));
        }
    }

    /// <summary>Remembers <paramref name="name"/> for <paramref name="address"/> (the later answer wins); allocates only for a name not known yet.</summary>
    public void Learn(IpAddress address, ReadOnlySpan<char> name)
    {
        ref string known = ref CollectionsMarshal.GetValueRefOrNullRef(_names, address);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref known))
        {
            // The same answer again (every lookup of a name): no new string.
            if (!known.AsSpan().SequenceEqual(name)) known = new string(name);
            return;
        }
        // Bounded: a flood of DNS answers (or one capture of a resolver) must not grow the table without end.
        if (_names.Count >= MaxNames) { anomalies.Increment("dns_names_limit"); return; }
        _names[address] = new string(name);
    }
}

/// <summary>Where a shard's DNS analyzer sends the answers it reads (see <see cref="DnsNamesAnalyzer.Forward"/>).</summary>
internal interface IDnsAnswerSink
{
    void OnAnswer(IpAddress address, ReadOnlySpan<char> name);
}
