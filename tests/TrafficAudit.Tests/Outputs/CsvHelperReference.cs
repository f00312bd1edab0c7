using CsvHelper;
using TrafficAudit.Outputs;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// The CSV the outputs wrote through CsvHelper 34 before <see cref="CsvEncoder"/> (commit f15c938's CsvRowWriter):
/// every schema row's cell through CsvHelper's writer with <see cref="AuditCsvWriter.Options"/>. The oracle the
/// encoder's tests compare bytes with.
/// </summary>
internal static class CsvHelperReference
{
    /// <summary>The header and <paramref name="rows"/> of <paramref name="schema"/>, as CsvHelper writes them.</summary>
    public static byte[] Write<TRow>(RecordSchema<TRow> schema, IEnumerable<TRow> rows, bool header = true)
    {
        using var bytes = new MemoryStream();
        using (var csv = CsvWriter.Create(bytes, AuditCsvWriter.Options, leaveOpen: true))
        {
            if (header) csv.WriteHeader(schema.ColumnNames.ToArray().AsSpan());
            foreach (var row in rows)
            {
                var columns = schema.Columns;
                for (int i = 0; i < columns.Count; i++)
                {
                    var v = columns[i].ValueOf(row);
                    if (v.Text is { } text) csv.WriteField(SafeText.Cell(text));
                    else if (v.Kind == ValueKind.Bool) csv.WriteField(v.Number != 0);
                    else csv.WriteField(v.Number, default);
                }
                csv.EndRecord();
            }
            csv.Flush();
        }
        return bytes.ToArray();
    }
}
