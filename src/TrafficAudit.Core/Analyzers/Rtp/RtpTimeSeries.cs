namespace TrafficAudit.Analyzers.Rtp;

/// <summary>One bucket of <see cref="RtpTimeSeries"/>.</summary>
public struct RtpSeriesBucket
{
    /// <summary>Packets that arrived in the bucket.</summary>
    public int Packets;
    /// <summary>
    /// Highest extended sequence number seen by the end of the bucket (0 when no packet arrived in it):
    /// consecutive buckets give the packets expected in each. An int beside <see cref="Packets"/> keeps the
    /// bucket at 24 bytes (it counts to 2^31, over 10,000 hours of 20 ms packets).
    /// </summary>
    public int HighestSequence;
    /// <summary>IP-layer bytes (RTP + IP/UDP headers) that arrived in the bucket.</summary>
    public long IpBytes;
    /// <summary>Highest Wireshark jitter (ms) among the bucket's packets that count for jitter; 0 when none.</summary>
    public double MaxJitterMs;

    internal void Merge(in RtpSeriesBucket other)
    {
        if (other.HighestSequence > HighestSequence) HighestSequence = other.HighestSequence;
        Packets += other.Packets;
        IpBytes += other.IpBytes;
        if (other.MaxJitterMs > MaxJitterMs) MaxJitterMs = other.MaxJitterMs;
    }
}

/// <summary>
/// Per-stream time series for report charts: 1-second buckets from the stream's first packet. It
/// holds at most <see cref="MaxBuckets"/> buckets (4 hours at 1 s); a longer stream merges neighbouring
/// buckets pairwise and doubles <see cref="BucketWidthNs"/>, so memory stays bounded. The array grows
/// by doubling while the stream lasts, never per packet.
/// </summary>
public sealed class RtpTimeSeries
{
    /// <summary>4 hours of 1-second buckets.</summary>
    public const int MaxBuckets = 4 * 3600;
    private const long OneSecondNs = 1_000_000_000;
    // Eight seconds: most calls' streams last longer and grow it a few times (doubling), a short or stray stream
    // keeps 216 bytes, not 1.5 KB. The record keeps the series, so it cannot go back to a pool.
    private const int InitialCapacity = 8;

    private RtpSeriesBucket[] _buckets = new RtpSeriesBucket[InitialCapacity];
    private int _count;

    public RtpTimeSeries(long originNs) => OriginNs = originNs;

    /// <summary>Start of bucket 0 (arrival of the stream's first packet), ns since the Unix epoch.</summary>
    public long OriginNs { get; }
    /// <summary>Extended sequence number of the stream's first packet (bucket 0 expects from it).</summary>
    public long FirstSequence { get; init; }
    /// <summary>Width of every bucket: 1 s, doubled each time the series had to be coarsened.</summary>
    public long BucketWidthNs { get; private set; } = OneSecondNs;
    /// <summary>Buckets from <see cref="OriginNs"/> up to the last packet.</summary>
    public ReadOnlySpan<RtpSeriesBucket> Buckets => _buckets.AsSpan(0, _count);

    /// <summary>Records one packet. <paramref name="jitterMs"/> is negative when the packet does not count for jitter.</summary>
    public void Add(long timestampNs, int ipBytes, double jitterMs) => Add(timestampNs, ipBytes, jitterMs, 0);

    /// <summary>Records one packet and the stream's highest extended sequence number after it.</summary>
    public void Add(long timestampNs, int ipBytes, double jitterMs, long highestSequence) => AddAt(timestampNs, ipBytes, jitterMs, highestSequence);

    /// <summary>As <see cref="Add(long, int, double, long)"/>; returns the index of the bucket the packet went to (after any coarsening).</summary>
    internal int AddAt(long timestampNs, int ipBytes, double jitterMs, long highestSequence)
    {
        long offset = timestampNs - OriginNs;
        if (offset < 0) offset = 0; // a capture clock that steps back: charge the first bucket
        long index = offset / BucketWidthNs;
        while (index >= MaxBuckets)
        {
            Coarsen();
            index = offset / BucketWidthNs;
        }
        int i = (int)index;
        if (i >= _buckets.Length) Array.Resize(ref _buckets, Math.Min(MaxBuckets, Math.Max(_buckets.Length * 2, i + 1)));
        if (i >= _count) _count = i + 1;
        ref var b = ref _buckets[i];
        b.Packets++;
        b.IpBytes += ipBytes;
        if (jitterMs > b.MaxJitterMs) b.MaxJitterMs = jitterMs;
        if (highestSequence > b.HighestSequence) b.HighestSequence = (int)highestSequence;
        return i;
    }

    /// <summary>Bucket <paramref name="index"/> (below the count) as it stands.</summary>
    internal ref readonly RtpSeriesBucket At(int index) => ref _buckets[index];

    /// <summary>
    /// Overwrites bucket <paramref name="index"/> (below the count) with its whole content: the statistics keep the
    /// current bucket to themselves while packets fall in it and write it back here (see <see cref="RtpStreamStatistics"/>).
    /// </summary>
    internal void Set(int index, in RtpSeriesBucket bucket) => _buckets[index] = bucket;

    /// <summary>A copy that later packets do not change (for a snapshot of a stream still open).</summary>
    public RtpTimeSeries Copy()
    {
        var copy = new RtpTimeSeries(OriginNs) { FirstSequence = FirstSequence, BucketWidthNs = BucketWidthNs, _count = _count };
        copy._buckets = _buckets.AsSpan(0, Math.Max(_count, 1)).ToArray();
        return copy;
    }

    private void Coarsen()
    {
        int merged = (_count + 1) / 2;
        for (int i = 0; i < merged; i++)
        {
            var b = _buckets[2 * i];
            if (2 * i + 1 < _count) b.Merge(_buckets[2 * i + 1]);
            _buckets[i] = b;
        }
        Array.Clear(_buckets, merged, _count - merged);
        _count = merged;
        BucketWidthNs *= 2;
    }
}
