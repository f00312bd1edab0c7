using System.Diagnostics;
using System.Text.Json;
using TrafficAudit.Capture;
using TrafficAudit.Cli;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The command line as a person meets it: help on every command, hints for typos, every option of
/// every command with empty, missing and absurd values (one sentence, exit 2 or 3, never a stack
/// trace), and the file system objects a fuzz campaign threw at it.
/// </summary>
[TestClass]
public sealed class CliUsageTests
{
    private static string Site => Path.Combine(TestPaths.Captures, "imagicle-site.pcap");

    private static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    private static void AssertOneSentenceError(CliRunner.Result r, string because)
    {
        Assert.DoesNotContain("   at ", r.Stderr, because);
        Assert.DoesNotContain("Exception", r.Stderr, because);
        Assert.DoesNotContain("   at ", r.Stdout, because);
        StringAssert.StartsWith(r.Stderr, "trafficaudit: ", because);
    }

    [TestMethod]
    public void Help_EveryCommand_ListsItsOwnOptionsAliasesAndAnExample()
    {
        foreach (var spec in CommandSpecs.All)
        {
            foreach (var help in new[] { "--help", "-h" })
            {
                var r = CliRunner.Run([spec.Name, help]);
                Assert.AreEqual(0, r.ExitCode, $"{spec.Name} {help}: {r.Stderr}");
                StringAssert.Contains(r.Stdout, "Examples:", spec.Name);
                StringAssert.Contains(r.Stdout, $"trafficaudit {spec.Name}", spec.Name);
                foreach (var o in spec.Options.Where(o => !o.Hidden))
                    foreach (var name in o.AllNames)
                        StringAssert.Contains(r.Stdout, name, $"{spec.Name} --help names {name}");
            }
        }
        var other = CliRunner.Run(["help", "live"]);
        Assert.AreEqual(0, other.ExitCode);
        StringAssert.Contains(other.Stdout, "--ring-size");
        Assert.DoesNotContain("--from", other.Stdout, "live's help shows live's options, not audit's");
    }

    [TestMethod]
    public void Help_TopLevel_DocumentsEveryShortAlias()
    {
        var r = CliRunner.Run(["--help"]);
        foreach (var alias in CommandSpecs.All.SelectMany(c => c.Options).SelectMany(o => o.Aliases).Where(a => !a.StartsWith("--")).Distinct())
            StringAssert.Contains(r.Stdout, alias + " ", $"the overview documents {alias}");
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        foreach (var alias in CommandSpecs.All.SelectMany(c => c.Options).SelectMany(o => o.Aliases).Distinct())
            StringAssert.Contains(readme, $"`{alias}`", $"the README documents {alias}");
    }

    [TestMethod]
    [DataRow(new[] { "audit", "x.pcap", "--porfile", "p.json" }, "did you mean --profile?")]
    [DataRow(new[] { "audit", "x.pcap", "--reprot" }, "did you mean --report?")]
    [DataRow(new[] { "audit", "x.pcap", "--fail-on", "eror" }, "did you mean error?")]
    [DataRow(new[] { "audti", "x.pcap" }, "unknown command 'audti'; did you mean audit?")]
    [DataRow(new[] { "catalgue" }, "did you mean catalogue?")]
    [DataRow(new[] { "live", "-i", "lo", "--durration", "5" }, "did you mean --duration?")]
    [DataRow(new[] { "audit", "x.pcap", "--duration", "5" }, "--duration is an option of 'live', not of 'audit'")]
    [DataRow(new[] { "live", "-i", "lo", "--from", "+5s" }, "--from is an option of 'audit', not of 'live'")]
    [DataRow(new[] { "catalogue", "--report" }, "--report is an option of 'audit' and 'live', not of 'catalogue'")]
    [DataRow(new[] { "audit", "x.pcap", "--zzzzzz" }, "a file whose name starts with '-' goes after '--'")]
    [DataRow(new[] { "audit", "x.pcap", "--format", "xml" }, "--format 'xml' is not one of csv, jsonl")]
    [DataRow(new[] { "live", "-i", "lo", "--rotate", "0" }, "--rotate '0' needs a unit: a period (30s, 15m, 1h, 1d) or a size (500KB, 100MB, 2GB)")]
    [DataRow(new[] { "live", "-i", "lo", "--rotate", "0h" }, "--rotate '0h' is not a period between 1s and 366d")]
    [DataRow(new[] { "live", "-i", "lo", "--rotate", "5 parsecs" }, "--rotate '5 parsecs' has an unknown unit 'parsecs': use s, m, h, d for a period or KB, MB, GB for a size")]
    [DataRow(new[] { "audit", "x.pcap", "--rotate", "1h" }, "--rotate is an option of 'live', not of 'audit'")]
    [DataRow(new[] { "audit", "x.pcap", "--threads", "0" }, "--threads '0' is not a whole number from 1 to 1024")]
    [DataRow(new[] { "audit", "x.pcap", "--threads", "two" }, "--threads 'two' is not a whole number from 1 to 1024")]
    [DataRow(new[] { "live", "-i", "lo", "--threads", "-1" }, "--threads '-1' is not a whole number from 1 to 1024")]
    [DataRow(new[] { "audit", "x.pcap", "--report=yes" }, "option --report takes no value")]
    [DataRow(new[] { "audit", "x.pcap", "--out" }, "option --out needs a value (DIR)")]
    [DataRow(new[] { "audit", "x.pcap", "-p" }, "option -p needs a value (FILE)")]
    [DataRow(new[] { "audit", "x.pcap", "--out", "--report" }, "option --out needs a value (DIR) before --report")]
    public void Mistake_IsOneSentenceWithAHint_ExitTwo(string[] args, string expected)
    {
        var r = CliRunner.Run(args);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, expected);
        StringAssert.Contains(r.Stderr, "--help");
        AssertOneSentenceError(r, string.Join(' ', args));
    }

    [TestMethod]
    public void EditDistance_CountsSwapsOfNeighboursAsOne()
    {
        Assert.AreEqual(1, CliParser.EditDistance("audti", "audit"));
        Assert.AreEqual(1, CliParser.EditDistance("porfile", "profile"));
        Assert.AreEqual(1, CliParser.EditDistance("reprot", "report"));
        Assert.AreEqual(2, CliParser.EditDistance("raport", "report") + 1);
        Assert.AreEqual(0, CliParser.EditDistance("out", "out"));
        Assert.AreEqual("", CliParser.Hint("--zzzzzz", ["--out", "--report"]));
    }

    /// <summary>Values no option takes: each must give one sentence and exit 2 (or 3 for a capture that cannot be read), never a trace.</summary>
    private static IEnumerable<string> AbsurdValues(OptionSpec o) => o.ValueName switch
    {
        "DIR" => ["/dev/null", "/proc/self/no/such"],
        "FILE" when o.Name == "--write" => ["/"],
        "FILE" => ["/", "/no/such/file.json"],
        "IP" => ["999.1.1.1", "::::", "10.0.0.1/24"],
        "LEVEL" => ["catastrophic", "ERROR!"],
        "TEXT" => [new string('x', 100_000)],
        "TIME" => ["yesterday", "+-5s", "+5y", "2024-13-45T99:00:00Z"],
        "N" => ["-5", "0", "1e99", "99999999999999999999999", "many"],
        "SECONDS" => ["-1", "0", "1e308", "NaN", "Infinity"],
        "MB" => ["0", "99999999", "-3"],
        "BYTES" => ["3", "2147483648"],
        "IFACE" => ["no-such-interface/0", "999999"],
        "FILTER" => ["(((", "port 99999999"],
        "FORMAT" => ["xml", "CSV", "json", "csv,jsonl"],
        "WHEN" => ["sometimes", "ALWAYS", "yes", ""],
        "LIMIT" => ["0", "5 parsecs", "-1h", "0MB", "1.5h", "1e99MB", "99999999999999999999h", "400d", "10"],
        _ => throw new AssertFailedException($"no absurd values for {o.ValueName}"),
    };

    [TestMethod]
    public void EveryOptionOfEveryCommand_EmptyMissingOrAbsurd_IsExitTwoOrThreeWithoutTrace()
    {
        int runs = 0;
        foreach (var spec in CommandSpecs.All)
        {
            foreach (var o in spec.Options.Where(o => o.Name != "--out"))
            {
                var cases = new List<string[]>();
                if (o.IsFlag)
                {
                    cases.Add([$"{o.Name}="]);
                    cases.Add([$"{o.Name}=yes"]);
                }
                else
                {
                    cases.Add([o.Name]);            // missing: the option is last
                    cases.Add([o.Name, ""]);        // empty
                    foreach (var v in AbsurdValues(o)) cases.Add([o.Name, v]);
                    foreach (var alias in o.Aliases) cases.Add([alias]);
                }
                foreach (var c in cases)
                {
                    string[] args = spec.Name switch
                    {
                        // A real capture, so an option's value is what stops the run.
                        "audit" => ["audit", Site, "--out", TempDir(), .. c],
                        // An interface that does not exist: every value is checked before it is opened.
                        "live" => ["live", .. (o.Name == "--interface" ? Array.Empty<string>() : ["-i", "no-such-interface0"]), "--out", TempDir(), .. c],
                        _ => [spec.Name, .. c],
                    };
                    var r = CliRunner.Run(args);
                    string what = string.Join(' ', args.Select(a => a.Length > 40 ? a[..40] + "..." : a));
                    Assert.IsTrue(r.ExitCode is ExitCodes.Usage or ExitCodes.CaptureUnreadable, $"{what}: exit {r.ExitCode}\n{r.Stderr}");
                    AssertOneSentenceError(r, what);
                    runs++;
                }
            }
        }
        // --out: empty, missing, a file, and a folder that cannot be made.
        string file = Path.Combine(TempDir(), "a-file");
        File.WriteAllText(file, "not a folder");
        foreach (var c in new[] { new[] { "--out" }, ["--out", ""], ["--out", file], ["--out", "/proc/self/no/such"] })
        {
            var r = CliRunner.Run(["audit", Site, .. c]);
            Assert.AreEqual(ExitCodes.Usage, r.ExitCode, string.Join(' ', c) + "\n" + r.Stderr);
            AssertOneSentenceError(r, string.Join(' ', c));
            runs++;
        }
        Assert.IsGreaterThan(150, runs);
    }

    [TestMethod]
    public void Out_NamingAFile_SaysSoInOneSentence()
    {
        string file = Path.Combine(TempDir(), "existing.txt");
        File.WriteAllText(file, "x");
        var r = CliRunner.Run(["audit", Site, "--out", file]);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode);
        StringAssert.Contains(r.Stderr, $"--out {file} is a file, not a folder");
        Assert.AreEqual("x", File.ReadAllText(file), "the file is left as it was");
    }

    [TestMethod]
    [DataRow("", ExitCodes.Usage, "an empty capture file name")]
    [DataRow("/dev/zero", ExitCodes.CaptureUnreadable, "not a pcap/pcapng capture")]
    [DataRow("/dev/null", ExitCodes.CaptureUnreadable, "empty file")]
    public void Input_FileSystemOddities_EndWithASentence(string input, int exit, string expected)
    {
        var r = CliRunner.Run(["audit", input]);
        Assert.AreEqual(exit, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, expected);
        AssertOneSentenceError(r, input);
    }

    [TestMethod]
    public void Input_ProfileOrCatalogueOrMapIsAFolder_IsAUsageError()
    {
        foreach (var option in new[] { "--profile", "--catalogue", "--anonymize-map" })
        {
            var r = CliRunner.Run(["audit", Site, option, Path.GetTempPath()]);
            Assert.AreEqual(ExitCodes.Usage, r.ExitCode, option);
            StringAssert.Contains(r.Stderr, "is a folder", option);
        }
    }

    [TestMethod]
    public void Input_SameFileTwice_EvenThroughAnotherPath_IsRefused()
    {
        string dir = TempDir();
        string copy = Path.Combine(dir, "a.pcap");
        File.Copy(Site, copy);
        var r = CliRunner.Run(["audit", copy, Path.Combine(dir, ".", "a.pcap")]);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, "are the same file");
    }

    [TestMethod]
    public void Input_FileNamedLikeAnOption_IsReadAfterDoubleDash()
    {
        string dir = TempDir();
        string odd = Path.Combine(dir, "-x.pcap");
        File.Copy(Site, odd);
        string outDir = Path.Combine(dir, "out");
        var r = CliRunner.Run(["audit", "--out", outDir, "--fail-on", "never", "--", odd]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stdout, "-x.pcap");
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "flows.csv")));
    }

    [TestMethod]
    public void Input_Folder_ReadsCapturesInRingOrderAndNotesTheRest()
    {
        string dir = TempDir();
        string caps = Path.Combine(dir, "caps");
        Directory.CreateDirectory(caps);
        // Ring numbers out of name order (00010 sorts after 00002 by number) and times out of ring order.
        foreach (var name in new[] { "ring_00010_20260302090000.pcap", "ring_00002_20260302110000.pcap", "ring_00001_20260302120000.pcap" })
            File.Copy(Site, Path.Combine(caps, name));
        File.WriteAllText(Path.Combine(caps, "notes.txt"), "the customer's notes, not a capture");
        var r = CliRunner.Run(["audit", caps, "--out", Path.Combine(dir, "out"), "--fail-on", "never"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, "notes.txt: skipped, not a pcap or pcapng file");
        int a = r.Stdout.IndexOf("ring_00001_", StringComparison.Ordinal), b = r.Stdout.IndexOf("ring_00002_", StringComparison.Ordinal), c = r.Stdout.IndexOf("ring_00010_", StringComparison.Ordinal);
        Assert.IsTrue(a > 0 && a < b && b < c, r.Stdout);
        StringAssert.Contains(r.Stdout, "3 capture file(s)");
        StringAssert.Contains(r.Stdout, "Packets read: 13,587", "three copies of the 4,529-frame capture");
    }

    [TestMethod]
    public void Input_FolderWithoutCaptures_IsExitThree()
    {
        string dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "readme.txt"), "nothing here");
        var r = CliRunner.Run(["audit", dir]);
        Assert.AreEqual(ExitCodes.CaptureUnreadable, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stderr, "holds no capture file");
    }

    [TestMethod]
    public void Input_QuotedPattern_IsExpandedLikeTheShell()
    {
        string dir = TempDir();
        foreach (var name in new[] { "site_00002_20260302090000.pcap", "site_00001_20260302090000.pcap", "other.pcap" })
            File.Copy(Site, Path.Combine(dir, name));
        var r = CliRunner.Run(["audit", Path.Combine(dir, "site_*.pcap"), "--out", Path.Combine(dir, "out"), "--fail-on", "never"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stdout, "2 capture file(s)");
        Assert.DoesNotContain("other.pcap", r.Stdout);
        var none = CliRunner.Run(["audit", Path.Combine(dir, "nothing-*.pcap")]);
        Assert.AreEqual(ExitCodes.CaptureUnreadable, none.ExitCode);
        StringAssert.Contains(none.Stderr, "no file matches this pattern");
    }

    [TestMethod]
    public void SortRing_OrdersByRingNumberThenName()
    {
        var sorted = CaptureInputs.SortRing(["b.pcap", "x/r_100000_20260101000000.pcapng", "x/r_99999_20260101000000.pcapng", "a.pcap", "x/r_00001_20260102000000.pcapng"]);
        CollectionAssert.AreEqual(new[] { "x/r_00001_20260102000000.pcapng", "x/r_99999_20260101000000.pcapng", "x/r_100000_20260101000000.pcapng", "a.pcap", "b.pcap" }, sorted);
    }

    /// <summary>tshark's counts for the same windows, recorded by tools/oracle/time-window.sh.</summary>
    public static IEnumerable<object[]> TsharkWindows() =>
        File.ReadAllLines(Path.Combine(TestPaths.TestData, "tshark-time-window.tsv"))
            .Where(l => !l.StartsWith('#') && !l.StartsWith("file\t"))
            .Select(l => l.Split('\t'))
            .Select(f => new object[] { f[1], f[2], f[3], long.Parse(f[4]) });

    [TestMethod]
    [DynamicData(nameof(TsharkWindows))]
    public void Window_FromToAndCount_ReadTheFramesTsharkSelects(string from, string to, string count, long frames)
    {
        string[] window = count != "-" ? ["-c", count] : ["--from", "+" + from + "s", "--to", "+" + to + "s"];
        var r = CliRunner.Run(["audit", Site, "--fail-on", "never", .. window]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stdout, $"Packets read: {frames:N0} ");
        StringAssert.Contains(r.Stdout, "Window: ");
    }

    [TestMethod]
    public void Window_AbsoluteUtcTimes_SameAsRelative()
    {
        // The capture starts at 2026-03-02T09:00:00.2Z (Capture time line of the console).
        var rel = CliRunner.Run(["audit", Site, "--fail-on", "never", "--from", "+1s", "--to", "+3s"]);
        var abs = CliRunner.Run(["audit", Site, "--fail-on", "never", "--from", "2026-03-02T09:00:01.2Z", "--to", "2026-03-02T11:00:03.2+02:00"]);
        StringAssert.Contains(rel.Stdout, "Packets read: 33 ");
        StringAssert.Contains(abs.Stdout, "Packets read: 33 ");
    }

    [TestMethod]
    [DataRow("+30s", 30_000_000_000L, true)]
    [DataRow("+5m", 300_000_000_000L, true)]
    [DataRow("+1.5h", 5_400_000_000_000L, true)]
    [DataRow("+250ms", 250_000_000L, true)]
    [DataRow("+90", 90_000_000_000L, true)]
    [DataRow("1970-01-01T00:00:01Z", 1_000_000_000L, false)]
    [DataRow("1970-01-01T00:00:01", 1_000_000_000L, false)]
    [DataRow("1970-01-01T02:00:01+02:00", 1_000_000_000L, false)]
    public void CaptureTime_Parses(string text, long ns, bool relative)
    {
        Assert.IsTrue(CaptureTime.TryParse(text, out var t));
        Assert.AreEqual(new CaptureTime(ns, relative), t);
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("+")]
    [DataRow("+-1s")]
    [DataRow("+5d")]
    [DataRow("now")]
    [DataRow("12:00")]
    public void CaptureTime_RefusesWhatIsNotATime(string text) => Assert.IsFalse(CaptureTime.TryParse(text, out _));

    [TestMethod]
    public void Window_ToBeforeFrom_IsAUsageError()
    {
        var r = CliRunner.Run(["audit", Site, "--from", "+10s", "--to", "+5s"]);
        Assert.AreEqual(ExitCodes.Usage, r.ExitCode);
        StringAssert.Contains(r.Stderr, "is before --from");
    }

    [TestMethod]
    public void OutputFolder_HoldsOnlyThisRunsFiles_NeverAnythingElse()
    {
        string dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "customer-notes.txt"), "keep me");
        File.WriteAllText(Path.Combine(dir, "report.html.bak"), "keep me too");
        var first = CliRunner.Run(["audit", Site, "--out", dir, "--report", "--fail-on", "never", "-p", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json")]);
        Assert.AreEqual(0, first.ExitCode, first.Stderr);
        Assert.IsTrue(File.Exists(Path.Combine(dir, "report.html")));
        Assert.IsTrue(File.Exists(Path.Combine(dir, "expected_flows.csv")));
        Directory.CreateDirectory(Path.Combine(dir, "evidence"));
        File.WriteAllText(Path.Combine(dir, "evidence", "finding-1.pcapng"), "old evidence");
        File.WriteAllText(Path.Combine(dir, "evidence", "engineer.txt"), "not ours");
        File.WriteAllText(Path.Combine(dir, "rtp_series.csv"), "old series");

        var second = CliRunner.Run(["audit", Site, "--out", dir, "--fail-on", "never"]);
        Assert.AreEqual(0, second.ExitCode, second.Stderr);
        Assert.IsFalse(File.Exists(Path.Combine(dir, "report.html")), "an older run's report does not describe this capture");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "expected_flows.csv")));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "rtp_series.csv")));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "evidence", "finding-1.pcapng")));
        Assert.AreEqual("not ours", File.ReadAllText(Path.Combine(dir, "evidence", "engineer.txt")));
        Assert.AreEqual("keep me", File.ReadAllText(Path.Combine(dir, "customer-notes.txt")));
        Assert.AreEqual("keep me too", File.ReadAllText(Path.Combine(dir, "report.html.bak")));
        StringAssert.Contains(second.Stderr, "removed");
        StringAssert.Contains(second.Stderr, "report.html");
        CollectionAssert.AreEquivalent(
            new[] { "flows.csv", "rtp_streams.csv", "calls.csv", "sip_options.csv", "anomalies.csv", "findings.csv", "customer-notes.txt", "report.html.bak" },
            Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void Title_InConsoleHeaderAndReport()
    {
        string dir = TempDir();
        var r = CliRunner.Run(["audit", Site, "--out", dir, "--report", "--fail-on", "never", "--title", "ACME <Milan> site"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.StartsWith(r.Stdout, "TrafficAudit ");
        StringAssert.Contains(r.Stdout.Split('\n')[0], "[ACME <Milan> site]");
        StringAssert.Contains(File.ReadAllText(Path.Combine(dir, "report.html")), "ACME &lt;Milan&gt; site");
    }

    [TestMethod]
    public void EvidenceAndSeries_AreParsedIntoTheSetup()
    {
        var a = CliParser.ParseCommand("audit", ["x.pcap", "--evidence", "--series"]);
        Assert.IsTrue(a.Flag("--evidence"));
        Assert.IsTrue(a.Flag("--series"));
        var live = CliParser.ParseCommand("live", ["-i", "lo", "--evidence"]);
        Assert.IsTrue(live.Flag("--evidence"));
        Assert.IsFalse(live.Flag("--series"));
    }

    [TestMethod]
    public void Console_ListsSayWhatTheyShowAndWhereTheRestIs()
    {
        var r = CliRunner.Run(["audit", Site, "--fail-on", "never"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        Assert.AreEqual(1, r.Stdout.Split('\n').Count(l => l.StartsWith("Written:")), r.Stdout);
        StringAssert.Contains(r.Stdout, "worst stream(s) by max jitter");
        StringAssert.Contains(r.Stdout, "more in rtp_streams.csv");
        StringAssert.Contains(r.Stdout, "call(s) by start time");
        Assert.DoesNotContain("TCP connections: \n", r.Stdout.Replace("\r", ""));
    }

    [TestMethod]
    public void Console_NoTcp_NoEmptyTcpLine()
    {
        // One SIP call over UDP and IPv6: no TCP at all.
        string udpOnly = TestPaths.PublicCapture("heplify/sip_ipv6_udp.pcap");
        if (!File.Exists(udpOnly)) Assert.Inconclusive("public captures not present");
        var r = CliRunner.Run(["audit", udpOnly, "--fail-on", "never"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        Assert.DoesNotContain("TCP connections", r.Stdout);
    }

    [TestMethod]
    public void Ipv6Endpoint_IsBracketed()
    {
        Assert.IsTrue(TrafficAudit.Decode.IpAddress.TryParse("2001:db8::feb9:4222", out var v6));
        Assert.AreEqual("[2001:db8::feb9:4222]:25060", v6.WithPort(25060));
        Assert.IsTrue(TrafficAudit.Decode.IpAddress.TryParse("10.0.0.1", out var v4));
        Assert.AreEqual("10.0.0.1:5060", v4.WithPort(5060));
    }

    [TestMethod]
    public void Catalogue_Json_IsStrictJsonThatLoadsBack()
    {
        var r = CliRunner.Run(["catalogue", "--json"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        Assert.DoesNotContain("//", r.Stdout.Replace("://", ""), "no comments");
        using var doc = JsonDocument.Parse(r.Stdout); // strict: no comments, no trailing commas
        Assert.AreEqual(JsonValueKind.Object, doc.RootElement.ValueKind);
        string file = Path.Combine(TempDir(), "cat.json");
        File.WriteAllText(file, r.Stdout);
        var again = CliRunner.Run(["catalogue", "--catalogue", file, "--json"]);
        Assert.AreEqual(r.Stdout, again.Stdout, "the JSON printed reads back and prints the same");
        if (File.Exists("/usr/bin/jq"))
        {
            var jq = Process.Start(new ProcessStartInfo("/usr/bin/jq", ["-e", "."]) { RedirectStandardInput = true, RedirectStandardOutput = true })!;
            jq.StandardInput.Write(r.Stdout);
            jq.StandardInput.Close();
            jq.StandardOutput.ReadToEnd();
            jq.WaitForExit();
            Assert.AreEqual(0, jq.ExitCode, "jq parses it");
        }
    }

    [TestMethod]
    public void Catalogue_Table_Fits120Columns_WideShowsAll()
    {
        var r = CliRunner.Run(["catalogue"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        foreach (var line in r.Stdout.Split('\n'))
            Assert.IsLessThanOrEqualTo(120, line.TrimEnd('\r').Length, line);
        StringAssert.Contains(r.Stdout, "--wide shows all");
        var wide = CliRunner.Run(["catalogue", "--wide"]);
        Assert.AreEqual(0, wide.ExitCode);
        StringAssert.Contains(wide.Stdout, "applications");
        StringAssert.Contains(wide.Stdout, "kbit/s/call");
        Assert.IsGreaterThan(120, wide.Stdout.Split('\n').Max(l => l.Length));
    }

    /// <summary>Runs the built command as its own process, for what only a real process has (its descriptors).</summary>
    private static (int Exit, string Stderr, bool TimedOut) RunProcess(string shellCommand, int timeoutMs = 30_000)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "trafficaudit.dll");
        var psi = new ProcessStartInfo("/bin/bash", ["-c", shellCommand.Replace("TRAFFICAUDIT", $"dotnet '{dll}'")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "", true);
        }
        return (p.ExitCode, err.Result, false);
    }

    [TestMethod]
    public void StandardInputClosed_EndsWithASentence()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("Linux only");
        var (exit, stderr, timedOut) = RunProcess($"TRAFFICAUDIT audit - --out '{TempDir()}' <&-");
        Assert.IsFalse(timedOut, "audit - with standard input closed must not wait forever");
        Assert.AreEqual(ExitCodes.CaptureUnreadable, exit, stderr);
        StringAssert.Contains(stderr, "standard input is closed");
    }

    [TestMethod]
    public void StandardInputPiped_IsRead()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("Linux only");
        var (exit, stderr, timedOut) = RunProcess($"cat '{Site}' | TRAFFICAUDIT audit - --out '{TempDir()}' --fail-on never --quiet");
        Assert.IsFalse(timedOut);
        Assert.AreEqual(0, exit, "a real pipe on standard input is not taken for a closed one: " + stderr);
    }

    [TestMethod]
    public void SameFifoTwice_EndsWithASentence()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("Linux only");
        string fifo = Path.Combine(TempDir(), "fifo");
        Assert.AreEqual(0, RunProcess($"mkfifo '{fifo}'").Exit);
        var (exit, stderr, timedOut) = RunProcess($"TRAFFICAUDIT audit '{fifo}' '{fifo}' --out '{TempDir()}'");
        Assert.IsFalse(timedOut, "the same FIFO named twice must not wait forever");
        Assert.AreEqual(ExitCodes.Usage, exit, stderr);
        StringAssert.Contains(stderr, "is named twice");
    }

    [TestMethod]
    public void AnomalyNames_SourceExplanationsAndReadme_AgreeOneToOne()
    {
        // Every snake_case literal of the stages that count anomalies, less the few that are not counter names.
        string[] notCounters = ["client_hello", "first_sender"];
        var inSource = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var folder in new[] { "Capture", "Decode", "Analyzers", "Flows", "Pipeline", "Classification" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "src", "TrafficAudit.Core", folder), "*.cs", SearchOption.AllDirectories))
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(file), "\"([a-z0-9]+(?:_[a-z0-9]+)+)\""))
                    if (!notCounters.Contains(m.Groups[1].Value)) inSource.Add(m.Groups[1].Value);
        // The policy layer's counters live in one file (the rest of Policy holds finding kinds and other names).
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(
            File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "TrafficAudit.Core", "Policy", "PolicyAnomalies.cs")), "\"([a-z0-9]+(?:_[a-z0-9]+)+)\""))
            inSource.Add(m.Groups[1].Value);
        var explained = new SortedSet<string>(AnomalyExplanations.All.Keys, StringComparer.Ordinal);
        CollectionAssert.AreEquivalent(inSource.ToList(), explained.ToList(),
            $"a new anomaly counter needs a line in src/TrafficAudit.Cli/AnomalyExplanations.cs and in the README's anomalies.csv table; " +
            $"not explained: {string.Join(", ", inSource.Except(explained))}; explained but not in the source: {string.Join(", ", explained.Except(inSource))}");
        string readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        foreach (var (name, text) in AnomalyExplanations.All)
            StringAssert.Contains(readme, $"| `{name}` | {text} |", "the README's anomalies.csv table says the same as the console");
    }

    [TestMethod]
    public void Console_AnomalyCounters_AreExplainedWhereTheyAppear()
    {
        var counters = new TrafficAudit.Decode.AnomalyCounters();
        counters.Add("sip_transaction_other_sender", 3);
        counters.Add("not_a_known_counter", 1);
        var o = new StringWriter();
        ConsoleSummary.WriteAnomalies(o, counters.Entries);
        StringAssert.Contains(o.ToString(), "sip_transaction_other_sender");
        StringAssert.Contains(o.ToString(), "from another address than the first sender");
        StringAssert.Contains(o.ToString(), "see anomalies.csv in the README");
    }

    /// <summary>Splits a classic pcap file into ring files of <paramref name="perFile"/> records, named as dumpcap names them.</summary>
    private static int SplitIntoRing(string pcap, string folder, string prefix, int perFile)
    {
        byte[] bytes = File.ReadAllBytes(pcap);
        var header = bytes.AsSpan(0, 24).ToArray();
        int off = 24, file = 0;
        while (off < bytes.Length)
        {
            int start = off;
            for (int n = 0; n < perFile && off < bytes.Length; n++)
                off += 16 + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(off + 8));
            file++;
            using var f = File.Create(Path.Combine(folder, $"{prefix}_{file:D5}_20260302090000.pcap"));
            f.Write(header);
            f.Write(bytes.AsSpan(start, off - start));
        }
        return file;
    }

    [TestMethod]
    public void Input_RingFolder_ReadOneAfterAnother_GivesTheSameOutputsAsTheWholeFile()
    {
        string dir = TempDir();
        string ring = Path.Combine(dir, "ring");
        Directory.CreateDirectory(ring);
        int files = SplitIntoRing(Site, ring, "site", 7);
        Assert.IsGreaterThan(600, files);
        var whole = CliRunner.Run(["audit", Site, "--out", Path.Combine(dir, "whole"), "--fail-on", "never", "-q"]);
        var parts = CliRunner.Run(["audit", ring, "--out", Path.Combine(dir, "parts"), "--fail-on", "never", "-q"]);
        Assert.AreEqual(0, parts.ExitCode, parts.Stderr);
        foreach (var csv in new[] { "flows.csv", "calls.csv", "rtp_streams.csv", "findings.csv" })
            CollectionAssert.AreEqual(File.ReadAllLines(Path.Combine(dir, "whole", csv)), File.ReadAllLines(Path.Combine(dir, "parts", csv)), csv);
    }

    [TestMethod]
    public void SequentialRuns_GroupConsecutiveFilesOfOneRing()
    {
        var runs = CaptureInputs.SequentialRuns(["a/r_00001_20260101000000.pcap", "a/r_00002_20260101000000.pcap", "b/r_00003_20260101000000.pcap", "x.pcap", "a/r_00003_20260101000000.pcap", "a/r_00001_20260101000000.pcap", "-"]);
        Assert.AreEqual("0,1|2|3|4|5|6", string.Join("|", runs.Select(r => string.Join(",", r))));
    }
}
