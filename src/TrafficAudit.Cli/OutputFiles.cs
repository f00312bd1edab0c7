using TrafficAudit.Outputs.Report;

namespace TrafficAudit.Cli;

/// <summary>
/// Every name an audit may write into the output folder, and when it does. The folder holds only
/// this run's outputs: after writing, an entry of this list that this run does not write (an older
/// run's report.html when this run has no --report) is removed. Nothing that is not in this list is
/// ever touched. A new output is one line here.
/// </summary>
public static class OutputFiles
{
    /// <param name="Name">File or folder name inside the output folder.</param>
    /// <param name="FolderPattern">For a folder: the files of ours inside it (only those are removed, then the folder if it is empty); null for a file.</param>
    /// <param name="WrittenWhen">Whether a run with these settings writes it.</param>
    public sealed record Entry(string Name, string? FolderPattern, Func<AuditSetup, bool> WrittenWhen);

    public static readonly IReadOnlyList<Entry> All =
    [
        new("flows.csv", null, _ => true),
        new("rtp_streams.csv", null, _ => true),
        new("calls.csv", null, _ => true),
        new("sip_options.csv", null, _ => true),
        new("anomalies.csv", null, _ => true),
        new("findings.csv", null, _ => true),
        new("expected_flows.csv", null, s => s.Profile is not null),
        new(HtmlReportWriter.FileName, null, s => s.Report),
        new("rtp_series.csv", null, s => s.Series),
        new("evidence", "*.pcapng", s => s.Evidence),
    ];

    /// <summary>The names this run writes, in the order above.</summary>
    public static IEnumerable<string> WrittenBy(AuditSetup setup) => All.Where(e => e.WrittenWhen(setup)).Select(e => e.Name);

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
