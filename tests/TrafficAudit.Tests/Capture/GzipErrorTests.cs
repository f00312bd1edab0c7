using System.IO.Compression;
using TrafficAudit.Capture;

namespace TrafficAudit.Tests.Capture;

/// <summary>
/// A damaged gzip capture is reported in gzip's own terms: offsets are said to be in the decompressed data,
/// a cut file says so with its compressed length, and a bad CRC or length is named as such (.NET reports
/// every zlib data error as "unsupported compression method").
/// </summary>
[TestClass]
public sealed class GzipErrorTests
{
    private static readonly byte[] Pcap = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
    private static readonly byte[] Gz = Gzip(Pcap);

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>A stream that cannot seek, as standard input or a pipe.</summary>
    private sealed class Pipe(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    private static (long Frames, IReadOnlyList<CaptureReadError> Errors) ReadAll(Stream s, string name)
    {
        using var source = CaptureFile.Open(s, name);
        long n = 0;
        while (source.MoveNext()) n++;
        return (n, source.Errors.ToList());
    }

    [TestMethod]
    public void IntactGzip_ReadsEveryFrameWithoutError()
    {
        var (frames, errors) = ReadAll(new MemoryStream(Gz), "site.pcap.gz");
        var (plain, _) = ReadAll(new MemoryStream(Pcap), "site.pcap");
        Assert.AreEqual(plain, frames);
        Assert.IsEmpty(errors);
    }

    [TestMethod]
    public void CutGzip_SaysTheOffsetIsInTheDecompressedDataAndWhereTheCompressedFileEnds()
    {
        int cut = Gz.Length / 2;
        var (frames, errors) = ReadAll(new MemoryStream(Gz[..cut]), "cut.pcap.gz");
        Assert.IsGreaterThan(1000, frames, "every frame before the cut is read");
        var e = errors.Single();
        Assert.IsGreaterThan((long)cut, e.ByteOffset, "the offset counts decompressed bytes, beyond the compressed length");
        StringAssert.Contains(e.Message, $"the gzip file is cut after {cut:N0} compressed bytes");
        StringAssert.Contains(e.Message, "byte offsets are in the decompressed data");
    }

    [TestMethod]
    public void CutGzip_TrailerOnly_AllFramesReadAndTheCutReported()
    {
        var (frames, errors) = ReadAll(new MemoryStream(Gz[..^4]), "cut.pcap.gz");
        var (plain, _) = ReadAll(new MemoryStream(Pcap), "site.pcap");
        Assert.AreEqual(plain, frames);
        StringAssert.Contains(errors.Single().Message, "the gzip file is cut");
    }

    [TestMethod]
    public void CutGzip_FromAPipe_SaysItMayBeCut()
    {
        var (_, errors) = ReadAll(new Pipe(Gz[..(Gz.Length / 2)]), "-");
        StringAssert.Contains(errors.Single().Message, "the file may be cut");
        StringAssert.Contains(errors.Single().Message, "byte offsets are in the decompressed data");
    }

    [TestMethod]
    public void BadCrc_IsReportedAsACrcError()
    {
        var damaged = (byte[])Gz.Clone();
        damaged[^8] ^= 0xFF;   // first byte of the stored CRC-32
        var (frames, errors) = ReadAll(new MemoryStream(damaged), "crc.pcap.gz");
        Assert.IsGreaterThan(4000, frames);
        var m = errors.Single().Message;
        StringAssert.Contains(m, "gzip CRC error");
        StringAssert.Contains(m, "byte offsets are in the decompressed data");
        Assert.IsFalse(m.Contains("compression method", StringComparison.Ordinal), m);
    }

    [TestMethod]
    public void BadLength_IsReportedAsALengthError()
    {
        var damaged = (byte[])Gz.Clone();
        damaged[^1] ^= 0x01;   // ISIZE
        var m = ReadAll(new MemoryStream(damaged), "len.pcap.gz").Errors.Single().Message;
        StringAssert.Contains(m, $"gzip length error: {Pcap.Length:N0} bytes decompressed");
    }

    [TestMethod]
    public void BadCrc_FromAPipe_NamesTheCandidatesNotAnUnsupportedMethod()
    {
        var damaged = (byte[])Gz.Clone();
        damaged[^8] ^= 0xFF;
        var m = ReadAll(new Pipe(damaged), "-").Errors.Single().Message;
        StringAssert.Contains(m, "a bad CRC");
        Assert.IsFalse(m.Contains("unsupported compression method", StringComparison.Ordinal), m);
    }

    [TestMethod]
    public void TwoGzipMembers_OfOneCapture_AreNotTakenForACut()
    {
        int half = Pcap.Length / 2;
        byte[] twoMembers = [.. Gzip(Pcap[..half]), .. Gzip(Pcap[half..])];
        var (frames, errors) = ReadAll(new MemoryStream(twoMembers), "bgzf-like.pcap.gz");
        var (plain, _) = ReadAll(new MemoryStream(Pcap), "site.pcap");
        Assert.AreEqual(plain, frames);
        Assert.IsEmpty(errors, string.Join("; ", errors));
    }

    [TestMethod]
    public void BadCompressionMethod_InTheHeader_IsNamedBeforeAnyPacket()
    {
        var damaged = (byte[])Gz.Clone();
        damaged[2] = 7;   // CM: only 8 (deflate) exists
        var e = Assert.ThrowsExactly<CaptureFormatException>(() => CaptureFile.Open(new MemoryStream(damaged), "cm.pcap.gz"));
        StringAssert.Contains(e.Message, "unsupported compression method 7 in the gzip header");
    }

    [TestMethod]
    public void Crc32_MatchesTheStandardCheckValue()
    {
        // The CRC-32 check value of "123456789" (ISO 3309 / ITU-T V.42, as gzip uses it) is 0xCBF43926.
        Assert.AreEqual(0xCBF43926u, Crc32.Append(0, "123456789"u8));
        Assert.AreEqual(0xCBF43926u, Crc32.Append(Crc32.Append(0, "1234"u8), "56789"u8));
    }
}
