using TrafficAudit.Analyzers.Tcp;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Sip;

/// <summary>Receives the SIP messages a <see cref="SipTcpStream"/> frames, each exactly its bytes.</summary>
internal interface ISipMessageSink
{
    void OnStreamMessage(ReadOnlySpan<byte> message);
}

/// <summary>
/// One direction of a TCP connection carrying SIP: a SIP framer on the protocol-neutral
/// <see cref="TcpReassembler"/>, which puts segments back in sequence order (bounded out-of-order
/// store, retransmitted and overlapping bytes dropped). This class cuts the in-order bytes into
/// messages by Content-Length (RFC 3261 §18.3). Memory is bounded by <see cref="MaxPending"/>:
/// past it the pending bytes are dropped (<c>sip_tcp_buffer_overflow</c>) and reading resumes at
/// the next SIP start line.
/// </summary>
internal sealed class SipTcpStream(int maxPending, TcpReassemblyBudget? budget = null) : ITcpFramer
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    /// <summary>A first line longer than this is not a SIP start line.</summary>
    private const int MaxStartLine = 2048;

    private readonly TcpReassembler _stream = new(new TcpReassemblyLimits(maxPending, "sip_tcp_buffer_overflow"), budget);
    private bool _notSip;
    private bool _resync;
    private bool _sawMessage;
    // The sink and counters of the segment being pushed (framing happens inside Push).
    private ISipMessageSink? _sink;
    private AnomalyCounters? _anomalies;

    public int MaxPending => _stream.Limits.MaxPendingBytes;

    /// <summary>Bytes dropped because they had been delivered already (retransmissions, overlaps).</summary>
    public long DuplicateSegments => _stream.DuplicateSegments;
    public int PendingBytes => _stream.PendingBytes;
    /// <summary>Memory held for this direction: the reassembly buffer's size (not only its used part) and the out-of-order store.</summary>
    public int HeldBytes => _stream.HeldBytes;

    /// <summary>False once the stream proved not to be SIP: the caller may forget it.</summary>
    public bool IsSip => !_notSip;

    public void Push(uint seq, TcpFlags flags, ReadOnlySpan<byte> payload, ISipMessageSink sink, AnomalyCounters anomalies)
    {
        _sink = sink;
        _anomalies = anomalies;
        try { _stream.Push(seq, flags, payload, this, anomalies); }
        finally { _sink = null; _anomalies = null; }
    }

    /// <summary>True when bytes of an unfinished message remain (at FIN/RST or capture end).</summary>
    public bool HasPartialMessage => _stream.UnframedBytes > 0 && !_resync;

    /// <summary>
    /// Drops the pending bytes (unfinished message and out-of-order segments) and frees their buffer,
    /// when the analyzer's budget over all streams is spent; reading resumes at the next SIP start line.
    /// </summary>
    public void GiveUpPending() => _stream.GiveUpPending(this);

    // Joined mid-stream: start at a segment that begins with a SIP start line.
    bool ITcpFramer.CanStartAt(ReadOnlySpan<byte> segment) => SipText.LooksLikeSip(segment);

    void ITcpFramer.OnBytesLost() => _resync = true;

    void ITcpFramer.OnStreamStart()
    {
        _resync = false;
        _notSip = false;
        _sawMessage = false;
    }

    bool ITcpFramer.Rejected => _notSip;

    int ITcpFramer.Frame(ReadOnlySpan<byte> data) => Frame(data, _sink!, _anomalies!);

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
