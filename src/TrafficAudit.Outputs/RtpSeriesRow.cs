using CsvHelper;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// A row of rtp_series.csv (--series): one per stream and second, for people who chart media
/// themselves. Columns: stream_id (the rtp_streams.csv row); second (UTC ISO 8601 µs: start of the
/// bucket; buckets are 1 s counted from the stream's first packet); bucket_s (the bucket width: 1,
/// doubled for streams longer than 4 hours, which keep at most 14,400 buckets); packets (received in
/// the bucket, duplicates included); expected (sequence numbers the bucket advanced the stream by);
/// lost (expected - packets, as Wireshark counts: negative when duplicates or late packets arrived);
/// ip_kbps (IP-layer kbit/s: RTP + UDP + IP bytes over the bucket); max_jitter_ms (highest RFC 3550 jitter
/// of the bucket's packets, as Wireshark computes it; empty when none counted). Seconds without a
/// packet inside a stream are written with zeros, so a chart shows the gap.
/// </summary>
[CsvRecord]
public sealed partial class RtpSeriesRow
{
    public const string FileName = "rtp_series.csv";

    [CsvColumn("stream_id")] public int StreamId { get; set; }
    [CsvColumn("second")] public string Second { get; set; } = "";
    [CsvColumn("bucket_s")] public int BucketS { get; set; }
    [CsvColumn("packets")] public int Packets { get; set; }
    [CsvColumn("expected")] public long Expected { get; set; }
    [CsvColumn("lost")] public long Lost { get; set; }
    [CsvColumn("ip_kbps")] public string IpKbps { get; set; } = "";
    [CsvColumn("max_jitter_ms")] public string MaxJitterMs { get; set; } = "";

    /// <summary>The rows of one stream, in time order; none without a series.</summary>
    public static IEnumerable<RtpSeriesRow> From(RtpStreamRecord s)
    {
        if (s.TimeSeries is not { } series) yield break;
        long previous = series.FirstSequence - 1;
        long width = series.BucketWidthNs;
        var rows = new List<RtpSeriesRow>(series.Buckets.Length);
        for (int i = 0; i < series.Buckets.Length; i++)
        {
            var b = series.Buckets[i];
            long expected = 0;
            if (b.HighestSequence > 0)
            {
                expected = b.HighestSequence - previous;
                previous = b.HighestSequence;
            }
            rows.Add(new RtpSeriesRow
            {
                StreamId = s.StreamId,
                Second = NsTime.Iso(series.OriginNs + i * width),
                BucketS = (int)(width / 1_000_000_000),
                Packets = b.Packets,
                Expected = expected,
                Lost = expected - b.Packets,
                IpKbps = Fmt.F(b.IpBytes * 8e6 / width, 1),
                MaxJitterMs = b.MaxJitterMs > 0 ? Fmt.F(b.MaxJitterMs, 3) : "",
            });
        }
        foreach (var r in rows) yield return r;
    }
}
