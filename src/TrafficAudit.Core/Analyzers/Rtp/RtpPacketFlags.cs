namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// What <see cref="RtpStreamStatistics.Add"/> noticed about the last packet; the same facts Wireshark's
/// RTP analysis marks per packet. Only packets with none of First, Marker, ComfortNoise,
/// FollowsComfortNoise and WrongTimestamp count towards the delta and jitter figures.
/// </summary>
[Flags]
public enum RtpPacketFlags : ushort
{
    None = 0,
    /// <summary>First packet of the stream.</summary>
    First = 0x001,
    /// <summary>M bit set: a new talkspurt, so the gap before it is silence, not delay.</summary>
    Marker = 0x002,
    /// <summary>Sequence number is not the previous one plus one (a gap, a late packet or a duplicate).</summary>
    WrongSequence = 0x004,
    /// <summary>Payload type differs from the previous packet's.</summary>
    PayloadChange = 0x008,
    /// <summary>Comfort noise (PT 13 or 19).</summary>
    ComfortNoise = 0x010,
    /// <summary>The previous packet was comfort noise.</summary>
    FollowsComfortNoise = 0x020,
    /// <summary>Payload type differs from the last non-comfort-noise payload type.</summary>
    RegularPayloadChange = 0x040,
    /// <summary>RTP timestamp lies before the stream's first timestamp (or more than 2^31 after it).</summary>
    WrongTimestamp = 0x080,
}
