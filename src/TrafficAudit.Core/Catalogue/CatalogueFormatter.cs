using System.Globalization;

namespace TrafficAudit.Catalogue;

/// <summary>Prints a catalogue as a plain-text table for the <c>trafficaudit catalogue</c> command.</summary>
public static class CatalogueFormatter
{
    private static readonly string[] Headers =
        ["rule", "section", "dir", "transport", "imagicle ports", "remote ports", "service", "applications", "max rtt ms", "kbit/s/call", "notes"];

    /// <summary>
    /// One line per binding (a vendor row with several ports gives several lines; the row's own columns
    /// are printed on its first line only), columns padded to their widest cell, then each row's
    /// description. Output is invariant-culture and stable.
    /// </summary>
    /// <param name="maxWidth">
    /// The widest line the table may print: columns are dropped, least needed first (notes,
    /// applications, bandwidth, RTT, section), until it fits, and a line names what was dropped.
    /// The descriptions below the table are wrapped to the same width.
    /// </param>
    public static void Write(PortCatalogue catalogue, TextWriter writer, int maxWidth = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(catalogue);
        ArgumentNullException.ThrowIfNull(writer);
        var rows = new List<string[]>();
        foreach (var e in catalogue.Entries)
        {
            for (int i = 0; i < e.Bindings.Count; i++)
            {
                var b = e.Bindings[i];
                bool first = i == 0;
                var notes = new List<string>();
                if (first && e.Optional) notes.Add("optional");
                if (first && e.Infrastructure) notes.Add("infrastructure");
                if (b.PayloadOnly) notes.Add("payload only");
                if (first && e.RemoteNetworks.Count > 0) notes.Add("to " + string.Join(" ", e.RemoteNetworks));
                if (first && e.ServerNames.Count > 0) notes.Add("names " + string.Join(" ", e.ServerNames));
                rows.Add(
                [
                    first ? e.Id : "",
                    first ? e.Section : "",
                    first ? DirectionText(e.Direction) : "",
                    TransportText(b.Transport),
                    b.ImagiclePorts.ToString(),
                    b.RemotePorts.ToString(),
                    b.Service,
                    first ? e.ApplicationsText : "",
                    first && e.MaxRttMs is int rtt ? rtt.ToString(CultureInfo.InvariantCulture) : "",
                    first && e.BandwidthKbpsPerCall is int bw ? bw.ToString(CultureInfo.InvariantCulture) : "",
                    string.Join("; ", notes),
                ]);
            }
        }

        var widths = new int[Headers.Length];
        for (int c = 0; c < Headers.Length; c++) widths[c] = Headers[c].Length;
        foreach (var row in rows)
            for (int c = 0; c < row.Length; c++) widths[c] = Math.Max(widths[c], row[c].Length);

        // Least needed first: notes, applications, kbit/s/call, max rtt ms, section.
        int[] dropOrder = [10, 7, 9, 8, 1];
        var kept = Enumerable.Range(0, Headers.Length).ToList();
        var dropped = new List<string>();
        int Width() => kept.Sum(c => widths[c]) + 2 * (kept.Count - 1);
        foreach (int c in dropOrder)
        {
            if (Width() <= maxWidth) break;
            kept.Remove(c);
            dropped.Add(Headers[c]);
        }
        // Still too wide: the widest column is cut, its long cells ending in "...".
        if (Width() > maxWidth)
        {
            int widest = kept.MaxBy(c => widths[c]);
            widths[widest] = Math.Max(Headers[widest].Length, widths[widest] - (Width() - maxWidth));
        }
        string[] Pick(string[] row) => kept.Select(c => row[c].Length <= widths[c] ? row[c] : row[c][..Math.Max(0, widths[c] - 3)] + "...").ToArray();
        int[] keptWidths = kept.Select(c => widths[c]).ToArray();

        writer.WriteLine($"Port catalogue: {catalogue.Title ?? "(untitled)"} [{catalogue.SourceName}], {catalogue.Entries.Count} rules");
        if (dropped.Count > 0) writer.WriteLine($"(columns not shown to fit {maxWidth} characters: {string.Join(", ", dropped)}; --wide shows all)");
        writer.WriteLine();
        WriteRow(writer, Pick(Headers), keptWidths);
        WriteRow(writer, keptWidths.Select(w => new string('-', w)).ToArray(), keptWidths);
        foreach (var row in rows) WriteRow(writer, Pick(row), keptWidths);
        writer.WriteLine();
        writer.WriteLine("Descriptions:");
        int idWidth = catalogue.Entries.Max(e => e.Id.Length);
        foreach (var e in catalogue.Entries)
        {
            string text = $"[{e.Protocol}] {e.Description}";
            string indent = new(' ', idWidth + 4);
            string first = $"  {e.Id.PadRight(idWidth)}  ";
            foreach (var line in Wrap(text, maxWidth == int.MaxValue ? int.MaxValue : Math.Max(20, maxWidth - indent.Length)))
            {
                writer.WriteLine(first + line);
                first = indent;
            }
        }
    }

    /// <summary>Splits <paramref name="text"/> at spaces into lines of at most <paramref name="width"/> characters (a longer word stays whole).</summary>
    private static IEnumerable<string> Wrap(string text, int width)
    {
        if (text.Length <= width) { yield return text; yield break; }
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }

    private static void WriteRow(TextWriter w, string[] cells, int[] widths)
    {
        var line = new System.Text.StringBuilder();
        for (int c = 0; c < cells.Length; c++)
        {
            if (c > 0) line.Append("  ");
            line.Append(c == cells.Length - 1 ? cells[c] : cells[c].PadRight(widths[c]));
        }
        w.WriteLine(line.ToString().TrimEnd());
    }

    public static string DirectionText(VendorDirection d) => d switch
    {
        VendorDirection.In => "IN",
        VendorDirection.Out => "OUT",
        VendorDirection.InOut => "IN/OUT",
        _ => "NODE",
    };

    public static string TransportText(CatalogueTransport t) => t switch
    {
        CatalogueTransport.Tcp => "tcp",
        CatalogueTransport.Udp => "udp",
        CatalogueTransport.TlsOverTcp => "tls-over-tcp",
        _ => "icmp",
    };
}
