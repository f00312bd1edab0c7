namespace TrafficAudit.Analyzers;

/// <summary>Cheap test of whether a payload starts a SIP message (RFC 3261 §7.1/§7.2), on any port.</summary>
public static class SipText
{
    private static ReadOnlySpan<byte> SipVersion => "SIP/2.0 "u8;
    private static ReadOnlySpan<byte> SipUriVersion => " SIP/2.0\r\n"u8;

    /// <summary>A status line "SIP/2.0 NNN", or a request line "METHOD sip:... SIP/2.0".</summary>
    public static bool LooksLikeSip(ReadOnlySpan<byte> p)
    {
        if (p.Length < 12) return false;
        if (p.StartsWith(SipVersion)) return p.Length >= 11 && IsDigit(p[8]) && IsDigit(p[9]) && IsDigit(p[10]);
        // Request line: upper-case token, space, URI, " SIP/2.0" before the first CRLF.
        int i = 0;
        while (i < p.Length && i < 20 && p[i] is >= (byte)'A' and <= (byte)'Z') i++;
        if (i < 3 || i >= p.Length || p[i] != (byte)' ') return false;
        int lineEnd = p[..Math.Min(p.Length, 512)].IndexOf((byte)'\n');
        if (lineEnd < 0) return false;
        return p[..(lineEnd + 1)].EndsWith(SipUriVersion);
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}
