using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;

namespace TrafficAudit.Decode;

/// <summary>
/// An IPv4 or IPv6 address in 16 bytes, no allocation. IPv4 is held as the IPv4-mapped
/// IPv6 form (::ffff:a.b.c.d) so that one comparison serves both families.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct IpAddress : IEquatable<IpAddress>, IComparable<IpAddress>
{
    private const ulong V4MappedPrefix = 0x0000_FFFF_0000_0000UL;

    /// <summary>High 8 bytes, network order read as big endian.</summary>
    public readonly ulong Hi;
    /// <summary>Low 8 bytes, network order read as big endian.</summary>
    public readonly ulong Lo;

    public IpAddress(ulong hi, ulong lo) { Hi = hi; Lo = lo; }

    public static IpAddress FromV4(uint addressBigEndianValue) => new(0, V4MappedPrefix | addressBigEndianValue);

    /// <summary>4 bytes (IPv4) or 16 bytes (IPv6) as on the wire.</summary>
    public static IpAddress FromBytes(ReadOnlySpan<byte> b) => b.Length == 4
        ? FromV4(BinaryPrimitives.ReadUInt32BigEndian(b))
        : new IpAddress(BinaryPrimitives.ReadUInt64BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[8..]));

    public bool IsV4 => Hi == 0 && (Lo & 0xFFFF_FFFF_0000_0000UL) == V4MappedPrefix;
    public uint V4Value => (uint)Lo;
    public bool IsEmpty => Hi == 0 && Lo == 0;

    /// <summary>
    /// Not routed on the internet: RFC 1918 (10/8, 172.16/12, 192.168/16), shared CGNAT space (100.64/10,
    /// RFC 6598), loopback and link-local; for IPv6 unique local (fc00::/7), link-local (fe80::/10) and ::1.
    /// </summary>
    public bool IsPrivate
    {
        get
        {
            if (IsV4)
            {
                uint v = V4Value;
                return (v >> 24) == 10 || (v >> 20) == (172u << 4 | 1) || (v >> 16) == (192u << 8 | 168)
                    || (v >> 22) == (100u << 2 | 1) || (v >> 24) == 127 || (v >> 16) == (169u << 8 | 254);
            }
            return (Hi >> 57) == (0xFCUL >> 1) || (Hi >> 54) == (0xFE80UL >> 6) || (Hi == 0 && Lo == 1);
        }
    }

    public static IpAddress Parse(string text) => TryParse(text, out var a) ? a : throw new FormatException($"not an IP address: '{text}'");

    public static bool TryParse(string? text, out IpAddress address)
    {
        address = default;
        if (text is null || !System.Net.IPAddress.TryParse(text, out var ip)) return false;
        address = FromSystem(ip);
        return true;
    }

    public static IpAddress FromSystem(System.Net.IPAddress ip)
    {
        Span<byte> b = stackalloc byte[16];
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        ip.TryWriteBytes(b, out int n);
        return FromBytes(b[..n]);
    }

    public System.Net.IPAddress ToSystem()
    {
        if (IsV4)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, V4Value);
            return new System.Net.IPAddress(v4);
        }
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(b, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], Lo);
        return new System.Net.IPAddress(b);
    }

    public override string ToString() => ToSystem().ToString();

    /// <summary>Address and port as people and tools write them: "10.0.0.1:5060", "[2001:db8::1]:5060" (RFC 3986 brackets for IPv6).</summary>
    public string WithPort(int port) => IsV4 ? $"{this}:{port}" : $"[{this}]:{port}";
    public bool Equals(IpAddress other) => Hi == other.Hi && Lo == other.Lo;
    public override bool Equals(object? obj) => obj is IpAddress o && Equals(o);
    public override int GetHashCode() => HashCode.Combine(Hi, Lo);
    public int CompareTo(IpAddress other) => Hi != other.Hi ? Hi.CompareTo(other.Hi) : Lo.CompareTo(other.Lo);
    public static bool operator ==(IpAddress a, IpAddress b) => a.Equals(b);
    public static bool operator !=(IpAddress a, IpAddress b) => !a.Equals(b);
}
