using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Synth.Building;

/// <summary>An address in a scenario. MACs are derived from the address (locally administered 02:00:a.b.c.d).</summary>
public sealed class Host
{
    public Host(string ip, string role, bool isNode = false)
    {
        Address = ip;
        Ip = Frames.ParseIPv4(ip);
        Role = role;
        IsNode = isNode;
        Mac = [0x02, 0x00, (byte)(Ip >> 24), (byte)(Ip >> 16), (byte)(Ip >> 8), (byte)Ip];
    }

    public string Address { get; }
    public uint Ip { get; }
    public string Role { get; }
    /// <summary>An Imagicle node: decides a flow's IN/OUT/NODE/NONE direction.</summary>
    public bool IsNode { get; }
    public byte[] Mac { get; }

    /// <summary>The /24 the host sits in (the scenario's subnets are all /24).</summary>
    public uint Subnet => Ip & 0xFFFFFF00;

    public override string ToString() => Address;
}
