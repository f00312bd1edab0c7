using System.Buffers.Binary;

namespace TrafficAudit.Analyzers;

/// <summary>
/// Decides once per UDP flow whether it carries RTP or RTCP, from the packets themselves rather
/// than the port: RTP version 2, one SSRC per direction, sequence numbers that advance.
/// Lives inside the flow record (a struct, no allocation).
/// </summary>
public struct RtpProbe
{
    /// <summary>Consecutive valid RTP packets (same SSRC, sequence advancing) needed in one direction.</summary>
    public const int PacketsToConfirm = 4;
    /// <summary>Packets looked at per flow before giving up.</summary>
    public const int MaxInspected = 32;

    private uint _ssrc0, _ssrc1;
    private ushort _seq0, _seq1;
    private byte _run0, _run1;
    private byte _inspected;
    private byte _rtcpValid;

    public bool IsRtp { get; private set; }
    public bool IsRtcp { get; private set; }
    /// <summary>SSRC that confirmed RTP (first direction to reach the threshold).</summary>
    public uint Ssrc { get; private set; }
    public byte PayloadType { get; private set; }
    public readonly bool Decided => IsRtp || IsRtcp || _inspected >= MaxInspected;

    /// <summary>Feeds one UDP payload sent by <paramref name="side"/> (0 or 1).</summary>
    public void Inspect(ReadOnlySpan<byte> payload, int side)
    {
        if (Decided) return;
        _inspected++;
        if (LooksLikeRtcp(payload))
        {
            if (++_rtcpValid >= 2) IsRtcp = true;
            return;
        }
        if (!TryReadRtpHeader(payload, out uint ssrc, out ushort seq, out byte pt))
        {
            if (side == 0) _run0 = 0; else _run1 = 0;
            return;
        }
        ref uint lastSsrc = ref side == 0 ? ref _ssrc0 : ref _ssrc1;
        ref ushort lastSeq = ref side == 0 ? ref _seq0 : ref _seq1;
        ref byte run = ref side == 0 ? ref _run0 : ref _run1;
        ushort advance = (ushort)(seq - lastSeq);
        if (run > 0 && ssrc == lastSsrc && advance is >= 1 and <= 100) run++;
        else run = 1;
        lastSsrc = ssrc;
        lastSeq = seq;
        if (run >= PacketsToConfirm)
        {
            IsRtp = true;
            Ssrc = ssrc;
            PayloadType = pt;
        }
    }

    /// <summary>RFC 3550 §5.1 fixed header: V=2, and enough bytes for the CSRC list and extension it announces.</summary>
    public static bool TryReadRtpHeader(ReadOnlySpan<byte> p, out uint ssrc, out ushort seq, out byte payloadType)
    {
        ssrc = 0; seq = 0; payloadType = 0;
        if (p.Length < 12 || (p[0] >> 6) != 2) return false;
        payloadType = (byte)(p[1] & 0x7F);
        // 72-76 collide with RTCP packet types 200-204 once the marker bit is folded in (RFC 5761 §4).
        if (payloadType is >= 72 and <= 76) return false;
        int header = 12 + 4 * (p[0] & 0x0F);
        if ((p[0] & 0x10) != 0)
        {
            if (p.Length < header + 4) return false;
            header += 4 + 4 * BinaryPrimitives.ReadUInt16BigEndian(p[(header + 2)..]);
        }
        if (header > p.Length) return false;
        seq = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(p[8..]);
        return true;
    }

    /// <summary>RFC 3550 §6.4: a compound RTCP packet starts with SR (200) or RR (201), version 2, and its length words fit the datagram exactly.</summary>
    public static bool LooksLikeRtcp(ReadOnlySpan<byte> p)
    {
        if (p.Length < 8 || (p[0] >> 6) != 2 || (p[1] != 200 && p[1] != 201)) return false;
        int offset = 0;
        while (offset + 4 <= p.Length)
        {
            if ((p[offset] >> 6) != 2) return false;
            byte type = p[offset + 1];
            if (type is < 192 or > 223) return false;
            offset += 4 * (BinaryPrimitives.ReadUInt16BigEndian(p[(offset + 2)..]) + 1);
        }
        return offset == p.Length;
    }
}
