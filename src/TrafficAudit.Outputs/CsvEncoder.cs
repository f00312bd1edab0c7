using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;

namespace TrafficAudit.Outputs;

/// <summary>
/// CSV records encoded straight into a UTF-8 buffer, byte for byte as CsvHelper 34 writes them with
/// <see cref="AuditCsvWriter.Options"/> (RFC 4180, ',' between fields, CRLF after each record,
/// <c>Injection = Escape</c>), without its per-field machinery. The rules, as CsvHelper applies them:
/// <list type="bullet">
/// <item>a text field (<see cref="Text(ReadOnlySpan{char})"/>) is transcoded to UTF-8 (invalid UTF-16
/// becomes U+FFFD); when its first byte is one of <c>= @ + - TAB CR</c> (a spreadsheet would run it as a
/// formula) an apostrophe is put before it and the field is quoted; a field holding ',', '"', CR or LF
/// is quoted too; quoting encloses the field in '"' and doubles every '"' inside;</item>
/// <item>whole numbers and booleans are written as they are ("-5", "true"), never escaped or quoted;</item>
/// <item>a record whose only field is empty is written as <c>""</c>, so it does not read as an empty line.</item>
/// </list>
/// A test compares every rule with CsvHelper's own output over random and hostile values
/// (<c>CsvEncoderTests</c>). The encoder allocates nothing once its buffer has grown to the longest record.
/// </summary>
internal sealed class CsvEncoder
{
    private const byte Separator = (byte)',', Quote = (byte)'"', InjectionEscape = (byte)'\'';

    /// <summary>The bytes that make a text field quoted: the separator, the quote, CR, LF.</summary>
    private static readonly SearchValues<byte> Special = SearchValues.Create(",\"\r\n"u8);

    private byte[] _buffer = new byte[4096];
    private int _pos;
    private int _recordStart;
    private int _fields;
    private int _fieldStart;

    /// <summary>The bytes of the whole records written since the last <see cref="Clear"/> (and of the current record, if one is open).</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _pos);

    /// <summary>The encoded bytes of the last field written (valid until the next write).</summary>
    public ReadOnlySpan<byte> LastField => _buffer.AsSpan(_fieldStart, _pos - _fieldStart);

    /// <summary>Forgets what was written (call it between records).</summary>
    public void Clear()
    {
        _pos = 0;
        _recordStart = 0;
        _fields = 0;
        _fieldStart = 0;
    }

    /// <summary>Writes what was written to <paramref name="target"/> and forgets it.</summary>
    public void WriteTo(Stream target)
    {
        if (_pos > 0) target.Write(_buffer, 0, _pos);
        Clear();
    }

    /// <summary>A text field: the injection rule and quoting as in the type's summary.</summary>
    public void Text(ReadOnlySpan<char> value)
    {
        int start = BeginField(value.Length * 3 + 4);
        int length = Transcode(value, _buffer.AsSpan(start));
        _pos = start + length;
        Finish(start, length);
    }

    public void Text(string? value) => Text(value.AsSpan());

    /// <summary>A text field already in UTF-8 (formatted here: digits, dates, addresses), with the same rules as <see cref="Text(ReadOnlySpan{char})"/>.</summary>
    public void Utf8Text(ReadOnlySpan<byte> value)
    {
        int start = BeginField(value.Length + 4);
        value.CopyTo(_buffer.AsSpan(start));
        _pos = start + value.Length;
        Finish(start, value.Length);
    }

    /// <summary>
    /// A text field formatted here that cannot hold ',', '"', CR or LF (times, addresses, decimals, a Community ID:
    /// digits, letters, '.', ':', '-', '+', '/', '='): only the formula rule is checked (a negative decimal starts with '-').
    /// </summary>
    public void FormattedText(ReadOnlySpan<byte> value)
    {
        System.Diagnostics.Debug.Assert(!value.ContainsAny(Special), "a formatted field holds no quoting character");
        int start = BeginField(value.Length + 4);
        value.CopyTo(_buffer.AsSpan(start));
        _pos = start + value.Length;
        if (value.Length > 0 && IsFormulaStart(value[0])) QuoteField(start, value.Length, formula: true);
    }

    /// <summary>
    /// A field's encoded bytes, as an earlier write of the same value produced them (<see cref="LastField"/>): a
    /// cached cell is copied, not encoded again.
    /// </summary>
    public void Encoded(ReadOnlySpan<byte> field)
    {
        int start = BeginField(field.Length);
        field.CopyTo(_buffer.AsSpan(start));
        _pos = start + field.Length;
    }

    /// <summary>An empty field.</summary>
    public void Empty() => BeginField(0);

    /// <summary>A whole number, as CsvHelper writes a long without a format: invariant digits, '-' for a negative one, never quoted.</summary>
    public void Integer(long value)
    {
        int start = BeginField(20);
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(start), out int n);
        _pos = start + n;
    }

    /// <summary>"true" or "false" (the options' TrueValue and FalseValue), never quoted.</summary>
    public void Bool(bool value)
    {
        var text = value ? "true"u8 : "false"u8;
        int start = BeginField(text.Length);
        text.CopyTo(_buffer.AsSpan(start));
        _pos = start + text.Length;
    }

    /// <summary>Ends the record with CRLF.</summary>
    public void EndRecord()
    {
        if (_fields == 0) throw new InvalidOperationException("A CSV record must contain at least one field.");
        Ensure(4);
        if (_fields == 1 && _pos == _recordStart)
        {
            _buffer[_pos++] = Quote;
            _buffer[_pos++] = Quote;
        }
        _buffer[_pos++] = (byte)'\r';
        _buffer[_pos++] = (byte)'\n';
        _recordStart = _pos;
        _fields = 0;
    }

    /// <summary>The separator (from the second field on), room for <paramref name="room"/> more bytes; returns where the field starts.</summary>
    private int BeginField(int room)
    {
        Ensure(room + 1);
        if (_fields++ > 0) _buffer[_pos++] = Separator;
        _fieldStart = _pos;
        return _pos;
    }

    private void Ensure(int room)
    {
        if (_buffer.Length - _pos < room) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _pos + room));
    }

    private static int Transcode(ReadOnlySpan<char> value, Span<byte> dest)
    {
        if (Ascii.FromUtf16(value, dest, out int ascii) == OperationStatus.Done) return ascii;
        // Invalid UTF-16 (a lone surrogate) becomes U+FFFD, as CsvHelper's transcoding does.
        Utf8.FromUtf16(value[ascii..], dest[ascii..], out _, out int rest, replaceInvalidSequences: true);
        return ascii + rest;
    }

    /// <summary>The injection rule and quoting of the text field of <paramref name="length"/> bytes at <paramref name="start"/>.</summary>
    private void Finish(int start, int length)
    {
        if (length == 0) return;
        bool formula = IsFormulaStart(_buffer[start]);
        if (!formula && !NeedsQuotes(_buffer.AsSpan(start, length))) return;
        QuoteField(start, length, formula);
    }

    private static bool IsFormulaStart(byte first) => first is (byte)'=' or (byte)'@' or (byte)'+' or (byte)'-' or (byte)'\t' or (byte)'\r';

    /// <summary>Whether the field holds ',', '"', CR or LF: a plain loop for the short cells of most rows (a vector search costs more to set up than it saves there).</summary>
    private static bool NeedsQuotes(ReadOnlySpan<byte> field)
    {
        if (field.Length > 32) return field.ContainsAny(Special);
        foreach (byte b in field)
            if (b <= (byte)',' && b is (byte)',' or (byte)'"' or (byte)'\r' or (byte)'\n') return true;
        return false;
    }

    /// <summary>Rewrites the field at <paramref name="start"/> enclosed in quotes, inner quotes doubled, after an apostrophe when it starts like a formula.</summary>
    private void QuoteField(int start, int length, bool formula)
    {
        var field = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            _buffer.AsSpan(start, length).CopyTo(field);
            int quotes = field.AsSpan(0, length).Count(Quote);
            _pos = start;
            Ensure(length + quotes + 3);
            _buffer[_pos++] = Quote;
            if (formula) _buffer[_pos++] = InjectionEscape;
            foreach (byte b in field.AsSpan(0, length))
            {
                _buffer[_pos++] = b;
                if (b == Quote) _buffer[_pos++] = Quote;
            }
            _buffer[_pos++] = Quote;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(field);
        }
    }
}
