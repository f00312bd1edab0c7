using TrafficAudit.Capture;
using static TrafficAudit.Tests.Capture.FrameSourceTestExtensions;

namespace TrafficAudit.Tests.Capture;

[TestClass]
public sealed class MergedFrameSourceTests
{
    [TestMethod]
    public void MoveNext_TwoFiles_MergesByTimestampWithTiesToTheLowerFileIndex()
    {
        // File 0 (pcap, seconds 1 3 5 5), file 1 (pcapng, seconds 2 3 4 5 + an error at the end).
        var a = new CaptureBuilder(false).PcapHeader(false, 1)
            .PcapRecord(1, 0, [0xA1]).PcapRecord(3, 0, [0xA2]).PcapRecord(5, 0, [0xA3]).PcapRecord(5, 0, [0xA4]).ToArray();
        var b = new CaptureBuilder(true).SectionHeader().InterfaceDescription(113, tsresol: 0)
            .EnhancedPacket(0, 2, [0xB1]).EnhancedPacket(0, 3, [0xB2]).EnhancedPacket(0, 4, [0xB3]).EnhancedPacket(0, 5, [0xB4])
            .U32(6).U32(40).ToArray();   // a block header with nothing behind it

        using var merged = new MergedFrameSource([OpenBytes(a, "a.pcap", fileIndex: 0), OpenBytes(b, "b.pcapng", fileIndex: 1)]);
        var frames = merged.ReadAll();

        CollectionAssert.AreEqual(
            new byte[] { 0xA1, 0xB1, 0xA2, 0xB2, 0xB3, 0xA3, 0xA4, 0xB4 },
            frames.Select(f => f.Data.Single()).ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1, 0, 1, 1, 0, 0, 1 }, frames.Select(f => f.Header.FileIndex).ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 1, 2, 2, 3, 3, 4, 4 }, frames.Select(f => f.Header.FrameNumber).ToArray());
        Assert.AreEqual(LinkType.LinuxSll, frames[1].Header.LinkType);
        Assert.AreEqual(a.Length + b.Length - 8, merged.BytesRead);   // reading stopped before the bad block
        Assert.HasCount(2, merged.Interfaces);
        Assert.AreEqual("a.pcap", merged.Interfaces[0].File);
        Assert.AreEqual(1, merged.Interfaces[1].FileIndex);
        Assert.AreEqual("b.pcapng", merged.Errors.Single().File);
        Assert.IsFalse(merged.MoveNext());
    }

    [TestMethod]
    public void MoveNext_NoSourcesOrOnlyEmptyOnes_ReturnsFalse()
    {
        var empty = new CaptureBuilder(false).PcapHeader(true, 1).ToArray();

        using var none = new MergedFrameSource([]);
        using var merged = new MergedFrameSource([OpenBytes(empty), OpenBytes(empty, fileIndex: 1)]);

        Assert.IsFalse(none.MoveNext());
        Assert.IsFalse(merged.MoveNext());
        Assert.AreEqual(48, merged.BytesRead);
    }
}
