using System.Collections.Concurrent;
using TrafficAudit.Analyzers;
using TrafficAudit.Capture;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline.Sharding;

/// <summary>
/// One shard of the sharded engine: the flows whose symmetric key hashes to it, with their own flow table (a share of
/// the flow cap), payload analyzers and anomaly counters, on their own thread. It reads nothing any other shard
/// writes: what crosses flows (flow numbering, DNS names, the VoIP stage, the hand-over of ended flows) leaves as
/// events that the merger applies in capture order. Per packet it allocates nothing: its input and output buffers
/// belong to the epoch and are reused, and new flows come from its table's pool.
/// </summary>
internal sealed class FlowShard : IDnsAnswerSink, IDisposable
{
    /// <summary>The shard's work, in order: epochs, RTP statistics batches (<see cref="ShardedRtpStatistics"/>), barriers.</summary>
    private readonly HandOffQueue<object> _queue = new();
    private readonly Thread _thread;
    private ShardOutput? _out;
    /// <summary>Order (see <see cref="ShardEvent.Order"/>) of what the shard is doing now.</summary>
    private long _order;
    /// <summary>At the end of input: ended flows go straight to this list (the merger's), not to an epoch.</summary>
    private List<Flow>? _endInto;

    /// <param name="shares">Shards of the engine: the shard follows its share of the flow cap, of the RTP probe cap and of the flow pool.</param>
    public FlowShard(int index, int shares, AuditOptions options, Func<ushort, bool> isSipPort)
    {
        Index = index;
        Table = new FlowTable(options.Timeouts, Ended, Math.Max(1, options.MaxActiveFlows / shares), Anomalies)
        {
            Sharded = true,
            FlowStarted = Started,
            // The pool of ended flows is shared out too: together the shards keep what one table keeps.
            MaxPooled = Math.Max(256, FlowTable.MaxPooledFlows / shares),
        };
        var rtp = new RtpProbeAnalyzer(Anomalies, Math.Max(1, RtpProbeAnalyzer.MaxProbedFlows / shares));
        Analyzers = new FlowAnalyzerRegistry(new DnsNamesAnalyzer(Anomalies) { Forward = this }, rtp, new SipHintAnalyzer(), new HttpAnalyzer(),
            new TlsAnalyzer(), new VoipStageAnalyzer(null, isSipPort) { Shard = this });
        Table.FlowEnded = Analyzers.End;
        _thread = new Thread(Work) { IsBackground = true, Name = $"trafficaudit-shard-{index}" };
        _thread.Start();
    }

    public int Index { get; }
    /// <summary>Flows whose records the merger made: the table takes them back for reuse at its next epoch.</summary>
    public ConcurrentQueue<Flow> Returned { get; } = new();
    public AnomalyCounters Anomalies { get; } = new();
    public FlowTable Table { get; }
    public FlowAnalyzerRegistry Analyzers { get; }

    /// <summary>Hands the shard its part of an epoch (it runs it on its thread).</summary>
    public void Post(ShardEpoch epoch) => _queue.Add(epoch);

    /// <summary>Hands the shard RTP statistics to run, between its epochs, in the order posted.</summary>
    public void Post(RtpStatisticsBatch batch) => _queue.Add(batch);

    /// <summary>Signals <paramref name="barrier"/> once everything posted before it has run.</summary>
    public void Post(CountdownEvent barrier) => _queue.Add(barrier);

    /// <summary>Where a batch of RTP statistics goes back once run.</summary>
    public ShardedRtpStatistics? Statistics { get; set; }

    /// <summary>The first failure of an RTP statistics batch (the merger reports it at its next barrier).</summary>
    public Exception? StatisticsFailure { get; private set; }

    private void Work()
    {
        while (_queue.Take(out var work))
        {
            switch (work)
            {
                case ShardEpoch epoch:
                    Exception? failure = null;
                    try { Run(epoch.Inputs[Index], epoch.Outputs[Index]); }
                    catch (Exception e) { failure = e; }
                    epoch.ShardDone(failure);
                    break;
                case RtpStatisticsBatch batch:
                    try { batch.Run(); }
                    catch (Exception e) { StatisticsFailure ??= e; }
                    Statistics?.Recycle(batch);
                    break;
                case CountdownEvent barrier:
                    barrier.Signal();
                    break;
            }
        }
    }

    private void Run(ShardInput input, ShardOutput output)
    {
        while (Returned.TryDequeue(out var f)) Table.Release(f);
        _out = output;
        var items = input.Items;
        for (int i = 0; i < input.Count; i++)
        {
            ref ShardItem item = ref items[i];
            Anomalies.CurrentFrame = item.Frame;
            Anomalies.CurrentFileIndex = item.FileIndex;
            Anomalies.CurrentOrdinal = item.Ordinal;
            switch (item.Kind)
            {
                case ShardItemKind.Unreachable:
                    if (!Table.TrackUnreachable(in item.Packet, item.TimestampNs)) Anomalies.Increment("icmp_unreachable_unknown_flow");
                    break;
                case ShardItemKind.Sweep:
                    _order = item.Ordinal * 4;
                    Table.Sweep(item.TimestampNs);
                    break;
                default:
                    Packet(ref item, input.Bytes);
                    break;
            }
        }
        _out = null;
    }

    private void Packet(ref ShardItem item, byte[] bytes)
    {
        _order = item.Ordinal * 4 + 1;
        Table.NextSequence = item.Ordinal;
        var flow = Table.Track(in item.Packet, item.TimestampNs, out int side);
        _order = item.Ordinal * 4 + 2;
        var header = new FrameHeader(item.TimestampNs, default, 0, 0, 0, item.Frame, item.FileIndex);
        Analyzers.Process(flow, new AnalyzerPacket(in item.Packet, bytes.AsSpan(item.PayloadStart, item.PayloadLength), side, in header));
    }

    private void Started(Flow flow)
    {
        flow.Shard = Index;
        _out!.Add(_order, ShardEventKind.FlowStarted, flow, 0);
    }

    private void Ended(Flow flow)
    {
        if (_endInto is not null) _endInto.Add(flow);
        else _out!.Add(_order, ShardEventKind.FlowEnded, flow, 0);
    }

    /// <summary>The VoIP stage's packet, made as the one-thread engine makes it; of RTP only the header is kept.</summary>
    public void AddVoip(Flow flow, in AnalyzerPacket packet)
    {
        var o = _out!;
        int i = o.NextVoip();
        ref VoipPacket slot = ref o.Voip[i];
        VoipPacket.Fill(ref slot, flow, in packet);
        var payload = packet.Payload;
        if (VoipPipeline.CanSendRtpHeaderOnly(in slot, payload))
        {
            slot.RtpHeaderOnly = true;
            payload = payload[..VoipPipeline.RtpHeaderBytes];
        }
        o.CopyVoipBytes(i, payload);
        o.Add(_order, ShardEventKind.Voip, flow, i);
    }

    void IDnsAnswerSink.OnAnswer(IpAddress address, ReadOnlySpan<char> name) =>
        _out!.AddDns(address, name, Anomalies.CurrentFrame, Anomalies.CurrentFileIndex, Anomalies.CurrentOrdinal, _order, null!);

    /// <summary>End of input (the shard idle): ends every flow still open into <paramref name="ended"/>.</summary>
    public void CompleteInto(List<Flow> ended)
    {
        _endInto = ended;
        Table.Complete();
        _endInto = null;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _queue.CompleteAdding();
        _thread.Join();
    }
}
