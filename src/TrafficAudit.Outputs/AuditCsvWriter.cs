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
    /// Writes flows, rtp_streams, calls, sip_options and anomalies (.csv, or .jsonl with
    /// <paramref name="format"/> JSON lines); with an anonymizer, addresses, host names, SIP users and
    /// file names are pseudonyms. With <paramref name="evidence"/>, calls name each call's evidence file.
    /// </summary>
    public static void WriteAll(string outDir, AuditResult result, IReadOnlyList<string> files, Anonymizer? anonymizer, Evidence.EvidencePlan? evidence = null,
        OutputFormat format = OutputFormat.Csv)
    {
        WriteRecords(outDir, result, anonymizer, evidence, format);
        WriteAggregates(outDir, result, files, anonymizer, format);
    }

    /// <summary>The record tables (flows, rtp_streams, calls) of a finished result, each rewritten atomically.</summary>
    /// <param name="namePrefix">Put before each table's name: <see cref="OpenPrefix"/> for the records still open at a live flush.</param>
    public static void WriteRecords(string outDir, AuditResult result, Anonymizer? anonymizer, Evidence.EvidencePlan? evidence = null, OutputFormat format = OutputFormat.Csv,
        string namePrefix = "")
    {
        Directory.CreateDirectory(outDir);
        // Every host name of the result is known before the first row, so free text (messages) replaces it too.
        anonymizer?.Learn(result);
        Write(outDir, namePrefix, RecordSchemas.Flows, result.Flows.Select(f => FlowRow.From(f, anonymizer)), format);
        Write(outDir, namePrefix, RecordSchemas.RtpStreams, result.Streams.Select(s => RtpStreamRow.From(s, anonymizer)), format);
        Write(outDir, namePrefix, RecordSchemas.Calls, result.Calls.Select(c =>
        {
            var row = CallRow.From(c, anonymizer);
            row.EvidenceFile = evidence?.CallFile(c) ?? "";
            return row;
        }), format);
    }

    /// <summary>
    /// The prefix of the tables of records still open at a live flush (open_flows, open_rtp_streams,
    /// open_calls): the record logs hold each record once it has ended; these show the rest, rewritten
    /// at every flush, and are removed at the end (when nothing is open any more).
    /// </summary>
    public const string OpenPrefix = "open_";

    private static void Write<TRow>(string outDir, string namePrefix, RecordSchema<TRow> schema, IEnumerable<TRow> rows, OutputFormat format) =>
        RecordFiles.WriteAtomically(Path.Combine(outDir, OutputFormats.FileName(namePrefix + schema.Name, format)), schema, rows, format);

    /// <summary>The small aggregate tables (sip_options, anomalies), rewritten atomically at every flush.</summary>
    public static void WriteAggregates(string outDir, AuditResult result, IReadOnlyList<string> files, Anonymizer? anonymizer, OutputFormat format = OutputFormat.Csv)
    {
        Directory.CreateDirectory(outDir);
        Write(outDir, RecordSchemas.SipOptions, result.Voip.OptionsPings.Select(o => SipOptionsRow.From(o, anonymizer)), format);
        Write(outDir, RecordSchemas.Anomalies, result.Anomalies.Select(a => new AnomalyRow
        {
            Name = a.Name,
            Count = a.Count,
            FirstPacket = a.FirstFrame,
            FirstFile = a.FirstFileIndex < files.Count ? anonymizer?.FileName(files[a.FirstFileIndex]) ?? Path.GetFileName(files[a.FirstFileIndex]) : "",
        }), format);
    }

    /// <summary>rtp_series (--series): per stream, one row per second (see <see cref="RtpSeriesRow"/>).</summary>
    public static void WriteSeries(string outDir, AuditResult result, OutputFormat format = OutputFormat.Csv)
    {
        Directory.CreateDirectory(outDir);
        Write(outDir, RecordSchemas.RtpSeries, result.Streams.SelectMany(RtpSeriesRow.From), format);
    }

    /// <summary>
    /// Writes findings, and expected_flows when the verdict has a matrix (a profile was given; else
    /// an old one is removed). With <paramref name="evidence"/>, findings name each finding's evidence file.
    /// </summary>
    public static void WriteVerdict(string outDir, TrafficAudit.Policy.Verdict verdict, Anonymizer? anonymizer = null, Evidence.EvidencePlan? evidence = null,
        OutputFormat format = OutputFormat.Csv)
    {
        Directory.CreateDirectory(outDir);
        Write(outDir, RecordSchemas.Findings, verdict.Findings.Select((f, i) =>
        {
            var row = FindingRow.From(f, i, anonymizer);
            row.EvidenceFile = evidence?.FindingFile(i) ?? "";
            return row;
        }), format);
        string matrix = Path.Combine(outDir, OutputFormats.FileName(RecordSchemas.ExpectedFlows.Name, format));
        if (verdict.Expected is { } rows) RecordFiles.WriteAtomically(matrix, RecordSchemas.ExpectedFlows, rows.Select(e => ExpectedFlowRow.From(e, anonymizer)), format);
        else if (File.Exists(matrix)) File.Delete(matrix);
    }

    /// <summary>The table of <paramref name="schema"/> into OUT/NAME.csv or NAME.jsonl, atomically.</summary>
    private static void Write<TRow>(string outDir, RecordSchema<TRow> schema, IEnumerable<TRow> rows, OutputFormat format) =>
        RecordFiles.WriteAtomically(Path.Combine(outDir, OutputFormats.FileName(schema.Name, format)), schema, rows, format);

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
