namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// Many files that are not one dumpcap ring are merged by timestamp, every file open at once with a
/// share of the read-buffer budget: the audit must be the one of the whole capture.
/// </summary>
[TestClass]
public sealed class MergeManyFilesTests
{
    private static string Site => Path.Combine(TestPaths.Captures, "imagicle-site.pcap");

    [TestMethod]
    public void Input_ManyFilesMergedByTimestamp_GivesTheSameOutputsAsTheWholeFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        string parts = Path.Combine(dir, "parts");
        Directory.CreateDirectory(parts);
        // Named so that name order is the reverse of time order: only the merge can put them right.
        byte[] bytes = File.ReadAllBytes(Site);
        var header = bytes.AsSpan(0, 24).ToArray();
        int off = 24, file = 0;
        while (off < bytes.Length)
        {
            int start = off;
            for (int n = 0; n < 4 && off < bytes.Length; n++)
                off += 16 + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(off + 8));
            file++;
            using var f = File.Create(Path.Combine(parts, $"part-{100_000 - file:D6}.pcap"));
            f.Write(header);
            f.Write(bytes.AsSpan(start, off - start));
        }
        Assert.IsGreaterThan(1000, file, "more files than the buffer budget gives 1 MiB to");

        var whole = CliRunner.Run(["audit", Site, "--out", Path.Combine(dir, "whole"), "--fail-on", "never", "-q"]);
        var merged = CliRunner.Run(["audit", parts, "--out", Path.Combine(dir, "merged"), "--fail-on", "never", "-q"]);

        Assert.AreEqual(0, whole.ExitCode, whole.Stderr);
        Assert.AreEqual(0, merged.ExitCode, merged.Stderr);
        foreach (var csv in new[] { "flows.csv", "calls.csv", "rtp_streams.csv", "sip_options.csv", "findings.csv" })
            CollectionAssert.AreEqual(File.ReadAllLines(Path.Combine(dir, "whole", csv)), File.ReadAllLines(Path.Combine(dir, "merged", csv)), csv);
        // anomalies.csv names the first file and its packet number, which differ by construction: same names and counts.
        static List<string> Counts(string path) => File.ReadAllLines(path).Select(l => string.Join(",", l.Split(',').Take(2))).ToList();
        CollectionAssert.AreEqual(Counts(Path.Combine(dir, "whole", "anomalies.csv")), Counts(Path.Combine(dir, "merged", "anomalies.csv")));
        Directory.Delete(dir, recursive: true);
    }
}
