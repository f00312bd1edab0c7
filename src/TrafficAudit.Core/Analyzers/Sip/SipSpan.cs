using System.Text;

namespace TrafficAudit.Analyzers.Sip;

/// <summary>
/// Small helpers over SIP text held as bytes: trimming, case-insensitive comparison and the
/// header-value readers (URI, tag, Via branch and sent-by). Folded values may contain CR/LF, which
/// count as white space everywhere here.
/// </summary>
public static class SipSpan
{
    public static bool IsWhite(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        int a = 0, b = s.Length;
        while (a < b && IsWhite(s[a])) a++;
        while (b > a && IsWhite(s[b - 1])) b--;
        return s[a..b];
    }

    private static byte Lower(byte b) => (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;

    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++) if (Lower(a[i]) != Lower(b[i])) return false;
        return true;
    }

    public static bool StartsWithIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> prefix) =>
        s.Length >= prefix.Length && EqualsIgnoreCase(s[..prefix.Length], prefix);

    /// <summary>
    /// The URI of a From/To/Contact value: inside &lt;...&gt; when present (name-addr), else the
    /// addr-spec up to its first ';' (RFC 3261 §20.10: there the parameters belong to the header).
    /// </summary>
    public static ReadOnlySpan<byte> NameAddrUri(ReadOnlySpan<byte> value)
    {
        int lt = IndexOutsideQuotes(value, (byte)'<');
        if (lt >= 0)
        {
            int gt = value[(lt + 1)..].IndexOf((byte)'>');
            return Trim(gt >= 0 ? value[(lt + 1)..(lt + 1 + gt)] : value[(lt + 1)..]);
        }
        int semi = value.IndexOf((byte)';');
        return Trim(semi >= 0 ? value[..semi] : value);
    }

    /// <summary>A header parameter (";name=value") of a From/To value, after the URI.</summary>
    public static ReadOnlySpan<byte> NameAddrParam(ReadOnlySpan<byte> value, ReadOnlySpan<byte> name)
    {
        int lt = IndexOutsideQuotes(value, (byte)'<');
        int start = 0;
        if (lt >= 0)
        {
            int gt = value[(lt + 1)..].IndexOf((byte)'>');
            if (gt < 0) return default;
            start = lt + 1 + gt + 1;
        }
        return Param(value[start..], name);
    }

    /// <summary>Value of ";name=value" among parameters (case-insensitive name), empty when absent.</summary>
    public static ReadOnlySpan<byte> Param(ReadOnlySpan<byte> s, ReadOnlySpan<byte> name)
    {
        while (true)
        {
            int semi = s.IndexOf((byte)';');
            if (semi < 0) return default;
            s = s[(semi + 1)..];
            int end = s.IndexOfAny((byte)';', (byte)',');
            var p = end >= 0 ? s[..end] : s;
            int eq = p.IndexOf((byte)'=');
            var pname = Trim(eq >= 0 ? p[..eq] : p);
            if (EqualsIgnoreCase(pname, name)) return eq >= 0 ? Trim(p[(eq + 1)..]) : default;
            if (end < 0) return default;
        }
    }

    /// <summary>
    /// Reads a Via value "SIP/2.0/UDP host:port;branch=...": transport, sent-by and branch.
    /// False when the protocol part is not SIP/2.0/transport.
    /// </summary>
    public static bool TryReadVia(ReadOnlySpan<byte> via, out ReadOnlySpan<byte> transport, out ReadOnlySpan<byte> sentBy, out ReadOnlySpan<byte> branch)
    {
        transport = default; sentBy = default; branch = default;
        via = Trim(via);
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport, LWS allowed around slashes.
        int slash1 = via.IndexOf((byte)'/');
        if (slash1 < 0) return false;
        int slash2 = via[(slash1 + 1)..].IndexOf((byte)'/');
        if (slash2 < 0) return false;
        var rest = Trim(via[(slash1 + 1 + slash2 + 1)..]);
        int t = 0;
        while (t < rest.Length && !IsWhite(rest[t])) t++;
        transport = rest[..t];
        rest = Trim(rest[t..]);
        int semi = rest.IndexOf((byte)';');
        sentBy = Trim(semi >= 0 ? rest[..semi] : rest);
        branch = semi >= 0 ? Param(rest[semi..], "branch"u8) : default;
        return transport.Length > 0;
    }

    /// <summary>A string for a value we keep: ASCII/UTF-8 text with folding white space collapsed to one space.</summary>
    public static string ToText(ReadOnlySpan<byte> s)
    {
        s = Trim(s);
        if (s.IsEmpty) return string.Empty;
        bool folded = s.IndexOfAny((byte)'\r', (byte)'\n') >= 0;
        if (!folded) return Encoding.UTF8.GetString(s);
        Span<byte> tmp = s.Length <= 1024 ? stackalloc byte[s.Length] : new byte[s.Length];
        int n = 0;
        bool white = false;
        foreach (byte b in s)
        {
            if (IsWhite(b)) { white = true; continue; }
            if (white && n > 0) tmp[n++] = (byte)' ';
            white = false;
            tmp[n++] = b;
        }
        return Encoding.UTF8.GetString(tmp[..n]);
    }

    private static int IndexOutsideQuotes(ReadOnlySpan<byte> s, byte c)
    {
        bool quoted = false;
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == (byte)'"') quoted = !quoted;
            else if (b == (byte)'\\' && quoted) i++;
            else if (b == c && !quoted) return i;
        }
        return -1;
    }

    /// <summary>64-bit FNV-1a over the bytes, continuing from <paramref name="hash"/>: keys per message without strings.</summary>
    public static ulong Hash(ReadOnlySpan<byte> s, ulong hash = 14695981039346656037UL)
    {
        foreach (byte b in s) { hash ^= b; hash *= 1099511628211UL; }
        return hash;
    }
}
