using System.Globalization;

namespace TrafficAudit.Catalogue;

/// <summary>Prints a catalogue as a plain-text table for the <c>trafficaudit catalogue</c> command.</summary>
public static class CatalogueFormatter
{
    private static readonly string[] Headers =
        ["rule", "section", "dir", "transport", "imagicle ports", "remote ports", "service", "peer", "applications", "max rtt ms", "kbit/s/call", "notes"];

    /// <summary>
    /// One line per binding (a vendor row with several ports gives several lines; the row's own columns
    /// are printed on its first line only), columns padded to their widest cell, then each row's
    /// description, then the catalogue's other knowledge: applications, sections, the expected-flow
    /// matrix (peer roles, groups, on-demand rows), proxy and SIP ports, default budgets, the media rule,
    /// the UDP request/response services and node evidence. Output is invariant-culture and stable.
    /// </summary>
    /// <param name="maxWidth">
    /// The widest line the table may print: columns are dropped, least needed first (notes,
    /// applications, bandwidth, RTT, peer, section), until it fits, and a line names what was dropped.
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
                if (first && e.OnDemand) notes.Add("on demand");
                if (first && e.Group is not null) notes.Add("group " + e.Group);
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
                    first ? e.PeerRole ?? "" : "",
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

        // Least needed first: notes, applications, kbit/s/call, max rtt ms, peer, section.
        int[] dropOrder = [11, 8, 10, 9, 7, 1];
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
        WriteKnowledge(catalogue, writer, maxWidth);
    }

    /// <summary>The sections beside the rows: one block each, lines wrapped to <paramref name="maxWidth"/>.</summary>
    private static void WriteKnowledge(PortCatalogue c, TextWriter w, int maxWidth)
    {
        // "  head: text", wrapped; continuation lines indented by 6.
        void Item(string head, string text)
        {
            int width = maxWidth == int.MaxValue ? int.MaxValue : Math.Max(20, maxWidth - 6);
            string indent = "  ";
            foreach (var line in Wrap(head.Length == 0 ? text : head + ": " + text, width))
            {
                w.WriteLine(indent + line);
                indent = "      ";
            }
        }
        void Block(string title) { w.WriteLine(); w.WriteLine(title); }
        string Rows(Func<CatalogueEntry, bool> which) => string.Join(", ", c.Entries.Where(which).Select(e => e.Id));

        Block($"Applications ({c.ApplicationIds.Count}; profile \"applications\"; \"all\" in a row means every installation):");
        if (c.Applications.Count > 0) foreach (var a in c.Applications) Item(a.Id, a.Name);
        else Item("", string.Join(", ", c.ApplicationIds) + " (the rows' own ids: the file declares no \"applications\")");
        if (c.Sections.Count > 0)
        {
            Block("Sections (the vendor's tables):");
            foreach (var x in c.Sections) Item(x.Id, x.Title);
        }

        Block("Expected-flow matrix: peer roles (profile \"peers\") and their rows (\"peerRole\"):");
        foreach (var r in c.PeerRoles) Item(r.Id, $"{r.Description} Rows: {Or(Rows(e => e.PeerRole == r.Id))}.");
        Item(PeerRoleInfo.Nodes, $"Between two nodes (expected with two or more nodes). Rows: {Or(Rows(e => e.PeerRole == PeerRoleInfo.Nodes))}.");
        Item(PeerRoleInfo.Any, $"Media with any peer (expected when the capture holds an answered call). Rows: {Or(Rows(e => e.PeerRole == PeerRoleInfo.Any))}.");
        Item("(none)", $"Never expected (the profile cannot name the peer): {Or(Rows(e => e.PeerRole is null))}.");
        Block("Matrix groups (alternatives: one expectation each):");
        if (c.MatrixGroups.Count == 0) Item("", "none");
        foreach (var g in c.MatrixGroups) Item(g.Id, $"{g.Title}. Rows: {Or(Rows(e => e.Group == g.Id))}.");
        Block("On demand (never reported missing, as optional rows):");
        Item("", Or(Rows(e => e.OnDemand)));

        Block("Policy:");
        Item("proxy", c.ProxyPorts.IsSpecific || c.ProxyRole is not null
            ? $"HTTP from a node to port {(c.ProxyPorts.IsSpecific ? c.ProxyPorts.ToString() : "(none)")}, or a connection to a profile peer of role {c.ProxyRole ?? "(none)"}, is proxy_in_use."
            : "none");
        Item("sipPorts", $"TCP {(c.SipPorts.IsSpecific ? c.SipPorts.ToString() : "(none)")}: segments go to SIP reassembly from the SYN on.");
        Item("defaultRttMs", $"SIP {Ms(c.DefaultRtt.SipMs)}, media (RTCP) {Ms(c.DefaultRtt.MediaMs)}, between nodes {Ms(c.DefaultRtt.BetweenNodesMs)}, where the matched row states no maxRttMs.");
        Item("mediaRule", c.MediaRule ?? "(none)");
        Item("udpRequestResponse", c.UdpRequestResponseServices.Count == 0 ? "none" : string.Join(", ", c.UdpRequestResponseServices.Order(StringComparer.Ordinal)) + ": a node's datagram without any reply is blocked.");

        var ev = c.NodeEvidence;
        Block(ev.Rules.Count == 0 ? "Node evidence: none (nodes are found only with --server or the profile)."
            : string.Create(CultureInfo.InvariantCulture, $"Node evidence (a node at score {ev.NodeScore}, strong evidence at {ev.StrongScore}):"));
        foreach (var r in ev.Rules)
        {
            string where = r.Transport is { } t ? $" {TransportText(t)} {r.Ports}" : "";
            Item(r.Id, string.Create(CultureInfo.InvariantCulture, $"{r.Kind switch
            {
                NodeEvidenceKind.Serves => "serves",
                NodeEvidenceKind.ServesOrSends => "serves-or-sends",
                NodeEvidenceKind.AnswersWithMedia => "answers-with-media",
                NodeEvidenceKind.ClusterPeer => "cluster-peer",
                _ => "cluster-confirm",
            }} {r.Name}{where}, score {r.Score}. {r.Description}"));
        }
    }

    private static string Or(string rows) => rows.Length == 0 ? "none" : rows;

    private static string Ms(int? ms) => ms is int v ? v.ToString(CultureInfo.InvariantCulture) + " ms" : "none";

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
