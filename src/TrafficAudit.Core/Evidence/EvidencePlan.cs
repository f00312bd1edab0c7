using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Evidence;

/// <summary>
/// Which packets to pick for one evidence file: those of one conversation (<see cref="Key"/>, VLAN
/// included) within a time window, optionally only those whose payload holds a SIP Call-ID, and
/// optionally also the ICMP unreachables that quote the conversation.
/// </summary>
public sealed class EvidenceSelector
{
    public required FlowKey Key { get; init; }
    /// <summary>Inclusive capture-time window, ns since the epoch.</summary>
    public required long FromNs { get; init; }
    public required long ToNs { get; init; }
    /// <summary>Index of the <see cref="EvidenceTarget"/> the packets go to.</summary>
    public required int Target { get; init; }
    /// <summary>When set, only packets whose transport payload contains these bytes (a SIP Call-ID).</summary>
    public byte[]? PayloadMustContain { get; init; }
    /// <summary>Also the ICMP/ICMPv6 unreachables that quote a packet of <see cref="Key"/> in the window.</summary>
    public bool QuotedUnreachables { get; init; }
    /// <summary>At most this many packets (the first ones); 0 = no limit.</summary>
    public int MaxPackets { get; init; }
    /// <summary>Packets taken so far (the extraction counts them).</summary>
    public int Taken { get; set; }

    public bool Covers(long ts) => ts >= FromNs && ts <= ToNs;
}

/// <summary>One evidence file: its path under the output folder, what it shows, and the packets it selects.</summary>
public sealed class EvidenceTarget
{
    /// <summary>Path relative to the output folder, with '/' separators: "evidence/finding-3.pcapng".</summary>
    public required string RelativePath { get; init; }
    public required string Description { get; init; }
    /// <summary>Position in <see cref="EvidencePlan.Targets"/>.</summary>
    public required int Index { get; init; }
    public List<EvidenceSelector> Selectors { get; } = [];
    /// <summary>Packets written by the extraction.</summary>
    public long Packets { get; set; }
}

/// <summary>
/// The evidence files of a finished audit (--evidence): one per finding that is about packets
/// (<c>evidence/finding-N.pcapng</c>, N = finding_id) and one per call with a quality problem
/// (<c>evidence/call-N.pcapng</c>, N = the call's row in calls.csv): a call that a finding names (directly
/// or through one of its streams) or whose MOS is below <see cref="LowMos"/>. What each holds:
/// <list type="bullet">
/// <item>a call: every SIP message carrying its Call-ID, over UDP or TCP (not TLS), from its first INVITE
/// to 32 s (SIP timer F) after its end; the packets of its RTP streams' flows while they ran; the
/// RTCP flows beside them (ports + 1) from 10 s before to 10 s after the media;</item>
/// <item>an RTP stream (high_jitter, packet_loss, RTCP over_latency): its flow while it ran (both
/// directions), its RTCP, and its call's SIP when an SDP tied it to one (so Wireshark decodes the RTP);</item>
/// <item>blocked_flow, refused_flow: every packet of the flow (SYNs, RST) and the ICMP unreachables that quote it;</item>
/// <item>over_latency by TCP handshake: the flow from its first packet to the ACK that ends the
/// handshake; by SIP: the request and its first response (the messages with its Call-ID on that flow
/// between the two);</item>
/// <item>slow_response: as over_latency by SIP;</item>
/// <item>unexpected_flow, proxy_in_use and any other flow finding: the first
/// <see cref="MaxPacketsPerFlow"/> packets of each flow.</item>
/// </list>
/// missing_flow, capture_loss and duplicate_packets get no file (nothing to show, or the whole capture).
/// Every occurrence merged into a finding (its count) is in its file.
/// </summary>
public sealed class EvidencePlan
{
    public const string Folder = "evidence";
    /// <summary>A call whose lowest stream MOS is below this has a quality problem (ITU-T G.107: below 3.6 many users are dissatisfied).</summary>
    public const double LowMos = 3.6;
    /// <summary>Cap per flow for findings about a whole conversation (an unexpected RDP session can be gigabytes).</summary>
    public const int MaxPacketsPerFlow = 1000;
    /// <summary>SIP timer F (64 × T1): retransmissions and late responses of a call's last transaction.</summary>
    private const long SipTailNs = 32_000_000_000;
    private const long RtcpSlackNs = 10_000_000_000;
    /// <summary>An ICMP unreachable arrives within this time after the packet it refuses.</summary>
    private const long UnreachableSlackNs = 5_000_000_000;

    private readonly Dictionary<int, string> _findingFiles = [];
    private readonly Dictionary<CallRecord, string> _callFiles = new(ReferenceEqualityComparer.Instance);
    private readonly AuditResult _result;
    private readonly Dictionary<int, FlowRecord> _flowsById;
    private readonly List<FlowRecord> _sipFlows;
    private readonly Dictionary<string, CallRecord> _callsById;

    private EvidencePlan(AuditResult result)
    {
        _result = result;
        _flowsById = result.Flows.ToDictionary(f => f.FlowId);
        _sipFlows = result.Flows.Where(f => f.Transport is IpProtocol.Udp or IpProtocol.Tcp && f.Service != "sip-tls"
            && (f.IsSip || f.Service.StartsWith("sip", StringComparison.Ordinal))).ToList();
        _callsById = new Dictionary<string, CallRecord>(StringComparer.Ordinal);
        foreach (var c in result.Calls) _callsById.TryAdd(c.Sip.CallId, c);
    }

    public List<EvidenceTarget> Targets { get; } = [];

    /// <summary>The evidence file of finding number <paramref name="index"/> (0-based), or null when it has none.</summary>
    public string? FindingFile(int index) => _findingFiles.GetValueOrDefault(index);
    /// <summary>The evidence file of a call, or null when the call has no quality problem.</summary>
    public string? CallFile(CallRecord call) => _callFiles.GetValueOrDefault(call);

    public static EvidencePlan Build(AuditResult result, IReadOnlyList<Finding> findings)
    {
        var plan = new EvidencePlan(result);
        var problemCalls = new HashSet<CallRecord>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < findings.Count; i++)
        {
            var f = findings[i];
            if (f.Subjects.Count == 0) continue;
            var target = plan.NewTarget($"finding-{i + 1}.pcapng", $"finding {i + 1}: {f.Kind}");
            foreach (var subject in f.Subjects)
            {
                plan.AddSubject(target, f.Kind, subject);
                if (subject is CallRecord c) problemCalls.Add(c);
                if (subject is RtpStreamRecord s && plan.CallOf(s) is { } sc) problemCalls.Add(sc);
            }
            plan._findingFiles[i] = target.RelativePath;
        }
        for (int i = 0; i < result.Calls.Count; i++)
        {
            var c = result.Calls[i];
            if (!problemCalls.Contains(c) && !(c.Mos >= 0 && c.Mos < LowMos)) continue;
            var target = plan.NewTarget($"call-{i + 1}.pcapng", $"call {i + 1}: {c.Sip.CallId}");
            plan.AddCall(target, c);
            plan._callFiles[c] = target.RelativePath;
        }
        return plan;
    }

    private EvidenceTarget NewTarget(string name, string description)
    {
        var t = new EvidenceTarget { RelativePath = Folder + "/" + name, Description = description, Index = Targets.Count };
        Targets.Add(t);
        return t;
    }

    private CallRecord? CallOf(RtpStreamRecord s) => s.CallId.Length > 0 ? _callsById.GetValueOrDefault(s.CallId) : null;

    private void AddSubject(EvidenceTarget target, string kind, object subject)
    {
        switch (subject)
        {
            case FlowRecord f when kind is FindingKinds.BlockedFlow or FindingKinds.RefusedFlow:
                Add(target, f, f.FirstSeenNs, f.LastSeenNs + UnreachableSlackNs, quotedUnreachables: true);
                break;
            case FlowRecord f when kind == FindingKinds.OverLatency && f.FirstAckNs > 0:
                Add(target, f, f.FirstSeenNs, f.FirstAckNs);
                break;
            case FlowRecord f:
                Add(target, f, f.FirstSeenNs, f.LastSeenNs, maxPackets: MaxPacketsPerFlow);
                break;
            case SipTransactionStat t:
                AddTransaction(target, t);
                break;
            case CallRecord c:
                AddCall(target, c);
                break;
            case RtpStreamRecord s:
                AddStream(target, s);
                if (CallOf(s) is { } call) AddSip(target, call);
                break;
        }
    }

    private void Add(EvidenceTarget target, FlowRecord f, long from, long to, bool quotedUnreachables = false, int maxPackets = 0, byte[]? payload = null)
    {
        target.Selectors.Add(new EvidenceSelector
        {
            Key = KeyOf(f), FromNs = from, ToNs = to, Target = target.Index,
            QuotedUnreachables = quotedUnreachables, MaxPackets = maxPackets, PayloadMustContain = payload,
        });
    }

    public static FlowKey KeyOf(FlowRecord f) => FlowKey.Create(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort, f.Transport, f.Vlan, out _);

    private void AddTransaction(EvidenceTarget target, SipTransactionStat t)
    {
        long to = t.FirstResponseNs ?? Plus(t.RequestNs, SipTailNs);
        byte[] callId = Encoding.UTF8.GetBytes(t.CallId);
        var transport = t.Transport == SipTransport.Udp ? IpProtocol.Udp : IpProtocol.Tcp;
        foreach (var f in _sipFlows)
        {
            if (f.Transport != transport || !Overlaps(f, t.RequestNs, to)) continue;
            bool forward = f.ClientIp == t.RequesterIp && f.ClientPort == t.RequesterPort && f.ServerIp == t.ResponderIp && f.ServerPort == t.ResponderPort;
            bool backward = f.ServerIp == t.RequesterIp && f.ServerPort == t.RequesterPort && f.ClientIp == t.ResponderIp && f.ClientPort == t.ResponderPort;
            // A UDP response may come back from another port of the responder: any SIP flow between the two addresses.
            bool between = transport == IpProtocol.Udp && ((f.ClientIp == t.RequesterIp && f.ServerIp == t.ResponderIp) || (f.ServerIp == t.RequesterIp && f.ClientIp == t.ResponderIp));
            if (forward || backward || between) Add(target, f, t.RequestNs, to, payload: callId);
        }
    }

    private void AddCall(EvidenceTarget target, CallRecord c)
    {
        AddSip(target, c);
        foreach (var s in c.Streams) AddStream(target, s);
    }

    /// <summary>Every SIP message with the call's Call-ID on any SIP flow (UDP or TCP) while the call lasted.</summary>
    private void AddSip(EvidenceTarget target, CallRecord c)
    {
        long from = c.Sip.StartNs, to = Plus(Math.Max(c.Sip.EndNs, c.Sip.StartNs), SipTailNs);
        byte[] callId = Encoding.UTF8.GetBytes(c.Sip.CallId);
        foreach (var f in _sipFlows)
            if (Overlaps(f, from, to)) Add(target, f, from, to, payload: callId);
    }

    /// <summary>The stream's flow while the stream ran, and the RTCP flow beside it (both ports + 1).</summary>
    private void AddStream(EvidenceTarget target, RtpStreamRecord s)
    {
        if (s.FlowId > 0 && _flowsById.TryGetValue(s.FlowId, out var flow)) Add(target, flow, s.FirstSeenNs, s.LastSeenNs);
        long from = Plus(s.FirstSeenNs, -RtcpSlackNs), to = Plus(s.LastSeenNs, RtcpSlackNs);
        foreach (var f in _result.Flows)
        {
            if (f.Transport != IpProtocol.Udp || !Overlaps(f, from, to)) continue;
            bool rtcp = (f.ClientIp == s.SrcIp && f.ClientPort == s.SrcPort + 1 && f.ServerIp == s.DstIp && f.ServerPort == s.DstPort + 1)
                || (f.ServerIp == s.SrcIp && f.ServerPort == s.SrcPort + 1 && f.ClientIp == s.DstIp && f.ClientPort == s.DstPort + 1);
            if (rtcp) Add(target, f, from, to);
        }
    }

    /// <summary>A time plus a slack, saturating: a capture whose timestamps lie near the end of the range (a file stamped in the year 151991) must not wrap a window round.</summary>
    private static long Plus(long ns, long slack) => slack >= 0
        ? (ns > long.MaxValue - slack ? long.MaxValue : ns + slack)
        : (ns < long.MinValue - slack ? long.MinValue : ns + slack);

    private static bool Overlaps(FlowRecord f, long from, long to) => f.FirstSeenNs <= to && f.LastSeenNs >= from;
}
