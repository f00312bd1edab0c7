using TrafficAudit.Capture.Live;
using TrafficAudit.Cli;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Live;

/// <summary>The live and interfaces command lines: mistakes are usage errors before any capture starts.</summary>
[TestClass]
public sealed class LiveCommandUsageTests
{
    [TestMethod]
    [DataRow(new[] { "live" }, "needs an interface")]
    [DataRow(new[] { "live", "-i", "lo", "extra" }, "unexpected argument 'extra'")]
    [DataRow(new[] { "live", "-i", "lo", "--duration", "0" }, "--duration '0'")]
    [DataRow(new[] { "live", "-i", "lo", "--flush", "soon" }, "--flush 'soon'")]
    [DataRow(new[] { "live", "-i", "lo", "--ring-size", "5" }, "go with --write")]
    [DataRow(new[] { "live", "-i", "lo", "--write", "x.pcapng", "--ring-files", "3" }, "--ring-files needs --ring-size")]
    [DataRow(new[] { "live", "-i", "lo", "--snaplen", "10" }, "--snaplen '10'")]
    [DataRow(new[] { "live", "-i", "lo", "--server", "not-an-ip" }, "--server 'not-an-ip'")]
    [DataRow(new[] { "interfaces", "eth0" }, "unexpected argument 'eth0'")]
    public void Run_BadCommandLine_ExitsTwoWithMessage(string[] args, string expected)
    {
        var r = CliRunner.Run(args);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, expected);
    }

    [TestMethod]
    public void ReadSettings_RingOptions_SizeInDecimalMegabytes()
    {
        var a = CliParser.ParseCommand("live", ["-i", "eth1", "-f", "udp", "--write", "/tmp/a.pcapng", "--ring-size", "5", "--ring-files", "4", "--duration", "2.5", "--buffer", "64"]);
        var s = LiveCommand.ReadSettings(a);
        Assert.AreEqual("eth1", s.Capture.Interface);
        Assert.AreEqual("udp", s.Capture.Filter);
        Assert.AreEqual(64 << 20, s.Capture.BufferSize);
        Assert.AreEqual(LiveCaptureOptions.DefaultSnapLength, s.Capture.SnapLength);
        Assert.AreEqual(TimeSpan.FromSeconds(2.5), s.Duration);
        Assert.AreEqual(TimeSpan.FromSeconds(10), s.Flush, "default flush");
        Assert.AreEqual(5_000_000L, s.Write!.RingSizeBytes);
        Assert.AreEqual(4, s.Write.RingFiles);
    }

    [TestMethod]
    [DataRow(LiveCaptureProblem.BadFilter, ExitCodes.Usage)]
    [DataRow(LiveCaptureProblem.NoSuchInterface, ExitCodes.Usage)]
    [DataRow(LiveCaptureProblem.LibpcapMissing, ExitCodes.CaptureUnreadable)]
    [DataRow(LiveCaptureProblem.PermissionDenied, ExitCodes.CaptureUnreadable)]
    [DataRow(LiveCaptureProblem.InterfaceDown, ExitCodes.CaptureUnreadable)]
    public void Fail_CaptureProblem_OneLineAndExitCode(LiveCaptureProblem problem, int exitCode)
    {
        var e = new StringWriter();
        Assert.AreEqual(exitCode, LiveCommand.Fail(new LiveCaptureException(problem, "what to do"), e));
        Assert.AreEqual("trafficaudit: what to do" + Environment.NewLine, e.ToString());
    }

    [TestMethod]
    public void Run_UnknownInterface_ListsTheAvailableOnes()
    {
        if (TrafficAudit.Capture.Live.LivePreflight.Check().Problem == LiveCaptureProblem.LibpcapMissing) Assert.Inconclusive("libpcap missing");
        var r = CliRunner.Run(["live", "-i", "no-such-interface0", "--out", Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"))]);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, "no capture interface named 'no-such-interface0'");
        StringAssert.Contains(r.Stderr, "lo");
    }

    [TestMethod]
    public void Help_DescribesLiveAndInterfaces()
    {
        var r = CliRunner.Run(["--help"]);
        StringAssert.Contains(r.Stdout, "trafficaudit live -i IFACE");
        StringAssert.Contains(r.Stdout, "--ring-size MB");
        StringAssert.Contains(r.Stdout, "trafficaudit interfaces");
    }
}

/// <summary>Interface numbers as dumpcap numbers them, and the live status line.</summary>
[TestClass]
public sealed class LiveInterfaceNumberTests
{
    [TestMethod]
    public void Interfaces_NumbersMatchDumpcap()
    {
        if (!File.Exists("/usr/bin/dumpcap")) Assert.Inconclusive("dumpcap not installed (apt-get install tshark)");
        if (!LivePreflight.Check().Ok) Assert.Inconclusive("no capture privilege or libpcap here");
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/dumpcap", ["-D"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        string dumpcap = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        // dumpcap -D: "3. lo (Loopback)"
        var theirs = dumpcap.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).Where(f => f[0].EndsWith('.')).ToDictionary(f => int.Parse(f[0].TrimEnd('.')), f => f[1]);
        Assert.IsGreaterThan(0, theirs.Count, dumpcap);
        foreach (var (n, name) in theirs)
            Assert.AreEqual(name, LiveInterfaces.Resolve(n.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"-i {n}");
        var listed = CliRunner.Run(["interfaces"]);
        foreach (var (n, name) in theirs)
            StringAssert.Contains(listed.Stdout, $"{n,3} {name} ");
    }

    [TestMethod]
    public void Interface_NumberBeyondTheList_IsAUsageErrorNamingTheList()
    {
        if (!LivePreflight.Check().Ok) Assert.Inconclusive("no capture privilege or libpcap here");
        var r = CliRunner.Run(["live", "-i", "999", "--out", Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"))]);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, "there is no interface number 999");
        StringAssert.Contains(r.Stderr, " lo");
    }

    [TestMethod]
    public void StatusLine_OnATerminal_RewritesItselfInPlace()
    {
        using var engine = new TrafficAudit.Pipeline.AuditEngine(TrafficAudit.Catalogue.PortCatalogue.LoadEmbedded(), new TrafficAudit.Pipeline.AuditOptions());
        var e = new StringWriter();
        var status = new LiveCommand.StatusLine(e, engine, null, quiet: false, inPlace: true);
        status.WriteLine("a long first status line");
        status.WriteLine("short");
        status.End();
        Assert.AreEqual("\ra long first status line\rshort                   " + Environment.NewLine, e.ToString());
        var log = new StringWriter();
        var plain = new LiveCommand.StatusLine(log, engine, null, quiet: false, inPlace: false);
        plain.Write(Environment.TickCount64);
        plain.End();
        Assert.DoesNotContain("\r", log.ToString());
        StringAssert.Matches(log.ToString(), new System.Text.RegularExpressions.Regex(@"^live  \d\d:\d\d:\d\dZ "));
        Assert.AreEqual(1, log.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
