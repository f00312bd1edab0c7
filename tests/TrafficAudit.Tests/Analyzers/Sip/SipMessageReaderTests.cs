using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Sip;

[TestClass]
public sealed class SipMessageReaderTests
{
    private static string S(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);

    [TestMethod]
    public void TryParse_InviteWithSdp_ReadsStartLineHeadersAndBody()
    {
        var sdp = SipSamples.AudioSdp();
        var bytes = SipSamples.Bytes(SipSamples.Request("INVITE", 314159, "z9hG4bK776asdhds", sdp: sdp));
        var an = new AnomalyCounters();
        Assert.IsTrue(SipMessageReader.TryParse(bytes, true, an, out var m));
        Assert.IsTrue(m.IsRequest);
        Assert.AreEqual(SipMethod.Invite, m.Method);
        Assert.AreEqual("sip:bob@biloxi.example.com", S(m.RequestUri));
        Assert.AreEqual(SipSamples.CallId, S(m.CallId));
        Assert.AreEqual(314159u, m.CSeqNumber);
        Assert.AreEqual(SipMethod.Invite, m.CSeqMethod);
        Assert.AreEqual("sip:alice@atlanta.example.com", S(SipSpan.NameAddrUri(m.From)));
        Assert.AreEqual(SipSamples.AliceTag, S(SipSpan.NameAddrParam(m.From, "tag"u8)));
        Assert.IsTrue(SipSpan.NameAddrParam(m.To, "tag"u8).IsEmpty);
        Assert.IsTrue(SipSpan.TryReadVia(m.TopVia, out var transport, out var sentBy, out var branch));
        Assert.AreEqual("UDP", S(transport));
        Assert.AreEqual("pc33.atlanta.example.com", S(sentBy));
        Assert.AreEqual("z9hG4bK776asdhds", S(branch));
        Assert.AreEqual("Softphone/1.0", S(m.UserAgent));
        Assert.IsTrue(m.HasSdpBody);
        Assert.AreEqual(sdp, S(m.Body));
        Assert.AreEqual(0, an.Entries.Count);
    }

    [TestMethod]
    public void TryParse_StatusLine_ReadsCodeReasonAndServer()
    {
        var bytes = SipSamples.Bytes(SipSamples.Response(486, "Busy Here", "INVITE", 1, "z9hG4bKnashds8", toTag: "314159"));
        Assert.IsTrue(SipMessageReader.TryParse(bytes, true, null, out var m));
        Assert.IsFalse(m.IsRequest);
        Assert.AreEqual(486, m.StatusCode);
        Assert.AreEqual("Busy Here", S(m.ReasonPhrase));
        Assert.AreEqual("PBX/2.0", S(m.Server));
        Assert.AreEqual(0, m.ContentLength);
        Assert.AreEqual("314159", S(SipSpan.NameAddrParam(m.To, "tag"u8)));
    }

    [TestMethod]
    public void TryParse_CompactHeadersAndMixedCase_AreRecognised()
    {
        // RFC 3261 §7.3.3 compact forms, lower/upper case names, white space before the colon.
        const string body = "v=0\r\n";
        string text = "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n" +
                      "v: SIP/2.0/TCP [2001:db8::9]:5060;branch=z9hG4bKhjhs8ass877\r\n" +
                      "V: SIP/2.0/UDP second.example.com;branch=z9hG4bKsecond\r\n" +
                      "t: <sip:carol@chicago.example.com>\r\n" +
                      "F: sip:alice@atlanta.example.com;tag=1928301774\r\n" +
                      "i : a84b4c76e66710\r\n" +
                      "cseq: 63104 OPTIONS\r\n" +
                      "m: <sip:alice@pc33.atlanta.example.com>\r\n" +
                      "c: application/sdp\r\n" +
                      "L: " + body.Length + "\r\n\r\n" + body;
        Assert.IsTrue(SipMessageReader.TryParse(Encoding.ASCII.GetBytes(text), true, null, out var m));
        Assert.AreEqual(SipMethod.Options, m.Method);
        Assert.AreEqual("a84b4c76e66710", S(m.CallId));
        Assert.AreEqual(63104u, m.CSeqNumber);
        Assert.AreEqual("sip:alice@atlanta.example.com", S(SipSpan.NameAddrUri(m.From)));
        Assert.AreEqual("1928301774", S(SipSpan.NameAddrParam(m.From, "tag"u8)));
        Assert.AreEqual("sip:carol@chicago.example.com", S(SipSpan.NameAddrUri(m.To)));
        Assert.IsTrue(SipSpan.TryReadVia(m.TopVia, out var transport, out var sentBy, out var branch));
        Assert.AreEqual("TCP", S(transport));
        Assert.AreEqual("[2001:db8::9]:5060", S(sentBy));
        Assert.AreEqual("z9hG4bKhjhs8ass877", S(branch), "the first Via is the top one");
        Assert.AreEqual(body.Length, m.ContentLength);
        Assert.IsTrue(m.HasSdpBody);
    }

    [TestMethod]
    public void TryParse_FoldedHeaders_AreJoined()
    {
        // RFC 3261 §7.3.1: a header may continue on lines starting with white space.
        string text = "BYE sip:bob@192.0.2.4 SIP/2.0\r\n" +
                      "Via: SIP/2.0/UDP pc33.atlanta.example.com\r\n  ;branch=z9hG4bKfolded\r\n" +
                      "From: \"Alice\r\n\t Liddell\" <sip:alice@atlanta.example.com>\r\n ;tag=88sja8x\r\n" +
                      "To: <sip:bob@biloxi.example.com>;tag=8321234356\r\n" +
                      "Call-ID:\r\n 70710@saturn.bell-tel.com\r\n" +
                      "CSeq: 2\r\n BYE\r\n" +
                      "Subject: I know you're there,\r\n     pick up the phone\r\n     and talk to me!\r\n" +
                      "Content-Length: 0\r\n\r\n";
        Assert.IsTrue(SipMessageReader.TryParse(Encoding.ASCII.GetBytes(text), true, null, out var m));
        Assert.AreEqual("70710@saturn.bell-tel.com", SipSpan.ToText(m.CallId));
        Assert.AreEqual(2u, m.CSeqNumber);
        Assert.AreEqual(SipMethod.Bye, m.CSeqMethod);
        Assert.AreEqual("88sja8x", S(SipSpan.NameAddrParam(m.From, "tag"u8)));
        Assert.AreEqual("sip:alice@atlanta.example.com", S(SipSpan.NameAddrUri(m.From)));
        Assert.IsTrue(SipSpan.TryReadVia(m.TopVia, out _, out _, out var branch));
        Assert.AreEqual("z9hG4bKfolded", S(branch));
        Assert.AreEqual(0, m.ContentLength);
    }

    [TestMethod]
    public void TryParse_BodyShorterThanContentLength_CountsTruncatedBody()
    {
        var text = SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp());
        var bytes = SipSamples.Bytes(text[..^10]);
        var an = new AnomalyCounters();
        Assert.IsTrue(SipMessageReader.TryParse(bytes, true, an, out var m));
        Assert.IsTrue(m.TruncatedBody);
        Assert.AreEqual(1, an["sip_truncated_body"]);
    }

    [TestMethod]
    public void TryParse_DatagramLongerThanContentLength_BodyIsCutAtContentLength()
    {
        var text = SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()) + "garbage after the body";
        Assert.IsTrue(SipMessageReader.TryParse(SipSamples.Bytes(text), true, null, out var m));
        Assert.AreEqual(SipSamples.AudioSdp(), S(m.Body));
    }

    [TestMethod]
    [DataRow("Content-Length: abc")]
    [DataRow("Content-Length: -5")]
    [DataRow("Content-Length: 99999999999")]
    [DataRow("l: 12x")]
    public void TryParse_BadContentLength_CountsAnomalyAndStillParses(string header)
    {
        string text = "ACK sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nCall-ID: x@y\r\nCSeq: 1 ACK\r\n" + header + "\r\n\r\n";
        var an = new AnomalyCounters();
        Assert.IsTrue(SipMessageReader.TryParse(Encoding.ASCII.GetBytes(text), true, an, out var m));
        Assert.IsTrue(m.BadContentLength);
        Assert.AreEqual(-1, m.ContentLength);
        Assert.AreEqual(1, an["sip_bad_content_length"]);
    }

    [TestMethod]
    [DataRow("HTTP/1.1 200 OK\r\n\r\n")]
    [DataRow("SIP/2.0 20 OK\r\n\r\n")]
    [DataRow("SIP/2.0 099 Low\r\n\r\n")]
    [DataRow("INVITE sip:x SIP/3.0\r\n\r\n")]
    [DataRow("INV@TE sip:x SIP/2.0\r\n\r\n")]
    [DataRow("INVITE SIP/2.0\r\n\r\n")]
    [DataRow("no line end")]
    public void TryParse_BadStartLine_ReturnsFalseWithAnomaly(string text)
    {
        var an = new AnomalyCounters();
        Assert.IsFalse(SipMessageReader.TryParse(Encoding.ASCII.GetBytes(text), true, an, out _));
        Assert.AreEqual(1, an["sip_bad_start_line"]);
    }

    [TestMethod]
    public void TryParse_EveryCutAndSentinelPadding_NeverThrows()
    {
        var full = SipSamples.Bytes(SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()));
        var an = new AnomalyCounters();
        for (int n = 0; n <= full.Length; n++)
        {
            SipMessageReader.TryParse(full.AsSpan(0, n), true, an, out _);
            SipMessageReader.TryParse(full.AsSpan(0, n), false, an, out _);
            var padded = new byte[n + 16];
            full.AsSpan(0, n).CopyTo(padded);
            padded.AsSpan(n).Fill(0xFF);
            SipMessageReader.TryParse(padded, true, an, out _);
        }
        // A cut inside the header section is reported, not thrown.
        Assert.IsGreaterThan(0, an["sip_headers_not_terminated"]);
        Assert.IsTrue(SipMessageReader.TryParse(full, true, null, out var m) && m.CSeqNumber == 1);
    }

    [TestMethod]
    public void FindHeaderEnd_CrLfAndBareLf_FindTheBlankLine()
    {
        Assert.AreEqual(24, SipMessageReader.FindHeaderEnd("SIP/2.0 200 OK\r\na: b\r\n\r\nbody"u8));
        Assert.AreEqual(21, SipMessageReader.FindHeaderEnd("SIP/2.0 200 OK\na: b\n\nbody"u8));
        Assert.AreEqual(-1, SipMessageReader.FindHeaderEnd("SIP/2.0 200 OK\r\na: b\r\n\r"u8));
    }

    [TestMethod]
    public void NameAddr_AddrSpecWithoutBrackets_ParametersBelongToTheHeader()
    {
        Assert.AreEqual("sip:bob@biloxi.com", S(SipSpan.NameAddrUri("sip:bob@biloxi.com;tag=a48s"u8)));
        Assert.AreEqual("a48s", S(SipSpan.NameAddrParam("sip:bob@biloxi.com;tag=a48s"u8, "tag"u8)));
        // A '<' inside the quoted display name is not the URI.
        Assert.AreEqual("sip:x@y", S(SipSpan.NameAddrUri("\"a <b>\" <sip:x@y>;TAG=7"u8)));
        Assert.AreEqual("7", S(SipSpan.NameAddrParam("\"a <b>\" <sip:x@y>;TAG=7"u8, "tag"u8)));
        // A uri parameter inside <> is not the header's tag.
        Assert.IsTrue(SipSpan.NameAddrParam("<sip:x@y;tag=no>"u8, "tag"u8).IsEmpty);
    }
}
