using TrafficAudit.Synth.Building;
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
        return b.Build(Generator(seed), CapturePoint);
    }

    protected abstract void Play(SiteFlows s);
}

/// <summary>The full Imagicle site: every service of the vendor table in use, plus the problems an audit must find.</summary>
public sealed class SiteScenario : SiteScenarioBase
{
    public override string Name => "site";
    public override string Description => "Imagicle HA site, ~150 s: SIP/RTP/T.38, CTI, TAPI, AXL, LDAP, mail, HA, cloud, and the problem flows";
    protected override string Generator(int seed) => $"trafficaudit-synth site --seed {seed}";

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

/// <summary>A healthy miniature: one AQ call, TAPI, LDAP and a console client; no finding expected.</summary>
public sealed class CleanSiteScenario : SiteScenarioBase
{
    public override string Name => "clean-site";
    public override string Description => "one clean AQ call, TAPI, LDAP, a CTI console: nothing to report";

    protected override void Play(SiteFlows s)
    {
        s.Options5062(S(0.2), fromCucm: true);
        s.Tapi(S(0.5), S(30));
        s.Ldap(S(1));
        s.CtiPlain(S(1.5), S(30));
        s.AqCall(S(2), s.Net.Phone1, RtpSender.PayloadPcmu, 4, note: "PCMU; clean call");
    }
}

/// <summary>A blocked port: IMAPS SYN dropped, plus the DNS/HTTPS flows around it.</summary>
public sealed class BlockedScenario : SiteScenarioBase
{
    public override string Name => "blocked";
    public override string Description => "IMAPS from the node silently dropped (SYN + 2 retransmissions)";

    protected override void Play(SiteFlows s)
    {
        s.CloudLicensing(S(0.1));
        s.ImapsUnanswered(S(1));
    }
}

/// <summary>A closed port: POP3S answered by RST, and SIP presence answered by ICMP port unreachable.</summary>
public sealed class RefusedScenario : SiteScenarioBase
{
    public override string Name => "refused";
    public override string Description => "POP3S refused by RST; SIP 5064 refused by ICMP port unreachable";

    protected override void Play(SiteFlows s)
    {
        s.Pop3sRefused(S(0.1));
        s.PresenceUnreachable(S(0.5), tries: 2);
    }
}
