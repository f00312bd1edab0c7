using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Synth.Building;

/// <summary>
/// A bidirectional flow being generated. Counters are advanced by <see cref="CaptureBuilder"/>
/// for every frame it actually records, so the truth reflects the written capture.
/// </summary>
public sealed class Flow
{
    private ushort _clientIpId;
    private ushort _serverIpId;

    internal Flow(int index, byte protocol, Host client, ushort clientPort, Host server, ushort serverPort,
        ushort vlan, string service, string note, Random rng)
    {
        Index = index;
        Protocol = protocol;
        Client = client;
        ClientPort = clientPort;
        Server = server;
        ServerPort = serverPort;
        Vlan = vlan;
        Service = service;
        Note = note;
        _clientIpId = (ushort)rng.Next(0, 65536);
        _serverIpId = (ushort)rng.Next(0, 65536);
    }

    public int Index { get; }
    public byte Protocol { get; }
    public Host Client { get; }
    public ushort ClientPort { get; }
    public Host Server { get; }
    public ushort ServerPort { get; }
    public ushort Vlan { get; }
    public string Service { get; }
    public string Note { get; set; }

    /// <summary>Every frame of the flow is captured twice (a SPAN session copying two ports).</summary>
    public bool SpanDuplicates { get; set; }

    /// <summary>The first frame may come from the server (midstream captures).</summary>
    public bool ServerMayStart { get; set; }

    public string TcpState { get; set; } = "";
    public int SynRetries { get; set; }
    public long? SynTime { get; set; }
    public long? SynAckTime { get; set; }
    public long? HandshakeAckTime { get; set; }
    /// <summary>RST answering the SYN (refused connections).</summary>
    public long? RstTime { get; set; }

    public int PacketsC2s { get; internal set; }
    public int PacketsS2c { get; internal set; }
    public long BytesC2s { get; internal set; }
    public long BytesS2c { get; internal set; }
    public long FirstTime { get; internal set; } = long.MaxValue;
    public long LastTime { get; internal set; } = long.MinValue;
    internal bool FirstFromClient { get; set; }

    internal ushort NextIpId(bool fromClient) => fromClient ? _clientIpId++ : _serverIpId++;

    /// <summary>IPv4 identification the next frame from that side will carry (ICMP errors quote it).</summary>
    public ushort PeekIpId(bool fromClient) => fromClient ? _clientIpId : _serverIpId;

    public string Direction => (Client.IsNode, Server.IsNode) switch
    {
        (true, true) => "NODE",
        (false, true) => "IN",
        (true, false) => "OUT",
        _ => "NONE",
    };

    public string Transport => Protocol switch
    {
        Frames.ProtocolTcp => "tcp",
        Frames.ProtocolUdp => "udp",
        _ => "icmp",
    };

    internal FlowTruth ToTruth(long captureStart)
    {
        static double? Ms(long? a, long? b) => a is null || b is null ? null : (b.Value - a.Value) / 1000.0;
        return new FlowTruth
        {
            Transport = Transport,
            ClientIp = Client.Address,
            ClientPort = ClientPort,
            ServerIp = Server.Address,
            ServerPort = ServerPort,
            Vlan = Vlan == 0 ? null : Vlan,
            ExpectedService = Service,
            Direction = Direction,
            TcpState = TcpState,
            SynRetries = SynRetries,
            // Wireshark's tcp.analysis.initial_rtt: the first ACK without SYN after the SYN, which
            // for a refused connection is the RST/ACK.
            HandshakeRttMs = Ms(SynTime, HandshakeAckTime ?? RstTime),
            ServerRttMs = Ms(SynTime, SynAckTime ?? RstTime),
            ClientRttMs = HandshakeAckTime is null ? null : Ms(SynAckTime, HandshakeAckTime),
            PacketsC2s = PacketsC2s,
            PacketsS2c = PacketsS2c,
            BytesC2s = BytesC2s,
            BytesS2c = BytesS2c,
            FirstSeconds = (FirstTime - captureStart) / 1e6,
            LastSeconds = (LastTime - captureStart) / 1e6,
            Note = Note,
        };
    }
}
