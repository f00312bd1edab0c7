using System.Globalization;
using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Outputs.Report;

/// <summary>
/// Writes report.html: one self-contained page (inline CSS and SVG, no script, no font or image to
/// fetch; a Content-Security-Policy forbids any load) that reads offline and prints to PDF. Worst first:
/// verdict banner and requirements (failures first), findings by severity, call quality (summary and the
/// worst calls), expected-flow matrix, calls (worst first), per-call charts (worst first), capture facts. Every string that came from the capture is HTML-escaped by <see cref="Html"/>.
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
        h.Element("title", (input.Title is { } title ? Anon(input, title) + " — " : "") + "TrafficAudit report" + (r.Statistics.Frames > 0 ? " — " + NsTime.Iso(r.Statistics.FirstNs)[..16].Replace('T', ' ') + " UTC" : ""));
        h.Open("style").Trusted(Css).Close("style");
        h.Close("head").Open("body");

        WriteHeader(h, input);
        WriteVerdict(h, input);
        WriteNav(h);
        var totals = TotalsOf(input);
        WriteFindings(h, input);
        WriteQuality(h, input, totals);
        WriteExpectedFlows(h, input);
        WriteCalls(h, input, totals);
        WriteCharts(h, input, totals);
        WriteFacts(h, input, totals);

        h.Open("footer").Element("p", $"TrafficAudit {input.ToolVersion}. Times are UTC capture timestamps. Figures computed as in flows.csv, rtp_streams.csv and calls.csv.", "note").Close("footer");
        h.Close("body").Close("html");
        return h.ToString();
    }

    private static void WriteHeader(Html h, ReportInput input)
    {
        var st = input.Result.Statistics;
        h.Open("header");
        string kind = input.Live ? "TrafficAudit report (live capture, snapshot)" : "TrafficAudit report";
        if (input.Title is { } title)
        {
            h.Element("h1", Anon(input, title));
            h.Element("p", kind, "kind");
        }
        else h.Element("h1", kind);
        string span = st.Frames > 0 ? $"{NsTime.Iso(st.FirstNs)[..19].Replace('T', ' ')} to {NsTime.Iso(st.LastNs)[..19].Replace('T', ' ')} UTC ({Duration(st.Duration.TotalSeconds)})" : "no packets";
        // File names only: a local folder says nothing to the reader and may name the customer.
        var names = input.Files.Select(f => ShownFile(input, f)).ToList();
        h.Open("p", ("class", "sub"));
        h.Text(names.Count <= 3 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(2))} and {names.Count - 2} more capture files").Text(" · ").Text(span);
        if (input.Profile is { } p) h.Text(" · profile ").Text(ShownFile(input, p));
        if (input.Anonymizer is not null) h.Text(" · ").Element("strong", "anonymized: addresses, host names and SIP users are pseudonyms");
        h.Close("p").Close("header");
    }

    private static void WriteVerdict(Html h, ReportInput input)
    {
        var verdict = input.Verdict ?? [];
        var findings = input.Findings ?? [];
        int errors = findings.Count(f => f.Severity == ReportSeverity.Error);
        int warnings = findings.Count(f => f.Severity == ReportSeverity.Warning);
        int infos = findings.Count(f => f.Severity == ReportSeverity.Info);
        int failed = verdict.Count(v => v.Status.State == RequirementState.Fail);
        int notSeen = verdict.Count(v => v.Status.State == RequirementState.NotSeenRequired);

        string cls, headline;
        var detail = new List<string>();
        if (input.Banner is { } b)
        {
            // The verdict as the console words it: what was checked, never "Clean" when nothing was.
            cls = ToneClass(b.Tone);
            headline = b.Headline;
            detail.Add(b.Detail);
        }
        else if (input.Verdict is null && input.Findings is null)
        {
            cls = "none";
            headline = "Not assessed: no profile given";
            detail.Add("the capture was measured, no requirement was checked");
        }
        else
        {
            cls = errors > 0 || failed > 0 || notSeen > 0 ? "bad" : warnings > 0 ? "warn" : "good";
            headline = errors == 0 && warnings == 0 && failed + notSeen == 0 ? "Clean" : $"{Plural(errors, "error")}, {Plural(warnings, "warning")}";
            if (verdict.Count > 0) detail.Add($"{verdict.Count(v => v.Status.State == RequirementState.Pass)} of {verdict.Count} requirements PASS" + (failed > 0 ? $", {failed} FAIL" : "") + (notSeen > 0 ? $", {notSeen} NOT SEEN (required)" : ""));
            if (infos > 0) detail.Add(Plural(infos, "note"));
        }
        if (input.ExitReason is { } reason) detail.Add(reason);
        h.Open("section", ("id", "verdict"), ("class", "banner " + cls), ("role", "status"));
        h.Element("div", headline, "headline");
        if (detail.Count > 0) h.Element("div", string.Join("; ", detail), "detail");
        h.Close("section");

        if (verdict.Count == 0)
        {
            h.Element("p", input.Profile is null ? "No profile given: no requirements were checked."
                : input.Result.Nodes.Count == 0 ? "Requirements not checked: no Imagicle node known (add \"nodes\" to the profile, or give --server IP)."
                : "The profile states no requirements.", "note");
            return;
        }
        h.Open("table", ("class", "verdict")).Open("thead").Open("tr").Element("th", "Requirement").Element("th", "Result").Element("th", "Detail").Close("tr").Close("thead").Open("tbody");
        // Worst first: failures, then what the capture could not show, then what passed (stable within each).
        foreach (var v in verdict.OrderBy(v => v.Status.WorstFirstRank))
        {
            h.Open("tr").Cell(v.Requirement);
            h.Open("td");
            Badge(h, v.Status.Label, StatusClass(v.Status));
            h.Close("td").Cell(Anon(input, v.Detail)).Close("tr");
        }
        h.Close("tbody").Close("table");
    }

    private static void WriteNav(Html h)
    {
        h.Open("nav");
        foreach (var (id, label) in new[] { ("findings", "Findings"), ("quality", "Call quality"), ("expected", "Expected flows"), ("calls", "Calls"), ("charts", "Call charts"), ("facts", "Capture facts") })
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
            EvidenceFact(h, "Flow", flow);
        }
        if (f.FirstSeenNs > 0) EvidenceFact(h, "First seen", NsTime.Iso(f.FirstSeenNs));
        if (f.Count > 0) EvidenceFact(h, "Count", f.Count.ToString("N0", Inv));
        if (f.Measured is { } m)
            EvidenceFact(h, "Measured", $"{Num(m)} {f.Unit}".Trim() + (f.Threshold is { } t ? $" (threshold {Num(t)} {f.Unit})".Replace(" )", ")") : ""));
        if (f.Method.Length > 0) EvidenceFact(h, "Method", f.Method);
        if (f.Rule.Length > 0) EvidenceFact(h, "Rule", f.Rule);
        if (f.WiresharkFilter.Length > 0)
        {
            h.Open("div", ("class", "wide")).Element("dt", "Wireshark filter").Open("dd").Element("code", Anon(input, f.WiresharkFilter)).Close("dd").Close("div");
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
        h.Element("p", "Each cell: the requirement's state for the application's service towards the peer (PASS, FAIL with its reason, NOT SEEN (required), NOT SEEN (optional), NOT EXPECTED), with the flow_id values of flows.csv that show it; — means the profile asks for nothing there.", "note");
        foreach (var app in expected.GroupBy(e => e.Applications).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            h.Open("div", ("class", "matrix-group"));
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
                    Badge(h, cell.Status.Label, StatusClass(cell.Status));
                    if (cell.EvidenceFlowIds.Count > 0)
                        h.Element("div", "flows " + string.Join(", ", cell.EvidenceFlowIds.Take(12).Select(i => i.ToString(Inv))) + (cell.EvidenceFlowIds.Count > 12 ? $" (+{cell.EvidenceFlowIds.Count - 12})" : ""), "evid");
                    h.Close("td");
                }
                h.Close("tr");
            }
            h.Close("tbody").Close("table").Close("div");
        }
        h.Close("section");
    }

    /// <summary>MOS below this is flagged (E-model R below 70: "some users dissatisfied", ITU-T G.107 Annex B).</summary>
    internal const double MosFloor = CallRanking.MosFloor;

    /// <summary>The thresholds the report holds calls against.</summary>
    private static CallQualityBudget BudgetOf(ReportInput input) =>
        new() { CallKbps = input.CallKbpsBudget, JitterMs = input.JitterBudgetMs, LossPct = input.LossBudgetPct };

    /// <summary>
    /// The run's counts and bounded selections: <see cref="ReportInput.Totals"/>, or those of the result's
    /// records. The report reads calls and streams only from them (worst first: <see cref="CallRanking"/>).
    /// </summary>
    private static RunTotals TotalsOf(ReportInput input)
    {
        var budget = BudgetOf(input);
        if (input.Totals is not { } t) return RunTotals.From(input.Result, budget, input.MaxTableCalls, input.MaxChartedCalls);
        if (t.Budget != budget)
            throw new ArgumentException($"the run totals hold calls against {t.Budget}, the report against {budget}: build them with the report's thresholds", nameof(input));
        if (t.MaxTableCalls < input.MaxTableCalls || t.MaxChartedCalls < input.MaxChartedCalls)
            throw new ArgumentException($"the run totals keep {t.MaxTableCalls} calls and {t.MaxChartedCalls} charts, the report lists {input.MaxTableCalls} and {input.MaxChartedCalls}", nameof(input));
        return t;
    }

    /// <summary>RTP one way although the SDP asked for both (as the one_way_media rule); sendonly/recvonly calls (recording) are what was asked for.</summary>
    private static bool UnexpectedOneWay(CallRecord c) => Policy.FindingRules.IsOneWayProblem(c);

    private static void WriteQuality(Html h, ReportInput input, RunTotals t)
    {
        var r = input.Result;
        h.Open("section", ("id", "quality")).Element("h2", "Call quality");
        if (t.Calls == 0)
        {
            h.Element("p", t.SipTlsFlows > 0 ? $"No SIP call could be read: {Plural(t.SipTlsFlows, "SIP over TLS flow")} (encrypted)." : "No SIP call in the capture.", "note");
            long loose = t.StreamsWithoutCall;
            if (loose > 0) h.Element("p", $"{Plural(loose, "RTP stream")} without SIP signalling are in rtp_streams.csv.", "note");
            h.Close("section");
            return;
        }
        var mos = t.Mos;
        var jitter = t.JitterMs;
        var loss = t.LossPct;
        var v = r.Voip;

        h.Open("div", ("class", "kpis"));
        long withRtp = t.CallsWithRtp;
        Kpi(h, "Calls", t.Calls.ToString("N0", Inv), $"{t.CallsAnswered.ToString("N0", Inv)} answered, {withRtp.ToString("N0", Inv)} with RTP");
        long oneWay = t.CallsOneWayProblem;
        long asked = t.CallsOneWay - oneWay;
        Kpi(h, "One-way media", oneWay.ToString("N0", Inv), asked > 0 ? $"+ {asked.ToString("N0", Inv)} one-way as the SDP asked" : "RTP one way, SDP both", oneWay > 0 ? "bad" : null);
        Kpi(h, "MOS, median", mos.Count == 0 ? "—" : mos.Percentile(50).ToString("F2", Inv),
            mos.Count == 0 ? "no call with RTP" : $"5th pct {mos.Percentile(5).ToString("F2", Inv)}, lowest {mos.Min.ToString("F2", Inv)}",
            mos.Count > 0 && mos.Min < MosFloor ? "bad" : null);
        Kpi(h, "Jitter (ms), median", jitter.Count == 0 ? "—" : jitter.Percentile(50).ToString("F1", Inv),
            jitter.Count == 0 ? "no call with RTP" : $"95th pct {jitter.Percentile(95).ToString("F1", Inv)}, highest {jitter.Max.ToString("F1", Inv)}",
            jitter.Count > 0 && jitter.Max > input.JitterBudgetMs ? "bad" : null);
        Kpi(h, "Loss (%), median", loss.Count == 0 ? "—" : loss.Percentile(50).ToString("F2", Inv),
            loss.Count == 0 ? "no call with RTP" : $"95th pct {loss.Percentile(95).ToString("F2", Inv)}, highest {loss.Max.ToString("F2", Inv)}",
            loss.Count > 0 && loss.Max > input.LossBudgetPct ? "bad" : null);
        Kpi(h, "Peak concurrent calls", v.PeakConcurrentCalls.ToString("N0", Inv), v.PeakConcurrentCalls > 0 ? "at " + Time(v.PeakConcurrentCallsAtNs) : "");
        Kpi(h, "Peak media (kbit/s)", v.PeakMediaIpKbps.ToString("N1", Inv), v.PeakMediaIpKbps > 0 ? "all RTP, IP layer, at " + Time(v.PeakMediaIpKbpsAtNs) : "");
        h.Close("div");
        h.Element("p", $"Per call: MOS is the E-model estimate of its worst stream behind the adaptive jitter buffer (calls.csv mos; mos_network without it), jitter the highest of its streams (max_jitter_ms), loss its worse direction (lost_pct); " +
            $"percentiles by nearest rank over the {withRtp.ToString("N0", Inv)} calls with RTP{HistogramNote(t)}. Thresholds: MOS {MosFloor.ToString("F1", Inv)}, jitter {Num(input.JitterBudgetMs)} ms, loss {Num(input.LossBudgetPct)} %.", "note");

        // Calls with a problem rank first: the worst ones are the head of the table's selection.
        var bad = t.WorstCalls.Where(x => x.Problems.Count > 0).Take(input.MaxWorstCalls).ToList();
        long badCount = t.CallsWithProblem;
        h.Element("h3", badCount == 0 ? "Worst calls: none has a problem" : $"Worst calls ({badCount.ToString("N0", Inv)} with a problem" + (badCount > input.MaxWorstCalls ? $", the first {input.MaxWorstCalls} here" : "") + ")");
        if (badCount == 0)
        {
            h.Element("p", $"No call has one-way media, a MOS below {MosFloor.ToString("F1", Inv)}, loss above {Num(input.LossBudgetPct)} %, jitter above {Num(input.JitterBudgetMs)} ms, media above {Num(input.CallKbpsBudget)} kbit/s or a failed setup.", "note");
        }
        else
        {
            h.Open("table", ("class", "worst")).Open("thead").Open("tr");
            foreach (var col in new[] { "Call #", "From → To", "Problem", "MOS", "Loss (%)", "Max jitter (ms)", "Caller sent (kbit/s)", "Callee sent (kbit/s)" })
                h.Element("th", col);
            h.Close("tr").Close("thead").Open("tbody");
            foreach (var x in bad)
            {
                var c = x.Call;
                h.Open("tr");
                h.Open("td", ("class", "num")).Open("a", ("href", "#call-" + x.Number.ToString(Inv))).Text(x.Number.ToString(Inv)).Close("a").Close("td");
                UriCell(h, input, c);
                h.Cell(string.Join(", ", x.Problems), cssClass: "bad");
                h.Cell(c.Mos < 0 ? "" : c.Mos.ToString("F2", Inv), numeric: true);
                h.Cell(c.Streams.Count == 0 ? "" : c.LostPct.ToString("F2", Inv), numeric: true);
                h.Cell(c.MaxJitterMs < 0 || c.Streams.Count == 0 ? "" : c.MaxJitterMs.ToString("F2", Inv), numeric: true);
                KbpsCell(h, c.MediaIpKbpsOut, input.CallKbpsBudget);
                KbpsCell(h, c.MediaIpKbpsIn, input.CallKbpsBudget);
                h.Close("tr");
            }
            h.Close("tbody").Close("table");
        }
        h.Close("section");
    }

    private static void Kpi(Html h, string name, string value, string detail, string? cls = null)
    {
        h.Open("div", ("class", cls is null ? "kpi" : "kpi " + cls));
        h.Element("div", name, "kn").Element("div", value, "kv").Element("div", detail, "kd");
        h.Close("div");
    }

    /// <summary>
    /// Said only when a figure had more calls than are kept one by one (<see cref="QualityDistribution"/>):
    /// its percentiles come from a histogram, at most one bin below the exact figure.
    /// </summary>
    private static string HistogramNote(RunTotals t)
    {
        if (t.Mos.IsExact && t.JitterMs.IsExact && t.LossPct.IsExact) return "";
        return $" (past {t.Mos.ExactCap.ToString("N0", Inv)} calls from a histogram: MOS to {Num(t.Mos.Resolution)}, jitter to {Num(t.JitterMs.Resolution)} ms, loss to {Num(t.LossPct.Resolution)} %, lowest and highest exact)";
    }

    private static void WriteCalls(Html h, ReportInput input, RunTotals t)
    {
        var r = input.Result;
        double budget = input.CallKbpsBudget;
        h.Open("section", ("id", "calls")).Element("h2", "Calls");
        if (t.Calls == 0)
        {
            h.Element("p", "No SIP call in the capture.", "note").Close("section");
            return;
        }
        h.Element("p", $"{Plural(t.Calls, "call")}, worst first: calls with a problem, then by MOS (lowest first), loss and jitter. Call # is the order of the first INVITE (the row of calls.csv). " +
            $"Budget per call and direction: {Num(budget)} kbit/s at the IP layer; figures above it are marked OVER. Hover a shortened Call-ID for the whole value.", "note");
        // One day in the capture: the time alone says when (the header gives the date).
        bool oneDay = r.Statistics.Frames == 0 || NsTime.Iso(r.Statistics.FirstNs)[..10] == NsTime.Iso(r.Statistics.LastNs)[..10];
        h.Open("table", ("class", "calls")).Open("thead").Open("tr");
        foreach (var (col, tip) in new (string, string?)[]
        {
            ("Call #", "order of the first INVITE"), ("Call-ID", "hover for the whole Call-ID"),
            ("From", "SIP From URI; below it, the caller's address when the URI does not show it"), ("To", "SIP To URI; below it, the callee's address when the URI does not show it"),
            ("Result", "final SIP response"), ("Codec", null), (oneDay ? "Start (UTC)" : "Start (UTC date and time)", "first INVITE"), ("Duration (s)", "answer to BYE, or to the end of the capture"),
            ("Trying after (ms)", "INVITE to 100 Trying"), ("Ringing after (ms)", "post-dial delay: INVITE to the first 18x"), ("Answer after (ms)", "INVITE to 200 OK"),
            ("Max jitter (ms)", "highest RFC 3550 jitter of the call's streams"), ("Loss (%)", "lost packets of the call's streams"), ("MOS", "E-model estimate, worst stream"),
            ("Caller sent (kbit/s)", "mean IP-layer rate, caller to callee"), ("Callee sent (kbit/s)", "mean IP-layer rate, callee to caller"),
        })
            h.Open("th", ("title", tip)).Text(col).Close("th");
        h.Close("tr").Close("thead").Open("tbody");
        foreach (var x in t.WorstCalls.Take(input.MaxTableCalls))
        {
            var c = x.Call;
            var s = c.Sip;
            string callId = Anon(input, s.CallId);
            h.Open("tr", ("class", x.Problems.Count > 0 ? "problem" : null));
            h.Cell(x.Number.ToString(Inv), numeric: true);
            h.Open("td", ("class", "cid"), ("title", callId)).Text(Short(callId, 14)).Close("td");
            UriCell(h, input, Uri(input, s.FromUri), Ip(input, s.CallerIp));
            UriCell(h, input, Uri(input, s.ToUri), Ip(input, s.CalleeIp));
            string result = s.FinalStatus == 0 ? "no final answer" : $"{s.FinalStatus} {s.FinalReason}";
            if (UnexpectedOneWay(c)) result += " · ONE-WAY media";
            else if (c.OneWay) result += " · one-way, as the SDP asked";
            if (s.T38) result += " · T.38";
            h.Cell(result, cssClass: UnexpectedOneWay(c) || s.FinalStatus >= 300 ? "res bad" : "res");
            h.Cell(c.Codec);
            string start = NsTime.Iso(s.StartNs);
            h.Cell(oneDay ? start[11..19] : start[..19].Replace('T', ' '), title: start);
            h.Cell(Opt(s.DurationS, 1), numeric: true);
            h.Cell(Opt(s.Response100Ms, 1), numeric: true);
            h.Cell(Opt(s.PostDialDelayMs, 1), numeric: true);
            h.Cell(Opt(s.AnswerMs, 1), numeric: true);
            h.Cell(c.MaxJitterMs < 0 || c.Streams.Count == 0 ? "" : c.MaxJitterMs.ToString("F2", Inv), numeric: true, cssClass: c.MaxJitterMs > input.JitterBudgetMs ? "over" : null);
            h.Cell(c.Streams.Count == 0 ? "" : c.LostPct.ToString("F2", Inv), numeric: true, cssClass: c.Streams.Count > 0 && c.LostPct > input.LossBudgetPct ? "over" : null);
            h.Cell(c.Mos < 0 ? "" : c.Mos.ToString("F2", Inv), numeric: true, cssClass: c.Mos >= 0 && c.Mos < MosFloor ? "over" : null);
            KbpsCell(h, c.MediaIpKbpsOut, budget);
            KbpsCell(h, c.MediaIpKbpsIn, budget);
            h.Close("tr");
        }
        h.Close("tbody").Close("table");
        if (t.Calls > input.MaxTableCalls)
            h.Element("p", $"The worst {input.MaxTableCalls} of {t.Calls} calls are listed; calls.csv has them all.", "note");
        long looseStreams = t.StreamsWithoutCall;
        if (looseStreams > 0) h.Element("p", $"{Plural(looseStreams, "RTP stream")} without SIP signalling are in rtp_streams.csv.", "note");
        h.Close("section");
    }

    /// <summary>From → To, wrapping between the parts of the URIs.</summary>
    private static void UriCell(Html h, ReportInput input, CallRecord c)
    {
        var s = c.Sip;
        h.Open("td", ("class", "uri"));
        h.Breakable(Uri(input, s.FromUri)).Text(" → ").Breakable(Uri(input, s.ToUri));
        h.Close("td");
    }

    /// <summary>A URI that wraps between its parts; below it the signalling address, unless the URI already shows it.</summary>
    private static void UriCell(Html h, ReportInput input, string uri, string address)
    {
        h.Open("td", ("class", "uri"));
        h.Breakable(uri);
        if (!uri.Contains("@" + address, StringComparison.Ordinal) && !uri.Contains("@[" + address + "]", StringComparison.Ordinal))
            h.Open("div", ("class", "addr")).Text("via ").Breakable(address).Close("div");
        h.Close("td");
    }

    private static void KbpsCell(Html h, double kbps, double budget)
    {
        if (kbps < 0) { h.Cell("", numeric: true); return; }
        bool over = kbps > budget + 0.05;
        h.Cell(kbps.ToString("F1", Inv) + (over ? " OVER" : ""), numeric: true, cssClass: over ? "over" : null);
    }

    private static void WriteCharts(Html h, ReportInput input, RunTotals t)
    {
        h.Open("section", ("id", "charts")).Element("h2", "Call charts");
        var withMedia = t.ChartedCalls;
        if (t.CallsWithSeries == 0)
        {
            h.Element("p", "No call carried RTP in the capture.", "note").Close("section");
            return;
        }
        h.Open("p", ("class", "note"));
        h.Text("Per call, worst first: the highest jitter (ms, as Wireshark computes it) and the IP-layer bandwidth (kbit/s) of each second, for each RTP stream. ");
        h.Element("span", "Solid blue: sent by the caller", "k-out").Text("; ").Element("span", "dashed orange: sent by the callee", "k-in");
        h.Text($"; dashed red, under the data: the budget of {Num(input.CallKbpsBudget)} kbit/s per direction.");
        if (t.CallsWithSeries > input.MaxChartedCalls) h.Text($" Charts for the first {input.MaxChartedCalls} of {t.CallsWithSeries} calls with media (worst first); rtp_streams.csv has every stream.");
        h.Close("p");
        h.Open("div", ("class", "charts"));
        foreach (var x in withMedia.Take(input.MaxChartedCalls))
        {
            var call = x.Call;
            int number = x.Number;
            var series = SvgChart.Build(call);
            var s = call.Sip;
            string callId = Anon(input, s.CallId);
            h.Open("figure", ("class", "call-charts"), ("id", "call-" + number.ToString(Inv)));
            h.Open("figcaption").Element("strong", $"Call {number}: {Ip(input, s.CallerIp)} → {Ip(input, s.CalleeIp)}, {call.Codec}");
            if (x.Problems.Count > 0) h.Text(" ").Element("span", string.Join(", ", x.Problems), "bad");
            h.Text(" ").Open("span", ("class", "cid"), ("title", callId)).Text(Short(callId, 40)).Close("span");
            if (series.BucketS > 1) h.Text($" (peaks per {Num(series.BucketS)} s)");
            h.Close("figcaption").Open("div", ("class", "pair"));
            SvgChart.Write(h, "Jitter (ms)", $"Jitter of call {number}", series.DurationS, series.Jitter, null, null);
            SvgChart.Write(h, "IP bandwidth (kbit/s)", $"IP bandwidth of call {number}", series.DurationS, series.Kbps, input.CallKbpsBudget, $"budget {Num(input.CallKbpsBudget)} kbit/s");
            h.Close("div").Close("figure");
        }
        h.Close("div").Close("section");
    }

    private static void WriteFacts(Html h, ReportInput input, RunTotals t)
    {
        var r = input.Result;
        var st = r.Statistics;
        h.Open("section", ("id", "facts")).Element("h2", "Capture facts");
        h.Open("dl", ("class", "facts"));
        Fact(h, "Tool", "TrafficAudit " + input.ToolVersion);
        // Anonymized: no local folder, no seed, no address or host name (--server, file names).
        string commandLine = input.Anonymizer?.CommandLine(input.CommandLine) ?? input.CommandLine;
        h.Element("dt", "Command line").Open("dd").Element("code", commandLine).Close("dd");
        h.Element("dt", input.Live ? "Source" : "Files").Open("dd").Open("ul");
        foreach (var f in input.Files)
        {
            string size = File.Exists(f) ? $" ({new FileInfo(f).Length.ToString("N0", Inv)} bytes)" : "";
            // The name; the path as given only on hover, and never when anonymized.
            h.Open("li", ("title", input.Anonymizer is null && f != Path.GetFileName(f) ? f : null)).Text(ShownFile(input, f) + size).Close("li");
        }
        h.Close("ul").Close("dd");
        Fact(h, "Time span", st.Frames > 0 ? $"{NsTime.Iso(st.FirstNs)} to {NsTime.Iso(st.LastNs)} ({st.Duration.TotalSeconds.ToString("F3", Inv)} s)" : "no packets");
        Fact(h, "Packets", $"{st.Frames.ToString("N0", Inv)} read ({st.CapturedBytes.ToString("N0", Inv)} bytes): IP {st.IpPackets.ToString("N0", Inv)}, non-IP {st.NonIpFrames.ToString("N0", Inv)}, malformed {st.MalformedFrames.ToString("N0", Inv)}, fragments held {st.FragmentsHeld.ToString("N0", Inv)}, out-of-order timestamps {st.OutOfOrderTimestamps.ToString("N0", Inv)}");
        Fact(h, "Flows", $"{t.Flows.ToString("N0", Inv)} ({t.TcpFlows(Flows.TcpHandshakeState.Refused)} refused, {t.TcpFlows(Flows.TcpHandshakeState.Unanswered)} unanswered TCP)");
        Fact(h, "VoIP", $"{t.Calls} calls, {t.Streams} RTP streams, {r.Voip.SipMessages.ToString("N0", Inv)} SIP messages, {t.SipTlsFlows} SIP over TLS flows (not decrypted)");
        var drops = r.Interfaces.Where(i => i.InterfaceDropped is not null || i.OsDropped is not null).ToList();
        Fact(h, "Drops", drops.Count == 0
            ? "not recorded by the capture files"
            : string.Join("; ", drops.Select(i => $"{(i.Name is { } iname ? Anon(input, iname) : "interface " + i.Index.ToString(Inv))} ({ShownFile(input, i.File ?? "")}): dropped {Opt(i.InterfaceDropped)} by the interface, {Opt(i.OsDropped)} by the OS, received {Opt(i.InterfaceReceived)}")));
        h.Close("dl");
        foreach (var e in r.Errors) h.Element("p", $"Incomplete: {ShownFile(input, e.File)}: reading stopped at byte offset {e.ByteOffset.ToString(Inv)}: {e.Message}; the packets before it were audited.", "bad");

        h.Element("h3", $"Imagicle nodes ({(r.Nodes.Count == 0 ? "detected" : Classification.DetectedNode.SourceText(r.Nodes[0].Source))})");
        if (r.Nodes.Count == 0) h.Element("p", "None detected: no host shows evidence only an Imagicle node gives (catalogue nodeEvidence); give --server IP or --profile FILE.", "note");
        else
        {
            h.Open("table", ("class", "small")).Open("thead").Open("tr").Element("th", "Address").Element("th", "Why").Close("tr").Close("thead").Open("tbody");
            foreach (var n in r.Nodes) h.Open("tr").Cell(Ip(input, n.Address)).Cell(Anon(input, n.Evidence)).Close("tr");
            h.Close("tbody").Close("table");
        }

        h.Element("h3", "Anomalies");
        if (r.Anomalies.Count == 0) h.Element("p", "None.", "note");
        else
        {
            h.Open("table", ("class", "small")).Open("thead").Open("tr").Element("th", "Name").Element("th", "Count").Element("th", "First packet").Element("th", "File").Close("tr").Close("thead").Open("tbody");
            foreach (var a in r.Anomalies.OrderByDescending(a => a.Count).ThenBy(a => a.Name, StringComparer.Ordinal))
            {
                string file = a.FirstFileIndex >= 0 && a.FirstFileIndex < input.Files.Count ? ShownFile(input, input.Files[a.FirstFileIndex]) : "";
                h.Open("tr").Cell(a.Name).Cell(a.Count.ToString("N0", Inv), numeric: true).Cell(a.FirstFrame.ToString(Inv), numeric: true).Cell(file).Close("tr");
            }
            h.Close("tbody").Close("table");
        }
        h.Close("section");
    }

    // ----- small helpers -----

    private static void Badge(Html h, string text, string cls) => h.Element("span", text, "badge " + cls);

    private static void Fact(Html h, string name, string value) => h.Element("dt", name).Element("dd", value);

    /// <summary>A name and value of a finding's evidence, kept together when the line wraps.</summary>
    private static void EvidenceFact(Html h, string name, string value) => h.Open("div").Element("dt", name).Element("dd", value).Close("div");

    private static string Anon(ReportInput input, string text) => input.Anonymizer?.Text(text) ?? text;
    private static string Uri(ReportInput input, string uri) => input.Anonymizer?.SipUri(uri) ?? uri;
    private static string Ip(ReportInput input, IpAddress ip) => input.Anonymizer?.Ip(ip) ?? ip.ToString();

    /// <summary>A capture or profile file as the report shows it: its name, anonymized when asked.</summary>
    private static string ShownFile(ReportInput input, string path) =>
        input.Anonymizer?.FileName(path) ?? (Path.GetFileName(path) is { Length: > 0 } name ? name : path);

    private static string Time(long ns) => NsTime.Iso(ns)[11..19] + " UTC";

    private static string Duration(double seconds) => seconds < 120 ? seconds.ToString("F1", Inv) + " s"
        : seconds < 7200 ? (seconds / 60).ToString("F1", Inv) + " min" : (seconds / 3600).ToString("F1", Inv) + " h";

    private static string Endpoint(ReportInput input, IpAddress? ip, ushort port)
    {
        if (ip is not { } a) return port > 0 ? ":" + port.ToString(Inv) : "";
        string text = Ip(input, a);
        if (!a.IsV4) text = "[" + text + "]";
        return port > 0 ? text + ":" + port.ToString(Inv) : text;
    }

    private static string SeverityName(ReportSeverity s) => s switch { ReportSeverity.Error => "error", ReportSeverity.Warning => "warning", _ => "info" };

    /// <summary>The badge class of a requirement state: its tone (green, red, grey), the same in the table and the matrix.</summary>
    private static string StatusClass(RequirementStatus s) => s.Tone switch
    {
        RequirementTone.Good => "b-pass",
        RequirementTone.Bad => s.State == RequirementState.Fail ? "b-fail" : "b-missing",
        _ => "b-notseen",
    };

    private static string ToneClass(RequirementTone t) => t switch { RequirementTone.Good => "good", RequirementTone.Bad => "bad", _ => "none" };

    private static string Plural(long n, string noun) => n.ToString(Inv) + " " + noun + (n == 1 ? "" : "s");
    private static string Num(double v) => v == Math.Floor(v) && Math.Abs(v) < 1e12 ? v.ToString("F0", Inv) : v.ToString("0.###", Inv);
    private static string Opt(double? v, int decimals) => v is { } x ? x.ToString("F" + decimals.ToString(Inv), Inv) : "";
    private static string Opt(ulong? v) => v is { } x ? x.ToString("N0", Inv) : "?";
    private static string Short(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private const string Css = """
:root{--pass:#1b7f3b;--fail:#b3261e;--warn:#8a5300;--info:#1f5fbf;--muted:#5f6368;--line:#d0d4d9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1d1f;background:#fff;margin:0 auto;max-width:1320px;padding:16px 24px}
h1{font-size:22px;margin:0}
h2{font-size:18px;border-bottom:2px solid var(--line);padding-bottom:3px;margin:24px 0 8px}
h3{font-size:15px;margin:14px 0 6px}
.kind{margin:0;color:var(--muted);font-weight:600}
.sub{color:var(--muted);margin:2px 0 0}
.banner{border:3px solid;border-radius:6px;padding:8px 16px;margin:10px 0 8px}
.banner .headline{font-size:22px;font-weight:700}
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
thead th{background:#f1f3f4;position:sticky;top:0;font-weight:600}
tbody th{background:#fafafa;font-weight:600}
table.verdict td:first-child{width:55%}
table.small{width:auto}
table.worst{width:auto;min-width:70%}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.over,td.bad,p.bad,span.bad{color:var(--fail);font-weight:700}
tr.problem td:first-child{box-shadow:inset 4px 0 0 var(--fail)}
td.na{color:#999;text-align:center}
td.cid,.cid{font-family:ui-monospace,Menlo,Consolas,"Liberation Mono",monospace;font-size:11px}
td.cid{white-space:nowrap}
td.uri{overflow-wrap:normal;min-width:13em}
table.calls th{font-size:11px}
table.calls td.res{min-width:5.5em}
td .addr{color:var(--muted);font-size:11px}
.ports{color:var(--muted);font-weight:400;font-size:11px}
.evid{color:var(--muted);font-size:11px}.matrix td .evid{display:inline;margin-left:6px}
code{font-family:ui-monospace,Menlo,Consolas,"Liberation Mono",monospace;font-size:12px;background:#f6f8fa;padding:1px 4px;overflow-wrap:anywhere}
.finding{border-left:5px solid;padding:5px 10px;margin:6px 0;background:#fafafa}
.finding p{margin:3px 0}
.f-error{border-color:var(--fail)}.f-warning{border-color:var(--warn)}.f-info{border-color:var(--info)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:4px 0}
dl.ev{display:flex;flex-wrap:wrap;gap:0 18px;margin:2px 0;font-size:12.5px}
dl.ev>div{display:flex;gap:6px}dl.ev>div.wide{flex-basis:100%}
dl.ev dt{color:var(--muted)}
dt{font-weight:600;color:#333}dd{margin:0}dd ul{margin:0;padding-left:18px}
.note{color:var(--muted);font-style:italic;margin:4px 0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:8px;margin:6px 0}
.kpi{border:1px solid var(--line);border-radius:4px;padding:5px 9px}
.kpi .kn{font-size:12px;color:var(--muted);font-weight:600}
.kpi .kv{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums}
.kpi .kd{font-size:11.5px;color:var(--muted)}
.kpi.bad{border-color:var(--fail);border-width:2px}.kpi.bad .kv{color:var(--fail)}
.charts{display:flex;flex-direction:column;gap:8px}
figure.call-charts{margin:0;border:1px solid var(--line);border-radius:4px;padding:4px 8px}
figcaption{font-size:12px;margin-bottom:2px}
figcaption .cid{color:var(--muted)}
.pair{display:flex;flex-wrap:wrap;gap:4px 24px}
svg.chart{max-width:100%;height:auto;overflow:visible}
svg text{font-size:11px;fill:#333}
svg text.at{font-size:11px;font-weight:600;fill:#222;text-anchor:middle}
svg text.yt{text-anchor:start}
svg text.yl{text-anchor:end}
svg text.xl{text-anchor:middle}
svg text.rl{text-anchor:end;fill:var(--fail);font-size:11px;paint-order:stroke;stroke:#fff;stroke-width:3px}
.axis{fill:none;stroke:#666;stroke-width:1}.grid{stroke:#e6e6e6;stroke-width:1}.tick{stroke:#666;stroke-width:1}
.s-out{fill:none;stroke:#1f5fbf;stroke-width:2}
.s-in{fill:none;stroke:#d9730d;stroke-width:2;stroke-dasharray:6 3}
.ref{stroke:#e08a84;stroke-width:1.5;stroke-dasharray:3 3}
.k-out{color:#1f5fbf;font-style:normal}.k-in{color:#d9730d;font-style:normal}
footer{margin-top:16px;border-top:1px solid var(--line)}footer p{margin:2px 0}
@media print{
 @page{size:A4 landscape;margin:9mm}
 body{max-width:none;padding:0;font-size:11px;line-height:1.3}
 nav{display:none}
 h2{margin-top:14px;font-size:16px}
 h3{margin:10px 0 4px}
 .banner{padding:4px 12px}
 .kpis,.matrix-group{break-inside:avoid}
 footer{break-before:avoid}
 thead th{position:static}
 thead{display:table-header-group}
 h2,h3,figcaption{break-after:avoid}
 tr,.finding,figure,svg,.kpi,.banner,dl.ev{break-inside:avoid}
 table{font-size:10.5px}
 th,td{padding:2px 4px}
 .kpis{grid-template-columns:repeat(7,1fr)}
 .charts{display:block}.charts>figure{margin-bottom:8px}
 #charts{break-before:page}
 .kpi .kv{font-size:18px}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
""";
}
