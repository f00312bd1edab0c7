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

[TestClass]
public sealed class MergedFrameSourceHeapTests
{
    [TestMethod]
    public void MoveNext_ManyInterleavedSources_SameOrderAsSortingByTimeFileAndFrame()
    {
        // 300 files with random, overlapping, partly equal timestamps (non-decreasing within a file):
        // the heap must give exactly the order of a stable sort by (timestamp, file index).
        var rng = new Random(13);
        var expected = new List<(uint Ts, int File, byte Tag)>();
        var sources = new List<IFrameSource>();
        for (int file = 0; file < 300; file++)
        {
            var b = new CaptureBuilder(false).PcapHeader(false, 1);
            uint ts = (uint)rng.Next(0, 50);
            int frames = rng.Next(0, 12);
            for (int n = 0; n < frames; n++)
            {
                ts += (uint)rng.Next(0, 3);
                byte tag = (byte)rng.Next(256);
                b.PcapRecord(ts, 0, [tag, (byte)(file & 0xFF), (byte)(file >> 8)]);
                expected.Add((ts, file, tag));
            }
            sources.Add(OpenBytes(b.ToArray(), $"f{file}.pcap", fileIndex: file));
        }
        // Files handed over in shuffled order: the order comes from the keys, not the list.
        sources = sources.OrderBy(_ => rng.Next()).ToList();
        var want = expected.Select((e, i) => (e, i)).OrderBy(x => x.e.Ts).ThenBy(x => x.e.File).ThenBy(x => x.i).Select(x => x.e).ToList();

        using var merged = new MergedFrameSource(sources);
        var got = merged.ReadAll().Select(f => ((uint)(f.Header.TimestampNs / 1_000_000_000), f.Header.FileIndex, f.Data[0])).ToList();

        Assert.IsGreaterThan(1000, want.Count);
        CollectionAssert.AreEqual(want, got);
    }

    [TestMethod]
    public void BufferSizeFor_SharesTheBudgetWithinBounds()
    {
        Assert.AreEqual(512 << 10, MergedFrameSource.BufferSizeFor(1));
        Assert.AreEqual(512 << 10, MergedFrameSource.BufferSizeFor(64));
        Assert.AreEqual(512 << 10, MergedFrameSource.BufferSizeFor(128));
        Assert.AreEqual((64 << 20) / 200, MergedFrameSource.BufferSizeFor(200));
        Assert.AreEqual((64 << 20) / 1000, MergedFrameSource.BufferSizeFor(1000));
        Assert.AreEqual(64 << 10, MergedFrameSource.BufferSizeFor(2000));
        Assert.AreEqual(64 << 10, MergedFrameSource.BufferSizeFor(100_000));
    }

    [TestMethod]
    public void Open_SmallBuffer_RecordLargerThanTheBufferStillReadsWhole()
    {
        var big = new byte[200_000];
        new Random(1).NextBytes(big);
        var bytes = new CaptureBuilder(false).PcapHeader(false, 1, snapLength: 262144).PcapRecord(1, 0, big).PcapRecord(2, 0, [7]).ToArray();

        using var source = CaptureFile.Open(new MemoryStream(bytes), "big.pcap", bufferSize: MergedFrameSource.MinBufferSize);
        var frames = source.ReadAll();

        Assert.HasCount(2, frames);
        CollectionAssert.AreEqual(big, frames[0].Data);
        Assert.AreEqual((byte)7, frames[1].Data.Single());
    }
}
