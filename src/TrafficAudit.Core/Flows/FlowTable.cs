using System.Runtime.InteropServices;
using TrafficAudit.Analyzers;
using TrafficAudit.Decode;

namespace TrafficAudit.Flows;

/// <summary>Idle timeouts, in capture time, after which a flow is closed and handed on.</summary>
public sealed record FlowTimeouts
{
    public long TcpIdleNs { get; init; } = 15L * 60 * 1_000_000_000;
    public long UdpIdleNs { get; init; } = 2L * 60 * 1_000_000_000;
    /// <summary>How long a flow that ended with FIN/RST stays, to take the last ACKs and retransmissions.</summary>
    public long ClosedLingerNs { get; init; } = 5L * 1_000_000_000;
    /// <summary>How often (capture time) the table is swept for idle flows.</summary>
    public long SweepIntervalNs { get; init; } = 10L * 1_000_000_000;
}

/// <summary>
/// Bidirectional flows keyed by <see cref="FlowKey"/>, only those in progress. A flow that ends (FIN/RST
/// after its linger, idle timeout, port reuse, the table full, end of input) is handed at once to the
/// <c>ended</c> callback and forgotten, so memory follows the number of concurrent flows, not the
/// length of the capture. At most <c>maxActive</c> flows are followed: a new flow beyond that closes the
/// least recently seen ones early (<see cref="FlowEndReason.Evicted"/>, counted in <c>flow_table_full</c>).
/// </summary>
public sealed class FlowTable
{
    /// <summary>
    /// Share of a full table closed at once when a new flow needs room: finding the oldest costs a scan and
    /// a sort of the whole table (about 30 ms at 250,000 flows), paid once per 1/16 of the cap.
    /// </summary>
    public const int EvictShare = 16;

    /// <summary>
    /// Ended flows kept for reuse (<see cref="Release"/>): about 5 MB of flow objects at most. A sweep that
    /// ends more at once lets the rest go to the collector; churn below about 1,600 flows a second (a sweep
    /// every 10 s of capture time) or an eviction of 1/16 of the default table is served from the pool.
    /// </summary>
    public const int MaxPooledFlows = 16_384;

    private readonly FlowTimeouts _timeouts;
    private readonly Action<Flow> _ended;
    private readonly int _maxActive;
    private readonly AnomalyCounters? _anomalies;
    private readonly FlowIndex _active = new(4096);
    private readonly List<int> _sweepScratch = new();
    private long[]? _evictScratch;
    private long _nextSweepNs = long.MinValue;
    private long _previousNs = long.MinValue;
    private long _sequence;
    private readonly Stack<Flow> _pool = new(256);

    /// <summary>
    /// Set by a shard of a sharded engine: the table neither sweeps on its own (the reader sends the sweeps, at the
    /// same packets for every shard, through <see cref="Sweep"/>) nor numbers flows itself (a new flow's
    /// <see cref="Flow.Sequence"/> is <see cref="NextSequence"/>, the ordinal of the frame that starts it; the merger
    /// gives its <see cref="Flow.Id"/>).
    /// </summary>
    internal bool Sharded { get; init; }
    /// <summary>Ended flows this table keeps for reuse at most (<see cref="MaxPooledFlows"/>; a shard keeps its share).</summary>
    internal int MaxPooled { get; init; } = MaxPooledFlows;
    /// <summary>With <see cref="Sharded"/>: the sequence a flow started by the next packet gets.</summary>
    internal long NextSequence;
    /// <summary>Called once for every flow as it starts (a shard reports it to the merger, which numbers it).</summary>
    internal Action<Flow>? FlowStarted { get; set; }
    /// <summary>Called once for every flow as it ends (FIN/RST linger, idle timeout, port reuse, end of input): the analyzers free its state.</summary>
    public Action<Flow>? FlowEnded { get; set; }
    /// <param name="timeouts">Idle timeouts; the defaults when null.</param>
    /// <param name="ended">Receives each flow as it ends, its <see cref="Flow.EndReason"/> set; the table keeps no reference to it.</param>
    /// <param name="maxActive">Flows followed at once; beyond it the least recently seen are closed early.</param>
    /// <param name="anomalies">Where <c>flow_table_full</c> is counted.</param>
    public FlowTable(FlowTimeouts? timeouts = null, Action<Flow>? ended = null, int maxActive = int.MaxValue, AnomalyCounters? anomalies = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxActive, 1);
        _timeouts = timeouts ?? new FlowTimeouts();
        _ended = ended ?? (_ => { });
        _maxActive = maxActive;
        _anomalies = anomalies;
    }

    public int ActiveCount => _active.Count;
    public IEnumerable<Flow> Active => _active.Flows();
    /// <summary>Flows created so far.</summary>
    public long TotalFlows => _sequence;
    /// <summary>Flows handed to the ended callback so far.</summary>
    public long EndedFlows { get; private set; }
    /// <summary>Flows closed early because the table was full.</summary>
    public long EvictedFlows { get; private set; }
    /// <summary>Idle sweeps run so far (the engine hands ended flows on at each).</summary>
    public long Sweeps { get; private set; }

    /// <summary>
    /// Accounts one decoded packet and returns its flow and which side (0 = first sender) sent it.
    /// Allocates only when a new flow starts.
    /// </summary>
    public Flow Track(in DecodedPacket p, long timestampNs, out int side)
    {
        if (!Sharded) MaybeSweep(timestampNs);
        var key = FlowKey.Create(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Protocol, p.Vlan, out bool srcIsA);
        // The hash is computed once: the lookup, and the insertion of a new flow, use it.
        int hash = key.Hash;
        int index = _active.Find(in key, hash);
        Flow flow;
        if (index >= 0)
        {
            flow = _active.FlowAt(index)!;
            if (ShouldStartOver(flow, in p, timestampNs))
            {
                // The new connection takes the old one's entry (its place in the table's order).
                _active.SetFlowAt(index, null);
                Finish(flow, flow.Closed ? flow.EndReason : FlowEndReason.PortReuse);
                flow = NewFlow(in key, srcIsA, timestampNs);
                _active.SetFlowAt(index, flow);
            }
        }
        else
        {
            if (_active.Count >= _maxActive) Evict();
            flow = NewFlow(in key, srcIsA, timestampNs);
            index = _active.Add(in key, hash, flow);
        }
        // A local, not the out parameter: written through its reference, it was read again from memory at every use.
        int s = flow.Side(srcIsA);
        side = s;

        if (p.IpId != 0) TrackDuplicate(flow, in p, timestampNs, s);
        if (flow.Packets[s]++ == 0) flow.FirstNs[s] = timestampNs;
        flow.Bytes[s] += p.IpLength;
        flow.LastNs[s] = timestampNs;
        if (timestampNs > flow.LastSeenNs)
        {
            flow.LastSeenNs = timestampNs;
            _active.LastSeenAt(index) = timestampNs;
        }
        if (timestampNs < flow.FirstSeenNs) flow.FirstSeenNs = timestampNs;

        if (p.Protocol == IpProtocol.Tcp) TrackTcp(flow, in p, timestampNs, s);
        return flow;
    }

    private Flow NewFlow(in FlowKey key, bool srcIsA, long timestampNs)
    {
        var fresh = _pool.TryPop(out var reused) ? reused : new Flow();
        if (Sharded)
        {
            fresh.Start(key, srcIsA, NextSequence, timestampNs);
            _sequence++;
            FlowStarted?.Invoke(fresh);
            return fresh;
        }
        fresh.Start(key, srcIsA, _sequence, timestampNs);
        fresh.Id = ++_sequence;
        return fresh;
    }

    /// <summary>Ties an ICMP unreachable back to the flow whose packet it quotes. False when no such flow is known.</summary>
    public bool TrackUnreachable(in DecodedPacket icmp, long timestampNs)
    {
        var key = FlowKey.Create(icmp.InnerSrc, icmp.InnerSrcPort, icmp.InnerDst, icmp.InnerDstPort, icmp.InnerProtocol, icmp.Vlan, out _);
        int index = _active.Find(in key, key.Hash);
        if (index < 0) return false;
        var flow = _active.FlowAt(index)!;
        if (flow.IcmpUnreachable++ == 0) flow.IcmpUnreachableFirstNs = timestampNs;
        return true;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool ShouldStartOver(Flow flow, in DecodedPacket p, long ts)
    {
        // A fresh SYN on a connection that already ended is a new connection on the same ports
        // (Wireshark starts a new tcp.stream there too). A SYN with the sequence number of the
        // last one is the same attempt sent again (a client retrying after each RST).
        if (p.Protocol != IpProtocol.Tcp || (p.TcpFlags & (TcpFlags.Syn | TcpFlags.Ack)) != TcpFlags.Syn) return false;
        if (flow.SynCount > 0 && p.TcpSeq == flow.LastSynSeq) return false;
        return flow.Closed || (flow.HandshakeAckNs != 0 && flow.FinSeen[0] && flow.FinSeen[1]);
    }

    /// <summary>Copies from a SPAN session arrive within this time of the original.</summary>
    public const long DuplicateWindowNs = 5_000_000;

    /// <summary>
    /// A SPAN session that mirrors both the ingress and the egress port delivers each packet twice, a
    /// few µs apart, byte for byte the same: same IPv4 id, header checksum and length as the packet
    /// before it in the same direction. A retransmission carries a new id. Packets with id 0 (some
    /// stacks send every DF packet with id 0) are not compared. Called before LastNs is updated.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void TrackDuplicate(Flow f, in DecodedPacket p, long ts, int side)
    {
        ulong identity = (ulong)p.IpId << 48 | (ulong)p.IpChecksum << 32 | (uint)p.IpLength;
        if (identity == f.LastIpIdentity[side] && f.Packets[side] != 0 && ts - f.LastNs[side] <= DuplicateWindowNs) f.DuplicatePackets++;
        f.LastIpIdentity[side] = identity;
    }

    /// <summary>
    /// Sequence space per side, to notice segments the capture missed: an ACK beyond the highest data
    /// seen from the other side acknowledges bytes that crossed the network but not the capture point
    /// (a loaded SPAN port drops them). Counted once per gap. Serial-number comparison (RFC 1982).
    /// </summary>
    private static void TrackSequence(Flow f, in DecodedPacket p, int side, bool syn, bool ack)
    {
        uint end = p.TcpSeq + (uint)p.TcpDataLength + (syn ? 1u : 0u) + ((p.TcpFlags & TcpFlags.Fin) != 0 ? 1u : 0u);
        if (syn || !f.SeqKnown[side] || (int)(end - f.NextSeq[side]) > 0)
        {
            f.NextSeq[side] = end;
            f.SeqKnown[side] = true;
        }
        int other = 1 - side;
        if (ack && f.SeqKnown[other] && (int)(p.TcpAck - f.NextSeq[other]) > 0)
        {
            f.AckedUnseen++;
            f.NextSeq[other] = p.TcpAck;
        }
    }

    private static void TrackTcp(Flow f, in DecodedPacket p, long ts, int side)
    {
        TcpFlags fl = p.TcpFlags;
        bool syn = (fl & TcpFlags.Syn) != 0, ack = (fl & TcpFlags.Ack) != 0;
        if ((fl & TcpFlags.Rst) == 0) TrackSequence(f, in p, side, syn, ack);
        if (syn && !ack)
        {
            if (f.SynSide < 0) f.SynSide = (sbyte)side;
            if (side == f.SynSide)
            {
                f.SynCount++;
                f.LastSynSeq = p.TcpSeq;
            }
            // Wireshark's ts_mru_syn: every SYN without ACK, from either side.
            if (f.FirstAckNs == 0) f.LastSynNs = ts;
        }
        else if (syn && ack)
        {
            if (f.SynAckSide < 0) f.SynAckSide = (sbyte)side;
            if (f.SynAckNs == 0 && f.LastSynNs != 0 && side != f.SynSide) f.SynAckNs = ts;
        }
        else if (ack)
        {
            // tcp.analysis.initial_rtt: the first packet with ACK and without SYN, in either
            // direction, after the most recent SYN, minus that SYN.
            if (f.FirstAckNs == 0 && f.LastSynNs != 0) f.FirstAckNs = ts;
            if (f.HandshakeAckNs == 0 && f.SynAckNs != 0 && side == f.SynSide) f.HandshakeAckNs = ts;
        }
        if ((fl & TcpFlags.Rst) != 0)
        {
            f.SawRst = true;
            if (f.RstSide < 0) f.RstSide = (sbyte)side;
            if (f.SynAckNs == 0 && f.SynSide >= 0 && side != f.SynSide && !f.RstBeforeHandshake)
            {
                f.RstBeforeHandshake = true;
                f.RefusingRstNs = ts;
            }
            f.Closed = true;
            f.EndReason = FlowEndReason.Rst;
        }
        if ((fl & TcpFlags.Fin) != 0)
        {
            f.FinSeen[side] = true;
            if (f.FinSeen[0] && f.FinSeen[1] && !f.Closed)
            {
                f.Closed = true;
                f.EndReason = FlowEndReason.Fin;
            }
        }
    }

    // Inlined into Track (a call per packet before): the test; the sweep itself stays out of line.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void MaybeSweep(long timestampNs)
    {
        // The sweep clock only moves when two consecutive packets agree: one frame with a bogus
        // timestamp years ahead (seen in real captures) must not expire every flow at once.
        long nowNs = Math.Min(timestampNs, _previousNs);
        _previousNs = timestampNs;
        if (nowNs >= _nextSweepNs) SweepDue(nowNs);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void SweepDue(long nowNs)
    {
        if (_nextSweepNs != long.MinValue) Sweep(nowNs);
        _nextSweepNs = nowNs + _timeouts.SweepIntervalNs;
    }

    /// <summary>Closes flows idle for longer than their timeout at capture time <paramref name="nowNs"/>.</summary>
    public void Sweep(long nowNs)
    {
        Sweeps++;
        _sweepScratch.Clear();
        // No timeout is shorter than the shortest of the three: a flow seen since then is not looked at
        // (the table's own copy of the last-seen time spares loading the flow object).
        long shortest = Math.Min(_timeouts.ClosedLingerNs, Math.Min(_timeouts.TcpIdleNs, _timeouts.UdpIdleNs));
        for (int i = 0, end = _active.End; i < end; i++)
        {
            var f = _active.FlowAt(i);
            if (f is null) continue;
            long idle = nowNs - _active.LastSeenAt(i);
            if (idle <= shortest) continue;
            long limit = f.Closed ? _timeouts.ClosedLingerNs : f.IsTcp ? _timeouts.TcpIdleNs : _timeouts.UdpIdleNs;
            if (idle > limit) _sweepScratch.Add(i);
        }
        foreach (int i in _sweepScratch)
        {
            var f = _active.RemoveAt(i);
            Finish(f, f.Closed ? f.EndReason : FlowEndReason.IdleTimeout);
        }
    }

    /// <summary>
    /// The table is full and a new flow starts: closes the least recently seen 1/16 of the table (at least
    /// one flow), each counted in <c>flow_table_full</c>. A flow already closed by FIN/RST keeps its reason.
    /// </summary>
    private void Evict()
    {
        int n = _active.Count;
        int k = Math.Max(1, n / EvictShare);
        if (_evictScratch is null || _evictScratch.Length < n) _evictScratch = new long[n];
        int j = 0;
        for (int i = 0, end = _active.End; i < end; i++)
            if (_active.FlowAt(i) is not null) _evictScratch[j++] = _active.LastSeenAt(i);
        var seen = _evictScratch.AsSpan(0, n);
        seen.Sort();
        long threshold = seen[k - 1];
        _sweepScratch.Clear();
        for (int i = 0, end = _active.End; i < end; i++)
        {
            if (_active.FlowAt(i) is null || _active.LastSeenAt(i) > threshold) continue;
            _sweepScratch.Add(i);
            if (_sweepScratch.Count == k) break;
        }
        foreach (int i in _sweepScratch)
        {
            var f = _active.RemoveAt(i);
            EvictedFlows++;
            _anomalies?.Increment("flow_table_full");
            Finish(f, f.Closed ? f.EndReason : FlowEndReason.Evicted);
        }
    }

    private void Finish(Flow f, FlowEndReason reason)
    {
        f.EndReason = reason;
        FlowEnded?.Invoke(f);
        EndedFlows++;
        _ended(f);
    }

    /// <summary>Ended flows waiting in the pool for reuse.</summary>
    public int PooledFlows => _pool.Count;

    /// <summary>
    /// Gives an ended flow back for reuse by a later flow, once everything that reads it is done: its
    /// record made, the analyzers' <see cref="FlowAnalyzer.End"/> run, the VoIP stage drained. The
    /// caller keeps no reference to it. A flow never released is simply collected.
    /// </summary>
    /// <exception cref="InvalidOperationException">The flow was released already (a bug of the caller).</exception>
    public void Release(Flow flow)
    {
        if (flow.Released) throw new InvalidOperationException($"flow {flow.Sequence + 1} released twice");
        flow.Released = true;
        if (_pool.Count < MaxPooled) _pool.Push(flow);
    }

    /// <summary>Ends every flow still in progress (end of input), in creation order, through the ended callback.</summary>
    public void Complete()
    {
        var open = _active.Flows();
        _active.Clear();
        open.Sort((x, y) => x.Sequence.CompareTo(y.Sequence));
        foreach (var f in open) Finish(f, f.Closed ? f.EndReason : FlowEndReason.CaptureEnd);
    }

    /// <summary>The flows in progress, in creation order, without closing any (for periodic output while capturing).</summary>
    public List<Flow> Snapshot()
    {
        var open = _active.Flows();
        open.Sort((x, y) => x.Sequence.CompareTo(y.Sequence));
        return open;
    }
}
