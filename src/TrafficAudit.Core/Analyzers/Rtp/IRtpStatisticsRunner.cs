namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// Runs the per-packet statistics of RTP streams (<see cref="RtpStreamStatistics.Add"/>) for the
/// <see cref="VoipTracker"/> on other threads (the sharded engine: on the shards' threads). Each stream's packets are
/// added in the order given, on one thread, so the figures are those of one thread. The tracker reads a stream's
/// statistics only after <see cref="Barrier"/>: before a sweep, a stream's end, a snapshot and the end of input.
/// </summary>
internal interface IRtpStatisticsRunner
{
    /// <summary>Queues one packet for <paramref name="stream"/>'s statistics.</summary>
    void Add(RtpStreamState stream, long timestampNs, in RtpPacketInfo packet);

    /// <summary>Returns once every packet queued so far is in its stream's statistics (at once when none was queued since the last call).</summary>
    void Barrier();
}
