using System.Globalization;
using TrafficAudit.Analyzers;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Sip;

/// <summary>
/// The SIP analyzer over the public captures that carry SIP, against tshark. Oracle:
/// TestData/tshark-sip-messages.tsv, one row per SIP message, written by tools/oracle/sip-messages.sh
/// (tshark -r FILE -Y sip -T fields -e frame.number -e frame.time_epoch -e sip.Call-ID -e sip.Method -e sip.Status-Code -e sip.CSeq).
/// </summary>
[TestClass]
public sealed class SipPublicCaptureTests
{
    public static IEnumerable<object[]> Files() => Oracle().Select(g => new object[] { g.Key });

    private sealed record Row(long Frame, long TimeNs, string CallId, string Method, int Status, uint CSeq, string CSeqMethod);

    private static IEnumerable<IGrouping<string, Row>> Oracle()
    {
        var path = Path.Combine(TestPaths.TestData, "tshark-sip-messages.tsv");
        return File.ReadAllLines(path)
            .Where(l => !l.StartsWith('#') && !l.StartsWith("file\t", StringComparison.Ordinal) && l.Length > 0)
            .Select(l => l.Split('\t'))
            .Select(c =>
            {
                var cseq = c[6].Split(' ', 2);
                return (File: c[0], Row: new Row(long.Parse(c[1], CultureInfo.InvariantCulture), ParseSecondsToNs(c[2]), c[3], c[4],
                    c[5].Length == 0 ? 0 : int.Parse(c[5], CultureInfo.InvariantCulture), uint.Parse(cseq[0], CultureInfo.InvariantCulture), cseq[1]));
            })
            .GroupBy(x => x.File, x => x.Row);
    }

    /// <summary>Feeds a capture through the decoder into a SIP analyzer the way the pipeline does.</summary>
    internal static (SipAnalysisResult Result, AnomalyCounters Anomalies) Analyze(string path)
    {
        var anomalies = new AnomalyCounters();
        var decoder = new PacketDecoder(anomalies);
        var sip = new SipAnalyzer(anomalies);
        var packet = new DecodedPacket();
        long last = long.MinValue;
        using var source = CaptureFile.Open(path, 0, anomalies);
        while (source.MoveNext())
        {
            var h = source.Header;
            anomalies.CurrentFrame = h.FrameNumber;
            if (h.TimestampNs > last) last = h.TimestampNs;
            if (decoder.Decode(h.LinkType, source.Data, h.TimestampNs, ref packet, out var buffer) != DecodeStatus.Ok) continue;
            var payload = buffer.Slice(packet.PayloadOffset, packet.PayloadLength);
            if (packet.IsUdp)
                sip.OnUdp(h.TimestampNs, packet.Src, packet.SrcPort, packet.Dst, packet.DstPort, payload, h.FrameNumber);
            else if (packet.IsTcp) // every TCP segment: the analyzer rejects what is not SIP
                sip.OnTcp(h.TimestampNs, packet.Src, packet.SrcPort, packet.Dst, packet.DstPort, packet.TcpSeq, packet.TcpFlags, payload, h.FrameNumber);
        }
        return (sip.Complete(last), anomalies);
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void Analyze_PublicCapture_MatchesTsharkCallsAndMessages(string relative)
    {
        var path = TestPaths.PublicCapture(relative);
        var rows = Oracle().Single(g => g.Key == relative).ToList();
        var (result, _) = Analyze(path);

        // Every SIP message tshark decodes, per request method and per status code.
        Assert.AreEqual(rows.Count, result.Messages, "SIP messages");
        foreach (var m in rows.Where(r => r.Method.Length > 0).GroupBy(r => r.Method))
            Assert.AreEqual(m.Count(), result.RequestCounts.GetValueOrDefault(m.Key), $"{m.Key} requests");
        foreach (var s in rows.Where(r => r.Status > 0).GroupBy(r => r.Status))
            Assert.AreEqual(s.Count(), result.ResponseCounts.GetValueOrDefault(s.Key), $"{s.Key} responses");

        // One call per Call-ID that has an INVITE, in order of the first INVITE.
        var expectedCalls = rows.Where(r => r.Method == "INVITE").Select(r => r.CallId).Distinct().ToList();
        CollectionAssert.AreEqual(expectedCalls, result.Calls.Select(c => c.CallId).ToList(), "Call-IDs");
        foreach (var call in result.Calls)
        {
            var of = rows.Where(r => r.CallId == call.CallId).ToList();
            var firstInvite = of.First(r => r.Method == "INVITE");
            Assert.AreEqual(firstInvite.TimeNs, call.StartNs, $"{call.CallId} start");
            Assert.AreEqual(firstInvite.Frame, call.StartFrame, $"{call.CallId} start frame");
            var inviteResponses = of.Where(r => r.Status > 0 && r.CSeqMethod == "INVITE").ToList();
            var answer = inviteResponses.FirstOrDefault(r => r.Status is >= 200 and < 300);
            int finalStatus = answer?.Status ?? inviteResponses.LastOrDefault(r => r.Status >= 300)?.Status ?? 0;
            Assert.AreEqual(finalStatus, call.FinalStatus, $"{call.CallId} final status");
            Assert.AreEqual(answer is null ? null : (answer.TimeNs - firstInvite.TimeNs), call.AnswerNs - call.StartNs, $"{call.CallId} INVITE to 2xx (ns)");
            var bye = of.FirstOrDefault(r => r.Method == "BYE");
            Assert.AreEqual(bye?.TimeNs, call.ByeNs, $"{call.CallId} BYE");
        }
    }

    /// <summary>
    /// Facts of the first call of a capture beyond tshark's message list, each checked by reading
    /// the capture's SDP with tshark (-Y sdp -T fields -e frame.number -e sip.Method -e sip.Status-Code -e sdp.media).
    /// </summary>
    [TestMethod]
    [DataRow("wireshark-wiki/sip-rtp-g711.pcap", "Udp", "PCMU/8000", false, false, 0, "Bye")]
    [DataRow("wireshark-wiki/sip-rtp-g722.pcap", "Udp", "G722/8000", false, false, 0, "Bye")]
    [DataRow("wireshark-wiki/sip-rtp-g729a.pcap", "Udp", "G729/8000", false, false, 0, "Bye")]
    [DataRow("wireshark-wiki/SIP_CALL_RTP_G711", "Udp", "pcma/8000", false, false, 0, "CaptureEnd")]
    [DataRow("wireshark-wiki/T38.pcap", "Udp", "G729/8000,t38", true, true, 1, "Bye")]
    [DataRow("wireshark-wiki/LtoZ_rtpFilter_fail_2.pcap", "Udp", "PCMU/8000,t38", true, true, 1, "Bye")]
    // The T.38 re-INVITE (CSeq 3) is refused with 488 and the call goes back to audio (CSeq 4).
    [DataRow("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", "Udp", "PCMA/8000", false, true, 3, "Bye")]
    [DataRow("wireshark-wiki/SIP_DTMF2.cap", "Udp", "", false, false, 0, "Failed")]
    [DataRow("wireshark-wiki/Asterisk_ZFONE_XLITE.pcap", "Udp", "PCMU/8000", false, false, 1, "Bye")]
    [DataRow("sngrep/ipv6frag.pcap", "Udp", "AMR-WB/16000", false, false, 0, "Bye")]
    [DataRow("sngrep/ipip.pcap", "Tcp", "PCMU/8000", false, false, 0, "Bye")]
    [DataRow("heplify/sip_ipv4_tcp.pcap", "Tcp", "PCMA/8000", false, false, 0, "Bye")]
    [DataRow("heplify/sip_ipv6_udp.pcap", "Udp", "pcmu/8000", false, false, 0, "Bye")]
    public void Analyze_PublicCapture_FirstCallFacts(string relative, string transport, string codecs, bool t38, bool t38Offered, int reInvites, string end)
    {
        var (result, _) = Analyze(TestPaths.PublicCapture(relative));
        var c = result.Calls[0];
        Assert.AreEqual(transport, c.Transport.ToString());
        Assert.AreEqual(codecs, string.Join(",", c.Codecs));
        Assert.AreEqual(t38, c.T38);
        Assert.AreEqual(t38Offered, c.T38Offered);
        Assert.AreEqual(reInvites, c.ReInviteCount);
        Assert.AreEqual(end, c.EndReason.ToString());
        // Every media endpoint is an address and port an SDP of the call announced.
        foreach (var e in c.MediaEndpoints)
            Assert.IsTrue(c.MediaChanges.Any(m => m.Sdp.Media.Any(x => x.Address == e.Address && x.Port == e.Port && x.Kind == e.Kind)));
    }

    [TestMethod]
    public void Analyze_FragmentedIpv6Invite_HasIpv6MediaEndpoints()
    {
        var (result, anomalies) = Analyze(TestPaths.PublicCapture("sngrep/ipv6frag.pcap"));
        var c = result.Calls.Single();
        Assert.IsFalse(c.CallerIp.IsV4);
        Assert.AreEqual(IpAddress.Parse("fd17:625c:f037:2:a00:27ff:feb9:1521"), c.CallerIp);
        Assert.AreEqual(15060, c.CallerPort);
        Assert.IsTrue(c.MediaEndpoints.Any(e => e.Address == IpAddress.Parse("fd17:625c:f037:2:a00:27ff:feb9:1521") && e.Port == 15062));
        Assert.AreEqual(0, anomalies["sip_truncated_body"]);
    }

    private static long ParseSecondsToNs(string s)
    {
        var parts = s.Split('.');
        long ns = long.Parse(parts[0], CultureInfo.InvariantCulture) * 1_000_000_000;
        if (parts.Length > 1) ns += long.Parse(parts[1].PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
        return ns;
    }
}
