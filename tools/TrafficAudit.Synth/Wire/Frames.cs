using System.Buffers.Binary;

namespace TrafficAudit.Synth.Wire;

/// <summary>EtherType values as on the wire (bytes 12-13 of an Ethernet II header, e.g. 08 00).</summary>
public enum EtherType : ushort
{
    IPv4 = 0x0800,
    /// <summary>IEEE 802.1Q tag: 81 00 then PCP/DEI/VID (2 bytes) then the inner EtherType.</summary>
    Vlan = 0x8100,
}

/// <summary>TCP flag bits, byte 13 of the TCP header.</summary>
[Flags]
public enum TcpFlag : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
}

/// <summary>
/// Hand-written frame builder: Ethernet II (optionally one 802.1Q tag), IPv4 without options,
/// then TCP, UDP or ICMP, with correct lengths and checksums. Writes into a caller's span and
/// returns the byte count, so the benchmark generator can reuse it for its templates.
/// </summary>
public static class Frames
{
    public const int EthernetHeaderLength = 14;
    public const int VlanTagLength = 4;
    public const int IPv4HeaderLength = 20;
    public const int UdpHeaderLength = 8;
    public const int TcpHeaderLength = 20;
    public const int IcmpHeaderLength = 8;
    public const byte ProtocolIcmp = 1;
    public const byte ProtocolTcp = 6;
    public const byte ProtocolUdp = 17;
    public const byte DefaultTtl = 128;
    /// <summary>802.1p priority 5 (voice) in the top three bits of the tag control field.</summary>
    public const ushort VoicePriority = 5 << 13;

    /// <summary>Writes the Ethernet header (and the VLAN tag when <paramref name="vlan"/> is not 0); returns its length.</summary>
    public static int WriteEthernet(Span<byte> f, ReadOnlySpan<byte> dstMac, ReadOnlySpan<byte> srcMac, ushort vlan, EtherType type)
    {
        dstMac[..6].CopyTo(f);
        srcMac[..6].CopyTo(f[6..]);
        if (vlan == 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], (ushort)type);
            return EthernetHeaderLength;
        }
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], (ushort)EtherType.Vlan);
        BinaryPrimitives.WriteUInt16BigEndian(f[14..], (ushort)(VoicePriority | (vlan & 0x0FFF)));
        BinaryPrimitives.WriteUInt16BigEndian(f[16..], (ushort)type);
        return EthernetHeaderLength + VlanTagLength;
    }

    /// <summary>Writes a 20-byte IPv4 header with its checksum; <paramref name="payloadLength"/> is the transport length.</summary>
    public static void WriteIPv4(Span<byte> ip, uint src, uint dst, byte protocol, ushort id, int payloadLength, byte ttl = DefaultTtl, byte dscp = 0)
    {
        ip[0] = 0x45;                       // version 4, IHL 5
        ip[1] = (byte)(dscp << 2);
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(IPv4HeaderLength + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // don't fragment
        ip[8] = ttl;
        ip[9] = protocol;
        ip[10] = 0; ip[11] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..IPv4HeaderLength], 0));
    }

    /// <summary>RFC 1071 one's-complement sum folded and inverted; <paramref name="seed"/> carries a pseudo-header sum.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data, uint seed)
    {
        ulong sum = seed;
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    private static uint PseudoHeaderSum(uint src, uint dst, byte protocol, int length)
        => (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + protocol + (uint)length;

    /// <summary>Writes a UDP header and payload after the IPv4 header at <paramref name="udp"/>; returns UDP length.</summary>
    public static int WriteUdp(Span<byte> udp, uint src, uint dst, ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload)
    {
        int len = UdpHeaderLength + payload.Length;
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)len);
        udp[6] = 0; udp[7] = 0;
        payload.CopyTo(udp[UdpHeaderLength..]);
        ushort c = Checksum(udp[..len], PseudoHeaderSum(src, dst, ProtocolUdp, len));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], c == 0 ? (ushort)0xFFFF : c); // RFC 768: 0 means "no checksum"
        return len;
    }

    /// <summary>Writes a TCP header (with options, padded to 4 bytes) and payload; returns the TCP segment length.</summary>
    public static int WriteTcp(Span<byte> tcp, uint src, uint dst, ushort srcPort, ushort dstPort, uint seq, uint ack,
        TcpFlag flags, ushort window, ReadOnlySpan<byte> options, ReadOnlySpan<byte> payload)
    {
        int optLen = (options.Length + 3) & ~3;
        int hdr = TcpHeaderLength + optLen;
        int len = hdr + payload.Length;
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = (byte)((hdr / 4) << 4);
        tcp[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        tcp[16] = 0; tcp[17] = 0; tcp[18] = 0; tcp[19] = 0; // checksum, urgent pointer
        options.CopyTo(tcp[TcpHeaderLength..]);
        tcp[(TcpHeaderLength + options.Length)..hdr].Clear(); // end-of-options padding
        payload.CopyTo(tcp[hdr..]);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum(tcp[..len], PseudoHeaderSum(src, dst, ProtocolTcp, len)));
        return len;
    }

    /// <summary>Writes an ICMP message (type, code, 4 bytes rest-of-header, body); returns its length.</summary>
    public static int WriteIcmp(Span<byte> icmp, byte type, byte code, uint restOfHeader, ReadOnlySpan<byte> body)
    {
        icmp[0] = type;
        icmp[1] = code;
        icmp[2] = 0; icmp[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(icmp[4..], restOfHeader);
        body.CopyTo(icmp[IcmpHeaderLength..]);
        int len = IcmpHeaderLength + body.Length;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp[..len], 0));
        return len;
    }

    /// <summary>Dotted quad to a host-order uint.</summary>
    public static uint ParseIPv4(string dotted)
    {
        var parts = dotted.Split('.');
        if (parts.Length != 4) throw new FormatException("not an IPv4 address: " + dotted);
        uint v = 0;
        foreach (var p in parts) v = (v << 8) | byte.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
        return v;
    }

    public static string FormatIPv4(uint ip) => $"{ip >> 24}.{(ip >> 16) & 0xFF}.{(ip >> 8) & 0xFF}.{ip & 0xFF}";
}
