using System.Text;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Outputs;

/// <summary>What the tests of the rows written straight from their records share (<see cref="FlowCsvRowTests"/>, <see cref="RtpStreamCsvRowTests"/>).</summary>
internal static class DirectCsvRows
{
    /// <summary>The result of auditing the site capture and every public capture that is a capture we read (by file name).</summary>
    public static IEnumerable<(string Name, AuditResult Result)> SiteAndPublicCaptures()
    {
        var paths = new List<string> { Path.Combine(TestPaths.Captures, "imagicle-site.pcap") };
        if (Directory.Exists(TestPaths.PublicCaptures))
            paths.AddRange(Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal) || f.EndsWith(".cap", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal));
        foreach (var path in paths)
        {
            AuditResult result;
            try
            {
                using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
                using var source = CaptureFile.Open(path, 0, engine.Anomalies);
                while (source.MoveNext()) engine.Process(source.Header, source.Data);
                result = engine.Complete(source.Interfaces, source.Errors);
            }
            catch (CaptureFormatException) { continue; }
            yield return (Path.GetFileName(path), result);
        }
    }

    /// <summary>
    /// The rows of <paramref name="records"/> as CsvHelper writes them through <paramref name="schema"/> from their row
    /// objects (<see cref="CsvHelperReference"/>), and as <paramref name="write"/> writes them straight: the same, row by row.
    /// </summary>
    public static void AssertSameRows<TRecord, TRow>(RecordSchema<TRow> schema, IEnumerable<TRecord> records, Func<TRecord, TRow> toRow,
        Action<CsvEncoder, TRecord> write, string what)
    {
        var list = records.ToList();
        var expected = Encoding.UTF8.GetString(CsvHelperReference.Write(schema, list.Select(toRow), header: false)).Split('\n');
        var direct = new CsvEncoder();
        foreach (var r in list) write(direct, r);
        var actual = Encoding.UTF8.GetString(direct.Written).Split('\n');
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual[i], $"{what}: row {i + 1}");
    }
}
