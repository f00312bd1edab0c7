using System.Text;

namespace TrafficAudit.Policy;

/// <summary>
/// Builds the parts of Wireshark display filters that carry values from a capture. A capture's text
/// (a Call-ID may hold <c>"</c> and <c>\</c>, RFC 3261 section 25.1 <c>word</c>) only ever appears
/// inside a double-quoted string literal, escaped as Wireshark's display-filter syntax requires
/// (wireshark-filter(4)): <c>"</c> becomes <c>\"</c>, <c>\</c> becomes <c>\\</c>, and every byte of
/// the value's UTF-8 that is not printable ASCII becomes <c>\xhh</c>. So no value can end the
/// literal early or add an operator: the filter means what our code wrote, whatever the capture holds.
/// Numbers and addresses come from typed values (integers, parsed IP addresses), never from text.
/// </summary>
public static class DisplayFilter
{
    /// <summary>A display-filter string literal holding exactly <paramref name="value"/>, quotes included.</summary>
    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2);
        sb.Append('"');
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c is >= ' ' and < '\x7F')
            {
                if (c is '"' or '\\') sb.Append('\\');
                sb.Append(c);
                continue;
            }
            // Not printable ASCII: its UTF-8 bytes as \xhh (a lone surrogate as U+FFFD, as Wireshark shows invalid text).
            int length = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
                ? Encoding.UTF8.GetBytes(value.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(char.IsSurrogate(c) ? "\uFFFD" : c.ToString(), utf8);
            foreach (byte b in utf8[..length]) sb.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.Append('"').ToString();
    }

    /// <summary><c>sip.Call-ID=="…"</c>: the SIP messages of one call.</summary>
    public static string CallId(string callId) => "sip.Call-ID==" + Quote(callId);

    /// <summary>Longest filter <see cref="Call"/> builds from SSRCs: it stays below the CSV cell cap (4,096 characters) with room for the Call-ID.</summary>
    public const int MaxSsrcClauses = 100;

    /// <summary>
    /// <c>sip.Call-ID=="…" || rtp.ssrc==0x… || …</c>: a call's SIP messages and RTP streams (at most
    /// <see cref="MaxSsrcClauses"/> streams, so the filter stays one readable, uncut cell).
    /// </summary>
    public static string Call(string callId, IEnumerable<uint> ssrcs)
    {
        var sb = new StringBuilder(CallId(callId));
        foreach (uint ssrc in ssrcs.Distinct().Take(MaxSsrcClauses)) sb.Append(" || ").Append(Ssrc(ssrc));
        return sb.ToString();
    }

    /// <summary><c>rtp.ssrc==0x…</c>: one RTP stream (the SSRC as 8 hex digits).</summary>
    public static string Ssrc(uint ssrc) => "rtp.ssrc==0x" + ssrc.ToString("X8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>ip.addr==192.0.2.1</c> or <c>ipv6.addr==2001:db8::1</c>: packets from or to an address (formatted from its bytes).</summary>
    public static string Address(Decode.IpAddress a) => (a.IsV4 ? "ip.addr==" : "ipv6.addr==") + a.ToString();

    /// <summary><c>ip.addr==192.0.2.1</c> for a host prefix, <c>ip.addr==192.0.2.0/24</c> for a network.</summary>
    public static string Address(Catalogue.IpPrefix p) =>
        p.PrefixLength == (p.Network.IsV4 ? 32 : 128) ? Address(p.Network) : (p.Network.IsV4 ? "ip.addr==" : "ipv6.addr==") + p.ToString();

    /// <summary>A flow's conversation: both addresses and the server port.</summary>
    public static string Conversation(Pipeline.FlowRecord f)
    {
        string port = f.Transport switch
        {
            Decode.IpProtocol.Tcp => " && tcp.port==" + f.ServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Decode.IpProtocol.Udp => " && udp.port==" + f.ServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => "",
        };
        return Address(f.ClientIp) + " && " + Address(f.ServerIp) + port;
    }

    /// <summary><c>field=="…"</c> for any string field.</summary>
    public static string StringEquals(string field, string value) => field + "==" + Quote(value);
}
