using System.Buffers.Binary;
using System.Text.RegularExpressions;
using TrafficAudit.Capture;
using TrafficAudit.Capture.Live;

namespace TrafficAudit.Tests.Live;

[TestClass]
public sealed class PcapNgRingWriterTests
{
    /// <summary>2026-03-02 09:00:00 UTC in ns since the epoch.</summary>
    private const long March2Ns = 1_772_442_000L * 1_000_000_000L;

    private string _dir = "";

    [TestInitialize]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ta-ring-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private sealed record Written(int Interface, long TimestampNs, byte[] Data, int OriginalLength);

    /// <summary>Frame i: length varies through every padding remainder; bytes depend on i so frames differ.</summary>
    private static byte[] Frame(int i, int length)
    {
        var b = new byte[length];
        for (int k = 0; k < length; k++) b[k] = (byte)(i * 31 + k * 7);
        if (length >= 4) BinaryPrimitives.WriteInt32BigEndian(b, i);
        return b;
    }

    private static List<(FrameHeader Header, byte[] Data)> ReadAll(string path, out IReadOnlyList<CaptureInterface> interfaces, out IReadOnlyList<CaptureReadError> errors)
    {
        var list = new List<(FrameHeader, byte[])>();
        using var source = CaptureFile.Open(path);
        while (source.MoveNext()) list.Add((source.Header, source.Data.ToArray()));
        interfaces = source.Interfaces;
        errors = source.Errors;
        return list;
    }

    [TestMethod]
    public void WritePacket_ThreeLinkTypes_ReadBackIdenticalBytesTimestampsAndLinkTypes()
    {
        string path = Path.Combine(_dir, "one.pcapng");
        var written = new List<Written>();
        using (var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = path }))
        {
            Assert.AreEqual(0, w.AddInterface(LinkType.Ethernet, 9000, "eth0", "first NIC"));
            Assert.AreEqual(1, w.AddInterface(LinkType.Raw, 65535, "tun0"));
            Assert.AreEqual(2, w.AddInterface(LinkType.LinuxSll2, 262144));
            for (int i = 0; i < 300; i++)
            {
                int iface = i % 3;
                int length = i % 70;                              // 0..69: every remainder mod 4, and empty frames
                long ts = March2Ns + i * 1_234_567L + i % 7;      // odd ns survive only at ns resolution
                int orig = length + (i % 5 == 0 ? 1400 : 0);      // some frames "snapped"
                var data = Frame(i, length);
                w.WritePacket(iface, ts, data, orig);
                written.Add(new Written(iface, ts, data, orig));
            }
            w.SetStatistics(0, received: 1000, interfaceDropped: 3, osDropped: 7, filterAccepted: 400);
            w.SetStatistics(1, received: 5, interfaceDropped: 0, osDropped: 0);
            Assert.AreEqual(300, w.PacketsWritten);
        }

        var read = ReadAll(path, out var interfaces, out var errors);
        Assert.AreEqual(0, errors.Count, string.Join("; ", errors));
        Assert.AreEqual(written.Count, read.Count);
        LinkType[] types = [LinkType.Ethernet, LinkType.Raw, LinkType.LinuxSll2];
        for (int i = 0; i < read.Count; i++)
        {
            var (h, data) = read[i];
            var e = written[i];
            CollectionAssert.AreEqual(e.Data, data, $"frame {i} bytes");
            Assert.AreEqual(e.TimestampNs, h.TimestampNs, $"frame {i} timestamp");
            Assert.AreEqual(e.Interface, h.InterfaceIndex, $"frame {i} interface");
            Assert.AreEqual(types[e.Interface], h.LinkType, $"frame {i} link type");
            Assert.AreEqual(e.Data.Length, h.CapturedLength);
            Assert.AreEqual(e.OriginalLength, h.OriginalLength);
            Assert.AreEqual(i + 1, h.FrameNumber);
        }
        Assert.AreEqual(3, interfaces.Count);
        Assert.AreEqual("eth0", interfaces[0].Name);
        Assert.AreEqual("first NIC", interfaces[0].Description);
        Assert.AreEqual(9000, interfaces[0].SnapLength);
        Assert.AreEqual("tun0", interfaces[1].Name);
        Assert.IsNull(interfaces[2].Name);
        Assert.AreEqual(1000UL, interfaces[0].InterfaceReceived);
        Assert.AreEqual(3UL, interfaces[0].InterfaceDropped);
        Assert.AreEqual(7UL, interfaces[0].OsDropped);
        Assert.AreEqual(400UL, interfaces[0].FilterAccepted);
        Assert.AreEqual(5UL, interfaces[1].InterfaceReceived);
        Assert.AreEqual(0UL, interfaces[1].OsDropped);
        Assert.IsNull(interfaces[2].InterfaceReceived, "no counters were given for interface 2");
    }

    [TestMethod]
    public void WritePacket_FrameLargerThanBuffer_ReadBackIdentical()
    {
        string path = Path.Combine(_dir, "big.pcapng");
        var big = Frame(1, 10_001);
        var small = Frame(2, 3);
        using (var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = path, BufferSize = 4096 }))
        {
            w.AddInterface(LinkType.Ethernet, 65535);
            w.WritePacket(0, March2Ns, small, 3);
            w.WritePacket(0, March2Ns + 1, big, 10_001);
            w.WritePacket(0, March2Ns + 2, small, 3);
        }
        var read = ReadAll(path, out _, out var errors);
        Assert.AreEqual(0, errors.Count, string.Join("; ", errors));
        Assert.AreEqual(3, read.Count);
        CollectionAssert.AreEqual(big, read[1].Data);
        CollectionAssert.AreEqual(small, read[2].Data);
        Assert.AreEqual(March2Ns + 2, read[2].Header.TimestampNs);
    }

    [TestMethod]
    public void Dispose_NoPackets_WritesHeadersAndStatistics()
    {
        string path = Path.Combine(_dir, "empty.pcapng");
        using (var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = path }))
        {
            w.AddInterface(LinkType.Ethernet, 9000, "lo");
            w.SetStatistics(0, received: 0, interfaceDropped: 0, osDropped: 0);
        }
        var read = ReadAll(path, out var interfaces, out var errors);
        Assert.AreEqual(0, read.Count);
        Assert.AreEqual(0, errors.Count);
        Assert.AreEqual(1, interfaces.Count);
        Assert.AreEqual(0UL, interfaces[0].OsDropped);
    }

    [TestMethod]
    public void RingSize_KeepAll_FilesHoldEveryPacketInOrderAndEachEndsWithStatistics()
    {
        string basePath = Path.Combine(_dir, "ring.pcapng");
        const int packets = 200;
        const long ringSize = 4000;
        IReadOnlyList<string> files;
        using (var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = basePath, RingSizeBytes = ringSize }))
        {
            w.AddInterface(LinkType.Ethernet, 9000, "eth0");
            for (int i = 0; i < packets; i++)
            {
                w.WritePacket(0, March2Ns + i * 1_000_000_000L, Frame(i, 60 + i % 40), 60 + i % 40);
                // As a live capture refreshes them: the counters so far, after each packet.
                w.SetStatistics(0, received: (ulong)(i + 1), interfaceDropped: 0, osDropped: (ulong)i / 10);
            }
            files = [.. w.Files];
            Assert.AreEqual(files.Count, w.FilesCreated);
        }
        Assert.IsTrue(files.Count >= 5, $"expected several files, got {files.Count}");

        int next = 0;
        for (int f = 0; f < files.Count; f++)
        {
            var read = ReadAll(files[f], out var interfaces, out var errors);
            Assert.AreEqual(0, errors.Count, string.Join("; ", errors));
            Assert.IsTrue(read.Count > 0);
            foreach (var (h, data) in read)
            {
                Assert.AreEqual(next, BinaryPrimitives.ReadInt32BigEndian(data), $"file {f}: packets out of order or missing");
                Assert.AreEqual(March2Ns + next * 1_000_000_000L, h.TimestampNs);
                next++;
            }
            Assert.AreEqual("eth0", interfaces[0].Name, "every file repeats the interface description");
            Assert.IsNotNull(interfaces[0].InterfaceReceived, $"file {f} has no statistics block");
            Assert.AreEqual((ulong)next, interfaces[0].InterfaceReceived, "ISB carries the counters set before the file closed");
            long size = new FileInfo(files[f]).Length;
            // Over the size by less than one packet (≤ 32 + 100 bytes) plus the statistics block (≤ 116 bytes).
            if (f < files.Count - 1)
                Assert.IsTrue(size >= ringSize && size < ringSize + 132 + 116, $"file {f} is {size} bytes");
        }
        Assert.AreEqual(packets, next);
    }

    [TestMethod]
    public void RingFiles_KeepsOnlyTheNewestFilesAndTheirPackets()
    {
        string basePath = Path.Combine(_dir, "keep3.pcapng");
        const int packets = 300;
        int created;
        IReadOnlyList<string> files;
        using (var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = basePath, RingSizeBytes = 3000, RingFiles = 3 }))
        {
            w.AddInterface(LinkType.Ethernet, 9000);
            for (int i = 0; i < packets; i++) w.WritePacket(0, March2Ns + i * 60_000_000_000L, Frame(i, 100), 100);
            files = [.. w.Files];
            created = w.FilesCreated;
        }
        Assert.IsTrue(created > 3, $"only {created} files were created");
        Assert.AreEqual(3, files.Count);
        CollectionAssert.AreEquivalent(files.ToArray(), Directory.GetFiles(_dir), "deleted files must be gone, kept files present");

        // The three kept files are the last ones, numbered consecutively, and hold the tail of the packets.
        var name = new Regex(@"^keep3_(\d{5})_(\d{14})\.pcapng$");
        var numbers = files.Select(f => int.Parse(name.Match(Path.GetFileName(f)).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        CollectionAssert.AreEqual(new[] { created - 2, created - 1, created }, numbers);
        var all = files.SelectMany(f => ReadAll(f, out _, out _)).ToList();
        int first = BinaryPrimitives.ReadInt32BigEndian(all[0].Data);
        for (int k = 0; k < all.Count; k++) Assert.AreEqual(first + k, BinaryPrimitives.ReadInt32BigEndian(all[k].Data));
        Assert.AreEqual(packets - 1, first + all.Count - 1, "the newest packet is in the last file");
    }

    [TestMethod]
    public void RingFileName_UsesNumberAndFirstPacketUtcTime()
    {
        string basePath = Path.Combine(_dir, "base.pcapng");
        IReadOnlyList<string> files;
        using (var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = basePath, RingSizeBytes = 1 }))
        {
            w.AddInterface(LinkType.Ethernet, 9000);
            w.WritePacket(0, March2Ns, Frame(0, 60), 60);
            w.WritePacket(0, March2Ns + 61_500_000_000L, Frame(1, 60), 60);   // 09:01:01.5
            files = [.. w.Files];
        }
        CollectionAssert.AreEqual(new[] { "base_00001_20260302090000.pcapng", "base_00002_20260302090101.pcapng" },
            files.Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void RingFileName_PathWithoutExtension_GetsPcapng()
    {
        using var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = Path.Combine(_dir, "cap"), RingFiles = 2 });
        Assert.AreEqual("cap_00007_20260302090000.pcapng", Path.GetFileName(w.RingFileName(7, March2Ns)));
    }

    [TestMethod]
    public void Constructor_MissingDirectory_ThrowsNamingIt()
    {
        string missing = Path.Combine(_dir, "no", "such", "x.pcapng");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => new PcapNgRingWriter(new PcapNgRingOptions { Path = missing }));
        StringAssert.Contains(e.Message, Path.Combine(_dir, "no", "such"));
    }

    [TestMethod]
    public void WritePacket_UnregisteredInterface_Throws()
    {
        using var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = Path.Combine(_dir, "x.pcapng") });
        w.AddInterface(LinkType.Ethernet, 9000);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => w.WritePacket(1, March2Ns, new byte[10], 10));
    }

    [TestMethod]
    public void WritePacket_SteadyState_AllocatesNothing()
    {
        using var w = new PcapNgRingWriter(new PcapNgRingOptions { Path = Path.Combine(_dir, "alloc.pcapng"), BufferSize = 64 * 1024 });
        w.AddInterface(LinkType.Ethernet, 9000);
        var frame = Frame(5, 214);
        for (int i = 0; i < 2000; i++) w.WritePacket(0, March2Ns + i, frame, 214);   // warm up, file opened
        // The JIT may still recompile a method of the loop in the background of the first rounds (tiering),
        // which is charged to this thread once; a per-packet allocation shows in every round, so the best
        // of three rounds must be zero.
        long allocated = long.MaxValue;
        for (int round = 0; round < 3 && allocated != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20_000; i++) w.WritePacket(0, March2Ns + i, frame, 214);  // ~4.9 MB: many buffer flushes
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.AreEqual(0L, allocated, "bytes allocated while writing 20,000 packets, best of three rounds");
    }
}
