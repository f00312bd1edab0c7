using TrafficAudit.Outputs;
using TrafficAudit.Outputs.Report;

namespace TrafficAudit.Cli;

/// <summary>
/// Every name an audit may write into the output folder, and when it does. The folder holds only
/// this run's outputs: after writing, an entry of this list that this run does not write (an older
/// run's report.html when this run has no --report) is removed. Nothing that is not in this list is
/// ever touched. A new output is one line here. A table (flows, rtp_streams...) is written as
/// NAME.csv or NAME.jsonl by --format; the other format's file of an older run is removed like any
/// output this run does not write. Rotated record files (flows_00001_...csv) are never removed: they
/// are the archive of a long run.
/// </summary>
public static class OutputFiles
{
    /// <param name="Name">File or folder name inside the output folder.</param>
    /// <param name="FolderPattern">For a folder: the files of ours inside it (only those are removed, then the folder if it is empty); null for a file.</param>
    /// <param name="WrittenWhen">Whether a run with these settings writes it.</param>
    /// <param name="Table">For a table: <paramref name="Name"/> is the table's name, the file is NAME.csv or NAME.jsonl (<see cref="OutputFormat"/>).</param>
    public sealed record Entry(string Name, string? FolderPattern, Func<AuditSetup, bool> WrittenWhen, bool Table = false)
    {
        /// <summary>The file name in <paramref name="format"/> (the name itself for a file or folder that is not a table).</summary>
        public string FileName(OutputFormat format) => Table ? OutputFormats.FileName(Name, format) : Name;
    }

    public static readonly IReadOnlyList<Entry> All =
    [
        new("flows", null, _ => true, Table: true),
        new("rtp_streams", null, _ => true, Table: true),
        new("calls", null, _ => true, Table: true),
        // A streaming live capture: the records still open at the last flush (removed at the end).
        new(AuditCsvWriter.OpenPrefix + "flows", null, s => s.LiveStreaming, Table: true),
        new(AuditCsvWriter.OpenPrefix + "rtp_streams", null, s => s.LiveStreaming, Table: true),
        new(AuditCsvWriter.OpenPrefix + "calls", null, s => s.LiveStreaming, Table: true),
        new("sip_options", null, _ => true, Table: true),
        new("anomalies", null, _ => true, Table: true),
        new("findings", null, _ => true, Table: true),
        new("expected_flows", null, s => s.Profile is not null, Table: true),
        new(HtmlReportWriter.FileName, null, s => s.Report),
        new("rtp_series", null, s => s.Series, Table: true),
        new("evidence", "*.pcapng", s => s.Evidence),
    ];

    private static readonly OutputFormat[] Formats = Enum.GetValues<OutputFormat>();

    /// <summary>The file names this run writes (flows.csv or flows.jsonl...), in the order above.</summary>
    public static IEnumerable<string> WrittenBy(AuditSetup setup) => All.Where(e => e.WrittenWhen(setup)).Select(e => e.FileName(setup.Format));

    /// <summary>
    /// Removes from <paramref name="outDir"/> the outputs of ours that <paramref name="setup"/> does
    /// not write; returns the names removed. A folder entry loses only the files matching its
    /// pattern, and goes only when it is then empty.
    /// </summary>
    public static IReadOnlyList<string> RemoveStale(string outDir, AuditSetup setup)
    {
        var removed = new List<string>();
        foreach (var e in All)
        {
            if (e.Table)
            {
                // Every format's file, but the one this run writes.
                foreach (var format in Formats)
                {
                    if (e.WrittenWhen(setup) && format == setup.Format) continue;
                    string name = e.FileName(format);
                    string file = Path.Combine(outDir, name);
                    if (!File.Exists(file) || Directory.Exists(file)) continue;
                    File.Delete(file);
                    removed.Add(name);
                }
                continue;
            }
            if (e.WrittenWhen(setup)) continue;
            string path = Path.Combine(outDir, e.Name);
            if (e.FolderPattern is null)
            {
                if (!File.Exists(path) || Directory.Exists(path)) continue;
                File.Delete(path);
                removed.Add(e.Name);
            }
            else if (Directory.Exists(path))
            {
                bool any = false;
                foreach (var f in Directory.EnumerateFiles(path, e.FolderPattern).ToList())
                {
                    File.Delete(f);
                    any = true;
                }
                bool empty = !Directory.EnumerateFileSystemEntries(path).Any();
                if (empty) Directory.Delete(path);
                // Say what went: the folder, or only our files in it when something else stays there.
                if (any) removed.Add(empty ? e.Name + "/" : $"{e.Name}/{e.FolderPattern}");
            }
        }
        return removed;
    }
}
