using System.IO.Compression;
using TrafficAudit.Capture;
using static TrafficAudit.Tests.Capture.FrameSourceTestExtensions;

namespace TrafficAudit.Tests.Capture;

[TestClass]
public sealed class CaptureFileTests
{
    private static readonly byte[] Payload4 = [0xDE, 0xAD, 0xBE, 0xEF];

    private static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
        return output.ToArray();
    }

    private static byte[] SamplePcap(bool bigEndian) => new CaptureBuilder(bigEndian).PcapHeader(true, 1)
        .PcapRecord(1, 1, Payload4).PcapRecord(2, 2, [7]).PcapRecord(3, 3, Payload4).ToArray();

    private static byte[] SamplePcapNg(bool bigEndian) => new CaptureBuilder(bigEndian).SectionHeader()
        .InterfaceDescription(1).InterfaceDescription(0)
        .EnhancedPacket(1, 1, Payload4).SimplePacket([7]).EnhancedPacket(0, 3, Payload4).ToArray();

    [TestMethod]
    [DataRow(false, false)]
    [DataRow(true, false)]
    [DataRow(false, true)]
    [DataRow(true, true)]
    public void Open_GzipCompressedCapture_ReadsLikeTheUncompressedOne(bool pcapng, bool bigEndian)
    {
        var plain = pcapng ? SamplePcapNg(bigEndian) : SamplePcap(bigEndian);
        using var expectedSource = OpenBytes(plain);
        var expected = expectedSource.ReadAll();

        using var source = OpenBytes(Gzip(plain), name: "sample.cap");   // no .gz: detected by magic
        var frames = source.ReadAll();

        Assert.HasCount(3, frames);
        CollectionAssert.AreEqual(expected.Select(f => f.Header).ToArray(), frames.Select(f => f.Header).ToArray());
        for (int i = 0; i < frames.Count; i++) CollectionAssert.AreEqual(expected[i].Data, frames[i].Data);
        Assert.IsEmpty(source.Errors);
        Assert.AreEqual(plain.Length, source.BytesRead);
    }

    [TestMethod]
    [DataRow(false, false)]
    [DataRow(true, false)]
    [DataRow(false, true)]
    [DataRow(true, true)]
    public void Open_StreamThatCannotSeekAndTrickles_ReadsEveryFrame(bool pcapng, bool gzip)
    {
        var plain = pcapng ? SamplePcapNg(true) : SamplePcap(false);
        var bytes = gzip ? Gzip(plain) : plain;

        using var source = CaptureFile.Open(new TrickleStream(bytes, chunk: 1), "(pipe)");
        var frames = source.ReadAll();

        Assert.HasCount(3, frames);
        CollectionAssert.AreEqual(Payload4, frames[2].Data);
        CollectionAssert.AreEqual(new byte[] { 7 }, frames[1].Data);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void Open_TruncatedGzipCapture_KeepsFramesBeforeTheCut()
    {
        var gz = Gzip(SamplePcap(false));
        // Drop the gzip trailer and a little deflate data: the decompressor returns what it can, or reports corrupt data.
        var cut = gz[..(gz.Length - 12)];
        try
        {
            using var source = OpenBytes(cut);
            var frames = source.ReadAll();
            Assert.IsLessThan(3, frames.Count);
            Assert.HasCount(1, source.Errors);
        }
        catch (InvalidDataException)
        {
            Assert.Fail("a cut gzip stream must not throw from MoveNext");
        }
    }

    [TestMethod]
    public void MoveNext_CorruptDeflateData_StopsWithErrorInsteadOfThrowing()
    {
        var plain = new CaptureBuilder(false).PcapHeader(false, 1);
        var random = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            var data = new byte[100 + i % 200];
            random.NextBytes(data);
            plain.PcapRecord((uint)i, 0, data);
        }
        var gz = Gzip(plain.ToArray());
        for (int i = gz.Length * 3 / 4; i < gz.Length * 3 / 4 + 16; i++) gz[i] ^= 0x5A;

        using var source = OpenBytes(gz);
        var frames = source.ReadAll();

        Assert.IsGreaterThan(100, frames.Count);
        Assert.IsLessThan(2000, frames.Count);
        Assert.HasCount(1, source.Errors);
    }

    [TestMethod]
    public void Open_NetMonCapture_ThrowsCaptureFormatExceptionNamingNetMon()
    {
        var path = TestPaths.PublicCapture("wireshark-wiki/c07-sip-r2.cap");

        var e = Assert.ThrowsExactly<CaptureFormatException>(() => CaptureFile.Open(path));

        Assert.AreEqual(path, e.File);
        StringAssert.Contains(e.Message, "Network Monitor 2.x");
    }

    [TestMethod]
    [DataRow(new byte[] { 0x52, 0x54, 0x53, 0x53, 0, 1 }, "Network Monitor 1.x")]                      // "RTSS"
    [DataRow(new byte[] { 0x73, 0x6E, 0x6F, 0x6F, 0x70, 0, 0, 0, 0, 0, 0, 2 }, "snoop")]              // "snoop\0\0\0"
    [DataRow(new byte[] { 0x34, 0xCD, 0xB2, 0xA1, 2, 0, 4, 0 }, "Kuznetzov")]
    [DataRow(new byte[] { 0x23, 0x20, 0x6E, 0x6F, 0x74, 0x65, 0x73, 0x0A }, "text")]                  // "# notes\n"
    [DataRow(new byte[] { }, "empty file")]
    [DataRow(new byte[] { 0xD4, 0xC3 }, "too short")]
    [DataRow(new byte[] { 0x00, 0x01, 0x02, 0x03, 0xFF, 0xFE, 0x10, 0x80 }, "first bytes 00010203FFFE1080")]
    public void Open_NotACapture_ThrowsCaptureFormatExceptionSayingWhatItLooksLike(byte[] bytes, string expected)
    {
        var e = Assert.ThrowsExactly<CaptureFormatException>(() => OpenBytes(bytes, name: "x.bin"));

        StringAssert.Contains(e.Message, expected);
        StringAssert.StartsWith(e.Message, "x.bin: ");
    }

    [TestMethod]
    public void Open_EmptyGzip_ThrowsCaptureFormatException()
    {
        // gzip of zero bytes (what `gzip -n < /dev/null` writes): header, empty deflate block, CRC 0, size 0.
        byte[] emptyGzip = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];

        var e = Assert.ThrowsExactly<CaptureFormatException>(() => OpenBytes(emptyGzip));

        StringAssert.Contains(e.Message, "gzip-compressed empty file");
    }

    [TestMethod]
    public void Open_MissingFile_ThrowsCaptureFormatException()
    {
        var path = Path.Combine(Path.GetTempPath(), "trafficaudit-no-such-file-" + Guid.NewGuid().ToString("N") + ".pcap");

        var e = Assert.ThrowsExactly<CaptureFormatException>(() => CaptureFile.Open(path));

        Assert.AreEqual(path, e.File);
        StringAssert.Contains(e.Message, "not found");
    }

    [TestMethod]
    public void Open_FileOnDisk_ReadsFramesAndReportsPathInErrors()
    {
        var path = Path.Combine(Path.GetTempPath(), "trafficaudit-capture-" + Guid.NewGuid().ToString("N") + ".pcap");
        var bytes = SamplePcap(true);
        File.WriteAllBytes(path, bytes[..^2]);   // last record cut short
        try
        {
            using var source = CaptureFile.Open(path, fileIndex: 2);
            var frames = source.ReadAll();

            Assert.HasCount(2, frames);
            Assert.AreEqual(2, frames[1].Header.FileIndex);
            Assert.AreEqual(path, source.Errors.Single().File);
            Assert.AreEqual(24 + 20 + 17, source.Errors.Single().ByteOffset);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
