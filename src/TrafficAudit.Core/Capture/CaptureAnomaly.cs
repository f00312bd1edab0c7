namespace TrafficAudit.Capture;

/// <summary>
/// Anomaly names raised while reading capture files (rows of anomalies.csv). Each counts records,
/// except where noted. None of them stops reading: a corrupt file is a <see cref="CaptureReadError"/>.
/// </summary>
public static class CaptureAnomaly
{
    /// <summary>A sub-second timestamp field at or above one second (pcap µs ≥ 1e6, ns ≥ 1e9). The excess is carried into the seconds, as Wireshark's time arithmetic does.</summary>
    public const string TimestampSubsecondOutOfRange = "capture_timestamp_subsecond_out_of_range";
    /// <summary>A timestamp beyond what long nanoseconds since 1970 hold (years before 1678 or after 2262); saturated to long.MinValue/MaxValue.</summary>
    public const string TimestampOutOfRange = "capture_timestamp_out_of_range";
    /// <summary>A record captured more bytes than the file's or interface's snapshot length (accepted as is).</summary>
    public const string CaplenExceedsSnaplen = "capture_caplen_exceeds_snaplen";
    /// <summary>A record captured more bytes than its original length on the wire (accepted as is).</summary>
    public const string CaplenExceedsOrigLen = "capture_caplen_exceeds_origlen";
    /// <summary>A pcapng option runs past the end of its block; the block's remaining options are ignored.</summary>
    public const string PcapNgOptionTruncated = "pcapng_option_truncated";
    /// <summary>An Interface Statistics Block names an interface that does not exist; the block is ignored.</summary>
    public const string PcapNgStatisticsBadInterface = "pcapng_isb_bad_interface";
    /// <summary>A Simple Packet Block before any interface, or with no previous timestamp to reuse (timestamp 0 then).</summary>
    public const string PcapNgSimplePacketNoTimestamp = "pcapng_spb_no_timestamp";
}
