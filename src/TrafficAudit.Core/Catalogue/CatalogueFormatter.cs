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
    public static void Write(PortCatalogue catalogue, TextWriter writer)
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

        writer.WriteLine($"Port catalogue: {catalogue.Title ?? "(untitled)"} [{catalogue.SourceName}], {catalogue.Entries.Count} rules");
        writer.WriteLine();
        WriteRow(writer, Headers, widths);
        WriteRow(writer, widths.Select(w => new string('-', w)).ToArray(), widths);
        foreach (var row in rows) WriteRow(writer, row, widths);
        writer.WriteLine();
        writer.WriteLine("Descriptions:");
        int idWidth = catalogue.Entries.Max(e => e.Id.Length);
        foreach (var e in catalogue.Entries)
            writer.WriteLine($"  {e.Id.PadRight(idWidth)}  [{e.Protocol}] {e.Description}");
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
