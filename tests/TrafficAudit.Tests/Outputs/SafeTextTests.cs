using System.Text;
using TrafficAudit.Outputs;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Outputs;

[TestClass]
public sealed class SafeTextTests
{
    [TestMethod]
    [DataRow("plain Call-ID a84b4c76e66710@pc33", "plain Call-ID a84b4c76e66710@pc33")]
    [DataRow("esc\u001B]0;pwned\u0007title", @"esc\x1B]0;pwned\x07title")]
    [DataRow("nul\0del\u007Fcsi\u009B31m", @"nul\x00del\x7Fcsi\x9B31m")]
    [DataRow("tab\tcr\rlf\n", @"tab\x09cr\x0Dlf\x0A")]
    [DataRow("rlo\u202Etxt.exe ls\u2028", @"rlo\u202Etxt.exe ls\u2028")]
    [DataRow("back\\slash é 😀", "back\\slash é 😀")]
    public void Cell_Text_ControlsEscapedTheRestKept(string value, string expected) => Assert.AreEqual(expected, SafeText.Cell(value));

    [TestMethod]
    public void Cell_LoneSurrogate_Escaped() => Assert.AreEqual(@"a\uDC00b", SafeText.Cell("a\uDC00b"));

    [TestMethod]
    public void Cell_NothingToChange_SameInstance()
    {
        string v = "sip:7000@10.0.0.10";
        Assert.AreSame(v, SafeText.Cell(v));
    }

    [TestMethod]
    public void Cell_LongerThanTheCap_CutWithEllipsisAndFullLength()
    {
        string v = new string('a', 200_000);
        string cell = SafeText.Cell(v);
        Assert.IsLessThanOrEqualTo(SafeText.MaxCellLength, cell.Length);
        StringAssert.EndsWith(cell, "… (200000 characters in all)");
        StringAssert.StartsWith(cell, new string('a', 4000));
        Assert.AreEqual(SafeText.MaxCellLength, SafeText.Cell(new string('b', SafeText.MaxCellLength)).Length, "a cell of exactly the cap is kept whole");
    }

    [TestMethod]
    public void Cell_CutNeverSplitsAnEscapeOrASurrogatePair()
    {
        for (int shift = 0; shift < 8; shift++)
        {
            string v = new string('a', shift) + string.Concat(Enumerable.Repeat("\u001B😀", 3000));
            string cell = SafeText.Cell(v);
            Assert.IsLessThanOrEqualTo(SafeText.MaxCellLength, cell.Length);
            string kept = cell[..cell.IndexOf('…')];
            Assert.AreEqual(kept, SafeText.Cell(kept[..kept.Length]), "the kept part is whole escapes and characters");
            Assert.IsFalse(char.IsHighSurrogate(kept[^1]));
            Assert.IsTrue(kept.EndsWith("😀", StringComparison.Ordinal) || kept.EndsWith(@"\x1B", StringComparison.Ordinal) || kept.EndsWith('a'), kept[^8..]);
        }
    }

    [TestMethod]
    public void TerminalWriter_EscapesControlsKeepsLinesAndSplitPairs()
    {
        var inner = new StringWriter();
        var w = new SafeTerminalWriter(inner);
        w.Write("call \u001B[2J");
        w.Write('\u0007');
        w.Write("x\uD83D");   // a surrogate pair split across writes stays one character
        w.Write("\uDE00\r");
        w.WriteLine("end");
        w.Write("tab\tok\n");
        Assert.AreEqual("call \\x1B[2J\\x07x😀\\x0Dend" + inner.NewLine + "tab\tok\n", inner.ToString());
    }

    [TestMethod]
    public void TerminalWriter_CarriageReturnKept_WhenAsked()
    {
        var inner = new StringWriter();
        new SafeTerminalWriter(inner, keepCarriageReturn: true).Write("\r50 %\u001B");
        Assert.AreEqual("\r50 %\\x1B", inner.ToString());
    }

    [TestMethod]
    public void CsvFile_HostileCells_NoControlByteAndCapped()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ta-safe", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "anomalies.csv");
        AuditCsvWriter.WriteAtomically(path, new[]
        {
            new AnomalyRow { Name = "esc\u001B[31mred\u0007\0", Count = 1, FirstFile = "a\u009Bb\r\nc" },
            new AnomalyRow { Name = new string('u', 150_000), Count = 2, FirstFile = "=cmd|' /C calc'!A0" },
        });
        byte[] bytes = File.ReadAllBytes(path);
        string text = Encoding.UTF8.GetString(bytes);
        // Only record separators (CR LF) are control characters in the file.
        string withoutSeparators = text.Replace("\r\n", "");
        Assert.IsFalse(withoutSeparators.Any(c => c < ' ' || c is >= '\u007F' and <= '\u009F'), withoutSeparators[..Math.Min(200, withoutSeparators.Length)]);
        Assert.HasCount(4, text.Split("\r\n"), "header, two rows, end");
        var rows = Csv.Read(path);
        Assert.AreEqual(@"esc\x1B[31mred\x07\x00", rows[0]["name"]);
        Assert.AreEqual(@"a\x9Bb\x0D\x0Ac", rows[0]["first_file"]);
        Assert.IsLessThanOrEqualTo(SafeText.MaxCellLength, rows[1]["name"].Length);
        StringAssert.EndsWith(rows[1]["name"], "… (150000 characters in all)");
        StringAssert.StartsWith(rows[1]["first_file"], "'=", "CSV injection escaping still applies");
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void Audit_CallIdWithTerminalEscapes_NoControlCharacterInCsvsOrOnTheConsole()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ta-safe", Guid.NewGuid().ToString("N"));
        var capture = TrafficAudit.Synth.Scenarios.ScenarioCatalog.Find("one-way-media")!.Build(1);
        string pcap = capture.Save(Path.Combine(dir, "esc.pcap"));
        string original = capture.Truth.Calls.First(c => c.CallId.Length > 0).CallId;
        // ESC [2J (clear screen), ESC ]0;...BEL (window title), U+009B (CSI in one character): same byte length.
        byte[] hostile = Encoding.UTF8.GetBytes("\u001B[2J\u001B]0;pwn\u0007\u009B31m");
        hostile = [.. hostile, .. Enumerable.Repeat((byte)'z', Encoding.ASCII.GetByteCount(original) - hostile.Length)];
        byte[] bytes = File.ReadAllBytes(pcap);
        byte[] from = Encoding.ASCII.GetBytes(original);
        for (int at; (at = bytes.AsSpan().IndexOf(from)) >= 0;) hostile.CopyTo(bytes, at);
        File.WriteAllBytes(pcap, bytes);

        var r = CliRunner.Audit([pcap, "--profile", TrafficAudit.Synth.Building.SyntheticCapture.ProfilePathFor(pcap), "--fail-on", "never", "--report"]);

        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var calls = Csv.Read(r.File("calls.csv"));
        Assert.IsTrue(calls.Any(c => c["call_id"].StartsWith(@"\x1B[2J\x1B]0;pwn\x07\x9B31m", StringComparison.Ordinal)), string.Join(" | ", calls.Select(c => c["call_id"])));
        foreach (var csv in Directory.GetFiles(r.OutDir, "*.csv"))
        {
            string text = File.ReadAllText(csv).Replace("\r\n", "");
            Assert.IsFalse(text.Any(c => c < ' ' || c is >= '\u007F' and <= '\u009F'), $"{Path.GetFileName(csv)} holds a control character");
        }
        Assert.IsFalse(r.Stdout.Any(c => c is < ' ' and not '\n' and not '\t' || c is >= '\u007F' and <= '\u009F'), "the console shows no control character");
        StringAssert.Contains(r.Stdout, @"\x1B[2J", "the console shows the Call-ID escaped");
        string report = File.ReadAllText(Directory.GetFiles(r.OutDir, "*.html").Single());
        Assert.IsFalse(report.Any(c => c is < ' ' and not '\n' and not '\t' and not '\r' || c is >= '\u007F' and <= '\u009F'), "the report holds no control character");
        Directory.Delete(dir, recursive: true);
    }
}
