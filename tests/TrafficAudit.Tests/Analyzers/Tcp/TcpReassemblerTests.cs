using System.Buffers.Binary;
using TrafficAudit.Analyzers.Tcp;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Tcp;

/// <summary>
/// The protocol-neutral reassembler, driven with a length-prefixed framer (a 2-byte big-endian body
/// length, then the body: the shape of CTIQBE or SCCP headers), so these tests hold for any framer.
/// </summary>
[TestClass]
public sealed class TcpReassemblerTests
{
    private const uint Isn = 0xFFFF_FF00u; // close to the wrap, so sequence arithmetic must wrap
    private const string Counter = "test_tcp_buffer_overflow";

    /// <summary>Frames [length][body] messages; after lost bytes it drops everything up to the next 0x7E marker byte (its resync rule).</summary>
    private sealed class LengthPrefixFramer : ITcpFramer
    {
        public readonly List<byte[]> Frames = new();
        public int Lost, Starts;
        public bool Resync;
        public bool RejectFirstByte0xFF;
        public bool Rejected { get; private set; }

        public bool CanStartAt(ReadOnlySpan<byte> segment) => segment.Length >= 1 && segment[0] == 0x7E;
        public void OnBytesLost() { Lost++; Resync = true; }
        public void OnStreamStart() { Starts++; Resync = false; Rejected = false; }

        public int Frame(ReadOnlySpan<byte> data)
        {
            int pos = 0;
            if (RejectFirstByte0xFF && Frames.Count == 0 && data.Length > 0 && data[0] == 0xFF) { Rejected = true; return data.Length; }
            if (Resync)
            {
                int k = data.IndexOf((byte)0x7E);
                if (k < 0) return data.Length;
                Resync = false;
                pos = k;
            }
            while (data.Length - pos >= 3)
            {
                // [0x7E][length, 2 bytes][body]
                int len = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 1)..]);
                if (data.Length - pos < 3 + len) break;
                Frames.Add(data.Slice(pos + 3, len).ToArray());
                pos += 3 + len;
            }
            return pos;
        }
    }

    private static byte[] Message(int bodyLength, byte fill)
    {
        var m = new byte[3 + bodyLength];
        m[0] = 0x7E;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(1), (ushort)bodyLength);
        m.AsSpan(3).Fill(fill);
        return m;
    }

    /// <summary>Four messages of different sizes back to back (one empty), and their bodies.</summary>
    private static (byte[] Stream, byte[][] Bodies) FourMessages()
    {
        var ms = new[] { Message(10, 1), Message(0, 2), Message(300, 3), Message(57, 4) };
        return (ms.SelectMany(m => m).ToArray(), ms.Select(m => m[3..]).ToArray());
    }

    private static (TcpReassembler R, LengthPrefixFramer F, AnomalyCounters A) Open(int maxPending = 64 * 1024)
    {
        var r = new TcpReassembler(new TcpReassemblyLimits(maxPending, Counter));
        var f = new LengthPrefixFramer();
        var a = new AnomalyCounters();
        r.Push(Isn - 1, TcpFlags.Syn, default, f, a);
        return (r, f, a);
    }

    private static void AssertFrames(byte[][] expected, LengthPrefixFramer f, string because)
    {
        Assert.HasCount(expected.Length, f.Frames, because);
        for (int i = 0; i < expected.Length; i++) CollectionAssert.AreEqual(expected[i], f.Frames[i], $"{because}: frame {i}");
    }

    [TestMethod]
    public void Push_InOrderCutAtEveryOffset_FramesEveryMessageAndHoldsNothing()
    {
        var (stream, bodies) = FourMessages();
        for (int cut = 0; cut <= stream.Length; cut++)
        {
            var (r, f, a) = Open();
            r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, cut), f, a);
            r.Push(Isn + (uint)cut, TcpFlags.Ack | TcpFlags.Psh, stream.AsSpan(cut), f, a);
            AssertFrames(bodies, f, $"cut at {cut}");
            Assert.AreEqual(0, r.PendingBytes, $"cut at {cut}");
            Assert.AreEqual(0, r.DuplicateSegments, $"cut at {cut}");
            Assert.AreEqual(0, a.Entries.Count, $"cut at {cut}");
            Assert.AreEqual(Isn + (uint)stream.Length, r.NextSequence, "the sequence wrapped past 2^32");
        }
    }

    [TestMethod]
    public void Push_SecondHalfFirstAtEveryOffset_WaitsForTheGapThenFramesAll()
    {
        var (stream, bodies) = FourMessages();
        for (int cut = 1; cut < stream.Length; cut++)
        {
            var (r, f, a) = Open();
            r.Push(Isn + (uint)cut, TcpFlags.Ack, stream.AsSpan(cut), f, a);
            Assert.IsEmpty(f.Frames, $"cut at {cut}: nothing before the gap is filled");
            Assert.AreEqual(stream.Length - cut, r.OutOfOrderBytes, $"cut at {cut}");
            r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, cut), f, a);
            AssertFrames(bodies, f, $"cut at {cut}");
            Assert.AreEqual(0, r.OutOfOrderSegments, $"cut at {cut}");
            Assert.IsTrue(r.HeldBytes is 0 or TcpReassembler.InitialBufferBytes, $"cut at {cut}: only the empty unframed buffer may remain");
        }
    }

    [TestMethod]
    public void Push_EveryByteSentTwice_CountsEachCopyOnce()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open();
        for (int i = 0; i < stream.Length; i++)
        {
            r.Push(Isn + (uint)i, TcpFlags.Ack, stream.AsSpan(i, 1), f, a);
            r.Push(Isn + (uint)i, TcpFlags.Ack, stream.AsSpan(i, 1), f, a); // retransmission
        }
        AssertFrames(bodies, f, "byte by byte");
        Assert.AreEqual(stream.Length, r.DuplicateSegments);
    }

    [TestMethod]
    public void Push_OverlappingSegments_KeepOnlyTheNewBytes()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open();
        r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 100), f, a);
        r.Push(Isn + 60, TcpFlags.Ack, stream.AsSpan(60, 140), f, a);   // 40 old + 100 new
        r.Push(Isn + 20, TcpFlags.Ack, stream.AsSpan(20, 30), f, a);    // entirely old
        r.Push(Isn + 200, TcpFlags.Ack, stream.AsSpan(200), f, a);
        AssertFrames(bodies, f, "overlaps");
        Assert.AreEqual(2, r.DuplicateSegments);
    }

    [TestMethod]
    public void Push_OutOfOrderSegmentStoredTwice_KeptOnce()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open();
        r.Push(Isn + 100, TcpFlags.Ack, stream.AsSpan(100), f, a);
        r.Push(Isn + 100, TcpFlags.Ack, stream.AsSpan(100), f, a);
        Assert.AreEqual(1, r.OutOfOrderSegments);
        Assert.AreEqual(1, r.DuplicateSegments);
        r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 100), f, a);
        AssertFrames(bodies, f, "after the gap");
    }

    [TestMethod]
    public void Push_ShuffledSegmentsWithDuplicatesAndOverlaps_FrameTheSameMessages()
    {
        var (stream, bodies) = FourMessages();
        var rng = new Random(20261130);
        for (int round = 0; round < 200; round++)
        {
            var segments = new List<(int Off, int Len)>();
            for (int off = 0; off < stream.Length;) { int len = Math.Min(stream.Length - off, rng.Next(1, 60)); segments.Add((off, len)); off += len; }
            // Copies, and segments that straddle two others (a retransmission re-cut by the sender).
            segments.AddRange(segments.Where(_ => rng.Next(4) == 0).ToList());
            for (int k = 0; k < 5; k++) { int off = rng.Next(stream.Length); segments.Add((off, Math.Min(stream.Length - off, rng.Next(1, 80)))); }
            var (r, f, a) = Open();
            foreach (var (off, len) in segments.OrderBy(_ => rng.Next())) r.Push(Isn + (uint)off, TcpFlags.Ack, stream.AsSpan(off, len), f, a);
            AssertFrames(bodies, f, $"round {round}");
            Assert.AreEqual(0, r.PendingBytes, $"round {round}");
            Assert.AreEqual(0, a.Entries.Count, $"round {round}");
        }
    }

    [TestMethod]
    public void Push_GapBeyondTheCap_GivesItUpCountsAndGoesOnAfterIt()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open(maxPending: 128);
        int first = 3 + 10; // the first message is lost for good
        r.Push(Isn + (uint)first, TcpFlags.Ack, stream.AsSpan(first), f, a);
        Assert.AreEqual(1, a[Counter]);
        Assert.AreEqual(1, r.GapsGivenUp);
        Assert.AreEqual(first, r.BytesSkipped);
        Assert.AreEqual(1, f.Lost, "the framer is told bytes are missing");
        AssertFrames(bodies[1..], f, "after the gap");
    }

    [TestMethod]
    public void Push_GapFilledWithinTheCap_NoCounter()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open(maxPending: 1024);
        r.Push(Isn + 13, TcpFlags.Ack, stream.AsSpan(13), f, a);
        r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 13), f, a);
        AssertFrames(bodies, f, "gap filled");
        Assert.AreEqual(0, a.Entries.Count);
        Assert.AreEqual(0, r.GapsGivenUp);
    }

    [TestMethod]
    public void Push_OutOfOrderStoreWouldPassTheCap_GivesUpTheGap()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open(maxPending: 100);
        // A 1-byte gap at the start, then segments of 40 bytes: the third would hold 120 bytes.
        r.Push(Isn + 1, TcpFlags.Ack, stream.AsSpan(1, 40), f, a);
        r.Push(Isn + 41, TcpFlags.Ack, stream.AsSpan(41, 40), f, a);
        Assert.AreEqual(80, r.PendingBytes);
        Assert.AreEqual(0, a.Entries.Count);
        r.Push(Isn + 81, TcpFlags.Ack, stream.AsSpan(81), f, a);
        Assert.AreEqual(1, a[Counter]);
        Assert.AreEqual(1, r.GapsGivenUp);
        Assert.AreEqual(81, r.BytesSkipped, "delivery goes on at the third segment: the gap byte and the 80 held bytes are skipped");
        Assert.IsLessThanOrEqualTo(100, r.PendingBytes);
        // Framing resumed at the next marker: the last message (whose bytes are all after 81) is framed.
        CollectionAssert.AreEqual(bodies[3], f.Frames[^1]);
    }

    [TestMethod]
    public void Push_MessageLargerThanTheCap_OverflowsCountsAndResyncs()
    {
        var big = Message(5000, 9);
        var (stream, bodies) = FourMessages();
        var all = big.Concat(stream).ToArray();
        var (r, f, a) = Open(maxPending: 1024);
        for (int off = 0; off < all.Length; off += 500)
        {
            r.Push(Isn + (uint)off, TcpFlags.Ack, all.AsSpan(off, Math.Min(500, all.Length - off)), f, a);
            Assert.IsLessThanOrEqualTo(1024 + 500, r.PendingBytes, $"at {off}");
        }
        Assert.IsGreaterThanOrEqualTo(1, a[Counter]);
        Assert.AreEqual(a[Counter], r.Overflows + r.GapsGivenUp);
        Assert.IsGreaterThanOrEqualTo(1, f.Lost);
        // The big message is lost; the framer resyncs on a marker inside its body or after it, and the last message arrives whole.
        CollectionAssert.AreEqual(bodies[3], f.Frames[^1]);
    }

    [TestMethod]
    public void Push_EverySegmentCutAtEveryLengthFromEveryStart_NeverThrowsAndStaysWithinTheCap()
    {
        var (stream, _) = FourMessages();
        for (int start = 0; start < stream.Length; start += 7)
            for (int len = 0; start + len <= stream.Length; len += 5)
            {
                var (r, f, a) = Open(maxPending: 64);
                r.Push(Isn + (uint)start, TcpFlags.Ack, stream.AsSpan(start, len), f, a);
                r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, Math.Min(stream.Length, 20)), f, a);
                Assert.IsLessThanOrEqualTo(64, r.PendingBytes, $"segment {start}+{len}");
            }
    }

    [TestMethod]
    public void Push_MidStreamJoin_StartsAtTheFirstSegmentTheFramerAccepts()
    {
        var (stream, bodies) = FourMessages();
        var r = new TcpReassembler(new TcpReassemblyLimits(1024, Counter));
        var f = new LengthPrefixFramer();
        var a = new AnomalyCounters();
        r.Push(5000, TcpFlags.Ack, stream.AsSpan(5, 8), f, a); // inside the first body: no start point
        Assert.IsFalse(r.Started);
        r.Push(5008, TcpFlags.Ack, stream.AsSpan(13), f, a);   // the second message's marker
        Assert.IsTrue(r.Started);
        AssertFrames(bodies[1..], f, "joined at the second message");
    }

    [TestMethod]
    public void Push_FramerRejectsTheStream_NothingMoreIsBufferedUntilANewSyn()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open();
        f.RejectFirstByte0xFF = true;
        r.Push(Isn, TcpFlags.Ack, [0xFF, 1, 2, 3], f, a);
        r.Push(Isn + 4, TcpFlags.Ack, stream, f, a);
        Assert.IsEmpty(f.Frames);
        Assert.AreEqual(0, r.PendingBytes);
        // The ports are reused by a new connection: a SYN starts over.
        r.Push(77, TcpFlags.Syn, default, f, a);
        r.Push(78, TcpFlags.Ack, stream, f, a);
        AssertFrames(bodies, f, "after the new SYN");
        Assert.AreEqual(2, f.Starts);
    }

    [TestMethod]
    public void GiveUpPending_DropsBuffersAndTellsTheFramer()
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open();
        r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 20), f, a);          // two messages framed, the start of the third pending
        r.Push(Isn + 200, TcpFlags.Ack, stream.AsSpan(200, 50), f, a);  // out of order
        Assert.IsGreaterThan(0, r.HeldBytes);
        r.GiveUpPending(f);
        Assert.AreEqual(0, r.HeldBytes);
        Assert.AreEqual(0, r.PendingBytes);
        Assert.AreEqual(1, f.Lost);
        // Delivery goes on from where it was; the framer finds the next marker.
        r.Push(Isn + 20, TcpFlags.Ack, stream.AsSpan(20), f, a);
        CollectionAssert.AreEqual(bodies[3], f.Frames[^1]);
    }

    [TestMethod]
    [DataRow(0x8000_0000u)]
    [DataRow(0x7FFF_FFFFu)]
    [DataRow(0x8000_0001u)]
    public void Push_SegmentHalfTheSequenceSpaceAway_DroppedOrGivenUpWithoutThrowing(uint distance)
    {
        var (stream, bodies) = FourMessages();
        var (r, f, a) = Open();
        r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 13), f, a);
        r.Push(unchecked(Isn + 13 + distance), TcpFlags.Ack, stream.AsSpan(13), f, a);
        Assert.IsLessThanOrEqualTo(64 * 1024, r.PendingBytes);
        Assert.IsGreaterThanOrEqualTo(1, f.Frames.Count);
        CollectionAssert.AreEqual(bodies[0], f.Frames[0]);
    }

    [TestMethod]
    public void Push_OverTheBudgetOfAllStreams_TheGrowingStreamGivesUpAndIsCounted()
    {
        var (stream, bodies) = FourMessages();
        var budget = new TcpReassemblyBudget(10_000, "test_tcp_total_buffer_limit");
        var a = new AnomalyCounters();
        var streams = Enumerable.Range(0, 5).Select(_ => (R: new TcpReassembler(new TcpReassemblyLimits(64 * 1024, Counter), budget), F: new LengthPrefixFramer())).ToList();
        // Each leaves the start of the third message pending: a 4 KiB buffer each; the third to the fifth pass 10,000 bytes.
        foreach (var (r, f) in streams)
        {
            r.Push(Isn - 1, TcpFlags.Syn, default, f, a);
            r.Push(Isn, TcpFlags.Ack, stream.AsSpan(0, 20), f, a);
        }
        Assert.AreEqual(3, a["test_tcp_total_buffer_limit"]);
        Assert.AreEqual(3, budget.GiveUps);
        Assert.AreEqual(2L * TcpReassembler.InitialBufferBytes, budget.HeldBytes);
        Assert.AreEqual(budget.HeldBytes, streams.Sum(s => (long)s.R.HeldBytes), "the budget holds what the streams hold");
        Assert.IsTrue(streams.Skip(2).All(s => s.F.Lost == 1 && s.R.HeldBytes == 0));
        // The first stream kept its bytes: its messages complete.
        streams[0].R.Push(Isn + 20, TcpFlags.Ack, stream.AsSpan(20), streams[0].F, a);
        AssertFrames(bodies, streams[0].F, "within the budget");
        streams[1].R.Release();
        Assert.AreEqual(streams[0].R.HeldBytes, budget.HeldBytes, "a released stream gives its bytes back");
    }
}
