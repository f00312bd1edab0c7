using System.Runtime.CompilerServices;
using TrafficAudit.Analyzers;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Pipeline;

/// <summary>What the VoIP stage needs of one packet, copied out of the decoded packet and its flow.</summary>
public struct VoipPacket
{
    public long TimestampNs;
    public long Frame;
    public int FileIndex;
    public IpAddress Src;
    public IpAddress Dst;
    public ushort SrcPort;
    public ushort DstPort;
    public byte IpVersion;
    public byte Side;
    public bool IsTcp;
    public TcpFlags TcpFlags;
    public uint TcpSeq;
    // The flow's payload hints when this packet was decoded.
    public bool FlowIsSip;
    public bool FlowIsRtp;
    public bool FlowRtpDecided;
    /// <summary>flow_id of the packet's flow (its <c>Sequence + 1</c>): streams and calls link to flows by it.</summary>
    public int FlowId;
    /// <summary>
    /// The flow's VoIP state as the decoding stage last saw it (null before the VoIP stage made it, or when the
    /// decoding stage has not seen it yet): the VoIP stage takes it from here rather than from the flow, whose
    /// first cache line the decoding stage writes on every packet (on another core that line would move between
    /// the cores twice a packet).
    /// </summary>
    internal VoipTracker.FlowVoip? Voip;
    /// <summary>
    /// Set by the <see cref="VoipPipeline"/> when it handed over only the RTP fixed header (the first
    /// <see cref="VoipPipeline.RtpHeaderBytes"/> bytes) of a datagram whose payload the stage never reads (see
    /// <see cref="VoipPipeline.CanSendRtpHeaderOnly"/>); <see cref="WireLength"/> is then the payload's length.
    /// </summary>
    internal bool RtpHeaderOnly;
    internal int WireLength;

    /// <summary>
    /// Fills <paramref name="slot"/> (a batch entry, written in place: a copy through a local made the JIT move the two
    /// addresses as one 32-byte load of two 16-byte stores just made, a store-forwarding stall on every packet).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void Fill(ref VoipPacket slot, Flow flow, in AnalyzerPacket packet)
    {
        ref readonly DecodedPacket p = ref packet.Ip;
        slot.TimestampNs = packet.TimestampNs;
        slot.Frame = packet.Frame;
        slot.FileIndex = packet.FileIndex;
        slot.Src = p.Src;
        slot.Dst = p.Dst;
        slot.SrcPort = p.SrcPort;
        slot.DstPort = p.DstPort;
        slot.IpVersion = p.IpVersion;
        slot.Side = (byte)packet.Side;
        slot.IsTcp = p.Protocol != IpProtocol.Udp;
        slot.TcpFlags = p.TcpFlags;
        slot.TcpSeq = p.TcpSeq;
        slot.FlowIsSip = flow.Hints.IsSip;
        slot.FlowIsRtp = flow.Hints.Rtp.IsRtp;
        slot.FlowRtpDecided = flow.Hints.Rtp.Decided;
        slot.FlowId = (int)flow.Sequence + 1;
        slot.Voip = flow.Voip;
        slot.RtpHeaderOnly = false;
        slot.WireLength = packet.Payload.Length;
    }
}

/// <summary>
/// Runs the <see cref="VoipTracker"/> as a second pipeline stage. On a machine with more than one
/// core the decoding stage (read, decode, flow table) hands packets over in batches to a worker
/// thread that does SIP, RTP and RTCP analysis, so the two halves of the per-packet work overlap.
/// Packets keep their order and carry the flow hints of their decoding time, so the results are
/// the same, byte for byte, as with the single-threaded mode (a test checks this). Batches and their
/// payload arenas are recycled: nothing is allocated per packet.
/// </summary>
public sealed class VoipPipeline : IDisposable
{
    private const int BatchPackets = 4096;
    private const int BatchBytes = BatchPackets * 256;
    private const int BatchesInFlight = 4;

    internal sealed class Batch
    {
        public readonly VoipPacket[] Packets = new VoipPacket[BatchPackets];
        public readonly Flow?[] Flows = new Flow?[BatchPackets];
        public readonly int[] Offsets = new int[BatchPackets + 1];
        public NativeArena Bytes = new(BatchBytes);
        public int Count;
        public int Used;
        /// <summary>Times the batch was handed to the stage (what the tests of <see cref="HandBack"/> look at).</summary>
        public int Handed;

        /// <summary>
        /// The stage's thread, done with the batch's first <paramref name="count"/> packets, writes over what it read (the
        /// packets, their flows, offsets and bytes) before the batch goes back to the engine. The flows and the streams'
        /// state the packets name are no longer held. And the cache lines go back to the engine's thread fit to write:
        /// a line both cores have read is shared, and each of the engine's stores into it then waits for the other core to
        /// drop its copy, one line after another, while a line the other core last wrote comes back with a single
        /// request the engine's core makes ahead of the stores. On two cores far apart (this VM in some hours: 230-290 ns
        /// from core to core) the bulk capture's loop took 0.27-0.42 s at two threads with the reads alone, against
        /// 0.19-0.20 s with this (README, Round 15).
        /// </summary>
        public void HandBack(int count)
        {
            Array.Clear(Flows, 0, count);
            Array.Clear(Packets, 0, count);
            Array.Clear(Offsets, 0, count + 1);
            if (Used > 0) Bytes.Span(0, Used).Clear();
        }
    }

    private readonly VoipTracker _tracker;
    private readonly bool _parallel;
    private readonly HandOffQueue<Batch>? _full;
    private readonly HandOffQueue<Batch>? _free;
    private readonly Thread? _worker;
    private Batch? _current;
    private int _batches; // allocated so far, at most BatchesInFlight + 1
    private int _pending; // batches handed over and not yet finished
    private long _added; // packets added to the stage (the engine's thread): every one reaches the tracker once, in this order
    private long _finished; // packets the worker has finished (written under _gate)
    private readonly object _gate = new();
    private Exception? _failure;

    public VoipPipeline(VoipTracker tracker, bool parallel)
    {
        _tracker = tracker;
        _parallel = parallel;
        if (!parallel) return;
        _full = new(BatchesInFlight);
        _free = new(BatchesInFlight + 1);
        // One batch now, the others (1.4 MB each) when the worker falls behind: a short capture never needs them (issue 12).
        _current = new Batch();
        _batches = 1;
        _worker = new Thread(Work) { IsBackground = true, Name = "trafficaudit-voip" };
        _worker.Start();
    }

    public VoipTracker Tracker => _tracker;

    /// <summary>
    /// Hands the stream, call and transaction records the stage ended so far to <paramref name="sink"/> (in the order
    /// they ended) and forgets them. Call it on the engine's thread: at its periodic sweep, and after <see cref="Drain"/>
    /// and <see cref="VoipTracker.Complete"/> at the end (or a snapshot). It does not wait for the worker: records of
    /// batches still in flight come at the next call.
    /// </summary>
    public int TakeEnded(IAuditRecordSink sink) => _tracker.TakeEnded(sink);

    /// <summary>
    /// Hands over the records the stage ended by the packet <paramref name="ticket"/> counts to (a <see cref="Submit"/>
    /// of before), waiting for the stage to get there first: the same records whatever thread runs the stage and
    /// however far it is. The later ones come at a later call.
    /// </summary>
    public int TakeEnded(IAuditRecordSink sink, long ticket)
    {
        WaitFor(ticket);
        return _tracker.TakeEnded(sink, ticket);
    }

    /// <summary>Bytes handed over of an RTP datagram whose payload the stage does not read: the fixed header (RFC 3550 §5.1).</summary>
    public const int RtpHeaderBytes = 12;

    /// <summary>
    /// True when the VoIP stage reads no more of this UDP payload than its RTP fixed header and its length: the flow is RTP
    /// and not SIP as the packet is decoded (so the stage does not show it to the SIP analyzer), the datagram is not of an
    /// RTCP type (whose reports the stage reads) and its RTP header is valid (CSRCs and extension within the datagram, as
    /// <see cref="RtpProbe.TryReadRtpHeader"/> checks it). On two cores only those 12 bytes cross to the stage's thread,
    /// not the 160 bytes of a G.711 payload.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool CanSendRtpHeaderOnly(in VoipPacket p, ReadOnlySpan<byte> payload)
    {
        if (p.IsTcp || !p.FlowIsRtp || p.FlowIsSip || payload.Length <= RtpHeaderBytes) return false;
        byte first = payload[0], second = payload[1];
        // The usual header (version 2, no extension, no CSRC; padding or not) is the fixed 12 bytes: only the second
        // byte remains to judge, as the two checks below would (RTCP types 192-223; payload types 72-76 are no RTP).
        if ((first & 0xDF) == 0x80) return second is < 192 or > 223 && (second & 0x7F) is < 72 or > 76;
        return !RtpProbe.IsRtcpPacketType(payload) && RtpProbe.TryReadRtpHeader(payload, out _, out _, out _);
    }

    /// <summary>One packet for the stage, already made (tests, tools).</summary>
    public void Add(Flow flow, in VoipPacket packet, ReadOnlySpan<byte> payload)
    {
        _added++;
        if (!_parallel)
        {
            Run(flow, in packet, payload);
            return;
        }
        ref VoipPacket slot = ref Reserve(flow, payload.Length);
        slot = packet;
        slot.RtpHeaderOnly = false;
        slot.WireLength = payload.Length;
        Commit(ref slot, payload);
    }

    /// <summary>
    /// A packet a shard of a sharded engine made (<see cref="VoipPacket.Fill"/>, perhaps its RTP header only), handed
    /// over by the merger in capture order: it goes to the stage as it is, inline on the merger's thread or, copied
    /// into a batch (the epoch that holds its bytes is reused once merged), to the stage's own thread.
    /// </summary>
    internal void AddPrepared(Flow flow, in VoipPacket packet, ReadOnlySpan<byte> payload)
    {
        _added++;
        if (!_parallel)
        {
            Run(flow, in packet, payload);
            return;
        }
        ref VoipPacket slot = ref Reserve(flow, payload.Length);
        slot = packet;
        Append(payload);
    }

    /// <summary>The engine's packet for the stage: its facts are written straight into the batch, and of RTP only the header is copied.</summary>
    internal void Add(Flow flow, in AnalyzerPacket packet)
    {
        _added++;
        if (!_parallel)
        {
            VoipPacket.Fill(ref _inline, flow, in packet);
            Run(flow, in _inline, packet.Payload);
            _inline.Voip = null; // holds no flow state between packets
            return;
        }
        ref VoipPacket slot = ref Reserve(flow, packet.Payload.Length);
        VoipPacket.Fill(ref slot, flow, in packet);
        Commit(ref slot, packet.Payload);
    }

    /// <summary>The packet given to the stage inline (one core): a field, so the packet is built in place as in a batch.</summary>
    private VoipPacket _inline;

    /// <summary>The next entry of the current batch (handed over first when full, or when its arena lacks <paramref name="length"/> bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref VoipPacket Reserve(Flow flow, int length)
    {
        var b = _current!;
        if (b.Count == BatchPackets || b.Used + length > b.Bytes.Length)
        {
            if (b.Count > 0) { Hand(b); b = _current!; }
            if (length > b.Bytes.Length) b.Bytes.Grow(length); // a reassembled jumbo datagram: rare
        }
        b.Flows[b.Count] = flow;
        return ref b.Packets[b.Count];
    }

    /// <summary>Copies the payload (or only its RTP header) into the current batch's arena and counts the reserved entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Commit(ref VoipPacket slot, ReadOnlySpan<byte> payload)
    {
        if (CanSendRtpHeaderOnly(in slot, payload))
        {
            slot.RtpHeaderOnly = true;
            payload = payload[..RtpHeaderBytes];
        }
        Append(payload);
    }

    /// <summary>Copies the bytes of the reserved entry into the current batch's arena and counts the entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Append(ReadOnlySpan<byte> bytes)
    {
        var b = _current!;
        bytes.CopyTo(b.Bytes.Span(b.Used, b.Bytes.Length - b.Used));
        b.Offsets[b.Count] = b.Used;
        b.Used += bytes.Length;
        b.Count++;
        b.Offsets[b.Count] = b.Used;
    }

    private void Run(Flow flow, in VoipPacket p, ReadOnlySpan<byte> payload)
    {
        _tracker.Anomalies.CurrentFrame = p.Frame;
        _tracker.Anomalies.CurrentFileIndex = p.FileIndex;
        if (p.IsTcp) _tracker.OnTcp(in p, payload);
        else _tracker.OnUdp(flow, in p, payload);
    }

    /// <summary>How many packets ahead the worker asks the CPU to fetch a stream's state (about a main-memory latency of work).</summary>
    private const int PrefetchAhead = 4;
    /// <summary>Bytes of a stream's state a packet touches, from <see cref="PrefetchFrom"/> before its statistics: the stream's own fields and the statistics' hot fields.</summary>
    private const int PrefetchBytes = 704;
    private const int PrefetchFrom = 128;

    /// <summary>
    /// A hint, never a read: the batch holds the packets to come, so the worker asks for the state of the RTP
    /// stream a packet a few places ahead will update (its flow's last stream in its direction), and that
    /// packet finds it in the cache instead of waiting for memory. With hundreds of concurrent streams their
    /// states (about 1.4 KB each) do not stay in the core's cache. The address may be stale if the object
    /// moves meanwhile: a prefetch of any address is harmless.
    /// </summary>
    private static unsafe void Prefetch(in VoipPacket p)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || p.IsTcp || p.Voip is not { } v) return;
        var s = p.Side == 0 ? v.Last0 : v.Last1;
        if (s is null) return;
        byte* at = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref s.Stats) - PrefetchFrom;
        for (int offset = 0; offset < PrefetchBytes; offset += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(at + offset);
    }

    /// <summary>
    /// The batches the stage gave back, waiting to be filled again (the engine's current one among them while empty), for
    /// tests: call it after <see cref="Drain"/>, on the engine's thread.
    /// </summary>
    internal List<Batch> FreeBatches()
    {
        var list = new List<Batch>();
        if (_free is null) return list;
        while (_free.TryTake(out var b)) list.Add(b);
        foreach (var b in list) _free.Add(b);
        if (_current is { Count: 0 } current) list.Add(current);
        return list;
    }

    private void Hand(Batch b)
    {
        b.Handed++;
        lock (_gate) _pending++;
        _full!.Add(b);
        // The stage is behind (a batch waits besides the one it works on): this thread takes some of the stage's idle work
        // instead of waiting for a free batch later.
        while (Volatile.Read(ref _pending) >= 2 && _behindWork is { } work && work()) BehindWorkDone++;
        if (_free!.TryTake(out var next)) _current = next;
        else if (_batches <= BatchesInFlight) { _current = new Batch(); _batches++; }
        else _free.Take(out _current);
    }

    private Func<bool>? _idleWork;
    private Func<bool>? _behindWork;
    private int _sleeping; // 1 while the stage's thread waits for a batch (after its idle work found nothing)
    private int _busy; // 1 while the stage's thread analyses a batch

    /// <summary>
    /// Work for the stage's thread has come (rows waiting in a shared record log): when that thread is asleep waiting for
    /// a batch it wakes and does its <see cref="IdleWork"/>. True when it is free for that work now (no batch in hand),
    /// so the caller may leave the work to it. Any thread; two reads when the stage's thread is awake. A wake-up lost to
    /// a race is made up by the next call. Without it the stage's thread slept through the burst of records the engine
    /// hands over once the nodes are detected (some 20,000 on the busy site), while the engine wrote them all itself.
    /// </summary>
    public bool WakeIdle()
    {
        if (_full is null) return false;
        if (Volatile.Read(ref _sleeping) != 0) _full.Wake();
        return Volatile.Read(ref _busy) == 0;
    }

    private long _sleepTicks;

    /// <summary>
    /// Seconds the stage's thread has slept so far waiting for a batch or for idle work (0 inline), for `--stats`: the time
    /// the second core had nothing of the audit to do. Any thread; a sleep in progress counts when it ends.
    /// </summary>
    public double SleepSeconds => (double)Interlocked.Read(ref _sleepTicks) / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Times <see cref="WakeIdle"/> woke the stage's thread, for `--stats`.</summary>
    public int IdleWakes { get; private set; }

    /// <summary>
    /// What the engine's thread does when it hands a batch over and the stage is behind (another batch still waits for
    /// it): one bounded piece of work the stage's thread would otherwise do when idle (writing a slice of rows), repeated
    /// while the stage stays behind and the call says it did some. The two threads then share the work that either may
    /// do by who has time: the stage's when idle, the engine's when ahead. Null: nothing. Set it on the engine's thread.
    /// </summary>
    public Func<bool>? BehindWork
    {
        get => _behindWork;
        set => _behindWork = value;
    }

    /// <summary>Pieces of <see cref="BehindWork"/> the engine's thread did, for `--stats`.</summary>
    public int BehindWorkDone { get; private set; }

    /// <summary>Batches handed over and not yet finished by the stage's thread (the one it works on included).</summary>
    internal int PendingBatches => Volatile.Read(ref _pending);

    /// <summary>
    /// What the stage's thread does when it has no batch to analyse: each call does one bounded piece of work (reads one
    /// chunk of the capture ahead of the packet thread, <see cref="Capture.IIdleReader"/>) and says whether it did any.
    /// Null: nothing. Set it from any thread; only the stage's own thread calls it (none runs inline).
    /// </summary>
    public Func<bool>? IdleWork
    {
        get => Volatile.Read(ref _idleWork);
        set => Volatile.Write(ref _idleWork, value);
    }

    private void Work()
    {
        var full = _full!;
        while (true)
        {
            // Nothing to analyse: take work off the packet thread (its next reads, its rows) until a batch comes or none is
            // left. What that work throws (a bug) is kept as the stage's own failure, for the engine's thread.
            try
            {
                while (full.Count == 0 && _failure is null && IdleWork is { } idle && idle()) { }
            }
            catch (Exception e)
            {
                _failure ??= e;
            }
            // Asleep until a batch comes, or until work for the idle thread does (WakeIdle).
            Volatile.Write(ref _sleeping, 1);
            long asleep = System.Diagnostics.Stopwatch.GetTimestamp();
            var taken = full.TakeOrWake(out var b);
            Interlocked.Add(ref _sleepTicks, System.Diagnostics.Stopwatch.GetTimestamp() - asleep);
            Volatile.Write(ref _sleeping, 0);
            if (taken == HandOffQueue<Batch>.Taken.Completed) break;
            if (taken == HandOffQueue<Batch>.Taken.Woken)
            {
                IdleWakes++;
                continue;
            }
            Volatile.Write(ref _busy, 1);
            try
            {
                if (_failure is null)
                    for (int i = 0; i < b.Count; i++)
                    {
                        if (i + PrefetchAhead < b.Count) Prefetch(in b.Packets[i + PrefetchAhead]);
                        Run(b.Flows[i]!, in b.Packets[i], b.Bytes.Span(b.Offsets[i], b.Offsets[i + 1] - b.Offsets[i]));
                    }
            }
            catch (Exception e)
            {
                _failure ??= e;
            }
            int count = b.Count;
            b.HandBack(count);
            b.Count = 0;
            b.Used = 0;
            _free!.Add(b);
            Volatile.Write(ref _busy, 0);
            lock (_gate)
            {
                _pending--;
                _finished += count;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>How many times the engine waited for the worker (<see cref="Drain"/>, <see cref="WaitFor"/>; 0 on one thread), for `--stats`.</summary>
    public int Waits { get; private set; }

    private long _waitTicks;

    /// <summary>Seconds the engine spent waiting for the worker to finish what it was handed.</summary>
    public double WaitSeconds => (double)_waitTicks / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Waits until every packet added so far has been analysed (before reading results).</summary>
    public void Drain()
    {
        if (!_parallel) return;
        WaitFor(Submit());
    }

    /// <summary>
    /// Hands the packets added so far to the worker without waiting for them, and returns the ticket
    /// <see cref="WaitFor"/> takes to wait for exactly those: the number of packets added so far, which is also the
    /// tracker's <see cref="VoipTracker.PacketsSeen"/> once the stage has analysed them (on one thread, at once).
    /// </summary>
    public long Submit()
    {
        if (_parallel && _current!.Count > 0) Hand(_current);
        return _added;
    }

    /// <summary>
    /// Waits until the worker has analysed every packet handed over before <see cref="Submit"/> returned <paramref name="ticket"/>.
    /// The stage is behind then: this thread first does its <see cref="BehindWork"/> (rows waiting) while the stage has not
    /// got there, and sleeps only when there is none left.
    /// </summary>
    public void WaitFor(long ticket)
    {
        if (!_parallel) return;
        while (Volatile.Read(ref _finished) < ticket && _behindWork is { } work && work()) BehindWorkDone++;
        if (Volatile.Read(ref _finished) < ticket)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            lock (_gate)
                while (_finished < ticket) Monitor.Wait(_gate);
            Waits++;
            _waitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
        }
        if (_failure is { } e) throw new InvalidOperationException("VoIP analysis failed: " + e.Message, e);
    }

    private bool _disposed;

    public void Dispose()
    {
        if (!_parallel || _disposed) return;
        _disposed = true;
        _full!.CompleteAdding();
        _worker!.Join();
    }
}

/// <summary>
/// A byte arena outside the GC heap (a VoIP batch's payloads, 1 MB). The GC zeroed a managed array of that size, every
/// page of it, though a batch of RTP uses a few tens of KB (12 bytes a packet); pages of native memory the batch never
/// writes are never touched, and the arena does not count towards the large-object heap's budget. The busy site's peak
/// at two threads: 43.3 -> 38.9 MB, the loop unchanged (README "Round 12"). Freed when collected.
/// </summary>
internal sealed unsafe class NativeArena
{
    private byte* _bytes;
    public int Length { get; private set; }

    public NativeArena(int length)
    {
        _bytes = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)length);
        Length = length;
    }

    public Span<byte> Span(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start)) throw new ArgumentOutOfRangeException(nameof(start));
        return new Span<byte>(_bytes + start, length);
    }

    public void Grow(int length)
    {
        System.Runtime.InteropServices.NativeMemory.Free(_bytes);
        _bytes = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)length);
        Length = length;
    }

    ~NativeArena() => System.Runtime.InteropServices.NativeMemory.Free(_bytes);
}
