using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using TrafficAudit.Outputs.Report;

namespace TrafficAudit.Tests.Report;

/// <summary>
/// The report of the bundled sample rendered by headless Chromium (Debian package chromium; tools/test.sh
/// installs it when run as root). How "no external request" is proved: Chromium is started with every
/// request routed to a proxy that is a trap of ours (a TCP listener on loopback that records each
/// connection and answers nothing), with loopback not bypassed; any http(s) fetch the page made, by
/// any means (element, CSS, font, redirect), would reach the trap. A control page with one remote
/// image shows that the trap does see such a request, so a silent trap cannot pass the test by
/// accident. Chromium's own background traffic is switched off by its flags as far as they go; what
/// Debian's chromium 156 still sends by itself, whatever the page (the component updater's
/// update.googleapis.com and the sign-in check on accounts.google.com, measured against a blank page),
/// is set aside by exact host name and logged; a request to any other host fails the test (so a
/// page's fonts.googleapis.com or a CDN would). In addition, the DOM Chromium built is checked for
/// any element or attribute that could load something.
/// </summary>
[TestClass]
public sealed partial class ChromiumReportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Hosts Chromium itself contacts with these flags, with or without a page.</summary>
    private static readonly string[] BrowserOwnHosts = ["update.googleapis.com", "accounts.google.com", "clients2.google.com"];

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Chromium_SampleReport_RendersTextAndMakesNoRequest()
    {
        string chromium = FindChromium();
        var work = ReportTestKit.NewTempDir();
        var result = ReportTestKit.Audit(ReportTestKit.SamplePath);
        string report = HtmlReportWriter.Write(Path.Combine(work, "out"), ReportTestKit.WithPolicy(result, ReportTestKit.SamplePath));

        using var trap = new ProxyTrap();

        // Control: the trap sees a page's remote image.
        string control = Path.Combine(work, "control.html");
        File.WriteAllText(control, "<!DOCTYPE html><html><body><p>control</p><img src=\"http://trafficaudit-probe.invalid/x.png\"></body></html>");
        RunChromium(chromium, work, trap.Port, ["--dump-dom", new Uri(control).AbsoluteUri]);
        Assert.IsTrue(trap.WaitForAny(TimeSpan.FromSeconds(5)), "the trap proxy saw no request from the control page: the method cannot prove anything here");
        StringAssert.Contains(string.Join("\n", trap.Requests), "trafficaudit-probe.invalid");
        trap.Clear();

        // The report: its DOM, and not one request.
        string dom = RunChromium(chromium, work, trap.Port, ["--dump-dom", new Uri(report).AbsoluteUri]);
        Thread.Sleep(200);
        Assert.IsEmpty(PageRequests(trap), "requests from the report: " + string.Join("; ", trap.Requests));

        string text = WebUtility.HtmlDecode(Tags().Replace(dom.Replace("<wbr>", "", StringComparison.Ordinal), " "));
        text = Regex.Replace(text, @"\s+", " ");
        foreach (var expected in new[]
        {
            "TrafficAudit report", "1 error, 1 warning", "1 of 3 requirements PASS, 1 FAIL",
            "Findings", "flow_blocked", "ip.addr == 52.112.0.10 && tcp.port == 443",
            "Expected flows", "advanced-queuing", "FAIL (blocked)", "NOT SEEN (required)",
            "Calls", $"{result.Calls.Count} calls", result.Calls[0].Sip.CallId[..20], "Call charts", "Jitter (ms)", "IP bandwidth (kbit/s)", "budget 80",
            "Capture facts", "imagicle-site.pcap", "trafficaudit audit", "10.0.0.10",
        })
            StringAssert.Contains(text, expected);
        Assert.IsLessThan(text.IndexOf("Capture facts", StringComparison.Ordinal), text.IndexOf("1 error, 1 warning", StringComparison.Ordinal));

        // Nothing in the DOM could load anything: no such element, no URL-bearing attribute other than
        // in-page anchors, no CSS url() or @import.
        var loading = LoadingElements().Match(dom);
        Assert.IsFalse(loading.Success, loading.Value);
        foreach (Match m in UrlAttributes().Matches(dom))
            StringAssert.StartsWith(m.Groups[2].Value, "#", m.Value);
        Assert.DoesNotContain("url(", dom, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", dom, StringComparison.OrdinalIgnoreCase);

        // A screenshot for a person to look at, outside the repository.
        string shotDir = Path.Combine(Path.GetTempPath(), "trafficaudit-report-screenshot");
        Directory.CreateDirectory(shotDir);
        string png = Path.Combine(shotDir, "report.png");
        if (File.Exists(png)) File.Delete(png);
        RunChromium(chromium, work, trap.Port, [$"--screenshot={png}", "--window-size=1280,2000", new Uri(report).AbsoluteUri]);
        Assert.IsTrue(File.Exists(png), "no screenshot");
        Assert.IsGreaterThan(20_000L, new FileInfo(png).Length);
        Assert.IsEmpty(PageRequests(trap), "requests while taking the screenshot: " + string.Join("; ", trap.Requests));
        TestContext.WriteLine($"screenshot: {png}");
        TestContext.WriteLine("Chromium's own requests, set aside: " + string.Join("; ", trap.Requests));
    }

    [TestMethod]
    public void Chromium_HostileCaptureReport_CaptureTextStaysText()
    {
        string chromium = FindChromium();
        var (dir, _, _) = HostileCaptureTests.Run();
        using var trap = new ProxyTrap();
        string dom = RunChromium(chromium, ReportTestKit.NewTempDir(), trap.Port, ["--dump-dom", new Uri(Path.Combine(dir, HtmlReportWriter.FileName)).AbsoluteUri]);
        // The serialised DOM writes text '<' as &lt;: a '<script', '<img' or '<marquee' here would be an element.
        foreach (var tag in new[] { "<script", "<img", "<marquee" })
            Assert.DoesNotContain(tag, dom, StringComparison.OrdinalIgnoreCase);
        string text = WebUtility.HtmlDecode(Tags().Replace(dom.Replace("<wbr>", "", StringComparison.Ordinal), " "));
        // Shortened in the table and the chart caption (the whole value is in the title attribute): still text.
        StringAssert.Contains(text, "=HYPERLINK(\"http://evil\",\"x\")<script>al");
        StringAssert.Contains(text, "<img src=x onerror=alert(1)>.pcap");
        Assert.IsEmpty(PageRequests(trap), string.Join("; ", trap.Requests));
    }

    /// <summary>
    /// The bundled sample's report as the command writes it, printed to PDF by Chromium (A4 landscape from
    /// the page's own @page rule) and read back with pdftotext (Debian package poppler-utils):
    /// it stays compact (6 pages when this test was written; the old layout took 8, the last call alone on
    /// a page), no call's charts cross a page (each page holds whole figures: as many captions as jitter
    /// and bandwidth axis titles), the capture facts follow the charts rather than a lone chart ending the
    /// document, and the chart text prints at 10 px or more (pdftotext's word box is the font's ascent
    /// to descent, 1.16 em for the sans-serif font here: 10 px = 7.5 pt gives 8.7 pt).
    /// </summary>
    [TestMethod]
    public void Chromium_SamplePdf_CompactAndNoChartCrossesAPage()
    {
        string chromium = FindChromium();
        string pdftotext = FindTool("pdftotext", "poppler-utils");
        var work = ReportTestKit.NewTempDir();
        string outDir = Path.Combine(work, "out");
        var run = EndToEnd.CliRunner.Run(["audit", ReportTestKit.SamplePath, "--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"),
            "--report", "--out", outDir, "--quiet"]);
        Assert.AreEqual(1, run.ExitCode, run.Stderr);
        string pdf = Path.Combine(work, "report.pdf");
        using var trap = new ProxyTrap();
        RunChromium(chromium, work, trap.Port, ["--no-pdf-header-footer", $"--print-to-pdf={pdf}", new Uri(Path.Combine(outDir, HtmlReportWriter.FileName)).AbsoluteUri]);
        Assert.IsTrue(File.Exists(pdf), "no PDF");

        var pages = PdfPages(pdftotext, pdf);
        Assert.IsLessThanOrEqualTo(6, pages.Count, "the sample's report grew past 6 A4 pages");

        int callsWithMedia = ReportTestKit.Audit(ReportTestKit.SamplePath).Calls.Count(c => c.Streams.Any(s => s.TimeSeries is not null));
        Assert.AreEqual(callsWithMedia, WholeChartsPerPage(pages).Sum());
        StringAssert.Contains(pages[^1], "Capture facts", "the document should end with the facts, not with a chart alone on a page");

        // Printed size of the chart text: the axis titles and the x tick labels above them.
        string bbox = RunTool(pdftotext, ["-bbox", pdf, "-"]);
        var words = BboxWord().Matches(bbox).Select(m => (Text: WebUtility.HtmlDecode(m.Groups[5].Value), X: D(m, 1), YMin: D(m, 2), YMax: D(m, 4))).ToList();
        var titles = words.Where(w => w.Text == "packet").ToList();
        Assert.AreEqual(2 * callsWithMedia, titles.Count, "x axis titles in the PDF");
        var ticks = words.Where(w => double.TryParse(w.Text, System.Globalization.CultureInfo.InvariantCulture, out _)
            && titles.Any(t => t.YMin - w.YMin is > 8 and < 16)).ToList();
        Assert.IsGreaterThanOrEqualTo(5 * 2 * callsWithMedia, ticks.Count, "x tick labels (at least 5 per chart)");
        foreach (var w in titles.Concat(ticks))
            Assert.IsGreaterThanOrEqualTo(8.7, w.YMax - w.YMin, $"'{w.Text}' prints {(w.YMax - w.YMin) / 1.16 / 0.75:F1} px high");
    }

    /// <summary>
    /// 300 concurrent calls (trafficaudit-synth bench, seed 1): the calls table has every call, about 38
    /// rows a page with its header repeated on each page; the worst 50 calls are charted, none cut by a
    /// page end; 24 A4 pages when this test was written.
    /// </summary>
    [TestMethod]
    public void Chromium_ThreeHundredCallsPdf_EveryRowChartsWholeAndBounded()
    {
        string chromium = FindChromium();
        string pdftotext = FindTool("pdftotext", "poppler-utils");
        var work = ReportTestKit.NewTempDir();
        string capture = Path.Combine(work, "bench300.pcap");
        using (var file = File.Create(capture))
            TrafficAudit.Synth.Bench.BenchGenerator.Generate(file, new TrafficAudit.Synth.Bench.BenchOptions(400_000, 300, 1));
        string outDir = Path.Combine(work, "out");
        var run = EndToEnd.CliRunner.Run(["audit", capture, "--report", "--out", outDir, "--quiet"]);
        Assert.IsTrue(run.ExitCode is 0 or 1, run.Stderr);
        File.Delete(capture);
        string pdf = Path.Combine(work, "report.pdf");
        using var trap = new ProxyTrap();
        RunChromium(chromium, work, trap.Port, ["--no-pdf-header-footer", $"--print-to-pdf={pdf}", new Uri(Path.Combine(outDir, HtmlReportWriter.FileName)).AbsoluteUri]);

        var pages = PdfPages(pdftotext, pdf);
        Assert.IsLessThanOrEqualTo(26, pages.Count);
        Assert.AreEqual(50, WholeChartsPerPage(pages).Sum(), "the worst 50 calls are charted");
        string all = string.Join("\n", pages);
        StringAssert.Contains(all, "300 calls, worst first");
        var tablePages = pages.Where(p => Regex.IsMatch(p, @"Call-ID\s+From\s+To\s+Result")).ToList();
        Assert.IsGreaterThanOrEqualTo(5, tablePages.Count, "the calls table runs over several pages, its header on each");
        int rows = pages.Sum(p => CallRow().Matches(p).Count);
        Assert.AreEqual(300, rows, "one line per call in the table");
    }

    private List<string> PdfPages(string pdftotext, string pdf)
    {
        var pages = RunTool(pdftotext, ["-layout", pdf, "-"]).Split('\f').ToList();
        if (pages.Count > 0 && pages[^1].Trim().Length == 0) pages.RemoveAt(pages.Count - 1);
        TestContext.WriteLine($"{pages.Count} pages: {pdf}");
        return pages;
    }

    /// <summary>Charts per page, each whole: its caption, both y axis titles and both x axis titles on that page.</summary>
    private static List<int> WholeChartsPerPage(List<string> pages)
    {
        var counts = new List<int>();
        for (int i = 0; i < pages.Count; i++)
        {
            int captions = ChartCaption().Matches(pages[i]).Count;
            Assert.AreEqual(captions, JitterAxisTitle().Matches(pages[i]).Count, $"page {i + 1}: a call's jitter chart is on another page than its caption");
            Assert.AreEqual(captions, Count(pages[i], "IP bandwidth (kbit/s)"), $"page {i + 1}: a bandwidth chart is on another page than its caption");
            Assert.AreEqual(2 * captions, Count(pages[i], "time from the call's first RTP packet (s)"), $"page {i + 1}: a chart is cut by the page end");
            counts.Add(captions);
        }
        return counts;
    }

    /// <summary>A row of the calls table in pdftotext's layout: call number, Call-ID start, then sip: From URI.</summary>
    [GeneratedRegex(@"(?m)^\s*\d+\s+[0-9a-f]{8}-[0-9a-f-]*…\s+sip:")]
    private static partial Regex CallRow();

    private static double D(Match m, int group) => double.Parse(m.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static int Count(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static string FindTool(string name, string package)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        Assert.Inconclusive($"{name} is not installed (Debian package {package}; tools/test.sh installs it as root)");
        return "";
    }

    private static string RunTool(string tool, string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.IsTrue(p.WaitForExit(Timeout), $"{tool} did not finish");
        Assert.AreEqual(0, p.ExitCode, stderr.Result);
        return stdout.Result;
    }

    /// <summary>The jitter chart's y axis title (the call quality tile reads "Jitter (ms), median").</summary>
    [GeneratedRegex(@"Jitter \(ms\)(?!,)")]
    private static partial Regex JitterAxisTitle();

    [GeneratedRegex(@"Call \d+: ")]
    private static partial Regex ChartCaption();

    [GeneratedRegex(@"<word xMin=""([\d.]+)"" yMin=""([\d.]+)"" xMax=""([\d.]+)"" yMax=""([\d.]+)"">([^<]*)</word>")]
    private static partial Regex BboxWord();

    /// <summary>Requests the trap saw, except Chromium's own (by exact host).</summary>
    private static List<string> PageRequests(ProxyTrap trap) =>
        trap.Requests.Where(r => !BrowserOwnHosts.Any(h => r.Contains("://" + h + "/", StringComparison.OrdinalIgnoreCase) || r.StartsWith("CONNECT " + h + ":", StringComparison.OrdinalIgnoreCase))).ToList();

    private static string FindChromium()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var p = Path.Combine(dir, name);
                if (File.Exists(p)) return p;
            }
        Assert.Inconclusive("chromium is not installed (Debian package chromium; tools/test.sh installs it as root)");
        return "";
    }

    private static string RunChromium(string chromium, string work, int proxyPort, string[] action)
    {
        var psi = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        foreach (var a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
            "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings", "--disable-breakpad",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
            $"--user-data-dir={Path.Combine(work, "profile-" + Guid.NewGuid().ToString("N"))}",
            $"--proxy-server=http://127.0.0.1:{proxyPort}", "--proxy-bypass-list=<-loopback>",
        })
            psi.ArgumentList.Add(a);
        foreach (var a in action) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"chromium did not finish within {Timeout.TotalSeconds} s");
        }
        Assert.AreEqual(0, p.ExitCode, stderr.Result);
        return stdout.Result;
    }

    /// <summary>A proxy that answers nothing: it records the first line of every connection and closes it.</summary>
    private sealed class ProxyTrap : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly ConcurrentQueue<string> _requests = new();
        private readonly SemaphoreSlim _seen = new(0);
        private readonly CancellationTokenSource _stop = new();

        public ProxyTrap()
        {
            _listener.Start();
            _ = Task.Run(AcceptLoop);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public IReadOnlyCollection<string> Requests => _requests.ToArray();

        public bool WaitForAny(TimeSpan timeout) => !_requests.IsEmpty || _seen.Wait(timeout);

        public void Clear()
        {
            while (_requests.TryDequeue(out _)) { }
            while (_seen.CurrentCount > 0) _seen.Wait(0);
        }

        private async Task AcceptLoop()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception) { return; }
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        string line = "(connection without a request line)";
                        try
                        {
                            using var reader = new StreamReader(client.GetStream());
                            var read = reader.ReadLineAsync();
                            if (await Task.WhenAny(read, Task.Delay(2000)) == read) line = await read ?? line;
                        }
                        catch (IOException) { }
                        _requests.Enqueue(line);
                        _seen.Release();
                    }
                });
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex Tags();

    [GeneratedRegex(@"<\s*(script|link|img|image|iframe|frame|object|embed|video|audio|source|track|base|form|input|use|foreignObject)\b", RegexOptions.IgnoreCase)]
    private static partial Regex LoadingElements();

    [GeneratedRegex(@"\s(src|href|xlink:href|action|formaction|poster|data|srcset|background|ping)\s*=\s*[""']?([^""'\s>]*)", RegexOptions.IgnoreCase)]
    private static partial Regex UrlAttributes();
}
