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
        string[] markers = ["id=\"verdict\"", "id=\"findings\"", "id=\"expected\"", "id=\"calls\"", "id=\"charts\"", "id=\"facts\""];
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
        StringAssert.Contains(html, "1 of 3 requirements passed, 1 failed, 1 not seen");
        StringAssert.Contains(html, ">NOT SEEN<");
        StringAssert.Contains(html, ">BLOCKED<");
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
            Verdict = [new ReportVerdictLine("SIP trunk", ReportStatus.Pass)],
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
        Assert.AreEqual(200, Count(html, "<figure class=\"call-charts\""));
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

    private static int Count(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
