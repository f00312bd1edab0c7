using System.IO.Compression;
using TrafficAudit.Cli;

namespace TrafficAudit.Tests.EndToEnd;

[TestClass]
public sealed class AuditCommandTests
{
    private static string Site => Path.Combine(TestPaths.Captures, "imagicle-site.pcap");

    private static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    [TestMethod]
    public void Run_NoArguments_IsAUsageError()
    {
        var r = CliRunner.Run([]);
        Assert.AreEqual(2, r.ExitCode);
        StringAssert.Contains(r.Stderr, "Usage:");
    }

    [TestMethod]
    public void Help_DocumentsTheExitCodes()
    {
        var r = CliRunner.Run(["--help"]);
        Assert.AreEqual(0, r.ExitCode);
        StringAssert.Contains(r.Stdout, "2  usage or configuration error");
        StringAssert.Contains(r.Stdout, "3  a capture could not be read");
    }

    [TestMethod]
    [DataRow("--bogus")]
    [DataRow("--server", "not-an-ip")]
    [DataRow("--out")]
    public void Audit_BadOption_IsAUsageErrorBeforeReading(params string[] extra)
    {
        var r = CliRunner.Run(["audit", Site, .. extra]);
        Assert.AreEqual(2, r.ExitCode, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [TestMethod]
    public void Audit_BadCatalogue_FailsBeforeTheFirstPacketNamingLineAndColumn()
    {
        var dir = TempDir();
        var bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, "{\n  \"entries\": [\n    { \"id\": 12,, }\n  ]\n}\n");
        var outDir = Path.Combine(dir, "out");
        var r = CliRunner.Run(["audit", Site, "--catalogue", bad, "--out", outDir]);
        Assert.AreEqual(2, r.ExitCode);
        StringAssert.Contains(r.Stderr, "bad.json:3:");
        Assert.IsFalse(Directory.Exists(outDir), "nothing may be written when the configuration is bad");
    }

    [TestMethod]
    public void Audit_NotACaptureFile_ExitsWith3AndAClearMessage()
    {
        var dir = TempDir();
        var text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(text, "this is not a capture\n");
        var r = CliRunner.Run(["audit", text, "--out", Path.Combine(dir, "out")]);
        Assert.AreEqual(3, r.ExitCode);
        StringAssert.Contains(r.Stderr, "notes.txt");
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [TestMethod]
    public void Audit_MissingFile_ExitsWith3()
    {
        var r = CliRunner.Audit(Path.Combine(TempDir(), "missing.pcap"));
        Assert.AreEqual(3, r.ExitCode);
        StringAssert.Contains(r.Stderr, "missing.pcap");
    }

    [TestMethod]
    public void Audit_TruncatedFile_ReportsTheByteOffsetAndStillWritesWhatWasRead()
    {
        var dir = TempDir();
        var bytes = File.ReadAllBytes(Site);
        var cut = Path.Combine(dir, "cut.pcap");
        File.WriteAllBytes(cut, bytes.AsSpan(0, bytes.Length - 50).ToArray());
        var r = CliRunner.Run(["audit", cut, "--out", Path.Combine(dir, "out")]);
        Assert.AreEqual(ExitCodes.Findings, r.ExitCode, r.Stderr); // the site plants error findings (blocked, refused, over latency)
        StringAssert.Contains(r.Stderr, "cut.pcap");
        StringAssert.Contains(r.Stderr, "byte offset");
        var flows = Csv.Read(Path.Combine(dir, "out", "flows.csv"));
        var full = Csv.Read(CliRunner.Audit(Site).File("flows.csv"));
        Assert.AreEqual(full.Count, flows.Count);
        Assert.AreEqual(full.Sum(f => long.Parse(f["packets_c2s"]) + long.Parse(f["packets_s2c"])) - 1,
            flows.Sum(f => long.Parse(f["packets_c2s"]) + long.Parse(f["packets_s2c"])));
    }

    [TestMethod]
    public void Audit_GzipAndSplitFiles_GiveTheSameFlowsAsTheWholeFile()
    {
        var dir = TempDir();
        var whole = Csv.Read(CliRunner.Audit(Site).File("flows.csv"));

        var gz = Path.Combine(dir, "site.pcap.gz");
        using (var o = File.Create(gz))
        using (var z = new GZipStream(o, CompressionLevel.Fastest))
            z.Write(File.ReadAllBytes(Site));
        var fromGz = Csv.Read(CliRunner.Audit(gz).File("flows.csv"));
        CollectionAssert.AreEqual(whole.Select(Row).ToList(), fromGz.Select(Row).ToList());

        // Odd and even records in two files: merged by timestamp they are the original capture.
        var (odd, even) = SplitAlternately(File.ReadAllBytes(Site));
        File.WriteAllBytes(Path.Combine(dir, "a.pcap"), odd);
        File.WriteAllBytes(Path.Combine(dir, "b.pcap"), even);
        var merged = Csv.Read(CliRunner.Audit(Path.Combine(dir, "b.pcap"), Path.Combine(dir, "a.pcap")).File("flows.csv"));
        CollectionAssert.AreEqual(whole.Select(Row).ToList(), merged.Select(Row).ToList());
    }

    [TestMethod]
    public void Audit_StandardInput_ReadsTheCapture()
    {
        var r = CommandLineWithStdin(new NonSeekableStream(File.ReadAllBytes(Site)));
        Assert.AreEqual(ExitCodes.Findings, r.ExitCode, r.Stderr); // the site plants error findings (blocked, refused, over latency)
        Assert.AreEqual(Csv.Read(CliRunner.Audit(Site).File("flows.csv")).Count, Csv.Read(r.File("flows.csv")).Count);
    }

    private static CliRunner.Result CommandLineWithStdin(Stream stdin)
    {
        var outDir = TempDir();
        var o = new StringWriter();
        var e = new StringWriter();
        int rc;
        rc = CommandLine.Run(["audit", "-", "--out", outDir], o, e, stdin);
        return new CliRunner.Result(rc, o.ToString(), e.ToString(), outDir);
    }

    [TestMethod]
    public void Catalogue_PrintsTheVendorRows()
    {
        var r = CliRunner.Run(["catalogue"]);
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        StringAssert.Contains(r.Stdout, "51234");
        StringAssert.Contains(r.Stdout, "52000-52999");
        var json = CliRunner.Run(["catalogue", "--json"]);
        Assert.AreEqual(0, json.ExitCode);
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "copy.json"), json.Stdout);
        var again = CliRunner.Run(["audit", Site, "--catalogue", Path.Combine(dir, "copy.json"), "--out", Path.Combine(dir, "out")]);
        Assert.AreEqual(ExitCodes.Findings, again.ExitCode, again.Stderr); // the site plants error findings (blocked, refused, over latency)
    }

    [TestMethod]
    public void Audit_ExplicitServer_ReplacesDetection()
    {
        var r = CliRunner.Audit(Site, "--server", "10.0.0.11");
        Assert.AreEqual(0, r.ExitCode); // the planted problems are node 10.0.0.10's, not this node's
        StringAssert.Contains(r.Stdout, "Imagicle nodes (given with --server)");
        StringAssert.Contains(r.Stdout, "— exit 0: no finding at or above --fail-on error");
        var cti = Csv.Read(r.File("flows.csv")).First(f => f["server_port"] == "51234");
        Assert.AreEqual("NONE", cti["direction"], "10.0.0.10 is no longer a node");
    }

    /// <summary>A pipe-like stream: no seeking, no length.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    private static string Row(Dictionary<string, string> r) => string.Join(",", r.Where(kv => kv.Key != "flow_id").Select(kv => kv.Value));

    private static (byte[] Odd, byte[] Even) SplitAlternately(byte[] pcap)
    {
        using var odd = new MemoryStream();
        using var even = new MemoryStream();
        odd.Write(pcap, 0, 24);
        even.Write(pcap, 0, 24);
        int pos = 24, i = 0;
        while (pos + 16 <= pcap.Length)
        {
            int len = BitConverter.ToInt32(pcap, pos + 8);
            (i++ % 2 == 0 ? odd : even).Write(pcap, pos, 16 + len);
            pos += 16 + len;
        }
        return (odd.ToArray(), even.ToArray());
    }
}
