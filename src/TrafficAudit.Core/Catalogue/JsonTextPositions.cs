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

    /// <summary>
    /// Reads the next token; a syntax error becomes the caller's configuration error at the reader's
    /// line and column ("malformed JSON: ..." in our words, see <see cref="ConfigurationText.DescribeSyntaxError"/>),
    /// so both readers report it the same way.
    /// </summary>
    public bool Read(ref Utf8JsonReader r, Func<int, int, string, Exception, Exception> error)
    {
        try
        {
            return r.Read();
        }
        catch (JsonException ex)
        {
            long line0 = ex.LineNumber ?? 0, byteInLine = ex.BytePositionInLine ?? 0;
            var (line, col) = FromLineAndByte(line0, byteInLine);
            int offset = OffsetOf(line0, byteInLine);
            bool atEnd = offset >= _json.Length || _json.AsSpan(offset).IndexOfAnyExcept(" \t\r\n"u8) < 0;
            throw error(line, col, "malformed JSON: " + ConfigurationText.DescribeSyntaxError(ex, _json, Math.Min(offset, _json.Length - 1), atEnd), ex);
        }
    }

    /// <summary>
    /// The string value of the current token (a string or a field name). A \u escape of a lone UTF-16
    /// surrogate cannot become text: that is the caller's configuration error at the escape itself.
    /// </summary>
    public string GetString(ref Utf8JsonReader r, Func<long, string, Exception> error)
    {
        try
        {
            return r.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            var raw = r.ValueSpan;
            int at = FindLoneSurrogateEscape(raw);
            long offset = BomLength + r.TokenStartIndex + 1 + Math.Max(at, 0);
            string problem = at >= 0
                ? $"a lone UTF-16 surrogate escape ({System.Text.Encoding.ASCII.GetString(raw.Slice(at, 6))}) in a string: a high surrogate \\uD800-\\uDBFF must be followed by a low one \\uDC00-\\uDFFF"
                : "a string that is not valid text (invalid UTF-8 or a bad escape)";
            throw error(offset, problem);
        }
    }

    /// <summary>Index in a raw (still escaped) JSON string of the first \uD800-\uDFFF escape not part of a valid pair, or -1.</summary>
    private static int FindLoneSurrogateEscape(ReadOnlySpan<byte> raw)
    {
        for (int i = 0; i + 6 <= raw.Length; i++)
        {
            if (raw[i] != (byte)'\\') continue;
            if (raw[i + 1] != (byte)'u') { i++; continue; }
            if (!TryHex(raw.Slice(i + 2, 4), out int unit)) continue;
            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                if (i + 12 <= raw.Length && raw[i + 6] == (byte)'\\' && raw[i + 7] == (byte)'u' && TryHex(raw.Slice(i + 8, 4), out int low) && low is >= 0xDC00 and <= 0xDFFF)
                {
                    i += 11;
                    continue;
                }
                return i;
            }
            if (unit is >= 0xDC00 and <= 0xDFFF) return i;
            i += 5;
        }
        return -1;
    }

    private static bool TryHex(ReadOnlySpan<byte> four, out int value) =>
        int.TryParse(System.Text.Encoding.ASCII.GetString(four), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);

    /// <summary>Byte offset in the file (BOM included) of a <see cref="JsonException"/>'s 0-based line and byte-in-line.</summary>
    private int OffsetOf(long line0, long byteInLine)
    {
        int lineStart = BomLength;
        for (long l = 0; l < line0; l++)
        {
            int nl = Array.IndexOf(_json, (byte)'\n', lineStart);
            if (nl < 0) break;
            lineStart = nl + 1;
        }
        return (int)Math.Min(_json.Length, lineStart + byteInLine);
    }

    /// <summary>
    /// Checks what the reader does not: that the text is UTF-8 and not over the size cap. The error is the
    /// caller's, at the line and column of the first bad byte (or of the first byte over the cap).
    /// </summary>
    public void CheckText(int maxBytes, string what, Func<long, string, Exception> error)
    {
        if (_json.Length > maxBytes)
            throw error(maxBytes, $"the {what} is larger than {maxBytes / (1 << 20)} MiB ({maxBytes:N0} bytes); is it the right file?");
        int bad = ConfigurationText.FirstInvalidUtf8(_json);
        if (bad >= 0) throw error(bad, ConfigurationText.DescribeInvalidUtf8(_json, bad));
    }

    /// <summary>Characters (UTF-8 code points: bytes that are not 10xxxxxx continuations) in [from, to).</summary>
    private int CodePoints(int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++) if ((_json[i] & 0xC0) != 0x80) n++;
        return n;
    }
}
