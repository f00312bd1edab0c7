using TrafficAudit.Capture;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline.Sharding;

namespace TrafficAudit.Pipeline;

/// <summary>
/// The sharded engine (<see cref="AuditOptions.Shards"/> &gt; 0). The caller's thread reads, decodes (IP reassembly
/// needs every fragment, so it stays here) and dispatches each packet to the shard that owns its flow (the hash of
/// the symmetric flow key), copying its decoded fields and payload into the shard's part of the current epoch. The
/// shards run flow tables and payload analyzers on their own threads and report what crosses flows as events
/// ordered by frame. The merger, on its own thread, waits until every shard finished an epoch, merges their events
/// in capture order and replays them into the same code the one-thread engine runs: flow numbering, the hand-over of
/// ended flows (node detection, classification, sinks), the DNS names, and the VoIP stage, which gets the packets
/// there in capture order: inline (`--threads 3`), or copied into batches for its own thread (`--threads 4` and more:
/// the merger's work then is mostly the hand-over). Consistency rule: a shard reads and writes only
/// the state of its own flows; everything that spans flows is applied by the merger, in frame order, so every
/// result is the same for any number of shards (tests compare every output file byte for byte).
/// </summary>
public sealed partial class AuditEngine
{
    /// <summary>Packets dispatched per epoch: the unit of hand-over between the reader, the shards and the merger.</summary>
    private const int EpochPackets = 4096;
    /// <summary>Payload bytes one shard's part of an epoch may hold before the epoch is handed over early.</summary>
    private const int EpochBytes = 2 << 20;
    /// <summary>Epochs handed to the shards and not yet merged, at most (the reader waits beyond).</summary>
    private const int EpochsInFlight = 3;

    private readonly FlowShard[]? _shards;
    private ShardEpoch? _filling;
    /// <summary>Epochs handed to the shards, in order, for the merger.</summary>
    private HandOffQueue<ShardEpoch>? _toMerge;
    /// <summary>Merged epochs, cleared, for the reader to fill again.</summary>
    private readonly System.Collections.Concurrent.ConcurrentBag<ShardEpoch> _freeEpochs = new();
    private int _epochsMade;
    private Thread? _merger;
    private readonly object _mergeGate = new();
    private long _epochsPosted, _epochsMerged;
    private Exception? _mergeFailure;
    /// <summary>What the merger counts (the hand-over, the DNS table, VoIP records): merged into <see cref="Anomalies"/> at the end.</summary>
    private readonly AnomalyCounters? _mergerAnomalies;
    private int[] _cursors = [];
    /// <summary>Sweeps merged so far (the one-thread engine reads its table's count).</summary>
    private long _sweepsMerged;
    /// <summary>Flows numbered so far by the merger (flow_id of the last one).</summary>
    private long _flowsNumbered;
    // The sweep clock every shard follows, kept by the reader exactly as FlowTable keeps it on one thread.
    private long _nextSweepNs = long.MinValue;
    private long _previousSweepClockNs = long.MinValue;

    /// <summary>Where the hand-over counts (the merger's own counters with shards, else the engine's).</summary>
    private AnomalyCounters HandOverAnomalies => _mergerAnomalies ?? Anomalies;

    /// <summary>Flows started so far (numbered, in the sharded engine: merged).</summary>
    public long TotalFlows => _shards is null ? _flows.TotalFlows : Volatile.Read(ref _flowsNumbered);

    /// <summary>Sweeps of the flow tables so far (the engine hands ended flows over at each).</summary>
    private long SweepsSoFar => _shards is null ? _flows.Sweeps : _sweepsMerged;

    private static FlowShard[]? CreateShards(AuditOptions options, Func<ushort, bool> isSipPort)
    {
        if (options.Shards <= 0) return null;
        var shards = new FlowShard[options.Shards];
        // The caps are shared out: a shard follows at most its share (flow_table_full counts per shard).
        for (int i = 0; i < shards.Length; i++) shards[i] = new FlowShard(i, shards.Length, options, isSipPort);
        return shards;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int ShardOf(int hash) => (int)((ulong)(uint)hash * (uint)_shards!.Length >> 32);

    /// <summary>An epoch to fill: a merged one, a new one while fewer than <see cref="EpochsInFlight"/> + 1 exist, else the next one the merger frees.</summary>
    private ShardEpoch NewEpoch()
    {
        if (_freeEpochs.TryTake(out var e)) return e;
        if (_epochsMade <= EpochsInFlight)
        {
            _epochsMade++;
            return new ShardEpoch(_shards!.Length, EpochPackets);
        }
        lock (_mergeGate)
            while (!_freeEpochs.TryTake(out e))
            {
                ThrowIfMergeFailed();
                Monitor.Wait(_mergeGate);
            }
        return e;
    }

    private void StartMerger()
    {
        _toMerge = new HandOffQueue<ShardEpoch>();
        _merger = new Thread(MergeLoop) { IsBackground = true, Name = "trafficaudit-merge" };
        _merger.Start();
    }

    private void MergeLoop()
    {
        while (_toMerge!.Take(out var ep))
        {
            try
            {
                ep.Wait();
                if (ep.Failure is { } e) throw new InvalidOperationException("flow analysis failed: " + e.Message, e);
                if (_mergeFailure is null) Merge(ep);
            }
            catch (Exception e)
            {
                _mergeFailure ??= e;
            }
            ep.Clear();
            _freeEpochs.Add(ep);
            lock (_mergeGate)
            {
                _epochsMerged++;
                Monitor.PulseAll(_mergeGate);
            }
        }
    }

    private void ThrowIfMergeFailed()
    {
        if (_mergeFailure is { } e) throw e as InvalidOperationException ?? new InvalidOperationException("merging the shards' results failed: " + e.Message, e);
    }

    /// <summary>Hands one decoded packet (<see cref="_packet"/>) to the shard of its flow, with the marks it brings.</summary>
    private void Dispatch(in FrameHeader header, ReadOnlySpan<byte> buffer)
    {
        ref readonly DecodedPacket p = ref _packet;
        long ts = header.TimestampNs;
        long ordinal = Statistics.Frames;
        var ep = _filling ??= NewEpoch();
        // An ICMP unreachable marks the flow it quotes, in that flow's shard, before anything else at this frame.
        if (p.IcmpUnreachable)
        {
            var quoted = FlowKey.Create(p.InnerSrc, p.InnerSrcPort, p.InnerDst, p.InnerDstPort, p.InnerProtocol, p.Vlan, out _);
            ref var mark = ref ep.Inputs[ShardOf(quoted.Hash)].Append();
            Describe(ref mark, ShardItemKind.Unreachable, ordinal, ts, in header);
            mark.Packet = p;
        }
        // The sweep clock (FlowTable.MaybeSweep): it moves only when two consecutive packets agree.
        long nowNs = Math.Min(ts, _previousSweepClockNs);
        _previousSweepClockNs = ts;
        if (nowNs >= _nextSweepNs)
        {
            if (_nextSweepNs != long.MinValue)
            {
                ep.Sweeps.Add(ordinal);
                foreach (var input in ep.Inputs) Describe(ref input.Append(), ShardItemKind.Sweep, ordinal, nowNs, in header);
            }
            _nextSweepNs = nowNs + _options.Timeouts.SweepIntervalNs;
        }
        var key = FlowKey.Create(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Protocol, p.Vlan, out _);
        var target = ep.Inputs[ShardOf(key.Hash)];
        ref var item = ref target.Append();
        Describe(ref item, ShardItemKind.Packet, ordinal, ts, in header);
        item.Packet = p;
        item.PayloadStart = target.CopyPayload(buffer.Slice(p.PayloadOffset, p.PayloadLength));
        item.PayloadLength = p.PayloadLength;
        // Every 10 s of capture time the ended VoIP records are taken over, after this packet's analyzers.
        if (ts >= _nextVoipTakeNs)
        {
            _nextVoipTakeNs = ts + 10_000_000_000L;
            ep.Takes.Add(ordinal);
        }
        if (++ep.Packets >= EpochPackets || target.Used >= EpochBytes) PostEpoch();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Describe(ref ShardItem item, ShardItemKind kind, long ordinal, long ts, in FrameHeader header)
    {
        item.Kind = kind;
        item.Ordinal = ordinal;
        item.TimestampNs = ts;
        item.Frame = header.FrameNumber;
        item.FileIndex = header.FileIndex;
        item.PayloadStart = 0;
        item.PayloadLength = 0;
    }

    /// <summary>Hands the epoch being filled to every shard and to the merger.</summary>
    private void PostEpoch()
    {
        var ep = _filling!;
        _filling = null;
        ThrowIfMergeFailed();
        ep.Arm();
        foreach (var s in _shards!) s.Post(ep);
        _epochsPosted++;
        _toMerge!.Add(ep);
    }

    /// <summary>Hands over what was dispatched and waits until it is merged: the shards and the merger are idle after it (end of input, snapshot).</summary>
    private void QuiesceShards()
    {
        if (_filling is { Packets: > 0 }) PostEpoch();
        lock (_mergeGate)
            while (_epochsMerged < _epochsPosted) Monitor.Wait(_mergeGate);
        ThrowIfMergeFailed();
        // What this thread now counts for the hand-over (end of input, snapshot) counts at the reader's frame, as on one thread.
        var a = _mergerAnomalies!;
        a.CurrentFrame = Anomalies.CurrentFrame;
        a.CurrentFileIndex = Anomalies.CurrentFileIndex;
        a.CurrentOrdinal = Anomalies.CurrentOrdinal;
    }

    /// <summary>Replays the shards' events of one epoch in frame order (k-way merge by <see cref="ShardEvent.Order"/>).</summary>
    private void Merge(ShardEpoch ep)
    {
        var outs = ep.Outputs;
        int n = outs.Length;
        if (_cursors.Length != n) _cursors = new int[n];
        var cur = _cursors;
        Array.Clear(cur);
        int sweep = 0, take = 0;
        // The frame after whose flow table step the one-thread engine checks whether ended flows are handed over.
        long check = -1;
        while (true)
        {
            long best = long.MaxValue;
            int bs = -1;
            for (int s = 0; s < n; s++)
            {
                var o = outs[s];
                if (cur[s] < o.EventCount && o.Events[cur[s]].Order < best)
                {
                    best = o.Events[cur[s]].Order;
                    bs = s;
                }
            }
            long nextSweep = sweep < ep.Sweeps.Count ? ep.Sweeps[sweep] * 4 : long.MaxValue;
            long nextTake = take < ep.Takes.Count ? ep.Takes[take] * 4 + 3 : long.MaxValue;
            long next = Math.Min(best, Math.Min(nextSweep, nextTake));
            if (next == long.MaxValue) break;
            if (check >= 0 && next > check * 4 + 1)
            {
                CheckHandOver(ep, check);
                check = -1;
            }
            if (next == nextSweep)
            {
                _sweepsMerged++;
                check = ep.Sweeps[sweep++];
                continue;
            }
            if (next == best)
            {
                var o = outs[bs];
                ref var e = ref o.Events[cur[bs]++];
                switch (e.Kind)
                {
                    case ShardEventKind.FlowStarted:
                        e.Flow.Id = Volatile.Read(ref _flowsNumbered) + 1;
                        Volatile.Write(ref _flowsNumbered, e.Flow.Id);
                        break;
                    case ShardEventKind.FlowEnded:
                        _ended.Add(e.Flow);
                        check = e.Order >> 2;
                        break;
                    case ShardEventKind.Voip:
                        ref var vp = ref o.Voip[e.Aux];
                        vp.FlowId = checked((int)e.Flow.Id);
                        _voipStage.AddPrepared(e.Flow, in vp, o.VoipPayload(e.Aux));
                        break;
                    case ShardEventKind.DnsAnswer:
                        ref var d = ref o.Dns[e.Aux];
                        var a = _mergerAnomalies!;
                        a.CurrentFrame = d.Frame;
                        a.CurrentFileIndex = d.FileIndex;
                        a.CurrentOrdinal = d.Ordinal;
                        _dns.Learn(d.Address, o.Chars.AsSpan(d.NameStart, d.NameLength));
                        break;
                }
                continue;
            }
            At(ep, ep.Takes[take++]);
            TakeVoipRecords();
        }
        if (check >= 0) CheckHandOver(ep, check);
    }

    /// <summary>The one-thread engine's check after a packet's flow table step (see <see cref="Process"/>).</summary>
    private void CheckHandOver(ShardEpoch ep, long ordinal)
    {
        if ((_ended.Count | _waiting.Flows) == 0 || (SweepsSoFar == _sweepsHandled && _ended.Count < MaxEndedWaiting)) return;
        At(ep, ordinal);
        HandOverEnded(endOfInput: false, handed: null);
    }

    /// <summary>Anomalies the merger raises count at the frame with this ordinal.</summary>
    private void At(ShardEpoch ep, long ordinal)
    {
        var (frame, file) = ep.FrameOf(ordinal);
        var a = _mergerAnomalies!;
        a.CurrentFrame = frame;
        a.CurrentFileIndex = file;
        a.CurrentOrdinal = ordinal;
    }

    /// <summary>An ended flow's record is made: the flow goes back to its table's pool (a shard's: with the next epoch).</summary>
    private void ReleaseFlow(Flow f)
    {
        if (_shards is null) _flows.Release(f);
        else _shards[f.Shard].Returned.Enqueue(f);
    }

    /// <summary>End of input, the shards idle: every flow still open ends into <see cref="_ended"/>.</summary>
    private void CompleteShards()
    {
        foreach (var s in _shards!) s.CompleteInto(_ended);
    }

    /// <summary>The flows in progress in every shard (idle), in creation order, each with its analyzers' facts so far.</summary>
    private List<Flow> SnapshotShards()
    {
        var active = new List<Flow>();
        foreach (var s in _shards!)
            foreach (var f in s.Table.Snapshot())
            {
                s.Analyzers.Snapshot(f);
                active.Add(f);
            }
        active.Sort(BySequence);
        return active;
    }

    private bool _shardsDisposed;

    private void DisposeShards()
    {
        if (_shards is null || _shardsDisposed) return;
        _shardsDisposed = true;
        _toMerge!.CompleteAdding();
        _merger!.Join();
        foreach (var s in _shards) s.Dispose();
    }
}
