using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Fuzz;

/// <summary>
/// The fuzzer's starting inputs, small and our own: frames picked from the bundled synthetic capture
/// (captures/imagicle-site.pcap, made by trafficaudit-synth), rewritten as pcap, pcapng, gzip and decoder
/// records, and hand-made SIP, SDP, RTP/RTCP, DNS and TLS messages, the sample profile and the built-in
/// catalogue. No third-party capture is used.
/// </summary>
public static class Seeds
{
    public static int WriteAll(string dir)
    {
        int n = 0;
        void Put(string target, string name, byte[] bytes)
        {
            Directory.CreateDirectory(Path.Combine(dir, target));
            File.WriteAllBytes(Path.Combine(dir, target, name), bytes);
            n++;
        }

        string root = FindRepositoryRoot();
        string site = Path.Combine(root, "captures", "imagicle-site.pcap");
        var groups = PickFrames(site);
        groups.AddRange(Slices(site, count: 4, length: 500));
        for (int g = 0; g < groups.Count; g++)
        {
            var frames = groups[g];
            byte[] pcap = Pcap(frames, nanoseconds: g % 2 == 1, bigEndian: g % 3 == 2);
            Put("pcap", $"site-{g}.pcap", pcap);
            Put("pcapng", $"site-{g}.pcapng", PcapNg(frames, bigEndian: g % 2 == 1));
            Put("gzip", $"site-{g}.pcap.gz", Gzip(g % 2 == 0 ? pcap : PcapNg(frames, false)));
            Put("decoder", $"site-{g}.bin", DecoderRecords(frames));
        }

        byte[] sdp = Encoding.ASCII.GetBytes(
            "v=0\r\no=- 1 1 IN IP4 10.0.1.5\r\ns=-\r\nc=IN IP4 10.0.1.20\r\nt=0 0\r\n" +
            "m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n" +
            "m=image 20002 udptl t38\r\n");
        Put("sdp", "offer.sdp", sdp);
        byte[] invite = Sip("INVITE sip:300@10.0.0.10 SIP/2.0", "INVITE", 1, "application/sdp", sdp);
        byte[] trying = Sip("SIP/2.0 100 Trying", "INVITE", 1, null, []);
        byte[] ok = Sip("SIP/2.0 200 OK", "INVITE", 1, "application/sdp", sdp);
        byte[] ack = Sip("ACK sip:300@10.0.0.10 SIP/2.0", "ACK", 1, null, []);
        byte[] bye = Sip("BYE sip:300@10.0.0.10 SIP/2.0", "BYE", 2, null, []);
        byte[] options = Sip("OPTIONS sip:10.0.0.10 SIP/2.0", "OPTIONS", 7, null, []);
        Put("sip", "call.txt", Join(0, invite, trying, ok, ack, bye));
        Put("sip", "options.txt", Join(0, options, Sip("SIP/2.0 200 OK", "OPTIONS", 7, null, [])));
        Put("sip-tcp", "call.txt", Join(0, invite[..200], invite[200..], [3, .. ack], bye));
        Put("sip-tcp", "two-in-one.txt", [.. options, .. options]);

        Put("rtp", "stream.bin", RtpRecords());
        Put("dns", "answer.bin", DnsAnswer());
        Put("tls", "client-hello.bin", ClientHello("imagicle.example.com"));

        Put("profile", "site.profile.json", File.ReadAllBytes(Path.Combine(root, "captures", "imagicle-site.profile.json")));
        Put("profile", "small.json", """{"nodes": ["10.0.0.10"], "allow": [{"port": 3389, "note": "x\u00e9"}]} // c"""u8.ToArray());
        using (var w = new StringWriter())
        {
            PortCatalogue.WriteEmbeddedJson(w);
            Put("catalogue", "builtin.json", Encoding.UTF8.GetBytes(w.ToString()));
        }
        Put("catalogue", "one-entry.json", """
            {"version": 1, "entries": [{"id": "x-rule", "section": "calling-platform", "protocol": "SIP", "service": "sip",
              "direction": "IN/OUT", "applications": ["digital-fax"], "description": "d", "maxRttMs": null,
              "bindings": [{"transport": "udp", "imagiclePorts": "5060,16384-32766", "remotePorts": "any"}]}]}
            """u8.ToArray());
        return n;
    }

    /// <summary>The repository root: the folder above this program that holds TrafficAudit.sln.</summary>
    public static string FindRepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "TrafficAudit.sln"))) return d.FullName;
        throw new InvalidOperationException("run from inside the repository (TrafficAudit.sln not found)");
    }

    private sealed record Frame(long TimestampNs, LinkType LinkType, byte[] Data);

    /// <summary>Groups of about 48 frames: the first frames of each kind of traffic (by IP protocol and lower port).</summary>
    private static List<List<Frame>> PickFrames(string capture)
    {
        var byKind = new Dictionary<(byte, int), List<Frame>>();
        using (var source = CaptureFile.Open(capture))
        {
            while (source.MoveNext())
            {
                var d = source.Data;
                if (d.Length < 38 || d[12] != 0x08 || d[13] != 0x00) continue;
                byte proto = d[23];
                int ihl = (d[14] & 0x0F) * 4;
                int port = d.Length >= 14 + ihl + 4 ? Math.Min(BinaryPrimitives.ReadUInt16BigEndian(d[(14 + ihl)..]), BinaryPrimitives.ReadUInt16BigEndian(d[(16 + ihl)..])) : 0;
                if (port >= 16384 && proto == 17) port = 16384;   // all RTP alike
                if (port >= 49152) port = 49152;
                var list = byKind.TryGetValue((proto, port), out var l) ? l : byKind[(proto, port)] = [];
                if (list.Count < 20) list.Add(new Frame(source.Header.TimestampNs, source.Header.LinkType, d.ToArray()));
            }
        }
        var all = byKind.OrderBy(k => k.Value[0].TimestampNs).SelectMany(k => k.Value).ToList();
        var groups = new List<List<Frame>>();
        for (int i = 0; i < all.Count; i += 48) groups.Add(all.Skip(i).Take(48).OrderBy(f => f.TimestampNs).ToList());
        return groups.Take(12).ToList();
    }

    /// <summary>
    /// <paramref name="count"/> runs of <paramref name="length"/> consecutive frames spread over the capture:
    /// whole stretches of calls and flows, so each execution feeds hundreds of packets.
    /// </summary>
    private static IEnumerable<List<Frame>> Slices(string capture, int count, int length)
    {
        var all = new List<Frame>();
        using (var source = CaptureFile.Open(capture))
            while (source.MoveNext()) all.Add(new Frame(source.Header.TimestampNs, source.Header.LinkType, source.Data.ToArray()));
        for (int i = 0; i < count; i++)
            yield return all.Skip((int)((long)i * Math.Max(0, all.Count - length) / Math.Max(1, count - 1))).Take(length).ToList();
    }

    private static byte[] Pcap(List<Frame> frames, bool nanoseconds, bool bigEndian)
    {
        var ms = new MemoryStream();
        var h = new byte[24];
        W32(h, 0, nanoseconds ? 0xA1B23C4D : 0xA1B2C3D4, bigEndian);
        W16(h, 4, 2, bigEndian); W16(h, 6, 4, bigEndian);
        W32(h, 16, 65535, bigEndian); W32(h, 20, (uint)frames[0].LinkType, bigEndian);
        ms.Write(h);
        foreach (var f in frames)
        {
            var r = new byte[16];
            long sec = f.TimestampNs / 1_000_000_000, frac = f.TimestampNs % 1_000_000_000;
            W32(r, 0, (uint)sec, bigEndian); W32(r, 4, (uint)(nanoseconds ? frac : frac / 1000), bigEndian);
            W32(r, 8, (uint)f.Data.Length, bigEndian); W32(r, 12, (uint)f.Data.Length, bigEndian);
            ms.Write(r);
            ms.Write(f.Data);
        }
        return ms.ToArray();
    }

    private static byte[] PcapNg(List<Frame> frames, bool bigEndian)
    {
        var ms = new MemoryStream();
        void Block(uint type, byte[] body)
        {
            int padded = (body.Length + 3) & ~3;
            var b = new byte[12 + padded];
            W32(b, 0, type, bigEndian); W32(b, 4, (uint)b.Length, bigEndian);
            body.CopyTo(b, 8);
            W32(b, b.Length - 4, (uint)b.Length, bigEndian);
            ms.Write(b);
        }
        var shb = new byte[16];
        W32(shb, 0, 0x1A2B3C4D, bigEndian); W16(shb, 4, 1, bigEndian);
        BinaryPrimitives.WriteInt64LittleEndian(shb.AsSpan(8), -1);
        Block(0x0A0D0D0A, shb);
        // IDB with if_tsresol = 9 (nanoseconds), then opt_endofopt.
        var idb = new byte[8 + 8 + 4];
        W16(idb, 0, (ushort)frames[0].LinkType, bigEndian); W32(idb, 4, 65535, bigEndian);
        W16(idb, 8, 9, bigEndian); W16(idb, 10, 1, bigEndian); idb[12] = 9;
        Block(1, idb);
        foreach (var f in frames)
        {
            var epb = new byte[20 + f.Data.Length];
            W32(epb, 4, (uint)((ulong)f.TimestampNs >> 32), bigEndian); W32(epb, 8, (uint)f.TimestampNs, bigEndian);
            W32(epb, 12, (uint)f.Data.Length, bigEndian); W32(epb, 16, (uint)f.Data.Length, bigEndian);
            f.Data.CopyTo(epb, 20);
            Block(6, epb);
        }
        // Interface statistics block with isb_ifdrop.
        var isb = new byte[12 + 12 + 4];
        W16(isb, 12, 5, bigEndian); W16(isb, 14, 8, bigEndian); W32(isb, 16, 3, bigEndian);
        Block(5, isb);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>The decoder target's record format (see <see cref="FuzzTargets"/>): Ethernet, time steps of 7 ms.</summary>
    private static byte[] DecoderRecords(List<Frame> frames)
    {
        var ms = new MemoryStream();
        foreach (var f in frames)
        {
            int len = Math.Min(f.Data.Length, 0x7FF);
            ms.Write([(byte)len, (byte)(len >> 8), 0x10]);
            ms.Write(f.Data, 0, len);
        }
        return ms.ToArray();
    }

    private static byte[] Sip(string startLine, string method, int cseq, string? contentType, byte[] body)
    {
        var sb = new StringBuilder();
        sb.Append(startLine).Append("\r\n");
        sb.Append("Via: SIP/2.0/UDP 10.0.1.5:5060;branch=z9hG4bK").Append(method.ToLowerInvariant()).Append(cseq).Append("\r\n");
        sb.Append("From: \"Desk\" <sip:200@10.0.1.5>;tag=a1\r\nTo: <sip:300@10.0.0.10>").Append(startLine.StartsWith("SIP/2.0 2", StringComparison.Ordinal) ? ";tag=b2" : "").Append("\r\n");
        sb.Append("Call-ID: 4a5b@10.0.1.5\r\nCSeq: ").Append(cseq).Append(' ').Append(method).Append("\r\n");
        sb.Append("User-Agent: Cisco-CUCM14.0\r\nContact: <sip:200@10.0.1.5:5060>\r\n");
        if (contentType is not null) sb.Append("Content-Type: ").Append(contentType).Append("\r\n");
        sb.Append("Content-Length: ").Append(body.Length).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(sb.ToString()), .. body];
    }

    private static byte[] Join(byte separator, params byte[][] parts)
    {
        var ms = new MemoryStream();
        for (int i = 0; i < parts.Length; i++)
        {
            if (i > 0) ms.WriteByte(separator);
            ms.Write(parts[i]);
        }
        return ms.ToArray();
    }

    /// <summary>Ten G.711 packets (one lost, one marker) and an RTCP sender report with one report block, as the rtp target's records.</summary>
    private static byte[] RtpRecords()
    {
        var ms = new MemoryStream();
        for (int i = 0; i < 10; i++)
        {
            if (i == 6) continue;
            var p = new byte[12 + 160];
            p[0] = 0x80; p[1] = (byte)(i == 0 ? 0x80 : 0x00);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)(100 + i));
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), (uint)(8000 + 160 * i));
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), 0x11223344);
            ms.Write([(byte)p.Length, (byte)(p.Length >> 8)]);
            ms.Write(p);
        }
        var sr = new byte[52];
        sr[0] = 0x81; sr[1] = 200;
        BinaryPrimitives.WriteUInt16BigEndian(sr.AsSpan(2), 12);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(4), 0x11223344);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(28), 0x55667788);
        sr[32] = 3; sr[35] = 1;
        ms.Write([(byte)sr.Length, 0]);
        ms.Write(sr);
        return ms.ToArray();
    }

    /// <summary>A DNS response for imagicle.example.com with a CNAME and an A record, the second name compressed.</summary>
    private static byte[] DnsAnswer()
    {
        var ms = new MemoryStream();
        ms.Write([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
        byte[] qname = [3, .. "app"u8, 8, .. "imagicle"u8, 7, .. "example"u8, 3, .. "com"u8, 0];
        ms.Write(qname); ms.Write([0, 1, 0, 1]);
        ms.Write([0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xC0, 16]);
        ms.Write([0xC0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 10]);
        return ms.ToArray();
    }

    /// <summary>A TLS 1.2 ClientHello record with one cipher suite and the server_name extension.</summary>
    private static byte[] ClientHello(string host)
    {
        byte[] name = Encoding.ASCII.GetBytes(host);
        var sni = new List<byte> { 0, 0 };
        int listLen = 3 + name.Length;
        sni.AddRange([(byte)((listLen + 2) >> 8), (byte)(listLen + 2), (byte)(listLen >> 8), (byte)listLen, 0, (byte)(name.Length >> 8), (byte)name.Length]);
        sni.AddRange(name);
        var body = new List<byte> { 3, 3 };
        body.AddRange(new byte[32]);
        body.Add(0);
        body.AddRange([0, 2, 0x13, 0x01, 1, 0]);
        body.AddRange([(byte)(sni.Count >> 8), (byte)sni.Count]);
        body.AddRange(sni);
        var hs = new List<byte> { 1, 0, (byte)(body.Count >> 8), (byte)body.Count };
        hs.AddRange(body);
        return [0x16, 3, 1, (byte)(hs.Count >> 8), (byte)hs.Count, .. hs];
    }

    private static void W16(byte[] b, int at, ushort v, bool be)
    {
        if (be) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), v); else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
    }

    private static void W32(byte[] b, int at, uint v, bool be)
    {
        if (be) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), v); else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
    }
}
