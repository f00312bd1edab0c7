using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Sip;

/// <summary>The SIP analyzer's caps (SipAnalyzerOptions), each reached with a small limit: counted by name, never silent, the rest still right.</summary>
[TestClass]
public sealed class SipCapsTests
{
    private static readonly IpAddress Alice = IpAddress.Parse("192.0.2.101"), Proxy = IpAddress.Parse("192.0.2.5");
    private const long T0 = 1_700_000_000_000_000_000L;
    private const long Ms = 1_000_000;

    private sealed class Run(SipAnalyzerOptions options)
    {
        public readonly AnomalyCounters Anomalies = new();
        public SipAnalyzer Sip { get; } = null!;
        private long _frame, _at;
        public Run Init() { _sip = new SipAnalyzer(Anomalies, options); return this; }
        private SipAnalyzer _sip = null!;
        public SipAnalyzer Analyzer => _sip;

        public void Send(bool fromAlice, string text)
        {
            var (src, dst) = fromAlice ? (Alice, Proxy) : (Proxy, Alice);
            _sip.OnUdp(T0 + (_at += 10) * Ms, src, 5060, dst, 5060, SipSamples.Bytes(text), ++_frame);
        }

        public void EstablishedCall()
        {
            Send(true, SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp("192.0.2.101", 49172)));
            Send(false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag, SipSamples.AudioSdp("198.51.100.9", 3456)));
            Send(true, SipSamples.Request("ACK", 1, "z9hG4bK2", SipSamples.BobTag));
        }
    }

    private static Run With(SipAnalyzerOptions o) => new Run(o).Init();

    [TestMethod]
    public void OpenTransactions_PastTheCap_CountedInTotalsNotFollowed()
    {
        var run = With(new SipAnalyzerOptions { MaxOpenTransactions = 5 });
        for (int i = 0; i < 8; i++)
            run.Send(true, SipSamples.Request("OPTIONS", i + 1, "z9hG4bKopt" + i, callId: "ping" + i));
        var r = run.Analyzer.Complete();
        Assert.AreEqual(3, run.Anomalies["sip_open_transaction_limit"]);
        Assert.AreEqual(8, r.RequestCounts["OPTIONS"]);
        Assert.HasCount(5, r.Transactions);
    }

    [TestMethod]
    public void DistinctResponsesPastTheCap_CountedNotRemembered_TheAnswerStillCounts()
    {
        var run = With(new SipAnalyzerOptions { MaxCopiesPerTransaction = 2 });
        run.Send(true, SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()));
        for (int i = 0; i < 5; i++) run.Send(false, SipSamples.Response(180, "Ringing", "INVITE", 1, "z9hG4bK1", "fork" + i));
        run.Send(false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", "fork0", SipSamples.AudioSdp("198.51.100.9", 3456)));
        var r = run.Analyzer.Complete();
        // Three 180s and the 200 past the two remembered.
        Assert.AreEqual(4, run.Anomalies["sip_transaction_copy_limit"]);
        var t = r.Transactions.Single();
        Assert.AreEqual(180, t.FirstStatus);
        Assert.AreEqual(200, t.FinalStatus);
        Assert.AreEqual(0, t.ResponseRetransmissions);
        Assert.IsTrue(r.Calls.Single().Answered, "a response past the cap still answers the call");
    }

    [TestMethod]
    public void OtherSendersPastTheCap_CountedAsNewMessagesNotRetransmissions()
    {
        var run = With(new SipAnalyzerOptions { MaxCopiesPerTransaction = 1 });
        var anomalies = run.Anomalies;
        var sip = run.Analyzer;
        var invite = SipSamples.Bytes(SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()));
        sip.OnUdp(T0, Alice, 5060, Proxy, 5060, invite, 1);
        // The same INVITE forwarded by three proxies: the first is remembered, the two others are past the cap.
        for (int k = 0; k < 3; k++) sip.OnUdp(T0 + k + 1, IpAddress.Parse("203.0.113." + (k + 1)), 5060, Proxy, 5060, invite, k + 2);
        var r = sip.Complete();
        Assert.AreEqual(3, anomalies["sip_transaction_other_sender"]);
        Assert.AreEqual(2, anomalies["sip_transaction_copy_limit"]);
        Assert.AreEqual(0, r.Retransmissions);
    }

    [TestMethod]
    public void ReInviteIdentitiesPastTheCap_EveryReInviteStillCounted()
    {
        var run = With(new SipAnalyzerOptions { MaxReInviteIdsPerCall = 2 });
        run.EstablishedCall();
        for (int i = 0; i < 5; i++) run.Send(true, SipSamples.Request("INVITE", 10 + i, "z9hG4bKre" + i, SipSamples.BobTag));
        // A resent re-INVITE whose identity is remembered is not counted again.
        run.Send(true, SipSamples.Request("INVITE", 10, "z9hG4bKre0", SipSamples.BobTag));
        var c = run.Analyzer.Complete().Calls.Single();
        Assert.AreEqual(5, c.ReInviteCount);
        Assert.AreEqual(3, run.Anomalies["sip_call_reinvite_limit"]);
    }

    [TestMethod]
    public void MediaEndpointsAndSdpHistoryPastTheCaps_CountedAndNotBound()
    {
        var run = With(new SipAnalyzerOptions { MaxMediaEndpointsPerCall = 3, MaxMediaChangesPerCall = 3 });
        run.EstablishedCall();
        run.Send(true, SipSamples.Request("INVITE", 2, "z9hG4bKre", SipSamples.BobTag, SipSamples.AudioSdp("192.0.2.101", 50000)));
        run.Send(false, SipSamples.Response(200, "OK", "INVITE", 2, "z9hG4bKre", SipSamples.BobTag, SipSamples.AudioSdp("198.51.100.9", 6000)));
        var sip = run.Analyzer;
        var c = sip.Complete().Calls.Single();
        Assert.HasCount(3, c.MediaEndpoints);
        Assert.AreEqual(1, run.Anomalies["sip_call_media_endpoint_limit"]);
        Assert.HasCount(3, c.MediaChanges);
        Assert.AreEqual(1, run.Anomalies["sip_call_media_change_limit"]);
        Assert.IsTrue(sip.TryFindMedia(IpAddress.Parse("192.0.2.101"), 50000, out _));
        Assert.IsFalse(sip.TryFindMedia(IpAddress.Parse("198.51.100.9"), 6000, out _), "an endpoint past the cap is not bound to the call");
        Assert.AreEqual(1, c.ReInviteCount);
    }

    [TestMethod]
    public void UserAgentsPastTheCap_FirstOnesKept()
    {
        var run = With(new SipAnalyzerOptions { MaxUserAgentsPerCall = 2 });
        run.Send(true, SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp(), userAgent: "A/1"));
        run.Send(false, SipSamples.Response(200, "OK", "INVITE", 1, "z9hG4bK1", SipSamples.BobTag, SipSamples.AudioSdp("198.51.100.9", 3456), server: "B/1"));
        for (int i = 0; i < 4; i++) run.Send(true, SipSamples.Request("INFO", 2 + i, "z9hG4bKi" + i, SipSamples.BobTag, userAgent: "C/" + i));
        var c = run.Analyzer.Complete().Calls.Single();
        CollectionAssert.AreEqual(new[] { "A/1", "B/1" }, c.UserAgents);
        Assert.AreEqual(4, run.Anomalies["sip_call_user_agent_limit"]);
    }

    [TestMethod]
    public void TcpReassemblyOverTheTotalBudget_StreamGivesUpItsBytes_OthersGoOn()
    {
        var run = With(new SipAnalyzerOptions { MaxTcpPendingTotalBytes = 10_000 });
        var sip = run.Analyzer;
        var invite = SipSamples.Bytes(SipSamples.Request("INVITE", 1, "z9hG4bK1", sdp: SipSamples.AudioSdp()));
        int cut = invite.Length / 2;
        // Five connections each leave half an INVITE pending (a 4 KB buffer each): the third to the fifth pass the budget.
        for (ushort k = 0; k < 5; k++)
            sip.OnTcp(T0 + k, Alice, (ushort)(40000 + k), Proxy, 5060, 1000, TcpFlags.Ack, invite.AsSpan(0, cut), k + 1);
        Assert.AreEqual(3, run.Anomalies["sip_tcp_total_buffer_limit"]);
        // The first connection kept its bytes: its INVITE completes.
        sip.OnTcp(T0 + 10, Alice, 40000, Proxy, 5060, 1000 + (uint)cut, TcpFlags.Ack, invite.AsSpan(cut), 10);
        var r = sip.Complete();
        Assert.AreEqual(1, r.Messages);
        Assert.AreEqual(1, r.RequestCounts["INVITE"]);
    }
}
