using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Sip;

/// <summary>SIP request methods we track; others are <see cref="Other"/> (their name stays in <see cref="SipMessage.MethodName"/>).</summary>
public enum SipMethod : byte
{
    None = 0,
    Other,
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Prack,
    Update,
    Info,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
}

/// <summary>
/// One SIP message (RFC 3261 §7) read in place from a span: start line, the headers we use and
/// the body, all as slices of the input. Nothing is allocated; copy what you keep.
/// Header names are matched case-insensitively and in compact form (RFC 3261 §7.3.3, §20);
/// folded header lines (a line starting with SP/HT continues the previous one) are tolerated:
/// a folded value keeps its CRLF inside the slice and the value readers treat it as white space.
/// </summary>
public ref struct SipMessage
{
    public bool IsRequest;
    public SipMethod Method;
    /// <summary>Request method token as on the wire (requests only).</summary>
    public ReadOnlySpan<byte> MethodName;
    public ReadOnlySpan<byte> RequestUri;
    /// <summary>Status code (responses only), 100..699.</summary>
    public int StatusCode;
    public ReadOnlySpan<byte> ReasonPhrase;

    public ReadOnlySpan<byte> CallId;
    /// <summary>Whole From / To header values (name-addr or addr-spec with parameters).</summary>
    public ReadOnlySpan<byte> From;
    public ReadOnlySpan<byte> To;
    /// <summary>First value of the first Via header (the top Via).</summary>
    public ReadOnlySpan<byte> TopVia;
    public uint CSeqNumber;
    public SipMethod CSeqMethod;
    public ReadOnlySpan<byte> CSeqMethodName;
    public ReadOnlySpan<byte> UserAgent;
    public ReadOnlySpan<byte> Server;
    public ReadOnlySpan<byte> ContentType;
    /// <summary>Content-Length value, or -1 when the header is absent (or bad: see <see cref="BadContentLength"/>).</summary>
    public int ContentLength;
    public bool BadContentLength;
    public bool HasCSeq;
    public ReadOnlySpan<byte> Body;
    /// <summary>Bytes from the start line up to and including the blank line.</summary>
    public int HeaderLength;
    /// <summary>The body was shorter than Content-Length said (datagram transports).</summary>
    public bool TruncatedBody;

    public readonly bool IsResponse => !IsRequest;

    /// <summary>The body is SDP (Content-Type application/sdp, parameters allowed).</summary>
    public readonly bool HasSdpBody => Body.Length > 0 && SipSpan.StartsWithIgnoreCase(SipSpan.Trim(ContentType), "application/sdp"u8);
}

/// <summary>Reads SIP messages and frames them on streams. Static, allocation-free, never throws.</summary>
public static class SipMessageReader
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const byte Sp = (byte)' ';
    private const byte Ht = (byte)'\t';
    private const byte Colon = (byte)':';

    private static ReadOnlySpan<byte> SipVersion => "SIP/2.0"u8;

    /// <summary>Upper bound on a Content-Length we accept; larger values are treated as bad.</summary>
    public const int MaxContentLength = 1 << 20;

    /// <summary>
    /// Where the header section ends: the index just past the blank line (CRLFCRLF, or bare LFLF
    /// tolerated), or -1 when it is not in <paramref name="data"/> yet.
    /// </summary>
    public static int FindHeaderEnd(ReadOnlySpan<byte> data)
    {
        int from = 0;
        while (true)
        {
            int lf = data[from..].IndexOf(Lf);
            if (lf < 0) return -1;
            int i = from + lf + 1; // start of the next line
            if (i < data.Length && data[i] == Lf) return i + 1;
            if (i + 1 < data.Length && data[i] == Cr && data[i + 1] == Lf) return i + 2;
            if (i >= data.Length || (i + 1 >= data.Length && data[i] == Cr)) return -1;
            from = i;
        }
    }

    /// <summary>
    /// Parses one message from <paramref name="data"/>. With <paramref name="datagram"/> the body
    /// is the rest of the datagram (cut to Content-Length when that is smaller; a shorter body is
    /// <c>sip_truncated_body</c>); on streams the caller has framed the message already and passes
    /// exactly its bytes. False (and an anomaly) when the start line is not SIP or the headers do
    /// not end.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, bool datagram, AnomalyCounters? anomalies, out SipMessage msg)
    {
        msg = default;
        msg.ContentLength = -1;
        int lineEnd = data.IndexOf(Lf);
        if (lineEnd < 0) { anomalies?.Increment("sip_bad_start_line"); return false; }
        var startLine = TrimCr(data[..lineEnd]);
        if (!TryReadStartLine(startLine, ref msg)) { anomalies?.Increment("sip_bad_start_line"); return false; }

        int headerEnd = FindHeaderEnd(data);
        if (headerEnd < 0)
        {
            // Headers without their blank line: a cut datagram. Read what is there.
            anomalies?.Increment("sip_headers_not_terminated");
            headerEnd = data.Length;
        }
        msg.HeaderLength = headerEnd;

        // Header lines: [lineEnd+1, headerEnd).
        int pos = lineEnd + 1;
        bool topViaSeen = false;
        while (pos < headerEnd)
        {
            int end = NextHeaderEnd(data, pos, headerEnd, out int next);
            var line = data[pos..end];
            pos = next;
            if (line.Length == 0) break;
            int colon = line.IndexOf(Colon);
            if (colon <= 0) { anomalies?.Increment("sip_bad_header_line"); continue; }
            var name = SipSpan.Trim(line[..colon]);
            var value = SipSpan.Trim(line[(colon + 1)..]);
            switch (Classify(name))
            {
                case Header.CallId: if (msg.CallId.IsEmpty) msg.CallId = value; break;
                case Header.From: if (msg.From.IsEmpty) msg.From = value; break;
                case Header.To: if (msg.To.IsEmpty) msg.To = value; break;
                case Header.Via:
                    if (!topViaSeen)
                    {
                        topViaSeen = true;
                        int comma = value.IndexOf((byte)',');
                        msg.TopVia = comma >= 0 ? SipSpan.Trim(value[..comma]) : value;
                    }
                    break;
                case Header.CSeq: ReadCSeq(value, ref msg, anomalies); break;
                case Header.UserAgent: if (msg.UserAgent.IsEmpty) msg.UserAgent = value; break;
                case Header.Server: if (msg.Server.IsEmpty) msg.Server = value; break;
                case Header.ContentType: if (msg.ContentType.IsEmpty) msg.ContentType = value; break;
                case Header.ContentLength:
                    if (msg.ContentLength < 0 && !msg.BadContentLength)
                    {
                        if (TryParseContentLength(value, out int cl)) msg.ContentLength = cl;
                        else { msg.BadContentLength = true; anomalies?.Increment("sip_bad_content_length"); }
                    }
                    break;
            }
        }

        var rest = data[headerEnd..];
        if (msg.ContentLength >= 0)
        {
            if (rest.Length < msg.ContentLength)
            {
                msg.TruncatedBody = true;
                anomalies?.Increment("sip_truncated_body");
                msg.Body = rest;
            }
            else msg.Body = rest[..msg.ContentLength];
        }
        else msg.Body = datagram ? rest : default;
        return true;
    }

    /// <summary>Index where the (possibly folded) header line starting at <paramref name="pos"/> ends, without its line break; <paramref name="next"/> is where the next header starts.</summary>
    private static int NextHeaderEnd(ReadOnlySpan<byte> data, int pos, int limit, out int next)
    {
        int i = pos;
        while (true)
        {
            int lf = data[i..limit].IndexOf(Lf);
            if (lf < 0) { next = limit; return limit; }
            int lineEnd = i + lf;
            int after = lineEnd + 1;
            // RFC 3261 §7.3.1: a continuation line starts with white space.
            if (after < limit && (data[after] == Sp || data[after] == Ht) && lineEnd > pos) { i = after; continue; }
            next = after;
            return lineEnd > pos && data[lineEnd - 1] == Cr ? lineEnd - 1 : lineEnd;
        }
    }

    private static bool TryReadStartLine(ReadOnlySpan<byte> line, ref SipMessage msg)
    {
        if (line.StartsWith(SipVersion))
        {
            // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
            if (line.Length < 11 || line[7] != Sp) return false;
            byte a = line[8], b = line[9], c = line[10];
            if (!IsDigit(a) || !IsDigit(b) || !IsDigit(c)) return false;
            if (line.Length > 11 && line[11] != Sp) return false;
            int code = (a - '0') * 100 + (b - '0') * 10 + (c - '0');
            if (code < 100 || code > 699) return false;
            msg.IsRequest = false;
            msg.StatusCode = code;
            msg.ReasonPhrase = line.Length > 12 ? line[12..] : default;
            return true;
        }
        // Request-Line = Method SP Request-URI SP SIP-Version
        int sp1 = line.IndexOf(Sp);
        if (sp1 <= 0) return false;
        int sp2 = line.LastIndexOf(Sp);
        if (sp2 <= sp1 + 1) return false;
        if (!line[(sp2 + 1)..].SequenceEqual(SipVersion)) return false;
        var method = line[..sp1];
        foreach (byte m in method) if (!IsTokenChar(m)) return false;
        msg.IsRequest = true;
        msg.MethodName = method;
        msg.Method = ParseMethod(method);
        msg.RequestUri = line[(sp1 + 1)..sp2];
        return true;
    }

    private static void ReadCSeq(ReadOnlySpan<byte> value, ref SipMessage msg, AnomalyCounters? anomalies)
    {
        if (msg.HasCSeq) return;
        // CSeq = 1*DIGIT LWS Method
        int i = 0;
        ulong n = 0;
        while (i < value.Length && IsDigit(value[i]) && n <= uint.MaxValue) { n = n * 10 + (uint)(value[i] - '0'); i++; }
        if (i == 0 || n > uint.MaxValue) { anomalies?.Increment("sip_bad_cseq"); return; }
        var method = SipSpan.Trim(value[i..]);
        if (method.IsEmpty) { anomalies?.Increment("sip_bad_cseq"); return; }
        msg.HasCSeq = true;
        msg.CSeqNumber = (uint)n;
        msg.CSeqMethodName = method;
        msg.CSeqMethod = ParseMethod(method);
    }

    /// <summary>Decimal Content-Length (RFC 3261 §20.14) within <see cref="MaxContentLength"/>.</summary>
    public static bool TryParseContentLength(ReadOnlySpan<byte> value, out int length)
    {
        length = 0;
        value = SipSpan.Trim(value);
        if (value.IsEmpty || value.Length > 9) return false;
        int n = 0;
        foreach (byte b in value)
        {
            if (!IsDigit(b)) return false;
            n = n * 10 + (b - '0');
        }
        if (n > MaxContentLength) return false;
        length = n;
        return true;
    }

    /// <summary>
    /// Finds Content-Length in a header section (for stream framing) without a full parse.
    /// Returns 1 when found and valid, 0 when absent, -1 when present but bad.
    /// </summary>
    public static int FindContentLength(ReadOnlySpan<byte> headers, out int length)
    {
        length = 0;
        int pos = headers.IndexOf(Lf) + 1; // skip the start line
        if (pos <= 0) return 0;
        while (pos < headers.Length)
        {
            int end = NextHeaderEnd(headers, pos, headers.Length, out int next);
            var line = headers[pos..end];
            pos = next;
            if (line.IsEmpty) break;
            int colon = line.IndexOf(Colon);
            if (colon <= 0) continue;
            if (Classify(SipSpan.Trim(line[..colon])) == Header.ContentLength)
                return TryParseContentLength(line[(colon + 1)..], out length) ? 1 : -1;
        }
        return 0;
    }

    private enum Header : byte { Other, CallId, From, To, Via, CSeq, UserAgent, Server, ContentType, ContentLength }

    private static Header Classify(ReadOnlySpan<byte> name)
    {
        if (name.Length == 1)
        {
            // RFC 3261 §7.3.3 compact forms (and RFC 3841/3515/4028 for the rest we ignore).
            switch (name[0] | 0x20)
            {
                case 'i': return Header.CallId;
                case 'f': return Header.From;
                case 't': return Header.To;
                case 'v': return Header.Via;
                case 'l': return Header.ContentLength;
                case 'c': return Header.ContentType;
                default: return Header.Other;
            }
        }
        if (SipSpan.EqualsIgnoreCase(name, "Call-ID"u8)) return Header.CallId;
        if (SipSpan.EqualsIgnoreCase(name, "From"u8)) return Header.From;
        if (SipSpan.EqualsIgnoreCase(name, "To"u8)) return Header.To;
        if (SipSpan.EqualsIgnoreCase(name, "Via"u8)) return Header.Via;
        if (SipSpan.EqualsIgnoreCase(name, "CSeq"u8)) return Header.CSeq;
        if (SipSpan.EqualsIgnoreCase(name, "User-Agent"u8)) return Header.UserAgent;
        if (SipSpan.EqualsIgnoreCase(name, "Server"u8)) return Header.Server;
        if (SipSpan.EqualsIgnoreCase(name, "Content-Type"u8)) return Header.ContentType;
        if (SipSpan.EqualsIgnoreCase(name, "Content-Length"u8)) return Header.ContentLength;
        return Header.Other;
    }

    public static SipMethod ParseMethod(ReadOnlySpan<byte> m) => m.Length switch
    {
        3 when m.SequenceEqual("ACK"u8) => SipMethod.Ack,
        3 when m.SequenceEqual("BYE"u8) => SipMethod.Bye,
        4 when m.SequenceEqual("INFO"u8) => SipMethod.Info,
        5 when m.SequenceEqual("PRACK"u8) => SipMethod.Prack,
        5 when m.SequenceEqual("REFER"u8) => SipMethod.Refer,
        6 when m.SequenceEqual("INVITE"u8) => SipMethod.Invite,
        6 when m.SequenceEqual("CANCEL"u8) => SipMethod.Cancel,
        6 when m.SequenceEqual("UPDATE"u8) => SipMethod.Update,
        6 when m.SequenceEqual("NOTIFY"u8) => SipMethod.Notify,
        7 when m.SequenceEqual("OPTIONS"u8) => SipMethod.Options,
        7 when m.SequenceEqual("MESSAGE"u8) => SipMethod.Message,
        7 when m.SequenceEqual("PUBLISH"u8) => SipMethod.Publish,
        8 when m.SequenceEqual("REGISTER"u8) => SipMethod.Register,
        9 when m.SequenceEqual("SUBSCRIBE"u8) => SipMethod.Subscribe,
        0 => SipMethod.None,
        _ => SipMethod.Other,
    };

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> s) => s.Length > 0 && s[^1] == Cr ? s[..^1] : s;
    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    // RFC 3261 §25.1 token characters.
    private static bool IsTokenChar(byte b) =>
        (uint)((b | 0x20) - 'a') <= 'z' - 'a' || IsDigit(b) || b is (byte)'-' or (byte)'.' or (byte)'!' or (byte)'%' or (byte)'*'
        or (byte)'_' or (byte)'+' or (byte)'`' or (byte)'\'' or (byte)'~';
}
