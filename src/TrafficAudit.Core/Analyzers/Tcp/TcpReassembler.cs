using System.Buffers;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Tcp;

/// <summary>
/// The protocol half of a <see cref="TcpReassembler"/>: it is handed one direction's bytes in
/// sequence order and cuts them into the protocol's messages (SIP by Content-Length; a CTIQBE/TAPI
/// or SCCP analyzer by its length-prefixed headers). The reassembler knows nothing of the protocol.
/// </summary>
public interface ITcpFramer
{
    /// <summary>
    /// Joined mid-stream (no SYN seen): whether framing can begin at this segment, e.g. a segment
    /// that starts with a SIP start line. Segments before the first such one are ignored.
    /// </summary>
    bool CanStartAt(ReadOnlySpan<byte> segment);

    /// <summary>
    /// In-order bytes not consumed yet, oldest first: hands on every complete message at the front
    /// and returns the number of bytes consumed (0 to <c>data.Length</c>). What is not consumed is
    /// kept by the reassembler and given again, with the bytes that follow, on the next call.
    /// </summary>
    int Frame(ReadOnlySpan<byte> data);

    /// <summary>
    /// Bytes before the next ones delivered will never come: a gap that could not be filled within
    /// the cap, unframed bytes dropped over the cap, or pending bytes given up over the total budget.
    /// The framer must find its next message boundary again.
    /// </summary>
    void OnBytesLost();

    /// <summary>A SYN: the connection starts (again); framing state is forgotten.</summary>
    void OnStreamStart();

    /// <summary>
    /// True once the framer found that the stream is not its protocol: the reassembler then ignores
    /// the direction's data (until a new SYN) and holds no buffer for it.
    /// </summary>
    bool Rejected { get; }
}

/// <summary>Caps of one <see cref="TcpReassembler"/> and the anomaly counter named when they are reached.</summary>
/// <param name="MaxPendingBytes">
/// Bytes held per direction: unframed in-order bytes plus out-of-order segments. A gap whose
/// filling would need more is given up (the missing bytes are lost, <see cref="ITcpFramer.OnBytesLost"/>);
/// unframed bytes past it (a message larger than the cap) are dropped the same way.
/// </param>
/// <param name="OverflowCounter">Counted once per time the cap is reached (e.g. <c>sip_tcp_buffer_overflow</c>).</param>
public readonly record struct TcpReassemblyLimits(int MaxPendingBytes, string OverflowCounter);

/// <summary>
/// The memory budget of many <see cref="TcpReassembler"/>s together (every SIP-over-TCP direction,
/// say): when the bytes they hold pass <see cref="MaxBytes"/>, the stream that just grew gives up
/// its pending bytes (its framer resynchronises) and <see cref="Counter"/> is counted.
/// </summary>
public sealed class TcpReassemblyBudget(long maxBytes, string counter)
{
    public long MaxBytes { get; } = maxBytes;
    /// <summary>Anomaly counted each time a stream gives up its bytes to the budget (e.g. <c>sip_tcp_total_buffer_limit</c>).</summary>
    public string Counter { get; } = counter;
    /// <summary>Bytes held now by the reassemblers charged to this budget (their <see cref="TcpReassembler.HeldBytes"/>).</summary>
    public long HeldBytes { get; internal set; }
    /// <summary>Times a stream gave up its pending bytes because the budget was spent.</summary>
    public long GiveUps { get; internal set; }
}

/// <summary>
/// One direction of a TCP connection, protocol-neutral: puts segments back in sequence order and
/// hands the in-order bytes to an <see cref="ITcpFramer"/>. Retransmitted and overlapping bytes are
/// dropped (the first copy wins, as a receiver's stack does) and counted in
/// <see cref="DuplicateSegments"/>; out-of-order segments wait in a bounded store; a gap that the
/// cap cannot bridge is given up (<see cref="GapsGivenUp"/>, the limits' counter) and delivery goes
/// on after it. Sequence numbers compare by serial-number arithmetic (RFC 1982, RFC 9293 §3.4), so a
/// stream may wrap around 2^32.
/// Allocation: the unframed buffer (4 KiB, grown for a large message and given back after it) and
/// pooled copies of out-of-order segments; nothing for a segment that arrives in order and is framed whole.
/// With a <see cref="TcpReassemblyBudget"/>, what it holds is also bounded together with other streams.
/// </summary>
public sealed class TcpReassembler(TcpReassemblyLimits limits, TcpReassemblyBudget? budget = null)
{
    /// <summary>Size of the unframed buffer when it is first needed; a larger one is not kept once empty.</summary>
    public const int InitialBufferBytes = 4096;

    private bool _started;
    private uint _next;
    private byte[]? _buf;
    private int _len;
    private readonly List<(uint Seq, byte[] Data, int Length)> _outOfOrder = new();
    private int _outOfOrderBytes;
    private int _charged; // bytes charged to the budget

    public TcpReassemblyLimits Limits { get; } = limits;

    /// <summary>Segments (or their leading parts) dropped because their bytes had been delivered already: retransmissions and overlaps.</summary>
    public long DuplicateSegments { get; private set; }
    /// <summary>Gaps given up because filling them would pass <see cref="TcpReassemblyLimits.MaxPendingBytes"/>.</summary>
    public long GapsGivenUp { get; private set; }
    /// <summary>Times unframed bytes were dropped because a message grew past the cap.</summary>
    public long Overflows { get; private set; }
    /// <summary>Bytes of the gaps given up (sequence numbers skipped without their data).</summary>
    public long BytesSkipped { get; private set; }

    /// <summary>True once the direction has a starting point (its SYN, or a segment the framer could start at).</summary>
    public bool Started => _started;
    /// <summary>The sequence number of the next byte to deliver.</summary>
    public uint NextSequence => _next;
    /// <summary>In-order bytes delivered to the framer and not consumed by it yet.</summary>
    public int UnframedBytes => _len;
    /// <summary>Bytes of out-of-order segments waiting for the gap before them.</summary>
    public int OutOfOrderBytes => _outOfOrderBytes;
    public int OutOfOrderSegments => _outOfOrder.Count;
    /// <summary>Unframed plus out-of-order bytes (what the cap bounds).</summary>
    public int PendingBytes => _len + _outOfOrderBytes;
    /// <summary>Memory held: the unframed buffer's size (not only its used part) and the out-of-order bytes.</summary>
    public int HeldBytes => (_buf?.Length ?? 0) + _outOfOrderBytes;

    /// <summary>
    /// One segment of this direction (any flags; an empty payload with SYN counts: the SYN takes one
    /// sequence number and data starts after it). The framer is passed per call so that one framer
    /// object may serve as the sink of many streams.
    /// </summary>
    public void Push(uint seq, TcpFlags flags, ReadOnlySpan<byte> payload, ITcpFramer framer, AnomalyCounters anomalies)
    {
        PushCore(seq, flags, payload, framer, anomalies);
        if (budget is null || HeldBytes == _charged) return;
        Recharge();
        if (budget.HeldBytes > budget.MaxBytes && HeldBytes > 0)
        {
            // Over the budget of all streams together: this stream gives up its unfinished bytes and
            // its framer resumes at its next message, as after the per-stream cap.
            anomalies.Increment(budget.Counter);
            budget.GiveUps++;
            GiveUpPending(framer);
        }
    }

    /// <summary>
    /// The connection closed or is forgotten: frees the buffers and gives their bytes back to the budget.
    /// Reports nothing to the framer (a partial message is the owner's to count before).
    /// </summary>
    public void Release()
    {
        _len = 0;
        _buf = null;
        ClearOutOfOrder();
        Recharge();
    }

    private void Recharge()
    {
        if (budget is null) return;
        int held = HeldBytes;
        budget.HeldBytes += held - _charged;
        _charged = held;
    }

    private void PushCore(uint seq, TcpFlags flags, ReadOnlySpan<byte> payload, ITcpFramer framer, AnomalyCounters anomalies)
    {
        if ((flags & TcpFlags.Syn) != 0)
        {
            ResetPending();
            framer.OnStreamStart();
            _started = true;
            _next = seq + 1;
            seq++;
        }
        if (framer.Rejected || payload.IsEmpty) return;
        if (!_started)
        {
            if (!framer.CanStartAt(payload)) return;
            _started = true;
            _next = seq;
        }

        int off = (int)(seq - _next); // serial-number distance over 32 bits
        if (off < 0)
        {
            long behind = -(long)off;   // not -off: 2^31 behind is int.MinValue, whose negation overflows
            DuplicateSegments++;
            if (behind >= payload.Length) return;
            payload = payload[(int)behind..];
            off = 0;
        }
        if (off > 0)
        {
            StoreOutOfOrder(seq, payload, framer, anomalies);
            return;
        }
        Deliver(payload, framer, anomalies);
        _next += (uint)payload.Length;
        DrainOutOfOrder(framer, anomalies);
    }

    /// <summary>
    /// Drops the pending bytes (unframed and out-of-order) and frees their buffer, when the owner's
    /// budget over all streams is spent; the framer resynchronises at its next message boundary.
    /// </summary>
    public void GiveUpPending(ITcpFramer framer)
    {
        _len = 0;
        _buf = null;
        ClearOutOfOrder();
        Recharge();
        framer.OnBytesLost();
    }

    private void ResetPending()
    {
        _len = 0;
        ClearOutOfOrder();
    }

    private void ClearOutOfOrder()
    {
        foreach (var (_, data, _) in _outOfOrder) ArrayPool<byte>.Shared.Return(data);
        _outOfOrder.Clear();
        _outOfOrderBytes = 0;
    }

    private void StoreOutOfOrder(uint seq, ReadOnlySpan<byte> payload, ITcpFramer framer, AnomalyCounters anomalies)
    {
        int off = (int)(seq - _next);
        int max = Limits.MaxPendingBytes;
        if (off > max || _len + _outOfOrderBytes + payload.Length > max)
        {
            // The gap will not be filled within the cap: give up the missing bytes and go on from here.
            anomalies.Increment(Limits.OverflowCounter);
            GapsGivenUp++;
            BytesSkipped += (uint)off;
            _len = 0;
            ClearOutOfOrder();
            framer.OnBytesLost();
            _next = seq;
            Deliver(payload, framer, anomalies);
            _next += (uint)payload.Length;
            return;
        }
        foreach (var (s, _, length) in _outOfOrder)
            if (s == seq && length >= payload.Length) { DuplicateSegments++; return; }
        var copy = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(copy);
        _outOfOrder.Add((seq, copy, payload.Length));
        _outOfOrderBytes += payload.Length;
    }

    private void DrainOutOfOrder(ITcpFramer framer, AnomalyCounters anomalies)
    {
        bool progress = true;
        while (progress && _outOfOrder.Count > 0)
        {
            progress = false;
            for (int i = 0; i < _outOfOrder.Count; i++)
            {
                var (s, d, length) = _outOfOrder[i];
                int off = (int)(s - _next);
                if (off > 0) continue;
                _outOfOrder.RemoveAt(i);
                _outOfOrderBytes -= length;
                long behind = -(long)off;
                if (behind < length)
                {
                    if (off < 0) DuplicateSegments++;
                    var tail = d.AsSpan((int)behind, length - (int)behind);
                    Deliver(tail, framer, anomalies);
                    _next += (uint)tail.Length;
                }
                else DuplicateSegments++;
                ArrayPool<byte>.Shared.Return(d);
                progress = true;
                break;
            }
        }
    }

    /// <summary>Hands in-order bytes to the framer and keeps what it did not consume.</summary>
    private void Deliver(ReadOnlySpan<byte> data, ITcpFramer framer, AnomalyCounters anomalies)
    {
        if (_len == 0)
        {
            // Common case: nothing pending, frame straight from the segment and keep only the rest.
            int used = framer.Frame(data);
            Keep(data[used..], framer, anomalies);
            return;
        }
        Append(data);
        int consumed = framer.Frame(_buf.AsSpan(0, _len));
        if (consumed > 0)
        {
            _buf.AsSpan(consumed, _len - consumed).CopyTo(_buf);
            _len -= consumed;
        }
        if (_len > Limits.MaxPendingBytes) Overflow(framer, anomalies);
        // A buffer grown for one large message is not kept for the small ones that follow.
        if (_len == 0 && _buf is { Length: > InitialBufferBytes }) _buf = null;
    }

    private void Keep(ReadOnlySpan<byte> rest, ITcpFramer framer, AnomalyCounters anomalies)
    {
        if (rest.IsEmpty) return;
        if (rest.Length > Limits.MaxPendingBytes) { Overflow(framer, anomalies); return; }
        Append(rest);
    }

    private void Overflow(ITcpFramer framer, AnomalyCounters anomalies)
    {
        anomalies.Increment(Limits.OverflowCounter);
        Overflows++;
        _len = 0;
        framer.OnBytesLost();
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        int need = _len + data.Length;
        if (_buf is null || _buf.Length < need)
        {
            int size = Math.Max(need, Math.Max(InitialBufferBytes, (_buf?.Length ?? 0) * 2));
            var nb = new byte[size];
            if (_buf is not null) _buf.AsSpan(0, _len).CopyTo(nb);
            _buf = nb;
        }
        data.CopyTo(_buf.AsSpan(_len));
        _len = need;
    }
}
