using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
        Span<byte> input = stackalloc byte[MaxMessage];
        Sha1.Hash(input[..Message(a, portA, b, portB, protocol, ports, seed, input)], digest);
    }

    /// <summary>Longest message hashed: seed, two IPv6 addresses, protocol, pad, two ports.</summary>
    private const int MaxMessage = 2 + 2 * 16 + 2 + 4;

    /// <summary>The v1 message of one tuple (the smaller endpoint first) into <paramref name="input"/>; its length.</summary>
    private static int Message(IpAddress a, ushort portA, IpAddress b, ushort portB, IpProtocol protocol, bool ports, ushort seed, Span<byte> input)
    {
        int c = a.CompareTo(b);
        if (c > 0 || (c == 0 && ports && portA > portB))
        {
            (a, b) = (b, a);
            (portA, portB) = (portB, portA);
        }
        int addrLen = a.IsV4 ? 4 : 16;
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
        return n;
    }

    /// <summary>
    /// <see cref="TryFormatUtf8"/> for many flows at once: flow <c>i</c>'s Community ID as UTF-8 into
    /// <c>destination[(i * Length)..]</c>, its length in <c>written[i]</c> (0 where Compute gives ""). The SHA-1s run four
    /// side by side (<see cref="Sha1.Hash4"/>), about three times as fast per flow as one at a time: the record log writes
    /// a slice of flows.csv rows with them. Allocates nothing.
    /// </summary>
    public static void FormatUtf8(ReadOnlySpan<CommunityIdTuple> flows, Span<byte> destination, Span<int> written, ushort seed = 0)
    {
        if (destination.Length < flows.Length * Length || written.Length < flows.Length) throw new ArgumentException("room for every flow's Community ID is needed");
        Span<byte> blocks = stackalloc byte[4 * Sha1.BlockBytes];
        Span<byte> digests = stackalloc byte[4 * 20];
        Span<int> lanes = stackalloc int[4];
        int staged = 0;
        for (int i = 0; i < flows.Length; i++)
        {
            ref readonly var f = ref flows[i];
            written[i] = 0;
            if (f.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6 || f.A.IsV4 != f.B.IsV4) continue;
            var block = blocks.Slice(staged * Sha1.BlockBytes, Sha1.BlockBytes);
            Sha1.Pad(block, Message(f.A, f.PortA, f.B, f.PortB, f.Protocol, f.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp, seed, block));
            lanes[staged++] = i;
            if (staged == 4)
            {
                Finish(blocks, digests, lanes, staged, destination, written);
                staged = 0;
            }
        }
        if (staged > 0) Finish(blocks, digests, lanes, staged, destination, written);
    }

    private static void Finish(Span<byte> blocks, Span<byte> digests, ReadOnlySpan<int> lanes, int staged, Span<byte> destination, Span<int> written)
    {
        Sha1.Hash4(blocks, digests);
        for (int k = 0; k < staged; k++)
        {
            var to = destination.Slice(lanes[k] * Length, Length);
            to[0] = (byte)'1';
            to[1] = (byte)':';
            System.Buffers.Text.Base64.EncodeToUtf8(digests.Slice(20 * k, 20), to[2..], out _, out int n);
            written[lanes[k]] = 2 + n;
        }
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

/// <summary>A flow's ends and protocol, as <see cref="CommunityId.FormatUtf8"/> takes them (either end first).</summary>
public readonly record struct CommunityIdTuple(IpAddress A, ushort PortA, IpAddress B, ushort PortB, IpProtocol Protocol);

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
        Span<byte> block = stackalloc byte[BlockBytes];
        input.CopyTo(block);
        Pad(block, input.Length);
        Rounds(block, digest);
    }

    /// <summary>Initial hash value (5.3.1).</summary>
    private const uint H0 = 0x67452301, H1 = 0xEFCDAB89, H2 = 0x98BADCFE, H3 = 0x10325476, H4 = 0xC3D2E1F0;

    /// <summary>The hash of one padded block (<see cref="Pad"/>).</summary>
    private static void Rounds(ReadOnlySpan<byte> block, Span<byte> digest)
    {
        // The message schedule (6.1.2 step 1) kept as 16 words, W[t] computed in place of W[t-16] as the
        // rounds reach it; the rounds (step 3: T = ROTL5(a) + f(b, c, d) + e + K + W[t]; e = d; d = c; c = ROTL30(b);
        // b = a; a = T) in four loops of 20, one function and constant each.
        Span<uint> w = stackalloc uint[16];
        for (int t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(4 * t)..]);

        // The 80 rounds (6.1.2).
        uint a = H0, b = H1, c = H2, d = H3, e = H4;
        int r = 0;
        for (; r < 20; r++) { uint t = uint.RotateLeft(a, 5) + ((b & c) | (~b & d)) + e + 0x5A827999 + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        for (; r < 40; r++) { uint t = uint.RotateLeft(a, 5) + (b ^ c ^ d) + e + 0x6ED9EBA1 + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        for (; r < 60; r++) { uint t = uint.RotateLeft(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8F1BBCDC + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        for (; r < 80; r++) { uint t = uint.RotateLeft(a, 5) + (b ^ c ^ d) + e + 0xCA62C1D6 + Schedule(w, r); e = d; d = c; c = uint.RotateLeft(b, 30); b = a; a = t; }
        BinaryPrimitives.WriteUInt32BigEndian(digest, H0 + a);
        BinaryPrimitives.WriteUInt32BigEndian(digest[4..], H1 + b);
        BinaryPrimitives.WriteUInt32BigEndian(digest[8..], H2 + c);
        BinaryPrimitives.WriteUInt32BigEndian(digest[12..], H3 + d);
        BinaryPrimitives.WriteUInt32BigEndian(digest[16..], H4 + e);
    }

    /// <summary>Bytes of one block.</summary>
    public const int BlockBytes = 64;

    /// <summary>
    /// Pads (5.1.1) the message of <paramref name="length"/> bytes at the start of <paramref name="block"/> (at most
    /// <see cref="MaxInput"/>) into one block: one 1 bit, zeros, and the length in bits as a 64-bit big-endian number.
    /// </summary>
    public static void Pad(Span<byte> block, int length)
    {
        if ((uint)length > MaxInput) throw new ArgumentException($"SHA-1 here takes at most {MaxInput} bytes, got {length}", nameof(length));
        block = block[..BlockBytes];
        block[length..].Clear();
        block[length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(block[56..], (ulong)length * 8);
    }

    /// <summary>
    /// Four padded one-block messages (<see cref="Pad"/>; <see cref="BlockBytes"/> each, one after the other) hashed side by
    /// side, one per lane of 128-bit vectors: the rounds of <see cref="Hash"/> on four words at once. The digests go to
    /// <paramref name="digests"/>, 20 bytes each, in the same order. Where the machine has no vector unit, one at a time.
    /// </summary>
    public static void Hash4(ReadOnlySpan<byte> blocks, Span<byte> digests)
    {
        if (blocks.Length < 4 * BlockBytes || digests.Length < 4 * 20) throw new ArgumentException("four blocks and room for four digests are needed");
        if (!Vector128.IsHardwareAccelerated)
        {
            for (int i = 0; i < 4; i++) Rounds(blocks.Slice(i * BlockBytes, BlockBytes), digests.Slice(20 * i, 20));
            return;
        }
        // The message schedule as in Hash, word t of the four blocks in one vector.
        Span<Vector128<uint>> w = stackalloc Vector128<uint>[16];
        for (int t = 0; t < 16; t++)
            w[t] = Vector128.Create(
                BinaryPrimitives.ReadUInt32BigEndian(blocks[(4 * t)..]),
                BinaryPrimitives.ReadUInt32BigEndian(blocks[(BlockBytes + 4 * t)..]),
                BinaryPrimitives.ReadUInt32BigEndian(blocks[(2 * BlockBytes + 4 * t)..]),
                BinaryPrimitives.ReadUInt32BigEndian(blocks[(3 * BlockBytes + 4 * t)..]));
        var a = Vector128.Create(H0); var b = Vector128.Create(H1); var c = Vector128.Create(H2); var d = Vector128.Create(H3); var e = Vector128.Create(H4);
        var k1 = Vector128.Create(0x5A827999u); var k2 = Vector128.Create(0x6ED9EBA1u); var k3 = Vector128.Create(0x8F1BBCDCu); var k4 = Vector128.Create(0xCA62C1D6u);
        int r = 0;
        for (; r < 16; r++) { var t = Rotate(a, 5) + ((b & c) | Vector128.AndNot(d, b)) + e + k1 + w[r]; e = d; d = c; c = Rotate(b, 30); b = a; a = t; }
        for (; r < 20; r++) { var t = Rotate(a, 5) + ((b & c) | Vector128.AndNot(d, b)) + e + k1 + Schedule(w, r); e = d; d = c; c = Rotate(b, 30); b = a; a = t; }
        for (; r < 40; r++) { var t = Rotate(a, 5) + (b ^ c ^ d) + e + k2 + Schedule(w, r); e = d; d = c; c = Rotate(b, 30); b = a; a = t; }
        for (; r < 60; r++) { var t = Rotate(a, 5) + ((b & c) | (b & d) | (c & d)) + e + k3 + Schedule(w, r); e = d; d = c; c = Rotate(b, 30); b = a; a = t; }
        for (; r < 80; r++) { var t = Rotate(a, 5) + (b ^ c ^ d) + e + k4 + Schedule(w, r); e = d; d = c; c = Rotate(b, 30); b = a; a = t; }
        a += Vector128.Create(H0); b += Vector128.Create(H1); c += Vector128.Create(H2); d += Vector128.Create(H3); e += Vector128.Create(H4);
        for (int i = 0; i < 4; i++)
        {
            var digest = digests.Slice(20 * i, 20);
            BinaryPrimitives.WriteUInt32BigEndian(digest, a.GetElement(i));
            BinaryPrimitives.WriteUInt32BigEndian(digest[4..], b.GetElement(i));
            BinaryPrimitives.WriteUInt32BigEndian(digest[8..], c.GetElement(i));
            BinaryPrimitives.WriteUInt32BigEndian(digest[12..], d.GetElement(i));
            BinaryPrimitives.WriteUInt32BigEndian(digest[16..], e.GetElement(i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Rotate(Vector128<uint> x, [ConstantExpected] byte n) => Vector128.ShiftLeft(x, n) | Vector128.ShiftRightLogical(x, (byte)(32 - n));

    /// <summary><see cref="Schedule(Span{uint}, int)"/> on four blocks' words at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Schedule(Span<Vector128<uint>> w, int t)
    {
        ref var w0 = ref MemoryMarshal.GetReference(w);
        var v = Rotate(Unsafe.Add(ref w0, (t - 3) & 15) ^ Unsafe.Add(ref w0, (t - 8) & 15) ^ Unsafe.Add(ref w0, (t - 14) & 15) ^ Unsafe.Add(ref w0, t & 15), 1);
        Unsafe.Add(ref w0, t & 15) = v;
        return v;
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
