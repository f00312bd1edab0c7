using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Pipeline.Sharding;

/// <summary>Packets for RTP streams' statistics, handed to one shard's thread (recycled).</summary>
internal sealed class RtpStatisticsBatch
{
    public const int Capacity = 1024;

    public readonly RtpStreamState[] Streams = new RtpStreamState[Capacity];
    public readonly long[] Times = new long[Capacity];
    public readonly RtpPacketInfo[] Packets = new RtpPacketInfo[Capacity];
    public int Count;

    /// <summary>Adds every packet to its stream's statistics, in order, and lets the streams go.</summary>
    public void Run()
    {
        for (int i = 0; i < Count; i++) Streams[i].Stats.Add(Times[i], in Packets[i]);
        Array.Clear(Streams, 0, Count);
        Count = 0;
    }
}

/// <summary>
/// The sharded engine's RTP statistics: the VoIP stage (on the merger's thread, or on its own) decides which stream a packet belongs
/// to and with which clock, and the statistics themselves (Wireshark's jitter and loss, the jitter-buffer models, the
/// per-second series: the heaviest per-packet work of a capture of calls) run on the shards' threads, between their
/// epochs. A stream always goes to the same shard (by its sequence number), so its packets are added in capture
/// order on one thread and its figures are those of one thread. Allocates nothing per packet: batches are recycled.
/// </summary>
internal sealed class ShardedRtpStatistics(FlowShard[] shards) : IRtpStatisticsRunner
{
    private readonly RtpStatisticsBatch?[] _current = new RtpStatisticsBatch?[shards.Length];
    private readonly System.Collections.Concurrent.ConcurrentBag<RtpStatisticsBatch> _free = new();
    private bool _pending;

    public void Add(RtpStreamState stream, long timestampNs, in RtpPacketInfo packet)
    {
        int shard = (int)((ulong)stream.Sequence % (ulong)shards.Length);
        var b = _current[shard] ??= Take();
        int i = b.Count++;
        b.Streams[i] = stream;
        b.Times[i] = timestampNs;
        b.Packets[i] = packet;
        _pending = true;
        if (b.Count == RtpStatisticsBatch.Capacity)
        {
            shards[shard].Post(b);
            _current[shard] = null;
        }
    }

    private RtpStatisticsBatch Take() => _free.TryTake(out var b) ? b : new RtpStatisticsBatch();

    /// <summary>A shard ran a batch: it serves again.</summary>
    public void Recycle(RtpStatisticsBatch batch) => _free.Add(batch);

    public void Barrier()
    {
        if (!_pending) return;
        for (int i = 0; i < shards.Length; i++)
            if (_current[i] is { } b)
            {
                shards[i].Post(b);
                _current[i] = null;
            }
        using var done = new CountdownEvent(shards.Length);
        foreach (var s in shards) s.Post(done);
        done.Wait();
        _pending = false;
        foreach (var s in shards)
            if (s.StatisticsFailure is { } e) throw new InvalidOperationException("RTP statistics failed: " + e.Message, e);
    }
}
