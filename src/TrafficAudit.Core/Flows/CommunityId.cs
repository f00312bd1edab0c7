using System.Buffers.Binary;
using System.Security.Cryptography;
using TrafficAudit.Decode;

namespace TrafficAudit.Flows;

/// <summary>
/// The Community ID flow hash, version 1 (github.com/corelight/community-id-spec), as Zeek,
/// Suricata, Arkime and Wireshark write it, so a flow of ours joins their logs by one string:
/// "1:" + base64(SHA-1(seed . addr_lo . addr_hi . proto . 0 . port_lo . port_hi)), every field in
/// network byte order, seed 2 bytes, addresses 4 or 16 bytes, the endpoint with the smaller
/// address (or, between equal addresses, the smaller port) first. TCP, UDP and SCTP hash their
/// ports; other IP protocols hash addresses and protocol only (no pad, no ports). ICMP needs the
/// type and code of each message mapped onto ports (Zeek's request/reply pairing); a flow of ours
/// merges every ICMP message between two hosts, so it gets no Community ID (empty), which the spec allows.
/// Computed once per flow when the outputs are written, never per packet.
/// </summary>
public static class CommunityId
{
    /// <summary>The Community ID of a flow, or "" for ICMP/ICMPv6 (see the type's summary).</summary>
    public static string Compute(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, ushort seed = 0)
    {
        if (protocol is IpProtocol.Icmp or IpProtocol.Icmpv6) return "";
        return Hash(a, portA, b, portB, protocol, protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp, seed);
    }

    /// <summary>
    /// The v1 function itself over one tuple: with <paramref name="ports"/>, the two ports are hashed (for
    /// ICMP they are the type and the mapped counterpart type or code, already mapped by the caller).
    /// "" when the two addresses are of different families.
    /// </summary>
    public static string Hash(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, bool ports, ushort seed = 0)
    {
        if (a.IsV4 != b.IsV4) return "";
        int c = a.CompareTo(b);
        if (c > 0 || (c == 0 && ports && portA > portB))
        {
            (a, b) = (b, a);
            (portA, portB) = (portB, portA);
        }
        int addrLen = a.IsV4 ? 4 : 16;
        Span<byte> input = stackalloc byte[2 + 2 * 16 + 2 + 4];
        int n = 0;
        BinaryPrimitives.WriteUInt16BigEndian(input[n..], seed); n += 2;
        n += Write(a, input[n..], addrLen);
        n += Write(b, input[n..], addrLen);
        input[n++] = (byte)protocol;
        input[n++] = 0;
        if (ports)
        {
            BinaryPrimitives.WriteUInt16BigEndian(input[n..], portA); n += 2;
            BinaryPrimitives.WriteUInt16BigEndian(input[n..], portB); n += 2;
        }
        Span<byte> digest = stackalloc byte[20];
        SHA1.HashData(input[..n], digest);
        return "1:" + Convert.ToBase64String(digest);
    }

    private static int Write(IpAddress ip, Span<byte> dest, int len)
    {
        if (len == 4) BinaryPrimitives.WriteUInt32BigEndian(dest, ip.V4Value);
        else
        {
            BinaryPrimitives.WriteUInt64BigEndian(dest, ip.Hi);
            BinaryPrimitives.WriteUInt64BigEndian(dest[8..], ip.Lo);
        }
        return len;
    }
}
