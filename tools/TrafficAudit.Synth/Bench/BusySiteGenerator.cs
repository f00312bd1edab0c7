using System.Text;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Protocols;
using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Synth.Wire;
using static TrafficAudit.Synth.Protocols.Payloads;

namespace TrafficAudit.Synth.Bench;

/// <summary>Options of <c>trafficaudit-synth busy</c>: simulated minutes and the seed.</summary>
public sealed record BusyOptions(int Minutes, int Seed = 1)
{
    /// <summary>A simulated week.</summary>
    public const int MaxMinutes = 7 * 1440;
}

/// <summary>
/// What <see cref="BusySiteGenerator"/> wrote. Counts are of what was generated (each connection,
/// lookup, ping and call once); <see cref="Flows"/> is the number of rows an audit writes to
/// flows.csv: one per TCP connection, DNS lookup, OPTIONS exchange and call's media, plus the SIP
/// trunks and the presence flow, which live for the whole capture.
/// </summary>
public sealed record BusySummary(int Minutes, long Packets, long Bytes, double CaptureSeconds,
    long TcpEstablished, long TcpUnanswered, long TcpRefused, long DnsLookups, long OptionsPings,
    long Calls, long SipPackets, long RtpPackets, long Flows);

/// <summary>
/// A busy Imagicle site in compressed time (issue 9's benchmark), written as a pcap minute by
/// minute so that a simulated day never sits in memory. Every simulated minute holds
/// <see cref="TcpPerMinute"/> short TCP connections (handshake, one request and answer, FIN both
/// ways) between many clients and a few servers on ports of the vendor's table, of which
/// <see cref="UnansweredPerMinute"/> SYNs are never answered and <see cref="RefusedPerMinute"/> are
/// refused by RST; <see cref="DnsPerMinute"/> DNS A lookups; <see cref="OptionsPerMinute"/> SIP
/// OPTIONS pings from CUCM, each from a new source port; <see cref="CallsPerMinute"/> short calls
/// on the Advanced Queuing trunk (INVITE/100/180/200/ACK with SDP, G.711 both ways at 50 packets/s
/// for 2-6 s, BYE/200); and one SIP presence SUBSCRIBE. The addresses are the site plan of
/// <see cref="SiteTopology"/> (nodes 10.0.0.10 and 10.0.0.11) plus 240 phones, 60 console clients
/// and 400 office PCs; <see cref="Profile"/> is the deployment profile it was made for.
/// Deterministic: minute k is drawn from its own generator seeded from the run's seed, and source
/// ports count up per client and server (Windows' sequential ephemeral ports), so the first N
/// minutes of a longer capture are the N-minute capture (apart from the calls still running at its end).
/// </summary>
public static class BusySiteGenerator
{
    public const int TcpPerMinute = 600;
    public const int UnansweredPerMinute = 6;
    public const int RefusedPerMinute = 6;
    public const int DnsPerMinute = 300;
    public const int OptionsPerMinute = 20;
    public const int CallsPerMinute = 30;
    public const double CallSecondsMin = 2;
    public const double CallSecondsMax = 6;
    /// <summary>SIP messages of one call: INVITE, 100, 180, 200, ACK, BYE, 200.</summary>
    public const int SipMessagesPerCall = 7;
    public const long MinuteUs = 60_000_000;

    private const int FirstEphemeralPort = 49152;
    private const int EphemeralPorts = 65536 - FirstEphemeralPort;
    private const ushort NodeRtpFirstPort = 10000;
    private const ushort NodeRtpLastPort = 19998;

    /// <summary>Kinds of short TCP connection and how many of each a minute holds (they add up to <see cref="TcpPerMinute"/>).</summary>
    public enum TcpKind { WebHttps, PhoneXml, ConsoleCti, Ldap, Smtp, Sql, Axl, Tapi, Cloud, Ipc, HaHealth, Unanswered, Refused }

    public static IReadOnlyList<(TcpKind Kind, int PerMinute)> TcpMix { get; } =
    [
        (TcpKind.WebHttps, 180), (TcpKind.PhoneXml, 90), (TcpKind.ConsoleCti, 60), (TcpKind.Ldap, 60),
        (TcpKind.Smtp, 48), (TcpKind.Sql, 48), (TcpKind.Axl, 30), (TcpKind.Tapi, 30), (TcpKind.Cloud, 24),
        (TcpKind.Ipc, 12), (TcpKind.HaHealth, 6), (TcpKind.Unanswered, UnansweredPerMinute), (TcpKind.Refused, RefusedPerMinute),
    ];

    /// <summary>The deployment the busy site was made for (written beside the capture as NAME.profile.json).</summary>
    public static SiteProfile Profile { get; } = new(
        ["10.0.0.10", "10.0.0.11"],
        ["advanced-queuing", "attendant-console", "digital-fax"],
        [("cucm", ["10.0.1.5", "10.0.1.6"]), ("mail", ["10.0.2.6"]), ("ldap", ["10.0.2.5"]), ("consoles", ["10.2.0.0/24"])],
        null,
        "{\"call_kbps\": 80, \"jitter_ms\": 30, \"loss_pct\": 1}");

    public static BusySummary Generate(Stream stream, BusyOptions options)
    {
        if (options.Minutes < 1 || options.Minutes > BusyOptions.MaxMinutes)
            throw new ArgumentOutOfRangeException(nameof(options), $"minutes must be 1..{BusyOptions.MaxMinutes}");
        var site = new BusySite(options.Seed);
        long start = CaptureBuilder.DefaultStart.ToUnixTimeMilliseconds() * 1000;
        var writer = new PcapFileWriter(stream, leaveOpen: true);
        var carry = new List<(long T, byte[] Frame)>();
        long packets = 0, bytes = 0, first = -1, last = 0;
        void Write((long T, byte[] Frame) r)
        {
            writer.Write(r.T, r.Frame);
            packets++;
            bytes += r.Frame.Length;
            if (first < 0) first = r.T;
            last = r.T;
        }
        for (int m = 0; m < options.Minutes; m++)
        {
            var frames = site.PlayMinute(m);
            // Minute m's events start inside it but may end in the next (a call, SYN retries):
            // merge them with what is left of the minutes before and write up to the next minute's
            // start, before which minute m + 1 writes nothing.
            long boundary = start + (m + 1) * MinuteUs;
            var next = new List<(long T, byte[] Frame)>();
            int i = 0, j = 0;
            while (i < carry.Count || j < frames.Count)
            {
                (long T, byte[] Frame) r = j >= frames.Count || (i < carry.Count && carry[i].T <= frames[j].UnixMicros)
                    ? carry[i++] : frames[j++];
                if (r.T < boundary) Write(r);
                else next.Add(r);
            }
            carry = next;
        }
        foreach (var r in carry) Write(r);
        writer.Dispose();
        var c = site.Counts;
        return new BusySummary(options.Minutes, packets, bytes, packets == 0 ? 0 : (last - first) / 1e6,
            c.TcpEstablished, c.TcpUnanswered, c.TcpRefused, c.Dns, c.Options, c.Calls, c.SipPackets, c.RtpPackets,
            c.TcpEstablished + c.TcpUnanswered + c.TcpRefused + c.Dns + c.Options + c.Calls + site.LongLivedFlows);
    }

    private sealed class Counters
    {
        public long TcpEstablished, TcpUnanswered, TcpRefused, Dns, Options, Calls, SipPackets, RtpPackets;
    }

    /// <summary>The site's state across minutes: its hosts, the next source port per client and server, the nodes' next RTP ports.</summary>
    private sealed class BusySite
    {
        private static readonly string[] DnsNames =
            [.. Enumerable.Range(1, 36).Select(i => $"host{i:00}.corp.local"),
             "dc01.corp.local", "mail.corp.local", "cucm-pub.corp.local", SiteFlows.LicensingName];

        private readonly Random _master;
        private readonly Host[] _phones = [.. Enumerable.Range(10, 240).Select(i => new Host($"10.1.0.{i}", "ip-phone"))];
        private readonly Host[] _consoles = [.. Enumerable.Range(31, 60).Select(i => new Host($"10.2.0.{i}", "ucx-console-client"))];
        private readonly Host[] _pcs = [.. Enumerable.Range(0, 400).Select(i => new Host($"10.3.{i / 250}.{i % 250 + 1}", "office-pc"))];
        private readonly Dictionary<(uint Client, uint Server, ushort Port, byte Protocol), ushort> _nextPort = [];
        private readonly Dictionary<uint, ushort> _nextNodeRtpPort = [];
        private readonly HashSet<(uint, uint)> _trunks = [];
        private bool _presence;

        // Per minute.
        private CaptureBuilder _b = null!;
        private SiteFlows _s = null!;
        private Random _rng = null!;
        private readonly Dictionary<(uint, uint), Flow> _trunkFlows = [];

        public BusySite(int seed) => _master = new Random(seed);

        public Counters Counts { get; } = new();

        /// <summary>The SIP trunks used and the presence flow: one flows.csv row each for the whole capture (traffic every minute, far inside UDP's idle timeout).</summary>
        public long LongLivedFlows => _trunks.Count + (_presence ? 1 : 0);

        private SiteTopology Net => _s.Net;

        public IReadOnlyList<(long UnixMicros, byte[] Frame)> PlayMinute(int minute)
        {
            int seed = _master.Next();
            _b = new CaptureBuilder(seed, localSubnet: 0x0A000000, CaptureBuilder.DefaultStart.AddMinutes(minute));
            _rng = _b.Rng;
            _s = new SiteFlows(_b);
            _trunkFlows.Clear();
            foreach (var (kind, count) in TcpMix)
                for (int i = 0; i < count; i++) Tcp(kind, At());
            for (int i = 0; i < DnsPerMinute; i++)
            {
                // A third from the primary node, a few from the secondary, the rest from office PCs.
                var client = i < DnsPerMinute / 3 ? Net.Node1 : i < DnsPerMinute * 2 / 5 ? Net.Node2 : Pick(_pcs);
                Dns(At(), client);
            }
            for (int i = 0; i < OptionsPerMinute; i++)
                Options(At(), i % 2 == 0 ? Net.Cucm : Net.CucmSub, i / 2 % 2 == 0 ? Net.Node1 : Net.Node2);
            for (int i = 0; i < CallsPerMinute; i++)
                Call(At(), i % 2 == 0 ? Net.Cucm : Net.CucmSub, i / 2 % 2 == 0 ? Net.Node1 : Net.Node2);
            _s.PresenceSubscribe(At(), Around(1_200));
            _presence = true;
            Counts.SipPackets += 2;
            return _b.Build($"trafficaudit-synth busy --minutes N (minute {minute})", SiteFlows.CapturePoint).Frames;
        }

        private long At() => _rng.NextInt64(0, MinuteUs);
        private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];
        /// <summary>A delay in µs around <paramref name="baseUs"/> (±10 %).</summary>
        private long Around(long baseUs) => baseUs + _rng.Next(-(int)(baseUs / 10), (int)(baseUs / 10) + 1);

        /// <summary>The client's next source port towards that server port: counts up from a start that differs per pair, wraps at 65535.</summary>
        private ushort SourcePort(Host client, Host server, ushort serverPort, byte protocol)
        {
            var key = (client.Ip, server.Ip, serverPort, protocol);
            if (!_nextPort.TryGetValue(key, out var p))
                p = (ushort)(FirstEphemeralPort + (int)((client.Ip * 2654435761u ^ server.Ip * 40503u ^ serverPort) % EphemeralPorts));
            _nextPort[key] = p == 65535 ? (ushort)FirstEphemeralPort : (ushort)(p + 1);
            return p;
        }

        private ushort NodeRtpPort(Host node)
        {
            var p = _nextNodeRtpPort.GetValueOrDefault(node.Ip, NodeRtpFirstPort);
            _nextNodeRtpPort[node.Ip] = p >= NodeRtpLastPort ? NodeRtpFirstPort : (ushort)(p + 2);
            return p;
        }

        private Flow NewFlow(byte protocol, Host client, ushort clientPort, Host server, ushort serverPort, string service)
            => _b.NewFlow(protocol, client, clientPort, server, serverPort, service, "", Net.VlanFor(client, server));

        private TcpSession Session(Host client, Host server, ushort port, string service, long serverDelayUs, long clientDelayUs)
            => new(_b, NewFlow(Frames.ProtocolTcp, client, SourcePort(client, server, port, Frames.ProtocolTcp), server, port, service),
                Around(serverDelayUs), Around(clientDelayUs));

        private byte[] Binary(int min, int max) => RandomBytes(_rng, _rng.Next(min, max + 1));

        private void Tcp(TcpKind kind, long t)
        {
            var n = Net;
            switch (kind)
            {
                case TcpKind.WebHttps:
                    Session(Pick(_pcs), n.Node1, 443, "https", 90, 1_500).Connect(t).Wait(1_000)
                        .Request(TlsClientHello(_rng, "imagicle.corp.local"), TlsServerFlight(_rng, 400), 900)
                        .Wait(2_000).Close();
                    break;
                case TcpKind.PhoneXml:
                    var phone = Pick(_phones);
                    Session(phone, n.Node1, 80, "http", 110, 1_800).Connect(t).Wait(1_000)
                        .Request(Ascii($"GET /imagicle/ContactManager/Directory.aspx?device=SEP0011{phone.Ip & 0xFFFF:X4}0000 HTTP/1.1\r\nHost: 10.0.0.10\r\nConnection: close\r\n\r\n"),
                            Ascii("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 40\r\nConnection: close\r\n\r\n<CiscoIPPhoneMenu></CiscoIPPhoneMenu>\r\n\r\n"), 8_000)
                        .Close(clientFirst: false);
                    break;
                case TcpKind.ConsoleCti:
                    Session(Pick(_consoles), n.Node1, 51234, "cti", 70, 1_400).Connect(t).Wait(1_000)
                        .Request(Ascii("<CtiLogin user=\"operator\" version=\"2025.1\"/>\r\n"), Ascii("<CtiLoginResult code=\"0\"/>\r\n"), 3_000)
                        .Close();
                    break;
                case TcpKind.Ldap:
                    Session(n.Node1, n.Ldap, 389, "ldap", 700, 45).Connect(t).Wait(1_000)
                        .Request(LdapMessage(1, LdapBind("CN=svc-imagicle,OU=Service,DC=corp,DC=local", "S3cret!")), LdapMessage(1, LdapResult(0x61)), 2_500)
                        .Close();
                    break;
                case TcpKind.Smtp:
                    Session(n.Node1, n.Mail, 25, "smtp", 800, 45).Connect(t)
                        .ServerPush(Ascii("220 mail.corp.local ESMTP Postfix\r\n"), 4_000)
                        .Request(Ascii("EHLO imagicle-node1.corp.local\r\n"), Ascii("250-mail.corp.local\r\n250 SMTPUTF8\r\n"))
                        .Request(Ascii("QUIT\r\n"), Ascii("221 2.0.0 Bye\r\n"))
                        .Close(clientFirst: false);
                    break;
                case TcpKind.Sql:
                    Session(n.Node2, n.Node1, 1433, "sql", 180, 160).Connect(t)
                        .Request(SiteFlows.TdsPrelogin(0x12), SiteFlows.TdsPrelogin(0x04), 300).Close();
                    break;
                case TcpKind.Axl:
                    Session(n.Node1, n.Cucm, 8443, "axl", 700, 60).Connect(t).Wait(1_000)
                        .Request(TlsClientHello(_rng, "cucm-pub.corp.local"), TlsServerFlight(_rng, 600), 800)
                        .Request(TlsAppData(_rng, 640), TlsAppData(_rng, 900), 20_000)
                        .Close();
                    break;
                case TcpKind.Tapi:
                    Session(n.Node1, n.Cucm, 2748, "tapi", 600, 50).Connect(t).Wait(2_000)
                        .Request(Binary(60, 90), Binary(120, 400)).Close();
                    break;
                case TcpKind.Cloud:
                    Session(n.Node1, n.Licensing, 443, "imagicle-cloud", 24_000, 60).Connect(t).Wait(500)
                        .Request(TlsClientHello(_rng, SiteFlows.LicensingName), TlsServerFlight(_rng, 800), 2_000)
                        .Close();
                    break;
                case TcpKind.Ipc:
                    Session(n.Node1, n.Node2, 52001, "ipc", 170, 150).Connect(t).Request(Binary(30, 80), Binary(30, 80)).Close();
                    break;
                case TcpKind.HaHealth:
                    Session(n.Node1, n.Node2, 80, "http", 170, 150).Connect(t)
                        .Request(Ascii("GET /ImagicleServer/HaStatus.aspx HTTP/1.1\r\nHost: 10.0.0.11\r\nConnection: close\r\n\r\n"),
                            Ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"role\":\"secondary\",\"ok\":1}"), 4_000)
                        .Close(clientFirst: false);
                    break;
                case TcpKind.Unanswered:
                    Session(n.Node1, n.Mail, 993, "imaps", 0, 0).SynUnanswered(t, 1_000_000, 3_000_000);
                    Counts.TcpUnanswered++;
                    return;
                case TcpKind.Refused:
                    Session(n.Node1, n.Mail, 995, "pop3s", 750, 0).Refused(t);
                    Counts.TcpRefused++;
                    return;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind));
            }
            Counts.TcpEstablished++;
        }

        private void Dns(long t, Host client)
        {
            int k = _rng.Next(DnsNames.Length);
            var name = DnsNames[k];
            var f = NewFlow(Frames.ProtocolUdp, client, SourcePort(client, Net.Dns, 53, Frames.ProtocolUdp), Net.Dns, 53, "dns");
            var id = (ushort)_rng.Next(0, 65536);
            _b.EmitUdp(f, true, t, DnsQueryA(id, name));
            // Each name always resolves to the same address: 10.20.0.k, the Imagicle cloud for api.imagicle.com.
            uint answer = name == SiteFlows.LicensingName ? Net.Licensing.Ip : 0x0A140000u + (uint)k + 1;
            _b.EmitUdp(f, false, t + Around(1_800), DnsResponseA(id, name, answer, 300));
            Counts.Dns++;
        }

        private void Options(long t, Host cucm, Host node)
        {
            var f = NewFlow(Frames.ProtocolUdp, cucm, SourcePort(cucm, node, 5060, Frames.ProtocolUdp), node, 5060, "sip");
            SipDialog.OptionsPing(_b, f, fromClient: true, t, Around(900));
            Counts.Options++;
            Counts.SipPackets += 2;
        }

        /// <summary>An Advanced Queuing call on the CUCM-to-node trunk (UDP 5062): a phone and the node exchange G.711 for 2-6 s.</summary>
        private void Call(long t0, Host cucm, Host node)
        {
            if (!_trunkFlows.TryGetValue((cucm.Ip, node.Ip), out var trunk))
            {
                trunk = NewFlow(Frames.ProtocolUdp, cucm, 5062, node, 5062, "sip");
                _trunkFlows[(cucm.Ip, node.Ip)] = trunk;
                _trunks.Add((cucm.Ip, node.Ip));
            }
            var phone = Pick(_phones);
            byte pt = _rng.Next(2) == 0 ? RtpSender.PayloadPcmu : RtpSender.PayloadPcma;
            var d = new SipDialog(_b, trunk, callerIsClient: true, "+390212" + _rng.Next(10000, 99999), "7000", truth: null);
            ushort phonePort = (ushort)(16384 + 2 * _rng.Next(0, 8191)), nodePort = NodeRtpPort(node);
            long t = t0;
            d.Request(t, true, "INVITE", SipDialog.AudioSdp(cucm, _rng.Next(1000, 99999), phone, phonePort, pt));
            d.Response(t += Around(1_200), false, 100, "Trying", "INVITE");
            d.Response(t += Around(35_000), false, 180, "Ringing", "INVITE");
            long ok = t += _rng.Next(300_000, 2_000_000);
            d.Response(ok, false, 200, "OK", "INVITE", SipDialog.AudioSdp(node, _rng.Next(1000, 99999), node, nodePort, pt));
            long ack = ok + Around(1_100);
            d.Request(ack, true, "ACK");

            int packets = (int)((CallSecondsMin + _rng.NextDouble() * (CallSecondsMax - CallSecondsMin)) * 1_000_000 / RtpSender.PacketIntervalUs);
            var rtp = NewFlow(Frames.ProtocolUdp, node, nodePort, phone, phonePort, "rtp");
            var fromNode = new RtpSender(_b, rtp, fromClient: true, pt);
            var fromPhone = new RtpSender(_b, rtp, fromClient: false, pt);
            long phoneStart = ack + Around(31_000);
            fromNode.Send(ok + Around(20_000), packets);
            fromPhone.Send(phoneStart, packets);
            long bye = phoneStart + packets * RtpSender.PacketIntervalUs + Around(100_000);
            d.Request(bye, true, "BYE");
            d.Response(bye + Around(1_500), false, 200, "OK", "BYE");
            Counts.Calls++;
            Counts.SipPackets += SipMessagesPerCall;
            Counts.RtpPackets += fromNode.PacketsSent + fromPhone.PacketsSent;
        }
    }
}
