using System.Globalization;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Cli;

/// <summary>The human summary printed after an audit.</summary>
public static class ConsoleSummary
{
    /// <param name="sourceTitle">What was audited when it is not files (a live capture); null for files.</param>
    /// <summary>Files listed one per line in the header; more are counted.</summary>
    public const int MaxFilesListed = 10;
    /// <summary>Calls listed; the rest are in calls.csv.</summary>
    public const int MaxCallsListed = RunTotals.FirstCallsKept;
    /// <summary>Streams listed, worst jitter first; the rest are in rtp_streams.csv.</summary>
    public const int MaxStreamsListed = RunTotals.WorstStreamsKept;
    /// <summary>Anomaly counters listed, largest first; the rest are in anomalies.csv.</summary>
    public const int MaxAnomaliesListed = 8;

    /// <param name="title">--title (customer, site), shown in the header.</param>
    /// <param name="inputNote">What limited the reading (--from/--to/-c), one line; null when nothing did.</param>
    /// <param name="totals">The run's counts and selections (the engine's sink, or <see cref="RunTotals.From"/>); the flows, streams and calls of <paramref name="r"/> are not read.</param>
    public static void Write(TextWriter o, AuditResult r, IReadOnlyList<string> files, string outDir, bool serversGiven, string? sourceTitle = null,
        string? title = null, string? inputNote = null, RunTotals? totals = null)
    {
        var t = totals ?? RunTotals.From(r);
        var inv = CultureInfo.InvariantCulture;
        var st = r.Statistics;
        string titled = title is null ? "" : $" [{title}]";
        if (sourceTitle is not null) o.WriteLine($"TrafficAudit {CommandLine.Version}{titled}: {sourceTitle}");
        else
        {
            o.WriteLine($"TrafficAudit {CommandLine.Version}{titled}: {files.Count} capture file(s)");
            foreach (var f in files.Take(MaxFilesListed)) o.WriteLine($"  {f}");
            if (files.Count > MaxFilesListed) o.WriteLine($"  ... {files.Count - MaxFilesListed} more, through {files[^1]}");
        }
        if (inputNote is not null) o.WriteLine(inputNote);
        o.WriteLine(string.Create(inv, $"Packets read: {st.Frames:N0} (IP {st.IpPackets:N0}, non-IP {st.NonIpFrames:N0}, malformed {st.MalformedFrames:N0}, fragments held {st.FragmentsHeld:N0})"));
        if (st.Frames > 0)
            o.WriteLine($"Capture time: {NsTime.Iso(st.FirstNs)} to {NsTime.Iso(st.LastNs)} ({st.Duration.TotalSeconds.ToString("F1", inv)} s)");
        foreach (var e in r.Errors) o.WriteLine($"Incomplete: {e}");
        WriteCaptureLoss(o, r.Interfaces);

        o.WriteLine($"Imagicle nodes ({(r.Nodes.Count == 0 ? "detected" : Classification.DetectedNode.SourceText(r.Nodes[0].Source))}):");
        if (r.Nodes.Count == 0) o.WriteLine("  none detected: no host shows evidence only an Imagicle node gives (catalogue nodeEvidence); give --server IP or --profile FILE");
        foreach (var n in r.Nodes) o.WriteLine($"  {n.Address,-16} {n.Evidence}");

        o.WriteLine("Services seen:");
        o.WriteLine($"  {"service",-20} {"flows",7} {"packets",10}");
        foreach (var (service, total) in t.Services)
            o.WriteLine(string.Create(inv, $"  {service,-20} {total.Flows,7:N0} {total.Packets,10:N0}"));

        var states = t.TcpStates;
        if (states.Count > 0)
            o.WriteLine("TCP connections by handshake state (tcp_state in flows.csv): " + string.Join(", ", states.Select(g => $"{FlowRow.TcpStateName(g.State)} {g.Flows}")));
        WriteVoip(o, r, t);
        WriteAnomalies(o, r.Anomalies);
    }

    /// <summary>
    /// The largest anomaly counters, each with what it counts (the README's anomalies.csv table says
    /// the same), and how many more counters are in anomalies.csv.
    /// </summary>
    public static void WriteAnomalies(TextWriter o, IReadOnlyList<Decode.AnomalyCounters.Entry> anomalies)
    {
        if (anomalies.Count == 0) return;
        var top = anomalies.OrderByDescending(a => a.Count).ThenBy(a => a.Name, StringComparer.Ordinal).Take(MaxAnomaliesListed).ToList();
        string more = anomalies.Count > top.Count ? $"; {anomalies.Count - top.Count} more in anomalies.csv" : "";
        o.WriteLine($"Anomalies: {anomalies.Count} kind(s) of malformed or surprising packet, counted, none stops the audit (largest {top.Count}{more}):");
        int width = top.Max(a => a.Name.Length);
        foreach (var a in top)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {a.Name.PadRight(width)} {a.Count,8:N0}  {AnomalyExplanations.Explain(a.Name)}"));
    }

    /// <summary>The one "Written:" line: the output folder and the files this run wrote into it.</summary>
    public static void WriteWritten(TextWriter o, string outDir, IEnumerable<string> names, AuditResult r, RunTotals? totals = null)
    {
        var t = totals ?? RunTotals.From(r);
        var parts = new List<string>();
        foreach (var name in names)
        {
            string path = Path.Combine(outDir, name);
            if (!File.Exists(path) && !Directory.Exists(path)) continue;   // an output another part did not write (yet)
            parts.Add(name switch
            {
                "flows.csv" or "flows.jsonl" => $"{name} ({t.Flows} flows)",
                "rtp_streams.csv" or "rtp_streams.jsonl" => $"{name} ({t.Streams} streams)",
                "calls.csv" or "calls.jsonl" => $"{name} ({t.Calls} calls)",
                _ => Directory.Exists(path) ? name + "/" : name,
            });
        }
        o.WriteLine($"Written: {string.Join(", ", parts)} in {outDir}");
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

    private static void WriteVoip(TextWriter o, AuditResult r, RunTotals t)
    {
        var inv = CultureInfo.InvariantCulture;
        if (t.Calls == 0 && t.Streams == 0 && t.SipTlsFlows == 0) return;
        string asked = t.CallsOneWayByNegotiation == 0 ? "" : $", {t.CallsOneWayByNegotiation} more one-way as the SDP asked";
        o.WriteLine(string.Create(inv, $"Calls: {t.Calls} ({t.CallsAnswered} answered, {t.CallsOneWayProblem} one-way media{asked}), peak {r.Voip.PeakConcurrentCalls} simultaneous; SIP messages {r.Voip.SipMessages}, SIP over TLS flows {t.SipTlsFlows} (not decrypted)"));
        if (t.Calls > 0)
            o.WriteLine(t.Calls > MaxCallsListed
                ? $"  first {MaxCallsListed} calls by start time ({t.Calls - MaxCallsListed} more in calls.csv):"
                : $"  {t.Calls} call(s) by start time:");
        foreach (var c in t.FirstCalls.Select(x => x.Call))
        {
            var sip = c.Sip;
            string status = sip.FinalStatus == 0 ? "no final answer" : $"{sip.FinalStatus} {sip.FinalReason}";
            o.WriteLine(string.Create(inv, $"  {Short(sip.CallId),-28} {sip.CallerIp} -> {sip.CalleeIp} {status,-16} {c.Codec,-10} answer {Ms(sip.AnswerMs)} dur {(sip.DurationS is { } d ? d.ToString("F1", inv) + " s" : "-")} kbps out/in {Kbps(c.MediaIpKbpsOut)}/{Kbps(c.MediaIpKbpsIn)} jitter {Ms(c.MaxJitterMs < 0 ? null : c.MaxJitterMs)} loss {c.LostPct:F2}% MOS {(c.Mos < 0 ? "-" : c.Mos.ToString("F2", inv))}{(FindingRules.IsOneWayProblem(c) ? " ONE-WAY" : FindingRules.IsOneWayByNegotiation(c) ? " one-way as the SDP asked" : "")}"));
        }
        long matched = t.StreamsSdpMatched;
        o.WriteLine(string.Create(inv, $"RTP streams: {t.Streams} ({matched} matched to SDP, {t.Streams - matched} found by their headers), peak media {r.Voip.PeakMediaIpKbps:F1} kbit/s at the IP layer"));
        var worst = t.WorstStreams;
        if (worst.Count > 0)
            o.WriteLine($"  {worst.Count} worst stream(s) by max jitter" + (t.Streams > worst.Count ? $" ({t.Streams - worst.Count} more in rtp_streams.csv):" : ":"));
        foreach (var s in worst)
            o.WriteLine(string.Create(inv, $"  0x{s.Ssrc:X8} {s.SrcIp.WithPort(s.SrcPort)} -> {s.DstIp.WithPort(s.DstPort)} {s.Codec} {s.Packets} pkts lost {s.Lost} dup {s.Duplicates} max jitter {s.MaxJitterMs:F3} ms {s.IpKbps:F1} kbit/s"));
    }

    private static string Short(string callId) => callId.Length <= 28 ? callId : callId[..25] + "...";
    private static string Ms(double? ms) => ms is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) + " ms" : "-";
    private static string Kbps(double v) => v < 0 ? "-" : v.ToString("F1", CultureInfo.InvariantCulture);
}
