namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// Runs of consecutive missing sequence numbers in one stream (our addition; Wireshark has none).
/// A missing packet is one never received by the time it fell out of the
/// <see cref="RtpStreamStatistics.SequenceWindow"/>-packet window, so reordering inside the window
/// does not count as loss.
/// </summary>
public readonly record struct RtpLossBursts(
    /// <summary>Number of loss bursts (runs of one or more missing packets).</summary>
    int Bursts,
    /// <summary>Longest run, in packets.</summary>
    long LongestBurst,
    /// <summary>Missing packets in all runs together.</summary>
    long LostPackets,
    /// <summary>Runs of exactly 1 packet.</summary>
    int Length1,
    /// <summary>Runs of exactly 2 packets.</summary>
    int Length2,
    /// <summary>Runs of 3 to 5 packets.</summary>
    int Length3To5,
    /// <summary>Runs of 6 to 10 packets.</summary>
    int Length6To10,
    /// <summary>Runs of more than 10 packets.</summary>
    int LengthOver10)
{
    /// <summary>Mean run length in packets (0 without loss).</summary>
    public double MeanBurstLength => Bursts == 0 ? 0 : (double)LostPackets / Bursts;

    internal RtpLossBursts WithRun(long run)
    {
        if (run <= 0) return this;
        return new RtpLossBursts(
            Bursts + 1, Math.Max(LongestBurst, run), LostPackets + run,
            Length1 + (run == 1 ? 1 : 0), Length2 + (run == 2 ? 1 : 0),
            Length3To5 + (run is >= 3 and <= 5 ? 1 : 0), Length6To10 + (run is >= 6 and <= 10 ? 1 : 0),
            LengthOver10 + (run > 10 ? 1 : 0));
    }
}
