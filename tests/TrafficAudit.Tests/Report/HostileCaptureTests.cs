using System.Text;
using System.Text.RegularExpressions;
using TrafficAudit.Outputs;
using TrafficAudit.Outputs.Report;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Protocols;
using TrafficAudit.Synth.Wire;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Report;

/// <summary>
/// A capture whose SIP carries markup and spreadsheet formulas in every text field we output (From,
/// To, Call-ID, User-Agent, Server, the SDP codec name) and whose file name is markup too: the report
/// must show them as text, the CSV cells must not start a formula.
/// </summary>
[TestClass]
public sealed partial class HostileCaptureTests
{
    private const string Script = "<script>alert(1)</script>";
    private const string Img = "\"><img src=x onerror=alert(1)>";
    private const string Hyperlink = "=HYPERLINK(\"http://evil\",\"x\")";
    private const string Cmd = "+cmd|' /C calc'!A0";
    private const string Sum = "@SUM(1+1)";
    private const string Minus = "-2+3<marquee>";

    private static readonly Lock RunLock = new();
    private static (string Dir, string Pcap, AuditResult Result)? _run;

    internal static (string Dir, string Pcap, AuditResult Result) Run()
    {
        lock (RunLock) return _run ??= Make();
    }

    private static (string Dir, string Pcap, AuditResult Result) Make()
    {
        var dir = ReportTestKit.NewTempDir();
        var pcap = Path.Combine(dir, "<img src=x onerror=alert(1)>.pcap");
        using (var f = File.Create(pcap)) Build().WritePcap(f);
        var result = ReportTestKit.Audit(pcap);
        AuditCsvWriter.WriteAll(dir, result, [pcap]);
        HtmlReportWriter.Write(dir, new ReportInput { Result = result, Files = [pcap], ToolVersion = "test", CommandLine = $"trafficaudit audit '{pcap}' --report" });
        return (dir, pcap, result);
    }

    private static SyntheticCapture Build()
    {
        var b = new CaptureBuilder(seed: 5, localSubnet: 0x0A000000);
        var cucm = b.AddHost(new Host("10.0.1.5", "cucm"));
        var node = b.AddHost(new Host("10.0.0.10", "imagicle", isNode: true));
        var sip = b.NewFlow(Frames.ProtocolUdp, cucm, 5060, node, 5060, "sip");
        var rtp = b.NewFlow(Frames.ProtocolUdp, cucm, 20000, node, 30000, "rtp");
        string sdpCucm = Sdp("10.0.1.5", 20000);
        string sdpNode = Sdp("10.0.0.10", 30000);

        // Call 1: markup and formulas in From, To, Call-ID, User-Agent, Server and the codec name.
        string callId = Hyperlink + Script;
        string from = $"\"{Script}\" <sip:=1+1@10.0.1.5>;tag=a1";
        string to = $"<sip:{Uri("7000" + Img)}@10.0.0.10>";
        Send(b, sip, true, 0, Request("INVITE", callId, from, to, 1, "User-Agent: " + Cmd + " <img src=x onerror=alert(1)>", sdpCucm));
        Send(b, sip, false, 20_000, Response(100, "Trying", callId, from, to, 1, "INVITE", Sum, null));
        Send(b, sip, false, 200_000, Response(200, "OK", callId, from, to + ";tag=b1", 1, "INVITE", Sum, sdpNode));
        Send(b, sip, true, 210_000, Request("ACK", callId, from, to + ";tag=b1", 1, "", null));
        new RtpSender(b, rtp, true, RtpSender.PayloadPcmu).Send(300_000, 100);
        new RtpSender(b, rtp, false, RtpSender.PayloadPcmu).Send(305_000, 100);
        Send(b, sip, true, 2_400_000, Request("BYE", callId, from, to + ";tag=b1", 2, "", null));
        Send(b, sip, false, 2_420_000, Response(200, "OK", callId, from, to + ";tag=b1", 2, "BYE", Sum, null));

        // Call 2: a Call-ID and user agent that start with @ and -, refused.
        string callId2 = Sum + Img.Replace(" ", "", StringComparison.Ordinal);
        string from2 = "<sip:@evil@10.0.1.5>;tag=c1";
        string to2 = "<sip:7001@10.0.0.10>";
        Send(b, sip, true, 3_000_000, Request("INVITE", callId2, from2, to2, 1, "User-Agent: " + Minus, sdpCucm));
        Send(b, sip, false, 3_050_000, Response(486, "Busy Here", callId2, from2, to2 + ";tag=d1", 1, "INVITE", Minus, null));
        Send(b, sip, true, 3_060_000, Request("ACK", callId2, from2, to2 + ";tag=d1", 1, "", null));
        return b.Build("HostileCaptureTests seed 5", "between CUCM and the Imagicle node");
    }

    // A SIP URI user part may not hold spaces: the markup goes in without them.
    private static string Uri(string s) => s.Replace(" ", "", StringComparison.Ordinal);

    private static string Sdp(string ip, int port) =>
        $"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 {Minus}/8000\r\n";

    private static string Request(string method, string callId, string from, string to, int cseq, string extra, string? sdp)
    {
        var sb = new StringBuilder();
        sb.Append($"{method} sip:7000@10.0.0.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.1.5:5060;branch=z9hG4bK{method}{cseq}{callId.Length}\r\n");
        sb.Append($"From: {from}\r\nTo: {to}\r\nCall-ID: {callId}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n");
        if (method == "INVITE") sb.Append("Contact: <sip:cucm@10.0.1.5:5060>\r\n");
        if (extra.Length > 0) sb.Append(extra).Append("\r\n");
        return Body(sb, sdp);
    }

    private static string Response(int code, string reason, string callId, string from, string to, int cseq, string method, string server, string? sdp)
    {
        var sb = new StringBuilder();
        sb.Append($"SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP 10.0.1.5:5060;branch=z9hG4bK{method}{cseq}{callId.Length}\r\n");
        sb.Append($"From: {from}\r\nTo: {to}\r\nCall-ID: {callId}\r\nCSeq: {cseq} {method}\r\nServer: {server}\r\n");
        if (code == 200 && method == "INVITE") sb.Append("Contact: <sip:node@10.0.0.10:5060>\r\n");
        return Body(sb, sdp);
    }

    private static string Body(StringBuilder sb, string? sdp)
    {
        if (sdp is null) return sb.Append("Content-Length: 0\r\n\r\n").ToString();
        return sb.Append($"Content-Type: application/sdp\r\nContent-Length: {Encoding.ASCII.GetByteCount(sdp)}\r\n\r\n{sdp}").ToString();
    }

    private static void Send(CaptureBuilder b, Flow f, bool fromClient, long t, string text) => b.EmitUdp(f, fromClient, t, Encoding.ASCII.GetBytes(text));

    [TestMethod]
    public void Engine_HostileSip_BothCallsWithTheirHostileText()
    {
        var r = Run().Result;
        Assert.HasCount(2, r.Calls);
        var c1 = r.Calls.Single(c => c.Sip.CallId.StartsWith('='));
        StringAssert.Contains(c1.Sip.CallId, Script);
        StringAssert.StartsWith(c1.Sip.UserAgents[0], Cmd);
        StringAssert.StartsWith(c1.Codec, Minus);
        Assert.IsGreaterThan(0, c1.Streams.Count);
        StringAssert.StartsWith(r.Calls.Single(c => c != c1).Sip.CallId, Sum);
    }

    [TestMethod]
    public void Report_HostileSipAndFileName_NoMarkupFromTheCapture()
    {
        var (dir, _, _) = Run();
        string html = File.ReadAllText(Path.Combine(dir, HtmlReportWriter.FileName));
        foreach (var tag in new[] { "<script", "<img", "<marquee", "onerror=alert(1)>" })
            Assert.DoesNotContain(tag, html, StringComparison.OrdinalIgnoreCase);
        // Quotes from the capture are entities, so no attribute can be closed early.
        StringAssert.Contains(html, "title=\"@SUM(1+1)&quot;&gt;&lt;img");
        // The hostile text is there, as text.
        StringAssert.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
        StringAssert.Contains(html, "&lt;img src=x onerror=alert(1)&gt;.pcap");
        StringAssert.Contains(html, "=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)");
        StringAssert.Contains(html, "-2+3&lt;marquee&gt;");
        // The only elements are ours: nothing the writer does not emit itself.
        var tags = TagNames().Matches(html).Select(m => m.Groups[1].Value.ToLowerInvariant()).ToHashSet();
        tags.ExceptWith(["!doctype", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "strong", "span", "section", "div",
            "table", "thead", "tbody", "tr", "th", "td", "nav", "a", "figure", "figcaption", "svg", "text", "line", "polyline", "dl", "dt", "dd", "code", "ul", "li", "footer", "wbr"]);
        Assert.IsEmpty(tags, string.Join(", ", tags));
    }

    [TestMethod]
    public void Csv_HostileSip_FormulaCellsStartWithTheEscapeQuote()
    {
        var (dir, _, _) = Run();
        var calls = Csv.Read(Path.Combine(dir, "calls.csv"));
        var c1 = calls.Single(c => c["call_id"].Contains("HYPERLINK", StringComparison.Ordinal));
        var c2 = calls.Single(c => c["call_id"].Contains("SUM", StringComparison.Ordinal));
        Assert.AreEqual("'" + Hyperlink + Script, c1["call_id"]);
        StringAssert.StartsWith(c1["user_agents"], "'" + Cmd);
        StringAssert.StartsWith(c1["codec"], "'" + Minus);
        StringAssert.StartsWith(c2["call_id"], "'" + Sum);
        StringAssert.StartsWith(c2["user_agents"], "'" + Minus);
        foreach (var s in Csv.Read(Path.Combine(dir, "rtp_streams.csv")))
        {
            StringAssert.StartsWith(s["call_id"], "'=");
            StringAssert.StartsWith(s["codec"], "'-");
        }
        // No cell of any of our CSVs starts a formula.
        foreach (var name in new[] { "flows.csv", "rtp_streams.csv", "calls.csv", "anomalies.csv" })
            foreach (var row in Csv.Read(Path.Combine(dir, name)))
                foreach (var (column, value) in row)
                    Assert.IsFalse(value.Length > 0 && value[0] is '=' or '+' or '@' || (value.StartsWith('-') && !double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _)),
                        $"{name} {column}: {value}");
    }

    [GeneratedRegex(@"<\s*([!A-Za-z][A-Za-z0-9-]*)")]
    private static partial Regex TagNames();
}
