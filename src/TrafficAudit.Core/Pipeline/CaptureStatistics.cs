namespace TrafficAudit.Pipeline;

/// <summary>Counts over the whole run, for the console summary and the report.</summary>
public sealed class CaptureStatistics
{
    public long Frames;
    /// <summary>Captured bytes (caplen) over all frames.</summary>
    public long CapturedBytes;
    public long IpPackets;
    public long NonIpFrames;
    public long MalformedFrames;
    public long FragmentsHeld;
    public long FirstNs = long.MaxValue;
    public long LastNs = long.MinValue;
    /// <summary>Frames whose timestamp is earlier than the frame before them (after merging).</summary>
    public long OutOfOrderTimestamps;

    /// <summary>A copy, for outputs written on another thread while the counts go on.</summary>
    public CaptureStatistics Copy() => (CaptureStatistics)MemberwiseClone();

    public TimeSpan Duration => Frames == 0 || LastNs < FirstNs ? TimeSpan.Zero : TimeSpan.FromTicks((LastNs - FirstNs) / 100);
}
