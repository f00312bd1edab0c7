using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Sip;

/// <summary>Call flows after RFC 3665 fed as UDP datagrams with chosen capture times.</summary>
[TestClass]
public sealed class SipCallFlowTests
{
    private static readonly IpAddress Alice = IpAddress.Parse("192.0.2.101"), Proxy = IpAddress.Parse("192.0.2.5");
    private const long T0 = 1_700_000_000_000_000_000L;
    private const long Ms = 1_000_000;

    private sealed class Flow
    {
        public readonly AnomalyCounters Anomalies = new();
        public readonly SipAnalyzer Sip;
        private long _frame;
        public Flow() => Sip = new SipAnalyzer(Anomalies);

        /// <summary>Alice (5060) to the proxy (5060) when <paramref name="fromAlice"/>, else back.</summary>
        public void Send(long atMs, bool fromAlice, string text)
        {
            var (src, dst) = fromAlice ? (Alice, Proxy) : (Proxy, Alice);
            Sip.OnUdp(T0 + atMs * Ms, src, 5060, dst, 5060, SipSamples.Bytes(text), ++_frame);
        }
    }

    [TestMethod]
    public void Call_NormalCallWithBye_HasTimingsCodecsAndMedia()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp("192.0.2.101", 49172, "8 0")));
        f.Send(12, false, SipSamples.Response(100, "Trying", "INVITE", 1, "z9hG4bK1"));
        f.Send(250, false, SipSamples.Response(180, "Ringing", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag));
        f.Send(3000, false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag, SipSamples.AudioSdp("198.51.100.9", 3456, "8")));
        f.Send(3010, true, SipSamples.Request("ACK", 1, "z9hG4bK2", SipSamples.BobTag));
        f.Send(63010, true, SipSamples.Request("BYE", 2, "z9hG4bK3", SipSamples.BobTag));
        f.Send(63050, false, SipSamples.Response(200, "OK", "BYE", 2, "z9hG4bK3", SipSamples.BobTag));
        var r = f.Sip.Complete(T0 + 100_000 * Ms);

        var c = r.Calls.Single();
        Assert.AreEqual(SipSamples.CallId, c.CallId);
        Assert.AreEqual("sip:alice@atlanta.example.com", c.FromUri);
        Assert.AreEqual("sip:bob@biloxi.example.com", c.ToUri);
        Assert.AreEqual(SipSamples.AliceTag, c.FromTag);
        Assert.AreEqual(SipSamples.BobTag, c.ToTag);
        Assert.AreEqual(SipTransport.Udp, c.Transport);
        Assert.AreEqual(Alice, c.CallerIp);
        Assert.AreEqual(Proxy, c.CalleeIp);
        Assert.AreEqual(T0, c.StartNs);
        Assert.AreEqual(12.0, c.Response100Ms);
        Assert.AreEqual(250.0, c.PostDialDelayMs);
        Assert.AreEqual(3000.0, c.AnswerMs);
        Assert.AreEqual(T0 + 3010 * Ms, c.AckNs);
        Assert.AreEqual(60.01, c.DurationS!.Value, 1e-9);
        Assert.IsTrue(c.Answered);
        Assert.IsTrue(c.Ended);
        Assert.AreEqual(SipCallEnd.Bye, c.EndReason);
        Assert.AreEqual(200, c.FinalStatus);
        Assert.AreEqual("OK", c.FinalReason);
        Assert.AreEqual(0, c.Retransmissions);
        Assert.AreEqual(0, c.ReInviteCount);
        Assert.IsFalse(c.T38);
        CollectionAssert.AreEqual(new[] { "PCMA/8000" }, c.Codecs);
        CollectionAssert.AreEqual(new[] { "Softphone/1.0", "PBX/2.0" }, c.UserAgents);
        Assert.AreEqual(7, c.Messages);

        Assert.HasCount(2, c.MediaEndpoints);
        var caller = c.MediaEndpoints.Single(e => e.Side == SipSide.Caller);
        Assert.AreEqual(IpAddress.Parse("192.0.2.101"), caller.Address);
        Assert.AreEqual(49172, caller.Port);
        Assert.AreEqual("audio", caller.Kind);
        Assert.AreEqual(20, caller.PtimeMs);
        var callee = c.MediaEndpoints.Single(e => e.Side == SipSide.Callee);
        Assert.AreEqual(IpAddress.Parse("198.51.100.9"), callee.Address);
        Assert.AreEqual(3456, callee.Port);
        Assert.AreEqual(new SdpPayload(101, "telephone-event", 8000), callee.Payloads[1]);
        Assert.AreSame(c.MediaChanges[0].Sdp, c.OfferedSdp);
        Assert.AreSame(c.MediaChanges[1].Sdp, c.AnsweredSdp);

        // Transactions: INVITE and BYE (ACK is not one); who asked and when the first answer came.
        Assert.HasCount(2, r.Transactions);
        var invite = r.Transactions[0];
        Assert.AreEqual("INVITE", invite.Method);
        Assert.AreEqual(Alice, invite.RequesterIp);
        Assert.AreEqual(Proxy, invite.ResponderIp);
        Assert.AreEqual(12.0, invite.FirstResponseMs);
        Assert.AreEqual(100, invite.FirstStatus);
        Assert.AreEqual(3000.0, invite.FinalResponseMs);
        Assert.AreEqual(200, invite.FinalStatus);
        Assert.AreEqual("z9hG4bK1", invite.Branch);
        Assert.AreEqual(40.0, r.Transactions[1].FirstResponseMs);
        Assert.AreEqual(0, f.Anomalies.Entries.Count);
    }

    [TestMethod]
    public void Call_NoBye_LastsUntilTheCaptureEnd()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1"));
        f.Send(500, false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag));
        var c = f.Sip.Complete(T0 + 10_500 * Ms).Calls.Single();
        Assert.IsTrue(c.Answered);
        Assert.IsFalse(c.Ended);
        Assert.AreEqual(SipCallEnd.CaptureEnd, c.EndReason);
        Assert.AreEqual(10.0, c.DurationS);
        Assert.IsNull(c.Response100Ms);
        Assert.IsNull(c.PostDialDelayMs);
    }

    [TestMethod]
    public void Call_Cancelled_EndsWithCancelAnd487()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1"));
        f.Send(5, false, SipSamples.Response(100, "Trying", "INVITE", 1, "z9hG4bK1"));
        f.Send(100, false, SipSamples.Response(180, "Ringing", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag));
        f.Send(4000, true, SipSamples.Request("CANCEL", 1, "z9hG4bK1"));
        f.Send(4010, false, SipSamples.Response(200, "OK", "CANCEL", 1, "z9hG4bK1", SipSamples.BobTag));
        f.Send(4020, false, SipSamples.Response(487, "Request Terminated", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag));
        f.Send(4030, true, SipSamples.Request("ACK", 1, "z9hG4bK1", SipSamples.BobTag));
        var r = f.Sip.Complete();
        var c = r.Calls.Single();
        Assert.IsFalse(c.Answered);
        Assert.IsTrue(c.Ended);
        Assert.AreEqual(SipCallEnd.Cancel, c.EndReason);
        Assert.AreEqual(487, c.FinalStatus);
        Assert.AreEqual(T0 + 4000 * Ms, c.CancelNs);
        Assert.IsNull(c.DurationS);
        Assert.AreEqual(0, c.Retransmissions, "the ACK and the CANCEL share the INVITE's branch but are other transactions");
        CollectionAssert.AreEqual(new[] { "INVITE", "CANCEL" }, r.Transactions.Select(t => t.Method).ToArray());
    }

    [TestMethod]
    public void Call_BusyHere_Fails()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1"));
        f.Send(30, false, SipSamples.Response(486, "Busy Here", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag));
        f.Send(31, true, SipSamples.Request("ACK", 1, "z9hG4bK1", SipSamples.BobTag));
        var c = f.Sip.Complete().Calls.Single();
        Assert.AreEqual(486, c.FinalStatus);
        Assert.AreEqual("Busy Here", c.FinalReason);
        Assert.AreEqual(SipCallEnd.Failed, c.EndReason);
        Assert.IsFalse(c.Answered);
        Assert.IsNull(c.AnswerMs);
    }

    [TestMethod]
    public void Call_AuthenticationChallengeThenAnswer_IsOneAnsweredCallTimedFromTheFirstInvite()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1"));
        f.Send(20, false, SipSamples.Response(407, "Proxy Authentication Required", "INVITE", 1, "z9hG4bK1", "x1"));
        f.Send(21, true, SipSamples.Request("ACK", 1, "z9hG4bK1", "x1"));
        f.Send(40, true, SipSamples.Request("INVITE", 2, "z9hG4bK4"));
        f.Send(900, false, SipSamples.Response(200, "OK", "INVITE", 2, "z9hG4bK4", SipSamples.BobTag));
        var c = f.Sip.Complete().Calls.Single();
        Assert.AreEqual(200, c.FinalStatus);
        Assert.AreEqual(900.0, c.AnswerMs);
        Assert.AreEqual(SipCallEnd.CaptureEnd, c.EndReason);
        Assert.AreEqual(0, c.ReInviteCount);
    }

    [TestMethod]
    public void Call_RetransmittedInvite_IsCountedOnceWithOneRetransmission()
    {
        var f = new Flow();
        var invite = SipSamples.Request("INVITE", 1, "z9hG4bK1");
        f.Send(0, true, invite);
        f.Send(500, true, invite); // Timer A: T1
        f.Send(700, false, SipSamples.Response(100, "Trying", "INVITE", 1, "z9hG4bK1"));
        var r = f.Sip.Complete();
        var c = r.Calls.Single();
        Assert.AreEqual(1, c.Retransmissions);
        Assert.AreEqual(T0, c.StartNs);
        Assert.AreEqual(700.0, c.Response100Ms, "timed from the first copy");
        var t = r.Transactions.Single();
        Assert.AreEqual(1, t.RequestRetransmissions);
        Assert.AreEqual(700.0, t.FirstResponseMs);
        Assert.AreEqual(1, r.Retransmissions);
        Assert.AreEqual(1, r.RequestCounts.Count);
        Assert.AreEqual(2, r.RequestCounts["INVITE"], "every message is still counted");
    }

    [TestMethod]
    public void Call_RetransmittedOkAndReliableProvisionals_OnlyTheIdenticalCopyIsARetransmission()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1"));
        // Two different 183s (RFC 3262: new RSeq each) are two responses.
        f.Send(100, false, SipSamples.Response(183, "Session Progress", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag).Replace("Server:", "RSeq: 1\r\nServer:"));
        f.Send(600, false, SipSamples.Response(183, "Session Progress", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag).Replace("Server:", "RSeq: 2\r\nServer:"));
        var ok = SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag);
        f.Send(1000, false, ok);
        f.Send(1500, false, ok); // the 2xx is retransmitted until the ACK arrives
        f.Send(1510, true, SipSamples.Request("ACK", 1, "z9hG4bK2", SipSamples.BobTag));
        var r = f.Sip.Complete();
        var c = r.Calls.Single();
        Assert.AreEqual(1, c.Retransmissions);
        Assert.AreEqual(1000.0, c.AnswerMs);
        Assert.AreEqual(T0 + 1510 * Ms, c.AckNs);
        Assert.AreEqual(1, r.Transactions[0].ResponseRetransmissions);
    }

    [TestMethod]
    public void Call_ReInviteToT38_RecordsTheMediaChangeAndFaxEndpoints()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp("192.0.2.101", 49172, "0")));
        f.Send(800, false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag, SipSamples.AudioSdp("198.51.100.9", 3456, "0")));
        f.Send(810, true, SipSamples.Request("ACK", 1, "z9hG4bK2", SipSamples.BobTag));
        // The callee (a fax gateway) detects the CNG tone and re-INVITEs to T.38: From/To swap.
        string reinvite = SipSamples.Request("INVITE", 101, "z9hG4bK9", toTag: SipSamples.AliceTag, sdp: SipSamples.T38Sdp("198.51.100.9", 3458),
            fromTag: SipSamples.BobTag, from: "sip:bob@biloxi.example.com", to: "sip:alice@atlanta.example.com", sentBy: "gw.biloxi.example.com");
        f.Send(5000, false, reinvite);
        f.Send(5001, false, reinvite); // retransmitted: still one re-INVITE
        f.Send(5100, true, SipSamples.Response(200, "OK", "INVITE", 101, "z9hG4bK9", SipSamples.AliceTag, SipSamples.T38Sdp("192.0.2.101", 49174),
            fromTag: SipSamples.BobTag, sentBy: "gw.biloxi.example.com"));
        var c = f.Sip.Complete().Calls.Single();

        Assert.AreEqual(1, c.ReInviteCount);
        Assert.AreEqual(1, c.Retransmissions);
        Assert.IsTrue(c.T38);
        Assert.AreEqual(800.0, c.AnswerMs, "the re-INVITE's 200 does not change the answer time");
        CollectionAssert.AreEqual(new[] { "PCMU/8000", "t38" }, c.Codecs);
        CollectionAssert.AreEqual(new[] { SipSide.Caller, SipSide.Callee, SipSide.Callee, SipSide.Caller }, c.MediaChanges.Select(m => m.Sender).ToArray());
        CollectionAssert.AreEqual(new[] { false, true, false, true }, c.MediaChanges.Select(m => m.IsAnswer).ToArray());
        var fax = c.MediaEndpoints.Where(e => e.Kind == "image").OrderBy(e => e.Port).ToList();
        Assert.HasCount(2, fax);
        Assert.AreEqual(SipSide.Callee, fax[0].Side);
        Assert.AreEqual(3458, fax[0].Port);
        Assert.AreEqual(T0 + 5000 * Ms, fax[0].FirstSeenNs);
        Assert.AreEqual(SipSide.Caller, fax[1].Side);
        Assert.AreEqual(49174, fax[1].Port);
        Assert.AreEqual(IpAddress.Parse("192.0.2.101"), fax[1].Address);
    }

    [TestMethod]
    public void Call_ReInviteToT38Declined_IsOfferedButNotT38()
    {
        var f = new Flow();
        f.Send(0, true, SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()));
        f.Send(800, false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag, SipSamples.AudioSdp("198.51.100.9", 3456)));
        f.Send(5000, true, SipSamples.Request("INVITE", 2, "z9hG4bK5", SipSamples.BobTag, SipSamples.T38Sdp("192.0.2.101", 49172)));
        f.Send(5050, false, SipSamples.Response(488, "Not Acceptable Here", "INVITE", 2, "z9hG4bK5", SipSamples.BobTag));
        var c = f.Sip.Complete().Calls.Single();
        Assert.IsTrue(c.T38Offered);
        Assert.IsFalse(c.T38);
        Assert.AreEqual(200, c.FinalStatus, "a rejected re-INVITE does not fail the call");
        Assert.AreEqual(1, c.ReInviteCount);
        CollectionAssert.AreEqual(new[] { "PCMU/8000" }, c.Codecs);
    }

    [TestMethod]
    public void Options_KeepalivesPerPair_HaveCountsAndResponseTimes()
    {
        var f = new Flow();
        for (int i = 0; i < 4; i++)
        {
            string branch = "z9hG4bKopt" + i;
            f.Send(i * 30_000, true, SipSamples.Request("OPTIONS", i + 1, branch, callId: "ping" + i + "@a"));
            if (i != 2) f.Send(i * 30_000 + 10 * (i + 1), false, SipSamples.Response(200, "OK", "OPTIONS", i + 1, branch, callId: "ping" + i + "@a"));
        }
        // The proxy pings Alice too, once, answered in 5 ms.
        f.Send(1000, false, SipSamples.Request("OPTIONS", 7, "z9hG4bKback", callId: "back@p"));
        f.Send(1005, true, SipSamples.Response(200, "OK", "OPTIONS", 7, "z9hG4bKback", callId: "back@p"));
        var r = f.Sip.Complete();
        Assert.IsEmpty(r.Calls);
        Assert.HasCount(2, r.OptionsPings);
        var ping = r.OptionsPings.Single(p => p.RequesterIp == Alice);
        Assert.AreEqual(Proxy, ping.ResponderIp);
        Assert.AreEqual(4, ping.Count);
        Assert.AreEqual(3, ping.Answered);
        Assert.AreEqual(1, ping.Unanswered);
        Assert.AreEqual(10.0, ping.MinResponseMs);
        Assert.AreEqual((10 + 20 + 40) / 3.0, ping.MeanResponseMs!.Value, 1e-9);
        Assert.AreEqual(40.0, ping.MaxResponseMs);
        Assert.AreEqual(200, ping.LastStatus);
        var back = r.OptionsPings.Single(p => p.RequesterIp == Proxy);
        Assert.AreEqual(1, back.Count);
        Assert.AreEqual(5.0, back.MeanResponseMs);
    }

    [TestMethod]
    public void Transactions_LongCapture_AreClosedAfterTheLingerTimeAndAllReported()
    {
        var f = new Flow();
        for (int i = 0; i < 100; i++)
        {
            string branch = "z9hG4bKreg" + i;
            f.Send(i * 60_000L, true, SipSamples.Request("REGISTER", i + 1, branch, callId: "reg@a"));
            f.Send(i * 60_000L + 25, false, SipSamples.Response(200, "OK", "REGISTER", i + 1, branch, callId: "reg@a"));
        }
        var r = f.Sip.Complete();
        Assert.HasCount(100, r.Transactions);
        Assert.IsTrue(r.Transactions.All(t => t.FirstResponseMs == 25.0 && t.FinalStatus == 200));
        CollectionAssert.AreEqual(Enumerable.Range(1, 100).Select(i => (uint)i).ToArray(), r.Transactions.Select(t => t.CSeq).ToArray());
    }

    [TestMethod]
    public void OnUdp_MalformedMessages_AreNamedAnomaliesNotCalls()
    {
        var f = new Flow();
        f.Send(0, true, "INVITE sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
        f.Send(1, true, "INVITE sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKy\r\nCall-ID: c@a\r\nContent-Length: 0\r\n\r\n");
        f.Send(2, true, "INVITE sip:bob@b SIP/2.0\r\nCall-ID: d@a\r\nCSeq: one INVITE\r\nContent-Length: 0\r\n\r\n");
        f.Send(3, false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bKnone", callId: "e@a"));
        f.Send(4, true, "not sip at all, just text with a line\r\n");
        var r = f.Sip.Complete();
        Assert.IsEmpty(r.Calls);
        Assert.AreEqual(1, f.Anomalies["sip_missing_call_id"]);
        Assert.AreEqual(2, f.Anomalies["sip_missing_cseq"]);
        Assert.AreEqual(1, f.Anomalies["sip_bad_cseq"]);
        Assert.AreEqual(1, f.Anomalies["sip_response_without_request"]);
        Assert.AreEqual(4, r.Messages);
    }

    [TestMethod]
    public void OnUdp_NoiseAndEveryCutOfACall_NeverThrows()
    {
        var messages = new[]
        {
            SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()),
            SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag, SipSamples.T38Sdp("198.51.100.9", 3456)),
            SipSamples.Request("BYE", 2, "z9hG4bK3", SipSamples.BobTag),
        }.Select(SipSamples.Bytes).ToArray();
        var an = new AnomalyCounters();
        var sip = new SipAnalyzer(an);
        var rng = new Random(7);
        long t = T0;
        foreach (var m in messages)
            for (int n = 0; n <= m.Length; n++)
            {
                sip.OnUdp(t++, Alice, 5060, Proxy, 5060, m.AsSpan(0, n), n);
                var noisy = m.ToArray();
                noisy[rng.Next(noisy.Length)] = (byte)rng.Next(256);
                sip.OnUdp(t++, Alice, 5060, Proxy, 5060, noisy, n);
            }
        var r = sip.Complete();
        Assert.IsNotEmpty(r.Calls);
    }
}
