using System.Buffers;
using System.Globalization;
using System.Text;

namespace TrafficAudit.Outputs;

/// <summary>
/// Makes text from a capture safe for whoever opens an output: a terminal (<c>cat calls.csv</c>),
/// a spreadsheet, a CSV reader, a browser. The one rule, for every text cell of every CSV, the
/// console and the report:
/// <list type="bullet">
/// <item>C0 controls (U+0000–U+001F: NUL, BEL, ESC, tab, CR, LF...), DEL (U+007F) and C1 controls
/// (U+0080–U+009F) become <c>\xNN</c> (two upper-case hex digits of the code point), e.g. ESC is <c>\x1B</c>;</item>
/// <item>characters that reorder or break lines invisibly (U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069, U+2028, U+2029) and lone surrogates become <c>\uNNNN</c>;</item>
/// <item>everything else, the backslash included, is kept as it is (so <c>\x1B</c> may also be literal
/// text: the rule protects the reader, it is not a reversible encoding).</item>
/// </list>
/// CSV cells are then capped at <see cref="MaxCellLength"/> characters: a longer cell keeps its
/// beginning and ends with <c>… (N characters in all)</c>, N being the length of the full value
/// before escaping.
/// </summary>
public static class SafeText
{
    /// <summary>Longest CSV cell written, in characters (UTF-16 code units), suffix included.</summary>
    public const int MaxCellLength = 4096;

    private static readonly SearchValues<char> Special = SearchValues.Create(BuildSpecial());

    private static string BuildSpecial()
    {
        var sb = new StringBuilder();
        for (char c = '\0'; c < ' '; c++) sb.Append(c);
        for (char c = '\x7F'; c <= '\x9F'; c++) sb.Append(c);
        sb.Append("\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u2028\u2029");
        for (char c = '\uD800'; c <= '\uDFFF'; c++) sb.Append(c);   // surrogates: checked for pairing below
        return sb.ToString();
    }

    /// <summary>A CSV cell: escaped and capped. Returns <paramref name="value"/> itself when nothing needs changing.</summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value)) return value ?? "";
        if (value.Length <= MaxCellLength && value.AsSpan().IndexOfAny(Special) < 0) return value;
        return Build(value, keep: "", MaxCellLength);
    }

    /// <summary>Escaped, not capped; characters in <paramref name="keep"/> (e.g. "\n\t" for the console) pass unchanged.</summary>
    public static string Escape(string? value, string keep = "")
    {
        if (string.IsNullOrEmpty(value)) return value ?? "";
        if (value.AsSpan().IndexOfAny(Special) < 0) return value;
        return Build(value, keep, int.MaxValue);
    }

    /// <summary>Appends <paramref name="c"/> (at index <paramref name="i"/> of <paramref name="text"/>) escaped; returns how many chars it consumed (2 for a surrogate pair).</summary>
    public static int AppendEscaped(StringBuilder sb, ReadOnlySpan<char> text, int i, string keep = "")
    {
        char c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            sb.Append(c).Append(text[i + 1]);
            return 2;
        }
        if (!Special.Contains(c) || keep.Contains(c)) sb.Append(c);
        else if (c <= '\x9F') sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
        else sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        return 1;
    }

    private static string Build(string value, string keep, int limit)
    {
        var sb = new StringBuilder(Math.Min(value.Length + 16, limit));
        for (int i = 0; i < value.Length;)
        {
            i += AppendEscaped(sb, value, i, keep);
            if (sb.Length > limit) return Capped(value, keep, limit);
        }
        return sb.ToString();
    }

    /// <summary>The beginning of the escaped value, cut before a whole character or escape, then the suffix with the full length.</summary>
    private static string Capped(string value, string keep, int limit)
    {
        string suffix = string.Create(CultureInfo.InvariantCulture, $"… ({value.Length} characters in all)");
        int budget = limit - suffix.Length;
        var sb = new StringBuilder(limit);
        for (int i = 0; i < value.Length;)
        {
            int before = sb.Length;
            int used = AppendEscaped(sb, value, i, keep);
            if (sb.Length > budget)
            {
                sb.Length = before;
                break;
            }
            i += used;
        }
        return sb.Append(suffix).ToString();
    }
}

/// <summary>
/// Every CSV text cell of this assembly's record types goes through <see cref="SafeText.Cell"/>
/// (registered for the whole assembly, so a new column cannot forget it).
/// </summary>
internal sealed class SafeTextConverter : CsvHelper.ICsvConverter<string>
{
    public string Read(CsvHelper.CsvReader reader, int index) => reader.GetString(index);
    public void Write(CsvHelper.CsvWriter writer, string value) => writer.WriteField(SafeText.Cell(value));
}

/// <summary>
/// A console writer that escapes, by <see cref="SafeText"/>'s rule, every control character that
/// is not a line break or tab: nothing a capture holds can move the cursor, recolour or retitle the
/// terminal. <paramref name="keepCarriageReturn"/> lets a progress line rewrite itself (stderr).
/// </summary>
public sealed class SafeTerminalWriter(TextWriter inner, bool keepCarriageReturn = false) : TextWriter
{
    private readonly string _keep = keepCarriageReturn ? "\n\t\r" : "\n\t";
    private char _pendingHigh;

    public TextWriter Inner => inner;
    public override Encoding Encoding => inner.Encoding;
    public override IFormatProvider FormatProvider => inner.FormatProvider;

    /// <summary>Wraps <paramref name="w"/> unless it already is one.</summary>
    public static TextWriter Wrap(TextWriter w, bool keepCarriageReturn = false) => w is SafeTerminalWriter ? w : new SafeTerminalWriter(w, keepCarriageReturn);

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));
    public override void Write(string? value) => Write(value.AsSpan());
    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (_pendingHigh != '\0')
        {
            // A surrogate pair split across two writes.
            char high = _pendingHigh;
            _pendingHigh = '\0';
            if (buffer.Length > 0 && char.IsLowSurrogate(buffer[0]))
            {
                inner.Write(high);
                inner.Write(buffer[0]);
                buffer = buffer[1..];
            }
            else inner.Write(SafeText.Escape(high.ToString()));
        }
        if (buffer.IsEmpty) return;
        if (char.IsHighSurrogate(buffer[^1]))
        {
            _pendingHigh = buffer[^1];
            buffer = buffer[..^1];
        }
        int start = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < buffer.Length;)
        {
            char c = buffer[i];
            if (c < ' ' || c is >= '\x7F' and <= '\x9F' || c >= '\u200E')
            {
                sb.Clear();
                int used = SafeText.AppendEscaped(sb, buffer, i, _keep);
                if (sb.Length != used || (used == 1 && sb[0] != c))
                {
                    inner.Write(buffer[start..i]);
                    inner.Write(sb.ToString());
                    start = i + used;
                }
                i += used;
            }
            else i++;
        }
        inner.Write(buffer[start..]);
    }

    public override void WriteLine() => inner.WriteLine();
    public override void WriteLine(string? value)
    {
        Write(value);
        inner.WriteLine();
    }

    public override void Flush() => inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing) Flush();
        base.Dispose(disposing);
    }
}
