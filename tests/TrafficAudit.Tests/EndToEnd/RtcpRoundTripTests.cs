using System.Buffers.Binary;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Wire;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>RTCP through the whole pipeline: reports tied to the stream they describe, and the LSR/DLSR round trip.</summary>
[TestClass]
public sealed class RtcpRoundTripTests
{
    private static readonly uint A = Frames.ParseIPv4("10.0.0.10"), B = Frames.ParseIPv4("10.1.0.21");
    private const uint SsrcA = 0x11111111, SsrcB = 0x22222222;

    private static byte[] Udp(uint src, uint dst, ushort sport, ushort dport, ReadOnlySpan<byte> payload) => MediaFrames.Udp(src, dst, sport, dport, payload);

    private static byte[] Rtp(ushort seq, uint ssrc) => MediaFrames.Rtp(seq, ssrc, payloadType: 8);

    /// <summary>SR from <paramref name="ssrc"/>: NTP seconds 0x0000ABCD, fraction 0x12340000 -> LSR value 0xABCD1234.</summary>
    private static byte[] SenderReport(uint ssrc)
    {
        var p = new byte[28];
        p[0] = 0x80; p[1] = 200; p[3] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), 0x0000ABCD);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), 0x12340000);
        return p;
    }

    /// <summary>RR from <paramref name="reporter"/> about <paramref name="source"/>: 3 lost, jitter 80 units (10 ms at 8 kHz), LSR 0xABCD1234, DLSR 0.1 s.</summary>
    private static byte[] ReceiverReport(uint reporter, uint source)
    {
        var p = new byte[32];
        p[0] = 0x81; p[1] = 201; p[3] = 7;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), reporter);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), source);
        p[12] = 64; // fraction lost 64/256 = 25 %
        p[15] = 3;  // cumulative lost
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(20), 80);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(24), 0xABCD1234);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(28), 6554); // 6554 / 65536 s = 100.006 ms
        return p;
    }

    [TestMethod]
    public void Audit_SenderThenReceiverReport_GivesTheRoundTripAndTheReportedJitterAndLoss()
    {
        var pcap = new MemoryStream();
        using (var w = new PcapFileWriter(pcap, leaveOpen: true))
        {
            long t = 1_700_000_000_000_000; // µs
            for (ushort i = 0; i < 50; i++) w.Write(t + i * 20_000, Udp(A, B, 5000, 25034, Rtp(i, SsrcA)));
            w.Write(t + 1_000_000, Udp(A, B, 5001, 25035, SenderReport(SsrcA)));
            // The RR leaves B 100.006 ms after the SR arrived there; the capture point sees it 150 ms after the SR:
            // 49.994 ms are spent on the way from the capture point to B and back.
            w.Write(t + 1_150_000, Udp(B, A, 25035, 5001, ReceiverReport(SsrcB, SsrcA)));
        }
        pcap.Position = 0;
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(pcap, "rtcp.pcap");
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        var stream = engine.Complete(source.Interfaces, source.Errors).Streams.Single();
        Assert.AreEqual(SsrcA, stream.Ssrc);
        Assert.AreEqual(1, stream.RtcpReports);
        Assert.AreEqual(10.0, stream.RtcpJitterMs, 1e-9);
        Assert.AreEqual(3, stream.RtcpCumulativeLost);
        Assert.AreEqual(25.0, stream.RtcpMaxFractionLostPct, 1e-9);
        Assert.AreEqual(150.0 - 6554 * 1000.0 / 65536, stream.RtcpRttMs, 1e-6);
    }

    [TestMethod]
    public void SenderReports_PastTheCap_AreForgottenAndCounted()
    {
        var pcap = new MemoryStream();
        int reports = VoipTracker.MaxSenderReports + 2;
        using (var w = new PcapFileWriter(pcap, leaveOpen: true))
        {
            long t = 1_700_000_000_000_000; // µs
            for (ushort i = 0; i < 50; i++) w.Write(t + i * 20_000, Udp(A, B, 5000, 25034, Rtp(i, SsrcA)));
            var sr = SenderReport(SsrcA);
            for (int i = 0; i < reports; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(sr.AsSpan(10), (uint)i);  // the middle 32 bits of the NTP time (what LSR echoes): a new report to remember
                w.Write(t + 1_000_000 + i, Udp(A, B, 5001, 25035, sr));
            }
        }
        pcap.Position = 0;
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(pcap, "rtcp-flood.pcap");
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        var result = engine.Complete(source.Interfaces, source.Errors);
        // The table holds MaxSenderReports; the next one makes it full past the cap, and it starts anew.
        Assert.AreEqual(VoipTracker.MaxSenderReports + 1L, result.Anomalies.Single(a => a.Name == "rtcp_sender_reports_forgotten").Count);
    }
}
