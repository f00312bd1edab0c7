using System.Text.Encodings.Web;
using System.Text.Json;

namespace TrafficAudit.Outputs;

/// <summary>The format of the table files (--format): CSV (RFC 4180) or JSON lines (one object per line).</summary>
public enum OutputFormat { Csv, JsonLines }

public static class OutputFormats
{
    /// <summary>".csv" or ".jsonl".</summary>
    public static string Extension(this OutputFormat f) => f == OutputFormat.JsonLines ? ".jsonl" : ".csv";

    /// <summary>The file of table <paramref name="table"/> ("flows") in format <paramref name="f"/> ("flows.jsonl").</summary>
    public static string FileName(string table, OutputFormat f) => table + f.Extension();

    /// <summary>--format's words: csv, jsonl; null for anything else.</summary>
    public static OutputFormat? Parse(string text) => text switch
    {
        "csv" => OutputFormat.Csv,
        "jsonl" => OutputFormat.JsonLines,
        _ => null,
    };
}

/// <summary>
/// Writes rows of one schema to a stream, in one format: the header (CSV only), then one row per
/// call. Bytes reach <see cref="Target"/> at <see cref="Flush"/> (and, for CSV, as whole rows whenever
/// 32 KB are pending; JSON lines, a row at a time).
/// </summary>
public abstract class RowWriter<TRow> : IDisposable
{
    protected RowWriter(RecordSchema<TRow> schema, Stream target)
    {
        Schema = schema;
        Target = target;
    }

    public RecordSchema<TRow> Schema { get; }
    public Stream Target { get; }

    /// <summary>A writer of <paramref name="format"/> over <paramref name="target"/> (left open on dispose).</summary>
    public static RowWriter<TRow> Create(RecordSchema<TRow> schema, OutputFormat format, Stream target) => format switch
    {
        OutputFormat.JsonLines => new JsonLinesRowWriter<TRow>(schema, target),
        _ => new CsvRowWriter<TRow>(schema, target),
    };

    /// <summary>The header line (CSV); nothing for JSON lines, whose keys are in every line.</summary>
    public abstract void WriteHeader();
    public abstract void WriteRow(TRow row);
    /// <summary>Everything written so far reaches <see cref="Target"/> (which is not flushed itself).</summary>
    public abstract void Flush();
    public abstract void Dispose();
}

/// <summary>
/// CSV with <see cref="CsvEncoder"/>, byte for byte as CsvHelper writes it with <see cref="AuditCsvWriter.Options"/>:
/// text cells go through <see cref="SafeText.Cell"/> and the formula escaping; whole numbers and booleans are
/// written as numbers (never formula-escaped), exactly as the row types' generated serializers did. Bytes reach
/// <see cref="RowWriter{TRow}.Target"/> as whole rows, at <see cref="Flush"/> and whenever 32 KB are pending.
/// </summary>
internal sealed class CsvRowWriter<TRow>(RecordSchema<TRow> schema, Stream target) : RowWriter<TRow>(schema, target)
{
    private const int PendingBytes = 32 * 1024;
    private readonly CsvEncoder _csv = new();

    /// <summary>The encoder, for a row written straight from its record (<see cref="FlowCsvRow"/>); call <see cref="Flush"/> after it.</summary>
    internal CsvEncoder Csv => _csv;

    public override void WriteHeader()
    {
        var names = Schema.ColumnNames;
        for (int i = 0; i < names.Count; i++) _csv.Text(names[i]);
        _csv.EndRecord();
    }

    public override void WriteRow(TRow row)
    {
        // By index: a foreach over the columns' interface would allocate an enumerator per row.
        var columns = Schema.Columns;
        for (int i = 0; i < columns.Count; i++)
        {
            var v = columns[i].ValueOf(row);
            if (v.Text is { } text) _csv.Text(SafeText.Cell(text));
            else if (v.Kind == ValueKind.Bool) _csv.Bool(v.Number != 0);
            else _csv.Integer(v.Number);
        }
        _csv.EndRecord();
        if (_csv.Written.Length >= PendingBytes) _csv.WriteTo(Target);
    }

    public override void Flush() => _csv.WriteTo(Target);
    /// <summary>Writes what is pending (as CsvHelper's writer did when disposed); the target stays open.</summary>
    public override void Dispose() => _csv.WriteTo(Target);
}

/// <summary>
/// JSON lines: one object per row, keys = column names in schema order, then LF. Whole numbers and
/// decimals are JSON numbers (the decimals exactly as the CSV writes them: 12.300 stays 12.300),
/// booleans true/false, an empty cell null; text goes through <see cref="SafeText.Cell"/> (controls
/// become \xNN, cap of 4,096 characters) and is then JSON-escaped (quote, backslash). No formula
/// escaping: that guards spreadsheets, which do not open JSON.
/// </summary>
internal sealed class JsonLinesRowWriter<TRow> : RowWriter<TRow>
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };
    private readonly Utf8JsonWriter _json;
    private readonly JsonEncodedText[] _names;

    public JsonLinesRowWriter(RecordSchema<TRow> schema, Stream target) : base(schema, target)
    {
        _json = new Utf8JsonWriter(target, WriterOptions);
        _names = schema.Columns.Select(c => JsonEncodedText.Encode(c.Name, JavaScriptEncoder.UnsafeRelaxedJsonEscaping)).ToArray();
    }

    public override void WriteHeader() { }

    public override void WriteRow(TRow row)
    {
        _json.WriteStartObject();
        var columns = Schema.Columns;
        for (int i = 0; i < columns.Count; i++)
        {
            _json.WritePropertyName(_names[i]);
            WriteValue(_json, columns[i].ValueOf(row));
        }
        _json.WriteEndObject();
        _json.Flush();
        Target.WriteByte((byte)'\n');
        _json.Reset();
    }

    internal static void WriteValue(Utf8JsonWriter json, RecordValue v)
    {
        if (v.Text is not { } text)
        {
            if (v.Kind == ValueKind.Bool) json.WriteBooleanValue(v.Number != 0);
            else json.WriteNumberValue(v.Number);
            return;
        }
        if (text.Length == 0)
        {
            json.WriteNullValue();
            return;
        }
        switch (v.Kind)
        {
            case ValueKind.Integer or ValueKind.Floating when IsJsonNumber(text):
                json.WriteRawValue(text, skipInputValidation: true);
                break;
            case ValueKind.Bool when text is "true" or "false":
                json.WriteBooleanValue(text == "true");
                break;
            default:
                json.WriteStringValue(SafeText.Cell(text));
                break;
        }
    }

    /// <summary>RFC 8259's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</summary>
    internal static bool IsJsonNumber(ReadOnlySpan<char> s)
    {
        int i = 0;
        if (i < s.Length && s[i] == '-') i++;
        if (i >= s.Length || !char.IsAsciiDigit(s[i])) return false;
        if (s[i] == '0') i++;
        else while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start) return false;
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start) return false;
        }
        return i == s.Length;
    }

    public override void Flush() => _json.Flush();
    public override void Dispose() => _json.Dispose();
}

/// <summary>Whole files of one table, written atomically (a temporary file, then a rename over the target).</summary>
public static class RecordFiles
{
    /// <summary>Writes <paramref name="rows"/> of <paramref name="schema"/> to <paramref name="path"/> in <paramref name="format"/>, atomically.</summary>
    public static void WriteAtomically<TRow>(string path, RecordSchema<TRow> schema, IEnumerable<TRow> rows, OutputFormat format)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Environment.ProcessId + ".tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16))
            {
                using (var writer = RowWriter<TRow>.Create(schema, format, stream))
                {
                    writer.WriteHeader();
                    foreach (var row in rows) writer.WriteRow(row);
                    writer.Flush();
                }
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
