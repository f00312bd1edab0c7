using System.Buffers.Binary;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Model;

namespace TrafficAudit.Synth.Protocols;

/// <summary>
/// One RTP stream (RFC 3550) of G.711 at 20 ms: 12-byte header, 160-byte payload, sequence +1
/// and timestamp +160 per packet, marker on the first packet of the talkspurt.
/// </summary>
public sealed class RtpSender
{
    public const int HeaderLength = 12;
    public const int G711Payload = 160;
    public const long PacketIntervalUs = 20_000;
    public const uint SamplesPerPacket = 160;
    public const byte PayloadPcmu = 0;
    public const byte PayloadPcma = 8;

    private readonly CaptureBuilder _b;
    private readonly Flow _flow;
    private readonly bool _fromClient;
    private readonly byte[] _packet = new byte[HeaderLength + G711Payload];
    private bool _started;

    public RtpSender(CaptureBuilder builder, Flow flow, bool fromClient, byte payloadType)
    {
        _b = builder;
        _flow = flow;
        _fromClient = fromClient;
        PayloadType = payloadType;
        Ssrc = (uint)builder.Rng.NextInt64(1, 1L << 32);
        Sequence = (ushort)builder.Rng.Next(0, 65536);
        Timestamp = (uint)builder.Rng.NextInt64(0, 1L << 32);
        var src = fromClient ? flow.Client : flow.Server;
        var dst = fromClient ? flow.Server : flow.Client;
        Truth = new RtpStreamTruth
        {
            Ssrc = $"0x{Ssrc:x8}",
            Src = $"{src}:{(fromClient ? flow.ClientPort : flow.ServerPort)}",
            Dst = $"{dst}:{(fromClient ? flow.ServerPort : flow.ClientPort)}",
            PayloadType = payloadType,
            MarkerFirst = true,
        };
    }

    public byte PayloadType { get; }
    public uint Ssrc { get; }
    public ushort Sequence { get; private set; }
    public uint Timestamp { get; private set; }
    public RtpStreamTruth Truth { get; }
    public int PacketsSent => Truth.Packets;
    /// <summary>Payload octets sent (for RTCP sender reports).</summary>
    public uint OctetsSent { get; private set; }
    /// <summary>Middle 32 bits of the NTP timestamp of the last SR this sender built (what a receiver echoes as LSR).</summary>
    public uint LastSrNtpMiddle { get; private set; }

    /// <summary>
    /// Sends <paramref name="count"/> packets on the 20 ms grid from <paramref name="start"/>.
    /// Packet indexes in <paramref name="lose"/> are skipped (sequence and timestamp still advance);
    /// each packet may arrive up to <paramref name="maxJitterUs"/> late at random, and packet i exactly
    /// <paramref name="delaysUs"/>[i] late (a delay pattern, e.g. network stalls).
    /// </summary>
    public void Send(long start, int count, IReadOnlySet<int>? lose = null, int maxJitterUs = 0, IReadOnlyList<long>? delaysUs = null)
    {
        var rng = _b.Rng;
        for (int i = 0; i < count; i++)
        {
            bool marker = !_started;
            _started = true;
            if (lose is not null && lose.Contains(i))
            {
                if (i == 0 || i == count - 1) throw new ArgumentException("first and last packets are never lost");
                Truth.Lost++;
                Advance();
                continue;
            }
            long jitter = maxJitterUs > 0 ? rng.Next(0, maxJitterUs + 1) : 0;
            if (delaysUs is not null && i < delaysUs.Count) jitter += delaysUs[i];
            Truth.MaxAddedJitterMs = Math.Max(Truth.MaxAddedJitterMs, jitter / 1000.0);
            _packet[0] = 0x80;                                           // V=2, no padding/extension/CSRC
            _packet[1] = (byte)((marker ? 0x80 : 0) | PayloadType);
            BinaryPrimitives.WriteUInt16BigEndian(_packet.AsSpan(2), Sequence);
            BinaryPrimitives.WriteUInt32BigEndian(_packet.AsSpan(4), Timestamp);
            BinaryPrimitives.WriteUInt32BigEndian(_packet.AsSpan(8), Ssrc);
            FillG711(rng, _packet.AsSpan(HeaderLength));
            _b.EmitUdp(_flow, _fromClient, start + i * PacketIntervalUs + jitter, _packet);
            Truth.Packets++;
            OctetsSent += G711Payload;
            Advance();
        }
    }

    private void Advance()
    {
        Sequence++;
        Timestamp += SamplesPerPacket;
    }

    /// <summary>Low-level speech-like G.711 codes: near the codec's zero (0xFF mu-law, 0xD5 A-law) with small excursions.</summary>
    private void FillG711(Random rng, Span<byte> payload)
    {
        byte zero = PayloadType == PayloadPcmu ? (byte)0xFF : (byte)0xD5;
        for (int i = 0; i < payload.Length; i++) payload[i] = (byte)(zero ^ rng.Next(0, 24));
    }

    /// <summary>
    /// RTCP compound packet: SR (RFC 3550 6.4.1) with one report block about <paramref name="peer"/>,
    /// then SDES with a CNAME.
    /// </summary>
    /// <param name="lastSr">LSR of the report block: the middle 32 bits of the NTP time of the peer's last SR (0: none).</param>
    /// <param name="delaySinceLastSr">DLSR, in 1/65536 s.</param>
    public byte[] SenderReport(long unixMicros, RtpSender peer, string cname, uint lastSr = 0, uint delaySinceLastSr = 0)
    {
        var sr = new byte[28 + 24];
        sr[0] = 0x81; sr[1] = 200;
        BinaryPrimitives.WriteUInt16BigEndian(sr.AsSpan(2), (ushort)(sr.Length / 4 - 1));
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(4), Ssrc);
        ulong sec = (ulong)(unixMicros / 1_000_000 + 2_208_988_800);
        ulong frac = (ulong)(unixMicros % 1_000_000) * (1UL << 32) / 1_000_000;
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(8), (uint)sec);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(12), (uint)frac);
        LastSrNtpMiddle = (uint)((sec & 0xFFFF) << 16 | (frac >> 16));
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(16), Timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(20), (uint)PacketsSent);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(24), OctetsSent);
        // report block about the peer's stream
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(28), peer.Ssrc);
        uint cumulativeLost = (uint)peer.Truth.Lost & 0xFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(32), cumulativeLost);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(36), peer.Sequence - 1u);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(40), 3);     // interarrival jitter, timestamp units
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(44), lastSr);
        BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(48), delaySinceLastSr);
        var name = System.Text.Encoding.ASCII.GetBytes(cname);
        int sdesLen = (4 + 4 + 2 + name.Length + 1 + 3) & ~3;
        var sdes = new byte[sdesLen];
        sdes[0] = 0x81; sdes[1] = 202;
        BinaryPrimitives.WriteUInt16BigEndian(sdes.AsSpan(2), (ushort)(sdesLen / 4 - 1));
        BinaryPrimitives.WriteUInt32BigEndian(sdes.AsSpan(4), Ssrc);
        sdes[8] = 1; sdes[9] = (byte)name.Length;
        name.CopyTo(sdes, 10);
        return Payloads.Concat(sr, sdes);
    }

    /// <summary>RTCP receiver report (RR, PT 201) with one block about <paramref name="peer"/>, then BYE (PT 203).</summary>
    public byte[] ReceiverReportBye(RtpSender peer)
    {
        var rr = new byte[8 + 24 + 8];
        rr[0] = 0x81; rr[1] = 201;
        BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(2), 7);
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(4), Ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(8), peer.Ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(12), (uint)peer.Truth.Lost & 0xFFFFFF);
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(16), peer.Sequence - 1u);
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(20), 2);
        rr[32] = 0x81; rr[33] = 203;
        BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(34), 1);
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(36), Ssrc);
        return rr;
    }
}
