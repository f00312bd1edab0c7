using System.Text;

namespace TrafficAudit.Analyzers;

/// <summary>Cheap recognition of an HTTP/1.x request line (RFC 9112 §3), on any port; CONNECT targets are kept (proxy use).</summary>
public static class HttpText
{
    private static ReadOnlySpan<byte> HttpVersion => " HTTP/1."u8;

    /// <summary>True for "METHOD target HTTP/1.x" with a known method; <paramref name="connectTarget"/> is the authority of a CONNECT.</summary>
    public static bool TryReadRequestLine(ReadOnlySpan<byte> p, out bool isConnect, out string? connectTarget)
    {
        isConnect = false;
        connectTarget = null;
        int lineEnd = p[..Math.Min(p.Length, 2048)].IndexOf((byte)'\r');
        if (lineEnd < 14) return false;
        var line = p[..lineEnd];
        int sp = line.IndexOf((byte)' ');
        if (sp < 3 || !IsMethod(line[..sp])) return false;
        int versionAt = line.LastIndexOf(HttpVersion);
        if (versionAt <= sp) return false;
        if (line[..sp].SequenceEqual("CONNECT"u8))
        {
            isConnect = true;
            connectTarget = Encoding.ASCII.GetString(line[(sp + 1)..versionAt]);
        }
        return true;
    }

    private static bool IsMethod(ReadOnlySpan<byte> m) =>
        m.SequenceEqual("GET"u8) || m.SequenceEqual("POST"u8) || m.SequenceEqual("PUT"u8) || m.SequenceEqual("HEAD"u8) ||
        m.SequenceEqual("DELETE"u8) || m.SequenceEqual("OPTIONS"u8) || m.SequenceEqual("PATCH"u8) || m.SequenceEqual("CONNECT"u8);
}
