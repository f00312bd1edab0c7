using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Decode;

/// <summary>Reads the bytes back out of `tshark -x` text, so a frame's literal and its dump are the same thing.</summary>
internal static class Hex
{
    private const int BytesColumn = 6;      // "0000  " offset field
    private const int BytesColumnWidth = 47; // 16 bytes as "xx " minus the last space

    public static byte[] FromTsharkDump(string dump)
    {
        var bytes = new List<byte>();
        foreach (var raw in dump.Split('\n'))
        {
            var line = raw.TrimStart().TrimEnd('\r');
            if (line.Length <= BytesColumn) continue;
            var hex = line.Substring(BytesColumn, Math.Min(BytesColumnWidth, line.Length - BytesColumn));
            foreach (var token in hex.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                bytes.Add(Convert.ToByte(token, 16));
        }
        return bytes.ToArray();
    }
}

/// <summary>
/// Feeds a frame to a fresh decoder exact, padded with 0xFF sentinels and cut at every length,
/// and checks the rules every decoder result must obey.
/// </summary>
internal static class DecoderHarness
{
    public static long TotalAnomalies(AnomalyCounters a) => a.Entries.Sum(e => e.Count);

    /// <summary>A packet full of values the decoder must overwrite or clear.</summary>
    public static DecodedPacket Stale() => new()
    {
        Vlan = 4000, VlanDepth = 7, TunnelDepth = 7, IpVersion = 9,
        Src = IpAddress.Parse("203.0.113.99"), Dst = IpAddress.Parse("2001:db8::dead"),
        Protocol = IpProtocol.Sctp, Ttl = 3, IpLength = 12345, Reassembled = true,
        SrcPort = 1111, DstPort = 2222, TcpFlags = TcpFlags.Rst, TcpSeq = 5, TcpAck = 6, TcpWindow = 7,
        PayloadOffset = 99, PayloadLength = 98, IcmpType = 42, IcmpCode = 43, IcmpUnreachable = true,
        InnerSrc = IpAddress.Parse("198.51.100.1"), InnerDst = IpAddress.Parse("198.51.100.2"),
        InnerProtocol = IpProtocol.Gre, InnerSrcPort = 3333, InnerDstPort = 4444,
    };

    public static DecodeStatus DecodeOnce(LinkType link, byte[] frame, out DecodedPacket packet, out AnomalyCounters anomalies)
    {
        anomalies = new AnomalyCounters();
        var decoder = new PacketDecoder(anomalies);
        packet = Stale();
        return decoder.Decode(link, frame, 0, ref packet, out _);
    }

    /// <summary>Runs the exact / padded / cut checks and returns the packet decoded from the exact frame.</summary>
    public static DecodedPacket DecodeAllWays(LinkType link, byte[] frame, DecodeStatus expected)
    {
        var anomalies = new AnomalyCounters();
        var decoder = new PacketDecoder(anomalies);

        var exact = Stale();
        var status = decoder.Decode(link, frame, 0, ref exact, out var buffer);
        Assert.AreEqual(expected, status, "exact frame");
        if (expected is DecodeStatus.Ok or DecodeStatus.NotIp)
            Assert.AreEqual(0L, TotalAnomalies(anomalies), "a valid frame raised " + string.Join(",", anomalies.Entries.Select(e => e.Name)));
        if (status == DecodeStatus.Ok)
        {
            Assert.IsTrue(buffer == frame.AsSpan(), "an unfragmented frame is decoded in place");
            Assert.IsTrue(exact.PayloadOffset >= 0 && exact.PayloadLength >= 0 && exact.PayloadOffset + exact.PayloadLength <= frame.Length);
        }

        // A reused struct must come out exactly as a fresh one would.
        var fresh = default(DecodedPacket);
        Assert.AreEqual(expected, decoder.Decode(link, frame, 0, ref fresh, out _));
        Assert.AreEqual(exact, fresh, "stale fields survived the decode");

        // Trailing bytes (Ethernet padding, FCS, junk) must not change the result.
        var padded = frame.Concat(Enumerable.Repeat((byte)0xFF, 32)).ToArray();
        var pad = Stale();
        long before = TotalAnomalies(anomalies);
        Assert.AreEqual(expected, decoder.Decode(link, padded, 0, ref pad, out _), "padded frame");
        Assert.AreEqual(exact, pad, "padding changed the decoded packet");
        Assert.AreEqual(before, TotalAnomalies(anomalies), "padding raised an anomaly");

        for (int length = 0; length < frame.Length; length++)
        {
            var cutFrame = frame.AsSpan(0, length).ToArray(); // exact-size array: no hidden bytes after the cut
            var cut = Stale();
            before = TotalAnomalies(anomalies);
            var s = decoder.Decode(link, cutFrame, 0, ref cut, out var cutBuffer);
            string at = $"cut at {length} of {frame.Length}";
            if (s == DecodeStatus.Malformed) Assert.IsTrue(TotalAnomalies(anomalies) > before, $"{at}: Malformed without an anomaly");
            if (expected == DecodeStatus.NotIp)
            {
                Assert.IsTrue(s is DecodeStatus.NotIp or DecodeStatus.Malformed, $"{at}: {s}");
                continue;
            }
            if (expected != DecodeStatus.Ok) continue;
            if (length < exact.PayloadOffset)
            {
                // Headers are missing: never Ok with half-read ports.
                Assert.AreEqual(DecodeStatus.Malformed, s, at);
                continue;
            }
            Assert.AreEqual(DecodeStatus.Ok, s, at);
            Assert.AreEqual(exact.Src, cut.Src, at);
            Assert.AreEqual(exact.Dst, cut.Dst, at);
            Assert.AreEqual(exact.Protocol, cut.Protocol, at);
            Assert.AreEqual(exact.SrcPort, cut.SrcPort, at);
            Assert.AreEqual(exact.DstPort, cut.DstPort, at);
            Assert.AreEqual(exact.IpLength, cut.IpLength, at);
            Assert.AreEqual(exact.PayloadOffset, cut.PayloadOffset, at);
            Assert.IsTrue(cut.PayloadLength >= 0 && cut.PayloadOffset + cut.PayloadLength <= cutBuffer.Length, at);
        }
        return exact;
    }
}

/// <summary>Builds packets in code for cases too long or too repetitive to write out (fragments, deep tunnels).</summary>
internal static class PacketBuilder
{
    public static readonly byte[] MacA = [0x00, 0x50, 0x56, 0x00, 0x00, 0x01];
    public static readonly byte[] MacB = [0x00, 0x50, 0x56, 0x00, 0x00, 0x02];

    public static byte[] Ethernet(ushort etherType, byte[] payload)
    {
        var f = new byte[14 + payload.Length];
        MacB.CopyTo(f, 0);
        MacA.CopyTo(f, 6);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), etherType);
        payload.CopyTo(f, 14);
        return f;
    }

    /// <summary>IPv4 header (no options) + payload; fragment = flags and offset field as on the wire.</summary>
    public static byte[] Ipv4(string src, string dst, IpProtocol protocol, byte[] payload, ushort id = 0x1234, ushort fragment = 0x4000, byte ttl = 64)
    {
        var p = new byte[20 + payload.Length];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), fragment);
        p[8] = ttl;
        p[9] = (byte)protocol;
        IpAddress.Parse(src).ToSystem().TryWriteBytes(p.AsSpan(12, 4), out _);
        IpAddress.Parse(dst).ToSystem().TryWriteBytes(p.AsSpan(16, 4), out _);
        payload.CopyTo(p, 20);
        return p;
    }

    public static byte[] Ipv6(string src, string dst, IpProtocol next, byte[] payload, byte hopLimit = 64)
    {
        var p = new byte[40 + payload.Length];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)payload.Length);
        p[6] = (byte)next;
        p[7] = hopLimit;
        IpAddress.Parse(src).ToSystem().TryWriteBytes(p.AsSpan(8, 16), out _);
        IpAddress.Parse(dst).ToSystem().TryWriteBytes(p.AsSpan(24, 16), out _);
        payload.CopyTo(p, 40);
        return p;
    }

    public static byte[] Udp(ushort src, ushort dst, byte[] data)
    {
        var u = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, src);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), dst);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        data.CopyTo(u, 8);
        return u;
    }

    /// <summary>Deterministic filler so a misplaced byte in reassembly shows.</summary>
    public static byte[] Pattern(int length, int seed = 7)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)(i * 31 + seed + (i >> 8));
        return b;
    }

    /// <summary>Splits an IP payload into IPv4 fragments of <paramref name="chunk"/> bytes (a multiple of 8), each in Ethernet.</summary>
    public static List<byte[]> Ipv4Fragments(string src, string dst, IpProtocol protocol, byte[] payload, int chunk, ushort id)
    {
        var frames = new List<byte[]>();
        for (int off = 0; off < payload.Length; off += chunk)
        {
            int n = Math.Min(chunk, payload.Length - off);
            bool more = off + n < payload.Length;
            ushort field = (ushort)((more ? 0x2000 : 0) | (off / 8));
            frames.Add(Ethernet(0x0800, Ipv4(src, dst, protocol, payload[off..(off + n)], id, field)));
        }
        return frames;
    }

    /// <summary>One IPv4 fragment frame at an explicit offset (for overlap cases).</summary>
    public static byte[] Ipv4Fragment(string src, string dst, IpProtocol protocol, byte[] piece, int offset, bool more, ushort id)
        => Ethernet(0x0800, Ipv4(src, dst, protocol, piece, id, (ushort)((more ? 0x2000 : 0) | (offset / 8))));

    /// <summary>Splits an IPv6 payload into fragments (RFC 8200 4.5), each in Ethernet.</summary>
    public static List<byte[]> Ipv6Fragments(string src, string dst, IpProtocol next, byte[] payload, int chunk, uint id)
    {
        var frames = new List<byte[]>();
        for (int off = 0; off < payload.Length; off += chunk)
        {
            int n = Math.Min(chunk, payload.Length - off);
            bool more = off + n < payload.Length;
            var fh = new byte[8 + n];
            fh[0] = (byte)next;
            BinaryPrimitives.WriteUInt16BigEndian(fh.AsSpan(2), (ushort)(off | (more ? 1 : 0)));
            BinaryPrimitives.WriteUInt32BigEndian(fh.AsSpan(4), id);
            payload.AsSpan(off, n).CopyTo(fh.AsSpan(8));
            frames.Add(Ethernet(0x86DD, Ipv6(src, dst, IpProtocol.Ipv6Fragment, fh)));
        }
        return frames;
    }
}
