using TrafficAudit.Decode;

namespace TrafficAudit.Flows;

/// <summary>
/// Bidirectional conversation key: the same for A→B and B→A. Endpoints are ordered so that
/// (A, PortA) &lt;= (B, PortB); <see cref="Create"/> tells which side sent the packet.
/// </summary>
public readonly struct FlowKey : IEquatable<FlowKey>
{
    public readonly IpAddress A;
    public readonly IpAddress B;
    public readonly ushort PortA;
    public readonly ushort PortB;
    public readonly IpProtocol Protocol;
    public readonly ushort Vlan;

    private FlowKey(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, ushort vlan)
    {
        A = a; PortA = portA; B = b; PortB = portB; Protocol = protocol; Vlan = vlan;
    }

    /// <summary>Builds the key of a packet from src to dst; <paramref name="srcIsA"/> says whether the sender is endpoint A.</summary>
    public static FlowKey Create(IpAddress src, ushort srcPort, IpAddress dst, ushort dstPort, IpProtocol protocol, ushort vlan, out bool srcIsA)
    {
        int c = src.CompareTo(dst);
        srcIsA = c < 0 || (c == 0 && srcPort <= dstPort);
        return srcIsA
            ? new FlowKey(src, srcPort, dst, dstPort, protocol, vlan)
            : new FlowKey(dst, dstPort, src, srcPort, protocol, vlan);
    }

    public bool Equals(FlowKey o) =>
        A.Hi == o.A.Hi && A.Lo == o.A.Lo && B.Hi == o.B.Hi && B.Lo == o.B.Lo &&
        PortA == o.PortA && PortB == o.PortB && Protocol == o.Protocol && Vlan == o.Vlan;

    public override bool Equals(object? obj) => obj is FlowKey k && Equals(k);

    public override int GetHashCode()
    {
        // Cheap mix of the fields; symmetric by construction because the key is ordered.
        ulong h = A.Lo * 0x9E3779B97F4A7C15UL ^ B.Lo * 0xC2B2AE3D27D4EB4FUL ^ A.Hi ^ (B.Hi << 1);
        h ^= ((ulong)PortA << 32) | ((ulong)PortB << 16) | ((ulong)(byte)Protocol << 8) ^ ((ulong)Vlan << 48);
        h ^= h >> 29;
        return (int)h ^ (int)(h >> 32);
    }

    public override string ToString() => $"{Protocol} {A}:{PortA} <-> {B}:{PortB} vlan {Vlan}";
}
