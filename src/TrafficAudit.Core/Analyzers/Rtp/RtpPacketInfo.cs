namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// The facts about one RTP packet that <see cref="RtpStreamStatistics.Add"/> needs. The caller fills it
/// from the decoded packet (header fields from the RTP fixed header, RFC 3550 §5.1) and resolves the
/// clock rate itself (<see cref="RtpClock"/>), because only the caller knows the SDP of the call.
/// </summary>
public readonly struct RtpPacketInfo
{
    /// <summary>Bytes the IP and UDP headers add to the RTP packet, as Wireshark counts them: 20 + 8.</summary>
    public const int IPv4UdpOverhead = 28;
    /// <summary>Bytes the IPv6 and UDP headers add to the RTP packet: 40 + 8 (no extension headers counted).</summary>
    public const int IPv6UdpOverhead = 48;

    public RtpPacketInfo(ushort sequenceNumber, uint timestamp, bool marker, byte payloadType,
        int rtpLength, bool isIPv6, uint clockRate, long frameNumber = 0)
    {
        SequenceNumber = sequenceNumber;
        Timestamp = timestamp;
        Marker = marker;
        PayloadType = payloadType;
        RtpLength = rtpLength;
        IsIPv6 = isIPv6;
        ClockRate = clockRate;
        FrameNumber = frameNumber;
    }

    /// <summary>RTP sequence number (16 bits, wraps).</summary>
    public ushort SequenceNumber { get; }
    /// <summary>RTP timestamp in units of the payload clock (32 bits, wraps).</summary>
    public uint Timestamp { get; }
    /// <summary>The M bit (start of a talkspurt for audio).</summary>
    public bool Marker { get; }
    /// <summary>Payload type, 0..127.</summary>
    public byte PayloadType { get; }
    /// <summary>
    /// Length of the whole RTP packet (fixed header, CSRCs, extension, payload, padding, SRTP tag): the
    /// UDP payload length as reported on the wire, not as captured. Wireshark's <c>info_data_len</c>.
    /// </summary>
    public int RtpLength { get; }
    /// <summary>True when carried over IPv6 (48 bytes of IP+UDP overhead instead of 28).</summary>
    public bool IsIPv6 { get; }
    /// <summary>RTP clock in Hz for this packet's payload type, or 0 when unknown (no jitter is computed then).</summary>
    public uint ClockRate { get; }
    /// <summary>Capture frame number (1-based), only reported back (e.g. where the max delta happened).</summary>
    public long FrameNumber { get; }

    /// <summary>Bytes at the IP layer: RTP length plus IPv4/IPv6 and UDP headers.</summary>
    public int IpLength => RtpLength + (IsIPv6 ? IPv6UdpOverhead : IPv4UdpOverhead);
}
