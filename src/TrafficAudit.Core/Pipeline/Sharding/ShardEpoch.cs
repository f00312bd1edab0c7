using System.Runtime.CompilerServices;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline.Sharding;

/// <summary>What a shard is asked to do at one point of the capture.</summary>
internal enum ShardItemKind : byte
{
    /// <summary>A decoded packet of a flow this shard owns: flow table, then analyzers.</summary>
    Packet,
    /// <summary>An ICMP unreachable quoting a packet of a flow this shard owns: the flow is marked (before the sweep and the ICMP packet's own flow, as on one thread).</summary>
    Unreachable,
    /// <summary>The capture clock crossed the next sweep time: every shard sweeps its table at this point.</summary>
    Sweep,
}

/// <summary>One entry of a shard's input: a packet (its decoded fields and payload), a mark, or a sweep.</summary>
internal struct ShardItem
{
    /// <summary>Ordinal of the frame in the run (1-based): the order every result is merged in.</summary>
    public long Ordinal;
    public long TimestampNs;
    public long Frame;
    public int FileIndex;
    public int PayloadStart;
    public int PayloadLength;
    public ShardItemKind Kind;
    public DecodedPacket Packet;
}

/// <summary>A shard's input for one epoch: items in capture order, their payloads in one arena.</summary>
internal sealed class ShardInput
{
    public ShardItem[] Items;
    public int Count;
    public byte[] Bytes;

    /// <param name="expected">Packets this shard is expected to get per epoch (sized once: the arrays grow when a shard gets more).</param>
    public ShardInput(int expected)
    {
        Items = new ShardItem[expected];
        Bytes = new byte[expected * 256];
    }

    public int Used;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ShardItem Append()
    {
        if (Count == Items.Length) Array.Resize(ref Items, Items.Length * 2);
        return ref Items[Count++];
    }

    /// <summary>Copies a payload into the arena; returns where it starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int CopyPayload(ReadOnlySpan<byte> payload)
    {
        if (Used + payload.Length > Bytes.Length) Array.Resize(ref Bytes, Math.Max(Bytes.Length * 2, Used + payload.Length));
        int at = Used;
        payload.CopyTo(Bytes.AsSpan(at));
        Used += payload.Length;
        return at;
    }

    /// <summary>
    /// Ready to be filled again, written over: the merger, the last to read an input (<see cref="ShardEpoch.FrameOf"/>),
    /// clears what the reader wrote, so that the reader's next stores land on lines another core last wrote and not on
    /// lines several cores hold (see VoipPipeline's <c>Batch.HandBack</c>).
    /// </summary>
    public void Clear()
    {
        Array.Clear(Items, 0, Count);
        Bytes.AsSpan(0, Used).Clear();
        Count = 0;
        Used = 0;
    }
}

/// <summary>What a shard reports to the merger.</summary>
internal enum ShardEventKind : byte
{
    /// <summary>A flow started: the merger gives it the next flow_id.</summary>
    FlowStarted,
    /// <summary>A flow ended (FIN/RST linger, idle, port reuse, the shard's table full): the merger hands it over as one thread would.</summary>
    FlowEnded,
    /// <summary>A packet for the VoIP stage (<see cref="ShardOutput.Voip"/>).</summary>
    Voip,
    /// <summary>A DNS answer (<see cref="ShardOutput.Dns"/>): the merger learns it into the engine's one table.</summary>
    DnsAnswer,
}

/// <summary>
/// One event of a shard, at a point of the capture: <see cref="Order"/> = frame ordinal × 4 + phase, the phase being
/// 0 for the sweep at that frame, 1 for the frame's flow table step, 2 for its analyzers (3 is the merger's own
/// VoIP take). Every shard writes its events in this order; the merger merges the shards' lists by it.
/// </summary>
internal struct ShardEvent
{
    public long Order;
    public Flow Flow;
    public int Aux;
    public ShardEventKind Kind;
}

/// <summary>A DNS answer a shard read, its name in <see cref="ShardOutput.Chars"/>.</summary>
internal struct ShardDnsAnswer
{
    public IpAddress Address;
    public int NameStart;
    public int NameLength;
    public long Frame;
    public int FileIndex;
    public long Ordinal;
}

/// <summary>A shard's output for one epoch: its events, and the VoIP packets and DNS answers they point to.</summary>
internal sealed class ShardOutput
{
    public ShardEvent[] Events;
    public int EventCount;
    public VoipPacket[] Voip;
    public int[] VoipStart;
    public int VoipCount;
    public byte[] VoipBytes;
    public int VoipUsed;
    public ShardDnsAnswer[] Dns = new ShardDnsAnswer[16];
    public int DnsCount;
    public char[] Chars = new char[1024];
    public int CharsUsed;

    /// <param name="expected">Packets the shard is expected to get per epoch.</param>
    public ShardOutput(int expected)
    {
        Events = new ShardEvent[expected + expected / 4];
        Voip = new VoipPacket[expected];
        VoipStart = new int[expected];
        VoipBytes = new byte[expected * 64];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long order, ShardEventKind kind, Flow flow, int aux)
    {
        if (EventCount == Events.Length) Array.Resize(ref Events, Events.Length * 2);
        ref var e = ref Events[EventCount++];
        e.Order = order;
        e.Kind = kind;
        e.Flow = flow;
        e.Aux = aux;
    }

    /// <summary>The next VoIP packet slot (its index in <see cref="Voip"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextVoip()
    {
        if (VoipCount == Voip.Length)
        {
            Array.Resize(ref Voip, Voip.Length * 2);
            Array.Resize(ref VoipStart, VoipStart.Length * 2 + 1);
        }
        return VoipCount++;
    }

    /// <summary>Copies the bytes of VoIP packet <paramref name="i"/> (the last one made).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CopyVoipBytes(int i, ReadOnlySpan<byte> bytes)
    {
        if (VoipUsed + bytes.Length > VoipBytes.Length) Array.Resize(ref VoipBytes, Math.Max(VoipBytes.Length * 2, VoipUsed + bytes.Length));
        VoipStart[i] = VoipUsed;
        bytes.CopyTo(VoipBytes.AsSpan(VoipUsed));
        VoipUsed += bytes.Length;
    }

    public ReadOnlySpan<byte> VoipPayload(int i) => VoipBytes.AsSpan(VoipStart[i], (i + 1 < VoipCount ? VoipStart[i + 1] : VoipUsed) - VoipStart[i]);

    public void AddDns(IpAddress address, ReadOnlySpan<char> name, long frame, int fileIndex, long ordinal, long order, Flow flow)
    {
        if (DnsCount == Dns.Length) Array.Resize(ref Dns, Dns.Length * 2);
        if (CharsUsed + name.Length > Chars.Length) Array.Resize(ref Chars, Math.Max(Chars.Length * 2, CharsUsed + name.Length));
        name.CopyTo(Chars.AsSpan(CharsUsed));
        Dns[DnsCount] = new ShardDnsAnswer { Address = address, NameStart = CharsUsed, NameLength = name.Length, Frame = frame, FileIndex = fileIndex, Ordinal = ordinal };
        CharsUsed += name.Length;
        Add(order, ShardEventKind.DnsAnswer, flow, DnsCount++);
    }

    public void Clear()
    {
        // The flows referenced by events are dropped, so that an epoch buffer does not keep ended flows alive; and all
        // the merger read is written over, for the shard's next stores (see ShardInput.Clear).
        Array.Clear(Events, 0, EventCount);
        EventCount = 0;
        Array.Clear(Voip, 0, VoipCount);
        Array.Clear(VoipStart, 0, VoipCount);
        VoipBytes.AsSpan(0, VoipUsed).Clear();
        Array.Clear(Dns, 0, DnsCount);
        Chars.AsSpan(0, CharsUsed).Clear();
        VoipCount = 0;
        VoipUsed = 0;
        DnsCount = 0;
        CharsUsed = 0;
    }
}

/// <summary>
/// One epoch of the sharded engine: the packets the reader dispatched between two hand-overs, as one input and one
/// output per shard, and the reader's own marks (sweeps, VoIP takes) at their frame ordinals. The merger waits for
/// every shard to finish the epoch, then replays the outputs in capture order.
/// </summary>
internal sealed class ShardEpoch
{
    public readonly ShardInput[] Inputs;
    public readonly ShardOutput[] Outputs;
    /// <summary>Frame ordinals at which the reader ran a sweep (every shard swept its table there).</summary>
    public readonly List<long> Sweeps = new();
    /// <summary>Frame ordinals after whose analyzers the ended VoIP records are taken over (every 10 s of capture time).</summary>
    public readonly List<long> Takes = new();
    public int Packets;
    private int _remaining;
    private readonly ManualResetEventSlim _done = new(false, spinCount: 0); // the merger waits without spinning (HandOffQueue)
    public Exception? Failure;

    /// <param name="shards">Shards of the engine.</param>
    /// <param name="packets">Packets per epoch: each shard's buffers are sized for a fair share and a half (they grow when a shard gets more).</param>
    public ShardEpoch(int shards, int packets)
    {
        Inputs = new ShardInput[shards];
        Outputs = new ShardOutput[shards];
        int expected = packets * 3 / (2 * shards) + 64;
        for (int i = 0; i < shards; i++)
        {
            Inputs[i] = new ShardInput(expected);
            Outputs[i] = new ShardOutput(expected);
        }
    }

    /// <summary>Before handing the epoch to the shards.</summary>
    public void Arm()
    {
        _done.Reset();
        _remaining = Inputs.Length;
    }

    /// <summary>A shard finished its part.</summary>
    public void ShardDone(Exception? failure)
    {
        if (failure is not null) Failure ??= failure;
        if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
    }

    public void Wait() => _done.Wait();

    /// <summary>Every shard finished its part.</summary>
    public bool IsDone => _done.IsSet;

    /// <summary>Ready to be filled again (its flows let go).</summary>
    public void Clear()
    {
        foreach (var i in Inputs) i.Clear();
        foreach (var o in Outputs) o.Clear();
        Sweeps.Clear();
        Takes.Clear();
        Packets = 0;
    }

    /// <summary>Frame number and file of the dispatched packet with this ordinal (for the anomaly counters the merger raises): it is in one shard's input, whose items are in ordinal order.</summary>
    public (long Frame, int FileIndex) FrameOf(long ordinal)
    {
        foreach (var input in Inputs)
        {
            int lo = 0, hi = input.Count - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                ref readonly var item = ref input.Items[mid];
                if (item.Ordinal == ordinal) return (item.Frame, item.FileIndex);
                if (item.Ordinal < ordinal) lo = mid + 1; else hi = mid - 1;
            }
        }
        return (0, 0);
    }
}
