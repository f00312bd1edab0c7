using System.Buffers.Binary;
using System.Net;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Capture;

namespace TrafficAudit.Tests.Analyzers.Rtp;

/// <summary>
/// TEST-ONLY packet walk: just enough Ethernet / 802.1Q / Linux SLL / SLL2 / raw-IP / IPv4 / IPv6 / UDP
/// decoding to pull RTP headers out of the public captures for the tshark comparison, while the
/// real decoder lives on another branch. Replace it with the pipeline's decoder once that is merged;
/// nothing in the product uses this.
/// </summary>
internal static class TestRtpExtractor
{
    internal readonly record struct StreamKey(string Src, int SrcPort, string Dst, int DstPort, uint Ssrc);

    internal readonly record struct RtpFrame(StreamKey Key, long TimestampNs, RtpPacketInfo Info);

    /// <summary>Every UDP datagram of a capture that parses as an RTP version 2 header (not RTCP).</summary>
    public static IEnumerable<RtpFrame> Read(string path)
    {
        using var source = CaptureFile.Open(path);
        while (source.MoveNext())
        {
            var h = source.Header;
            if (TryWalk(h.LinkType, source.Data, out var src, out var dst, out int sport, out int dport, out int udpPayloadLength, out bool v6, out int payloadOffset)
                && TryRtp(source.Data[payloadOffset..], out ushort seq, out uint ts, out bool marker, out byte pt, out uint ssrc))
            {
                var info = new RtpPacketInfo(seq, ts, marker, pt, udpPayloadLength, v6,
                    // Every dynamic payload type in the public captures has no clock in tshark (no rtpmap, or telephone-event).
                    RtpClock.ForStaticPayloadType(pt), h.FrameNumber);
                yield return new RtpFrame(new StreamKey(src, sport, dst, dport, ssrc), h.TimestampNs, info);
            }
        }
    }

    private static bool TryRtp(ReadOnlySpan<byte> p, out ushort seq, out uint ts, out bool marker, out byte pt, out uint ssrc)
    {
        seq = 0; ts = 0; marker = false; pt = 0; ssrc = 0;
        if (p.Length < 12 || (p[0] >> 6) != 2) return false;
        pt = (byte)(p[1] & 0x7F);
        if (pt is >= 72 and <= 76) return false; // RTCP (RFC 5761 §4)
        marker = (p[1] & 0x80) != 0;
        seq = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        ts = BinaryPrimitives.ReadUInt32BigEndian(p[4..]);
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(p[8..]);
        return true;
    }

    private static bool TryWalk(LinkType link, ReadOnlySpan<byte> f, out string src, out string dst, out int sport, out int dport,
        out int udpPayloadLength, out bool v6, out int payloadOffset)
    {
        src = dst = ""; sport = dport = udpPayloadLength = payloadOffset = 0; v6 = false;
        int off;
        int etherType;
        switch (link)
        {
            case LinkType.Ethernet:
                if (f.Length < 14) return false;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(f[12..]);
                off = 14;
                break;
            case LinkType.LinuxSll:
                if (f.Length < 16) return false;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(f[14..]);
                off = 16;
                break;
            case LinkType.LinuxSll2:
                if (f.Length < 20) return false;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(f);
                off = 20;
                break;
            case LinkType.Raw or LinkType.Ipv4 or LinkType.Ipv6:
                if (f.Length < 1) return false;
                etherType = (f[0] >> 4) == 6 ? 0x86DD : 0x0800;
                off = 0;
                break;
            default:
                return false;
        }
        while (etherType is 0x8100 or 0x88A8)
        {
            if (f.Length < off + 4) return false;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(f[(off + 2)..]);
            off += 4;
        }
        int udp;
        if (etherType == 0x0800)
        {
            if (f.Length < off + 20 || (f[off] >> 4) != 4) return false;
            int ihl = (f[off] & 0x0F) * 4;
            if (f[off + 9] != 17 || f.Length < off + ihl + 8) return false;
            if ((BinaryPrimitives.ReadUInt16BigEndian(f[(off + 6)..]) & 0x3FFF) != 0) return false; // fragments
            src = new IPAddress(f.Slice(off + 12, 4)).ToString();
            dst = new IPAddress(f.Slice(off + 16, 4)).ToString();
            udp = off + ihl;
        }
        else if (etherType == 0x86DD)
        {
            if (f.Length < off + 48 || f[off + 6] != 17) return false;
            src = new IPAddress(f.Slice(off + 8, 16)).ToString();
            dst = new IPAddress(f.Slice(off + 24, 16)).ToString();
            v6 = true;
            udp = off + 40;
        }
        else
        {
            return false;
        }
        sport = BinaryPrimitives.ReadUInt16BigEndian(f[udp..]);
        dport = BinaryPrimitives.ReadUInt16BigEndian(f[(udp + 2)..]);
        udpPayloadLength = BinaryPrimitives.ReadUInt16BigEndian(f[(udp + 4)..]) - 8;
        payloadOffset = udp + 8;
        return udpPayloadLength >= 12;
    }
}
