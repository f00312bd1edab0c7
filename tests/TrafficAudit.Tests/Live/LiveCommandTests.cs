using System.Globalization;
using System.Text.RegularExpressions;
using TrafficAudit.Cli;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Live;

/// <summary>
/// `trafficaudit live` end to end on real traffic made by the tests inside a network namespace of
/// their own (<see cref="LiveLab"/>): SIP calls with RTP between two SIPp instances on the
/// namespace's loopback, and tcpreplay pushing a generated capture through a veth pair. The live
/// results are compared with the offline audit of the same packets. Needs root, iproute2, libpcap,
/// sip-tester and tcpreplay (tools/test.sh installs them); Inconclusive otherwise.
/// </summary>
[TestClass]
public sealed partial class LiveCommandTests
{
    private const string Sipp = "/usr/bin/sipp";
    private const string Tcpreplay = "/usr/bin/tcpreplay";
    private const string ReadyText = "Ctrl+C to stop";
    private static readonly string[] ComparedCsvs = ["flows.csv", "calls.csv", "rtp_streams.csv"];

    [GeneratedRegex(@"Capture: ([\d,]+) frames audited, ([\d,]+) received by the filter, ([\d,]+) dropped by the kernel, ([\d,]+) by the interface")]
    private static partial Regex CaptureLine();

    [GeneratedRegex(@"Successful packets:\s+(\d+)")]
    private static partial Regex TcpreplaySent();

    private static string G711aPcap()
    {
        const string packaged = "/usr/share/sip-tester/g711a.pcap";
        return File.Exists(packaged) ? packaged : TestPaths.PublicCapture("sipp/g711a.pcap");
    }

    /// <summary>
    /// A UAC call like SIPp's built-in uac_pcap, with the G.711 A-law RTP of g711a.pcap played from
    /// its absolute path, then BYE after <paramref name="talkMs"/> (SIPp stops the playback then).
    /// </summary>
    private static string UacScenario(int talkMs) => $$"""
        <?xml version="1.0" encoding="ISO-8859-1" ?>
        <scenario name="trafficaudit live test call">
          <send retrans="500"><![CDATA[
              INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
              To: [service] <sip:[service]@[remote_ip]:[remote_port]>
              Call-ID: [call_id]
              CSeq: 1 INVITE
              Contact: sip:sipp@[local_ip]:[local_port]
              Max-Forwards: 70
              Content-Type: application/sdp
              Content-Length: [len]

              v=0
              o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
              s=-
              c=IN IP[local_ip_type] [local_ip]
              t=0 0
              m=audio [auto_media_port] RTP/AVP 8
              a=rtpmap:8 PCMA/8000

            ]]></send>
          <recv response="100" optional="true"/>
          <recv response="180" optional="true"/>
          <recv response="200" rtd="true"/>
          <send><![CDATA[
              ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
              To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
              Call-ID: [call_id]
              CSeq: 1 ACK
              Contact: sip:sipp@[local_ip]:[local_port]
              Max-Forwards: 70
              Content-Length: 0

            ]]></send>
          <nop><action><exec play_pcap_audio="{{G711aPcap()}}"/></action></nop>
          <pause milliseconds="{{talkMs}}"/>
          <send retrans="500"><![CDATA[
              BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
              Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
              From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
              To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
              Call-ID: [call_id]
              CSeq: 2 BYE
              Contact: sip:sipp@[local_ip]:[local_port]
              Max-Forwards: 70
              Content-Length: 0

            ]]></send>
          <recv response="200" crlf="true"/>
        </scenario>
        """;

    /// <summary>SIPp's built-in UAS on 127.0.0.1:5060, echoing the RTP it receives (so each call has media both ways).</summary>
    private static LabProcess StartUas(LiveLab lab)
        => lab.Start(Sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", "5060", "-mp", "16000", "-rtp_echo", "-nostdin");

    private static LabProcess StartUac(LiveLab lab, int calls, int talkMs)
    {
        string scenario = Path.Combine(lab.Work, "uac.xml");
        File.WriteAllText(scenario, UacScenario(talkMs));
        return lab.Start(Sipp, "127.0.0.1:5060", "-sf", scenario, "-i", "127.0.0.1", "-p", "5062", "-mp", "17000",
            "-m", calls.ToString(CultureInfo.InvariantCulture), "-l", "1", "-r", "10", "-nostdin", "-timeout", "30s");
    }

    private static LabProcess StartLive(LiveLab lab, string outDir, params string[] more)
    {
        var live = lab.StartCli(["live", "--out", outDir, .. more]);
        Assert.IsTrue(live.WaitForStderr(ReadyText, 20_000), "live capture did not start: " + live.Stderr + live.Stdout);
        return live;
    }

    private static void Stop(LabProcess live)
    {
        live.Terminate();
        Assert.IsTrue(live.WaitForExit(15_000), "live capture did not end on SIGTERM");
        Assert.AreEqual(ExitCodes.Ok, live.ExitCode, live.Stderr + live.Stdout);
        Assert.DoesNotContain("   at ", live.Stderr, "no stack trace");
    }

    private static (long Audited, long Received, long KernelDrops, long InterfaceDrops) CaptureCounts(string stdout)
    {
        var m = CaptureLine().Match(stdout);
        Assert.IsTrue(m.Success, "capture line in the summary: " + stdout);
        long N(int g) => long.Parse(m.Groups[g].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        return (N(1), N(2), N(3), N(4));
    }

    /// <summary>Audits the files offline (in process) and asserts its CSVs equal the live run's, byte for byte.</summary>
    private static void AssertOfflineAuditEquals(string liveOut, IReadOnlyList<string> captureFiles, string offlineOut)
    {
        Assert.IsNotEmpty(captureFiles, "packet files written");
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = CommandLine.Run(["audit", .. captureFiles, "--out", offlineOut, "--quiet", "--fail-on", "never"], o, e);
        Assert.AreEqual(ExitCodes.Ok, rc, e.ToString());
        foreach (var csv in ComparedCsvs)
            CollectionAssert.AreEqual(File.ReadAllLines(Path.Combine(offlineOut, csv)), File.ReadAllLines(Path.Combine(liveOut, csv)),
                $"{csv}: live run vs offline audit of {string.Join(", ", captureFiles.Select(Path.GetFileName))}");
    }

    /// <summary>Every CSV has a header and rows with as many fields, and no temporary file is left beside them.</summary>
    private static void AssertCompleteCsvs(string outDir)
    {
        foreach (var csv in (string[])["flows.csv", "calls.csv", "rtp_streams.csv", "anomalies.csv"])
        {
            string path = Path.Combine(outDir, csv);
            Assert.IsTrue(File.Exists(path), csv);
            int columns = Csv.Header(path).Count;
            foreach (var row in Csv.Read(path)) Assert.AreEqual(columns, row.Count, $"{csv}: a row with a missing field");
            Assert.IsTrue(File.ReadAllText(path).EndsWith("\r\n", StringComparison.Ordinal), $"{csv} ends with a complete line");
        }
        Assert.IsEmpty(Directory.GetFiles(outDir, "*.tmp"), "temporary files left");
    }

    [TestMethod]
    [DataRow("2")]
    [DataRow("4")] // the sharded engine: reader, merger, two flow shards
    public void Live_TwoSippCallsWithRtp_CallsAndStreamsEqualOfflineAuditOfWrittenPcapng(string threads)
    {
        LiveLab.RequireTool(Sipp, "sip-tester");
        using var lab = LiveLab.Create();
        string outDir = Path.Combine(lab.Work, "live"), pcapng = Path.Combine(lab.Work, "live.pcapng");
        StartUas(lab);
        var live = StartLive(lab, outDir, "-i", "lo", "--flush", "1", "--write", pcapng, "--threads", threads);
        var uac = StartUac(lab, calls: 2, talkMs: 1500);
        Assert.IsTrue(uac.WaitForExit(30_000), "SIPp calls did not finish");
        Assert.AreEqual(0, uac.ExitCode, "SIPp: every call succeeded\n" + uac.Stdout + uac.Stderr);
        Thread.Sleep(300);
        Stop(live);

        var (audited, _, kernel, iface) = CaptureCounts(live.Stdout);
        Assert.AreEqual(0, kernel + iface, "no drops at a few hundred packets/s on loopback");
        Assert.IsGreaterThan(100, audited);
        StringAssert.Contains(live.Stdout, "Capture drops: lo kernel 0, interface 0");
        StringAssert.Contains(live.Stderr, "calls in progress", "status lines");
        StringAssert.Matches(live.Stdout, new Regex(@"Flushes: [1-9][\d,]* written, \d+ skipped \(the one before still writing\); the longest held the capture [\d,]+ ms"), "flushes while running");

        var calls = Csv.Read(Path.Combine(outDir, "calls.csv"));
        Assert.HasCount(2, calls, "two calls");
        foreach (var c in calls)
        {
            Assert.AreEqual("true", c["answered"]);
            Assert.AreEqual("bye", c["end_reason"]);
            Assert.AreEqual("PCMA", c["codec"]);
        }
        var streams = Csv.Read(Path.Combine(outDir, "rtp_streams.csv"));
        Assert.HasCount(4, streams, "each call: the played RTP and the UAS's echo");
        foreach (var s in streams)
        {
            Assert.IsTrue(calls.Any(c => c["call_id"] == s["call_id"]), "stream bound to a call by SDP");
            Assert.IsGreaterThan(30, int.Parse(s["packets"], CultureInfo.InvariantCulture), "1.5 s of 30 ms packets");
            Assert.AreEqual("0", s["lost"]);
        }
        AssertCompleteCsvs(outDir);
        AssertOfflineAuditEquals(outDir, [pcapng], Path.Combine(lab.Work, "offline"));
    }

    [TestMethod]
    public void Live_SigtermDuringCall_FlushesWhileRunningAndLeavesCompleteCsvs()
    {
        LiveLab.RequireTool(Sipp, "sip-tester");
        using var lab = LiveLab.Create();
        string outDir = Path.Combine(lab.Work, "live"), pcapng = Path.Combine(lab.Work, "live.pcapng");
        StartUas(lab);
        var live = StartLive(lab, outDir, "-i", "lo", "--flush", "1", "--write", pcapng);
        StartUac(lab, calls: 1, talkMs: 20_000);

        // The periodic flush shows the call while it is going on: open_calls.csv holds the records still open
        // (calls.csv, a log, gets each call once it has ended).
        string callsCsv = Path.Combine(outDir, "calls.csv");
        List<Dictionary<string, string>> during = [];
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            during = Csv.Read(Path.Combine(outDir, "open_calls.csv"));
            if (during.Count == 1 && during[0]["answered"] == "true" && Csv.Read(Path.Combine(outDir, "open_rtp_streams.csv")).Count > 0) break;
            Thread.Sleep(200);
        }
        Assert.HasCount(1, during, "the call is in open_calls.csv before the capture ends");
        Assert.HasCount(0, Csv.Read(callsCsv), "calls.csv is the log of ended calls: none yet");
        Assert.AreEqual("false", during[0]["ended"], "still in progress");
        Assert.IsTrue(live.WaitForStderr("1 calls in progress", 3000), "status line counts the call: " + live.Stderr);

        Stop(live);   // in the middle of the call
        var (audited, _, kernel, iface) = CaptureCounts(live.Stdout);
        Assert.AreEqual(0, kernel + iface, "drops");
        var calls = Csv.Read(callsCsv);
        Assert.HasCount(1, calls);
        Assert.AreEqual("true", calls[0]["answered"]);
        Assert.AreEqual("false", calls[0]["ended"], "no BYE before the stop");
        Assert.AreEqual(during[0]["call_id"], calls[0]["call_id"]);
        var streams = Csv.Read(Path.Combine(outDir, "rtp_streams.csv"));
        Assert.IsNotEmpty(streams);
        Assert.IsTrue(streams.Sum(s => long.Parse(s["packets"], CultureInfo.InvariantCulture)) < audited);
        AssertCompleteCsvs(outDir);
        // Nothing seen is lost: the final CSVs hold every frame the capture delivered.
        AssertOfflineAuditEquals(outDir, [pcapng], Path.Combine(lab.Work, "offline"));
    }

    [TestMethod]
    public void Live_TcpreplayOfSiteCaptureThroughVeth_MatchesOfflineAuditAndAccountsForEveryPacket()
    {
        LiveLab.RequireTool(Tcpreplay, "tcpreplay");
        using var lab = LiveLab.Create(veth: true);
        string site = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
        string outDir = Path.Combine(lab.Work, "live"), ring = Path.Combine(lab.Work, "ring", "site.pcapng");
        // A 1 MB ring over about 1.2 MB of pcapng: at least two files, all kept.
        // The site capture carries planted problems (error findings): they are not what this test is about.
        var live = StartLive(lab, outDir, "-i", "vb", "--flush", "1", "--write", ring, "--ring-size", "1", "--fail-on", "never");
        var replay = lab.Start(Tcpreplay, "-i", "va", "--pps", "50000", site);
        Assert.IsTrue(replay.WaitForExit(30_000), "tcpreplay did not finish");
        Assert.AreEqual(0, replay.ExitCode, replay.Stdout + replay.Stderr);
        var sentMatch = TcpreplaySent().Match(replay.Stdout);
        Assert.IsTrue(sentMatch.Success, replay.Stdout);
        long sent = long.Parse(sentMatch.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.AreEqual(4529, sent, "every frame of the site capture was sent");
        Thread.Sleep(800);
        Stop(live);

        // Every packet sent is either audited or reported as dropped.
        var (audited, _, kernel, iface) = CaptureCounts(live.Stdout);
        Assert.IsLessThanOrEqualTo(sent, audited);
        Assert.IsGreaterThanOrEqualTo(sent, audited + kernel + iface, $"audited {audited} + dropped {kernel}+{iface} vs sent {sent}");
        if (kernel + iface == 0) Assert.AreEqual(sent, audited, "without drops every packet is audited");
        else StringAssert.Contains(live.Stdout, "Capture drops: vb kernel", "drops are reported");

        var files = Directory.GetFiles(Path.GetDirectoryName(ring)!, "site_*.pcapng").Order(StringComparer.Ordinal).ToArray();
        Assert.IsGreaterThanOrEqualTo(2, files.Length, "the ring switched files");
        AssertCompleteCsvs(outDir);
        AssertOfflineAuditEquals(outDir, files, Path.Combine(lab.Work, "offline"));

        // Against the original capture: the same calls, and the same RTP streams packet for packet
        // (replay compresses time, so times, rates and jitter differ; counts do not).
        if (kernel + iface != 0) return;
        string original = Path.Combine(lab.Work, "original");
        Assert.AreEqual(ExitCodes.Ok, CommandLine.Run(["audit", site, "--out", original, "--quiet", "--fail-on", "never"], new StringWriter(), new StringWriter()));
        static string[] Keys(string path, params string[] columns) =>
            Csv.Read(path).Select(r => string.Join("|", columns.Select(c => r[c]))).Order(StringComparer.Ordinal).ToArray();
        string[] callColumns = ["call_id", "answered", "ended", "final_status", "codec", "streams"];
        string[] streamColumns = ["call_id", "ssrc", "src_ip", "src_port", "dst_ip", "dst_port", "codec", "packets", "expected", "lost", "duplicates", "out_of_order"];
        var expectedCalls = Keys(Path.Combine(original, "calls.csv"), callColumns);
        Assert.IsNotEmpty(expectedCalls, "the site capture has calls");
        CollectionAssert.AreEqual(expectedCalls, Keys(Path.Combine(outDir, "calls.csv"), callColumns), "calls");
        CollectionAssert.AreEqual(Keys(Path.Combine(original, "rtp_streams.csv"), streamColumns), Keys(Path.Combine(outDir, "rtp_streams.csv"), streamColumns), "RTP streams");
    }

    [TestMethod]
    public void InterfacesAndLive_WithoutPrivilege_SayWhatToGrantWithoutStackTrace()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess) Assert.Inconclusive("needs root to run the command as another user");
        if (!File.Exists("/usr/bin/setpriv")) Assert.Inconclusive("setpriv (util-linux) missing");
        if (!LivePreflightOk()) Assert.Inconclusive("libpcap missing");
        string[] nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", LiveLab.Dotnet, LiveLab.CliDll];

        var (rc, stdout, stderr) = LiveLab.Exec("/usr/bin/setpriv", [.. nobody, "interfaces"]);
        Assert.AreEqual(ExitCodes.Ok, rc, stderr);
        StringAssert.Contains(stdout, "lo ");
        StringAssert.Contains(stderr, "CAP_NET_RAW");
        Assert.DoesNotContain("   at ", stderr);

        string outDir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        (rc, stdout, stderr) = LiveLab.Exec("/usr/bin/setpriv", [.. nobody, "live", "-i", "lo", "--duration", "1", "--out", outDir]);
        Assert.AreEqual(ExitCodes.CaptureUnreadable, rc, stdout + stderr);
        StringAssert.Contains(stderr, "CAP_NET_RAW");
        StringAssert.Contains(stderr, "setcap");
        Assert.DoesNotContain("   at ", stderr);
    }

    private static bool LivePreflightOk() => TrafficAudit.Capture.Live.LivePreflight.Check().Problem != TrafficAudit.Capture.Live.LiveCaptureProblem.LibpcapMissing;
}
