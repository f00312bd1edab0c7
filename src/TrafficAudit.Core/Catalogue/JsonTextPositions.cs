using System.Text.Json;

namespace TrafficAudit.Catalogue;

/// <summary>
/// Turns positions in a UTF-8 JSON text into what a person looks for in an editor: a 1-based line
/// (counting '\n') and a 1-based column counting characters (UTF-8 code points) from the line start.
/// Shared by the readers of our JSON configuration files (the catalogue, the deployment profile), which
/// read with <see cref="Utf8JsonReader"/> over the text after any byte-order mark.
/// </summary>
internal sealed class JsonTextPositions
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];
    private readonly byte[] _json;

    public JsonTextPositions(byte[] json)
    {
        _json = json;
        BomLength = json.AsSpan().StartsWith(Bom) ? 3 : 0;
    }

    /// <summary>3 when the text starts with a UTF-8 byte-order mark (the reader is given the text after it), else 0.</summary>
    public int BomLength { get; }

    /// <summary>The text the reader reads: after the byte-order mark.</summary>
    public ReadOnlySpan<byte> Text => _json.AsSpan(BomLength);

    public int Length => _json.Length;

    /// <summary>Line and column of the token the reader is on.</summary>
    public (int Line, int Column) OfToken(in Utf8JsonReader r) => FromOffset(BomLength + r.TokenStartIndex);

    /// <summary>Line and column of byte <paramref name="offset"/> of the whole file (BOM included).</summary>
    public (int Line, int Column) FromOffset(long offset)
    {
        offset = Math.Clamp(offset, 0, _json.Length);
        int line = 1;
        int lineStart = BomLength;
        for (int i = BomLength; i < offset; i++)
            if (_json[i] == (byte)'\n') { line++; lineStart = i + 1; }
        return (line, 1 + CodePoints(lineStart, (int)offset));
    }

    /// <summary>From a <see cref="JsonException"/>'s 0-based line and byte-in-line (counted after any BOM) to 1-based line and character column.</summary>
    public (int Line, int Column) FromLineAndByte(long line0, long byteInLine)
    {
        int lineStart = BomLength;
        for (long l = 0; l < line0; l++)
        {
            int nl = Array.IndexOf(_json, (byte)'\n', lineStart);
            if (nl < 0) break;
            lineStart = nl + 1;
        }
        int end = (int)Math.Min(_json.Length, lineStart + byteInLine);
        return ((int)line0 + 1, 1 + CodePoints(lineStart, end));
    }

    /// <summary>The reader's messages end with "LineNumber: n | BytePositionInLine: m."; callers give their own 1-based position.</summary>
    /// <summary>
    /// Reads the next token; a syntax error becomes the caller's configuration error at the reader's
    /// line and column ("malformed JSON: ..."), so both readers report it the same way.
    /// </summary>
    public bool Read(ref Utf8JsonReader r, Func<int, int, string, Exception, Exception> error)
    {
        try
        {
            return r.Read();
        }
        catch (JsonException ex)
        {
            var (line, col) = FromLineAndByte(ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
            throw error(line, col, "malformed JSON: " + StripPosition(ex.Message), ex);
        }
    }

    public static string StripPosition(string message)
    {
        int i = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return i > 0 ? message[..i].TrimEnd() : message;
    }

    /// <summary>Characters (UTF-8 code points: bytes that are not 10xxxxxx continuations) in [from, to).</summary>
    private int CodePoints(int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++) if ((_json[i] & 0xC0) != 0x80) n++;
        return n;
    }
}
