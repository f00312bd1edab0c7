using System.Globalization;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Cli;

/// <summary>The human summary printed after an audit.</summary>
public static class ConsoleSummary
{
    /// <param name="sourceTitle">What was audited when it is not files (a live capture); null for files.</param>
    public static void Write(TextWriter o, AuditResult r, IReadOnlyList<string> files, string outDir, bool serversGiven, string? sourceTitle = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var st = r.Statistics;
        if (sourceTitle is not null) o.WriteLine($"TrafficAudit {CommandLine.Version}: {sourceTitle}");
        else
        {
            o.WriteLine($"TrafficAudit {CommandLine.Version}: {files.Count} capture file(s)");
            foreach (var f in files) o.WriteLine($"  {f}");
        }
        o.WriteLine(string.Create(inv, $"Packets read: {st.Frames:N0} (IP {st.IpPackets:N0}, non-IP {st.NonIpFrames:N0}, malformed {st.MalformedFrames:N0}, fragments held {st.FragmentsHeld:N0})"));
        if (st.Frames > 0)
            o.WriteLine($"Capture time: {NsTime.Iso(st.FirstNs)} to {NsTime.Iso(st.LastNs)} ({st.Duration.TotalSeconds.ToString("F1", inv)} s)");
        foreach (var e in r.Errors) o.WriteLine($"Incomplete: {e}");
        WriteCaptureLoss(o, r.Interfaces);

        o.WriteLine(serversGiven ? "Imagicle nodes (given):" : "Imagicle nodes (detected):");
        if (r.Nodes.Count == 0) o.WriteLine("  none detected: no host terminates an Imagicle-specific port; use --server IP");
        foreach (var n in r.Nodes) o.WriteLine($"  {n.Address,-16} {n.Reason}");

        o.WriteLine("Services seen:");
        o.WriteLine($"  {"service",-20} {"flows",7} {"packets",10}");
        foreach (var g in r.Flows.GroupBy(f => f.Service).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            o.WriteLine(string.Create(inv, $"  {g.Key,-20} {g.Count(),7:N0} {g.Sum(f => f.PacketsC2S + f.PacketsS2C),10:N0}"));

        var states = r.Flows.Where(f => f.TcpState != Flows.TcpHandshakeState.None).GroupBy(f => f.TcpState).OrderBy(g => g.Key);
        o.WriteLine("TCP connections: " + string.Join(", ", states.Select(g => $"{FlowRow.TcpStateName(g.Key)} {g.Count()}")));
        if (r.Anomalies.Count > 0)
            o.WriteLine("Anomalies: " + string.Join(", ", r.Anomalies.OrderByDescending(a => a.Count).Take(8).Select(a => $"{a.Name} {a.Count}")) + (r.Anomalies.Count > 8 ? ", ..." : ""));
        if (r.Calls.Count > 0 || r.Streams.Count > 0)
            o.WriteLine($"VoIP: {r.Calls.Count} call(s), {r.Streams.Count} RTP stream(s)");
        o.WriteLine($"Written: {Path.Combine(outDir, "flows.csv")} ({r.Flows.Count} flows), {Path.Combine(outDir, "calls.csv")}, {Path.Combine(outDir, "rtp_streams.csv")}, {Path.Combine(outDir, "anomalies.csv")}");
    }

    /// <summary>
    /// Packets the capture itself lost, per interface, as libpcap (live) or a pcapng Interface
    /// Statistics Block (files) reports them: "Capture drops: lo kernel 0, interface 0". Nothing when
    /// no interface carries the counters (classic pcap files).
    /// </summary>
    public static void WriteCaptureLoss(TextWriter o, IReadOnlyList<Capture.CaptureInterface> interfaces)
    {
        var parts = new List<string>();
        foreach (var i in interfaces)
        {
            if (i.OsDropped is null && i.InterfaceDropped is null) continue;
            string name = i.Name ?? $"interface {i.Index}";
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"{name} kernel {(i.OsDropped is { } k ? k.ToString("N0", CultureInfo.InvariantCulture) : "?")}, interface {(i.InterfaceDropped is { } d ? d.ToString("N0", CultureInfo.InvariantCulture) : "?")}"));
        }
        if (parts.Count > 0) o.WriteLine("Capture drops: " + string.Join("; ", parts));
    }
}
