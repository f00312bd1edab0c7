using System.Runtime.CompilerServices;
using TrafficAudit.Decode;

namespace TrafficAudit.Flows;

/// <summary>
/// Bidirectional conversation key: the same for A→B and B→A. Endpoints are ordered so that
/// (A, PortA) &lt;= (B, PortB); <see cref="Create"/> tells which side sent the packet.
/// <para>
/// Five 64-bit words: the two addresses, then the ports, protocol and VLAN packed into one word, so
/// that equality is five word compares without a branch between them and the hash mixes five words
/// (the flow table computes it once per packet, <see cref="Hash"/>).
/// </para>
/// </summary>
public readonly struct FlowKey : IEquatable<FlowKey>
{
    public readonly IpAddress A;
    public readonly IpAddress B;
    /// <summary>PortA (bits 0-15), PortB (16-31), protocol (32-39), VLAN (40-55).</summary>
    private readonly ulong _tail;

    public ushort PortA => (ushort)_tail;
    public ushort PortB => (ushort)(_tail >> 16);
    public IpProtocol Protocol => (IpProtocol)(byte)(_tail >> 32);
    public ushort Vlan => (ushort)(_tail >> 40);

    private FlowKey(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, ushort vlan)
    {
        A = a; B = b;
        _tail = portA | (ulong)portB << 16 | (ulong)(byte)protocol << 32 | (ulong)vlan << 40;
    }

    /// <summary>Builds the key of a packet from src to dst; <paramref name="srcIsA"/> says whether the sender is endpoint A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey Create(IpAddress src, ushort srcPort, IpAddress dst, ushort dstPort, IpProtocol protocol, ushort vlan, out bool srcIsA)
    {
        srcIsA = src.Hi != dst.Hi ? src.Hi < dst.Hi : src.Lo != dst.Lo ? src.Lo < dst.Lo : srcPort <= dstPort;
        return srcIsA
            ? new FlowKey(src, srcPort, dst, dstPort, protocol, vlan)
            : new FlowKey(dst, dstPort, src, srcPort, protocol, vlan);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(in FlowKey o) =>
        ((A.Lo ^ o.A.Lo) | (B.Lo ^ o.B.Lo) | (_tail ^ o._tail) | (A.Hi ^ o.A.Hi) | (B.Hi ^ o.B.Hi)) == 0;

    bool IEquatable<FlowKey>.Equals(FlowKey o) => Equals(in o);

    public override bool Equals(object? obj) => obj is FlowKey k && Equals(in k);

    /// <summary>
    /// The key's 32-bit hash (also <see cref="GetHashCode"/>): the five words folded in by three
    /// multiplications, then the product's high half folded onto its low half (a table indexes by the low bits). Symmetric by construction because the key is ordered.
    /// </summary>
    public int Hash
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            ulong h = (A.Lo * 0x9E3779B97F4A7C15UL) ^ B.Lo;
            h = ((h ^ A.Hi) * 0xC2B2AE3D27D4EB4FUL) ^ B.Hi;
            h = (h ^ _tail) * 0x9E3779B97F4A7C15UL;
            return (int)(h ^ (h >> 32));
        }
    }

    public override int GetHashCode() => Hash;

    public override string ToString() => $"{Protocol} {A}:{PortA} <-> {B}:{PortB} vlan {Vlan}";
}
