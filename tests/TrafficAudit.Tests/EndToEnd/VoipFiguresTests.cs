using System.Buffers.Binary;
using System.Globalization;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Pcap;
using TrafficAudit.Synth.Scenarios;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The VoIP figures end to end: MOS behind simulated jitter buffers, RTCP multiplexed on the RTP port
/// (RFC 5761), and the spreadsheet figures (peak against mean, per-direction loss, codec names,
/// retransmissions as Wireshark counts them) on our scenarios and on every public capture.
/// </summary>
[TestClass]
public sealed class VoipFiguresTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static (CliRunner.Result Run, TrafficAudit.Synth.Model.GroundTruth Truth) AuditScenario(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-voipfig", Guid.NewGuid().ToString("N"));
        var capture = ScenarioCatalog.Find(name)!.Build(1);
        var pcap = capture.Save(Path.Combine(dir, name + ".pcap"));
        var r = CliRunner.Audit([pcap, "--profile", TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap), "--quiet"]);
        Assert.IsTrue(r.ExitCode is 0 or 1, r.Stderr);
        return (r, capture.Truth);
    }

    private static double D(Dictionary<string, string> row, string column) => double.Parse(row[column], Inv);

    [TestMethod]
    public void JitterBufferMosScenario_LatePacketsLowerTheJitterBufferMosButNotTheNetworkMos()
    {
        var (r, truth) = AuditScenario("jitter-buffer-mos");
        var streams = Csv.Read(r.File("rtp_streams.csv"));
        var planted = truth.Calls.Single().RtpStreams.Single(s => s.LateFixed50Ms is not null);
        var jittery = streams.Single(s => $"{s["src_ip"]}:{s["src_port"]}" == planted.Src);

        Assert.AreEqual("0", jittery["lost"], "nothing is lost in the network");
        Assert.AreEqual(4.41, D(jittery, "mos_network"), 1e-9);
        Assert.AreEqual(planted.LateFixed50Ms!.Value.ToString(Inv), jittery["late_f1"]);
        Assert.AreEqual(planted.LateFixed200Ms!.Value.ToString(Inv), jittery["late_f2"]);
        Assert.AreEqual(jittery["mos_adapt"], jittery["mos"], "the headline is the adaptive buffer's MOS");
        // The figures the README quotes: 9 late packets per stall in runs of 9 behind 50 ms, 2 behind 200 ms.
        Assert.AreEqual("3.13", jittery["mos_f1"]);
        Assert.AreEqual("4.23", jittery["mos_f2"]);
        Assert.AreEqual("4.20", jittery["mos"]);
        Assert.AreEqual("22", jittery["late_adapt"]);
        Assert.AreEqual("17.263", jittery["max_jitter_ms"]);
        Assert.IsLessThan(30.0, D(jittery, "max_jitter_ms"), "below the jitter threshold: only the MOS shows the stalls");

        var other = streams.Single(s => s != jittery);
        Assert.AreEqual("4.41", other["mos"]);
        var call = Csv.Read(r.File("calls.csv")).Single();
        Assert.AreEqual(jittery["mos"], call["mos"], "the call's MOS is its lowest stream's headline MOS");
        Assert.AreEqual("4.41", call["mos_network"]);
    }

    [TestMethod]
    public void RtcpMuxScenario_RtcpOnTheRtpPortsFeedsTheStreamsAndIsNoStream()
    {
        var (r, truth) = AuditScenario("rtcp-mux");
        var streams = Csv.Read(r.File("rtp_streams.csv"));
        var call = truth.Calls.Single();
        Assert.AreEqual(call.RtpStreams.Count, streams.Count);
        foreach (var s in streams)
        {
            var t = call.RtpStreams.Single(x => x.Src == $"{s["src_ip"]}:{s["src_port"]}");
            Assert.AreEqual(t.Packets.ToString(Inv), s["packets"], "RTCP packets are not counted as RTP");
            Assert.AreEqual(t.PayloadType.ToString(Inv), s["payload_type"]);
            Assert.AreEqual(call.RtcpMuxPackets!.Value.ToString(Inv), s["rtcp_mux_packets"]);
            Assert.IsGreaterThan(0, int.Parse(s["rtcp_reports"], Inv), "the far end's reports reach the stream");
            Assert.AreEqual("0.375", s["rtcp_jitter_ms"], "the generator reports 3 timestamp units at 8 kHz");
        }
        var flows = Csv.Read(r.File("flows.csv"));
        Assert.AreEqual(0, flows.Count(f => f["service"] == "rtcp"), "no separate RTCP flow");
        Assert.AreEqual(1, flows.Count(f => f["service"] == "rtp"));
    }

    // ---------------------------------------------------------------- hand-made RTCP-mux capture

    private static readonly uint A = Frames.ParseIPv4("10.0.0.10"), B = Frames.ParseIPv4("10.1.0.21");
    private const uint SsrcA = 0x0A0A0A0A, SsrcB = 0x0B0B0B0B;

    private static byte[] Udp(uint src, uint dst, ushort sport, ushort dport, ReadOnlySpan<byte> payload) => MediaFrames.Udp(src, dst, sport, dport, payload);

    private static byte[] Rtp(ushort seq, uint ssrc) => MediaFrames.Rtp(seq, ssrc, payloadType: 0);

    /// <summary>An RTCP packet of <paramref name="type"/> from <paramref name="ssrc"/> with <paramref name="words"/> words after the header (zeros).</summary>
    private static byte[] Rtcp(byte type, uint ssrc, int words, byte count = 0)
    {
        var p = new byte[4 + 4 * words];
        p[0] = (byte)(0x80 | count); p[1] = type;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)words);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), ssrc);
        return p;
    }

    /// <summary>RR from B about A: cumulative lost 2, jitter 160 units (20 ms at 8 kHz).</summary>
    private static byte[] ReceiverReport()
    {
        var p = Rtcp(201, SsrcB, 7, count: 1);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), SsrcA);
        p[15] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(20), 160);
        return p;
    }

    [TestMethod]
    public void Audit_RtcpTypes200To207OnTheRtpPorts_AreReportsNeverRtpStreams()
    {
        var pcap = new MemoryStream();
        using (var w = new PcapFileWriter(pcap, leaveOpen: true))
        {
            long t = 1_700_000_000_000_000;
            for (ushort i = 0; i < 100; i++)
            {
                w.Write(t + i * 20_000, Udp(A, B, 5000, 25034, Rtp((ushort)(1000 + i), SsrcA)));
                // The same SSRC as the media, as RFC 5761 senders use: mistaken for RTP, these would land in A's stream.
                if (i == 10) w.Write(t + i * 20_000 + 1, Udp(A, B, 5000, 25034, [.. Rtcp(200, SsrcA, 6), .. Rtcp(202, SsrcA, 3)]));
                if (i == 20) w.Write(t + i * 20_000 + 1, Udp(A, B, 5000, 25034, Rtcp(205, SsrcA, 3)));   // RTPFB (NACK)
                if (i == 30) w.Write(t + i * 20_000 + 1, Udp(A, B, 5000, 25034, Rtcp(206, SsrcA, 2)));   // PSFB (PLI)
                if (i == 40) w.Write(t + i * 20_000 + 1, Udp(A, B, 5000, 25034, Rtcp(207, SsrcA, 5)));   // XR
                if (i == 50) w.Write(t + i * 20_000 + 1, Udp(B, A, 25034, 5000, ReceiverReport()));
            }
        }
        pcap.Position = 0;
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(pcap, "rtcp-mux.pcap");
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        var result = engine.Complete(source.Interfaces, source.Errors);

        var stream = result.Streams.Single();
        Assert.AreEqual(SsrcA, stream.Ssrc);
        Assert.AreEqual(100, stream.Packets);
        Assert.AreEqual(0, stream.Lost);
        Assert.AreEqual(0, stream.SequenceErrors, "no RTCP length word read as a sequence number");
        Assert.AreEqual(5, stream.RtcpMuxPackets);
        Assert.AreEqual(1, stream.RtcpReports);
        Assert.AreEqual(2, stream.RtcpCumulativeLost);
        Assert.AreEqual(20.0, stream.RtcpJitterMs, 1e-9);
        Assert.AreEqual("rtp", result.Flows.Single().Service);
    }

    // ---------------------------------------------------------------- figures on every public capture

    private static IEnumerable<string> PublicCaptureFiles()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        return Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
    }

    private static AuditResult? TryAudit(string path)
    {
        try { return RtpStreamsOracleTests.Audit(path); }
        catch (CaptureFormatException) { return null; } // not a capture we read (the capture tests cover those)
    }

    [TestMethod]
    public void PublicCaptures_StreamAndCallFigures_AreConsistent()
    {
        int streams = 0, calls = 0;
        foreach (var file in PublicCaptureFiles())
        {
            var result = TryAudit(file);
            if (result is null) continue;
            string name = Path.GetRelativePath(TestPaths.PublicCaptures, file);
            foreach (var s in result.Streams)
            {
                streams++;
                Assert.IsGreaterThanOrEqualTo(s.IpKbps, s.PeakIpKbps, $"{name} stream {s.StreamId}: peak below mean");
                Assert.IsFalse(s.PayloadType is >= 64 and <= 95 && s.Codec.Length == 0, $"{name} stream {s.StreamId}: payload type {s.PayloadType} in the RTCP range");
                Assert.IsTrue(s.MosF1 <= s.MosNetwork + 1e-9 && s.MosF2 <= s.MosNetwork + 1e-9 && s.MosAdapt <= s.MosNetwork + 1e-9,
                    $"{name} stream {s.StreamId}: a jitter buffer cannot play more than the network delivered");
                Assert.AreEqual(s.MosAdapt, s.Mos);
            }
            foreach (var c in result.Calls)
            {
                calls++;
                string id = $"{name} call {c.Sip.CallId}";
                Assert.AreEqual(Math.Max(0, Math.Max(c.LostPctOut, c.LostPctIn)), c.LostPct, 1e-12, id);
                var names = c.Codec.Length == 0 ? [] : c.Codec.Split(';');
                Assert.IsFalse(names.Any(n => n.Contains('/')), $"{id}: codec '{c.Codec}' carries a rate");
                Assert.AreEqual(names.Length, names.Distinct(StringComparer.OrdinalIgnoreCase).Count(), $"{id}: codec '{c.Codec}' spelled twice");
                Assert.AreEqual(names.Length, c.CodecClockRate.Length == 0 ? 0 : c.CodecClockRate.Split(';').Length, id);
                if (c.Streams.Count > 0) Assert.AreEqual(c.Streams.Min(s => s.Mos), c.Mos, id);
            }
        }
        Assert.IsGreaterThan(30, streams);
        Assert.IsGreaterThan(15, calls);
    }

    [TestMethod]
    public void PublicCaptures_KnownSpreadsheetFigures()
    {
        var fax = RtpStreamsOracleTests.Audit(TestPaths.PublicCapture("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"));
        var faxCall = fax.Calls.Single(c => c.Sip.CallId.StartsWith("00e9d4a5", StringComparison.Ordinal));
        Assert.AreEqual(14, faxCall.Sip.Retransmissions, "tshark -z sip,stat: 14 resent messages, all in this call");
        Assert.AreEqual("PCMA", faxCall.Codec);
        Assert.AreEqual("8000", faxCall.CodecClockRate);
        // The stream with 2,730 ms of (Wireshark) jitter: its sender restarted the RTP timestamps at 0 (seq 1145,
        // frame 3149) after 347,200. Each buffer plays nothing until it re-synchronises after 10 late packets.
        var restarted = fax.Streams.Single(s => s.Ssrc == 0x17D90134);
        Assert.AreEqual(2730.468, restarted.MaxJitterMs, 0.01);
        Assert.AreEqual(0, restarted.Lost);
        Assert.AreEqual(4.41, restarted.MosNetwork, 0.005);
        Assert.AreEqual(TrafficAudit.Analyzers.Rtp.JitterBufferModel.ResyncAfterLate, restarted.LateF2);
        Assert.AreEqual(TrafficAudit.Analyzers.Rtp.JitterBufferModel.ResyncAfterLate, restarted.LateAdapt);
        Assert.AreEqual(4.38, restarted.Mos, 0.005);

        var aaa = RtpStreamsOracleTests.Audit(TestPaths.PublicCapture("wireshark-wiki/aaa.pcap"));
        var shortStream = aaa.Streams.Single();
        Assert.IsLessThan(1e9, (double)(shortStream.LastSeenNs - shortStream.FirstSeenNs), "shorter than a second");
        Assert.AreEqual(shortStream.IpKbps, shortStream.PeakIpKbps, 1e-9, "a stream shorter than a second peaks at its mean");
    }

    /// <summary>Oracle: TestData/tshark-sip-stat.tsv, written by tools/oracle/sip-stat.sh (tshark -n -r FILE -q -z sip,stat).</summary>
    [TestMethod]
    public void PublicCaptures_ResentSipMessages_MatchTshark()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        var rows = File.ReadAllLines(Path.Combine(TestPaths.TestData, "tshark-sip-stat.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith("file\t", StringComparison.Ordinal))
            .Select(l => l.Split('\t')).ToList();
        Assert.IsGreaterThan(10, rows.Count);
        var problems = new List<string>();
        foreach (var c in rows)
        {
            var result = TryAudit(Path.Combine(TestPaths.PublicCaptures, c[0]));
            if (result is null) continue; // c07-sip-r2.cap is a Network Monitor file: we name it and read nothing
            long resent = long.Parse(c[2], Inv);
            if (result.Voip.SipRetransmissions != resent) problems.Add($"{c[0]}: {result.Voip.SipRetransmissions} resent, tshark {resent}");
        }
        Assert.AreEqual(0, problems.Count, string.Join("\n", problems));
    }
}
