using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Sip;

/// <summary>Receives the SIP messages a <see cref="SipTcpStream"/> frames, each exactly its bytes.</summary>
internal interface ISipMessageSink
{
    void OnStreamMessage(ReadOnlySpan<byte> message);
}

/// <summary>
/// One direction of a TCP connection carrying SIP: puts segments back in sequence order (bounded
/// out-of-order store, retransmitted and overlapping bytes dropped) and cuts the byte stream into
/// messages by Content-Length (RFC 3261 §18.3). Memory is bounded by <see cref="MaxPending"/>:
/// past it the pending bytes are dropped (<c>sip_tcp_buffer_overflow</c>) and reading resumes at
/// the next SIP start line.
/// </summary>
internal sealed class SipTcpStream(int maxPending)
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    /// <summary>A first line longer than this is not a SIP start line.</summary>
    private const int MaxStartLine = 2048;

    public int MaxPending { get; } = maxPending;

    private bool _started;
    private bool _notSip;
    private uint _next;
    private byte[]? _buf;
    private int _len;
    private bool _resync;
    private readonly List<(uint Seq, byte[] Data)> _outOfOrder = new();
    private int _outOfOrderBytes;

    /// <summary>Bytes dropped because they had been delivered already (retransmissions, overlaps).</summary>
    public long DuplicateSegments { get; private set; }
    public int PendingBytes => _len + _outOfOrderBytes;
    /// <summary>Memory held for this direction: the reassembly buffer's size (not only its used part) and the out-of-order store.</summary>
    public int HeldBytes => (_buf?.Length ?? 0) + _outOfOrderBytes;

    /// <summary>False once the stream proved not to be SIP: the caller may forget it.</summary>
    public bool IsSip => !_notSip;

    public void Push(uint seq, TcpFlags flags, ReadOnlySpan<byte> payload, ISipMessageSink sink, AnomalyCounters anomalies)
    {
        if ((flags & TcpFlags.Syn) != 0)
        {
            // The SYN takes one sequence number; data starts after it.
            Reset();
            _started = true;
            _next = seq + 1;
            seq++;
        }
        if (_notSip || payload.IsEmpty) return;
        if (!_started)
        {
            // Joined mid-stream: start at a segment that begins with a SIP start line.
            if (!SipText.LooksLikeSip(payload)) return;
            _started = true;
            _next = seq;
        }

        int off = (int)(seq - _next); // serial-number arithmetic (RFC 1982) over 32 bits
        if (off < 0)
        {
            long behind = -(long)off;   // not -off: 2^31 behind is int.MinValue, whose negation overflows
            if (behind >= payload.Length) { DuplicateSegments++; return; }
            DuplicateSegments++;
            payload = payload[(int)behind..];
            off = 0;
        }
        if (off > 0)
        {
            StoreOutOfOrder(seq, payload, sink, anomalies);
            return;
        }
        Deliver(payload, sink, anomalies);
        _next += (uint)payload.Length;
        DrainOutOfOrder(sink, anomalies);
    }

    /// <summary>True when bytes of an unfinished message remain (at FIN/RST or capture end).</summary>
    public bool HasPartialMessage => _len > 0 && !_resync;

    /// <summary>
    /// Drops the pending bytes (unfinished message and out-of-order segments) and frees their buffer,
    /// when the analyzer's budget over all streams is spent; reading resumes at the next SIP start line.
    /// </summary>
    public void GiveUpPending()
    {
        _len = 0;
        _buf = null;
        _resync = true;
        _outOfOrder.Clear();
        _outOfOrderBytes = 0;
    }

    private void Reset()
    {
        _len = 0;
        _resync = false;
        _notSip = false;
        _sawMessage = false;
        _outOfOrder.Clear();
        _outOfOrderBytes = 0;
    }

    private void StoreOutOfOrder(uint seq, ReadOnlySpan<byte> payload, ISipMessageSink sink, AnomalyCounters anomalies)
    {
        int off = (int)(seq - _next);
        if (off > MaxPending || _len + _outOfOrderBytes + payload.Length > MaxPending)
        {
            // The gap will not be filled within our budget: give up the missing bytes, restart here.
            anomalies.Increment("sip_tcp_buffer_overflow");
            _len = 0;
            _outOfOrder.Clear();
            _outOfOrderBytes = 0;
            _resync = true;
            _next = seq;
            Deliver(payload, sink, anomalies);
            _next += (uint)payload.Length;
            return;
        }
        foreach (var (s, d) in _outOfOrder)
            if (s == seq && d.Length >= payload.Length) { DuplicateSegments++; return; }
        _outOfOrder.Add((seq, payload.ToArray()));
        _outOfOrderBytes += payload.Length;
    }

    private void DrainOutOfOrder(ISipMessageSink sink, AnomalyCounters anomalies)
    {
        bool progress = true;
        while (progress && _outOfOrder.Count > 0)
        {
            progress = false;
            for (int i = 0; i < _outOfOrder.Count; i++)
            {
                var (s, d) = _outOfOrder[i];
                int off = (int)(s - _next);
                if (off > 0) continue;
                _outOfOrder.RemoveAt(i);
                _outOfOrderBytes -= d.Length;
                long behind = -(long)off;
                if (behind < d.Length)
                {
                    if (off < 0) DuplicateSegments++;
                    var tail = d.AsSpan((int)behind);
                    Deliver(tail, sink, anomalies);
                    _next += (uint)tail.Length;
                }
                else DuplicateSegments++;
                progress = true;
                break;
            }
        }
    }

    /// <summary>Appends in-order bytes and hands out every complete message.</summary>
    private void Deliver(ReadOnlySpan<byte> data, ISipMessageSink sink, AnomalyCounters anomalies)
    {
        if (_len == 0)
        {
            // Common case: nothing pending, frame straight from the segment and keep only the rest.
            int used = Frame(data, sink, anomalies);
            Keep(data[used..], anomalies);
            return;
        }
        Append(data);
        int consumed = Frame(_buf.AsSpan(0, _len), sink, anomalies);
        if (consumed > 0)
        {
            _buf.AsSpan(consumed, _len - consumed).CopyTo(_buf);
            _len -= consumed;
        }
        if (_len > MaxPending) Overflow(anomalies);
        // A buffer grown for one large message is not kept for the small ones that follow.
        if (_len == 0 && _buf is { Length: > 4096 }) _buf = null;
    }

    private void Keep(ReadOnlySpan<byte> rest, AnomalyCounters anomalies)
    {
        if (rest.IsEmpty) return;
        if (rest.Length > MaxPending) { Overflow(anomalies); return; }
        Append(rest);
    }

    private void Overflow(AnomalyCounters anomalies)
    {
        anomalies.Increment("sip_tcp_buffer_overflow");
        _len = 0;
        _resync = true;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        int need = _len + data.Length;
        if (_buf is null || _buf.Length < need)
        {
            int size = Math.Max(need, Math.Max(4096, (_buf?.Length ?? 0) * 2));
            var nb = new byte[size];
            if (_buf is not null) _buf.AsSpan(0, _len).CopyTo(nb);
            _buf = nb;
        }
        data.CopyTo(_buf.AsSpan(_len));
        _len = need;
    }

    /// <summary>Cuts complete messages off the front of <paramref name="d"/>; returns the bytes consumed.</summary>
    private int Frame(ReadOnlySpan<byte> d, ISipMessageSink sink, AnomalyCounters anomalies)
    {
        int pos = 0;
        while (pos < d.Length)
        {
            // RFC 5626 §3.5.1 keepalives (CRLFCRLF ping, CRLF pong) and stray line breaks between messages.
            while (pos < d.Length && (d[pos] == Cr || d[pos] == Lf)) pos++;
            if (pos >= d.Length) break;
            var rest = d[pos..];

            if (_resync)
            {
                int start = FindStartLine(rest);
                if (start < 0)
                {
                    // Keep a tail that may hold the beginning of a start line; drop the rest.
                    return Math.Max(pos, d.Length - MaxStartLine);
                }
                _resync = false;
                pos += start;
                continue;
            }

            int firstLf = rest.IndexOf(Lf);
            if (firstLf < 0 && rest.Length < MaxStartLine && (_sawMessage || CouldStartSip(rest))) break; // start line not complete yet
            if (firstLf < 0 || !SipText.LooksLikeSip(rest))
            {
                if (!_sawMessage)
                {
                    // The connection does not start with SIP (TLS, another protocol): ignore it from now on.
                    _notSip = true;
                    return d.Length;
                }
                anomalies.Increment("sip_bad_start_line");
                _resync = true;
                if (firstLf < 0) return d.Length;
                pos += firstLf + 1;
                continue;
            }

            int headerEnd = SipMessageReader.FindHeaderEnd(rest);
            if (headerEnd < 0) break;
            int msgLen;
            switch (SipMessageReader.FindContentLength(rest[..headerEnd], out int contentLength))
            {
                case 1:
                    msgLen = headerEnd + contentLength;
                    break;
                case 0:
                    // RFC 3261 §18.3: Content-Length is mandatory on streams.
                    anomalies.Increment("sip_tcp_missing_content_length");
                    msgLen = headerEnd;
                    break;
                default:
                    anomalies.Increment("sip_bad_content_length");
                    msgLen = headerEnd;
                    break;
            }
            if (msgLen > rest.Length) break; // body not complete yet
            _sawMessage = true;
            sink.OnStreamMessage(rest[..msgLen]);
            pos += msgLen;
        }
        return pos;
    }

    private bool _sawMessage;

    /// <summary>
    /// Whether an incomplete first line may still become a SIP start line: a prefix of "SIP/2.0 ",
    /// or an upper-case method token (then a space). Lets a connection of another protocol be
    /// dropped at its first bytes even when they hold no line break (telnet, binary protocols).
    /// </summary>
    internal static bool CouldStartSip(ReadOnlySpan<byte> d)
    {
        ReadOnlySpan<byte> version = "SIP/2.0 "u8;
        int n = Math.Min(d.Length, version.Length);
        if (d[..n].SequenceEqual(version[..n])) return true;
        for (int i = 0; i < d.Length && i <= 20; i++)
        {
            byte b = d[i];
            if (b == (byte)' ') return i >= 3;
            if (b is < (byte)'A' or > (byte)'Z') return false;
        }
        return d.Length <= 20;
    }

    /// <summary>
    /// Offset of the next SIP start line, or -1. A start line may follow a body that did not end
    /// with a line break, so candidates are found from the "SIP/2.0" they contain: at the start of
    /// a status line, or after the request URI (then back over the URI and the method token).
    /// </summary>
    private static int FindStartLine(ReadOnlySpan<byte> d)
    {
        ReadOnlySpan<byte> version = "SIP/2.0"u8;
        int from = 0;
        while (from < d.Length)
        {
            int k = d[from..].IndexOf(version);
            if (k < 0) return -1;
            int idx = from + k;
            from = idx + 1;
            if (SipText.LooksLikeSip(d[idx..])) return idx;
            if (idx < 2 || d[idx - 1] != (byte)' ') continue;
            int uriStart = d[..(idx - 1)].LastIndexOf((byte)' ') + 1;
            if (uriStart < 2) continue;
            int methodStart = uriStart - 1;
            while (methodStart > 0 && d[methodStart - 1] is >= (byte)'A' and <= (byte)'Z') methodStart--;
            if (SipText.LooksLikeSip(d[methodStart..])) return methodStart;
        }
        return -1;
    }
}
