using System.Buffers.Binary;

namespace TrafficAudit.Analyzers;

/// <summary>
/// Decides once per UDP flow whether it carries RTP or RTCP, from the packets themselves rather
/// than the port: RTP version 2, one SSRC per direction, sequence numbers that advance.
/// A struct: <see cref="RtpProbeAnalyzer"/> keeps one per undecided flow in its table, and writes
/// the verdict into the flow's <see cref="FlowHints.Rtp"/>.
/// </summary>
public struct RtpProbe
{
    /// <summary>Consecutive valid RTP packets (same SSRC, sequence advancing) needed in one direction.</summary>
    public const int PacketsToConfirm = 4;
    /// <summary>Packets looked at per flow before giving up.</summary>
    public const int MaxInspected = 32;

    // Two SSRC slots per direction: a sender may interleave two sources (audio and RFC 4733 events
    // with their own SSRC), and each keeps its own run of advancing sequence numbers.
    private Slot _a0, _b0, _a1, _b1;
    private byte _inspected;
    private byte _rtcpValid;
    private byte _rtpHeaders;

    private struct Slot
    {
        public uint Ssrc;
        public ushort Seq;
        public byte Run;
    }

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
        if (IsRtcpPacketType(payload))
        {
            // RTCP, alone on its port or multiplexed with RTP (RFC 5761): never evidence of RTP, and it
            // does not break an RTP run. A flow is RTCP when two readable RTCP datagrams (lengths adding up
            // exactly) came before any RTP header; one byte in the RTCP range is too weak a sign on its own
            // (LLMNR and other small headers have it by chance).
            if (IsPlainRtcp(payload) && ++_rtcpValid >= 2 && _rtpHeaders == 0) IsRtcp = true;
            return;
        }
        ref Slot a = ref side == 0 ? ref _a0 : ref _a1;
        ref Slot b = ref side == 0 ? ref _b0 : ref _b1;
        if (!TryReadRtpHeader(payload, out uint ssrc, out ushort seq, out byte pt))
        {
            a.Run = 0;
            b.Run = 0;
            return;
        }
        if (_rtpHeaders < byte.MaxValue) _rtpHeaders++;
        ref Slot slot = ref a.Run > 0 && a.Ssrc == ssrc ? ref a
            : ref b.Run > 0 && b.Ssrc == ssrc ? ref b
            : ref a.Run <= b.Run ? ref a : ref b;
        if (slot.Run > 0 && slot.Ssrc == ssrc)
        {
            ushort advance = (ushort)(seq - slot.Seq);
            if (advance == 0) return; // a duplicate (SPAN ports copy packets): neither proof nor disproof
            slot.Run = advance <= 100 ? (byte)Math.Min(slot.Run + 1, 255) : (byte)1;
        }
        else slot.Run = 1;
        slot.Ssrc = ssrc;
        slot.Seq = seq;
        if (slot.Run >= PacketsToConfirm)
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

    /// <summary>
    /// RFC 5761 §4: with RTP and RTCP on one port, a packet whose second byte (RTP's marker bit and
    /// payload type, RTCP's packet type) lies in 192-223 is RTCP (SR 200, RR 201, SDES 202, BYE 203,
    /// APP 204, RTPFB 205, PSFB 206, XR 207...); RTP must not use payload types 64-95 there. Version 2 too.
    /// </summary>
    public static bool IsRtcpPacketType(ReadOnlySpan<byte> p) => p.Length >= 4 && (p[0] >> 6) == 2 && p[1] is >= 192 and <= 223;

    /// <summary>An RTCP-type datagram whose first packet's length word fits it (also true for SRTCP, whose trailer follows the packets).</summary>
    public static bool FirstRtcpLengthFits(ReadOnlySpan<byte> p) =>
        p.Length >= 8 && 4 * (BinaryPrimitives.ReadUInt16BigEndian(p[2..]) + 1) <= p.Length;

    /// <summary>
    /// Every packet of the datagram is version 2 with an RTCP type, and their length words add up to the
    /// datagram exactly: plain RTCP whose report blocks can be read (compound, or reduced-size per RFC 5506).
    /// SRTCP (encrypted after the first 8 bytes, with an index and tag at the end) fails this.
    /// </summary>
    public static bool IsPlainRtcp(ReadOnlySpan<byte> p)
    {
        if (!IsRtcpPacketType(p)) return false;
        int offset = 0;
        while (offset + 4 <= p.Length)
        {
            if ((p[offset] >> 6) != 2 || p[offset + 1] is < 192 or > 223) return false;
            offset += 4 * (BinaryPrimitives.ReadUInt16BigEndian(p[(offset + 2)..]) + 1);
        }
        return offset == p.Length;
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
