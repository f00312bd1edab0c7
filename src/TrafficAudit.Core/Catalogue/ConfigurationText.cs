using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TrafficAudit.Catalogue;

/// <summary>
/// What the readers of our JSON configuration files (the catalogue, the deployment profile) share
/// before and around <see cref="Utf8JsonReader"/>: reading a file with a size cap (so /dev/zero, a
/// capture given by mistake or a FIFO cannot take the memory), checking that the text is UTF-8, and
/// putting every syntax error in our own words. No message of System.Text.Json or System.IO reaches
/// the user: each error is one sentence, "file:line:column: problem".
/// </summary>
internal static class ConfigurationText
{
    /// <summary>Largest deployment profile read: 1 MiB (a large site's profile is a few KB).</summary>
    public const int MaxProfileBytes = 1 << 20;
    /// <summary>Largest catalogue read: 4 MiB (the built-in one is about 23 KB).</summary>
    public const int MaxCatalogueBytes = 4 << 20;

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> + 1 bytes of <paramref name="path"/>: enough to know it is
    /// too large without reading the rest. Works on devices and FIFOs. Problems that have no line (no file,
    /// a folder, no permission) come back through <paramref name="error"/> in our own words.
    /// </summary>
    public static byte[] ReadCapped(string path, string what, int maxBytes, Func<string, Exception?, Exception> error)
    {
        if (string.IsNullOrEmpty(path)) throw error($"no {what} file named (the path is empty)", null);
        if (Directory.Exists(path)) throw error($"is a folder, not a {what} file", null);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            var buffer = new byte[stream.CanSeek ? (int)Math.Min(stream.Length + 1, maxBytes + 1L) : 64 * 1024];
            int total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (buffer.Length > maxBytes) break;
                    Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, maxBytes + 1L));
                }
                int n = stream.Read(buffer, total, buffer.Length - total);
                if (n <= 0) break;
                total += n;
            }
            return total == buffer.Length ? buffer : buffer[..total];
        }
        catch (FileNotFoundException e) { throw error($"no such {what} file", e); }
        catch (DirectoryNotFoundException e) { throw error($"no such {what} file (a folder in the path does not exist)", e); }
        catch (UnauthorizedAccessException e) { throw error($"permission denied: cannot read the {what} file", e); }
        catch (PathTooLongException e) { throw error("the path is too long", e); }
        catch (IOException e) { throw error($"cannot read the {what} file (input/output error)", e); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException) { throw error("not a usable file path", e); }
    }

    /// <summary>
    /// Byte offset of the first byte that is not well-formed UTF-8 (overlong forms, surrogates encoded in
    /// UTF-8 and code points above U+10FFFF included), or -1 when the whole text is UTF-8.
    /// </summary>
    public static int FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        int i = 0;
        while (i < text.Length)
        {
            int ascii = text[i..].IndexOfAnyInRange((byte)0x80, (byte)0xFF);
            if (ascii < 0) return -1;
            i += ascii;
            if (System.Text.Rune.DecodeFromUtf8(text[i..], out _, out int consumed) != System.Buffers.OperationStatus.Done) return i;
            i += consumed;
        }
        return -1;
    }

    /// <summary>The invalid bytes at <paramref name="offset"/> in words: "byte 0xC3", or a UTF-16 byte-order mark.</summary>
    public static string DescribeInvalidUtf8(ReadOnlySpan<byte> text, int offset)
    {
        if (offset == 0 && text.Length >= 2 && ((text[0] == 0xFF && text[1] == 0xFE) || (text[0] == 0xFE && text[1] == 0xFF)))
            return "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8";
        byte b = text[offset];
        string what = b is 0xED && offset + 1 < text.Length && text[offset + 1] >= 0xA0
            ? "a UTF-16 surrogate encoded as UTF-8"
            : $"byte 0x{b:X2}";
        return $"invalid UTF-8 ({what}); save the file as UTF-8";
    }

    /// <summary>
    /// The reader's syntax error in our words. System.Text.Json says what went wrong only in its message
    /// text, so the kind is recognised from a few stable phrases; anything not recognised is described
    /// from the character at the error position. The reader's text itself is never shown.
    /// </summary>
    public static string DescribeSyntaxError(JsonException ex, ReadOnlySpan<byte> text, int offset, bool atEnd)
    {
        // The reader's message ends with " LineNumber: n | BytePositionInLine: m."; only the words before count.
        string m = ex.Message;
        int position = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (position > 0) m = m[..position];
        int c = (uint)offset < (uint)text.Length ? text[offset] : -1;
        string here = c >= 0 && !atEnd ? Character(text, offset) : "the end of the file";
        bool Has(string s) => m.Contains(s, StringComparison.OrdinalIgnoreCase);
        if (Has("trailing comma"))
            return "a comma before the closing bracket (trailing comma): remove the last comma of the list";
        if (Has("does not contain any JSON tokens"))
            return "the file holds no JSON value (it is empty, or only spaces and comments)";
        if (Has("depth") && Has("exceeded"))
            return "objects or arrays are nested too deeply (more than 64 levels)";
        if (Has("end of comment") || (Has("comment") && Has("end of data")))
            return "a /* comment is never closed with */";
        if (Has("comment") || (c == '/' && !atEnd))
            return $"{here} that does not start a comment: a comment starts with // or /*";
        if (Has("end of string"))
            return "a string is never closed: the file ends inside it (a missing closing \")";
        if (Has("escapable"))
            return $"bad escape {here} in a string: after a backslash use one of \" \\ / b f n r t u (write \\\\ for a backslash)";
        if (Has("hex digit"))
            return $"{here} in a \\u escape: \\u must be followed by four hexadecimal digits";
        if (Has("within a JSON string"))
            return $"{here} inside a string: control characters must be escaped (\\n, \\t, \\u0000)";
        if (Has("after a single JSON value") || Has("end of data after"))
            return $"{here} after the end of the top-level object: only one JSON value is allowed";
        if (Has("without a matching open"))
            return $"{here} closes a bracket that is not open (mismatched {{ }} or [ ])";
        if (Has("after a property name"))
            return $"{here} after a field name: expected ':'";
        if (Has("start of a property name") || Has("property name"))
            return $"{here} where a field name was expected: field names are in double quotes";
        if (Has("after a value"))
            return $"{here} after a value: expected ',' or a closing bracket (a missing comma?)";
        if (Has("end of data") || Has("depth to be zero") || Has("open JSON object or array") || atEnd)
            return "the file ends before the JSON is complete (an object, array or value is not closed)";
        if (Has("literal") || (Has("start of a value") && c >= 0 && char.IsAsciiLetter((char)c)))
            return $"{here} is not a JSON value: true, false and null are lower case, strings need double quotes";
        if (Has("number") || Has("digit"))
            return $"malformed number at {here}";
        if (Has("start of a value"))
            return $"{here} where a value was expected (a string in double quotes, a number, true, false, null, an object or an array)";
        return $"{here} is not valid here";
    }

    /// <summary>"'x'", "character U+00E9 'é'", or "byte 0x00" for what stands at <paramref name="offset"/>.</summary>
    public static string Character(ReadOnlySpan<byte> text, int offset)
    {
        byte b = text[offset];
        if (b is >= 0x21 and < 0x7F) return $"'{(char)b}'";
        if (b < 0x80) return b switch { 0x20 => "a space", 0x09 => "a tab", 0x0A => "a line break", 0x0D => "a carriage return", _ => $"control character 0x{b:X2}" };
        return System.Text.Rune.DecodeFromUtf8(text[offset..], out var rune, out _) == System.Buffers.OperationStatus.Done
            ? $"character U+{rune.Value:X4}"
            : $"byte 0x{b:X2}";
    }

    /// <summary>
    /// A value from the file as it may appear in a message: control and invisible formatting characters
    /// escaped (so a message stays one line and cannot drive a terminal), and at most <paramref name="max"/> characters.
    /// </summary>
    public static string Shown(string value, int max = 80)
    {
        var sb = new StringBuilder(Math.Min(value.Length, max + 8));
        int shown = 0;
        foreach (var rune in value.EnumerateRunes())
        {
            if (shown == max) { sb.Append('…'); break; }
            var cat = System.Text.Rune.GetUnicodeCategory(rune);
            if (cat is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse)
                sb.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:X4}");
            else
                sb.Append(rune.ToString());
            shown++;
        }
        return sb.ToString();
    }
}
