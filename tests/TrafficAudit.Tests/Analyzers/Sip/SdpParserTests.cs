using System.Text;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Sip;

[TestClass]
public sealed class SdpParserTests
{
    private static SdpSession Parse(string text, AnomalyCounters? an = null) =>
        SdpParser.Parse(Encoding.ASCII.GetBytes(text), an ?? new AnomalyCounters()) ?? throw new AssertFailedException("no SDP");

    [TestMethod]
    public void Parse_AudioOffer_ReadsConnectionPortCodecsPtime()
    {
        var s = Parse("v=0\r\no=alice 2890844526 2890844527 IN IP4 host.atlanta.example.com\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\n" +
                      "m=audio 49172 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:30\r\na=sendonly\r\n");
        Assert.AreEqual("2890844526", s.OriginSessionId);
        Assert.AreEqual(2890844527UL, s.OriginVersion);
        var m = s.Media.Single();
        Assert.AreEqual("audio", m.Kind);
        Assert.AreEqual(IpAddress.Parse("192.0.2.101"), m.Address);
        Assert.AreEqual(49172, m.Port);
        Assert.AreEqual("RTP/AVP", m.Protocol);
        Assert.AreEqual(30, m.PtimeMs);
        Assert.AreEqual(SdpDirection.SendOnly, m.Direction);
        CollectionAssert.AreEqual(new[] { new SdpPayload(8, "PCMA", 8000), new SdpPayload(0, "PCMU", 8000), new SdpPayload(101, "telephone-event", 8000) }, m.Payloads.ToArray());
        Assert.AreEqual("PCMA", m.PrimaryCodec!.EncodingName);
    }

    [TestMethod]
    public void Parse_Ipv6MediaConnectionOverridesSession_AndMultipleMediaLines()
    {
        var s = Parse("v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::1\nt=0 0\n" +
                      "m=audio 30000 RTP/SAVP 96 9\nc=IN IP6 2001:db8::2\na=rtpmap:96 opus/48000/2\na=recvonly\n" +
                      "m=video 30002 RTP/AVP 97\na=rtpmap:97 H264/90000\na=inactive\n");
        Assert.HasCount(2, s.Media);
        var audio = s.Media[0];
        Assert.AreEqual(IpAddress.Parse("2001:db8::2"), audio.Address);
        Assert.AreEqual("RTP/SAVP", audio.Protocol);
        Assert.AreEqual(new SdpPayload(96, "opus", 48000, 2), audio.Payloads[0]);
        Assert.AreEqual(new SdpPayload(9, "G722", 8000), audio.Payloads[1], "RFC 3551: G.722 has an 8000 Hz RTP clock");
        Assert.AreEqual(SdpDirection.RecvOnly, audio.Direction);
        var video = s.Media[1];
        Assert.AreEqual("video", video.Kind);
        Assert.AreEqual(IpAddress.Parse("2001:db8::1"), video.Address, "falls back to the session c=");
        Assert.AreEqual(30002, video.Port);
        Assert.AreEqual(new SdpPayload(97, "H264", 90000), video.Payloads[0]);
        Assert.AreEqual(SdpDirection.Inactive, video.Direction);
    }

    [TestMethod]
    public void Parse_T38Image_IsUdptlT38()
    {
        var s = Parse(SipSamples.T38Sdp("198.51.100.7", 16394));
        var m = s.Media.Single();
        Assert.AreEqual("image", m.Kind);
        Assert.AreEqual("udptl", m.Protocol);
        Assert.IsTrue(m.IsT38);
        Assert.IsFalse(m.IsRtp);
        Assert.AreEqual(new SdpPayload(-1, "t38", 0), m.Payloads.Single());
    }

    [TestMethod]
    public void Parse_SessionDirectionAndMulticastTtl_Apply()
    {
        var s = Parse("v=0\r\nc=IN IP4 233.252.0.1/127\r\na=inactive\r\nm=audio 0 RTP/AVP 0\r\n");
        Assert.AreEqual(IpAddress.Parse("233.252.0.1"), s.Media[0].Address);
        Assert.AreEqual(SdpDirection.Inactive, s.Media[0].Direction);
        Assert.AreEqual(0, s.Media[0].Port);
    }

    [TestMethod]
    public void Parse_BadLines_AreCountedAndSkipped()
    {
        var an = new AnomalyCounters();
        var s = Parse("v=0\r\nc=IN IP4 not-an-ip!\r\nc=XX IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\nm=audio 5004 RTP/AVP 0 96\r\n" +
                      "a=rtpmap:96\r\na=rtpmap:96 foo/bar\r\na=ptime:abc\r\ngarbage\r\n", an);
        Assert.AreEqual(1, an["sdp_bad_connection"]);
        Assert.AreEqual(1, an["sdp_bad_media_line"]);
        Assert.AreEqual(2, an["sdp_bad_rtpmap"]);
        Assert.AreEqual(1, an["sdp_bad_ptime"]);
        Assert.AreEqual(1, an["sdp_bad_line"]);
        var m = s.Media.Single();
        Assert.AreEqual(5004, m.Port);
        Assert.AreEqual(new SdpPayload(96, "", 0), m.Payloads[1], "a dynamic type without a valid rtpmap has no name or clock");
    }

    [TestMethod]
    public void Parse_EveryCut_NeverThrows()
    {
        var text = Encoding.ASCII.GetBytes(SipSamples.AudioSdp() + "m=video 5006 RTP/AVP 97\r\nc=IN IP6 2001:db8::5\r\na=rtpmap:97 H264/90000\r\n");
        var an = new AnomalyCounters();
        for (int n = 0; n <= text.Length; n++) SdpParser.Parse(text.AsSpan(0, n), an);
        Assert.HasCount(2, SdpParser.Parse(text, an)!.Media);
    }
}
