using System.Globalization;
using TrafficAudit.Capture;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Capture;

/// <summary>
/// Every file in the shared public captures read by our readers and compared with tshark's figures
/// in TestData/capture-frames.tsv (written by tools/oracle/capture-frames.sh; see its header for the
/// exact tshark command).
/// </summary>
[TestClass]
public sealed class PublicCaptureTests
{
    /// <summary>Files tshark reads but we deliberately refuse, with the word the refusal must contain.</summary>
    private static readonly Dictionary<string, string> Refused = new(StringComparer.Ordinal)
    {
        ["wireshark-wiki/c07-sip-r2.cap"] = "Network Monitor",
    };

    private sealed record Expected(string File, int Frames, Int128? FirstNs, Int128? LastNs, string LinkTypes, bool CutShort);

    private static List<Expected> LoadExpected()
    {
        var rows = new List<Expected>();
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.TestData, "capture-frames.tsv")))
        {
            if (line.StartsWith('#') || line.StartsWith("file\t", StringComparison.Ordinal) || line.Length == 0) continue;
            var f = line.Split('\t');
            rows.Add(new Expected(
                f[0],
                int.Parse(f[1], CultureInfo.InvariantCulture),
                f[2].Length == 0 ? null : Int128.Parse(f[2], CultureInfo.InvariantCulture),
                f[3].Length == 0 ? null : Int128.Parse(f[3], CultureInfo.InvariantCulture),
                f[4],
                f[5] == "cut_short"));
        }
        return rows;
    }

    private static void RequirePublicCaptures()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive($"public captures not available: {TestPaths.PublicCaptures}");
    }

    /// <summary>Saturation as the reader does it: beyond long ns the reader returns long.MaxValue/MinValue.</summary>
    private static long Saturate(Int128 ns) => ns > long.MaxValue ? long.MaxValue : ns < long.MinValue ? long.MinValue : (long)ns;

    private static string RunLength(List<LinkType> types)
    {
        var parts = new List<string>();
        for (int i = 0; i < types.Count;)
        {
            int j = i;
            while (j < types.Count && types[j] == types[i]) j++;
            parts.Add($"{(int)types[i]}*{j - i}");
            i = j;
        }
        return string.Join(",", parts);
    }

    [TestMethod]
    public void Folder_EveryFile_IsEitherInTheOracleTableOrDeliberatelyRefused()
    {
        RequirePublicCaptures();
        var expected = LoadExpected().Select(e => e.File).ToHashSet(StringComparer.Ordinal);
        var onDisk = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(TestPaths.PublicCaptures, p).Replace('\\', '/'))
            .Where(p => !p.EndsWith(".md", StringComparison.Ordinal))
            .ToList();

        foreach (var file in onDisk)
        {
            if (Refused.TryGetValue(file, out var word))
            {
                var e = Assert.ThrowsExactly<CaptureFormatException>(() => CaptureFile.Open(Path.Combine(TestPaths.PublicCaptures, file)));
                StringAssert.Contains(e.Message, word);
            }
            else
            {
                Assert.Contains(file, expected, $"{file} is not in capture-frames.tsv: rerun tools/oracle/capture-frames.sh");
            }
        }
        foreach (var file in expected) Assert.Contains(file, onDisk, $"{file} is in capture-frames.tsv but not on disk");
    }

    [TestMethod]
    public void MoveNext_EveryPublicCapture_MatchesTsharkFramesTimestampsAndLinkTypes()
    {
        RequirePublicCaptures();
        var failures = new List<string>();
        foreach (var row in LoadExpected())
        {
            var path = Path.Combine(TestPaths.PublicCaptures, row.File);
            var anomalies = new AnomalyCounters();
            using var source = CaptureFile.Open(path, 0, anomalies);
            var types = new List<LinkType>();
            long first = 0, last = 0, frames = 0;
            while (source.MoveNext())
            {
                frames++;
                if (frames == 1) first = source.Header.TimestampNs;
                last = source.Header.TimestampNs;
                types.Add(source.Header.LinkType);
                if (source.Header.FrameNumber != frames) failures.Add($"{row.File}: frame {frames} numbered {source.Header.FrameNumber}");
                if (source.Data.Length != source.Header.CapturedLength) failures.Add($"{row.File}: frame {frames} data length");
                var iface = source.Interfaces[source.Header.InterfaceIndex];
                if (iface.LinkType != source.Header.LinkType) failures.Add($"{row.File}: frame {frames} link type differs from its interface");
            }

            if (frames != row.Frames) failures.Add($"{row.File}: {frames} frames, tshark {row.Frames}");
            if (row.FirstNs is { } f && first != Saturate(f)) failures.Add($"{row.File}: first {first} ns, tshark {f}");
            if (row.LastNs is { } l && last != Saturate(l)) failures.Add($"{row.File}: last {last} ns, tshark {l}");
            if (RunLength(types) != row.LinkTypes) failures.Add($"{row.File}: link types {RunLength(types)}, tshark {row.LinkTypes}");
            if (row.CutShort != (source.Errors.Count > 0))
                failures.Add($"{row.File}: errors [{string.Join("; ", source.Errors)}] but tshark cut_short={row.CutShort}");
            bool outOfRange = row.FirstNs is { } f2 && (f2 > long.MaxValue || f2 < long.MinValue);
            if (outOfRange != (anomalies[CaptureAnomaly.TimestampOutOfRange] > 0))
                failures.Add($"{row.File}: {CaptureAnomaly.TimestampOutOfRange} = {anomalies[CaptureAnomaly.TimestampOutOfRange]}");
        }
        Assert.IsEmpty(failures, string.Join(Environment.NewLine, failures));
    }

    [TestMethod]
    public void MoveNext_ManyInterfaces_NumbersInterfacesInFileOrder()
    {
        using var source = CaptureFile.Open(TestPaths.PublicCapture("wireshark-wiki/many_interfaces.pcapng"));
        var byInterface = new SortedDictionary<int, int>();
        while (source.MoveNext()) byInterface[source.Header.InterfaceIndex] = byInterface.GetValueOrDefault(source.Header.InterfaceIndex) + 1;

        // tshark -r many_interfaces.pcapng -T fields -e frame.interface_id -e frame.interface_name | sort | uniq -c
        //      62 0  en0
        //       2 10 lo0
        Assert.AreEqual(62, byInterface[0]);
        Assert.AreEqual(2, byInterface[10]);
        Assert.HasCount(2, byInterface);
        Assert.AreEqual("en0", source.Interfaces[0].Name);
        Assert.AreEqual("lo0", source.Interfaces[10].Name);
        Assert.AreEqual(LinkType.Null, source.Interfaces[10].LinkType);
        Assert.IsGreaterThanOrEqualTo(11, source.Interfaces.Count);
    }

    [TestMethod]
    public void MoveNext_InvalidNanosecondFields_CountAnomaliesWithoutThrowing()
    {
        var anomalies = new AnomalyCounters();
        using var source = CaptureFile.Open(TestPaths.PublicCapture("tcpdump/timestamp_invalid_nano.pcap"), 0, anomalies);
        while (source.MoveNext()) { }

        // Frames 2 and 3 carry 1000000000 and 2147483648 in the nanosecond field.
        Assert.AreEqual(2, anomalies[CaptureAnomaly.TimestampSubsecondOutOfRange]);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void MoveNext_FuzzedFileCutShort_DeliversTheFirstFrameThenAnErrorAtTheNextRecord()
    {
        var path = TestPaths.PublicCapture("ndpi/fuzz-2021-10-13.pcap");
        using var source = CaptureFile.Open(path);

        Assert.IsTrue(source.MoveNext());
        Assert.AreEqual(197, source.Header.CapturedLength);       // pcap 2.0: len and caplen were written swapped
        Assert.AreEqual(524501, source.Header.OriginalLength);
        Assert.AreEqual(LinkType.Null, source.Header.LinkType);  // link type field 0x40000000: FCS bits over LINKTYPE_NULL
        Assert.IsFalse(source.MoveNext());
        Assert.AreEqual(new CaptureReadError(path, 24 + 16 + 197, source.Errors.Single().Message), source.Errors.Single());
    }

    [TestMethod]
    public void MoveNext_TwoPublicFiles_MergeIntoOneTimeOrderedStream()
    {
        var a = TestPaths.PublicCapture("wireshark-wiki/rtp_example.raw");
        var b = TestPaths.PublicCapture("sipp/g711a.pcap");
        using var merged = new MergedFrameSource([CaptureFile.Open(a, 0), CaptureFile.Open(b, 1)]);

        long previous = long.MinValue;
        var perFile = new int[2];
        while (merged.MoveNext())
        {
            Assert.IsGreaterThanOrEqualTo(previous, merged.Header.TimestampNs);
            previous = merged.Header.TimestampNs;
            perFile[merged.Header.FileIndex]++;
        }
        CollectionAssert.AreEqual(new[] { 499, 236 }, perFile);
        Assert.AreEqual(new FileInfo(a).Length + new FileInfo(b).Length, merged.BytesRead);
    }
}
