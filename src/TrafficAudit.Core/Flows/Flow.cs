using TrafficAudit.Analyzers;
using TrafficAudit.Decode;

namespace TrafficAudit.Flows;

/// <summary>TCP connection set-up outcome, as written in flows.csv's tcp_state.</summary>
public enum TcpHandshakeState : byte
{
    /// <summary>Not TCP.</summary>
    None,
    /// <summary>SYN answered by SYN/ACK.</summary>
    Established,
    /// <summary>SYN(s) seen, never answered.</summary>
    Unanswered,
    /// <summary>SYN answered by RST, or refused by an ICMP unreachable.</summary>
    Refused,
    /// <summary>No SYN seen: the capture started after the connection was set up.</summary>
    Midstream,
}

/// <summary>Why a flow record was closed. <see cref="Evicted"/>: closed early because the flow table was full (the least recently seen flows go first).</summary>
public enum FlowEndReason : byte { CaptureEnd, Fin, Rst, IdleTimeout, PortReuse, Evicted }

/// <summary>
/// Live state of one bidirectional conversation. Side 0 is the endpoint that sent the first
/// packet, side 1 the other; the client is decided when the flow is finished.
/// <para>
/// Pooled: the <see cref="FlowTable"/> reuses the object for a later flow once the engine made the
/// ended flow's record (<see cref="FlowTable.Release"/>), so under churn a new flow allocates nothing.
/// Nothing may keep a reference to a flow after it was released: records copy what they need.
/// </para>
/// </summary>
public sealed class Flow
{
    // Layout (the runtime puts a class's plain fields first, then its struct fields in the order declared):
    // the TCP fields and flags, then what the engine reads for every packet (the analyzers' hints and
    // bookkeeping, the VoIP stage's state, set once by that stage), then the fields every packet writes
    // (PerPacket: counters, times), then fields seldom touched (the key among them: the flow table's index
    // compares its own copy), then, last and more than a cache line past anything written per
    // packet, the counters the VoIP stage writes on its own thread (VoipOwned): the two threads do not
    // write one cache line packet after packet. A UDP packet touches three or four of the object's lines
    // (five or six before). FlowLayoutTests checks it.


    /// <summary>Fields the engine's thread reads or writes for every packet of the flow.</summary>
    private struct PerPacket
    {
        public PerSide<long> Packets;
        public PerSide<long> Bytes;
        public PerSide<long> LastNs;
        public long LastSeenNs;
        public long FirstSeenNs;
        public PerSide<ulong> LastIpIdentity;
        public long Sequence;
        public bool FirstSenderIsA;
    }

    /// <summary>Fields written once per flow or seldom.</summary>
    private struct Rare
    {
        /// <summary>The flow table's index keeps its own copy, which the lookup compares: the flow's is read when the flow is written out.</summary>
        public FlowKey Key;
        public PerSide<long> FirstNs;
        public long IcmpUnreachableFirstNs;
        public int IcmpUnreachable;
        public int DuplicatePackets;
        public int AckedUnseen;
        public long Id;
        public int Shard;
        public Pipeline.FlowSnapshotMemo? SnapshotMemo;
    }

    /// <summary>The VoIP stage's state of the flow: written once by that stage's thread, read for every packet the engine hands it.</summary>
    private struct VoipLink
    {
        public Analyzers.Rtp.VoipTracker.FlowVoip? State;
    }

    /// <summary>Counters written only by the VoIP stage's thread, some for every packet of a kind (RTCP, T.38).</summary>
    private struct VoipOwned
    {
        public long T38Packets;
        public long RtcpPackets;
        public bool CarriesVoip;
    }

    public FlowKey Key { get => _rare.Key; internal set => _rare.Key = value; }

    /// <summary>True when key endpoint A sent the first packet (side 0 = A).</summary>
    public bool FirstSenderIsA { get => _hot.FirstSenderIsA; internal set => _hot.FirstSenderIsA = value; }
    public long Sequence { get => _hot.Sequence; internal set => _hot.Sequence = value; }
    /// <summary>
    /// flow_id: 1 for the flow whose first packet came first, and so on. The flow table sets it as the flow starts;
    /// in a sharded engine (whose shards number flows by the frame that started them) the merger sets it, in capture order.
    /// </summary>
    public long Id { get => _rare.Id; internal set => _rare.Id = value; }
    /// <summary>The shard whose flow table follows this flow (0 without sharding).</summary>
    internal int Shard { get => _rare.Shard; set => _rare.Shard = value; }
    /// <summary>The record the last live snapshot made of this flow (null before one; cleared when the object serves another flow).</summary>
    internal Pipeline.FlowSnapshotMemo? SnapshotMemo { get => _rare.SnapshotMemo; set => _rare.SnapshotMemo = value; }

    // Per direction (index = side), kept inline in the object.
    public ref PerSide<long> Packets => ref _hot.Packets;
    public ref PerSide<long> Bytes => ref _hot.Bytes;
    public ref PerSide<long> FirstNs => ref _rare.FirstNs;
    public ref PerSide<long> LastNs => ref _hot.LastNs;
    public ref long FirstSeenNs => ref _hot.FirstSeenNs;
    public ref long LastSeenNs => ref _hot.LastSeenNs;

    // --- TCP handshake (times in ns; 0 = not seen) ---
    /// <summary>Side that sent the SYN without ACK (-1 none).</summary>
    public sbyte SynSide = -1;
    public int SynCount;
    /// <summary>Sequence number of the most recent SYN: a SYN with the same number is a retransmission, not a new connection.</summary>
    public uint LastSynSeq;
    /// <summary>Most recent SYN (Wireshark's ts_mru_syn).</summary>
    public long LastSynNs;
    /// <summary>First SYN/ACK after the most recent SYN.</summary>
    public long SynAckNs;
    /// <summary>Side that sent a SYN/ACK (-1 none).</summary>
    public sbyte SynAckSide = -1;
    /// <summary>First ACK without SYN after the most recent SYN (any side), as Wireshark's tcp.analysis.initial_rtt takes it.</summary>
    public long FirstAckNs;
    /// <summary>ACK from the SYN side after the SYN/ACK (completes the three-way handshake).</summary>
    public long HandshakeAckNs;
    public bool RstBeforeHandshake;
    /// <summary>Time of the RST that refused the SYN (0 = none).</summary>
    public long RefusingRstNs;
    public sbyte RstSide = -1;
    public bool SawRst;
    public PerSide<bool> FinSeen;
    public bool Closed;
    public FlowEndReason EndReason;

    // --- capture quality (see FlowTable.TrackCaptureQuality) ---
    /// <summary>Identity of the last IPv4 packet per side: id, header checksum and total length packed (0 = none).</summary>
    public ref PerSide<ulong> LastIpIdentity => ref _hot.LastIpIdentity;
    /// <summary>Packets identical at the IP layer (id, checksum, length) to the one before them in the same direction within a few ms: copies made by a SPAN setup.</summary>
    public ref int DuplicatePackets => ref _rare.DuplicatePackets;
    /// <summary>Per side: the sequence number after the highest data (SYN and FIN count one) seen from it.</summary>
    public PerSide<uint> NextSeq;
    public PerSide<bool> SeqKnown;
    // The struct fields in the order wanted (the TCP ones above come first): ...
    /// <summary>What the analyzers found in the payloads (SIP, TLS and its SNI, HTTP and a CONNECT target, the RTP verdict).</summary>
    public FlowHints Hints;
    /// <summary>The analyzer registry's bookkeeping: which analyzers still probe this flow or accepted it.</summary>
    public FlowAnalysis Analysis;
    private VoipLink _voipLink;
    private PerPacket _hot;
    private Rare _rare;
    // ... and last, away from the fields written for every packet.
    private VoipOwned _voip;
    /// <summary>ACKs that acknowledged data the other side sent but the capture never saw (segments missing from the capture, as Wireshark's "ACKed segment that wasn't captured").</summary>
    public ref int AckedUnseen => ref _rare.AckedUnseen;

    /// <summary>ICMP unreachable messages that quoted a packet of this flow.</summary>
    public ref int IcmpUnreachable => ref _rare.IcmpUnreachable;
    public ref long IcmpUnreachableFirstNs => ref _rare.IcmpUnreachableFirstNs;

    // Read-only views of the hints, for the readers downstream (classification, records, VoIP).
    public RtpVerdict Rtp => Hints.Rtp;
    public bool IsSip => Hints.IsSip;
    public bool IsTls => Hints.IsTls;
    /// <summary>The client sent an HTTP/1.x request line.</summary>
    public bool IsHttp => Hints.IsHttp;
    /// <summary>Authority of an HTTP CONNECT request (the flow goes through a proxy), e.g. "api.imagicle.com:443".</summary>
    public string? HttpConnectTarget => Hints.HttpConnectTarget;
    public string? ServerName => Hints.ServerName;
    /// <summary>
    /// The VoIP stage's own state of this flow (RTP streams, SDP bindings; see <see cref="Analyzers.Rtp.VoipTracker"/>),
    /// written only by that stage's thread; null until the flow carries media or SIP.
    /// </summary>
    internal Analyzers.Rtp.VoipTracker.FlowVoip? Voip { get => _voipLink.State; set => _voipLink.State = value; }
    /// <summary>Packets on this flow that SDP said carry T.38 (UDPTL).</summary>
    public ref long T38Packets => ref _voip.T38Packets;
    /// <summary>RTCP packets on this flow seen by the VoIP stage (on an RTP flow: RTCP multiplexed on the RTP port, RFC 5761).</summary>
    public ref long RtcpPackets => ref _voip.RtcpPackets;
    /// <summary>
    /// The VoIP stage made an RTP stream of this flow's datagrams or read a SIP message in them (UDP): an RTP stream's or
    /// a SIP transaction's record may name this flow's ends. Written by that stage's thread, before the flow's record is made.
    /// </summary>
    public bool CarriesVoip { get => _voip.CarriesVoip; internal set => _voip.CarriesVoip = value; }

    /// <summary>
    /// Makes a released flow (or a new one) the start of another conversation: every field as a new
    /// object has it (a test compares each field of a reused flow with a fresh one), then the identity.
    /// </summary>
    internal void Start(FlowKey key, bool firstSenderIsA, long sequence, long firstSeenNs)
    {
        _hot = default;
        _hot.FirstSenderIsA = firstSenderIsA;
        _hot.Sequence = sequence;
        _hot.FirstSeenNs = firstSeenNs;
        // One whole-struct store: "_rare = default" then "_rare.Key = key" left FirstNs[0] of a reused flow set once the
        // JIT had optimised this method (FlowChurnTests caught it after the tests before it made Start hot).
        _rare = new Rare { Key = key };
        SynSide = -1;
        SynCount = 0;
        LastSynSeq = 0;
        LastSynNs = 0;
        SynAckNs = 0;
        SynAckSide = -1;
        FirstAckNs = 0;
        HandshakeAckNs = 0;
        RstBeforeHandshake = false;
        RefusingRstNs = 0;
        RstSide = -1;
        SawRst = false;
        FinSeen = default;
        Closed = false;
        EndReason = default;
        NextSeq = default;
        SeqKnown = default;
        Hints = default;
        Analysis = default;
        _voipLink = default;
        _voip = default;
        Released = false;
    }

    /// <summary>Given back to the table's pool (<see cref="FlowTable.Release"/>); cleared when it starts again.</summary>
    internal bool Released;

    public int Side(bool srcIsA) => srcIsA == FirstSenderIsA ? 0 : 1;
    public IpAddress Address(int side) => (side == 0) == FirstSenderIsA ? Key.A : Key.B;
    public ushort Port(int side) => (side == 0) == FirstSenderIsA ? Key.PortA : Key.PortB;
    public bool IsTcp => Key.Protocol == IpProtocol.Tcp;

    public TcpHandshakeState HandshakeState
    {
        get
        {
            if (!IsTcp) return TcpHandshakeState.None;
            // Only the SYN/ACK was captured (the SYN was missed): the server did answer.
            if (SynSide < 0) return SynAckSide >= 0 ? TcpHandshakeState.Established : TcpHandshakeState.Midstream;
            if (SynAckNs != 0) return TcpHandshakeState.Established;
            if (RstBeforeHandshake || IcmpUnreachable > 0) return TcpHandshakeState.Refused;
            // The SYN/ACK was not captured but the server side talks: it answered.
            return Packets[1 - SynSide] > 0 ? TcpHandshakeState.Established : TcpHandshakeState.Unanswered;
        }
    }

    /// <summary>SYNs sent again after the first.</summary>
    public int SynRetries => SynCount > 0 ? SynCount - 1 : 0;
}

/// <summary>
/// Two values, one per direction of a flow, stored inline (no array object). Plain fields rather
/// than an [InlineArray]: indexing one by a variable goes through a generic CoreLib helper that
/// ReadyToRun code cannot inline (it showed in the profile of the hot loop).
/// </summary>
public struct PerSide<T>
{
    private T _side0;
    private T _side1;

    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    public ref T this[int side] => ref side == 0 ? ref _side0 : ref _side1;
}
