using System.Reflection;
using System.Text;
using CsvHelper;
using TrafficAudit.Outputs;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// <see cref="CsvEncoder"/> against CsvHelper 34 with <see cref="AuditCsvWriter.Options"/>, the writer it replaces:
/// the same bytes for every kind of field and record, on random values drawn from an alphabet of everything the
/// quoting and formula rules look at (separator, quote, CR, LF, tab, the formula characters, apostrophe, spaces,
/// non-ASCII, surrogate pairs and lone surrogates, NUL), and for whole tables of every schema.
/// </summary>
[TestClass]
public sealed class CsvEncoderTests
{
    private static readonly string[] Alphabet =
        [",", "\"", "\r", "\n", "\r\n", "\t", "=", "@", "+", "-", "'", " ", "a", "Z", "0", "9", ".", ";", "\\", "é", "€", "\U0001F600", "\uD800", "\uDC00", "\0", "\u007F", "\u0085", "\u2028", "\u202E", "#"];

    private static string RandomText(Random rng)
    {
        int length = rng.Next(6) switch { 0 => 0, 1 => 1, 2 => rng.Next(2, 5), 3 => rng.Next(5, 40), 4 => rng.Next(40, 300), _ => rng.Next(1, 12) };
        var sb = new StringBuilder();
        while (sb.Length < length) sb.Append(Alphabet[rng.Next(Alphabet.Length)]);
        return sb.ToString();
    }

    private enum Kind { Text, Integer, Bool, Empty }

    [TestMethod]
    public void RandomRecords_SameBytesAsCsvHelper()
    {
        var rng = new Random(2026);
        int fields = 0;
        for (int batch = 0; batch < 200; batch++)
        {
            using var expected = new MemoryStream();
            var actual = new CsvEncoder();
            using (var csv = CsvWriter.Create(expected, AuditCsvWriter.Options with { ValidateFieldCount = false }, leaveOpen: true))
            {
                for (int record = 0; record < 50; record++)
                {
                    int count = rng.Next(4) == 0 ? 1 : rng.Next(2, 12);
                    for (int i = 0; i < count; i++)
                    {
                        fields++;
                        switch ((Kind)rng.Next(4))
                        {
                            case Kind.Text:
                                string text = RandomText(rng);
                                csv.WriteField(text);
                                actual.Text(text);
                                break;
                            case Kind.Integer:
                                long n = rng.Next(3) switch { 0 => rng.NextInt64(long.MinValue, long.MaxValue), 1 => rng.Next(-100, 100), _ => rng.Next(2) == 0 ? long.MinValue : long.MaxValue };
                                csv.WriteField(n, default);
                                actual.Integer(n);
                                break;
                            case Kind.Bool:
                                bool b = rng.Next(2) == 0;
                                csv.WriteField(b);
                                actual.Bool(b);
                                break;
                            default:
                                csv.WriteField("");
                                actual.Empty();
                                break;
                        }
                    }
                    csv.EndRecord();
                    actual.EndRecord();
                }
                csv.Flush();
            }
            CollectionAssert.AreEqual(expected.ToArray(), actual.Written.ToArray(), $"batch {batch}:\n{Encoding.UTF8.GetString(expected.ToArray())}\n---\n{Encoding.UTF8.GetString(actual.Written)}");
        }
        Console.WriteLine($"{fields} fields compared");
    }

    [TestMethod]
    public void EachRule_SameBytesAsCsvHelper()
    {
        // One case per rule: plain, each quoting character, each formula character first (and not first), an
        // apostrophe, spaces at the ends, invalid UTF-16, an empty only field, a number that starts like a formula.
        string[] cases = ["plain", "a,b", "say \"hi\"", "\"", "cr\rx", "lf\nx", "=SUM(A1)", "@x", "+1", "-1", "\tx", "\rx", "a=b", "'quoted", " x ", "\uD800", "x\uDC00y", "é", ""];
        foreach (var text in cases)
        {
            using var expected = new MemoryStream();
            using (var csv = CsvWriter.Create(expected, AuditCsvWriter.Options with { ValidateFieldCount = false }, leaveOpen: true))
            {
                csv.WriteField(text);
                csv.EndRecord();
                csv.WriteField(text);
                csv.WriteField(-5L, default);
                csv.WriteField(true);
                csv.EndRecord();
                csv.Flush();
            }
            var actual = new CsvEncoder();
            actual.Text(text);
            actual.EndRecord();
            // The same text handed over as UTF-8 (what FlowCsvRow formats), unless it has no valid UTF-8 form (a lone surrogate).
            if (text.Any(char.IsSurrogate)) actual.Text(text);
            else actual.Utf8Text(Encoding.UTF8.GetBytes(text));
            actual.Integer(-5);
            actual.Bool(true);
            actual.EndRecord();
            Assert.AreEqual(Encoding.UTF8.GetString(expected.ToArray()), Encoding.UTF8.GetString(actual.Written), $"'{text}'");
        }
    }

    [TestMethod]
    public void FormattedText_SameBytesAsCsvHelper()
    {
        // What FlowCsvRow formats: times, addresses, decimals (negative ones start like a formula), Community IDs.
        string[] cases = ["2026-11-30T10:00:00.123456Z", "10.0.0.1", "0.000", "-0.000001", "-12.5", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:/w==", "+1", ""];
        foreach (var text in cases)
        {
            using var expected = new MemoryStream();
            using (var csv = CsvWriter.Create(expected, AuditCsvWriter.Options, leaveOpen: true))
            {
                csv.WriteField(text);
                csv.WriteField(text);
                csv.EndRecord();
                csv.Flush();
            }
            var actual = new CsvEncoder();
            actual.FormattedText(Encoding.ASCII.GetBytes(text));
            actual.FormattedText(Encoding.ASCII.GetBytes(text));
            actual.EndRecord();
            Assert.AreEqual(Encoding.UTF8.GetString(expected.ToArray()), Encoding.UTF8.GetString(actual.Written), $"'{text}'");
        }
    }

    [TestMethod]
    public void EverySchema_RandomRows_SameFileAsCsvHelper()
    {
        var rng = new Random(99);
        Check(RecordSchemas.Flows, rng);
        Check(RecordSchemas.RtpStreams, rng);
        Check(RecordSchemas.Calls, rng);
        Check(RecordSchemas.SipOptions, rng);
        Check(RecordSchemas.Anomalies, rng);
        Check(RecordSchemas.Findings, rng);
        Check(RecordSchemas.ExpectedFlows, rng);
        Check(RecordSchemas.RtpSeries, rng);
    }

    private static void Check<TRow>(RecordSchema<TRow> schema, Random rng) where TRow : new()
    {
        var rows = Enumerable.Range(0, 3000).Select(_ => RandomRow<TRow>(rng)).ToList();
        var expected = CsvHelperReference.Write(schema, rows);
        using var actual = new MemoryStream();
        using (var writer = RowWriter<TRow>.Create(schema, OutputFormat.Csv, actual))
        {
            writer.WriteHeader();
            foreach (var row in rows) writer.WriteRow(row);
            writer.Flush();
        }
        Assert.AreEqual(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual.ToArray()), schema.Name);
        CollectionAssert.AreEqual(expected, actual.ToArray(), schema.Name);
    }

    /// <summary>A row whose text properties are random hostile text (or numbers as text, or empty), numbers random, booleans random.</summary>
    private static TRow RandomRow<TRow>(Random rng) where TRow : new()
    {
        var row = new TRow();
        foreach (var p in typeof(TRow).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            object? value = p.PropertyType switch
            {
                var t when t == typeof(string) => rng.Next(4) switch { 0 => "", 1 => (rng.NextDouble() * 2000 - 1000).ToString("F3", System.Globalization.CultureInfo.InvariantCulture), _ => RandomText(rng) },
                var t when t == typeof(int) => rng.Next(int.MinValue, int.MaxValue),
                var t when t == typeof(long) => rng.NextInt64(long.MinValue, long.MaxValue),
                var t when t == typeof(bool) => rng.Next(2) == 0,
                _ => null,
            };
            if (value is not null) p.SetValue(row, value);
        }
        return row;
    }
}
