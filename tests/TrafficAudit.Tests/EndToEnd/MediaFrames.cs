using System.Buffers.Binary;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>Hand-made media frames for end-to-end tests: Ethernet/IPv4/UDP around a payload, and a minimal RTP packet.</summary>
internal static class MediaFrames
{
    public static byte[] Udp(uint src, uint dst, ushort sport, ushort dport, ReadOnlySpan<byte> payload)
    {
        var f = new byte[14 + 20 + 8 + payload.Length];
        int eth = Frames.WriteEthernet(f, [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 6], 0, EtherType.IPv4);
        int udp = Frames.WriteUdp(f.AsSpan(eth + 20), src, dst, sport, dport, payload);
        Frames.WriteIPv4(f.AsSpan(eth), src, dst, Frames.ProtocolUdp, 1, udp);
        return f;
    }

    /// <summary>RTP v2 with 160 bytes of payload (20 ms at 8 kHz): timestamp = seq x 160.</summary>
    public static byte[] Rtp(ushort seq, uint ssrc, byte payloadType)
    {
        var p = new byte[172];
        p[0] = 0x80; p[1] = payloadType;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), seq);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), seq * 160u);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), ssrc);
        return p;
    }
}
