using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Wire;
using TrafficAudit.Tests.EndToEnd;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// Issue 9, VoIP stage: streams, calls and transactions leave when they end, so its state follows what is open
/// now, not what was seen; caps close the oldest early with a counter and lose nothing; records go to the sink
/// on the engine's thread in the order they ended.
/// </summary>
[TestClass]
public sealed class VoipStreamingTests
{
    private const long Second = 1_000_000_000L;
    private const long T0 = 1_700_000_000L * Second;
    private static readonly uint Phone = Frames.ParseIPv4("10.0.0.10"), Pbx = Frames.ParseIPv4("10.1.0.21");

    /// <summary>One packet of the synthetic site: UDP from src:sport to dst:dport at <see cref="Ts"/>.</summary>
    private sealed record Packet(long Ts, uint Src, ushort SrcPort, uint Dst, ushort DstPort, byte[] Payload);

    private static string Sdp(string ip, int port) =>
        $"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

    private static byte[] Sip(string startLine, string callId, string branch, int cseq, string method, bool toTag, string? sdp = null)
    {
        var b = new StringBuilder();
        b.Append(startLine).Append("\r\n");
        b.Append($"Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bK{branch}\r\n");
        b.Append("From: <sip:100@10.0.0.10>;tag=f1\r\n");
        b.Append("To: <sip:200@10.1.0.21>").Append(toTag ? ";tag=t1" : "").Append("\r\n");
        b.Append($"Call-ID: {callId}\r\nCSeq: {cseq} {method}\r\n");
        if (sdp is not null) b.Append("Content-Type: application/sdp\r\n");
        b.Append($"Content-Length: {sdp?.Length ?? 0}\r\n\r\n").Append(sdp);
        return Encoding.ASCII.GetBytes(b.ToString());
    }

    /// <summary>
    /// <paramref name="calls"/> calls, one every <paramref name="everyS"/> seconds: INVITE with SDP, 200 with SDP, ACK,
    /// <paramref name="mediaS"/> seconds of G.711 both ways (20 ms), BYE and its 200. Each call has its own media ports.
    /// </summary>
    private static List<Packet> Site(int calls, int everyS, int mediaS = 2)
    {
        var list = new List<Packet>();
        for (int i = 0; i < calls; i++)
        {
            long t = T0 + i * everyS * Second;
            string id = $"call-{i}@test";
            ushort pa = (ushort)(20000 + 2 * (i % 1000)), pb = (ushort)(40000 + 2 * (i % 1000));
            list.Add(new(t, Phone, 5060, Pbx, 5060, Sip("INVITE sip:200@10.1.0.21 SIP/2.0", id, $"i{i}", 1, "INVITE", false, Sdp("10.0.0.10", pa))));
            list.Add(new(t + 50_000_000, Pbx, 5060, Phone, 5060, Sip("SIP/2.0 200 OK", id, $"i{i}", 1, "INVITE", true, Sdp("10.1.0.21", pb))));
            list.Add(new(t + 60_000_000, Phone, 5060, Pbx, 5060, Sip("ACK sip:200@10.1.0.21 SIP/2.0", id, $"a{i}", 1, "ACK", true)));
            int packets = mediaS * 50;
            for (int k = 0; k < packets; k++)
            {
                long tm = t + 100_000_000 + k * 20_000_000L;
                list.Add(new(tm, Phone, pa, Pbx, pb, MediaFrames.Rtp((ushort)k, 0x1000u + (uint)i, 0)));
                list.Add(new(tm + 1_000_000, Pbx, pb, Phone, pa, MediaFrames.Rtp((ushort)k, 0x8000u + (uint)i, 0)));
            }
            long tb = t + 100_000_000 + packets * 20_000_000L + 10_000_000;
            list.Add(new(tb, Phone, 5060, Pbx, 5060, Sip("BYE sip:200@10.1.0.21 SIP/2.0", id, $"b{i}", 2, "BYE", true)));
            list.Add(new(tb + 30_000_000, Pbx, 5060, Phone, 5060, Sip("SIP/2.0 200 OK", id, $"b{i}", 2, "BYE", true)));
        }
        list.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        return list;
    }

    private static void Feed(AuditEngine engine, Packet p, long frame)
    {
        var bytes = MediaFrames.Udp(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Payload);
        engine.Process(new FrameHeader(p.Ts, LinkType.Ethernet, bytes.Length, bytes.Length, 0, frame, 0), bytes);
    }

    [TestMethod]
    public void LongRunOfShortCalls_StateStaysFlat_EveryCallAndStreamWrittenOnce()
    {
        // 480 calls, one every 15 s: two hours of capture time.
        const int calls = 480;
        var packets = Site(calls, everyS: 15);
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { ParallelVoip = false });
        var tracker = engine.VoipStage.Tracker;
        int maxCalls = 0, maxStreams = 0, maxTx = 0, maxBindings = 0, maxSeconds = 0;
        long frame = 0;
        foreach (var p in packets)
        {
            Feed(engine, p, ++frame);
            if (frame % 500 != 0) continue;
            maxCalls = Math.Max(maxCalls, tracker.Sip.CallCount);
            maxStreams = Math.Max(maxStreams, tracker.OpenStreamCount);
            maxTx = Math.Max(maxTx, tracker.Sip.OpenTransactionCount);
            maxBindings = Math.Max(maxBindings, tracker.Sip.MediaBindingCount);
            maxSeconds = Math.Max(maxSeconds, tracker.PeakOpenSeconds);
        }
        int endedBeforeEnd = tracker.StreamsEnded;
        var r = engine.Complete([], []);
        Console.WriteLine($"{calls} calls over {(packets[^1].Ts - T0) / 3600e9:F1} h: at most {maxCalls} calls, {maxStreams} streams, {maxTx} transactions, " +
            $"{maxBindings} SDP bindings, {maxSeconds} peak seconds open; {endedBeforeEnd} of {2 * calls} streams left before the end");

        // Open state follows the calls of the last few minutes (linger 64 s after the BYE, streams idle 2 min), not the run.
        Assert.IsLessThanOrEqualTo(14, maxCalls, "calls open at once");
        Assert.IsLessThanOrEqualTo(28, maxStreams, "streams open at once");
        Assert.IsLessThanOrEqualTo(30, maxTx, "transactions open at once");
        Assert.IsLessThanOrEqualTo(28, maxBindings, "SDP bindings held");
        Assert.IsLessThanOrEqualTo(300, maxSeconds, "seconds of media rate held for the peak");
        Assert.IsGreaterThan(2 * calls - 30, endedBeforeEnd, "streams left before the end of the input");

        // Every call and stream written once, streams numbered in the order they left.
        Assert.HasCount(calls, r.Calls);
        CollectionAssert.AreEqual(Enumerable.Range(0, calls).Select(i => $"call-{i}@test").ToList(), r.Calls.Select(c => c.Sip.CallId).ToList());
        Assert.HasCount(2 * calls, r.Streams);
        CollectionAssert.AreEqual(Enumerable.Range(1, 2 * calls).ToList(), r.Streams.Select(s => s.StreamId).ToList());
        Assert.HasCount(2 * calls, r.Streams.Select(s => (s.Ssrc, s.SrcPort)).Distinct().ToList());
        foreach (var c in r.Calls)
        {
            Assert.HasCount(2, c.Streams, c.Sip.CallId);
            Assert.IsTrue(c.Streams.All(s => s.CallId == c.Sip.CallId && s.Packets == 100 && s.Lost == 0 && s.Codec == "PCMU"), c.Sip.CallId);
            Assert.AreEqual(SipCallEnd.Bye, c.Sip.EndReason);
            Assert.AreEqual(2.06, c.Sip.DurationS!.Value, 0.001); // 200 OK at 50 ms, BYE at 2.11 s
            Assert.AreEqual(80.0, c.MediaIpKbpsOut, 0.5);
        }
        // Links by id: a call's flow_id is its INVITE's flow (one SIP flow here), a stream's its media flow.
        var sipFlow = r.Flows.Single(f => f.ClientPort == 5060 && f.ServerPort == 5060);
        Assert.IsTrue(r.Calls.All(c => c.FlowId == sipFlow.FlowId));
        var byPorts = r.Flows.ToLookup(f => (Math.Min(f.ClientPort, f.ServerPort), Math.Max(f.ClientPort, f.ServerPort)));
        foreach (var s in r.Streams)
        {
            var candidates = byPorts[(Math.Min(s.SrcPort, s.DstPort), Math.Max(s.SrcPort, s.DstPort))].ToList();
            Assert.IsTrue(candidates.Any(f => f.FlowId == s.FlowId && f.FirstSeenNs <= s.FirstSeenNs && s.LastSeenNs <= f.LastSeenNs), $"stream {s.StreamId} flow {s.FlowId}");
        }
        // Summary built as items ended: one call at a time, two G.711 streams = 160 kbit/s.
        Assert.AreEqual(1, r.Voip.PeakConcurrentCalls);
        Assert.AreEqual(160.0, r.Voip.PeakMediaIpKbps, 2.0);
        Assert.AreEqual(calls * 2, r.Voip.Transactions.Count(t => t.Method is "INVITE" or "BYE"));
        Assert.IsFalse(r.Anomalies.Any(a => a.Name.Contains("evicted", StringComparison.Ordinal)), "no cap reached");
    }

    /// <summary>Records a sink received, in order.</summary>
    private sealed class RecordingSink : IAuditRecordSink
    {
        public readonly List<object> Records = new();
        public int Thread = -1;
        public void OnFlow(FlowRecord flow) => Records.Add(flow);
        public void OnStream(RtpStreamRecord stream) { Check(); Records.Add(stream); }
        public void OnCall(CallRecord call) { Check(); Records.Add(call); }
        public void OnTransaction(SipTransactionStat transaction) { Check(); Records.Add(transaction); }

        private void Check()
        {
            int me = Environment.CurrentManagedThreadId;
            if (Thread < 0) Thread = me;
            Assert.AreEqual(Thread, me, "sinks are called on the engine's thread only");
        }
    }

    /// <summary>Feeds the VoIP stage directly (one flow object per 5-tuple, numbered by first packet), as the engine does.</summary>
    private static void Run(VoipPipeline stage, IEnumerable<Packet> packets, Action<long>? every = null, bool rtpProven = true)
    {
        var flows = new Dictionary<(uint, ushort, uint, ushort), (Flow Flow, int Id, uint First)>();
        long frame = 0;
        foreach (var p in packets)
        {
            var key = p.Src < p.Dst || (p.Src == p.Dst && p.SrcPort < p.DstPort) ? (p.Src, p.SrcPort, p.Dst, p.DstPort) : (p.Dst, p.DstPort, p.Src, p.SrcPort);
            if (!flows.TryGetValue(key, out var f))
            {
                var flowKey = FlowKey.Create(IpAddress.FromV4(p.Src), p.SrcPort, IpAddress.FromV4(p.Dst), p.DstPort, IpProtocol.Udp, 0, out bool srcIsA);
                flows[key] = f = (new Flow { Key = flowKey, FirstSenderIsA = srcIsA, Sequence = flows.Count }, flows.Count + 1, p.Src);
            }
            bool sip = p.SrcPort == 5060;
            var vp = new VoipPacket
            {
                TimestampNs = p.Ts, Frame = ++frame, Src = IpAddress.FromV4(p.Src), Dst = IpAddress.FromV4(p.Dst), SrcPort = p.SrcPort, DstPort = p.DstPort,
                IpVersion = 4, Side = (byte)(p.Src == f.First ? 0 : 1), FlowIsSip = sip, FlowIsRtp = !sip && rtpProven, FlowRtpDecided = true, FlowId = f.Id,
            };
            stage.Add(f.Flow, in vp, p.Payload);
            every?.Invoke(frame);
        }
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void TakeEnded_UpToATicket_TakesTheRecordsEndedByThatPacket_WhateverTheStagesThread(bool parallel)
    {
        // The same packets on one thread and on the stage's own thread: a take with the ticket of an earlier Submit
        // hands over exactly the records that ended while the stage analysed those packets, however far it is.
        var tracker = new VoipTracker(new AnomalyCounters());
        using var stage = new VoipPipeline(tracker, parallel);
        var sink = new RecordingSink();
        var tickets = new List<long>();
        var takes = new List<int>();
        long ticket = 0;
        Run(stage, Site(40, everyS: 60), frame =>
        {
            if (frame % 700 != 0) return;
            takes.Add(stage.TakeEnded(sink, ticket));
            ticket = stage.Submit();
            tickets.Add(ticket);
        });
        stage.Drain();
        Assert.AreEqual(stage.Submit(), tracker.PacketsSeen, "a ticket counts the packets given to the stage");
        Assert.IsGreaterThan(tickets[^1], tracker.PacketsSeen, "packets came after the last take");
        CollectionAssert.AreEqual(Expected.Value, takes, $"records per take (parallel: {parallel})");
        Assert.IsGreaterThan(0, takes.Sum());
        tracker.Complete(T0 + 3600 * Second);
        stage.TakeEnded(sink);
        Assert.HasCount(40 + 80 + 80, sink.Records, "every call, stream and transaction once by the end");
    }

    [TestMethod]
    public void BehindWork_OnTheAddingThreadOnly_WhileABatchWaitsBesidesTheOneInWork_SameRecords()
    {
        static List<string> Records(bool parallel, Action<VoipPipeline>? setUp = null, Action<VoipPipeline>? after = null)
        {
            var tracker = new VoipTracker(new AnomalyCounters());
            var sink = new RecordingSink();
            using (var stage = new VoipPipeline(tracker, parallel))
            {
                setUp?.Invoke(stage);
                Run(stage, Site(40, everyS: 60, mediaS: 4));
                // Waiting for the stage, the adding thread does behind work too, whatever the batches waiting (the next test).
                stage.BehindWork = null;
                stage.Drain();
                tracker.Complete(T0 + 3600 * Second);
                stage.TakeEnded(sink);
                after?.Invoke(stage);
            }
            return sink.Records.Select(r => r.ToString()!).ToList();
        }

        var inline = Records(parallel: false);
        using var release = new ManualResetEventSlim();
        using var held = new ManualResetEventSlim();
        var pendingSeen = new List<int>();
        var threads = new HashSet<int>();
        int done = -1;
        var helped = Records(parallel: true, stage =>
        {
            // The stage's thread is held in its idle work until the adding thread has done some work for it (or for a
            // while), so batches pile up and the adding thread finds the stage behind when it hands one over. It is held
            // before the first batch: let go at first, it could finish the batches handed over while the adding thread,
            // preempted on a loaded machine, was between its check and the count read here (seen under the whole suite).
            stage.IdleWork = () =>
            {
                held.Set();
                release.Wait(TimeSpan.FromSeconds(10));
                return false;
            };
            while (!held.IsSet)
            {
                stage.WakeIdle();
                held.Wait(TimeSpan.FromMilliseconds(10));
            }
            int budget = 3;
            stage.BehindWork = () =>
            {
                pendingSeen.Add(stage.PendingBatches);
                threads.Add(Environment.CurrentManagedThreadId);
                // The stage's thread stays held until the last piece: released at the first, it could finish a batch
                // between the adding thread's check and the count read here (seen once in many runs).
                if (--budget == 0) release.Set();
                return budget > 0;
            };
        }, stage => done = stage.BehindWorkDone);
        Assert.IsNotEmpty(pendingSeen, "the stage was behind");
        Assert.IsLessThanOrEqualTo(2, done);
        Assert.IsTrue(pendingSeen.All(p => p >= 2), "called only while a batch waits besides the one in work: " + string.Join(",", pendingSeen));
        CollectionAssert.AreEqual(new[] { Environment.CurrentManagedThreadId }, threads.ToList(), "on the adding thread only");
        CollectionAssert.AreEqual(inline, helped, "the same records, in the same order");
        // Inline (one thread), the stage is never behind: never called.
        int inlineCalls = 0;
        CollectionAssert.AreEqual(inline, Records(parallel: false, stage => stage.BehindWork = () => { inlineCalls++; return true; }));
        Assert.AreEqual(0, inlineCalls);
    }

    [TestMethod]
    public void WaitFor_WhileTheStageIsBehind_TheWaitingThreadDoesBehindWorkFirst_ThenSleeps_SameRecords()
    {
        var inline = new RecordingSink();
        var inlineTracker = new VoipTracker(new AnomalyCounters());
        using (var stage = new VoipPipeline(inlineTracker, parallel: false))
        {
            Run(stage, Site(20, everyS: 60, mediaS: 4));
            stage.Drain();
            inlineTracker.Complete(T0 + 3600 * Second);
            stage.TakeEnded(inline);
        }
        var tracker = new VoipTracker(new AnomalyCounters());
        var sink = new RecordingSink();
        using var release = new ManualResetEventSlim();
        var threads = new HashSet<int>();
        int calls = 0;
        bool stageWasBehind = true;
        using (var stage = new VoipPipeline(tracker, parallel: true))
        {
            // The stage's thread is held in its idle work, so it is behind every batch handed over (three: fewer than the
            // batches in flight, so the adding thread never waits for a free one).
            using var entered = new ManualResetEventSlim();
            stage.IdleWork = () =>
            {
                entered.Set();
                release.Wait(TimeSpan.FromSeconds(10));
                return false;
            };
            // The thread may have gone to sleep for a batch before the idle work was set: it is woken for it, and the test
            // goes on only once it is held there (a wake-up lost to a race is made up by the next one). Without this the
            // thread could take the first batch straight from its sleep and be done before the wait began.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!entered.Wait(TimeSpan.FromMilliseconds(5)) && DateTime.UtcNow < deadline) stage.WakeIdle();
            Assert.IsTrue(entered.IsSet, "the stage's thread is held in its idle work");
            Run(stage, Site(20, everyS: 60, mediaS: 4));
            long ticket = stage.Submit();
            // Three pieces of work, while the stage has not got to the ticket; then it is let go, and the waiter sleeps.
            stage.BehindWork = () =>
            {
                threads.Add(Environment.CurrentManagedThreadId);
                if (++calls == 1) stageWasBehind = tracker.PacketsSeen < ticket;
                if (calls < 4) return true;
                release.Set();
                return false;
            };
            stage.WaitFor(ticket);
            Assert.AreEqual(ticket, tracker.PacketsSeen, "the stage got to the ticket before WaitFor returned");
            Assert.AreEqual(3, stage.BehindWorkDone, "the pieces of work that said they did some");
            Assert.AreEqual(1, stage.Waits, "then it slept until the stage got there");
            stage.BehindWork = null;
            stage.Drain();
            tracker.Complete(T0 + 3600 * Second);
            stage.TakeEnded(sink);
        }
        Assert.IsTrue(stageWasBehind, "the stage had not got there when the waiting thread worked");
        CollectionAssert.AreEqual(new[] { Environment.CurrentManagedThreadId }, threads.ToList(), "on the waiting thread only");
        CollectionAssert.AreEqual(inline.Records.Select(r => r.ToString()).ToList(), sink.Records.Select(r => r.ToString()).ToList(), "the same records, in the same order");
    }

    [TestMethod]
    public void WakeIdle_WakesTheStagesThreadAsleepBetweenBatches_ToItsIdleWork_AndSaysWhetherItIsFree()
    {
        var tracker = new VoipTracker(new AnomalyCounters());
        using (var inline = new VoipPipeline(tracker, parallel: false))
            Assert.IsFalse(inline.WakeIdle(), "inline there is no thread to wake");
        var stageTracker = new VoipTracker(new AnomalyCounters());
        using var stage = new VoipPipeline(stageTracker, parallel: true);
        int calls = 0;
        using var called = new SemaphoreSlim(0);
        stage.IdleWork = () =>
        {
            Interlocked.Increment(ref calls);
            called.Release();
            return false; // nothing done: the thread goes to sleep until a batch or a wake comes
        };
        // The thread sleeps (it found no idle work when it started): each wake brings it back to its idle work, with no packet.
        for (int i = 0; i < 3; i++)
        {
            int before = Volatile.Read(ref calls);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref calls) == before && DateTime.UtcNow < deadline)
            {
                Assert.IsTrue(stage.WakeIdle(), "no batch in hand: free");
                called.Wait(TimeSpan.FromMilliseconds(20));
            }
            Assert.IsGreaterThan(before, Volatile.Read(ref calls), "woken to its idle work");
        }
        Assert.IsGreaterThanOrEqualTo(1, stage.IdleWakes);
        Assert.AreEqual(0L, stageTracker.PacketsSeen);
        // While it analyses a batch the thread is not free: a watcher sees it so at least once while batches come.
        stage.IdleWork = () => false;
        bool busySeen = false;
        var watcher = new Thread(() =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline && !Volatile.Read(ref busySeen)) Volatile.Write(ref busySeen, !stage.WakeIdle());
        });
        watcher.Start();
        for (int round = 0; round < 2000 && !Volatile.Read(ref busySeen); round++)
        {
            Run(stage, Site(4, everyS: 60, mediaS: 4));
            stage.Drain();
        }
        watcher.Join();
        Assert.IsTrue(busySeen, "while it analyses a batch the stage's thread is not free");
    }

    /// <summary>
    /// The reference for <see cref="TakeEnded_UpToATicket_TakesTheRecordsEndedByThatPacket_WhateverTheStagesThread"/>:
    /// on one thread, taking everything that ended at each point; a take with the ticket of the point before gets those
    /// one point later.
    /// </summary>
    private static readonly Lazy<List<int>> Expected = new(() =>
    {
        var tracker = new VoipTracker(new AnomalyCounters());
        using var stage = new VoipPipeline(tracker, parallel: false);
        var sink = new RecordingSink();
        var all = new List<int>();
        Run(stage, Site(40, everyS: 60), frame =>
        {
            if (frame % 700 == 0) all.Add(stage.TakeEnded(sink));
        });
        return [0, .. all.Take(all.Count - 1)];
    });

    [TestMethod]
    public void TakeEnded_HandsRecordsInTheOrderTheyEnded_StreamsBeforeTheirCall_EachOnce()
    {
        var tracker = new VoipTracker(new AnomalyCounters());
        using var stage = new VoipPipeline(tracker, parallel: false);
        var sink = new RecordingSink();
        var takenDuringRun = new List<int>();
        Run(stage, Site(40, everyS: 60), frame => { if (frame % 1000 == 0) takenDuringRun.Add(stage.TakeEnded(sink)); });
        Assert.IsGreaterThan(0, takenDuringRun.Sum(), "records left while packets were still coming");
        tracker.Complete(T0 + 3600 * Second);
        stage.TakeEnded(sink);
        Assert.AreEqual(0, stage.TakeEnded(sink), "nothing is handed over twice");

        var calls = sink.Records.OfType<CallRecord>().ToList();
        var streams = sink.Records.OfType<RtpStreamRecord>().ToList();
        Assert.HasCount(40, calls);
        Assert.HasCount(40, calls.Select(c => c.Sip.CallId).Distinct().ToList());
        Assert.HasCount(80, streams);
        CollectionAssert.AreEqual(Enumerable.Range(1, 80).ToList(), streams.Select(s => s.StreamId).ToList());
        foreach (var c in calls)
        {
            int at = sink.Records.IndexOf(c);
            Assert.IsTrue(c.Streams.All(s => sink.Records.IndexOf(s) is >= 0 and var i && i < at), "a call leaves after its streams");
        }
        // Transactions: INVITE and BYE of each call (ACK is not one), each once.
        var tx = sink.Records.OfType<SipTransactionStat>().ToList();
        Assert.HasCount(80, tx);
        Assert.HasCount(80, tx.Select(t => t.Branch).Distinct().ToList());
        Assert.AreEqual(0, tracker.OpenStreamCount);
    }

    [TestMethod]
    public void Caps_OldestClosedEarlyWithCounter_NothingLost()
    {
        var anomalies = new AnomalyCounters();
        // Nothing ends by time here (linger and idle of a day): only the caps close calls and streams early.
        var tracker = new VoipTracker(anomalies, new VoipTrackerOptions
        {
            StreamIdleNs = 86_400 * Second, CallLingerNs = 86_400 * Second, CallIdleNs = 86_400 * Second,
            MaxOpenStreams = 5, Sip = new SipAnalyzerOptions { MaxOpenCalls = 3 },
        });
        using var stage = new VoipPipeline(tracker, parallel: false);
        var sink = new RecordingSink();
        Run(stage, Site(8, everyS: 10), _ => stage.TakeEnded(sink));
        Assert.IsLessThanOrEqualTo(3, tracker.Sip.CallCount);
        Assert.IsLessThanOrEqualTo(5, tracker.OpenStreamCount);
        tracker.Complete(T0 + 3600 * Second);
        stage.TakeEnded(sink);

        Assert.AreEqual(5, anomalies["sip_calls_evicted"], "8 calls, 3 open at most");
        Assert.IsGreaterThan(0, anomalies["rtp_streams_evicted"]);
        var calls = sink.Records.OfType<CallRecord>().ToList();
        var streams = sink.Records.OfType<RtpStreamRecord>().ToList();
        CollectionAssert.AreEqual(Enumerable.Range(0, 8).Select(i => $"call-{i}@test").ToList(), calls.Select(c => c.Sip.CallId).ToList(), "oldest first");
        Assert.HasCount(16, streams, "every stream written once");
        Assert.IsTrue(streams.All(s => s.Packets == 100));
        Assert.IsTrue(calls.All(c => c.Streams.Count == 2 && c.Sip.EndReason == SipCallEnd.Bye));
    }

    [TestMethod]
    public void ParallelStage_TakenWhileTheWorkerRuns_SameRecordsAsSingleThreaded()
    {
        var packets = Site(60, everyS: 40);
        List<string> Records(bool parallel)
        {
            var tracker = new VoipTracker(new AnomalyCounters());
            using var stage = new VoipPipeline(tracker, parallel);
            var sink = new RecordingSink();
            Run(stage, packets, frame => { if (frame % 97 == 0) stage.TakeEnded(sink); });
            stage.Drain();
            tracker.Complete(packets[^1].Ts);
            stage.TakeEnded(sink);
            return sink.Records.Select(o => o switch
            {
                RtpStreamRecord s => $"stream {s.StreamId} {s.Ssrc:X} {s.Packets} {s.FlowId} {s.CallId}",
                CallRecord c => $"call {c.Sip.CallId} {c.FlowId} {string.Join(",", c.Streams.Select(s => s.StreamId))}",
                SipTransactionStat t => $"tx {t.Branch} {t.FinalStatus}",
                _ => "?",
            }).ToList();
        }
        var single = Records(false);
        var parallel = Records(true);
        Assert.HasCount(60 + 120 + 120, single);
        // Within the parallel run only the moment of hand-over differs: the records and their order are the same.
        CollectionAssert.AreEqual(single, parallel);
    }

    [TestMethod]
    public void CallThatEndsWhileItsMediaGoesOn_LeavesOnlyAfterItsStreamsEnded()
    {
        var tracker = new VoipTracker(new AnomalyCounters());
        using var stage = new VoipPipeline(tracker, parallel: false);
        var sink = new RecordingSink();
        // One call whose BYE comes after 2 s while its media lasts 10 minutes (media of a leg the BYE did not end, say):
        // the RTP of a 10-minute call with the SIP of a 2-second one.
        var packets = Site(1, everyS: 60, mediaS: 600).Where(p => p.Payload[0] == 0x80).ToList();
        packets.AddRange(Site(1, everyS: 60, mediaS: 2).Where(p => p.Payload[0] != 0x80));
        packets.Sort((a, b) => a.Ts.CompareTo(b.Ts));
        Run(stage, packets, _ => stage.TakeEnded(sink));
        // Before the end of input the call is still open: its streams never went idle.
        Assert.AreEqual(1, tracker.Sip.CallCount);
        Assert.AreEqual(0, sink.Records.OfType<CallRecord>().Count());
        tracker.Complete(packets[^1].Ts);
        stage.TakeEnded(sink);
        var call = sink.Records.OfType<CallRecord>().Single();
        Assert.HasCount(2, call.Streams);
        Assert.IsTrue(call.Streams.All(s => s.Packets == 30_000));
    }

    [TestMethod]
    public void MediaAfterItsCallLeft_IsAStreamOfNoCall_AndTheRetiredAddressesAreCapped()
    {
        var anomalies = new AnomalyCounters();
        var tracker = new VoipTracker(anomalies, new VoipTrackerOptions { Sip = new SipAnalyzerOptions { MaxRetiredMediaBindings = 2 } });
        using var stage = new VoipPipeline(tracker, parallel: false);
        var sink = new RecordingSink();
        // Two calls with signalling only, then, 10 minutes later, RTP to the second call's SDP addresses on a
        // flow whose probe never said RTP: only the SDP makes it a stream.
        var packets = Site(2, everyS: 30, mediaS: 2).Where(p => p.Payload[0] != 0x80).ToList();
        // The second call's media (its ports 20002/40002): the first call's addresses were forgotten when the second's retired.
        var late = Site(2, everyS: 30, mediaS: 2).Where(p => p.Payload[0] == 0x80 && (p.SrcPort == 20002 || p.SrcPort == 40002))
            .Select(p => p with { Ts = p.Ts + 600 * Second }).ToList();
        // Other traffic in between (a datagram every 10 s) moves the stage's clock on, as on any real network.
        var other = Enumerable.Range(1, 59).Select(k => new Packet(T0 + k * 10 * Second, Phone, 9999, Pbx, 9999, "ping"u8.ToArray()));
        Run(stage, packets.Concat(other).Concat(late).OrderBy(p => p.Ts), _ => stage.TakeEnded(sink), rtpProven: false);
        tracker.Complete(late[^1].Ts);
        stage.TakeEnded(sink);

        var calls = sink.Records.OfType<CallRecord>().ToList();
        Assert.HasCount(2, calls);
        Assert.IsTrue(calls.All(c => c.Streams.Count == 0), "the calls left before the media came");
        var streams = sink.Records.OfType<RtpStreamRecord>().ToList();
        Assert.HasCount(2, streams);
        Assert.IsTrue(streams.All(st => st.CallId == "" && !st.SdpMatched && st.Codec == "PCMU" && st.Packets == 100));
        // The second call's two addresses retired after the first call's two: the table (2) started anew once.
        Assert.AreEqual(2, anomalies["sdp_media_bindings_forgotten"]);
    }

    [TestMethod]
    public void ClassifyCall_GivenByTheEngine_NamesServiceAndApplications_ElseSipFallback()
    {
        List<CallRecord> Calls(Func<SipCall, (string, string)?>? classify)
        {
            var tracker = new VoipTracker(new AnomalyCounters(), new VoipTrackerOptions { ClassifyCall = classify });
            using var stage = new VoipPipeline(tracker, parallel: false);
            var sink = new RecordingSink();
            Run(stage, Site(3, everyS: 100), _ => stage.TakeEnded(sink));
            tracker.Complete(T0 + 3600 * Second);
            stage.TakeEnded(sink);
            return sink.Records.OfType<CallRecord>().ToList();
        }
        var classified = Calls(c => c.CallId == "call-1@test" ? null : ("sip-trunk", $"app-{c.CalleePort}"));
        CollectionAssert.AreEqual(new[] { "sip-trunk app-5060", "sip ", "sip-trunk app-5060" }, classified.Select(c => $"{c.Service} {c.Applications}").ToArray());
        Assert.IsTrue(Calls(null).All(c => c.Service == "sip" && c.Applications == ""));
    }

    [TestMethod]
    public void OptionsPairs_PastTheCap_CountedNotSummarised()
    {
        var anomalies = new AnomalyCounters();
        var sip = new SipAnalyzer(anomalies, new SipAnalyzerOptions { MaxOptionsPairs = 2 });
        for (int i = 0; i < 3; i++)
        {
            var from = IpAddress.FromV4(Phone + (uint)i);
            var to = IpAddress.FromV4(Pbx);
            sip.OnUdp(T0 + i * Second, from, 5060, to, 5060, Sip("OPTIONS sip:200@10.1.0.21 SIP/2.0", $"o{i}", $"o{i}", 1, "OPTIONS", false), i * 2 + 1);
            sip.OnUdp(T0 + i * Second + 5_000_000, to, 5060, from, 5060, Sip("SIP/2.0 200 OK", $"o{i}", $"o{i}", 1, "OPTIONS", true), i * 2 + 2);
        }
        var r = sip.Complete();
        Assert.HasCount(2, r.OptionsPings);
        Assert.HasCount(3, r.Transactions, "the third pair's OPTIONS is still a transaction");
        Assert.AreEqual(1, anomalies["sip_options_pairs_limit"]);
    }

    /// <summary>
    /// Captures where records differ on purpose when items end early, and why. Every other capture must give the same
    /// stream and call records (up to the order and the stream ids that follow it) as a run where nothing ends before
    /// the end of the input.
    /// </summary>
    private static readonly Dictionary<string, string> EndsEarlyOnPurpose = new()
    {
        // 26 minutes; RTP starts 16 minutes after the only call whose SDP named its address ended: that call has left
        // by then, so the media is a stream tied to no call (sdp_matched false) instead of that old call's.
        ["ndpi/fuzz-2006-06-26-2594.pcap"] = "media long after its call left",
    };

    private static (List<string> Streams, List<string> Calls) Records(string path, VoipTrackerOptions? voip)
    {
        var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { ParallelVoip = false, Voip = voip });
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        var r = engine.Complete(source.Interfaces, source.Errors);
        // Stream ids follow the order streams leave: compare streams by their content, calls by theirs and their streams'.
        static string S(RtpStreamRecord s) => $"{s.CallId} {s.Ssrc:X} {s.SrcIp}:{s.SrcPort}>{s.DstIp}:{s.DstPort} {s.FlowId} {s.Packets} {s.Lost} {s.MaxJitterMs:F3} {s.Codec} {s.Mos:F2} {s.RtcpReports} {s.RtcpMuxPackets}";
        return (r.Streams.Select(S).Order(StringComparer.Ordinal).ToList(),
            r.Calls.Select(c => $"{c.Sip.CallId} {c.FlowId} {c.Service} {c.Applications} {c.Sip.EndReason} {c.Sip.FinalStatus} {c.Sip.DurationS} {c.Sip.Retransmissions} {c.Codec} {c.LostPct} {c.Mos} {c.OneWay} [{string.Join(",", c.Streams.Select(S))}]")
                .Order(StringComparer.Ordinal).ToList());
    }

    [TestMethod]
    public void RecordsWhenItemsEndEarly_EqualRecordsWhenNothingEndsBeforeTheEnd_OnEveryPublicCapture()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive("public captures not available");
        var never = new VoipTrackerOptions { StreamIdleNs = long.MaxValue / 4, CallLingerNs = long.MaxValue / 4, CallIdleNs = long.MaxValue / 4 };
        var files = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal) || f.EndsWith(".cap", StringComparison.Ordinal))
            .Append(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"))
            .Order(StringComparer.Ordinal).ToList();
        int compared = 0, differ = 0;
        foreach (var path in files)
        {
            (List<string> Streams, List<string> Calls) early, late;
            try { early = Records(path, null); late = Records(path, never); }
            catch (TrafficAudit.Capture.CaptureFormatException) { continue; } // not a capture we read (NetMon, empty)
            string name = Path.GetRelativePath(TestPaths.PublicCaptures, path).Replace(Path.DirectorySeparatorChar, '/');
            compared++;
            bool same = early.Streams.SequenceEqual(late.Streams) && early.Calls.SequenceEqual(late.Calls);
            if (EndsEarlyOnPurpose.ContainsKey(name)) { Assert.IsFalse(same, name + " matches now: remove it from EndsEarlyOnPurpose"); differ++; continue; }
            CollectionAssert.AreEqual(late.Streams, early.Streams, name + " streams");
            CollectionAssert.AreEqual(late.Calls, early.Calls, name + " calls");
        }
        Assert.IsGreaterThan(20, compared, "captures compared");
        Assert.AreEqual(EndsEarlyOnPurpose.Count, differ);
    }
}
