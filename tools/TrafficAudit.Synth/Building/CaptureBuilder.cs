using System.Globalization;
using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Synth.Building;

/// <summary>
/// Collects the frames of a scenario (each stamped in microseconds from the capture start),
/// keeps per-flow and per-RTP-stream counts as frames are recorded, then sorts them by time
/// and writes the pcap and its ground truth. Deterministic: one <see cref="Random"/> seeded by
/// the caller, a fixed start time, no wall clock.
/// </summary>
public sealed class CaptureBuilder
{
    /// <summary>Default capture start: 2026-03-02T09:00:00Z.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Router MAC used for frames that cross subnets (Cisco HSRP virtual MAC).</summary>
    public static readonly byte[] RouterMac = [0x00, 0x00, 0x0c, 0x07, 0xac, 0x01];

    private readonly List<Record> _records = [];
    private readonly List<Flow> _flows = [];
    private readonly List<Host> _hosts = [];
    private readonly List<CallTruth> _calls = [];
    private readonly List<FindingTruth> _findings = [];
    private readonly byte[] _scratch = new byte[70_000];
    private readonly uint _localSubnet;

    public CaptureBuilder(int seed, uint localSubnet, DateTimeOffset? start = null)
    {
        Seed = seed;
        Rng = new Random(seed);
        _localSubnet = localSubnet & 0xFFFFFF00;
        StartUnixMicros = (start ?? DefaultStart).ToUnixTimeMilliseconds() * 1000;
    }

    public int Seed { get; }
    public Random Rng { get; }
    public long StartUnixMicros { get; }
    public IReadOnlyList<Flow> Flows => _flows;

    private readonly record struct Record(long Time, int Order, byte[] Frame);

    public Host AddHost(Host h)
    {
        _hosts.Add(h);
        return h;
    }

    public Flow NewFlow(byte protocol, Host client, ushort clientPort, Host server, ushort serverPort,
        string service, string note = "", ushort vlan = 0)
    {
        foreach (var f in _flows)
        {
            bool same = f.Protocol == protocol
                && ((f.Client == client && f.ClientPort == clientPort && f.Server == server && f.ServerPort == serverPort)
                 || (f.Client == server && f.ClientPort == serverPort && f.Server == client && f.ServerPort == clientPort));
            if (same) throw new InvalidOperationException($"flow declared twice: {client}:{clientPort} {server}:{serverPort}");
        }
        var flow = new Flow(_flows.Count, protocol, client, clientPort, server, serverPort, vlan, service, note, Rng);
        _flows.Add(flow);
        return flow;
    }

    public CallTruth AddCall(CallTruth call)
    {
        _calls.Add(call);
        return call;
    }

    /// <summary>Records a finding the scenario plants (ground truth for the policy tests).</summary>
    public void ExpectFinding(string kind, Host? server, int? serverPort, string note)
        => _findings.Add(new FindingTruth { Kind = kind, ServerIp = server?.Address ?? "", ServerPort = serverPort, Note = note });

    /// <summary>Hands out an ephemeral client port (49152-65535) the way Windows does.</summary>
    public ushort EphemeralPort() => (ushort)Rng.Next(49152, 65536);

    public void EmitUdp(Flow f, bool fromClient, long t, ReadOnlySpan<byte> payload)
    {
        int off = Begin(f, fromClient, out var src, out var dst);
        int l4 = Frames.WriteUdp(_scratch.AsSpan(off + Frames.IPv4HeaderLength), src.Ip, dst.Ip,
            fromClient ? f.ClientPort : f.ServerPort, fromClient ? f.ServerPort : f.ClientPort, payload);
        Finish(f, fromClient, t, off, src, dst, l4);
    }

    public void EmitTcp(Flow f, bool fromClient, long t, uint seq, uint ack, TcpFlag flags, ushort window,
        ReadOnlySpan<byte> options, ReadOnlySpan<byte> payload)
    {
        int off = Begin(f, fromClient, out var src, out var dst);
        int l4 = Frames.WriteTcp(_scratch.AsSpan(off + Frames.IPv4HeaderLength), src.Ip, dst.Ip,
            fromClient ? f.ClientPort : f.ServerPort, fromClient ? f.ServerPort : f.ClientPort,
            seq, ack, flags, window, options, payload);
        Finish(f, fromClient, t, off, src, dst, l4);
    }

    public void EmitIcmp(Flow f, bool fromClient, long t, byte type, byte code, ReadOnlySpan<byte> body)
    {
        int off = Begin(f, fromClient, out var src, out var dst);
        int l4 = Frames.WriteIcmp(_scratch.AsSpan(off + Frames.IPv4HeaderLength), type, code, 0, body);
        Finish(f, fromClient, t, off, src, dst, l4);
    }

    /// <summary>
    /// Builds the IPv4 header plus 8 bytes of the datagram that <paramref name="f"/> would carry,
    /// as quoted inside an ICMP error (RFC 792).
    /// </summary>
    public byte[] QuoteUdpDatagram(Flow f, bool fromClient, ReadOnlySpan<byte> payload, ushort ipId)
    {
        var src = fromClient ? f.Client : f.Server;
        var dst = fromClient ? f.Server : f.Client;
        var buf = new byte[Frames.IPv4HeaderLength + Frames.UdpHeaderLength + payload.Length];
        int l4 = Frames.WriteUdp(buf.AsSpan(Frames.IPv4HeaderLength), src.Ip, dst.Ip,
            fromClient ? f.ClientPort : f.ServerPort, fromClient ? f.ServerPort : f.ClientPort, payload);
        Frames.WriteIPv4(buf, src.Ip, dst.Ip, Frames.ProtocolUdp, ipId, l4);
        return buf[..(Frames.IPv4HeaderLength + Frames.UdpHeaderLength)];
    }

    private int Begin(Flow f, bool fromClient, out Host src, out Host dst)
    {
        src = fromClient ? f.Client : f.Server;
        dst = fromClient ? f.Server : f.Client;
        // Frames between subnets show the router on the far side, as seen from the capture
        // subnet (the nodes' subnet); flows that do not touch it keep the client's view.
        var local = src.Subnet == _localSubnet || dst.Subnet == _localSubnet
            ? (src.Subnet == _localSubnet ? src : dst)
            : f.Client;
        byte[] srcMac = src.Subnet == dst.Subnet || src == local ? src.Mac : RouterMac;
        byte[] dstMac = src.Subnet == dst.Subnet || dst == local ? dst.Mac : RouterMac;
        return Frames.WriteEthernet(_scratch, dstMac, srcMac, f.Vlan, EtherType.IPv4);
    }

    private void Finish(Flow f, bool fromClient, long t, int off, Host src, Host dst, int l4)
    {
        if (t < 0) throw new InvalidOperationException("negative time");
        var ipId = f.NextIpId(fromClient);
        byte ttl = src.IsNode || src.Subnet == _localSubnet ? (byte)128 : (byte)63;
        Frames.WriteIPv4(_scratch.AsSpan(off), src.Ip, dst.Ip, f.Protocol, ipId, l4, ttl,
            dscp: f.Service is "rtp" or "rtcp" or "t38" ? (byte)46 : f.Service.StartsWith("sip", StringComparison.Ordinal) ? (byte)24 : (byte)0);
        int ipLen = Frames.IPv4HeaderLength + l4;
        var frame = _scratch.AsSpan(0, off + ipLen).ToArray();
        _records.Add(new Record(t, _records.Count, frame));
        if (fromClient) { f.PacketsC2s++; f.BytesC2s += ipLen; }
        else { f.PacketsS2c++; f.BytesS2c += ipLen; }
        if (f.SpanDuplicates)
        {
            // A SPAN of both the ingress and the egress port: the same frame again, 12 µs later.
            _records.Add(new Record(t + SpanCopyDelayUs, _records.Count, frame));
            if (fromClient) { f.PacketsC2s++; f.BytesC2s += ipLen; }
            else { f.PacketsS2c++; f.BytesS2c += ipLen; }
        }
        if (t < f.FirstTime)
        {
            f.FirstTime = t;
            f.FirstFromClient = fromClient;
        }
        if (t > f.LastTime) f.LastTime = t;
    }

    /// <summary>Delay of the second copy of a frame on a flow with <see cref="Flow.SpanDuplicates"/>.</summary>
    public const long SpanCopyDelayUs = 12;

    /// <summary>Sorts the frames by time (stable) and checks the generator's own invariants.</summary>
    public SyntheticCapture Build(string generator, string capturePoint)
    {
        var ordered = _records.OrderBy(r => r.Time).ThenBy(r => r.Order).ToArray();
        foreach (var f in _flows)
        {
            if (f.PacketsC2s + f.PacketsS2c == 0) throw new InvalidOperationException($"flow {f.Client}:{f.ClientPort} has no packets");
            if (!f.FirstFromClient && !f.ServerMayStart)
                throw new InvalidOperationException($"flow {f.Client}:{f.ClientPort}->{f.Server}:{f.ServerPort} starts from its server");
        }
        long t0 = ordered.Length == 0 ? 0 : ordered[0].Time;
        var truth = new GroundTruth
        {
            Generator = generator,
            Seed = Seed,
            CaptureStart = DateTimeOffset.FromUnixTimeMilliseconds((StartUnixMicros + t0) / 1000)
                .ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            DurationSeconds = ordered.Length == 0 ? 0 : (ordered[^1].Time - t0) / 1e6,
            Packets = ordered.Length,
            CapturePoint = capturePoint,
            Nodes = _hosts.Where(h => h.IsNode).Select(h => h.Address).ToList(),
            Hosts = _hosts.Select(h => new HostTruth { Ip = h.Address, Role = h.Role }).ToList(),
            Flows = _flows.OrderBy(f => f.FirstTime).ThenBy(f => f.Index).Select(f => f.ToTruth(t0)).ToList(),
            Calls = _calls,
            ExpectedFindings = _findings,
        };
        return new SyntheticCapture(ordered.Select(r => (StartUnixMicros + r.Time, r.Frame)).ToArray(), truth);
    }
}

/// <summary>A finished scenario: time-ordered frames (absolute µs since the Unix epoch) and the truth.</summary>
public sealed class SyntheticCapture(IReadOnlyList<(long UnixMicros, byte[] Frame)> frames, GroundTruth truth)
{
    public IReadOnlyList<(long UnixMicros, byte[] Frame)> Frames { get; } = frames;
    public GroundTruth Truth { get; } = truth;
    /// <summary>The deployment profile the scenario was made for (trafficaudit audit --profile), or null.</summary>
    public string? ProfileJson { get; set; }

    public void WritePcap(Stream stream)
    {
        using var w = new PcapFileWriter(stream, leaveOpen: true);
        foreach (var (t, frame) in Frames) w.Write(t, frame);
    }

    public byte[] ToPcapBytes()
    {
        using var ms = new MemoryStream();
        WritePcap(ms);
        return ms.ToArray();
    }

    /// <summary>Writes DIR/NAME.pcap and DIR/NAME.truth.json; returns the pcap path.</summary>
    public string Save(string pcapPath)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(pcapPath))!;
        Directory.CreateDirectory(dir);
        using (var fs = new FileStream(pcapPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            WritePcap(fs);
        File.WriteAllText(TruthPathFor(pcapPath), Truth.ToJson());
        if (ProfileJson is not null) File.WriteAllText(ProfilePathFor(pcapPath), ProfileJson);
        return pcapPath;
    }

    /// <summary>captures/x.pcap -> captures/x.profile.json.</summary>
    public static string ProfilePathFor(string pcapPath)
        => Path.Combine(Path.GetDirectoryName(pcapPath) ?? "", Path.GetFileNameWithoutExtension(pcapPath) + ".profile.json");

    /// <summary>captures/x.pcap -> captures/x.truth.json.</summary>
    public static string TruthPathFor(string pcapPath)
        => Path.Combine(Path.GetDirectoryName(pcapPath) ?? "", Path.GetFileNameWithoutExtension(pcapPath) + ".truth.json");
}
