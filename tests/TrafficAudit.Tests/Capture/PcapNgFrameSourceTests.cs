using TrafficAudit.Capture;
using TrafficAudit.Decode;
using static TrafficAudit.Tests.Capture.FrameSourceTestExtensions;

namespace TrafficAudit.Tests.Capture;

[TestClass]
public sealed class PcapNgFrameSourceTests
{
    private static readonly byte[] Payload4 = [0xDE, 0xAD, 0xBE, 0xEF];
    private static readonly byte[] Payload5 = [1, 2, 3, 4, 5];

    // Little-endian pcapng: SHB, IDB (Ethernet, snaplen 0, no options), one EPB (xxd):
    // 00000000: 0a0d 0d0a 1c00 0000 4d3c 2b1a 0100 0000   SHB, total 28, BOM, v1.0
    // 00000010: ffff ffff ffff ffff 1c00 0000             section length -1, total 28
    // 0000001c: 0100 0000 1400 0000 0100 0000 0000 0000   IDB, total 20, linktype 1, snaplen 0
    // 0000002c: 1400 0000                                 total 20
    // 00000030: 0600 0000 2400 0000 0000 0000             EPB, total 36, interface 0
    // 0000003c: 0000 0000 40e2 0100 0400 0000 0400 0000   ts high 0, ts low 123456 µs, caplen 4, len 4
    // 0000004c: dead beef 2400 0000                       data, total 36
    private static readonly byte[] MinimalLittleEndian =
    [
        0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0x00, 0x00, 0x00, 0x4D, 0x3C, 0x2B, 0x1A, 0x01, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1C, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00,
        0x06, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x40, 0xE2, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        0xDE, 0xAD, 0xBE, 0xEF, 0x24, 0x00, 0x00, 0x00,
    ];

    [TestMethod]
    public void MoveNext_HandWrittenMinimalFile_YieldsTheEnhancedPacket()
    {
        using var source = OpenBytes(MinimalLittleEndian);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.AreEqual(new FrameHeader(123_456_000, LinkType.Ethernet, 4, 4, 0, 1, 0), frames[0].Header);
        CollectionAssert.AreEqual(Payload4, frames[0].Data);
        Assert.IsEmpty(source.Errors);
        Assert.AreEqual(MinimalLittleEndian.Length, source.BytesRead);
        Assert.HasCount(1, source.Interfaces);
    }

    [TestMethod]
    [DataRow(false, null, 1_500_000_000_123_456UL, 1_500_000_000_123_456_000L)]           // default 10^-6
    [DataRow(true, (byte)6, 1_500_000_000_123_456UL, 1_500_000_000_123_456_000L)]
    [DataRow(false, (byte)9, 1_500_000_000_123_456_789UL, 1_500_000_000_123_456_789L)]
    [DataRow(true, (byte)9, 1_500_000_000_123_456_789UL, 1_500_000_000_123_456_789L)]
    [DataRow(false, (byte)3, 1_500_000_000_123UL, 1_500_000_000_123_000_000L)]
    [DataRow(true, (byte)0x94, (1_500_000_000UL << 20) + (1UL << 19), 1_500_000_000_500_000_000L)]  // 2^-20, half a second
    [DataRow(false, (byte)0x80, 1_500_000_000UL, 1_500_000_000_000_000_000L)]                         // 2^0 = whole seconds
    [DataRow(true, (byte)12, 1_000_000_000_000_000_123UL, 1_000_000_000_000_000L)]                    // 10^-12: 1e6 s in ps, truncated
    public void MoveNext_InterfaceTimestampResolution_ConvertsTicksToNanoseconds(bool bigEndian, byte? tsresol, ulong ticks, long expectedNs)
    {
        var bytes = new CaptureBuilder(bigEndian)
            .SectionHeader()
            .InterfaceDescription(1, tsresol: tsresol)
            .EnhancedPacket(0, ticks, Payload4)
            .ToArray();

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.AreEqual(expectedNs, frames[0].Header.TimestampNs);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void MoveNext_InterfaceTimestampOffset_AddsSeconds()
    {
        var bytes = new CaptureBuilder(false).SectionHeader()
            .InterfaceDescription(1, tsresol: 9, tsOffset: 1_000_000_000)
            .EnhancedPacket(0, 5, Payload4)
            .ToArray();

        using var source = OpenBytes(bytes);

        Assert.IsTrue(source.MoveNext());
        Assert.AreEqual(1_000_000_000L * 1_000_000_000 + 5, source.Header.TimestampNs);
    }

    [TestMethod]
    [DataRow((byte)9, ulong.MaxValue, long.MaxValue)]
    [DataRow((byte)6, 9_300_000_000_000_000UL, long.MaxValue)]     // year 2264 in µs
    [DataRow((byte)0x80, 10_000_000_000UL, long.MaxValue)]          // 2^0: 1e10 s
    public void MoveNext_TimestampBeyondLongNanoseconds_SaturatesAndCountsAnomaly(byte tsresol, ulong ticks, long expected)
    {
        var anomalies = new AnomalyCounters();
        var bytes = new CaptureBuilder(true).SectionHeader()
            .InterfaceDescription(1, tsresol: tsresol)
            .EnhancedPacket(0, ticks, Payload4)
            .EnhancedPacket(0, 1, Payload4)
            .ToArray();

        using var source = OpenBytes(bytes, anomalies: anomalies);
        var frames = source.ReadAll();

        Assert.HasCount(2, frames);
        Assert.AreEqual(expected, frames[0].Header.TimestampNs);
        Assert.AreEqual(1, anomalies[CaptureAnomaly.TimestampOutOfRange]);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void MoveNext_InterfacesOfDifferentLinkTypes_TakesLinkTypeFromEachPacketsInterface(bool bigEndian)
    {
        var bytes = new CaptureBuilder(bigEndian).SectionHeader()
            .InterfaceDescription(1, snapLength: 262144, name: "en0", description: "Wi-Fi")
            .InterfaceDescription(0, name: "lo0")
            .InterfaceDescription(101, tsresol: 9, name: "utun0")
            .EnhancedPacket(0, 1_000_000, Payload4)
            .EnhancedPacket(1, 2_000_000, Payload5)
            .EnhancedPacket(2, 3_000_000_000, Payload4)
            .EnhancedPacket(0, 4_000_000, Payload5)
            .ToArray();

        using var source = OpenBytes(bytes, fileIndex: 3);
        var frames = source.ReadAll();

        Assert.HasCount(4, frames);
        CollectionAssert.AreEqual(new[] { LinkType.Ethernet, LinkType.Null, LinkType.Raw, LinkType.Ethernet }, frames.Select(f => f.Header.LinkType).ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 0 }, frames.Select(f => f.Header.InterfaceIndex).ToArray());
        CollectionAssert.AreEqual(new[] { 1L, 2, 3, 4 }, frames.Select(f => f.Header.FrameNumber).ToArray());
        CollectionAssert.AreEqual(new[] { 1_000_000_000L, 2_000_000_000, 3_000_000_000, 4_000_000_000 }, frames.Select(f => f.Header.TimestampNs).ToArray());
        Assert.IsTrue(frames.All(f => f.Header.FileIndex == 3));
        CollectionAssert.AreEqual(Payload5, frames[1].Data);
        Assert.HasCount(3, source.Interfaces);
        Assert.AreEqual("en0", source.Interfaces[0].Name);
        Assert.AreEqual("Wi-Fi", source.Interfaces[0].Description);
        Assert.AreEqual(262144, source.Interfaces[0].SnapLength);
        Assert.AreEqual("lo0", source.Interfaces[1].Name);
        Assert.AreEqual(LinkType.Raw, source.Interfaces[2].LinkType);
        Assert.AreEqual(2, source.Interfaces[2].Index);
        Assert.AreEqual(3, source.Interfaces[2].FileIndex);
    }

    [TestMethod]
    public void MoveNext_SimplePacketBlocks_UseInterfaceZeroAndPreviousTimestamp()
    {
        var anomalies = new AnomalyCounters();
        var bytes = new CaptureBuilder(false).SectionHeader()
            .InterfaceDescription(113, snapLength: 3)
            .SimplePacket(Payload4)                         // no earlier timestamp: 0
            .EnhancedPacket(0, 7_000_000, [9, 9])
            .SimplePacket(Payload5, origLen: 1400)          // reuses 7 s; caplen limited by snaplen 3
            .ToArray();

        using var source = OpenBytes(bytes, anomalies: anomalies);
        var frames = source.ReadAll();

        Assert.HasCount(3, frames);
        Assert.AreEqual(0, frames[0].Header.TimestampNs);
        Assert.AreEqual(1, anomalies[CaptureAnomaly.PcapNgSimplePacketNoTimestamp]);
        Assert.AreEqual(new FrameHeader(7_000_000_000, LinkType.LinuxSll, 3, 1400, 0, 3, 0), frames[2].Header);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, frames[2].Data);
        CollectionAssert.AreEqual(new byte[] { 0xDE, 0xAD, 0xBE }, frames[0].Data);
    }

    [TestMethod]
    public void MoveNext_ObsoletePacketBlock_IsReadLikeAnEnhancedOne()
    {
        var bytes = new CaptureBuilder(true).SectionHeader()
            .InterfaceDescription(1)
            .InterfaceDescription(113)
            .ObsoletePacket(1, 2_500_000, Payload5)
            .ToArray();

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.AreEqual(new FrameHeader(2_500_000_000, LinkType.LinuxSll, 5, 5, 1, 1, 0), frames[0].Header);
        CollectionAssert.AreEqual(Payload5, frames[0].Data);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void MoveNext_InterfaceStatistics_LatestBlockPerInterfaceWins(bool bigEndian)
    {
        var bytes = new CaptureBuilder(bigEndian).SectionHeader()
            .InterfaceDescription(1)
            .InterfaceDescription(1)
            .InterfaceStatistics(0, ifRecv: 10, ifDrop: 1, filterAccept: 9, osDrop: 2)
            .EnhancedPacket(0, 1, Payload4)
            .InterfaceStatistics(1, ifRecv: 0x1_0000_0005UL)
            .InterfaceStatistics(0, ifRecv: 20, ifDrop: 3, filterAccept: 17, osDrop: 4)
            .InterfaceStatistics(7, ifRecv: 99)    // no such interface
            .ToArray();
        var anomalies = new AnomalyCounters();

        using var source = OpenBytes(bytes, anomalies: anomalies);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        var i0 = source.Interfaces[0];
        Assert.AreEqual(20UL, i0.InterfaceReceived);
        Assert.AreEqual(3UL, i0.InterfaceDropped);
        Assert.AreEqual(17UL, i0.FilterAccepted);
        Assert.AreEqual(4UL, i0.OsDropped);
        Assert.AreEqual(0x1_0000_0005UL, source.Interfaces[1].InterfaceReceived);
        Assert.IsNull(source.Interfaces[1].InterfaceDropped);
        Assert.AreEqual(1, anomalies[CaptureAnomaly.PcapNgStatisticsBadInterface]);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void MoveNext_SeveralSectionsOfEitherByteOrder_ResetInterfacesPerSection()
    {
        var first = new CaptureBuilder(false).SectionHeader()
            .InterfaceDescription(1)
            .InterfaceDescription(0)
            .EnhancedPacket(1, 1_000_000, Payload4);
        var second = new CaptureBuilder(true).SectionHeader()
            .InterfaceDescription(276, tsresol: 9)
            .EnhancedPacket(0, 2_000_000_000, Payload5);
        byte[] bytes = [.. first.ToArray(), .. second.ToArray()];

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(2, frames);
        Assert.AreEqual(new FrameHeader(1_000_000_000, LinkType.Null, 4, 4, 1, 1, 0), frames[0].Header);
        Assert.AreEqual(new FrameHeader(2_000_000_000, LinkType.LinuxSll2, 5, 5, 2, 2, 0), frames[1].Header);
        Assert.HasCount(3, source.Interfaces);
        Assert.IsEmpty(source.Errors);
    }

    [TestMethod]
    public void MoveNext_PacketForInterfaceOfAnEarlierSection_StopsWithError()
    {
        var first = new CaptureBuilder(false).SectionHeader().InterfaceDescription(1).InterfaceDescription(1);
        var second = new CaptureBuilder(false).SectionHeader().InterfaceDescription(1).EnhancedPacket(0, 1, Payload4);
        int badOffset = first.Length + second.Length;
        second.EnhancedPacket(1, 2, Payload4);
        byte[] bytes = [.. first.ToArray(), .. second.ToArray()];

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.HasCount(1, source.Errors);
        Assert.AreEqual(badOffset, source.Errors[0].ByteOffset);
        StringAssert.Contains(source.Errors[0].Message, "interface 1");
    }

    [TestMethod]
    public void MoveNext_NameResolutionCustomAndUnknownBlocks_AreSkipped()
    {
        var bytes = new CaptureBuilder(false).SectionHeader()
            .Block(4, b => b.U16(1).U16(8).Bytes([10, 0, 0, 1]).Bytes("host"u8).U16(0).U16(0))   // NRB
            .InterfaceDescription(1)
            .Block(0x0000_0BAD, b => b.U32(32473).Bytes(new byte[13]))                             // custom
            .EnhancedPacket(0, 1, Payload4)
            .Block(0x0000_000A, b => b.U32(0x5353_4C4B).U32(0))                                    // DSB
            .Block(0x1234_5678, b => b.Bytes(new byte[40_000]))                                    // unknown
            .EnhancedPacket(0, 2, Payload5)
            .ToArray();

        using var source = OpenBytes(bytes);
        var frames = source.ReadAll();

        Assert.HasCount(2, frames);
        Assert.AreEqual(2L, frames[1].Header.FrameNumber);
        CollectionAssert.AreEqual(Payload5, frames[1].Data);
        Assert.IsEmpty(source.Errors);
        Assert.AreEqual(bytes.Length, source.BytesRead);
    }

    [TestMethod]
    [DataRow(10u, DisplayName = "total length below 12")]
    [DataRow(38u, DisplayName = "total length not a multiple of 4")]
    [DataRow(40u, DisplayName = "trailing copy differs")]
    public void MoveNext_BadBlockTotalLength_StopsWithErrorNamingFileAndOffset(uint badTotal)
    {
        var builder = new CaptureBuilder(false).SectionHeader().InterfaceDescription(1).EnhancedPacket(0, 1, Payload4);
        int badOffset = builder.Length;
        builder.EnhancedPacket(0, 2, Payload4).EnhancedPacket(0, 3, Payload4);
        var bytes = builder.ToArray();
        BitConverter.GetBytes(badTotal).CopyTo(bytes, badOffset + 4);   // the leading copy of the second EPB (36)

        using var source = OpenBytes(bytes, name: "bad.pcapng");
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.HasCount(1, source.Errors);
        Assert.AreEqual("bad.pcapng", source.Errors[0].File);
        Assert.AreEqual(badOffset, source.Errors[0].ByteOffset);
        Assert.IsFalse(source.MoveNext());
    }

    [TestMethod]
    public void MoveNext_CaplenRunningPastItsBlock_StopsWithError()
    {
        var builder = new CaptureBuilder(false).SectionHeader().InterfaceDescription(1);
        int badOffset = builder.Length;
        builder.EnhancedPacket(0, 1, Payload4);
        var bytes = builder.ToArray();
        BitConverter.GetBytes(200u).CopyTo(bytes, badOffset + 20);   // caplen

        using var source = OpenBytes(bytes);

        Assert.IsFalse(source.MoveNext());
        Assert.AreEqual(badOffset, source.Errors.Single().ByteOffset);
    }

    [TestMethod]
    public void MoveNext_OptionRunningPastItsBlock_CountsAnomalyAndKeepsInterface()
    {
        var anomalies = new AnomalyCounters();
        var bytes = new CaptureBuilder(false).SectionHeader()
            .Block(1, b => b.U16(1).U16(0).U32(0).U16(2).U16(200).Bytes("eth0"u8))
            .EnhancedPacket(0, 1, Payload4)
            .ToArray();

        using var source = OpenBytes(bytes, anomalies: anomalies);
        var frames = source.ReadAll();

        Assert.HasCount(1, frames);
        Assert.IsNull(source.Interfaces[0].Name);
        Assert.AreEqual(1, anomalies[CaptureAnomaly.PcapNgOptionTruncated]);
    }

    [TestMethod]
    public void MoveNext_CutAtEveryLength_NeverThrowsAndKeepsFramesBeforeTheCut()
    {
        var builder = new CaptureBuilder(true).SectionHeader().InterfaceDescription(1, tsresol: 9, name: "eth0");
        var boundaries = new List<int> { 0, 28, builder.Length };   // SHB, IDB ends: clean (no frames)
        int framesBefore = 0;
        var packetEnds = new List<int>();
        builder.Block(0x0BAD, b => b.U32(1).U32(2));
        boundaries.Add(builder.Length);
        for (int i = 0; i < 3; i++)
        {
            builder.EnhancedPacket(0, (ulong)(i + 1) * 1_000_000_000, new byte[3 + i]);
            boundaries.Add(builder.Length);
            packetEnds.Add(builder.Length);
        }
        builder.SimplePacket(Payload5);
        boundaries.Add(builder.Length);
        packetEnds.Add(builder.Length);
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
            framesBefore = packetEnds.Count(e => e <= cut);
            Assert.HasCount(framesBefore, frames, $"cut {cut}");
            for (int i = 0; i < frames.Count; i++) Assert.AreEqual(i + 1L, frames[i].Header.FrameNumber, $"cut {cut}");
            if (boundaries.Contains(cut))
            {
                Assert.IsEmpty(source.Errors, $"cut {cut}");
            }
            else
            {
                Assert.HasCount(1, source.Errors, $"cut {cut}");
                int blockStart = boundaries.Where(b => b <= cut).Max();
                Assert.AreEqual(blockStart, source.Errors[0].ByteOffset, $"cut {cut}");
            }
        }
    }
}
