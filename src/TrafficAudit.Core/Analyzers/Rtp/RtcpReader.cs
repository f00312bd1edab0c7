using System.Buffers.Binary;

namespace TrafficAudit.Analyzers.Rtp;

/// <summary>One report block of an RTCP SR or RR (RFC 3550 §6.4.1): what <see cref="ReporterSsrc"/> says about <see cref="SourceSsrc"/>.</summary>
public readonly record struct RtcpReportBlock(
    uint ReporterSsrc,
    uint SourceSsrc,
    /// <summary>Fraction of packets lost since the last report, 0-255 (/256).</summary>
    byte FractionLost,
    /// <summary>Cumulative packets lost, 24-bit signed.</summary>
    int CumulativeLost,
    uint HighestSequence,
    /// <summary>Interarrival jitter in RTP timestamp units.</summary>
    uint Jitter,
    /// <summary>Middle 32 bits of the NTP timestamp of the last SR received from the source (0: none).</summary>
    uint LastSr,
    /// <summary>Delay since that SR, in units of 1/65536 s.</summary>
    uint DelaySinceLastSr);

/// <summary>
/// Walks a compound RTCP datagram (several SR/RR/SDES/BYE packets back to back, RFC 3550 §6.1)
/// without allocating. Malformed lengths stop the walk; nothing throws.
/// </summary>
public ref struct RtcpReader
{
    public const byte SenderReport = 200;
    public const byte ReceiverReport = 201;

    private readonly ReadOnlySpan<byte> _data;
    private int _offset;

    public RtcpReader(ReadOnlySpan<byte> data) { _data = data; _offset = 0; }

    /// <summary>True when the walk stopped on a length that did not fit the datagram.</summary>
    public bool Malformed { get; private set; }

    /// <summary>
    /// Reads the next RTCP packet. For an SR, <paramref name="senderSsrc"/> and <paramref name="ntpMiddle"/>
    /// are set (the value later reports echo as LSR); report blocks are then read with <see cref="TryReadBlock"/>.
    /// </summary>
    public bool TryNext(out byte packetType, out uint senderSsrc, out uint ntpMiddle, out ReadOnlySpan<byte> blocks, out int blockCount)
    {
        packetType = 0; senderSsrc = 0; ntpMiddle = 0; blocks = default; blockCount = 0;
        if (_offset + 4 > _data.Length) return false;
        var h = _data[_offset..];
        if ((h[0] >> 6) != 2) { Malformed = true; return false; }
        int length = 4 * (BinaryPrimitives.ReadUInt16BigEndian(h[2..]) + 1);
        if (_offset + length > _data.Length) { Malformed = true; return false; }
        var packet = h[..length];
        _offset += length;
        packetType = packet[1];
        int count = packet[0] & 0x1F;
        if (packetType == SenderReport && packet.Length >= 28)
        {
            senderSsrc = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
            // NTP timestamp at 8..15: the middle 32 bits are bytes 10..13.
            ntpMiddle = BinaryPrimitives.ReadUInt32BigEndian(packet[10..]);
            blocks = packet[28..];
        }
        else if (packetType == ReceiverReport && packet.Length >= 8)
        {
            senderSsrc = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
            blocks = packet[8..];
        }
        blockCount = Math.Min(count, blocks.Length / 24);
        return true;
    }

    /// <summary>Report block <paramref name="index"/> of the span returned by <see cref="TryNext"/>.</summary>
    public static RtcpReportBlock ReadBlock(uint reporter, ReadOnlySpan<byte> blocks, int index)
    {
        var b = blocks.Slice(index * 24, 24);
        int cumulative = (b[5] << 16) | (b[6] << 8) | b[7];
        if ((cumulative & 0x800000) != 0) cumulative |= unchecked((int)0xFF000000);
        return new RtcpReportBlock(reporter,
            BinaryPrimitives.ReadUInt32BigEndian(b),
            b[4],
            cumulative,
            BinaryPrimitives.ReadUInt32BigEndian(b[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[20..]));
    }
}
