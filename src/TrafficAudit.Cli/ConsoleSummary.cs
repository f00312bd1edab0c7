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

        o.WriteLine($"Imagicle nodes ({(r.Nodes.Count == 0 ? "detected" : Classification.DetectedNode.SourceText(r.Nodes[0].Source))}):");
        if (r.Nodes.Count == 0) o.WriteLine("  none detected: no host shows evidence only an Imagicle node gives (catalogue nodeEvidence); give --server IP or --profile FILE");
        foreach (var n in r.Nodes) o.WriteLine($"  {n.Address,-16} {n.Evidence}");

        o.WriteLine("Services seen:");
        o.WriteLine($"  {"service",-20} {"flows",7} {"packets",10}");
        foreach (var g in r.Flows.GroupBy(f => f.Service).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            o.WriteLine(string.Create(inv, $"  {g.Key,-20} {g.Count(),7:N0} {g.Sum(f => f.PacketsC2S + f.PacketsS2C),10:N0}"));

        var states = r.Flows.Where(f => f.TcpState != Flows.TcpHandshakeState.None).GroupBy(f => f.TcpState).OrderBy(g => g.Key);
        o.WriteLine("TCP connections: " + string.Join(", ", states.Select(g => $"{FlowRow.TcpStateName(g.Key)} {g.Count()}")));
        WriteVoip(o, r);
        if (r.Anomalies.Count > 0)
            o.WriteLine("Anomalies: " + string.Join(", ", r.Anomalies.OrderByDescending(a => a.Count).Take(8).Select(a => $"{a.Name} {a.Count}")) + (r.Anomalies.Count > 8 ? ", ..." : ""));
        o.WriteLine($"Written: {Path.Combine(outDir, "flows.csv")} ({r.Flows.Count} flows), rtp_streams.csv ({r.Streams.Count} streams), calls.csv ({r.Calls.Count} calls), sip_options.csv, anomalies.csv");
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

    private static void WriteVoip(TextWriter o, AuditResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        if (r.Calls.Count == 0 && r.Streams.Count == 0 && r.Voip.SipTlsFlows == 0) return;
        int answered = r.Calls.Count(c => c.Sip.Answered);
        o.WriteLine(string.Create(inv, $"Calls: {r.Calls.Count} ({answered} answered, {r.Calls.Count(c => c.OneWay)} one-way media), peak {r.Voip.PeakConcurrentCalls} simultaneous; SIP messages {r.Voip.SipMessages}, SIP over TLS flows {r.Voip.SipTlsFlows} (not decrypted)"));
        foreach (var c in r.Calls.Take(20))
        {
            var sip = c.Sip;
            string status = sip.FinalStatus == 0 ? "no final answer" : $"{sip.FinalStatus} {sip.FinalReason}";
            o.WriteLine(string.Create(inv, $"  {Short(sip.CallId),-28} {sip.CallerIp} -> {sip.CalleeIp} {status,-16} {c.Codec,-10} answer {Ms(sip.AnswerMs)} dur {(sip.DurationS is { } d ? d.ToString("F1", inv) + " s" : "-")} kbps out/in {Kbps(c.MediaIpKbpsOut)}/{Kbps(c.MediaIpKbpsIn)} jitter {Ms(c.MaxJitterMs < 0 ? null : c.MaxJitterMs)} loss {c.LostPct:F2}% MOS {(c.Mos < 0 ? "-" : c.Mos.ToString("F2", inv))}{(c.OneWay ? " ONE-WAY" : "")}"));
        }
        if (r.Calls.Count > 20) o.WriteLine($"  ... {r.Calls.Count - 20} more in calls.csv");
        int matched = r.Streams.Count(s => s.SdpMatched);
        o.WriteLine(string.Create(inv, $"RTP streams: {r.Streams.Count} ({matched} matched to SDP, {r.Streams.Count - matched} found by their headers), peak media {r.Voip.PeakMediaIpKbps:F1} kbit/s at the IP layer"));
        var worst = r.Streams.OrderByDescending(s => s.MaxJitterMs).Take(3).ToList();
        foreach (var s in worst)
            o.WriteLine(string.Create(inv, $"  0x{s.Ssrc:X8} {s.SrcIp}:{s.SrcPort} -> {s.DstIp}:{s.DstPort} {s.Codec} {s.Packets} pkts lost {s.Lost} dup {s.Duplicates} max jitter {s.MaxJitterMs:F3} ms {s.IpKbps:F1} kbit/s"));
    }

    private static string Short(string callId) => callId.Length <= 28 ? callId : callId[..25] + "...";
    private static string Ms(double? ms) => ms is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) + " ms" : "-";
    private static string Kbps(double v) => v < 0 ? "-" : v.ToString("F1", CultureInfo.InvariantCulture);
}
