using System.Globalization;
using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs.Report;

/// <summary>
/// Writes report.html: one self-contained page (inline CSS and SVG, no script, no font or image to
/// fetch; a Content-Security-Policy forbids any load) that reads offline and prints to PDF. Sections in
/// order: verdict banner and requirements, findings by severity, expected-flow matrix, calls, per-call
/// charts, capture facts. Every string that came from the capture is HTML-escaped by <see cref="Html"/>.
/// Output depends only on the input (no wall clock), so the same run gives the same file.
/// </summary>
public static class HtmlReportWriter
{
    public const string FileName = "report.html";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes DIR/report.html through a temporary file and a rename; returns its path.</summary>
    public static string Write(string outDir, ReportInput input)
    {
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, FileName);
        WriteFile(path, input);
        return path;
    }

    /// <summary>Writes the report to <paramref name="path"/> through a temporary file in the same folder and a rename.</summary>
    public static void WriteFile(string path, ReportInput input)
    {
        string html = Render(input);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Environment.ProcessId + ".tmp");
        try
        {
            File.WriteAllText(tmp, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>The whole page as a string.</summary>
    public static string Render(ReportInput input)
    {
        var h = new Html();
        var r = input.Result;
        h.Trusted("<!DOCTYPE html>\n");
        h.Open("html", ("lang", "en")).Open("head");
        h.Trusted("<meta charset=\"utf-8\">");
        // Nothing may be fetched or run: styles inline, images only as data: (none today).
        h.Trusted("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'\">");
        h.Trusted("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        if (input.RefreshSeconds is > 0 and var seconds)
            h.Open("meta", ("http-equiv", "refresh"), ("content", seconds.ToString(Inv)));
        h.Element("title", "TrafficAudit report" + (r.Statistics.Frames > 0 ? " — " + NsTime.Iso(r.Statistics.FirstNs)[..16].Replace('T', ' ') + " UTC" : ""));
        h.Open("style").Trusted(Css).Close("style");
        h.Close("head").Open("body");

        WriteHeader(h, input);
        WriteVerdict(h, input);
        WriteNav(h);
        WriteFindings(h, input);
        WriteExpectedFlows(h, input);
        WriteCalls(h, input);
        WriteCharts(h, input);
        WriteFacts(h, input);

        h.Open("footer").Element("p", $"TrafficAudit {input.ToolVersion}. Times are UTC capture timestamps. Figures computed as in flows.csv, rtp_streams.csv and calls.csv.", "note").Close("footer");
        h.Close("body").Close("html");
        return h.ToString();
    }

    private static void WriteHeader(Html h, ReportInput input)
    {
        var st = input.Result.Statistics;
        h.Open("header");
        h.Element("h1", input.Live ? "TrafficAudit report (live capture, snapshot)" : "TrafficAudit report");
        if (input.Title is { Length: > 0 } title) h.Element("p", title, "title");
        string span = st.Frames > 0 ? $"{NsTime.Iso(st.FirstNs)} to {NsTime.Iso(st.LastNs)} ({st.Duration.TotalSeconds.ToString("F1", Inv)} s)" : "no packets";
        h.Open("p", ("class", "sub"));
        h.Text(input.Files.Count == 1 ? Path.GetFileName(input.Files[0]) : $"{input.Files.Count} capture files").Text(" · ").Text(span);
        if (input.Profile is { } p) h.Text(" · profile ").Text(p);
        if (input.Anonymizer is not null) h.Text(" · ").Element("strong", "anonymized: addresses and SIP users are pseudonyms");
        h.Close("p").Close("header");
    }

    private static void WriteVerdict(Html h, ReportInput input)
    {
        var verdict = input.Verdict ?? [];
        var findings = input.Findings ?? [];
        int errors = findings.Count(f => f.Severity == ReportSeverity.Error);
        int warnings = findings.Count(f => f.Severity == ReportSeverity.Warning);
        int infos = findings.Count(f => f.Severity == ReportSeverity.Info);
        int failed = verdict.Count(v => v.Status == ReportStatus.Fail);
        int notSeen = verdict.Count(v => v.Status == ReportStatus.NotSeen);

        string cls, headline;
        var detail = new List<string>();
        if (input.Verdict is null && input.Findings is null)
        {
            cls = "none";
            headline = "Not assessed: no profile given";
            detail.Add("the capture was measured, no requirement was checked");
        }
        else
        {
            cls = errors > 0 || failed > 0 ? "bad" : warnings > 0 || notSeen > 0 ? "warn" : "good";
            headline = errors == 0 && warnings == 0 && failed == 0 ? (notSeen > 0 ? "No errors or warnings" : "Clean") : $"{Plural(errors, "error")}, {Plural(warnings, "warning")}";
            if (verdict.Count > 0) detail.Add($"{verdict.Count - failed - notSeen} of {verdict.Count} requirements passed" + (failed > 0 ? $", {failed} failed" : "") + (notSeen > 0 ? $", {notSeen} not seen" : ""));
            if (infos > 0) detail.Add(Plural(infos, "note"));
        }
        h.Open("section", ("id", "verdict"), ("class", "banner " + cls), ("role", "status"));
        h.Element("div", headline, "headline");
        if (detail.Count > 0) h.Element("div", string.Join("; ", detail), "detail");
        h.Close("section");

        if (verdict.Count == 0)
        {
            h.Element("p", input.Profile is null ? "No profile given: no requirements were checked." : "The profile states no requirements.", "note");
            return;
        }
        h.Open("table", ("class", "verdict")).Open("thead").Open("tr").Element("th", "Requirement").Element("th", "Result").Element("th", "Detail").Close("tr").Close("thead").Open("tbody");
        foreach (var v in verdict)
        {
            h.Open("tr").Cell(v.Requirement);
            h.Open("td");
            Badge(h, v.Status switch { ReportStatus.Pass => "PASS", ReportStatus.Fail => "FAIL", _ => "NOT SEEN" }, v.Status switch { ReportStatus.Pass => "b-pass", ReportStatus.Fail => "b-fail", _ => "b-notseen" });
            h.Close("td").Cell(Anon(input, v.Detail)).Close("tr");
        }
        h.Close("tbody").Close("table");
    }

    private static void WriteNav(Html h)
    {
        h.Open("nav");
        foreach (var (id, label) in new[] { ("findings", "Findings"), ("expected", "Expected flows"), ("calls", "Calls"), ("charts", "Call charts"), ("facts", "Capture facts") })
            h.Open("a", ("href", "#" + id)).Text(label).Close("a");
        h.Close("nav");
    }

    private static void WriteFindings(Html h, ReportInput input)
    {
        h.Open("section", ("id", "findings")).Element("h2", "Findings");
        if (input.Findings is null)
        {
            h.Element("p", "No profile given: no findings were evaluated.", "note").Close("section");
            return;
        }
        if (input.Findings.Count == 0)
        {
            h.Element("p", "No findings: nothing broke a rule.", "note").Close("section");
            return;
        }
        foreach (var severity in new[] { ReportSeverity.Error, ReportSeverity.Warning, ReportSeverity.Info })
        {
            var list = input.Findings.Where(f => f.Severity == severity).ToList();
            if (list.Count == 0) continue;
            string name = SeverityName(severity);
            h.Element("h3", $"{char.ToUpperInvariant(name[0])}{name[1..]}s ({list.Count})");
            foreach (var f in list.Take(input.MaxFindingsPerSeverity)) WriteFinding(h, input, f);
            if (list.Count > input.MaxFindingsPerSeverity)
                h.Element("p", $"{list.Count - input.MaxFindingsPerSeverity} more {name}s are not listed here.", "note");
        }
        h.Close("section");
    }

    private static void WriteFinding(Html h, ReportInput input, ReportFinding f)
    {
        string name = SeverityName(f.Severity);
        h.Open("div", ("class", "finding f-" + name));
        h.Open("div", ("class", "fh"));
        Badge(h, name.ToUpperInvariant(), "b-" + name);
        h.Text(" ").Element("strong", f.Kind);
        if (f.Service.Length > 0) h.Text(" — ").Text(f.Service);
        if (f.Applications.Length > 0) h.Text(" (").Text(f.Applications).Text(")");
        h.Close("div");
        if (f.Message.Length > 0) h.Element("p", Anon(input, f.Message));
        h.Open("dl", ("class", "ev"));
        if (f.ClientIp is not null || f.ServerIp is not null)
        {
            string flow = $"{f.Transport} {Endpoint(input, f.ClientIp, f.ClientPort)} → {Endpoint(input, f.ServerIp, f.ServerPort)}".Trim();
            Fact(h, "Flow", flow);
        }
        if (f.FirstSeenNs > 0) Fact(h, "First seen", NsTime.Iso(f.FirstSeenNs));
        if (f.Count > 0) Fact(h, "Count", f.Count.ToString("N0", Inv));
        if (f.Measured is { } m)
            Fact(h, "Measured", $"{Num(m)} {f.Unit}".Trim() + (f.Threshold is { } t ? $" (threshold {Num(t)} {f.Unit})".Replace(" )", ")") : ""));
        if (f.Method.Length > 0) Fact(h, "Method", f.Method);
        if (f.Rule.Length > 0) Fact(h, "Rule", f.Rule);
        if (f.WiresharkFilter.Length > 0)
        {
            h.Element("dt", "Wireshark filter").Open("dd").Element("code", Anon(input, f.WiresharkFilter)).Close("dd");
        }
        h.Close("dl").Close("div");
    }

    private static void WriteExpectedFlows(Html h, ReportInput input)
    {
        h.Open("section", ("id", "expected")).Element("h2", "Expected flows");
        var expected = input.ExpectedFlows ?? [];
        if (expected.Count == 0)
        {
            h.Element("p", input.Profile is null ? "No profile given: no expectations were checked." : "The profile lists no expected flows.", "note").Close("section");
            return;
        }
        h.Element("p", "Each cell: what the capture showed for the application's service towards the peer (SEEN, PARTIAL, BLOCKED, MISSING), with the flow_id values of flows.csv that show it; — means not expected.", "note");
        foreach (var app in expected.GroupBy(e => e.Applications).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            h.Element("h3", app.Key.Length == 0 ? "(no application)" : app.Key.Replace(";", ", ", StringComparison.Ordinal));
            var peers = app.Select(e => e.Peer).Distinct(StringComparer.Ordinal).ToList();
            var rows = app.GroupBy(e => (e.Service, e.Ports)).ToList();
            h.Open("table", ("class", "matrix")).Open("thead").Open("tr").Element("th", "Service");
            foreach (var p in peers) h.Element("th", Anon(input, p));
            h.Close("tr").Close("thead").Open("tbody");
            foreach (var row in rows)
            {
                h.Open("tr").Open("th", ("scope", "row")).Text(row.Key.Service);
                if (row.Key.Ports.Length > 0) h.Text(" ").Element("span", row.Key.Ports, "ports");
                h.Close("th");
                foreach (var p in peers)
                {
                    var cell = row.FirstOrDefault(e => e.Peer == p);
                    if (cell is null) { h.Cell("—", cssClass: "na"); continue; }
                    h.Open("td");
                    Badge(h, FlowStatusName(cell.Status), "b-" + FlowStatusName(cell.Status).ToLowerInvariant());
                    if (cell.EvidenceFlowIds.Count > 0)
                        h.Element("div", "flows " + string.Join(", ", cell.EvidenceFlowIds.Take(12).Select(i => i.ToString(Inv))) + (cell.EvidenceFlowIds.Count > 12 ? $" (+{cell.EvidenceFlowIds.Count - 12})" : ""), "evid");
                    h.Close("td");
                }
                h.Close("tr");
            }
            h.Close("tbody").Close("table");
        }
        h.Close("section");
    }

    private static void WriteCalls(Html h, ReportInput input)
    {
        var r = input.Result;
        double budget = input.CallKbpsBudget;
        h.Open("section", ("id", "calls")).Element("h2", "Calls");
        if (r.Calls.Count == 0)
        {
            h.Element("p", r.Voip.SipTlsFlows > 0 ? $"No SIP call could be read: {Plural(r.Voip.SipTlsFlows, "SIP over TLS flow")} (encrypted)." : "No SIP call in the capture.", "note");
            int loose = r.Streams.Count(s => s.CallId.Length == 0);
            if (loose > 0) h.Element("p", $"{Plural(loose, "RTP stream")} without SIP signalling are in rtp_streams.csv.", "note");
            h.Close("section");
            return;
        }
        var v = r.Voip;
        h.Element("p", $"{r.Calls.Count} calls ({r.Calls.Count(c => c.Sip.Answered)} answered, {r.Calls.Count(c => c.OneWay)} with one-way media); peak {v.PeakConcurrentCalls} simultaneous" +
            (v.PeakConcurrentCalls > 0 ? $" at {NsTime.Iso(v.PeakConcurrentCallsAtNs)}" : "") +
            $"; peak media {v.PeakMediaIpKbps.ToString("F1", Inv)} kbit/s at the IP layer. Budget per call and direction: {Num(budget)} kbit/s (IP layer); figures above it are marked OVER.");
        h.Open("div", ("class", "scroll")).Open("table", ("class", "calls")).Open("thead").Open("tr");
        foreach (var col in new[] { "#", "Call-ID", "From → To", "Caller → callee", "Result", "Codec", "Start (UTC)", "Duration s", "100 ms", "Ringing ms", "Answer ms", "Max jitter ms", "Loss %", "MOS", "kbit/s out", "kbit/s in" })
            h.Element("th", col);
        h.Close("tr").Close("thead").Open("tbody");
        int n = 0;
        foreach (var c in r.Calls.Take(input.MaxTableCalls))
        {
            n++;
            var s = c.Sip;
            string callId = Anon(input, s.CallId);
            h.Open("tr");
            h.Cell(n.ToString(Inv), numeric: true);
            h.Cell(Short(callId, 32), cssClass: "cid", title: callId);
            h.Cell($"{Uri(input, s.FromUri)} → {Uri(input, s.ToUri)}", cssClass: "uri");
            h.Cell($"{Ip(input, s.CallerIp)} → {Ip(input, s.CalleeIp)}");
            string result = s.FinalStatus == 0 ? "no final answer" : $"{s.FinalStatus} {s.FinalReason}";
            if (c.OneWay) result += " · ONE-WAY media";
            if (s.T38) result += " · T.38";
            h.Cell(result, cssClass: c.OneWay || s.FinalStatus >= 300 ? "bad" : null);
            h.Cell(c.Codec);
            h.Cell(NsTime.Iso(s.StartNs)[..19].Replace('T', ' '));
            h.Cell(Opt(s.DurationS, 1), numeric: true);
            h.Cell(Opt(s.Response100Ms, 1), numeric: true);
            h.Cell(Opt(s.PostDialDelayMs, 1), numeric: true);
            h.Cell(Opt(s.AnswerMs, 1), numeric: true);
            h.Cell(c.MaxJitterMs < 0 ? "" : c.MaxJitterMs.ToString("F2", Inv), numeric: true);
            h.Cell(c.Streams.Count == 0 ? "" : c.LostPct.ToString("F2", Inv), numeric: true);
            h.Cell(c.Mos < 0 ? "" : c.Mos.ToString("F2", Inv), numeric: true);
            KbpsCell(h, c.MediaIpKbpsOut, budget);
            KbpsCell(h, c.MediaIpKbpsIn, budget);
            h.Close("tr");
        }
        h.Close("tbody").Close("table").Close("div");
        if (r.Calls.Count > input.MaxTableCalls)
            h.Element("p", $"The first {input.MaxTableCalls} of {r.Calls.Count} calls are listed; calls.csv has them all.", "note");
        int looseStreams = r.Streams.Count(st => st.CallId.Length == 0);
        if (looseStreams > 0) h.Element("p", $"{Plural(looseStreams, "RTP stream")} without SIP signalling are in rtp_streams.csv.", "note");
        h.Close("section");
    }

    private static void KbpsCell(Html h, double kbps, double budget)
    {
        if (kbps < 0) { h.Cell("", numeric: true); return; }
        bool over = kbps > budget + 0.05;
        h.Cell(kbps.ToString("F1", Inv) + (over ? " OVER" : ""), numeric: true, cssClass: over ? "over" : null);
    }

    private static void WriteCharts(Html h, ReportInput input)
    {
        var r = input.Result;
        h.Open("section", ("id", "charts")).Element("h2", "Call charts");
        var withMedia = r.Calls.Select((c, i) => (Call: c, Number: i + 1)).Where(x => x.Call.Streams.Any(s => s.TimeSeries is { } t && t.Buckets.Length > 0)).ToList();
        if (withMedia.Count == 0)
        {
            h.Element("p", "No call carried RTP in the capture.", "note").Close("section");
            return;
        }
        h.Open("p", ("class", "note"));
        h.Text("Per call: the highest jitter (ms, as Wireshark computes it) and the IP-layer bandwidth (kbit/s) of each second, for each RTP stream. ");
        h.Element("span", "Solid blue: out (caller → callee)", "k-out").Text("; ").Element("span", "dashed orange: in (callee → caller)", "k-in");
        h.Text($"; dotted red: budget {Num(input.CallKbpsBudget)} kbit/s.");
        if (withMedia.Count > input.MaxChartedCalls) h.Text($" Charts for the first {input.MaxChartedCalls} of {withMedia.Count} calls with media; rtp_streams.csv has every stream.");
        h.Close("p");
        h.Open("div", ("class", "charts"));
        foreach (var (call, number) in withMedia.Take(input.MaxChartedCalls))
        {
            var series = SvgChart.Build(call);
            var s = call.Sip;
            string label = $"Call {number}: {Ip(input, s.CallerIp)} → {Ip(input, s.CalleeIp)}, {call.Codec}";
            h.Open("figure", ("class", "call-charts"), ("id", "call-" + number.ToString(Inv)));
            h.Open("figcaption").Element("strong", label).Text(" ").Element("span", Short(Anon(input, s.CallId), 48), "cid");
            if (series.BucketS > 1) h.Text($" (peaks per {Num(series.BucketS)} s)");
            h.Close("figcaption").Open("div", ("class", "pair"));
            SvgChart.Write(h, "Jitter (ms)", $"Jitter of call {number}", series.DurationS, series.Jitter, null, null);
            SvgChart.Write(h, "IP bandwidth (kbit/s)", $"IP bandwidth of call {number}", series.DurationS, series.Kbps, input.CallKbpsBudget, $"budget {Num(input.CallKbpsBudget)}");
            h.Close("div").Close("figure");
        }
        h.Close("div").Close("section");
    }

    private static void WriteFacts(Html h, ReportInput input)
    {
        var r = input.Result;
        var st = r.Statistics;
        h.Open("section", ("id", "facts")).Element("h2", "Capture facts");
        h.Open("dl", ("class", "facts"));
        Fact(h, "Tool", "TrafficAudit " + input.ToolVersion);
        h.Element("dt", "Command line").Open("dd").Element("code", input.CommandLine).Close("dd");
        h.Element("dt", input.Live ? "Source" : "Files").Open("dd").Open("ul");
        foreach (var f in input.Files)
        {
            string size = File.Exists(f) ? $" ({new FileInfo(f).Length.ToString("N0", Inv)} bytes)" : "";
            h.Element("li", f + size);
        }
        h.Close("ul").Close("dd");
        Fact(h, "Time span", st.Frames > 0 ? $"{NsTime.Iso(st.FirstNs)} to {NsTime.Iso(st.LastNs)} ({st.Duration.TotalSeconds.ToString("F3", Inv)} s)" : "no packets");
        Fact(h, "Packets", $"{st.Frames.ToString("N0", Inv)} read ({st.CapturedBytes.ToString("N0", Inv)} bytes): IP {st.IpPackets.ToString("N0", Inv)}, non-IP {st.NonIpFrames.ToString("N0", Inv)}, malformed {st.MalformedFrames.ToString("N0", Inv)}, fragments held {st.FragmentsHeld.ToString("N0", Inv)}, out-of-order timestamps {st.OutOfOrderTimestamps.ToString("N0", Inv)}");
        Fact(h, "Flows", $"{r.Flows.Count.ToString("N0", Inv)} ({r.Flows.Count(f => f.TcpState == Flows.TcpHandshakeState.Refused)} refused, {r.Flows.Count(f => f.TcpState == Flows.TcpHandshakeState.Unanswered)} unanswered TCP)");
        Fact(h, "VoIP", $"{r.Calls.Count} calls, {r.Streams.Count} RTP streams, {r.Voip.SipMessages.ToString("N0", Inv)} SIP messages, {r.Voip.SipTlsFlows} SIP over TLS flows (not decrypted)");
        var drops = r.Interfaces.Where(i => i.InterfaceDropped is not null || i.OsDropped is not null).ToList();
        Fact(h, "Drops", drops.Count == 0
            ? "not recorded by the capture files"
            : string.Join("; ", drops.Select(i => $"{i.Name ?? "interface " + i.Index.ToString(Inv)} ({Path.GetFileName(i.File)}): dropped {Opt(i.InterfaceDropped)} by the interface, {Opt(i.OsDropped)} by the OS, received {Opt(i.InterfaceReceived)}")));
        h.Close("dl");
        foreach (var e in r.Errors) h.Element("p", $"Incomplete: {e.File}: reading stopped at byte offset {e.ByteOffset.ToString(Inv)}: {e.Message}; the packets before it were audited.", "bad");

        h.Element("h3", input.ServersGiven ? "Imagicle nodes (given)" : "Imagicle nodes (detected)");
        if (r.Nodes.Count == 0) h.Element("p", "None detected: no host terminates an Imagicle-specific port.", "note");
        else
        {
            h.Open("table", ("class", "small")).Open("thead").Open("tr").Element("th", "Address").Element("th", "Why").Close("tr").Close("thead").Open("tbody");
            foreach (var n in r.Nodes) h.Open("tr").Cell(Ip(input, n.Address)).Cell(n.Explicit ? "given with --server" : Anon(input, n.Reason)).Close("tr");
            h.Close("tbody").Close("table");
        }

        h.Element("h3", "Anomalies");
        if (r.Anomalies.Count == 0) h.Element("p", "None.", "note");
        else
        {
            h.Open("table", ("class", "small")).Open("thead").Open("tr").Element("th", "Name").Element("th", "Count").Element("th", "First packet").Element("th", "File").Close("tr").Close("thead").Open("tbody");
            foreach (var a in r.Anomalies.OrderByDescending(a => a.Count).ThenBy(a => a.Name, StringComparer.Ordinal))
            {
                string file = a.FirstFileIndex >= 0 && a.FirstFileIndex < input.Files.Count ? Path.GetFileName(input.Files[a.FirstFileIndex]) : "";
                h.Open("tr").Cell(a.Name).Cell(a.Count.ToString("N0", Inv), numeric: true).Cell(a.FirstFrame.ToString(Inv), numeric: true).Cell(file).Close("tr");
            }
            h.Close("tbody").Close("table");
        }
        h.Close("section");
    }

    // ----- small helpers -----

    private static void Badge(Html h, string text, string cls) => h.Element("span", text, "badge " + cls);

    private static void Fact(Html h, string name, string value) => h.Element("dt", name).Element("dd", value);

    private static string Anon(ReportInput input, string text) => input.Anonymizer?.Text(text) ?? text;
    private static string Uri(ReportInput input, string uri) => input.Anonymizer?.SipUri(uri) ?? uri;
    private static string Ip(ReportInput input, IpAddress ip) => input.Anonymizer?.Ip(ip) ?? ip.ToString();

    private static string Endpoint(ReportInput input, IpAddress? ip, ushort port)
    {
        if (ip is not { } a) return port > 0 ? ":" + port.ToString(Inv) : "";
        string text = Ip(input, a);
        if (!a.IsV4) text = "[" + text + "]";
        return port > 0 ? text + ":" + port.ToString(Inv) : text;
    }

    private static string SeverityName(ReportSeverity s) => s switch { ReportSeverity.Error => "error", ReportSeverity.Warning => "warning", _ => "info" };

    private static string FlowStatusName(ReportFlowStatus s) => s switch
    {
        ReportFlowStatus.Seen => "SEEN",
        ReportFlowStatus.Partial => "PARTIAL",
        ReportFlowStatus.Blocked => "BLOCKED",
        _ => "MISSING",
    };

    private static string Plural(int n, string noun) => n.ToString(Inv) + " " + noun + (n == 1 ? "" : "s");
    private static string Num(double v) => v == Math.Floor(v) && Math.Abs(v) < 1e12 ? v.ToString("F0", Inv) : v.ToString("0.###", Inv);
    private static string Opt(double? v, int decimals) => v is { } x ? x.ToString("F" + decimals.ToString(Inv), Inv) : "";
    private static string Opt(ulong? v) => v is { } x ? x.ToString("N0", Inv) : "?";
    private static string Short(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private const string Css = """
:root{--pass:#1b7f3b;--fail:#b3261e;--warn:#8a5300;--info:#1f5fbf;--muted:#5f6368;--line:#d0d4d9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1d1f;background:#fff;margin:0 auto;max-width:1280px;padding:16px 24px}
h1{font-size:22px;margin:0}
h2{font-size:18px;border-bottom:2px solid var(--line);padding-bottom:3px;margin:28px 0 8px}
h3{font-size:15px;margin:16px 0 6px}
.sub{color:var(--muted);margin:2px 0 0}
.banner{border:3px solid;border-radius:6px;padding:10px 16px;margin:12px 0 10px}
.banner .headline{font-size:24px;font-weight:700}
.banner .detail{font-size:14px}
.banner.bad{border-color:var(--fail);background:#fdecea;color:var(--fail)}
.banner.warn{border-color:var(--warn);background:#fff4e0;color:var(--warn)}
.banner.good{border-color:var(--pass);background:#e6f4ea;color:var(--pass)}
.banner.none{border-color:#888;background:#f3f3f3;color:#333;border-style:dashed}
.badge{display:inline-block;min-width:5.2em;text-align:center;border:1px solid;border-radius:3px;padding:0 5px;font-weight:700;font-size:11px;letter-spacing:.04em;white-space:nowrap}
.b-pass,.b-seen{color:var(--pass);background:#e6f4ea}
.b-fail,.b-error,.b-blocked{color:var(--fail);background:#fdecea}
.b-missing{color:var(--fail);background:#fff;border-style:dashed}
.b-warning,.b-partial{color:var(--warn);background:#fff4e0}
.b-notseen{color:#444;background:#eee;border-style:dotted}
.b-info{color:var(--info);background:#e8f0fe}
nav{margin:6px 0 0;font-size:13px}nav a{margin-right:14px;color:var(--info)}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:6px 0}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
thead th{background:#f1f3f4;position:sticky;top:0}
tbody th{background:#fafafa;font-weight:600}
table.verdict td:first-child{width:55%}
table.small{width:auto}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.over,td.bad,p.bad{color:var(--fail);font-weight:700}
td.na{color:#999;text-align:center}
td.cid{font-family:ui-monospace,Menlo,Consolas,"Liberation Mono",monospace;font-size:11px}
td.uri{word-break:break-all}
.scroll{overflow-x:auto}
.ports{color:var(--muted);font-weight:400;font-size:11px}
.evid{color:var(--muted);font-size:11px}
code{font-family:ui-monospace,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px;background:#f6f8fa;padding:1px 4px;word-break:break-all}
.finding{border-left:5px solid;padding:6px 10px;margin:8px 0;background:#fafafa}
.finding p{margin:4px 0}
.f-error{border-color:var(--fail)}.f-warning{border-color:var(--warn)}.f-info{border-color:var(--info)}
dl.ev,dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:4px 0}
dl.ev{font-size:12.5px}
dt{font-weight:600;color:#333}dd{margin:0}dd ul{margin:0;padding-left:18px}
.note{color:var(--muted);font-style:italic}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:10px}
figure.call-charts{margin:0;border:1px solid var(--line);border-radius:4px;padding:6px 8px}
figcaption{font-size:12px;margin-bottom:2px}
figcaption .cid{color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px}
.pair{display:flex;gap:6px}
svg.chart{width:50%;height:auto}
svg text{font-size:9px;fill:#444}
svg text.ct{font-size:10px;font-weight:600;fill:#222}
svg text.yl,svg text.xr{text-anchor:end}
svg text.rl{fill:var(--fail)}
.axis{fill:none;stroke:#777;stroke-width:1}.grid{stroke:#e3e3e3;stroke-width:1}
.s-out{fill:none;stroke:#1f5fbf;stroke-width:1.4}
.s-in{fill:none;stroke:#d9730d;stroke-width:1.4;stroke-dasharray:5 3}
.ref{stroke:var(--fail);stroke-width:1;stroke-dasharray:2 2}
.k-out{color:#1f5fbf;font-style:normal}.k-in{color:#d9730d;font-style:normal}
footer{margin-top:28px;border-top:1px solid var(--line)}
@media print{
 body{max-width:none;padding:0;font-size:10.5px}
 nav{display:none}
 thead th{position:static}
 h2,h3{break-after:avoid}
 tr,.finding,figure.call-charts,.banner{break-inside:avoid}
 .scroll{overflow:visible}
 .charts{grid-template-columns:1fr 1fr}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 @page{size:A4 landscape;margin:10mm}
}
""";
}
