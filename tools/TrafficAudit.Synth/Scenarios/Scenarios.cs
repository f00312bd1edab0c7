using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Protocols;
using static TrafficAudit.Synth.Scenarios.SiteFlows;

namespace TrafficAudit.Synth.Scenarios;

/// <summary>Base for scenarios over the Imagicle site plan: new builder, play flows, build.</summary>
public abstract class SiteScenarioBase : IScenario
{
    public abstract string Name { get; }
    public abstract string Description { get; }

    /// <summary>The command line that reproduces the capture, recorded in the truth file.</summary>
    protected virtual string Generator(int seed) => $"trafficaudit-synth scenario {Name} --seed {seed}";

    public SyntheticCapture Build(int seed)
    {
        var b = new CaptureBuilder(seed, localSubnet: 0x0A000000);
        Play(new SiteFlows(b));
        var capture = b.Build(Generator(seed), CapturePoint);
        capture.ProfileJson = Profile.ToJson();
        Annotate(capture.Truth);
        return capture;
    }

    protected abstract void Play(SiteFlows s);

    /// <summary>Adds what the scenario plants beyond findings (exit code, verdict words, hosts that are not nodes).</summary>
    protected virtual void Annotate(Model.GroundTruth truth) { }

    /// <summary>The deployment the capture was made for: audited with it, the capture yields exactly its expected findings.</summary>
    protected virtual SiteProfile Profile => new(["10.0.0.10"], [], []);
}

/// <summary>A deployment profile of the site plan, written as NAME.profile.json beside the capture.</summary>
public sealed record SiteProfile(string[] Nodes, string[] Applications, (string Role, string[] Addresses)[] Peers,
    string[]? Allow = null, string? Thresholds = null)
{
    public string ToJson()
    {
        static string List(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(i => $"\"{i}\"")) + "]";
        var sb = new System.Text.StringBuilder();
        sb.Append("{\n");
        sb.Append($"  \"nodes\": {List(Nodes)},\n");
        sb.Append($"  \"applications\": {List(Applications)},\n");
        sb.Append("  \"peers\": {");
        sb.Append(Peers.Length == 0 ? "},\n" : "\n" + string.Join(",\n", Peers.Select(p => $"    \"{p.Role}\": {List(p.Addresses)}")) + "\n  },\n");
        sb.Append("  \"allow\": [");
        sb.Append(Allow is null or [] ? "]" : "\n" + string.Join(",\n", Allow.Select(a => "    " + a)) + "\n  ]");
        sb.Append(Thresholds is null ? "\n" : $",\n  \"thresholds\": {Thresholds}\n");
        sb.Append("}\n");
        return sb.ToString();
    }
}

/// <summary>The full Imagicle site: every service of the vendor table in use, plus the problems an audit must find.</summary>
public sealed class SiteScenario : SiteScenarioBase
{
    public override string Name => "site";
    public override string Description => "Imagicle HA site, ~150 s: SIP/RTP/T.38, CTI, TAPI, AXL, LDAP, mail, HA, cloud, and the problem flows";
    protected override string Generator(int seed) => $"trafficaudit-synth site --seed {seed}";

    protected override SiteProfile Profile => new(
        ["10.0.0.10", "10.0.0.11"],
        ["advanced-queuing", "attendant-console", "call-recording", "digital-fax"],
        [("cucm", ["10.0.1.5", "10.0.1.6"]), ("mail", ["10.0.2.6"]), ("ldap", ["10.0.2.5"]), ("consoles", ["10.2.0.0/24"])],
        ["{\"transport\": \"tcp\", \"port\": 3389, \"peer\": \"10.50.0.0/24\", \"note\": \"admin RDP\"}"],
        "{\"call_kbps\": 80, \"jitter_ms\": 30, \"loss_pct\": 1}");

    protected override void Play(SiteFlows s)
    {
        var n = s.Net;
        long end = S(148);
        s.Ntp(S(0.2), polls: 3, intervalSeconds: 64);
        s.Options5062(S(0.5), fromCucm: true);
        s.TapiMidstream(S(0.9), S(60));
        s.HaCluster(S(2), end);
        s.CloudLicensing(S(3));
        s.Tapi(S(5), end);
        s.Axl(S(6));
        s.Ldap(S(8));
        s.CtiPlain(S(10), end);
        s.CtiTls(S(10.5), end);
        s.AqCall(S(12), n.Phone1, RtpSender.PayloadPcmu, 12, jitterUs: 8_000, rtcp: true,
            note: "PCMU; phone->node stream with up to 8 ms added arrival jitter; RTCP SR on rtp+1");
        s.PhoneXmlService(S(15), n.Phone2);
        s.PhoneXmlService(S(16.2), n.Phone3);
        s.Rdp(S(20), 25);
        s.Options5062(S(30), fromCucm: false);
        s.AqCall(S(31), n.Phone2, RtpSender.PayloadPcma, 10, lose: [100, 101, 250, 333, 420],
            note: "PCMA; 5 phone->node packets lost (sequence gaps)");
        s.FaxCall(S(36), audioSeconds: 3, t38Packets: 16);
        s.Smtp(S(45));
        s.Imap(S(50));
        s.ImapsUnanswered(S(52));
        s.Pop3sRefused(S(58));
        s.Options5062(S(60), fromCucm: true);
        s.PresenceUnreachable(S(61), tries: 2);
        s.AqCall(S(66), n.Phone3, RtpSender.PayloadPcmu, 8, note: "PCMU; clean call");
        s.RecordingCall(S(80), n.Phone4, 10);
        s.Options5062(S(90), fromCucm: false);
        s.Telnet(S(95));
        s.ProxyConnect(S(102));
        s.DnsLookup(S(110), n.Admin, "imagicle.corp.local", n.Node1.Ip, "admin workstation lookup (no Imagicle node involved)");
        s.Options5062(S(120), fromCucm: true);
    }
}

/// <summary>A healthy miniature: every flow its profile expects, all answered in time; no finding expected.</summary>
public sealed class CleanSiteScenario : SiteScenarioBase
{
    public override string Name => "clean-site";
    public override string Description => "one clean AQ call, presence, TAPI, AXL, LDAP, a CTI console: nothing to report";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing", "attendant-console"],
        [("cucm", ["10.0.1.5"]), ("ldap", ["10.0.2.5"]), ("consoles", ["10.2.0.31"])]);

    protected override void Play(SiteFlows s)
    {
        s.Options5062(S(0.2), fromCucm: true);
        s.Tapi(S(0.5), S(30));
        s.Ldap(S(1));
        s.CtiPlain(S(1.5), S(30));
        s.AqCall(S(2), s.Net.Phone1, RtpSender.PayloadPcmu, 4, note: "PCMU; clean call");
        s.Axl(S(8), slow: false);
        s.PresenceSubscribe(S(9), answerAfterUs: 1_200);
    }
}

/// <summary>A blocked port: IMAPS SYN dropped, plus the DNS/HTTPS flows around it.</summary>
public sealed class BlockedScenario : SiteScenarioBase
{
    public override string Name => "blocked";
    public override string Description => "IMAPS from the node silently dropped (SYN + 2 retransmissions); a DNS query without reply";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["digital-fax"], []);

    protected override void Play(SiteFlows s)
    {
        s.CloudLicensing(S(0.1));
        s.ImapsUnanswered(S(1));
        s.DnsUnanswered(S(5), "mail.corp.local");
    }
}

/// <summary>A closed port: POP3S answered by RST, and SIP presence answered by ICMP port unreachable.</summary>
public sealed class RefusedScenario : SiteScenarioBase
{
    public override string Name => "refused";
    public override string Description => "POP3S refused by RST; SIP 5064 refused by ICMP port unreachable";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["digital-fax", "advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.Pop3sRefused(S(0.1));
        s.PresenceUnreachable(S(0.5), tries: 2);
    }
}

/// <summary>A telnet session accepted by the node (unexpected) and an admin's RDP the profile allows (not reported).</summary>
public sealed class UnexpectedFlowScenario : SiteScenarioBase
{
    public override string Name => "unexpected-flow";
    public override string Description => "telnet from an unknown host accepted by the node; RDP from the admin network, allowed by the profile";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], [],
        ["{\"transport\": \"tcp\", \"port\": 3389, \"peer\": \"10.50.0.0/24\", \"note\": \"admin RDP\"}"]);

    protected override void Play(SiteFlows s)
    {
        s.Rdp(S(0.1), 3);
        s.Telnet(S(4));
    }
}

/// <summary>The profile names a CUCM, so AXL and TAPI are expected; only TAPI shows up.</summary>
public sealed class MissingFlowScenario : SiteScenarioBase
{
    public override string Name => "missing-flow";
    public override string Description => "TAPI to CUCM but no AXL, which every installation needs";

    protected override SiteProfile Profile => new(["10.0.0.10"], [], [("cucm", ["10.0.1.5"])]);

    protected override void Play(SiteFlows s)
    {
        s.Tapi(S(0.1), S(20));
        s.Expect("missing_flow", s.Net.Cucm, null, "AXL to CUCM never seen");
    }
}

/// <summary>AXL over a slow WAN (TCP handshake) and a SIP SUBSCRIBE the CUCM answers after 120 ms (node-sent request).</summary>
public sealed class OverLatencyScenario : SiteScenarioBase
{
    public override string Name => "over-latency";
    public override string Description => "AXL handshake RTT 162 ms (> 150); SIP SUBSCRIBE from the node answered after 120 ms (> 80)";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.Axl(S(0.1));
        s.PresenceSubscribe(S(4), answerAfterUs: 120_000);
        s.Expect("over_latency", s.Net.Cucm, 5064, "SUBSCRIBE answered after 120 ms");
    }
}

/// <summary>
/// An AQ call whose RTCP shows a 120 ms round trip between the capture point and the phone (LSR/DLSR),
/// over the vendor's 80 ms for voice: over_latency measured by RTCP.
/// </summary>
public sealed class RtcpOverLatencyScenario : SiteScenarioBase
{
    public override string Name => "rtcp-over-latency";
    public override string Description => "AQ call whose RTCP reports (LSR/DLSR) give a 120 ms round trip to the phone (> 80)";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcmu, 11, rtcp: true, note: "PCMU; RTCP round trip 120 ms", rtcpRoundTripMs: 120);
        s.Expect("over_latency", s.Net.Phone1, null, "RTCP LSR/DLSR round trip 120 ms");
    }
}

/// <summary>CUCM's OPTIONS keepalive reaches the node, which takes 150 ms to answer: the node's processing, not the network.</summary>
public sealed class SlowResponseScenario : SiteScenarioBase
{
    public override string Name => "slow-response";
    public override string Description => "the node answers CUCM's OPTIONS after 150 ms (its own processing time)";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.Options5062WithDelay(S(0.1), fromCucm: true, answerAfterUs: 150_000);
        s.Options5062WithDelay(S(30), fromCucm: true, answerAfterUs: 900);
        s.Expect("slow_response", s.Net.Node1, 5062, "OPTIONS answered by the node after 150 ms");
    }
}

/// <summary>An AQ call whose SDP says sendrecv but the phone's RTP never arrives.</summary>
public sealed class OneWayMediaScenario : SiteScenarioBase
{
    public override string Name => "one-way-media";
    public override string Description => "AQ call with RTP from the node only; the phone's media never arrives";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcmu, 5, note: "PCMU; one-way", phoneSilent: true);
        s.Expect("one_way_media", s.Net.Node1, 5062, "no RTP from the phone");
    }
}

/// <summary>A G.711 call (80 kbit/s per direction) against a profile that budgets 64 kbit/s per call (a G.729 site's figure with margin).</summary>
public sealed class OverBandwidthScenario : SiteScenarioBase
{
    public override string Name => "over-bandwidth";
    public override string Description => "G.711 call (80 kbit/s per direction) on a site whose profile budgets 64 kbit/s per call";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], [], Thresholds: "{\"call_kbps\": 64}");

    protected override void Play(SiteFlows s)
    {
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcma, 6, note: "PCMA: 80 kbit/s per direction at the IP layer");
        s.Expect("over_bandwidth", s.Net.Node1, 5062, "80 kbit/s > 64 kbit/s");
    }
}

/// <summary>An AQ call whose phone-to-node packets arrive up to 150 ms late at random.</summary>
public sealed class HighJitterScenario : SiteScenarioBase
{
    public override string Name => "high-jitter";
    public override string Description => "AQ call with up to 150 ms random arrival delay on the phone's stream";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        var call = s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcmu, 6, jitterUs: 150_000, note: "PCMU; heavy jitter phone->node");
        s.Expect("high_jitter", s.Net.Node1, null, "phone->node jitter far above 30 ms");
    }
}

/// <summary>
/// An AQ call whose phone-to-node path stalls for 230 ms every 2 s: the packets sent during a stall
/// arrive together when it ends (delays 230, 210, ..., 10 ms). Nothing is lost in the network, so the
/// network MOS stays 4.41, but 9 packets per stall come too late for a 50 ms jitter buffer and 2 for a
/// 200 ms one: the jitter-buffer MOS drops.
/// </summary>
public sealed class JitterBufferMosScenario : SiteScenarioBase
{
    /// <summary>Length of each stall, µs.</summary>
    public const long StallUs = 230_000;
    /// <summary>The first stall starts at packet 50, then one every 100 packets (2 s).</summary>
    public const int FirstStall = 50, StallEvery = 100;

    public override string Name => "jitter-buffer-mos";
    public override string Description => "AQ call whose phone->node path stalls 230 ms every 2 s: no loss, but late packets for a jitter buffer";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    /// <summary>Added delay of each of <paramref name="packets"/> packets: packet k of a stall waits until the stall ends.</summary>
    public static long[] StallDelays(int packets)
    {
        var delays = new long[packets];
        for (int start = FirstStall; start < packets; start += StallEvery)
            for (int k = 0; start + k < packets && StallUs - k * RtpSender.PacketIntervalUs > 0; k++)
                delays[start + k] = StallUs - k * RtpSender.PacketIntervalUs;
        return delays;
    }

    protected override void Play(SiteFlows s)
    {
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcma, 20, phoneDelaysUs: StallDelays(20 * 50), note: "PCMA; 230 ms stalls phone->node every 2 s");
    }
}

/// <summary>An AQ call whose RTCP shares the RTP ports (a=rtcp-mux, RFC 5761), as WebRTC and Microsoft Teams media do.</summary>
public sealed class RtcpMuxScenario : SiteScenarioBase
{
    public override string Name => "rtcp-mux";
    public override string Description => "AQ call with RTCP multiplexed on the RTP port pair (RFC 5761): two RTP streams, RTCP reports on them";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s) =>
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcmu, 11, rtcp: true, rtcpMux: true, note: "PCMU; RTCP on the RTP ports");
}

/// <summary>An AQ call that loses 4 % of the phone's packets.</summary>
public sealed class PacketLossScenario : SiteScenarioBase
{
    public override string Name => "packet-loss";
    public override string Description => "AQ call with 20 of 500 phone->node packets lost (4 %)";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcma, 10, lose: Enumerable.Range(0, 20).Select(i => 50 + i * 20).ToArray(), note: "PCMA; 4 % loss");
        s.Expect("packet_loss", s.Net.Node1, null, "4 % of the phone's packets lost");
    }
}

/// <summary>The node reaches the licensing service through a web proxy (HTTP CONNECT on 3128).</summary>
public sealed class ProxyInUseScenario : SiteScenarioBase
{
    public override string Name => "proxy-in-use";
    public override string Description => "HTTP CONNECT api.imagicle.com:443 through a proxy on 3128";

    protected override void Play(SiteFlows s) => s.ProxyConnect(S(0.1));
}

/// <summary>The capture point missed a segment the server acknowledged.</summary>
public sealed class CaptureLossScenario : SiteScenarioBase
{
    public override string Name => "capture-loss";
    public override string Description => "LDAP session whose last request was not captured but was acknowledged by the server";

    protected override void Play(SiteFlows s) => s.Ldap(S(0.1), captureGap: true);
}

/// <summary>A SPAN session that copies both directions: every NTP frame twice.</summary>
public sealed class DuplicatePacketsScenario : SiteScenarioBase
{
    public override string Name => "duplicate-packets";
    public override string Description => "every NTP frame captured twice, 12 µs apart (SPAN of ingress and egress)";

    protected override void Play(SiteFlows s) => s.Ntp(S(0.1), polls: 3, intervalSeconds: 16, spanCopies: true);
}

/// <summary>
/// No Imagicle node anywhere: a voice gateway calls a phone and the phone's media arrives with heavy
/// jitter and 10 % loss. Call quality is judged for every call, so the bad stream is reported (high
/// jitter, packet loss, low MOS, each saying no node took part), and the verdict is "not audited
/// against the vendor's table", never "Clean".
/// </summary>
public sealed class NoNodeBadCallScenario : SiteScenarioBase
{
    public override string Name => "no-node-bad-call";
    public override string Description => "gateway-to-phone call, no Imagicle node: phone->gateway RTP with up to 150 ms jitter and 10 % loss";

    protected override SiteProfile Profile => new([], [], []);

    protected override void Play(SiteFlows s)
    {
        var n = s.Net;
        s.PeerCall(S(0.1), n.Gateway, 5060, n.Phone1, 5060, n.Phone1, RtpSender.PayloadPcma, 10,
            lose: Enumerable.Range(0, 50).Select(i => 20 + i * 9).ToArray(), jitterUs: 150_000, note: "PCMA; no node; phone->gateway jitter and 10 % loss");
        s.Expect("high_jitter", n.Gateway, null, "phone->gateway jitter far above 30 ms, no node involved");
        s.Expect("packet_loss", n.Gateway, null, "50 of 500 phone->gateway packets lost");
        s.Expect("low_mos", n.Gateway, null, "10 % loss rates G.711 below MOS 3.6");
    }

    protected override void Annotate(Model.GroundTruth truth) => truth.ExpectedVerdict = "Not audited against the vendor's table";
}

/// <summary>A capture file with no packet at all (zeek's empty.pcap in synthetic form): exit code 3 in one sentence.</summary>
public sealed class EmptyCaptureScenario : IScenario
{
    public string Name => "empty-capture";
    public string Description => "a pcap file header and no packet: nothing to audit";

    public SyntheticCapture Build(int seed)
    {
        var capture = new CaptureBuilder(seed, localSubnet: 0x0A000000).Build($"trafficaudit-synth scenario {Name} --seed {seed}", SiteFlows.CapturePoint);
        capture.ProfileJson = new SiteProfile(["10.0.0.10"], [], []).ToJson();
        capture.Truth.ExpectedExitCode = 3;
        return capture;
    }
}

/// <summary>
/// Two requirements towards one CUCM over one transport both missing: SIP presence (5064) and Call
/// Recording SIP (5070). Each is its own missing_flow finding naming its rule; they are never merged.
/// </summary>
public sealed class TwoMissingOnePeerScenario : SiteScenarioBase
{
    public override string Name => "two-missing-one-peer";
    public override string Description => "AQ and Call Recording installed; AXL and TAPI to CUCM seen, SIP presence 5064 and recording 5070 never";

    protected override SiteProfile Profile => new(["10.0.0.10"], ["advanced-queuing", "call-recording"], [("cucm", ["10.0.1.5"])]);

    protected override void Play(SiteFlows s)
    {
        s.Tapi(S(0.1), S(20));
        s.Axl(S(0.5), slow: false);
        s.Options5062(S(1), fromCucm: true);
        s.Expect("missing_flow", s.Net.Cucm, null, "SIP presence (sip-5064-presence) never seen");
        s.Expect("missing_flow", s.Net.Cucm, null, "Call Recording SIP (sip-5070-call-recording) never seen");
    }
}

/// <summary>
/// A phone calls a public SIP provider that answers on UDP 5070 (one of Imagicle's ports) with its media
/// from another host, and the provider's BYE is answered after 110 ms. One Imagicle port is not evidence
/// of a node: nothing is detected, so no over_latency is invented, and the verdict says not audited.
/// </summary>
public sealed class SipProvider5070Scenario : SiteScenarioBase
{
    public override string Name => "sip-provider-5070";
    public override string Description => "phone to a public SIP provider on UDP 5070, media from the provider's media server; BYE answered after 110 ms";

    protected override SiteProfile Profile => new([], [], []);

    protected override void Play(SiteFlows s)
    {
        var provider = s.ExtraHost("198.51.100.8", "public SIP provider (signalling)");
        var media = s.ExtraHost("198.51.100.16", "public SIP provider (media server)");
        s.PeerCall(S(0.1), s.Net.Phone2, 49154, provider, 5070, media, RtpSender.PayloadPcmu, 4,
            note: "PCMU; provider answers on 5070, media from another host", calleeHangsUp: true, byeAnswerUs: 110_800);
    }

    protected override void Annotate(Model.GroundTruth truth)
    {
        truth.ExpectedVerdict = "Not audited against the vendor's table";
        truth.NotNodes = ["198.51.100.8"];
    }
}

/// <summary>
/// No node given: the node is detected only from weak evidence (it answers CUCM on the queue port 5062
/// and sends RTP itself: score 2 of 3), and its AXL handshake is over budget. The over_latency that rests
/// on that node is a warning that says the node's evidence is weak, not an error.
/// </summary>
public sealed class WeakNodeEvidenceScenario : SiteScenarioBase
{
    public override string Name => "weak-node-evidence";
    public override string Description => "node detected from the queue port and its own RTP only (weak); its AXL handshake is over budget";

    protected override SiteProfile Profile => new([], ["advanced-queuing"], []);

    protected override void Play(SiteFlows s)
    {
        s.AqCall(S(0.1), s.Net.Phone1, RtpSender.PayloadPcmu, 4, note: "PCMU; clean call answered by the node on 5062");
        s.Axl(S(6)); // plants over_latency 10.0.1.5:8443 (162 ms > 150 ms); from a weakly detected node it is a warning
    }
}
