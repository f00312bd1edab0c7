using System.Globalization;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>
/// The finding rules, one small method per kind. Each judges one record (a flow, a SIP transaction, an
/// RTP stream, a call) as it ends, or an aggregate at the end of the capture (missing flows, capture
/// loss, duplicates), and adds raw findings to a list; <see cref="PolicyAccumulator"/> merges those with
/// the same <see cref="Finding.Key"/>. A rule that needs another record (a transaction's or a stream's
/// flow) is given what it needs by the accumulator's indexes; none scans the flows, calls or streams.
/// </summary>
public static class FindingRules
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;


    // ------------------------------------------------------------------ flows

    /// <summary>The rules that judge a flow on its own: unexpected, blocked, refused, over latency (handshake), proxy in use.</summary>
    public static void OnFlow(PolicyContext ctx, FlowRecord f, List<Finding> found)
    {
        if (UnexpectedFlow(ctx, f) is { } u) found.Add(u);
        if (BlockedFlow(ctx, f) is { } b) found.Add(b);
        if (RefusedFlow(ctx, f) is { } r) found.Add(r);
        if (OverLatency(ctx, f) is { } o) found.Add(o);
        if (ProxyInUse(ctx, f) is { } p) found.Add(p);
    }

    /// <summary>
    /// A flow touching a node that matches no catalogue row of an installed application (rows for "all"
    /// always count), no infrastructure service and no allow entry. Without a profile: no catalogue row at
    /// all. Proxy flows are reported as proxy_in_use instead.
    /// </summary>
    public static Finding? UnexpectedFlow(PolicyContext ctx, FlowRecord f)
    {
        if (!ctx.TouchesNode(f) || f.Infrastructure || IsProxyFlow(ctx, f)) return null;
        if (f.Transport is IpProtocol.Icmp or IpProtocol.Icmpv6) return null;
        bool known = ctx.Profile is null
            ? f.MatchedRule.Length > 0
            : f.MatchedRule.Length > 0 && AnyInstalled(ctx.Profile, f.Applications);
        if (known) return null;
        var (_, _, remote, _) = ctx.Ends(f);
        if (ctx.Profile is not null && Allowed(ctx.Profile.Allow, f, remote)) return null;
        string why = f.MatchedRule.Length == 0 ? "matches no row of the vendor's port table"
            : $"matches only rows of applications not installed ({f.Applications})";
        return FlowFinding(FindingKinds.UnexpectedFlow, f) with
        {
            Method = "flow classification against the catalogue, the profile's applications and allow list",
            Message = $"{Name(f)} {why}; {StateText(f)}; not covered by an allow entry",
            WiresharkFilter = Conversation(f),
        };
    }

    // Per flow, without allocating: no Split of the applications, no lambda capturing the flow.
    private static bool AnyInstalled(DeploymentProfile profile, string applications)
    {
        var installed = profile.Applications;
        foreach (var range in applications.AsSpan().Split(';'))
        {
            var id = applications.AsSpan(range);
            // As DeploymentProfile.HasApplication: "all", or an installed id (ordinal).
            if (id.SequenceEqual("all".AsSpan())) return true;
            for (int i = 0; i < installed.Count; i++)
                if (id.SequenceEqual(installed[i].AsSpan())) return true;
        }
        return false;
    }

    private static bool Allowed(IReadOnlyList<AllowEntry> allow, FlowRecord f, IpAddress remote)
    {
        for (int i = 0; i < allow.Count; i++)
            if (allow[i].Matches(f.Transport, f.ServerPort, remote)) return true;
        return false;
    }

    /// <summary>
    /// One finding per requirement whose state is NOT SEEN (required) (<see cref="RequirementStatus.IsMissing"/>:
    /// expected, required, not observed; media only when the capture holds an answered call). Each names
    /// its requirement, rules, ports and applications; the rule ids keep two requirements towards one peer apart.
    /// </summary>
    public static IEnumerable<Finding> MissingFlows(PolicyContext ctx, IReadOnlyList<ExpectedFlow>? matrix)
    {
        if (matrix is null) yield break;
        foreach (var e in matrix)
        {
            var q = e.Requirement;
            if (!e.Status.IsMissing) continue;
            var peer = q.Peers.Count == 1 && q.Peers[0].PrefixLength == (q.Peers[0].Network.IsV4 ? 32 : 128) ? q.Peers[0].Network : (IpAddress?)null;
            string peers = q.PeerRole == "any" ? "any peer" : q.PeerRole == "nodes" ? "another node" : $"{q.PeerRole} {string.Join(", ", q.Peers.Select(PrefixText))}";
            string rules = string.Join(';', q.Rules.Select(r => r.Id));
            yield return new Finding
            {
                Kind = FindingKinds.MissingFlow,
                Service = q.Service,
                Applications = q.Applications,
                ServerIp = peer,
                // One transport when every row of the requirement uses it; "any" for one that spans UDP and TCP (SIP 5070 or TLS 5071).
                Transport = q.Rules.SelectMany(r => r.Bindings).Select(b => b.Transport).Distinct().Count() == 1
                    ? (q.Rules[0].Bindings[0].Transport == Catalogue.CatalogueTransport.Udp ? "udp" : "tcp")
                    : "any",
                Measured = 0,
                Unit = "flows",
                Method = "expected-flow matrix (profile and catalogue)",
                Rule = rules,
                Nodes = ctx.Nodes.Order().ToArray(),
                Message = $"{q.Title}: no {q.Ports} flow between a node and {peers} in {ctx.CaptureLengthText} of capture (rule {rules.Replace(";", ", ", StringComparison.Ordinal)}; needed by {(q.Applications == "all" ? "every installation" : q.Applications.Replace(";", ", ", StringComparison.Ordinal))}); some of these flows are periodic: a longer capture may show them",
                WiresharkFilter = MissingFilter(ctx, q),
            };
        }
    }

    private static string PrefixText(Catalogue.IpPrefix p) => p.PrefixLength == (p.Network.IsV4 ? 32 : 128) ? p.Network.ToString() : p.ToString();

    /// <summary>TCP SYNs never answered; a node's UDP request (SIP, DNS, NTP, LDAP...) without any reply.</summary>
    public static Finding? BlockedFlow(PolicyContext ctx, FlowRecord f)
    {
        if (!Accountable(ctx, f) || ctx.Outcome(f) != FlowOutcome.Unanswered) return null;
        bool tcp = f.Transport == IpProtocol.Tcp;
        return FlowFinding(FindingKinds.BlockedFlow, f) with
        {
            Measured = tcp ? f.SynRetries + 1 : f.PacketsC2S,
            Unit = tcp ? "syn" : "packets",
            Method = tcp ? "TCP SYN without SYN/ACK, RST or ICMP" : "UDP request without any reply",
            Message = tcp
                ? $"{Name(f)}: {f.SynRetries + 1} SYN(s) over {Seconds(f.LastSeenNs - f.FirstSeenNs)} never answered (dropped by a firewall or the host is down)"
                : $"{Name(f)}: {f.PacketsC2S} datagram(s) from the node never answered",
            WiresharkFilter = Conversation(f) + (tcp ? " && tcp.flags.syn==1" : ""),
        };
    }

    /// <summary>RST in answer to a SYN, or ICMP unreachable.</summary>
    public static Finding? RefusedFlow(PolicyContext ctx, FlowRecord f)
    {
        if (!Accountable(ctx, f) || ctx.Outcome(f) != FlowOutcome.Refused) return null;
        bool icmp = f.IcmpUnreachable > 0;
        return FlowFinding(FindingKinds.RefusedFlow, f) with
        {
            Method = icmp ? "ICMP destination unreachable quoting the flow" : "TCP RST in answer to the SYN",
            Message = icmp
                ? $"{Name(f)}: refused by {f.IcmpUnreachable} ICMP unreachable message(s) (nothing listens there, or a firewall rejects)"
                : $"{Name(f)}: SYN answered by RST (port closed on the server, or rejected by a firewall)",
            WiresharkFilter = icmp
                ? $"({Conversation(f)}) || (icmp.type==3 && {DisplayFilter.Address(f.ClientIp)} && {DisplayFilter.Address(f.ServerIp)})"
                : Conversation(f) + " && (tcp.flags.syn==1 || tcp.flags.reset==1)",
        };
    }

    /// <summary>
    /// Round trips above the vendor's budget (80 ms SIP, H.323, RTP/T.38, TAPI/JTAPI, CURRI; 150 ms AXL;
    /// 100 ms between nodes): TCP handshakes (SYN to first ACK: the whole client-server round trip
    /// wherever the capture point is). SIP requests and RTCP are judged with their transaction and stream.
    /// </summary>
    public static Finding? OverLatency(PolicyContext ctx, FlowRecord f)
    {
        if (!ctx.TouchesNode(f) || ctx.Outcome(f) != FlowOutcome.OverBudget) return null;
        int budget = ctx.BudgetMs(f)!.Value;
        double ms = f.HandshakeRttNs / 1e6;
        return FlowFinding(FindingKinds.OverLatency, f) with
        {
            Measured = Math.Round(ms, 3), Threshold = budget, Unit = "ms",
            Method = "TCP handshake (SYN to first ACK, Wireshark's tcp.analysis.initial_rtt)",
            Message = $"{Name(f)}: round trip {ms.ToString("F1", Inv)} ms, above the vendor's {budget} ms for {f.Service}",
            WiresharkFilter = Conversation(f) + $" && tcp.analysis.initial_rtt > {(budget / 1000.0).ToString("0.###", Inv)}",
        };
    }

    // ------------------------------------------------------------------ SIP transactions

    /// <summary>
    /// True when the transaction may be over its budget and so needs its flow (the flow's row sets the
    /// budget and the finding's service): a node took part and the first response came later than the
    /// smallest budget of any row. Every other transaction is judged without a look at any flow.
    /// </summary>
    public static bool TransactionNeedsFlow(PolicyContext ctx, SipTransactionStat t)
    {
        if (t.FirstResponseMs is not { } ms || ms <= ctx.MinBudgetMs) return false;
        return (ctx.IsNode(t.RequesterIp) && !ctx.IsNode(t.ResponderIp)) || ctx.IsNode(t.ResponderIp);
    }

    /// <summary>
    /// A SIP request sent by a node whose first response came later than the budget (over_latency: the
    /// network round trip plus the peer's processing), or one received by a node that the node answered
    /// late (slow_response: its own processing time, not the network's). <paramref name="flow"/> is the
    /// first flow (by flow_id) between the transaction's two ends, either way round, or null.
    /// </summary>
    public static void OnTransaction(PolicyContext ctx, SipTransactionStat t, JoinedFlow? flow, List<Finding> found)
    {
        if (t.FirstResponseMs is not { } ms) return;
        // The row's budget, else the catalogue's default for SIP (defaultRttMs.sip, 80 ms); none: not judged.
        if ((flow?.BudgetMs ?? ctx.Catalogue.DefaultRtt.SipMs) is not int budget || ms <= budget) return;
        if (ctx.IsNode(t.RequesterIp) && !ctx.IsNode(t.ResponderIp))
            found.Add(SipFinding(FindingKinds.OverLatency, t, flow) with
            {
                Measured = Math.Round(ms, 3), Threshold = budget, Unit = "ms",
                Method = "SIP request sent by the node to its first response",
                Message = $"SIP {t.Method} from node {t.RequesterIp} to {t.ResponderIp.WithPort(t.ResponderPort)}: first response after {ms.ToString("F1", Inv)} ms, above the vendor's {budget} ms (network round trip plus the peer's processing)",
            });
        if (ctx.IsNode(t.ResponderIp))
            found.Add(SipFinding(FindingKinds.SlowResponse, t, flow) with
            {
                Measured = Math.Round(ms, 3), Threshold = budget, Unit = "ms",
                Method = "SIP request received by the node to the node's first response",
                Message = $"SIP {t.Method} from {t.RequesterIp} to node {t.ResponderIp.WithPort(t.ResponderPort)}: the node answered after {ms.ToString("F1", Inv)} ms (its own processing; the budget is {budget} ms)",
            });
    }

    // ------------------------------------------------------------------ calls and media

    /// <summary>
    /// An answered call whose RTP flowed one way only, node or not (a bad call between a gateway and a
    /// phone seen on the SPAN port is reported too; the message says whether a node took part). Calls
    /// whose SDP negotiated one-way media (sendonly/recvonly, as CUCM's built-in bridge does for Call
    /// Recording) are what was asked for and are not reported.
    /// </summary>
    public static Finding? OneWayMedia(PolicyContext ctx, CallRecord c)
    {
        if (!IsOneWayProblem(ctx, c)) return null;
        var s = c.Streams[0];
        string missing = s.CallDirection == "out" ? "callee to caller" : "caller to callee";
        var nodes = CallNodes(ctx, c);
        return CallFinding(ctx, FindingKinds.OneWayMedia, c) with
        {
            Rule = nodes.Length > 0 ? MediaRule(ctx) : "",
            Applications = nodes.Length > 0 ? c.Applications : "",
            Measured = c.Streams.Count, Unit = "streams",
            Method = "RTP streams of the call (SDP sendrecv)",
            Nodes = nodes,
            Message = $"call {c.Sip.CallId}: RTP only from {s.SrcIp.WithPort(s.SrcPort)} to {s.DstIp.WithPort(s.DstPort)}; nothing {missing} although the SDP asked for both directions (NAT, firewall or routing on the return path); {NodeText(nodes)}",
            WiresharkFilter = DisplayFilter.Call(c.Sip.CallId, [s.Ssrc]),
        };
    }

    /// <summary>An answered call with RTP one way only whose SDP asked for both directions (the one_way_media condition).</summary>
    public static bool IsOneWayProblem(PolicyContext ctx, CallRecord c) => IsOneWayProblem(c);

    /// <summary>RTP flowed one way although the SDP asked for both (a one_way_media finding).</summary>
    public static bool IsOneWayProblem(CallRecord c) => c.OneWay && c.Streams.Count > 0 && !IsOneWayByNegotiation(c);

    /// <summary>One-way media that the SDP asked for (sendonly, recvonly, inactive: e.g. a recording leg): not a problem.</summary>
    public static bool IsOneWayByNegotiation(CallRecord c)
        => c.OneWay && c.Sip.MediaEndpoints.Any(e => e.Kind == "audio" && e.Direction is SdpDirection.SendOnly or SdpDirection.RecvOnly or SdpDirection.Inactive);

    /// <summary>Slack on the per-call budget: a mean over a short call is a few tenths above the codec's rate when packets bunch (G.711 shows 80.1-80.6).</summary>
    public const double BandwidthTolerance = 1.05;

    /// <summary>A call's mean media rate, per direction at the IP layer, above the per-call budget (with 5 % measurement slack).</summary>
    public static Finding? OverBandwidth(PolicyContext ctx, CallRecord c)
    {
        double limit = ctx.Thresholds.CallKbps;
        if (!CallTouchesNode(ctx, c)) return null;
        double kbps = Math.Max(c.MediaIpKbpsOut, c.MediaIpKbpsIn);
        if (Math.Round(kbps, 1) <= limit * BandwidthTolerance) return null;
        return CallFinding(ctx, FindingKinds.OverBandwidth, c) with
        {
            Measured = Math.Round(kbps, 1), Threshold = limit, Unit = "kbit/s",
            Method = "mean RTP bit rate per direction at the IP layer (RTP + UDP + IP headers)",
            Message = $"call {c.Sip.CallId} ({c.Codec}): media at {kbps.ToString("F1", Inv)} kbit/s per direction, above the {limit.ToString("0.#", Inv)} kbit/s per call budget",
            WiresharkFilter = DisplayFilter.Call(c.Sip.CallId, c.Streams.Select(s => s.Ssrc)),
        };
    }

    /// <summary>
    /// An RTP stream whose jitter (RFC 3550 A.8, as Wireshark computes it) peaked above the threshold:
    /// every stream of the capture, node or not; the message says whether a node took part.
    /// </summary>
    public static Finding? HighJitter(PolicyContext ctx, RtpStreamRecord s, JoinedFlow? flow)
    {
        double limit = ctx.Thresholds.JitterMs;
        if (s.MaxJitterMs <= limit) return null;
        var nodes = StreamNodes(ctx, s);
        return StreamFinding(ctx, FindingKinds.HighJitter, s, flow) with
        {
            Measured = Math.Round(s.MaxJitterMs, 3), Threshold = limit, Unit = "ms",
            Method = "RTP interarrival jitter at the capture point (RFC 3550 A.8), maximum",
            Nodes = nodes,
            Message = $"RTP {s.SrcIp.WithPort(s.SrcPort)} -> {s.DstIp.WithPort(s.DstPort)} (ssrc 0x{s.Ssrc:X8}): jitter up to {s.MaxJitterMs.ToString("F1", Inv)} ms, mean {s.MeanJitterMs.ToString("F1", Inv)} ms; {NodeText(nodes)}",
        };
    }

    /// <summary>An RTP stream, node or not, that lost more than the threshold (sequence numbers never received).</summary>
    public static Finding? PacketLoss(PolicyContext ctx, RtpStreamRecord s, JoinedFlow? flow)
    {
        double limit = ctx.Thresholds.LossPct;
        if (Math.Round(s.LostPct, 2) <= limit) return null;
        var nodes = StreamNodes(ctx, s);
        return StreamFinding(ctx, FindingKinds.PacketLoss, s, flow) with
        {
            Measured = Math.Round(s.LostPct, 2), Threshold = limit, Unit = "%",
            Method = "RTP sequence numbers expected minus received",
            Nodes = nodes,
            Message = $"RTP {s.SrcIp.WithPort(s.SrcPort)} -> {s.DstIp.WithPort(s.DstPort)} (ssrc 0x{s.Ssrc:X8}): {s.Lost} of {s.Expected} packets lost ({s.LostPct.ToString("F2", Inv)} %), in {s.LossBursts.Bursts} burst(s); {NodeText(nodes)}",
        };
    }

    /// <summary>
    /// An RTP stream, node or not, whose MOS estimate (the stream's <c>Mos</c>, rtp_streams.csv `mos`) is
    /// below <c>min_mos</c> (default 3.6). Streams without a rating (MOS 0 or negative: no voice codec) are skipped.
    /// </summary>
    public static Finding? LowMos(PolicyContext ctx, RtpStreamRecord s, JoinedFlow? flow)
    {
        double limit = ctx.Thresholds.MinMos;
        if (s.Mos <= 0 || Math.Round(s.Mos, 2) >= limit) return null;
        var nodes = StreamNodes(ctx, s);
        return StreamFinding(ctx, FindingKinds.LowMos, s, flow) with
        {
            Measured = Math.Round(s.Mos, 2), Threshold = limit, Unit = "mos",
            Method = "E-model estimate (ITU-T G.107) from the stream's loss, bursts and round trip, as rtp_streams.csv mos",
            Nodes = nodes,
            Message = $"RTP {s.SrcIp.WithPort(s.SrcPort)} -> {s.DstIp.WithPort(s.DstPort)} (ssrc 0x{s.Ssrc:X8}, {s.Codec}): MOS {s.Mos.ToString("F2", Inv)}, below {limit.ToString("0.0#", Inv)} ({s.LostPct.ToString("F2", Inv)} % lost, jitter up to {s.MaxJitterMs.ToString("F1", Inv)} ms); {NodeText(nodes)}",
        };
    }

    /// <summary>The nodes among a stream's two ends.</summary>
    private static IpAddress[] StreamNodes(PolicyContext ctx, RtpStreamRecord s)
        => new[] { s.SrcIp, s.DstIp }.Where(ctx.IsNode).Distinct().Order().ToArray();

    /// <summary>The nodes among a call's signalling and media ends.</summary>
    private static IpAddress[] CallNodes(PolicyContext ctx, CallRecord c)
        => new[] { c.Sip.CallerIp, c.Sip.CalleeIp }.Concat(c.Streams.SelectMany(s => new[] { s.SrcIp, s.DstIp }))
            .Where(ctx.IsNode).Distinct().Order().ToArray();

    /// <summary>"Imagicle node 10.0.0.10 involved" or "no Imagicle node involved (call quality is judged for every call)".</summary>
    public static string NodeText(IReadOnlyList<IpAddress> nodes) => nodes.Count == 0
        ? "no Imagicle node involved (call quality is judged for every call)"
        : $"Imagicle node {string.Join(", ", nodes)} involved";

    /// <summary>A node reaching out through a web proxy: HTTP CONNECT, a peer the profile calls a proxy, or HTTP to a proxy port.</summary>
    public static Finding? ProxyInUse(PolicyContext ctx, FlowRecord f)
    {
        if (!IsProxyFlow(ctx, f)) return null;
        string? target = PolicyContext.HttpConnectTarget(f);
        return FlowFinding(FindingKinds.ProxyInUse, f) with
        {
            Method = target is not null ? "HTTP CONNECT request" : IsProxyPeer(ctx, f) ? "connection to a peer the profile names as proxy" : "HTTP to a proxy port",
            Message = $"node {f.ClientIp} goes through the web proxy {f.ServerIp.WithPort(f.ServerPort)}" + (target is not null ? $" (CONNECT {target})" : "")
                + "; the vendor asks for the proxy settings to be disabled on Imagicle servers (service-to-service traffic may break)",
            WiresharkFilter = Conversation(f) + (target is not null ? " && " + DisplayFilter.StringEquals("http.request.method", "CONNECT") : ""),
        };
    }

    // ------------------------------------------------------------------ the capture itself

    /// <summary>
    /// RTP stream rules: RTCP round trip over 80 ms when a node takes part, and, for every stream, jitter,
    /// loss and MOS past the profile's thresholds. <paramref name="flow"/> is the first UDP flow (by flow_id)
    /// between the stream's two ends, either way round, or null.
    /// </summary>
    public static void OnStream(PolicyContext ctx, RtpStreamRecord s, JoinedFlow? flow, List<Finding> found)
    {
        if (StreamOverLatency(ctx, s, flow) is { } o) found.Add(o);
        if (HighJitter(ctx, s, flow) is { } j) found.Add(j);
        if (PacketLoss(ctx, s, flow) is { } l) found.Add(l);
        if (LowMos(ctx, s, flow) is { } m) found.Add(m);
    }

    /// <summary>True when <see cref="OnStream"/> finds something: only then does the stream need its flow.</summary>
    public static bool StreamHasFinding(PolicyContext ctx, RtpStreamRecord s)
    {
        var th = ctx.Thresholds;
        return (s.RtcpRttMs > 0 && (ctx.IsNode(s.SrcIp) || ctx.IsNode(s.DstIp)) && ctx.Catalogue.DefaultRtt.MediaMs is int media && Math.Max(s.RtcpRttMs, s.RtcpRttMaxMs) > media)
            || s.MaxJitterMs > th.JitterMs
            || Math.Round(s.LostPct, 2) > th.LossPct
            || (s.Mos > 0 && Math.Round(s.Mos, 2) < th.MinMos);
    }

    /// <summary>RTCP LSR/DLSR round trip (RFC 3550 6.4.1) above the catalogue's media budget (defaultRttMs.media, the vendor's 80 ms), on a stream a node takes part in.</summary>
    public static Finding? StreamOverLatency(PolicyContext ctx, RtpStreamRecord s, JoinedFlow? flow)
    {
        if (s.RtcpRttMs <= 0 || !(ctx.IsNode(s.SrcIp) || ctx.IsNode(s.DstIp))) return null;
        double ms = Math.Max(s.RtcpRttMs, s.RtcpRttMaxMs);
        if (ctx.Catalogue.DefaultRtt.MediaMs is not int budget || ms <= budget) return null;
        return StreamFinding(ctx, FindingKinds.OverLatency, s, flow) with
        {
            Measured = Math.Round(ms, 3), Threshold = budget, Unit = "ms",
            Method = "RTCP LSR/DLSR (RFC 3550 6.4.1)",
            Message = $"media {s.SrcIp.WithPort(s.SrcPort)} -> {s.DstIp.WithPort(s.DstPort)}: RTCP round trip up to {ms.ToString("F1", Inv)} ms, above the vendor's {budget} ms for RTP",
            WiresharkFilter = $"rtcp && {DisplayFilter.Address(s.SrcIp)} && {DisplayFilter.Address(s.DstIp)}",
        };
    }

    /// <summary>The call rules: one-way media and over bandwidth.</summary>
    public static void OnCall(PolicyContext ctx, CallRecord c, List<Finding> found)
    {
        if (OneWayMedia(ctx, c) is { } o) found.Add(o);
        if (OverBandwidth(ctx, c) is { } b) found.Add(b);
    }

    // ------------------------------------------------------------------ the capture itself

    /// <summary>
    /// Interface drops from pcapng statistics, ACKs for data the capture never saw (<paramref name="lossy"/>:
    /// the flows with such gaps, summed as they ended), and files that end early.
    /// </summary>
    public static IEnumerable<Finding> CaptureLoss(IReadOnlyList<Capture.CaptureInterface> interfaces, FlowCounterSum lossy, IReadOnlyList<Capture.CaptureReadError> errors)
    {
        foreach (var i in interfaces)
        {
            ulong dropped = (i.InterfaceDropped ?? 0) + (i.OsDropped ?? 0);
            if (dropped == 0) continue;
            yield return new Finding
            {
                Kind = FindingKinds.CaptureLoss,
                Service = "capture",
                Measured = dropped, Unit = "packets",
                Method = "pcapng interface statistics (isb_ifdrop + isb_osdrop)",
                Rule = $"interface {i.Index} of {Path.GetFileName(i.File)}",
                Message = $"the capture dropped {dropped} packet(s) on interface {i.Index} ({i.Name ?? "unnamed"}) of {Path.GetFileName(i.File)}: missing flows and losses may be the capture's, not the network's",
                WiresharkFilter = $"frame.interface_id=={i.Index}",
            };
        }
        if (lossy.Flows > 0)
        {
            var worst = lossy.Worst!;
            yield return new Finding
            {
                Kind = FindingKinds.CaptureLoss,
                Service = "capture",
                FirstSeenNs = lossy.FirstSeenNs,
                Count = (int)Math.Min(int.MaxValue, lossy.Flows),
                Measured = lossy.Total, Unit = "segments",
                Method = "TCP ACK beyond the data seen from the other side (ACKed segment that wasn't captured)",
                Message = $"{lossy.Total} TCP gap(s) in {lossy.Flows} connection(s) were acknowledged by the receiver, so the data crossed the network but not the capture point (SPAN or capture overload); most in flow {worst.FlowId} ({Name(worst)})",
                WiresharkFilter = "tcp.analysis.ack_lost_segment",
                FlowIds = lossy.FlowIds,
            };
        }
        foreach (var e in errors)
        {
            yield return new Finding
            {
                Kind = FindingKinds.CaptureLoss,
                Service = "capture",
                Unit = "bytes", Measured = e.ByteOffset,
                Method = "capture file structure",
                Rule = Path.GetFileName(e.File),
                Message = $"{Path.GetFileName(e.File)} ends early at byte offset {e.ByteOffset} ({e.Message}); packets after it are not in the audit",
            };
        }
    }

    /// <summary>IPv4 packets seen twice (same id, header checksum and length, within 5 ms in the same direction): a SPAN copying both ingress and egress.</summary>
    public static IEnumerable<Finding> DuplicatePackets(FlowCounterSum dup, long ipPackets)
    {
        if (dup.Flows == 0) yield break;
        long copies = dup.Total;
        double pct = 100.0 * copies / Math.Max(1, ipPackets);
        var worst = dup.Worst!;
        yield return new Finding
        {
            Kind = FindingKinds.DuplicatePackets,
            Service = "capture",
            FirstSeenNs = dup.FirstSeenNs,
            Count = (int)Math.Min(int.MaxValue, dup.Flows),
            Measured = copies, Unit = "packets",
            Method = "identical IPv4 id, header checksum and length in the same direction within 5 ms",
            Message = $"{copies} packet(s) ({pct.ToString("F1", Inv)} % of IP packets) in {dup.Flows} flow(s) were captured twice: the SPAN session copies both directions of a port or several ports; packet and byte counts are inflated, not the network's traffic; most in flow {worst.FlowId} ({Name(worst)})",
            WiresharkFilter = Conversation(worst),
            FlowIds = dup.FlowIds,
        };
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// A blocked or refused flow is a finding when a node asked (it is the client), or when a peer reached a
    /// port the node should serve (a catalogue row): a refused probe of a closed port is the node doing its job.
    /// </summary>
    private static bool Accountable(PolicyContext ctx, FlowRecord f)
        => ctx.IsNode(f.ClientIp) || (ctx.IsNode(f.ServerIp) && f.MatchedRule.Length > 0);

    private static bool IsProxyFlow(PolicyContext ctx, FlowRecord f)
    {
        if (!ctx.IsNode(f.ClientIp) || ctx.IsNode(f.ServerIp) || f.Transport != IpProtocol.Tcp) return false;
        if (PolicyContext.HttpConnectTarget(f) is not null) return true;
        if (IsProxyPeer(ctx, f)) return f.TcpState is TcpHandshakeState.Established or TcpHandshakeState.Midstream;
        return PolicyContext.IsHttp(f) && ctx.Catalogue.ProxyPorts.Contains(f.ServerPort);
    }

    /// <summary>The server is a peer of the catalogue's proxy role (`proxy.peerRole`) in the profile.</summary>
    private static bool IsProxyPeer(PolicyContext ctx, FlowRecord f)
        => ctx.Catalogue.ProxyRole is { } role && ctx.Profile?.IsPeer(role, f.ServerIp) == true;

    /// <summary>The row media findings cite when the stream's flow matched none (catalogue `mediaRule`).</summary>
    private static string MediaRule(PolicyContext ctx) => ctx.Catalogue.MediaRule ?? "";

    public static bool CallTouchesNode(PolicyContext ctx, CallRecord c)
        => ctx.IsNode(c.Sip.CallerIp) || ctx.IsNode(c.Sip.CalleeIp) || c.Streams.Any(s => ctx.IsNode(s.SrcIp) || ctx.IsNode(s.DstIp));

    private static Finding FlowFinding(string kind, FlowRecord f) => new()
    {
        Kind = kind,
        Service = f.Service,
        Applications = f.Applications,
        ClientIp = f.ClientIp,
        ClientPort = f.ClientPort,
        ServerIp = f.ServerIp,
        ServerPort = f.ServerPort,
        Transport = TransportName(f.Transport),
        FirstSeenNs = f.FirstSeenNs,
        Rule = f.MatchedRule,
        Message = "",
        FlowIds = [f.FlowId],
        Subjects = [f],
    };

    private static Finding SipFinding(string kind, SipTransactionStat t, JoinedFlow? flow) => new()
    {
        Kind = kind,
        Service = flow?.Service ?? "sip",
        Applications = flow?.Applications ?? "",
        ClientIp = t.RequesterIp,
        ClientPort = t.RequesterPort,
        ServerIp = t.ResponderIp,
        ServerPort = t.ResponderPort,
        Transport = t.Transport == SipTransport.Udp ? "udp" : "tcp",
        FirstSeenNs = t.RequestNs,
        Rule = flow?.MatchedRule ?? "",
        Message = "",
        WiresharkFilter = DisplayFilter.CallId(t.CallId) + $" && sip.CSeq.seq=={t.CSeq}",
        FlowIds = flow is null ? [] : [flow.FlowId],
        Subjects = [t],
    };

    private static Finding CallFinding(PolicyContext ctx, string kind, CallRecord c) => new()
    {
        Kind = kind,
        Service = c.Service,
        Applications = c.Applications,
        ClientIp = c.Sip.CallerIp,
        ClientPort = c.Sip.CallerPort,
        ServerIp = c.Sip.CalleeIp,
        ServerPort = c.Sip.CalleePort,
        Transport = c.Sip.Transport == SipTransport.Udp ? "udp" : "tcp",
        FirstSeenNs = c.Sip.StartNs,
        Rule = MediaRule(ctx),
        Message = "",
        Subjects = [c],
    };

    private static Finding StreamFinding(PolicyContext ctx, string kind, RtpStreamRecord s, JoinedFlow? flow)
    {
        bool node = ctx.IsNode(s.SrcIp) || ctx.IsNode(s.DstIp);
        return StreamFinding(kind, s) with
        {
            Service = flow?.Service ?? "rtp",
            // The vendor's media row and its applications only when a node takes part: a call between a
            // gateway and a phone is no row of the table and serves no Imagicle application.
            Applications = node ? flow?.Applications ?? "" : "",
            Rule = !node ? "" : flow?.MatchedRule is { Length: > 0 } r ? r : MediaRule(ctx),
            FlowIds = flow is null ? [] : [flow.FlowId],
        };
    }

    private static Finding StreamFinding(string kind, RtpStreamRecord s) => new()
    {
        Kind = kind,
        Service = "rtp",
        ClientIp = s.SrcIp,
        ClientPort = s.SrcPort,
        ServerIp = s.DstIp,
        ServerPort = s.DstPort,
        Transport = "udp",
        FirstSeenNs = s.FirstSeenNs,
        Rule = "",
        Message = "",
        WiresharkFilter = DisplayFilter.Ssrc(s.Ssrc),
        Subjects = [s],
    };

    private static string Name(FlowRecord f)
        => $"{TransportName(f.Transport)} {f.ClientIp.WithPort(f.ClientPort)} -> {f.ServerIp.WithPort(f.ServerPort)} ({f.Service})";

    private static string StateText(FlowRecord f) => f.Transport != IpProtocol.Tcp
        ? $"{f.PacketsC2S + f.PacketsS2C} packets"
        : f.TcpState switch
        {
            TcpHandshakeState.Established => $"the connection was accepted ({f.PacketsC2S + f.PacketsS2C} packets)",
            TcpHandshakeState.Refused => "the connection was refused",
            TcpHandshakeState.Unanswered => "the SYN was not answered",
            _ => "connection already open when the capture started",
        };

    private static string Seconds(long ns) => (ns / 1e9).ToString("F1", Inv) + " s";

    /// <summary>Display filter for a flow's conversation: both addresses and the server port.</summary>
    public static string Conversation(FlowRecord f) => DisplayFilter.Conversation(f);

    private static string MissingFilter(PolicyContext ctx, Requirement q)
    {
        var ports = q.Rules.SelectMany(r => r.Bindings).Where(b => !b.PayloadOnly)
            .SelectMany(b => (b.RemotePorts.IsSpecific && !b.ImagiclePorts.IsSpecific ? b.RemotePorts : b.ImagiclePorts).Ranges
                .Select(r => (b.Transport == Catalogue.CatalogueTransport.Udp ? "udp" : "tcp", r)))
            .Distinct()
            .Select(x => x.r.First == x.r.Last ? $"{x.Item1}.port=={x.r.First}" : $"({x.Item1}.port>={x.r.First} && {x.Item1}.port<={x.r.Last})")
            .ToList();
        string portPart = ports.Count == 0 ? (q.NeedsCalls ? "(rtp || t38)" : "") : "(" + string.Join(" || ", ports) + ")";
        var hosts = q.Peers.Select(DisplayFilter.Address).ToList();
        string hostPart = hosts.Count == 0 ? "" : "(" + string.Join(" || ", hosts) + ")";
        return string.Join(" && ", new[] { portPart, hostPart }.Where(s => s.Length > 0));
    }

    public static string TransportName(IpProtocol p) => p switch
    {
        IpProtocol.Tcp => "tcp",
        IpProtocol.Udp => "udp",
        IpProtocol.Icmp => "icmp",
        IpProtocol.Icmpv6 => "icmpv6",
        _ => ((byte)p).ToString(Inv),
    };
}
