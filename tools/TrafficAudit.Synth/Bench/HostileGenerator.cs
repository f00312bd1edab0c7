using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Synth.Bench;

/// <summary>
/// Adversarial captures of about <c>packets</c> packets each, for tools/bench-hostile.sh and the caps'
/// tests: each aims at one per-object cost of the audit (issue 13's targets).
/// <list type="bullet">
/// <item><c>ssrc</c>: one call whose SDP announces 10.0.0.10:30000; then RTP to that port with a new SSRC in every packet.</item>
/// <item><c>flows</c>: a new UDP flow (source address and port) in every packet, towards the node.</item>
/// <item><c>useragents</c>: one answered call, then 20,000 in-dialog INFO requests each with a new User-Agent (and its 200 OK); RTP of the call fills the rest.</item>
/// <item><c>reinvites</c>: one answered call, then 200 re-INVITEs each offering 200 m= lines on new ports, each answered with 200 m= lines; RTP fills the rest.</item>
/// <item><c>ssrcflows</c>: as <c>ssrc</c>, but each packet also comes from a new source port (a new flow of the same call).</item>
/// <item><c>synscan</c>: 10.9.9.9 sends SYNs to every port of the node 10.0.0.10 (new source port each round), each answered by RST/ACK.</item>
/// <item><c>shorttcp</c>: short TCP connections one after another (SYN, SYN/ACK, ACK, FIN both ways, ACK) towards the node's 443, 100 a second, each from a new source port: memory must follow concurrent flows, not every flow seen.</item>
/// </list>
/// Packets are 20 µs apart. Deterministic: no randomness beyond the seed-free counters.
/// </summary>
public static class HostileGenerator
{
    public static IReadOnlyList<string> Cases { get; } = ["ssrc", "flows", "useragents", "reinvites", "synscan", "ssrcflows", "shorttcp"];

    private static readonly Host Node = new("10.0.0.10", "node", true);
    private static readonly Host Phone = new("10.1.0.1", "phone");
    private static readonly Host Scanner = new("10.9.9.9", "scanner");
    private const ushort SipPort = 5060, PhoneRtp = 20000, NodeRtp = 30000;
    private const long StepUs = 20;

    /// <summary>Writes the case's capture; returns the number of packets written.</summary>
    public static long Generate(Stream stream, string kind, long packets, int userAgents = 20_000, int reInvites = 200, int mediaLines = 200)
    {
        var w = new Writer(stream);
        switch (kind)
        {
            case "ssrc": Ssrc(w, packets, newFlows: false); break;
            case "ssrcflows": Ssrc(w, packets, newFlows: true); break;
            case "flows": Flows(w, packets); break;
            case "useragents": UserAgents(w, packets, userAgents); break;
            case "reinvites": ReInvites(w, packets, reInvites, mediaLines); break;
            case "synscan": SynScan(w, packets); break;
            case "shorttcp": ShortTcp(w, packets); break;
            default: throw new ArgumentException($"unknown case '{kind}'; known: {string.Join(", ", Cases)}");
        }
        w.Flush();
        return w.Count;
    }

    private static void Ssrc(Writer w, long packets, bool newFlows)
    {
        CallSetup(w, "hostile-ssrc@10.1.0.1");
        var rtp = new byte[12 + 160];
        rtp[0] = 0x80;
        for (uint i = 0; w.Count < packets; i++)
        {
            rtp[1] = 0; // PCMU
            BinaryPrimitives.WriteUInt16BigEndian(rtp.AsSpan(2), (ushort)i);
            BinaryPrimitives.WriteUInt32BigEndian(rtp.AsSpan(4), i * 160);
            BinaryPrimitives.WriteUInt32BigEndian(rtp.AsSpan(8), 0x10000000 + i); // a new SSRC every packet
            w.Udp(Phone.Ip, Phone.Mac, newFlows ? (ushort)(PhoneRtp + 2 + i % 40_000) : PhoneRtp, Node.Ip, Node.Mac, NodeRtp, rtp);
        }
    }

    private static void Flows(Writer w, long packets)
    {
        var payload = new byte[48];
        for (int i = 0; i < payload.Length; i++) payload[i] = (byte)(0x41 + i % 26);
        for (long i = 0; w.Count < packets; i++)
        {
            uint src = Frames.ParseIPv4("172.16.0.0") + (uint)(i / 50_000) + 1;
            ushort port = (ushort)(10_000 + i % 50_000);
            w.Udp(src, Phone.Mac, port, Node.Ip, Node.Mac, 9999, payload);
        }
    }

    private static void UserAgents(Writer w, long packets, int count)
    {
        const string callId = "hostile-ua@10.1.0.1";
        CallSetup(w, callId);
        for (int i = 0; i < count && w.Count < packets; i++)
        {
            string cseq = (2 + i).ToString(CultureInfo.InvariantCulture);
            string ua = $"hostile-agent/{i}.0 (build {i * 7919 % 100000})";
            w.Sip(true, Request("INFO", callId, cseq, "z9hG4bKinfo" + i, toTag: true, $"User-Agent: {ua}\r\n", null));
            if (w.Count < packets) w.Sip(false, Response("200 OK", callId, cseq + " INFO", "z9hG4bKinfo" + i, $"Server: {ua}-srv\r\n", null));
        }
        RtpFill(w, packets);
    }

    private static void ReInvites(Writer w, long packets, int count, int lines)
    {
        const string callId = "hostile-reinvite@10.1.0.1";
        CallSetup(w, callId);
        for (int r = 0; r < count && w.Count < packets; r++)
        {
            string cseq = (2 + r).ToString(CultureInfo.InvariantCulture);
            string branch = "z9hG4bKre" + r;
            w.Sip(true, Request("INVITE", callId, cseq, branch, toTag: true, "", ManyLinesSdp(Phone, 40_000 + r, lines, 1024 + 2 * lines * r % 60_000)));
            if (w.Count < packets) w.Sip(false, Response("200 OK", callId, cseq + " INVITE", branch, "", ManyLinesSdp(Node, 50_000 + r, lines, 1024 + 2 * lines * r % 60_000)));
            if (w.Count < packets) w.Sip(true, Request("ACK", callId, cseq, branch + "a", toTag: true, "", null));
        }
        RtpFill(w, packets);
    }

    private static void SynScan(Writer w, long packets)
    {
        for (long i = 0; w.Count < packets; i++)
        {
            ushort dport = (ushort)(1 + i % 65_535);
            ushort sport = (ushort)(1024 + i / 65_535);
            uint seq = (uint)(i * 2654435761L);
            w.Tcp(Scanner.Ip, Scanner.Mac, sport, Node.Ip, Node.Mac, dport, seq, 0, TcpFlag.Syn);
            if (w.Count < packets) w.Tcp(Node.Ip, Node.Mac, dport, Scanner.Ip, Scanner.Mac, sport, 0, seq + 1, TcpFlag.Rst | TcpFlag.Ack);
        }
    }

    private static void ShortTcp(Writer w, long packets)
    {
        const long ConnectionEveryUs = 10_000;
        for (long i = 0; w.Count < packets; i++)
        {
            uint src = Frames.ParseIPv4("172.16.0.0") + (uint)(i / 50_000) + 1;
            ushort port = (ushort)(10_000 + i % 50_000);
            uint cs = (uint)(i * 2654435761L), ss = cs ^ 0x5a5a5a5a;
            (bool FromClient, uint Seq, uint Ack, TcpFlag Flags)[] steps =
            [
                (true, cs, 0, TcpFlag.Syn), (false, ss, cs + 1, TcpFlag.Syn | TcpFlag.Ack), (true, cs + 1, ss + 1, TcpFlag.Ack),
                (true, cs + 1, ss + 1, TcpFlag.Fin | TcpFlag.Ack), (false, ss + 1, cs + 2, TcpFlag.Fin | TcpFlag.Ack), (true, cs + 2, ss + 2, TcpFlag.Ack),
            ];
            foreach (var (fromClient, seq, ack, flags) in steps)
            {
                if (w.Count >= packets) break;
                if (fromClient) w.Tcp(src, Phone.Mac, port, Node.Ip, Node.Mac, 443, seq, ack, flags);
                else w.Tcp(Node.Ip, Node.Mac, 443, src, Phone.Mac, port, seq, ack, flags);
            }
            w.Wait(ConnectionEveryUs - steps.Length * StepUs);
        }
    }

    /// <summary>INVITE with an audio offer, 200 OK with the answer, ACK: the call announces Phone:20000 and Node:30000.</summary>
    private static void CallSetup(Writer w, string callId)
    {
        w.Sip(true, Request("INVITE", callId, "1", "z9hG4bKinv", toTag: false, "User-Agent: Hostile Phone\r\n", AudioSdp(Phone, PhoneRtp)));
        w.Sip(false, Response("200 OK", callId, "1 INVITE", "z9hG4bKinv", "Server: Hostile Node\r\n", AudioSdp(Node, NodeRtp)));
        w.Sip(true, Request("ACK", callId, "1", "z9hG4bKack", toTag: true, "", null));
    }

    /// <summary>RTP of the call both ways (one SSRC per direction) until the capture has <paramref name="packets"/> packets.</summary>
    private static void RtpFill(Writer w, long packets)
    {
        var rtp = new byte[12 + 160];
        rtp[0] = 0x80;
        for (uint i = 0; w.Count < packets; i++)
        {
            bool fromPhone = (i & 1) == 0;
            uint n = i / 2;
            BinaryPrimitives.WriteUInt16BigEndian(rtp.AsSpan(2), (ushort)n);
            BinaryPrimitives.WriteUInt32BigEndian(rtp.AsSpan(4), n * 160);
            BinaryPrimitives.WriteUInt32BigEndian(rtp.AsSpan(8), fromPhone ? 0xAAAA0001u : 0xBBBB0002u);
            if (fromPhone) w.Udp(Phone.Ip, Phone.Mac, PhoneRtp, Node.Ip, Node.Mac, NodeRtp, rtp);
            else w.Udp(Node.Ip, Node.Mac, NodeRtp, Phone.Ip, Phone.Mac, PhoneRtp, rtp);
        }
    }

    private static string AudioSdp(Host h, int port) =>
        $"v=0\r\no=- 1 1 IN IP4 {h}\r\ns=-\r\nc=IN IP4 {h}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";

    private static string ManyLinesSdp(Host h, int version, int lines, int firstPort)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"v=0\r\no=- 1 {version} IN IP4 {h}\r\ns=-\r\nc=IN IP4 {h}\r\nt=0 0\r\n");
        for (int k = 0; k < lines; k++)
            sb.Append(CultureInfo.InvariantCulture, $"m=audio {firstPort + 2 * k} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
        return sb.ToString();
    }

    private static string Request(string method, string callId, string cseq, string branch, bool toTag, string extra, string? sdp) =>
        Message($"{method} sip:7000@10.0.0.10 SIP/2.0", callId, $"{cseq} {method}", branch, toTag, extra, sdp);

    private static string Response(string status, string callId, string cseq, string branch, string extra, string? sdp) =>
        Message("SIP/2.0 " + status, callId, cseq, branch, true, extra, sdp);

    private static string Message(string first, string callId, string cseq, string branch, bool toTag, string extra, string? sdp) =>
        $"{first}\r\nVia: SIP/2.0/UDP 10.1.0.1:5060;branch={branch}\r\nFrom: <sip:phone@10.1.0.1>;tag=ft1\r\n"
        + $"To: <sip:7000@10.0.0.10>{(toTag ? ";tag=tt1" : "")}\r\nCall-ID: {callId}\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n{extra}"
        + (sdp is null ? "Content-Length: 0\r\n\r\n" : $"Content-Type: application/sdp\r\nContent-Length: {sdp.Length}\r\n\r\n{sdp}");

    /// <summary>Writes pcap records straight into a buffer; frames are built in place.</summary>
    private sealed class Writer
    {
        private readonly Stream _stream;
        private readonly byte[] _buf = new byte[4 << 20];
        private int _pos;
        private long _t = CaptureBuilder.DefaultStart.ToUnixTimeMilliseconds() * 1000;
        private ushort _ipId;
        public long Count;

        public Writer(Stream stream)
        {
            _stream = stream;
            Span<byte> g = stackalloc byte[PcapFileWriter.GlobalHeaderLength];
            PcapFileWriter.WriteGlobalHeader(g);
            stream.Write(g);
        }

        private Span<byte> Begin(int length)
        {
            if (_pos + PcapFileWriter.RecordHeaderLength + length > _buf.Length) Flush();
            PcapFileWriter.WriteRecordHeader(_buf.AsSpan(_pos), _t, length);
            _t += StepUs;
            var f = _buf.AsSpan(_pos + PcapFileWriter.RecordHeaderLength, length);
            _pos += PcapFileWriter.RecordHeaderLength + length;
            Count++;
            return f;
        }

        /// <summary>Moves the capture clock on by <paramref name="us"/> µs before the next packet.</summary>
        public void Wait(long us) => _t += Math.Max(0, us);

        public void Udp(uint src, byte[] srcMac, ushort srcPort, uint dst, byte[] dstMac, ushort dstPort, ReadOnlySpan<byte> payload)
        {
            int len = Frames.EthernetHeaderLength + Frames.IPv4HeaderLength + Frames.UdpHeaderLength + payload.Length;
            var f = Begin(len);
            int off = Frames.WriteEthernet(f, dstMac, srcMac, 0, EtherType.IPv4);
            int l4 = Frames.WriteUdp(f[(off + Frames.IPv4HeaderLength)..], src, dst, srcPort, dstPort, payload);
            Frames.WriteIPv4(f[off..], src, dst, Frames.ProtocolUdp, _ipId++, l4);
        }

        public void Tcp(uint src, byte[] srcMac, ushort srcPort, uint dst, byte[] dstMac, ushort dstPort, uint seq, uint ack, TcpFlag flags)
        {
            int len = Frames.EthernetHeaderLength + Frames.IPv4HeaderLength + Frames.TcpHeaderLength;
            var f = Begin(len);
            int off = Frames.WriteEthernet(f, dstMac, srcMac, 0, EtherType.IPv4);
            int l4 = Frames.WriteTcp(f[(off + Frames.IPv4HeaderLength)..], src, dst, srcPort, dstPort, seq, ack, flags, 29200, default, default);
            Frames.WriteIPv4(f[off..], src, dst, Frames.ProtocolTcp, _ipId++, l4);
        }

        public void Sip(bool fromPhone, string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            if (fromPhone) Udp(Phone.Ip, Phone.Mac, SipPort, Node.Ip, Node.Mac, SipPort, bytes);
            else Udp(Node.Ip, Node.Mac, SipPort, Phone.Ip, Phone.Mac, SipPort, bytes);
        }

        public void Flush()
        {
            _stream.Write(_buf, 0, _pos);
            _pos = 0;
            _stream.Flush();
        }
    }
}
