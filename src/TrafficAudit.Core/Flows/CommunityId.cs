using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>Characters of a Community ID v1 string: "1:" and the base64 of a 20-byte SHA-1.</summary>
    public const int Length = 2 + 28;

    /// <summary>
    /// <see cref="Compute"/> as UTF-8 bytes into <paramref name="destination"/> (at least <see cref="Length"/> bytes),
    /// without allocating: the record log writes one per flow straight into its row. <paramref name="written"/> is 0
    /// where Compute gives "".
    /// </summary>
    public static bool TryFormatUtf8(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, Span<byte> destination, out int written, ushort seed = 0)
    {
        written = 0;
        if (protocol is IpProtocol.Icmp or IpProtocol.Icmpv6 || a.IsV4 != b.IsV4) return true;
        if (destination.Length < Length) return false;
        Span<byte> digest = stackalloc byte[20];
        Digest(a, portA, b, portB, protocol, protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp, seed, digest);
        destination[0] = (byte)'1';
        destination[1] = (byte)':';
        System.Buffers.Text.Base64.EncodeToUtf8(digest, destination[2..], out _, out int n);
        written = 2 + n;
        return true;
    }

    /// <summary>
    /// The v1 function itself over one tuple: with <paramref name="ports"/>, the two ports are hashed (for
    /// ICMP they are the type and the mapped counterpart type or code, already mapped by the caller).
    /// "" when the two addresses are of different families.
    /// </summary>
    public static string Hash(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, bool ports, ushort seed = 0)
    {
        if (a.IsV4 != b.IsV4) return "";
        Span<byte> digest = stackalloc byte[20];
        Digest(a, portA, b, portB, protocol, ports, seed, digest);
        return "1:" + Convert.ToBase64String(digest);
    }

    private static void Digest(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, bool ports, ushort seed, Span<byte> digest)
    {
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
        Sha1.Hash(input[..n], digest);
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

/// <summary>
/// SHA-1 (FIPS 180-4, section 6.1) for inputs of up to 55 bytes, which is all a Community ID hashes:
/// one 64-byte block. Written here rather than taken from System.Security.Cryptography, whose SHA-1 on
/// Linux loads OpenSSL: about 6 MB more peak memory for a 40-byte hash per flow, and a library a
/// minimal host may not have.
/// </summary>
public static class Sha1
{
    /// <summary>Longest input that fits one block with its padding (0x80 and the 8-byte bit length).</summary>
    public const int MaxInput = 55;

    /// <exception cref="ArgumentException">Input longer than <see cref="MaxInput"/> or output shorter than 20 bytes.</exception>
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> digest)
    {
        if (input.Length > MaxInput) throw new ArgumentException($"SHA-1 here takes at most {MaxInput} bytes, got {input.Length}", nameof(input));
        if (digest.Length < 20) throw new ArgumentException("the digest needs 20 bytes", nameof(digest));
        // Padding (5.1.1): the message, one 1 bit, zeros, and the length in bits as a 64-bit big-endian number.
        Span<byte> block = stackalloc byte[64];
        block.Clear();
        input.CopyTo(block);
        block[input.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(block[56..], (ulong)input.Length * 8);

        // The message schedule (6.1.2 step 1) kept as 16 words, W[t] computed in place of W[t-16] as the
        // rounds reach it; the rounds (step 3: T = ROTL5(a) + f(b, c, d) + e + K + W[t]; e = d; d = c; c = ROTL30(b);
        // b = a; a = T) in four loops of 20, one function and constant each.
        Span<uint> w = stackalloc uint[16];
        for (int t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(4 * t)..]);

        // Initial hash value (5.3.1) and the 80 rounds (6.1.2).
        const uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;
        uint a = h0, b = h1, c = h2, d = h3, e = h4;
        int r = 0;
        for (; r < 20; r++) { uint t = uint.RotateLeft(a, 5) + ((b & c) | (~b & d)) + e + 0x5A827999 + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        for (; r < 40; r++) { uint t = uint.RotateLeft(a, 5) + (b ^ c ^ d) + e + 0x6ED9EBA1 + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        for (; r < 60; r++) { uint t = uint.RotateLeft(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        for (; r < 80; r++) { uint t = uint.RotateLeft(a, 5) + (b ^ c ^ d) + e + 0xCA62C1D6 + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        BinaryPrimitives.WriteUInt32BigEndian(digest, h0 + a);
        BinaryPrimitives.WriteUInt32BigEndian(digest[4..], h1 + b);
        BinaryPrimitives.WriteUInt32BigEndian(digest[8..], h2 + c);
        BinaryPrimitives.WriteUInt32BigEndian(digest[12..], h3 + d);
        BinaryPrimitives.WriteUInt32BigEndian(digest[16..], h4 + e);
    }

    /// <summary>W[t] (6.1.2 step 1): the block's word for t &lt; 16, else ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]), stored over W[t-16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Schedule(Span<uint> w, int t)
    {
        // Indexes masked to 0..15 of a 16-word span: read without bounds checks.
        ref uint w0 = ref MemoryMarshal.GetReference(w);
        if (t < 16) return Unsafe.Add(ref w0, t);
        uint v = uint.RotateLeft(Unsafe.Add(ref w0, (t - 3) & 15) ^ Unsafe.Add(ref w0, (t - 8) & 15)
            ^ Unsafe.Add(ref w0, (t - 14) & 15) ^ Unsafe.Add(ref w0, t & 15), 1);
        Unsafe.Add(ref w0, t & 15) = v;
        return v;
    }
}
