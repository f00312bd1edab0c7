using TrafficAudit.Policy;
using TrafficAudit.Outputs.Report;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Report;

[TestClass]
public sealed class HtmlReportWriterTests
{
    private static AuditResult? _sample;
    private static AuditResult Sample => _sample ??= ReportTestKit.Audit(ReportTestKit.SamplePath);

    [TestMethod]
    public void Render_SampleWithPolicy_SectionsInTheIssuesOrder()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        string[] markers = ["id=\"verdict\"", "id=\"findings\"", "id=\"quality\"", "id=\"expected\"", "id=\"calls\"", "id=\"charts\"", "id=\"facts\""];
        int last = -1;
        foreach (var m in markers)
        {
            int at = html.IndexOf(m, StringComparison.Ordinal);
            Assert.IsGreaterThan(last, at, $"{m} missing or out of order");
            last = at;
        }
    }

    [TestMethod]
    public void Render_SampleWithPolicy_BannerCountsErrorsAndWarnings()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        StringAssert.Contains(html, "class=\"banner bad\"");
        StringAssert.Contains(html, "1 error, 1 warning");
        StringAssert.Contains(html, "1 of 3 requirements PASS, 1 FAIL");
        StringAssert.Contains(html, ">NOT SEEN (optional)<");
        StringAssert.Contains(html, ">FAIL (blocked)<");
        StringAssert.Contains(html, ">NOT SEEN (required)<");
        StringAssert.Contains(html, "class=\"badge b-notseen\">NOT SEEN (optional)<", "optional rows are never red");
        StringAssert.Contains(html, "ip.addr == 52.112.0.10 &amp;&amp; tcp.port == 443");
    }

    [TestMethod]
    public void Render_NoProfile_SaysNothingWasChecked()
    {
        string html = HtmlReportWriter.Render(new ReportInput { Result = Sample, Files = [ReportTestKit.SamplePath], ToolVersion = "t", CommandLine = "c" });
        StringAssert.Contains(html, "Not assessed: no profile given");
        StringAssert.Contains(html, "No profile given: no expectations were checked.");
        StringAssert.Contains(html, "No profile given: no findings were evaluated.");
        StringAssert.Contains(html, "class=\"banner none\"");
    }

    [TestMethod]
    public void Render_PolicyRanCleanly_BannerSaysClean()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath) with
        {
            Findings = [],
            Verdict = [new ReportVerdictLine("SIP trunk", RequirementStatus.Pass)],
        };
        string html = HtmlReportWriter.Render(input);
        StringAssert.Contains(html, "class=\"banner good\"");
        StringAssert.Contains(html, ">Clean<");
        StringAssert.Contains(html, "No findings: nothing broke a rule.");
    }

    [TestMethod]
    public void Render_Sample_EveryCallWithMediaHasTwoChartsWithLines()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        int withMedia = Sample.Calls.Count(c => c.Streams.Any(s => s.TimeSeries is not null));
        Assert.IsGreaterThan(0, withMedia, "the sample has calls with RTP");
        Assert.AreEqual(withMedia, Count(html, "<figure class=\"call-charts\""));
        Assert.AreEqual(2 * withMedia, Count(html, "<svg class=\"chart\""));
        Assert.AreEqual(withMedia, Count(html, "<line class=\"ref\""), "one budget line per bandwidth chart");
        Assert.IsGreaterThanOrEqualTo(2 * withMedia, Count(html, "<polyline class=\"s-out\""));
        Assert.IsGreaterThanOrEqualTo(1, Count(html, "<polyline class=\"s-in\""));
    }

    [TestMethod]
    public void Render_MoreCallsThanTheChartCap_ChartsTheFirstAndSaysSo()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath) with { MaxChartedCalls = 1 };
        string html = HtmlReportWriter.Render(input);
        Assert.AreEqual(1, Count(html, "<figure class=\"call-charts\""));
        StringAssert.Contains(html, "Charts for the first 1 of ");
    }

    [TestMethod]
    public void Render_SameInput_SameBytes()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath);
        Assert.AreEqual(HtmlReportWriter.Render(input), HtmlReportWriter.Render(input));
    }

    [TestMethod]
    public void Render_Sample_NothingToFetchAndNoScript()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        foreach (var forbidden in new[] { "<script", "<link", "<img", "<iframe", "<object", "<embed", "url(", "@import", "http://", "https://", "src=" })
            Assert.IsFalse(html.Contains(forbidden, StringComparison.OrdinalIgnoreCase), forbidden);
        StringAssert.Contains(html, "default-src 'none'");
    }

    [TestMethod]
    public void Write_ExistingReport_ReplacedWithoutTemporaryFileLeft()
    {
        var dir = ReportTestKit.NewTempDir();
        File.WriteAllText(Path.Combine(dir, HtmlReportWriter.FileName), "old");
        string path = HtmlReportWriter.Write(dir, ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        StringAssert.StartsWith(File.ReadAllText(path), "<!DOCTYPE html>");
        CollectionAssert.AreEqual(new[] { HtmlReportWriter.FileName }, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void Render_HundredsOfCalls_StaysSmall()
    {
        // The sample's calls repeated 300 times: charts stop at the cap, the file stays a few MB at most.
        var calls = Enumerable.Range(0, 300).SelectMany(_ => Sample.Calls).ToList();
        var big = new AuditResult
        {
            Flows = Sample.Flows, Streams = Sample.Streams, Calls = calls, Voip = Sample.Voip, Nodes = Sample.Nodes,
            Statistics = Sample.Statistics, Anomalies = Sample.Anomalies, Interfaces = Sample.Interfaces, Errors = Sample.Errors,
        };
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(big, ReportTestKit.SamplePath));
        Assert.AreEqual(50, Count(html, "<figure class=\"call-charts\""), "the worst 50 calls are charted");
        Assert.AreEqual(1500, Count(html, "<tr class=\"problem\">") + Count(html, "<tr><td class=\"num\">"), "every call has a row");
        Assert.IsLessThan(8_000_000, html.Length, $"{html.Length} chars");
    }

    [TestMethod]
    public void Render_Anonymized_NoOriginalAddressOrSipUser()
    {
        var anonymizer = TrafficAudit.Outputs.Anonymizer.Create("report-test");
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath) with { Anonymizer = anonymizer });
        var secrets = Sample.Flows.SelectMany(f => new[] { f.ClientIp, f.ServerIp }).Select(ip => ip.ToString())
            .Concat(["10.0.0.10", "52.112.0.10"]).Distinct().ToList();
        var users = Sample.Calls.SelectMany(c => new[] { c.Sip.FromUri, c.Sip.ToUri }).Select(u => u[..(u.IndexOf('@') + 1)]).Distinct().ToList();
        Assert.IsGreaterThan(2, users.Count);
        foreach (var user in users) Assert.DoesNotContain(user, html);
        Assert.IsGreaterThan(5, secrets.Count);
        foreach (var secret in secrets)
        {
            var m = System.Text.RegularExpressions.Regex.Match(html, "(?<![\\d.])" + System.Text.RegularExpressions.Regex.Escape(secret) + "(?![\\d])");
            Assert.IsFalse(m.Success, m.Success ? $"{secret} in ...{html[Math.Max(0, m.Index - 100)..Math.Min(html.Length, m.Index + 60)]}" : "");
        }
        StringAssert.Contains(html, anonymizer.Ip(TrafficAudit.Decode.IpAddress.Parse("10.0.0.10")));
        StringAssert.Contains(html, "anonymized: addresses, host names and SIP users are pseudonyms");
    }

    [TestMethod]
    public void CsvRows_Anonymized_AddressesAndUsersArePseudonyms()
    {
        var a = TrafficAudit.Outputs.Anonymizer.Create("rows");
        var call = Sample.Calls[0];
        var row = TrafficAudit.Outputs.CallRow.From(call, a);
        Assert.AreEqual(a.Ip(call.Sip.CallerIp), row.CallerIp);
        Assert.AreNotEqual(call.Sip.CallerIp.ToString(), row.CallerIp);
        Assert.AreEqual(a.SipUri(call.Sip.FromUri), row.FromUri);
        Assert.DoesNotContain(call.Sip.CallerIp.ToString(), row.CallId);
        var flow = TrafficAudit.Outputs.FlowRow.From(Sample.Flows[0], a);
        Assert.AreEqual(a.Ip(Sample.Flows[0].ServerIp), flow.ServerIp);
        var stream = TrafficAudit.Outputs.RtpStreamRow.From(Sample.Streams[0], a);
        Assert.AreEqual(a.Ip(Sample.Streams[0].SrcIp), stream.SrcIp);
        Assert.AreEqual(call.Sip.CallerIp.ToString(), TrafficAudit.Outputs.CallRow.From(call).CallerIp, "no anonymizer: unchanged");
    }

    [TestMethod]
    public void Render_Requirements_FailuresFirstThenNotSeenThenPassed()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath);
        string html = HtmlReportWriter.Render(input);
        string table = html[html.IndexOf("<table class=\"verdict\">", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        // The badges read "FAIL (refused)", "NOT SEEN (optional)"...: their leading word, runs of one word collapsed.
        var words = System.Text.RegularExpressions.Regex.Matches(table, ">(PASS|FAIL|NOT SEEN)[^<]*<").Select(m => m.Groups[1].Value).ToList();
        var order = words.Where((w, i) => i == 0 || words[i - 1] != w).ToList();
        CollectionAssert.AreEqual(new[] { "FAIL", "NOT SEEN", "PASS" }, order);
    }

    [TestMethod]
    public void Render_Calls_WorstFirst_ByProblemThenMosLossJitter()
    {
        // The sample: call 2 has the lowest MOS (4.33), call 1 the highest jitter among the 4.41 calls.
        CollectionAssert.AreEqual(new[] { 2, 1, 3, 4, 5 }, CallTableOrder(HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath))));

        // Call 4 made bad (loss above the threshold): it comes first, in the calls table, the worst-calls list and the charts.
        var calls = Sample.Calls.Select((c, i) => i == 3 ? c with { LostPct = 5, Mos = 3.2 } : c).ToList();
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(WithCalls(calls), ReportTestKit.SamplePath));
        CollectionAssert.AreEqual(new[] { 4, 2, 1, 3, 5 }, CallTableOrder(html));
        StringAssert.Contains(html, "Worst calls (1 with a problem)");
        StringAssert.Contains(html, "MOS 3.20, loss 5.00 %");
        Assert.IsLessThan(html.IndexOf("id=\"call-2\"", StringComparison.Ordinal), html.IndexOf("id=\"call-4\"", StringComparison.Ordinal), "charts worst first too");
        Assert.IsLessThan(html.IndexOf("id=\"expected\"", StringComparison.Ordinal), html.IndexOf("MOS 3.20, loss 5.00 %", StringComparison.Ordinal), "the worst calls come before the expected-flow matrix");
    }

    [TestMethod]
    public void Render_QualitySummary_CallsPercentilesAndPeaks()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        string q = html[html.IndexOf("id=\"quality\"", StringComparison.Ordinal)..html.IndexOf("id=\"expected\"", StringComparison.Ordinal)];
        // 5 calls, MOS 4.33 and four times 4.41: median 4.41; nearest-rank 5th percentile = the lowest.
        StringAssert.Contains(q, "<div class=\"kv\">5</div><div class=\"kd\">5 answered, 5 with RTP</div>");
        StringAssert.Contains(q, "<div class=\"kv\">4.41</div><div class=\"kd\">5th pct 4.33, lowest 4.33</div>");
        StringAssert.Contains(q, "95th pct 3.7, highest 3.7");
        StringAssert.Contains(q, $"<div class=\"kv\">{Sample.Voip.PeakConcurrentCalls}</div>");
        StringAssert.Contains(q, $"<div class=\"kv\">{Sample.Voip.PeakMediaIpKbps.ToString("N1", System.Globalization.CultureInfo.InvariantCulture)}</div>");
        StringAssert.Contains(q, "+ 1 one-way as the SDP asked", "the recording call's one-way media is what its SDP asked for");
        StringAssert.Contains(q, "Worst calls: none has a problem");
    }

    [TestMethod]
    public void Render_Header_FileNamesNotPaths_TitleShown()
    {
        var input = ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath) with { Title = "ACME Milan <HQ>" };
        string html = HtmlReportWriter.Render(input);
        string header = html[html.IndexOf("<header>", StringComparison.Ordinal)..html.IndexOf("</header>", StringComparison.Ordinal)];
        StringAssert.Contains(header, "<h1>ACME Milan &lt;HQ&gt;</h1>");
        StringAssert.Contains(header, "imagicle-site.pcap");
        Assert.DoesNotContain(Path.GetDirectoryName(ReportTestKit.SamplePath)!, header);
        StringAssert.Contains(html, "<title>ACME Milan &lt;HQ&gt; — TrafficAudit report");
        // The facts list the file by name; the path as given is only on hover.
        StringAssert.Contains(html, $"<li title=\"{ReportTestKit.SamplePath}\">imagicle-site.pcap (");
    }

    [TestMethod]
    public void Render_CallsTable_HeadersSayWhatAndUnit_LongTokensBreakOrShorten()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        foreach (var header in new[] { "Trying after (ms)", "Ringing after (ms)", "Answer after (ms)", "Duration (s)", "Max jitter (ms)", "Loss (%)", "Caller sent (kbit/s)", "Callee sent (kbit/s)" })
            StringAssert.Contains(html, ">" + header + "</th>");
        Assert.DoesNotContain("<th>100 ms</th>", html);
        var call = Sample.Calls[0].Sip;
        // Call-ID: shortened, the whole value on hover; URIs: break opportunities after their separators only.
        StringAssert.Contains(html, $"<td class=\"cid\" title=\"{call.CallId}\">{call.CallId[..13]}…</td>");
        StringAssert.Contains(html, "sip:<wbr>+390212345375@<wbr>10.<wbr>0.<wbr>1.<wbr>5");
    }

    [TestMethod]
    public void Render_Charts_AxisTitlesWithUnits_NiceTicks_BudgetUnderTheData()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        int charts = Count(html, "<svg class=\"chart\"");
        Assert.AreEqual(charts, Count(html, ">time from the call&#39;s first RTP packet (s)</text>"));
        Assert.AreEqual(charts / 2, Count(html, ">Jitter (ms)</text>"));
        Assert.AreEqual(charts / 2, Count(html, ">IP bandwidth (kbit/s)</text>"));
        // Natural size: one SVG unit is one CSS pixel, so the 11 px of the stylesheet is what prints.
        StringAssert.Contains(html, "<svg class=\"chart\" width=\"480\" height=\"142\" viewBox=\"0 0 480 142\"");
        StringAssert.Contains(html, "svg text{font-size:11px");
        // Call 1 lasts about 12 s: x ticks every 2 s; bandwidth 0-100 by 20.
        var fig = html[html.IndexOf("id=\"call-1\"", StringComparison.Ordinal)..];
        fig = fig[..fig.IndexOf("</figure>", StringComparison.Ordinal)];
        var xTicks = System.Text.RegularExpressions.Regex.Matches(fig, "class=\"xl\">([^<]+)<").Select(m => m.Groups[1].Value).Distinct().ToList();
        CollectionAssert.AreEqual(new[] { "0", "2", "4", "6", "8", "10", "12", "14" }, xTicks);
        StringAssert.Contains(fig, "class=\"yl\">20<");
        // The budget line is drawn before (under) the data lines, dashed.
        string bw = fig[fig.IndexOf("aria-label=\"IP bandwidth", StringComparison.Ordinal)..];
        Assert.IsLessThan(bw.IndexOf("<polyline class=\"s-out\"", StringComparison.Ordinal), bw.IndexOf("<line class=\"ref\"", StringComparison.Ordinal));
        StringAssert.Contains(html, ".ref{stroke:#e08a84;stroke-width:1.5;stroke-dasharray:3 3}");
    }

    [TestMethod]
    public void Render_Print_NoBreakInsideChartsRowsOrFindings()
    {
        string html = HtmlReportWriter.Render(ReportTestKit.WithPolicy(Sample, ReportTestKit.SamplePath));
        string print = html[html.IndexOf("@media print", StringComparison.Ordinal)..];
        StringAssert.Contains(print, "tr,.finding,figure,svg,.kpi,.banner,dl.ev{break-inside:avoid}");
        StringAssert.Contains(print, "h2,h3,figcaption{break-after:avoid}");
        StringAssert.Contains(print, "@page{size:A4 landscape");
    }

    private static List<int> CallTableOrder(string html)
    {
        string table = html[html.IndexOf("<table class=\"calls\">", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("</table>", StringComparison.Ordinal)];
        return System.Text.RegularExpressions.Regex.Matches(table, "<tr(?: class=\"problem\")?><td class=\"num\">(\\d+)</td>").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    private static AuditResult WithCalls(List<CallRecord> calls) => new()
    {
        Flows = Sample.Flows, Streams = Sample.Streams, Calls = calls, Voip = Sample.Voip, Nodes = Sample.Nodes,
        Statistics = Sample.Statistics, Anomalies = Sample.Anomalies, Interfaces = Sample.Interfaces, Errors = Sample.Errors,
    };

    private static int Count(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
