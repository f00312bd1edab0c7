namespace TrafficAudit.Decode;

/// <summary>IP protocol numbers (IANA), as carried in the IPv4 protocol / IPv6 next-header field.</summary>
public enum IpProtocol : byte
{
    HopByHop = 0,
    Icmp = 1,
    Igmp = 2,
    IpInIp = 4,
    Tcp = 6,
    Udp = 17,
    Ipv6 = 41,
    Ipv6Route = 43,
    Ipv6Fragment = 44,
    Gre = 47,
    Esp = 50,
    Ah = 51,
    Icmpv6 = 58,
    Ipv6NoNext = 59,
    Ipv6Options = 60,
    Sctp = 132,
}

/// <summary>TCP header flag bits (byte 13 of the header).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}

/// <summary>What the decoder made of a frame.</summary>
public enum DecodeStatus : byte
{
    /// <summary>An IP packet (with transport fields when TCP/UDP/ICMP) was decoded.</summary>
    Ok,
    /// <summary>A valid frame that carries no IP (ARP, STP, IPX, LLC...): counted, not a flow.</summary>
    NotIp,
    /// <summary>An IP fragment was stored; the datagram is not complete yet.</summary>
    FragmentPending,
    /// <summary>Malformed or truncated; an anomaly counter was incremented.</summary>
    Malformed,
}

/// <summary>
/// The decoded view of one packet: the innermost IP header and its transport header (outer
/// tunnel headers are stripped). Filled in place by the decoder; no allocation.
/// </summary>
public struct DecodedPacket
{
    /// <summary>Innermost 802.1Q / 802.1ad VLAN id, 0 when untagged.</summary>
    public ushort Vlan;
    /// <summary>Number of VLAN tags seen (stacked Q-in-Q counts each).</summary>
    public byte VlanDepth;
    /// <summary>Tunnel layers stripped (IP-in-IP, GRE, ERSPAN) before the innermost IP header.</summary>
    public byte TunnelDepth;

    /// <summary>4 or 6.</summary>
    public byte IpVersion;
    public IpAddress Src;
    public IpAddress Dst;
    /// <summary>Transport protocol of the innermost IP packet (after IPv6 extension headers).</summary>
    public IpProtocol Protocol;
    public byte Ttl;
    /// <summary>IPv4 identification and header checksum of the innermost header (0 for IPv6): with the length they tell a SPAN copy of a packet from a new packet.</summary>
    public ushort IpId;
    public ushort IpChecksum;
    /// <summary>Bytes at the IP layer: IP header(s) + payload, from the IP length field (reassembled size for fragments).</summary>
    public int IpLength;
    /// <summary>True when the datagram was rebuilt from IP fragments.</summary>
    public bool Reassembled;

    public ushort SrcPort;
    public ushort DstPort;
    public TcpFlags TcpFlags;
    public uint TcpSeq;
    public uint TcpAck;
    public ushort TcpWindow;
    /// <summary>TCP data bytes on the wire (from the IP length), which may exceed <see cref="PayloadLength"/> when the capture cut the frame (snap length).</summary>
    public int TcpDataLength;

    /// <summary>Offset and length of the transport payload (UDP/TCP data) in the span the decoder returned.</summary>
    public int PayloadOffset;
    public int PayloadLength;

    /// <summary>ICMP/ICMPv6 type and code when Protocol is ICMP.</summary>
    public byte IcmpType;
    public byte IcmpCode;
    /// <summary>True for destination-unreachable (and ICMPv6 type 1) errors whose quoted packet was decoded into Inner*.</summary>
    public bool IcmpUnreachable;
    /// <summary>The quoted (refused) packet's addresses, protocol and ports, as the original sender sent them.</summary>
    public IpAddress InnerSrc;
    public IpAddress InnerDst;
    public IpProtocol InnerProtocol;
    public ushort InnerSrcPort;
    public ushort InnerDstPort;

    public readonly bool IsTcp => Protocol == IpProtocol.Tcp;
    public readonly bool IsUdp => Protocol == IpProtocol.Udp;
    public readonly bool HasPorts => Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp;
}
