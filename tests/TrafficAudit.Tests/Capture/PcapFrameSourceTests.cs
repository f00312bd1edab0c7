using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Capture.FrameSourceTestExtensions;

namespace TrafficAudit.Tests.Capture;

[TestClass]
public sealed class PcapFrameSourceTests
{
    private static readonly byte[] Payload4 = [0xDE, 0xAD, 0xBE, 0xEF];

    // A little-endian microsecond pcap, Ethernet, two records (xxd):
    // 00000000: d4c3 b2a1 0200 0400 0000 0000 0000 0000   magic, v2.4, thiszone, sigfigs
    // 00000010: ffff 0000 0100 0000                       snaplen 65535, linktype 1
    // 00000018: 00e1 f505 4042 0f00 0400 0000 3c00 0000   ts 100000000 s + 999999 µs, caplen 4, len 60
    // 00000028: dead beef
    // 0000002c: 01e1 f505 0000 0000 0200 0000 0200 0000   ts 100000001 s + 0 µs, caplen 2, len 2
    // 0000003c: 0102
    private static readonly byte[] TwoRecordsLittleEndianMicro =
    [
        0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0xE1, 0xF5, 0x05, 0x3F, 0x42, 0x0F, 0x00, 0x04, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x00, 0x00,
        0xDE, 0xAD, 0xBE, 0xEF,
        0x01, 0xE1, 0xF5, 0x05, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x01, 0x02,
    ];

    [TestMethod]
    public void MoveNext_HandWrittenLittleEndianMicrosecondFile_YieldsBothRecords()
    {
        using var source = OpenBytes(TwoRecordsLittleEndianMicro);
        var frames = source.ReadAll();

        Assert.HasCount(2, frames);
        Assert.AreEqual(new FrameHeader(100_000_000L * 1_000_000_000 + 999_999_000, LinkType.Ethernet, 4, 60, 0, 1, 0), frames[0].Header);
        CollectionAssert.AreEqual(Payload4, frames[0].Data);
        Assert.AreEqual(new FrameHeader(100_000_001L * 1_000_000_000, LinkType.Ethernet, 2, 2, 0, 2, 0), frames[1].Header);
        CollectionAssert.AreEqual(new byte[] { 1, 2 }, frames[1].Data);
        Assert.IsEmpty(source.Errors);
        Assert.AreEqual(TwoRecordsLittleEndianMicro.Length, source.BytesRead);
        Assert.HasCount(1, source.Interfaces);
        Assert.AreEqual(LinkType.Ethernet, source.Interfaces[0].LinkType);
        Assert.AreEqual(65535, source.Interfaces[0].SnapLength);
        Assert.IsFalse(source.MoveNext());
    }

    [TestMethod]
    [DataRow(false, false, 123_456u, 123_456_000L)]
    [DataRow(true, false, 123_456u, 123_456_000L)]
    [DataRow(false, true, 123_456_789u, 123_456_789L)]
    [DataRow(true, true, 123_456_789u, 123_456_789L)]
    public void MoveNext_EachMagicAndByteOrder_ReadsTimestampAndLinkType(bool bigEndian, bool nano, uint subsecond, long expectedSubNs)
    {
        var bytes = new CaptureBuilder(bigEndian)
            .PcapHeader(nano, linkType: 113)
            .PcapRecord(1_700_000_000, subsecond, Payload4, origLen: 1500)
            .ToArray();

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.AreEqual(1_700_000_000L * 1_000_000_000 + expectedSubNs, frames[0].Header.TimestampNs);
        Assert.AreEqual(LinkType.LinuxSll, frames[0].Header.LinkType);
        Assert.AreEqual(4, frames[0].Header.CapturedLength);
        Assert.AreEqual(1500, frames[0].Header.OriginalLength);
        CollectionAssert.AreEqual(Payload4, frames[0].Data);
        Assert.AreEqual(nano, ((PcapFrameSource)source).IsNanosecond);
    }

    [TestMethod]
    [DataRow(true, 1_000_000_000u, 11L * 1_000_000_000)]
    [DataRow(true, 2_147_483_648u, 12L * 1_000_000_000 + 147_483_648)]
    [DataRow(false, 1_500_000u, 11L * 1_000_000_000 + 500_000_000)]
    public void MoveNext_SubsecondFieldAtOrAboveOneSecond_CarriesIntoSecondsAndCountsAnomaly(bool nano, uint subsecond, long expectedNs)
    {
        var anomalies = new AnomalyCounters();
        var bytes = new CaptureBuilder(false).PcapHeader(nano, 1).PcapRecord(10, subsecond, Payload4).PcapRecord(20, 0, Payload4).ToArray();

        using var source = OpenBytes(bytes, anomalies: anomalies);
        var frames = source.ReadAll();

        Assert.HasCount(2, frames);
        Assert.AreEqual(expectedNs, frames[0].Header.TimestampNs);
        Assert.AreEqual(1, anomalies[CaptureAnomaly.TimestampSubsecondOutOfRange]);
        Assert.AreEqual(1, anomalies.Entries.Single().FirstFrame);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void MoveNext_CaplenAboveSnaplen_AcceptsRecordAndCountsAnomaly()
    {
        var anomalies = new AnomalyCounters();
        byte[] eight = [0, 0x26, 0x88, 0xE7, 0x8D, 0x81, 0xA8, 0x20];
        var bytes = new CaptureBuilder(false).PcapHeader(false, 1, snapLength: 1).PcapRecord(5, 0, eight, origLen: 78).ToArray();

        using var source = OpenBytes(bytes, anomalies: anomalies);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        CollectionAssert.AreEqual(eight, frames[0].Data);
        Assert.AreEqual(78, frames[0].Header.OriginalLength);
        Assert.AreEqual(1, anomalies[CaptureAnomaly.CaplenExceedsSnaplen]);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void MoveNext_AbsurdCaplen_StopsWithErrorAtRecordOffset()
    {
        var bytes = new CaptureBuilder(false).PcapHeader(false, 1)
            .PcapRecord(1, 0, Payload4)
            .U32(2).U32(0).U32(300_000).U32(300_000).Bytes(new byte[64])
            .ToArray();

        using var source = OpenBytes(bytes, name: "corrupt.pcap");
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.HasCount(1, source.Errors);
        Assert.AreEqual("corrupt.pcap", source.Errors[0].File);
        Assert.AreEqual(24 + 16 + 4, source.Errors[0].ByteOffset);
        StringAssert.Contains(source.Errors[0].Message, "300000");
        Assert.IsFalse(source.MoveNext());
    }

    [TestMethod]
    public void MoveNext_FcsBitsInLinkTypeField_UsesLower16Bits()
    {
        // 0x14000001: F bit (26) set, FCS length 1 (×16 bits) in bits 28..31, LINKTYPE_ETHERNET.
        var bytes = new CaptureBuilder(true).PcapHeader(false, 0x1400_0001).PcapRecord(1, 0, Payload4).ToArray();

        using var source = OpenBytes(bytes);

        Assert.IsTrue(source.MoveNext());
        Assert.AreEqual(LinkType.Ethernet, source.Header.LinkType);
        Assert.AreEqual(LinkType.Ethernet, source.Interfaces[0].LinkType);
    }

    [TestMethod]
    public void MoveNext_Version22File_ReadsLenBeforeCaplen()
    {
        // Before 2.3 the record header held len before caplen: here len 60, caplen 4.
        var bytes = new CaptureBuilder(false).PcapHeader(false, 1, major: 2, minor: 2)
            .U32(1).U32(0).U32(60).U32(4).Bytes(Payload4).ToArray();

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.AreEqual(4, frames[0].Header.CapturedLength);
        Assert.AreEqual(60, frames[0].Header.OriginalLength);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    [DataRow((ushort)3, 60u, 4u, 4, 60)]    // 2.3: caplen > len means swapped
    [DataRow((ushort)3, 4u, 60u, 4, 60)]    // 2.3: plausible order kept
    [DataRow((ushort)4, 4u, 60u, 4, 60)]
    public void MoveNext_LengthOrderByVersion_MatchesWireshark(ushort minor, uint first, uint second, int caplen, int origlen)
    {
        var bytes = new CaptureBuilder(false).PcapHeader(false, 1, minor: minor)
            .U32(1).U32(0).U32(first).U32(second).Bytes(Payload4).ToArray();

        using var source = OpenBytes(bytes);

        Assert.IsTrue(source.MoveNext());
        Assert.AreEqual(caplen, source.Header.CapturedLength);
        Assert.AreEqual(origlen, source.Header.OriginalLength);
    }

    [TestMethod]
    public void MoveNext_HeaderOnly_EndsCleanlyWithoutFrames()
    {
        var bytes = new CaptureBuilder(false).PcapHeader(true, 1).ToArray();

        using var source = OpenBytes(bytes);

        Assert.IsFalse(source.MoveNext());
        Assert.IsEmpty(source.Errors);
        Assert.HasCount(1, source.Interfaces);
    }

    [TestMethod]
    public void MoveNext_CutAtEveryLength_NeverThrowsAndKeepsFramesBeforeTheCut()
    {
        var builder = new CaptureBuilder(false).PcapHeader(false, 1);
        var boundaries = new List<int> { builder.Length };
        for (int i = 0; i < 3; i++)
        {
            builder.PcapRecord((uint)(100 + i), 0, new byte[5 + i * 3]);
            boundaries.Add(builder.Length);
        }
        var full = builder.ToArray();

        for (int cut = 0; cut <= full.Length; cut++)
        {
            var bytes = full[..cut];
            if (cut < 4)
            {
                Assert.ThrowsExactly<CaptureFormatException>(() => OpenBytes(bytes), $"cut {cut}");
                continue;
            }
            using var source = OpenBytes(bytes);
            var frames = source.ReadAll();
            int complete = boundaries.Count(b => b <= cut) - 1;
            Assert.HasCount(Math.Max(complete, 0), frames, $"cut {cut}");
            for (int i = 0; i < frames.Count; i++) Assert.AreEqual(100L + i, frames[i].Header.TimestampNs / 1_000_000_000, $"cut {cut}");
            if (boundaries.Contains(cut))
            {
                Assert.IsEmpty(source.Errors, $"cut {cut}");
            }
            else
            {
                Assert.HasCount(1, source.Errors, $"cut {cut}");
                long expectedOffset = cut < 24 ? 0 : boundaries[complete];
                Assert.AreEqual(expectedOffset, source.Errors[0].ByteOffset, $"cut {cut}");
            }
            Assert.IsFalse(source.MoveNext());
        }
    }

    [TestMethod]
    public void MoveNext_FileLargerThanTheBuffer_DeliversEveryRecordIntact()
    {
        // ~5 MiB of records of varying size, so records straddle the 512 KiB buffer refills.
        var builder = new CaptureBuilder(false).PcapHeader(true, 1);
        const int count = 20_000;
        for (int i = 0; i < count; i++)
        {
            var data = new byte[(i * 37) % 500 + 1];
            data.AsSpan().Fill((byte)i);
            builder.PcapRecord((uint)i, (uint)i, data);
        }
        var bytes = builder.ToArray();

        using var source = CaptureFile.Open(new TrickleStream(bytes, chunk: 70_001), "big.pcap");
        int n = 0;
        while (source.MoveNext())
        {
            Assert.AreEqual(n + 1L, source.Header.FrameNumber);
            Assert.AreEqual(n * 1_000_000_001L, source.Header.TimestampNs);
            Assert.AreEqual((n * 37) % 500 + 1, source.Data.Length);
            Assert.AreEqual(-1, source.Data.IndexOfAnyExcept((byte)n), $"frame {n + 1}");
            n++;
        }
        Assert.AreEqual(count, n);
        Assert.IsEmpty(source.Errors);
        Assert.AreEqual(bytes.Length, source.BytesRead);
    }
}
