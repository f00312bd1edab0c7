using TrafficAudit.Synth.Building;

namespace TrafficAudit.Synth.Scenarios;

/// <summary>The addresses of the Imagicle site; every scenario uses the same plan.</summary>
public sealed class SiteTopology
{
    /// <summary>The phones' voice VLAN: frames to and from 10.1.0.0/24 carry this 802.1Q tag at the capture point.</summary>
    public const ushort VoiceVlan = 100;

    public SiteTopology(CaptureBuilder b)
    {
        Node1 = b.AddHost(new Host("10.0.0.10", "imagicle-node (HA primary)", isNode: true));
        Node2 = b.AddHost(new Host("10.0.0.11", "imagicle-node (HA secondary)", isNode: true));
        Cucm = b.AddHost(new Host("10.0.1.5", "cucm-publisher"));
        CucmSub = b.AddHost(new Host("10.0.1.6", "cucm-subscriber"));
        Gateway = b.AddHost(new Host("10.0.1.20", "voice-gateway (fax media)"));
        Ldap = b.AddHost(new Host("10.0.2.5", "ldap-ad"));
        Mail = b.AddHost(new Host("10.0.2.6", "mail-server"));
        Proxy = b.AddHost(new Host("10.0.2.8", "web-proxy"));
        Dns = b.AddHost(new Host("10.0.2.53", "dns-ntp-resolver"));
        Phone1 = b.AddHost(new Host("10.1.0.21", "ip-phone"));
        Phone2 = b.AddHost(new Host("10.1.0.22", "ip-phone"));
        Phone3 = b.AddHost(new Host("10.1.0.23", "ip-phone"));
        Phone4 = b.AddHost(new Host("10.1.0.30", "ip-phone (recorded)"));
        Console1 = b.AddHost(new Host("10.2.0.31", "ucx-console-client"));
        Console2 = b.AddHost(new Host("10.2.0.32", "ucx-console-client"));
        Admin = b.AddHost(new Host("10.50.0.20", "admin-workstation"));
        Licensing = b.AddHost(new Host("203.0.113.10", "imagicle-cloud (api.imagicle.com)"));
        Stranger = b.AddHost(new Host("10.9.9.9", "unexpected-host"));
    }

    public Host Node1 { get; }
    public Host Node2 { get; }
    public Host Cucm { get; }
    public Host CucmSub { get; }
    public Host Gateway { get; }
    public Host Ldap { get; }
    public Host Mail { get; }
    public Host Proxy { get; }
    public Host Dns { get; }
    public Host Phone1 { get; }
    public Host Phone2 { get; }
    public Host Phone3 { get; }
    public Host Phone4 { get; }
    public Host Console1 { get; }
    public Host Console2 { get; }
    public Host Admin { get; }
    public Host Licensing { get; }
    public Host Stranger { get; }

    /// <summary>802.1Q tag of a flow between <paramref name="a"/> and <paramref name="b"/>: the voice VLAN when a phone is involved.</summary>
    public ushort VlanFor(Host a, Host b) => a.Subnet == Phone1.Subnet || b.Subnet == Phone1.Subnet ? VoiceVlan : (ushort)0;
}
