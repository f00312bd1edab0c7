using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Synth.Building;

/// <summary>
/// Plays one TCP connection into a <see cref="CaptureBuilder"/>. Delays are as seen at the
/// capture point: <see cref="ServerDelayUs"/> is the time from a client frame passing the
/// capture point to the server's answer passing it (SYN -> SYN/ACK), <see cref="ClientDelayUs"/>
/// the same for the client (SYN/ACK -> ACK). A capture next to the client sees the whole network
/// RTT as server delay; next to the server, as client delay.
/// </summary>
public sealed class TcpSession
{
    public const int Mss = 1460;
    public const ushort SynWindow = 64240;
    /// <summary>Window after the handshake, in units of 2^8 (window scale 8 offered in the SYN).</summary>
    public const ushort DataWindow = 1026;
    /// <summary>Gap between back-to-back segments of one burst, µs.</summary>
    public const long SegmentGapUs = 15;

    /// <summary>MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted: what Windows and Linux offer.</summary>
    private static readonly byte[] SynOptions = [0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02];

    private readonly CaptureBuilder _b;
    private uint _clientNext;
    private uint _serverNext;

    public TcpSession(CaptureBuilder builder, Flow flow, long serverDelayUs, long clientDelayUs)
    {
        if (flow.Protocol != Frames.ProtocolTcp) throw new ArgumentException("not a TCP flow");
        _b = builder;
        Flow = flow;
        ServerDelayUs = serverDelayUs;
        ClientDelayUs = clientDelayUs;
        _clientNext = (uint)builder.Rng.NextInt64(0, 1L << 32);
        _serverNext = (uint)builder.Rng.NextInt64(0, 1L << 32);
    }

    public Flow Flow { get; }
    public long ServerDelayUs { get; }
    public long ClientDelayUs { get; }

    /// <summary>Time of the last frame written (µs from capture start).</summary>
    public long T { get; private set; }

    public TcpSession At(long t)
    {
        T = t;
        return this;
    }

    public TcpSession Wait(long us)
    {
        T += us;
        return this;
    }

    /// <summary>Three-way handshake starting at <paramref name="t"/>.</summary>
    public TcpSession Connect(long t)
    {
        T = t;
        uint isn = _clientNext;
        _b.EmitTcp(Flow, true, T, isn, 0, TcpFlag.Syn, SynWindow, SynOptions, default);
        Flow.SynTime = T;
        _clientNext = isn + 1;
        T += ServerDelayUs;
        uint sisn = _serverNext;
        _b.EmitTcp(Flow, false, T, sisn, _clientNext, TcpFlag.Syn | TcpFlag.Ack, SynWindow, SynOptions, default);
        Flow.SynAckTime = T;
        _serverNext = sisn + 1;
        T += ClientDelayUs;
        _b.EmitTcp(Flow, true, T, _clientNext, _serverNext, TcpFlag.Ack, DataWindow, default, default);
        Flow.HandshakeAckTime = T;
        Flow.TcpState = "established";
        return this;
    }

    /// <summary>A SYN nobody answers, sent again after each offset in <paramref name="retryAfterUs"/> (from the first SYN).</summary>
    public TcpSession SynUnanswered(long t, params long[] retryAfterUs)
    {
        T = t;
        _b.EmitTcp(Flow, true, t, _clientNext, 0, TcpFlag.Syn, SynWindow, SynOptions, default);
        Flow.SynTime = t;
        foreach (var r in retryAfterUs)
        {
            T = t + r;
            _b.EmitTcp(Flow, true, T, _clientNext, 0, TcpFlag.Syn, SynWindow, SynOptions, default);
            Flow.SynTime = T;
        }
        Flow.SynRetries = retryAfterUs.Length;
        Flow.TcpState = "unanswered";
        return this;
    }

    /// <summary>SYN answered by RST/ACK (closed port).</summary>
    public TcpSession Refused(long t)
    {
        T = t;
        _b.EmitTcp(Flow, true, T, _clientNext, 0, TcpFlag.Syn, SynWindow, SynOptions, default);
        Flow.SynTime = T;
        T += ServerDelayUs;
        _b.EmitTcp(Flow, false, T, 0, _clientNext + 1, TcpFlag.Rst | TcpFlag.Ack, 0, default, default);
        Flow.RstTime = T;
        Flow.TcpState = "refused";
        return this;
    }

    /// <summary>The capture starts in the middle of this connection: no handshake is written.</summary>
    public TcpSession Midstream(long t)
    {
        T = t;
        Flow.TcpState = "midstream";
        Flow.ServerMayStart = true;
        return this;
    }

    /// <summary>Client sends <paramref name="request"/>; the server answers with <paramref name="response"/> after <paramref name="thinkUs"/> (or a pure ACK when null); the client ACKs.</summary>
    public TcpSession Request(byte[] request, byte[]? response, long thinkUs = 200)
    {
        Send(true, request);
        if (response is null)
        {
            T += ServerDelayUs;
            _b.EmitTcp(Flow, false, T, _serverNext, _clientNext, TcpFlag.Ack, DataWindow, default, default);
            return this;
        }
        T += ServerDelayUs + thinkUs;
        Send(false, response);
        T += ClientDelayUs;
        _b.EmitTcp(Flow, true, T, _clientNext, _serverNext, TcpFlag.Ack, DataWindow, default, default);
        return this;
    }

    /// <summary>
    /// The client sends <paramref name="data"/> but the capture point misses it (an overloaded SPAN):
    /// the sequence numbers move on and the server will acknowledge bytes the capture never saw.
    /// </summary>
    public TcpSession SentButNotCaptured(byte[] data)
    {
        _clientNext += (uint)data.Length;
        return this;
    }

    /// <summary>The server acknowledges everything the client sent so far (a pure ACK after <see cref="ServerDelayUs"/>).</summary>
    public TcpSession ServerAck()
    {
        T += ServerDelayUs;
        _b.EmitTcp(Flow, false, T, _serverNext, _clientNext, TcpFlag.Ack, DataWindow, default, default);
        return this;
    }

    /// <summary>Server speaks (banner, push) after <paramref name="afterUs"/>; the client ACKs.</summary>
    public TcpSession ServerPush(byte[] data, long afterUs = 0)
    {
        T += afterUs;
        Send(false, data);
        T += ClientDelayUs;
        _b.EmitTcp(Flow, true, T, _clientNext, _serverNext, TcpFlag.Ack, DataWindow, default, default);
        return this;
    }

    /// <summary>Server sends <paramref name="data"/> and the client answers with <paramref name="reply"/>; the server ACKs.</summary>
    public TcpSession ServerRequest(byte[] data, byte[] reply, long thinkUs = 200)
    {
        Send(false, data);
        T += ClientDelayUs + thinkUs;
        Send(true, reply);
        T += ServerDelayUs;
        _b.EmitTcp(Flow, false, T, _serverNext, _clientNext, TcpFlag.Ack, DataWindow, default, default);
        return this;
    }

    /// <summary>FIN from one side, FIN/ACK back, last ACK.</summary>
    public TcpSession Close(bool clientFirst = true)
    {
        bool a = clientFirst;
        Fin(a);
        T += a ? ServerDelayUs : ClientDelayUs;
        Fin(!a);
        T += a ? ClientDelayUs : ServerDelayUs;
        if (a) _b.EmitTcp(Flow, true, T, _clientNext, _serverNext, TcpFlag.Ack, DataWindow, default, default);
        else _b.EmitTcp(Flow, false, T, _serverNext, _clientNext, TcpFlag.Ack, DataWindow, default, default);
        return this;
    }

    private void Fin(bool fromClient)
    {
        if (fromClient)
        {
            _b.EmitTcp(Flow, true, T, _clientNext, _serverNext, TcpFlag.Fin | TcpFlag.Ack, DataWindow, default, default);
            _clientNext++;
        }
        else
        {
            _b.EmitTcp(Flow, false, T, _serverNext, _clientNext, TcpFlag.Fin | TcpFlag.Ack, DataWindow, default, default);
            _serverNext++;
        }
    }

    /// <summary>Writes <paramref name="data"/> as MSS-sized segments, PSH on the last; T ends at the last one.</summary>
    private void Send(bool fromClient, byte[] data)
    {
        for (int off = 0; off < data.Length; off += Mss)
        {
            int n = Math.Min(Mss, data.Length - off);
            bool last = off + n >= data.Length;
            var flags = TcpFlag.Ack | (last ? TcpFlag.Psh : 0);
            if (off > 0) T += SegmentGapUs;
            if (fromClient)
            {
                _b.EmitTcp(Flow, true, T, _clientNext, _serverNext, flags, DataWindow, default, data.AsSpan(off, n));
                _clientNext += (uint)n;
            }
            else
            {
                _b.EmitTcp(Flow, false, T, _serverNext, _clientNext, flags, DataWindow, default, data.AsSpan(off, n));
                _serverNext += (uint)n;
            }
        }
    }
}
