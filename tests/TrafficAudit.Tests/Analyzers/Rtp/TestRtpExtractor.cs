using System.Buffers.Binary;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Capture;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Rtp;

/// <summary>
/// Pulls RTP headers out of a capture for the tshark comparison: our readers and decoder, then every
/// UDP datagram whose payload parses as an RTP version 2 header (as tshark's heuristic RTP does).
/// </summary>
internal static class TestRtpExtractor
{
    internal readonly record struct StreamKey(string Src, int SrcPort, string Dst, int DstPort, uint Ssrc);

    internal readonly record struct RtpFrame(StreamKey Key, long TimestampNs, RtpPacketInfo Info);

    /// <summary>Every UDP datagram of a capture that parses as an RTP version 2 header (not RTCP).</summary>
    public static IEnumerable<RtpFrame> Read(string path)
    {
        var anomalies = new AnomalyCounters();
        var decoder = new PacketDecoder(anomalies);
        using var source = CaptureFile.Open(path, 0, anomalies);
        var packet = new DecodedPacket();
        while (source.MoveNext())
        {
            var h = source.Header;
            if (decoder.Decode(h.LinkType, source.Data, h.TimestampNs, ref packet, out var buffer) != DecodeStatus.Ok || !packet.IsUdp) continue;
            var payload = buffer.Slice(packet.PayloadOffset, packet.PayloadLength);
            if (!TryRtp(payload, out ushort seq, out uint ts, out bool marker, out byte pt, out uint ssrc)) continue;
            var info = new RtpPacketInfo(seq, ts, marker, pt, packet.PayloadLength, packet.IpVersion == 6,
                // Every dynamic payload type in the public captures has no clock in tshark (no rtpmap, or telephone-event).
                RtpClock.ForStaticPayloadType(pt), h.FrameNumber);
            yield return new RtpFrame(new StreamKey(packet.Src.ToString(), packet.SrcPort, packet.Dst.ToString(), packet.DstPort, ssrc), h.TimestampNs, info);
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
}
