using System.Buffers.Binary;
using System.Text;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Protocols;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Synth.Bench;

/// <summary>Options of <c>trafficaudit-synth bench</c>.</summary>
public sealed record BenchOptions(long Packets, int Calls = 200, int Seed = 1)
{
    public const int MaxCalls = 16_000;
}

/// <summary>What the generator wrote; <see cref="CaptureSeconds"/> is last minus first record time.</summary>
public sealed record BenchSummary(long Packets, long RtpPackets, long OtherPackets, long Bytes, double CaptureSeconds);

/// <summary>
/// Fast generator of large mixed VoIP captures: <see cref="BenchOptions.Calls"/> concurrent G.711
/// calls (both directions, 20 ms) give about 90 % of the packets; SIP, TCP and DNS fill the rest.
/// Frames are copied from templates built once and patched in place in the output buffer
/// (IP id and checksum, RTP sequence/timestamp/marker, TCP sequence numbers, DNS id); UDP and TCP
/// checksums are left 0, which receivers treat as "not computed" (UDP) or which Wireshark does not check by default (TCP).
/// </summary>
public static class BenchGenerator
{
    /// <summary>One non-RTP packet after this many RTP packets: 9 of 10 packets are RTP.</summary>
    private const int RtpPerOther = 9;
    private const int TcpConnections = 8;
    private const long TickUs = RtpSender.PacketIntervalUs;
    private const int RtpFrameLength = Frames.EthernetHeaderLength + Frames.IPv4HeaderLength + Frames.UdpHeaderLength
        + RtpSender.HeaderLength + RtpSender.G711Payload; // 214
    private const int IpOffset = Frames.EthernetHeaderLength;
    private const int L4Offset = IpOffset + Frames.IPv4HeaderLength;
    private const int RtpOffset = L4Offset + Frames.UdpHeaderLength;

    private sealed class Stream1
    {
        public required byte[] Template;
        public ushort Seq;
        public uint Timestamp;
        public ushort IpId;
        public bool Started;
    }

    private sealed class TcpConn
    {
        public required byte[] ClientTemplate;
        public required byte[] ServerTemplate;
        public uint ClientSeq;
        public uint ServerSeq;
        public ushort ClientIpId;
        public ushort ServerIpId;
    }

    /// <summary>Output buffer that takes records directly: frames are patched where they will be written.</summary>
    private sealed class Output(Stream stream)
    {
        private readonly byte[] _buf = new byte[4 << 20];
        private int _pos;
        private long _lastT;
        public long FirstT = -1;
        public long LastT => _lastT;
        public long Count;
        public long Bytes;

        public Span<byte> Begin(long unixMicros, int length)
        {
            if (_pos + PcapFileWriter.RecordHeaderLength + length > _buf.Length) Flush();
            if (unixMicros < _lastT) unixMicros = _lastT;  // keep records in time order
            _lastT = unixMicros;
            if (FirstT < 0) FirstT = unixMicros;
            PcapFileWriter.WriteRecordHeader(_buf.AsSpan(_pos), unixMicros, length);
            var frame = _buf.AsSpan(_pos + PcapFileWriter.RecordHeaderLength, length);
            _pos += PcapFileWriter.RecordHeaderLength + length;
            Count++;
            Bytes += length;
            return frame;
        }

        public void Copy(long unixMicros, ReadOnlySpan<byte> frame) => frame.CopyTo(Begin(unixMicros, frame.Length));

        public void Flush()
        {
            stream.Write(_buf, 0, _pos);
            _pos = 0;
        }
    }

    public static BenchSummary Generate(Stream stream, BenchOptions options)
    {
        if (options.Packets < 0) throw new ArgumentOutOfRangeException(nameof(options), "packets must be >= 0");
        if (options.Calls < 1 || options.Calls > BenchOptions.MaxCalls) throw new ArgumentOutOfRangeException(nameof(options), $"calls must be 1..{BenchOptions.MaxCalls}");
        var rng = new Random(options.Seed);
        long start = CaptureBuilder.DefaultStart.ToUnixTimeMilliseconds() * 1000;
        Span<byte> g = stackalloc byte[PcapFileWriter.GlobalHeaderLength];
        PcapFileWriter.WriteGlobalHeader(g);
        stream.Write(g);
        var o = new Output(stream);

        var node = new Host("10.0.0.10", "node", true);
        var cucm = new Host("10.0.1.5", "cucm");
        int calls = options.Calls;
        var streams = new Stream1[calls * 2];
        var setup = new byte[calls][][];
        for (int c = 0; c < calls; c++)
        {
            var phone = new Host($"10.1.{c / 250}.{c % 250 + 1}", "phone");
            ushort nodePort = (ushort)(5000 + 2 * c), phonePort = (ushort)(16384 + 2 * (c % 8191));
            byte pt = (c & 1) == 0 ? RtpSender.PayloadPcmu : RtpSender.PayloadPcma;
            streams[2 * c] = NewStream(rng, phone, phonePort, node, nodePort, pt);
            streams[2 * c + 1] = NewStream(rng, node, nodePort, phone, phonePort, pt);
            setup[c] = CallSetup(rng, cucm, node, c, phone, phonePort, nodePort, pt);
        }
        var conns = new TcpConn[TcpConnections];
        for (int k = 0; k < TcpConnections; k++)
        {
            var client = new Host($"10.2.0.{31 + k}", "console");
            ushort cport = (ushort)(50_000 + 17 * k), sport = (k & 1) == 0 ? (ushort)51234 : (ushort)2748;
            conns[k] = new TcpConn
            {
                ClientTemplate = TcpTemplate(rng, client, cport, node, sport),
                ServerTemplate = TcpTemplate(rng, node, sport, client, cport),
                ClientSeq = (uint)rng.NextInt64(0, 1L << 32),
                ServerSeq = (uint)rng.NextInt64(0, 1L << 32),
                ClientIpId = (ushort)rng.Next(0, 65536),
                ServerIpId = (ushort)rng.Next(0, 65536),
            };
        }
        var dnsName = "api.imagicle.com";
        var dnsQuery = UdpFrame(node, 53001, new Host("10.0.2.53", "dns"), 53, Payloads.DnsQueryA(0, dnsName));
        var dnsResponse = UdpFrame(new Host("10.0.2.53", "dns"), 53, node, 53001, Payloads.DnsResponseA(0, dnsName, 0xCB00710A, 300));
        var options1 = Encoding.ASCII.GetBytes("OPTIONS sip:10.0.0.10:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.1.5:5062;branch=z9hG4bK5a1c\r\nFrom: <sip:10.0.1.5>;tag=1\r\nTo: <sip:10.0.0.10>\r\nCall-ID: bench-options@10.0.1.5\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
        var sipOptions = UdpFrame(cucm, 5062, node, 5062, options1);
        var sipOptionsOk = UdpFrame(node, 5062, cucm, 5062, Encoding.ASCII.GetBytes("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.1.5:5062;branch=z9hG4bK5a1c\r\nFrom: <sip:10.0.1.5>;tag=1\r\nTo: <sip:10.0.0.10>;tag=2\r\nCall-ID: bench-options@10.0.1.5\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"));

        long n = options.Packets, rtp = 0, other = 0;
        int activeCalls = 0, rtpSinceOther = 0, otherKind = 0;
        ushort dnsId = (ushort)rng.Next(0, 65536);
        int perTickActivation = Math.Max(1, calls / 50);
        long stride = Math.Max(2, TickUs / calls);
        long t = 0;

        // TCP handshakes first.
        for (int k = 0; k < TcpConnections && o.Count < n; k++)
        {
            var cn = conns[k];
            TcpPacket(o, start + t, cn, true, TcpFlag.Syn, 0); t += 3;
            if (o.Count < n) { cn.ClientSeq++; TcpPacket(o, start + t, cn, false, TcpFlag.Syn | TcpFlag.Ack, 0); cn.ServerSeq++; t += 150; }
            if (o.Count < n) { TcpPacket(o, start + t, cn, true, TcpFlag.Ack, 0); t += 40; }
        }
        other = o.Count;

        for (long tick = 0; o.Count < n; tick++)
        {
            long baseT = Math.Max(t, tick * TickUs);
            // Call setup: INVITE / 100 / 180 / 200 / ACK for a few calls each tick until all are up.
            int activate = Math.Min(perTickActivation, calls - activeCalls);
            for (int c = activeCalls; c < activeCalls + activate; c++)
                foreach (var msg in setup[c])
                {
                    if (o.Count >= n) break;
                    o.Copy(start + baseT, msg); other++;
                }
            for (int c = 0; c < activeCalls && o.Count < n; c++)
            {
                long slot = baseT + c * stride;
                for (int dir = 0; dir < 2 && o.Count < n; dir++)
                {
                    long ts = slot + dir * (stride / 2) + rng.Next(0, (int)(stride / 4) + 1);
                    RtpPacket(o, start + ts, streams[2 * c + dir]);
                    rtp++;
                    if (++rtpSinceOther >= RtpPerOther && o.Count < n)
                    {
                        rtpSinceOther = 0;
                        OtherPacket(o, start + ts + 1, otherKind++, conns, dnsQuery, dnsResponse, sipOptions, sipOptionsOk, ref dnsId);
                        other++;
                    }
                }
            }
            activeCalls += activate;
            t = baseT + 1;
        }
        o.Flush();
        stream.Flush();
        return new BenchSummary(o.Count, rtp, other, o.Bytes, o.Count == 0 ? 0 : (o.LastT - o.FirstT) / 1e6);
    }

    private static Stream1 NewStream(Random rng, Host src, ushort srcPort, Host dst, ushort dstPort, byte pt)
    {
        var payload = new byte[RtpSender.HeaderLength + RtpSender.G711Payload];
        payload[0] = 0x80;
        payload[1] = pt;
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8), (uint)rng.NextInt64(1, 1L << 32));
        byte zero = pt == RtpSender.PayloadPcmu ? (byte)0xFF : (byte)0xD5;
        for (int i = RtpSender.HeaderLength; i < payload.Length; i++) payload[i] = (byte)(zero ^ rng.Next(0, 24));
        var frame = UdpFrame(src, srcPort, dst, dstPort, payload);
        return new Stream1
        {
            Template = frame,
            Seq = (ushort)rng.Next(0, 65536),
            Timestamp = (uint)rng.NextInt64(0, 1L << 32),
            IpId = (ushort)rng.Next(0, 65536),
        };
    }

    /// <summary>Ethernet + IPv4 + UDP frame around <paramref name="payload"/>, UDP checksum left 0.</summary>
    private static byte[] UdpFrame(Host src, ushort srcPort, Host dst, ushort dstPort, ReadOnlySpan<byte> payload, ushort vlan = 0)
    {
        var f = new byte[Frames.EthernetHeaderLength + Frames.VlanTagLength + Frames.IPv4HeaderLength + Frames.UdpHeaderLength + payload.Length];
        int off = Frames.WriteEthernet(f, dst.Mac, src.Mac, vlan, EtherType.IPv4);
        int l4 = Frames.WriteUdp(f.AsSpan(off + Frames.IPv4HeaderLength), src.Ip, dst.Ip, srcPort, dstPort, payload);
        Frames.WriteIPv4(f.AsSpan(off), src.Ip, dst.Ip, Frames.ProtocolUdp, 0, l4, dscp: 46);
        f[off + Frames.IPv4HeaderLength + 6] = 0;
        f[off + Frames.IPv4HeaderLength + 7] = 0;
        return f[..(off + Frames.IPv4HeaderLength + l4)];
    }

    /// <summary>Ethernet + IPv4 + TCP header followed by an MSS of random payload; length, flags and numbers are patched per packet.</summary>
    private static byte[] TcpTemplate(Random rng, Host src, ushort srcPort, Host dst, ushort dstPort)
    {
        var f = new byte[L4Offset + Frames.TcpHeaderLength + TcpSession.Mss];
        rng.NextBytes(f.AsSpan(L4Offset + Frames.TcpHeaderLength));
        Frames.WriteEthernet(f, dst.Mac, src.Mac, 0, EtherType.IPv4);
        Frames.WriteTcp(f.AsSpan(L4Offset), src.Ip, dst.Ip, srcPort, dstPort, 0, 0, TcpFlag.Ack, TcpSession.DataWindow, default, default);
        Frames.WriteIPv4(f.AsSpan(IpOffset), src.Ip, dst.Ip, Frames.ProtocolTcp, 0, Frames.TcpHeaderLength);
        f[L4Offset + 16] = 0; f[L4Offset + 17] = 0;
        return f;
    }

    private static byte[][] CallSetup(Random rng, Host cucm, Host node, int c, Host phone, ushort phonePort, ushort nodePort, byte pt)
    {
        string callId = $"{SipDialog.Hex(rng, 4)}-{SipDialog.Hex(rng, 4)}-bench{c}@10.0.1.5";
        string branch = SipDialog.Hex(rng, 6), tag = SipDialog.Hex(rng, 4), toTag = SipDialog.Hex(rng, 4);
        string offer = SipDialog.AudioSdp(cucm, 1000 + c, phone, phonePort, pt);
        string answer = SipDialog.AudioSdp(node, 5000 + c, node, nodePort, pt);
        string Head(string first, string toTagPart, string cseq, string? sdp) =>
            $"{first}\r\nVia: SIP/2.0/UDP 10.0.1.5:5062;branch=z9hG4bK{branch}\r\nFrom: <sip:caller{c}@10.0.1.5>;tag={tag}\r\n"
            + $"To: <sip:7000@10.0.0.10>{toTagPart}\r\nCall-ID: {callId}\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n"
            + (sdp is null ? "Content-Length: 0\r\n\r\n" : $"Content-Type: application/sdp\r\nContent-Length: {sdp.Length}\r\n\r\n{sdp}");
        byte[] F(bool fromCucm, string text) => fromCucm
            ? UdpFrame(cucm, 5062, node, 5062, Encoding.ASCII.GetBytes(text))
            : UdpFrame(node, 5062, cucm, 5062, Encoding.ASCII.GetBytes(text));
        return
        [
            F(true, Head("INVITE sip:7000@10.0.0.10:5062 SIP/2.0", "", "101 INVITE", offer)),
            F(false, Head("SIP/2.0 100 Trying", "", "101 INVITE", null)),
            F(false, Head("SIP/2.0 180 Ringing", ";tag=" + toTag, "101 INVITE", null)),
            F(false, Head("SIP/2.0 200 OK", ";tag=" + toTag, "101 INVITE", answer)),
            F(true, Head("ACK sip:7000@10.0.0.10:5062 SIP/2.0", ";tag=" + toTag, "101 ACK", null)),
        ];
    }

    private static void PatchIp(Span<byte> frame, ushort id, int totalLength)
    {
        var ip = frame[IpOffset..];
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], id);
        ip[10] = 0; ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Frames.Checksum(ip[..Frames.IPv4HeaderLength], 0));
    }

    private static void RtpPacket(Output o, long t, Stream1 s)
    {
        var f = o.Begin(t, RtpFrameLength);
        s.Template.CopyTo(f);
        PatchIp(f, s.IpId++, RtpFrameLength - IpOffset);
        var r = f[RtpOffset..];
        if (!s.Started) { r[1] |= 0x80; s.Started = true; }
        BinaryPrimitives.WriteUInt16BigEndian(r[2..], s.Seq++);
        BinaryPrimitives.WriteUInt32BigEndian(r[4..], s.Timestamp);
        s.Timestamp += RtpSender.SamplesPerPacket;
    }

    private static void TcpPacket(Output o, long t, TcpConn c, bool fromClient, TcpFlag flags, int payload)
    {
        var template = fromClient ? c.ClientTemplate : c.ServerTemplate;
        int len = L4Offset + Frames.TcpHeaderLength + payload;
        var f = o.Begin(t, len);
        template.AsSpan(0, len).CopyTo(f);
        PatchIp(f, fromClient ? c.ClientIpId++ : c.ServerIpId++, len - IpOffset);
        var tcp = f[L4Offset..];
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], fromClient ? c.ClientSeq : c.ServerSeq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], (flags & TcpFlag.Ack) != 0 ? (fromClient ? c.ServerSeq : c.ClientSeq) : 0);
        tcp[13] = (byte)flags;
        if (fromClient) c.ClientSeq += (uint)payload; else c.ServerSeq += (uint)payload;
    }

    private static void OtherPacket(Output o, long t, int kind, TcpConn[] conns, byte[] dnsQuery, byte[] dnsResponse,
        byte[] sipOptions, byte[] sipOptionsOk, ref ushort dnsId)
    {
        var conn = conns[(kind / 10) % conns.Length];
        switch (kind % 10)
        {
            case 0: case 4: case 8:
                int size = (kind % 3) switch { 0 => 120, 1 => 512, _ => TcpSession.Mss };
                bool fromClient = (kind / 10 & 1) == 0;
                TcpPacket(o, t, conn, fromClient, TcpFlag.Ack | TcpFlag.Psh, size); // payload: the template's random fill
                break;
            case 1: case 5: case 9:
                TcpPacket(o, t, conn, (kind / 10 & 1) != 0, TcpFlag.Ack, 0);
                break;
            case 2:
                dnsId++;
                Patch16(o.Begin(t, dnsQuery.Length), dnsQuery, dnsId);
                break;
            case 3:
                Patch16(o.Begin(t, dnsResponse.Length), dnsResponse, dnsId);
                break;
            case 6:
                o.Copy(t, sipOptions);
                break;
            default:
                o.Copy(t, sipOptionsOk);
                break;
        }
    }

    /// <summary>Copies a DNS frame and sets its transaction id (first two bytes after the UDP header).</summary>
    private static void Patch16(Span<byte> f, byte[] template, ushort id)
    {
        template.CopyTo(f);
        BinaryPrimitives.WriteUInt16BigEndian(f[(L4Offset + Frames.UdpHeaderLength)..], id);
    }
}
