using System.Globalization;
using System.Text;
using CsvHelper;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// Writes the audit's CSV files into an output folder. Each file is written to a temporary file
/// in the same folder and then renamed over the target, so a reader never sees half a file.
/// </summary>
public static class AuditCsvWriter
{
    /// <summary>RFC 4180, UTF-8 without BOM, invariant culture; text cells that a spreadsheet would run as a formula are escaped.</summary>
    public static CsvWriterOptions Options { get; } = new()
    {
        FormatProvider = CultureInfo.InvariantCulture,
        Injection = CsvInjection.Escape,
        NewLine = "\r\n",
        TrueValue = "true",
        FalseValue = "false",
    };

    public static void WriteAll(string outDir, AuditResult result, IReadOnlyList<string> files) => WriteAll(outDir, result, files, null);

    /// <summary>
    /// Writes flows.csv, rtp_streams.csv, calls.csv and anomalies.csv; with an anonymizer, addresses, host
    /// names, SIP users and file names are pseudonyms. With <paramref name="evidence"/>, calls.csv names each
    /// call's evidence file.
    /// </summary>
    public static void WriteAll(string outDir, AuditResult result, IReadOnlyList<string> files, Anonymizer? anonymizer, Evidence.EvidencePlan? evidence = null)
    {
        Directory.CreateDirectory(outDir);
        // Every host name of the result is known before the first row, so free text (messages) replaces it too.
        anonymizer?.Learn(result);
        WriteAtomically(Path.Combine(outDir, "flows.csv"), result.Flows.Select(f => FlowRow.From(f, anonymizer)));
        WriteAtomically(Path.Combine(outDir, "rtp_streams.csv"), result.Streams.Select(s => RtpStreamRow.From(s, anonymizer)));
        WriteAtomically(Path.Combine(outDir, "calls.csv"), result.Calls.Select(c =>
        {
            var row = CallRow.From(c, anonymizer);
            row.EvidenceFile = evidence?.CallFile(c) ?? "";
            return row;
        }));
        WriteAtomically(Path.Combine(outDir, "sip_options.csv"), result.Voip.OptionsPings.Select(o => SipOptionsRow.From(o, anonymizer)));
        WriteAtomically(Path.Combine(outDir, "anomalies.csv"), result.Anomalies.Select(a => new AnomalyRow
        {
            Name = a.Name,
            Count = a.Count,
            FirstPacket = a.FirstFrame,
            FirstFile = a.FirstFileIndex < files.Count ? anonymizer?.FileName(files[a.FirstFileIndex]) ?? Path.GetFileName(files[a.FirstFileIndex]) : "",
        }));
    }

    /// <summary>rtp_series.csv (--series): per stream, one row per second (see <see cref="RtpSeriesRow"/>).</summary>
    public static void WriteSeries(string outDir, AuditResult result)
    {
        Directory.CreateDirectory(outDir);
        WriteAtomically(Path.Combine(outDir, RtpSeriesRow.FileName), result.Streams.SelectMany(RtpSeriesRow.From));
    }

    /// <summary>
    /// Writes findings.csv, and expected_flows.csv when the verdict has a matrix (a profile was given; else
    /// an old one is removed). With <paramref name="evidence"/>, findings.csv names each finding's evidence file.
    /// </summary>
    public static void WriteVerdict(string outDir, TrafficAudit.Policy.Verdict verdict, Anonymizer? anonymizer = null, Evidence.EvidencePlan? evidence = null)
    {
        Directory.CreateDirectory(outDir);
        WriteAtomically(Path.Combine(outDir, "findings.csv"), verdict.Findings.Select((f, i) =>
        {
            var row = FindingRow.From(f, i, anonymizer);
            row.EvidenceFile = evidence?.FindingFile(i) ?? "";
            return row;
        }));
        string matrix = Path.Combine(outDir, "expected_flows.csv");
        if (verdict.Expected is { } rows) WriteAtomically(matrix, rows.Select(e => ExpectedFlowRow.From(e, anonymizer)));
        else if (File.Exists(matrix)) File.Delete(matrix);
    }

    /// <summary>Writes records of a [CsvRecord] type to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void WriteAtomically<T>(string path, IEnumerable<T> rows)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Environment.ProcessId + ".tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16))
            using (var csv = CsvWriter.Create(stream, Options))
            {
                csv.WriteHeader<T>();
                csv.WriteRecords(rows);
                csv.Flush();
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
