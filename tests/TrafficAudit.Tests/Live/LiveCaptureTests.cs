using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TrafficAudit.Capture;
using TrafficAudit.Capture.Live;

namespace TrafficAudit.Tests.Live;

/// <summary>
/// Live capture on the loopback interface <c>lo</c>, with traffic the test sends to itself on
/// 127.0.0.1 only. Needs root (or CAP_NET_RAW) and libpcap0.8; without them every test here is
/// Inconclusive rather than failed.
/// </summary>
[TestClass]
public sealed class LiveCaptureTests
{
    private const string Loopback = "lo";
    private const int Port = 39999;
    private const string PortFilter = "udp port 39999";
    /// <summary>First payload bytes of our datagrams, so stray traffic on the port is not counted.</summary>
    private static readonly byte[] Magic = "TAUDLIVE"u8.ToArray();
    private const int EthernetHeader = 14;
    private const ushort EtherTypeIPv4 = 0x0800;
    private const byte UdpProtocol = 17;
    private const int UdpHeader = 8;

    private static void RequireLiveCapture()
    {
        var pre = LivePreflight.Check();
        if (!pre.Ok) Assert.Inconclusive("live capture not possible here: " + pre.Message);
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("the loopback tests use the Linux interface name 'lo'");
    }

    private static LiveFrameSource OpenLoopback(string? filter = PortFilter, int bufferSize = LiveCaptureOptions.DefaultBufferSize,
        TimeSpan? readTimeout = null, bool immediate = false, CancellationToken token = default)
        => LiveFrameSource.Open(new LiveCaptureOptions
        {
            Interface = Loopback,
            Filter = filter,
            BufferSize = bufferSize,
            ReadTimeout = readTimeout ?? TimeSpan.FromMilliseconds(100),
            Immediate = immediate,
        }, token);

    private static byte[] Payload(int sequence, int length)
    {
        var p = new byte[length];
        Magic.CopyTo(p, 0);
        BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(Magic.Length), sequence);
        for (int i = Magic.Length + 4; i < length; i++) p[i] = (byte)(sequence + i);
        return p;
    }

    /// <summary>The UDP payload of an Ethernet/IPv4/UDP frame to our port, or false.</summary>
    private static bool TryUdpPayload(ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        if (frame.Length < EthernetHeader + 20 + UdpHeader) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeIPv4) return false;
        var ip = frame[EthernetHeader..];
        int ihl = (ip[0] & 0x0F) * 4;
        if (ip[9] != UdpProtocol || ip.Length < ihl + UdpHeader) return false;
        var udp = ip[ihl..];
        if (BinaryPrimitives.ReadUInt16BigEndian(udp[2..]) != Port) return false;
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        if (udpLength < UdpHeader || udpLength > udp.Length) return false;
        payload = udp[UdpHeader..udpLength];
        return payload.StartsWith(Magic);
    }

    /// <summary>A bound receiver so that no ICMP port-unreachable comes back; its own losses do not matter.</summary>
    private static UdpClient Receiver()
    {
        var r = new UdpClient(new IPEndPoint(IPAddress.Loopback, Port));
        r.Client.ReceiveBufferSize = 8 << 20;
        return r;
    }

    /// <summary>Reads until <paramref name="done"/> says so or the deadline passes; returns the payloads of our datagrams.</summary>
    private static List<byte[]> Collect(LiveFrameSource source, Func<List<byte[]>, bool> done, TimeSpan deadline, List<FrameHeader>? headers = null)
    {
        var got = new List<byte[]>();
        var clock = Stopwatch.StartNew();
        while (!done(got) && clock.Elapsed < deadline)
        {
            if (source.TryMoveNext(out _) && TryUdpPayload(source.Data, out var payload))
            {
                got.Add(payload.ToArray());
                headers?.Add(source.Header);
            }
            else if (source.IsFinished) break;
        }
        return got;
    }

    [TestMethod]
    public void Loopback_200Datagrams_AllCapturedWithPayloadsTimestampsAndNoDrops()
    {
        RequireLiveCapture();
        const int count = 200;
        using var receiver = Receiver();
        using var source = OpenLoopback();
        Assert.AreEqual(LinkType.Ethernet, source.LinkType, "Linux lo captures as DLT_EN10MB");
        long startNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

        using (var sender = new UdpClient(AddressFamily.InterNetwork))
        {
            var to = new IPEndPoint(IPAddress.Loopback, Port);
            for (int i = 0; i < count; i++)
            {
                var p = Payload(i, 20 + i % 200);
                sender.Send(p, p.Length, to);
            }
        }
        var headers = new List<FrameHeader>();
        var got = Collect(source, g => g.Count >= count, TimeSpan.FromSeconds(10), headers);
        long endNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        source.Stop();
        Assert.IsFalse(source.MoveNext(), "after Stop the source ends");
        Assert.IsTrue(source.IsFinished);

        Assert.AreEqual(count, got.Count, "datagrams captured");
        for (int i = 0; i < count; i++)
        {
            CollectionAssert.AreEqual(Payload(i, 20 + i % 200), got[i], $"payload of datagram {i}");
            Assert.IsTrue(headers[i].TimestampNs >= startNs - 1_000_000_000 && headers[i].TimestampNs <= endNs + 1_000_000_000,
                $"timestamp {headers[i].TimestampNs} outside the test's run [{startNs}, {endNs}]");
            Assert.AreEqual(headers[i].CapturedLength, headers[i].OriginalLength, "short frames are not snapped");
            Assert.AreEqual(LinkType.Ethernet, headers[i].LinkType);
            if (i > 0) Assert.IsTrue(headers[i].TimestampNs >= headers[i - 1].TimestampNs, "timestamps go forward");
        }
        Assert.IsTrue(source.NanosecondTimestamps, "libpcap on Linux gives ns timestamps");
        Assert.AreEqual(0UL, source.DroppedPackets, "kernel drops");
        Assert.AreEqual(0UL, source.InterfaceDroppedPackets, "interface drops");
        Assert.IsTrue(source.CountsEachPacketTwice, "Linux lo hands every packet to the capture twice");
        Assert.AreEqual((ulong)count, source.ReceivedPackets, "ps_recv, halved on lo, counts each datagram once");
        Assert.AreEqual(2UL * count, source.RawReceivedPackets, "libpcap's own ps_recv on lo");
        var iface = source.Interfaces.Single();
        Assert.AreEqual(Loopback, iface.Name);
        Assert.AreEqual(source.ReceivedPackets, iface.InterfaceReceived);
        Assert.AreEqual(0UL, iface.OsDropped);
        Assert.AreEqual(0UL, iface.InterfaceDropped);
    }

    [TestMethod]
    public void Loopback_Burst5000_CapturedPlusReportedDropsEqualsSent()
    {
        RequireLiveCapture();
        const int count = 5000;
        using var receiver = Receiver();
        using var source = OpenLoopback();
        var clock = Stopwatch.StartNew();
        using (var sender = new UdpClient(AddressFamily.InterNetwork))
        {
            var to = new IPEndPoint(IPAddress.Loopback, Port);
            var p = Payload(0, 172);   // a G.711 20 ms RTP packet's size
            for (int i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(Magic.Length), i);
                sender.Send(p, p.Length, to);
            }
        }
        double sendSeconds = clock.Elapsed.TotalSeconds;
        // Read until everything sent is either captured or counted as dropped.
        var got = Collect(source, g =>
        {
            if (g.Count >= count) return true;
            source.RefreshStatistics();
            return (ulong)g.Count + source.DroppedPackets + source.InterfaceDroppedPackets >= count && g.Count % 64 == 0;
        }, TimeSpan.FromSeconds(15));
        source.Stop();
        source.MoveNext();

        var seen = new HashSet<int>();
        foreach (var g in got) Assert.IsTrue(seen.Add(BinaryPrimitives.ReadInt32BigEndian(g.AsSpan(Magic.Length))), "no datagram twice");
        ulong dropped = source.DroppedPackets + source.InterfaceDroppedPackets;
        Console.WriteLine($"burst: sent {count} in {sendSeconds * 1000:F0} ms ({count / sendSeconds:F0}/s); captured {got.Count}, reported dropped {dropped}, ps_recv {source.ReceivedPackets}");
        Assert.AreEqual((ulong)count, (ulong)got.Count + dropped, "captured + reported drops must equal sent: nothing may be lost silently");
        Assert.AreEqual(count, got.Count, "with the default 128 MiB buffer a 5,000-datagram burst on lo loses nothing");
    }

    [TestMethod]
    public void Loopback_TinyBufferImmediateBurst_LossesAreReportedNotSilent()
    {
        // The NOTES.md pitfall (immediate mode, small buffer, big snap length): whatever is lost
        // must show up in the drop counters.
        RequireLiveCapture();
        const int count = 5000;
        using var receiver = Receiver();
        using var source = LiveFrameSource.Open(new LiveCaptureOptions
        {
            Interface = Loopback,
            Filter = PortFilter,
            BufferSize = LiveCaptureOptions.MinBufferSize,
            SnapLength = 65535,
            Immediate = true,
            ReadTimeout = TimeSpan.FromMilliseconds(100),
        });
        using (var sender = new UdpClient(AddressFamily.InterNetwork))
        {
            var to = new IPEndPoint(IPAddress.Loopback, Port);
            var p = Payload(0, 1200);
            for (int i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(Magic.Length), i);
                sender.Send(p, p.Length, to);
            }
        }
        // Idle until the ring is drained: a timeout with nothing new.
        int captured = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (source.TryMoveNext(out bool timedOut)) { if (TryUdpPayload(source.Data, out _)) captured++; }
            else if (timedOut) break;
            else break;
        }
        source.Stop();
        source.MoveNext();
        ulong dropped = source.DroppedPackets + source.InterfaceDroppedPackets;
        Console.WriteLine($"tiny buffer, immediate: captured {captured}, reported dropped {dropped}, ps_recv {source.ReceivedPackets}");
        Assert.AreEqual((ulong)count, (ulong)captured + dropped, "captured + reported drops must equal sent");
        Assert.IsTrue(dropped > 0, "this configuration is meant to overflow the 1 MiB ring; if it no longer does, the test proves nothing");
    }

    [TestMethod]
    public void TryMoveNext_IdleLine_ReportsTimeoutsAndStopEndsPromptly()
    {
        RequireLiveCapture();
        using var source = OpenLoopback(filter: "udp port 39998 and udp port 39997", readTimeout: TimeSpan.FromMilliseconds(150));
        var clock = Stopwatch.StartNew();
        Assert.IsFalse(source.TryMoveNext(out bool timedOut));
        Assert.IsTrue(timedOut, "an idle line reports a timeout");
        Assert.IsTrue(clock.ElapsedMilliseconds is >= 100 and < 2000, $"timeout after {clock.ElapsedMilliseconds} ms for a 150 ms read timeout");
        Assert.IsFalse(source.IsFinished);

        // Stop from another thread while MoveNext waits.
        using var timer = new Timer(_ => source.Stop(), null, 300, Timeout.Infinite);
        clock.Restart();
        Assert.IsFalse(source.MoveNext());
        long ms = clock.ElapsedMilliseconds;
        Assert.IsTrue(ms is >= 250 and < 1000, $"MoveNext returned {ms} ms after start, Stop came at 300 ms");
        Assert.IsTrue(source.IsFinished);
        Assert.IsFalse(source.TryMoveNext(out timedOut));
        Assert.IsFalse(timedOut, "after the end, no more timeouts");
        Assert.AreEqual(0, source.Errors.Count);
    }

    [TestMethod]
    public void MoveNext_CancellationToken_EndsCapture()
    {
        RequireLiveCapture();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        using var source = OpenLoopback(filter: "udp port 39998 and udp port 39997", token: cts.Token);
        var clock = Stopwatch.StartNew();
        Assert.IsFalse(source.MoveNext());
        Assert.IsTrue(clock.ElapsedMilliseconds < 1500, $"ended after {clock.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    public void MoveNext_SteadyTraffic_AllocatesNothingPerFrame()
    {
        RequireLiveCapture();
        const int count = 3000;
        using var receiver = Receiver();
        using var source = OpenLoopback();
        using (var sender = new UdpClient(AddressFamily.InterNetwork))
        {
            var to = new IPEndPoint(IPAddress.Loopback, Port);
            var p = Payload(0, 172);
            for (int i = 0; i < count; i++) sender.Send(p, p.Length, to);
        }
        // Warm up (first frames, JIT), then measure the rest.
        int read = 0;
        while (read < 100 && source.MoveNext()) read++;
        long before = GC.GetAllocatedBytesForCurrentThread();
        int frames = 0;
        var clock = Stopwatch.StartNew();
        while (read < count && clock.ElapsedMilliseconds < 10_000)
        {
            if (source.TryMoveNext(out _)) { read++; frames++; }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(count, read, "all datagrams read");
        // At most a statistics refresh (one small object per second) may allocate.
        Assert.IsTrue(allocated < 1024, $"{allocated} bytes allocated over {frames} frames");
    }

    [TestMethod]
    public void Open_BadFilter_CleanConfigurationError()
    {
        var pre = LivePreflight.Check();
        if (pre.Problem == LiveCaptureProblem.LibpcapMissing) Assert.Inconclusive(pre.Message);
        var e = Assert.ThrowsExactly<LiveCaptureException>(() => OpenLoopback(filter: "udp port"));
        Assert.AreEqual(LiveCaptureProblem.BadFilter, e.Problem);
        StringAssert.Contains(e.Message, "invalid capture filter \"udp port\"");
        StringAssert.Contains(e.Message, "syntax error");
        Assert.IsFalse(e.Message.Contains("   at ", StringComparison.Ordinal), "no stack trace in the message");

        var e2 = Assert.ThrowsExactly<LiveCaptureException>(() => OpenLoopback(filter: "udp port 99999999"));
        Assert.AreEqual(LiveCaptureProblem.BadFilter, e2.Problem);
        StringAssert.Contains(e2.Message, "99999999");
    }

    [TestMethod]
    public void Open_UnknownInterface_NamesTheAvailableOnes()
    {
        var pre = LivePreflight.Check();
        if (pre.Problem == LiveCaptureProblem.LibpcapMissing) Assert.Inconclusive(pre.Message);
        var e = Assert.ThrowsExactly<LiveCaptureException>(() => LiveFrameSource.Open(new LiveCaptureOptions { Interface = "nosuch0" }));
        Assert.AreEqual(LiveCaptureProblem.NoSuchInterface, e.Problem);
        StringAssert.Contains(e.Message, "'nosuch0'");
        if (OperatingSystem.IsLinux()) StringAssert.Contains(e.Message, "lo");
    }

    [TestMethod]
    public void Open_OptionsOutOfRange_BadOptions()
    {
        var e = Assert.ThrowsExactly<LiveCaptureException>(() => LiveFrameSource.Open(new LiveCaptureOptions { Interface = Loopback, SnapLength = 10 }));
        Assert.AreEqual(LiveCaptureProblem.BadOptions, e.Problem);
        e = Assert.ThrowsExactly<LiveCaptureException>(() => LiveFrameSource.Open(new LiveCaptureOptions { Interface = Loopback, BufferSize = 4096 }));
        Assert.AreEqual(LiveCaptureProblem.BadOptions, e.Problem);
    }

    [TestMethod]
    public void List_IncludesLoopbackWithAddressAndLinkType()
    {
        RequireLiveCapture();
        var all = LiveInterfaces.List();
        var lo = all.SingleOrDefault(i => i.Name == Loopback);
        Assert.IsNotNull(lo, "lo listed among: " + string.Join(", ", all.Select(i => i.Name)));
        Assert.IsTrue(lo.IsLoopback);
        Assert.IsTrue(lo.IsUp);
        CollectionAssert.Contains(lo.Addresses.ToList(), IPAddress.Loopback);
        Assert.AreEqual(LinkType.Ethernet, lo.LinkType);
    }

    [TestMethod]
    public void LiveToRingWriter_CapturedFramesReadBackOfflineIdentically()
    {
        RequireLiveCapture();
        const int count = 50;
        string dir = Path.Combine(Path.GetTempPath(), "ta-live-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var frames = new List<(FrameHeader Header, byte[] Data)>();
            string path = Path.Combine(dir, "live.pcapng");
            using (var receiver = Receiver())
            using (var source = OpenLoopback())
            using (var writer = new PcapNgRingWriter(new PcapNgRingOptions { Path = path }))
            {
                int id = writer.AddInterface(source.LinkType, source.Options.SnapLength, source.InterfaceName);
                using (var sender = new UdpClient(AddressFamily.InterNetwork))
                {
                    var to = new IPEndPoint(IPAddress.Loopback, Port);
                    for (int i = 0; i < count; i++) { var p = Payload(i, 100); sender.Send(p, p.Length, to); }
                }
                var clock = Stopwatch.StartNew();
                while (frames.Count < count && clock.Elapsed < TimeSpan.FromSeconds(10))
                {
                    if (!source.TryMoveNext(out _)) continue;
                    writer.WritePacket(id, source.Header, source.Data);
                    frames.Add((source.Header, source.Data.ToArray()));
                }
                source.Stop();
                source.MoveNext();
                writer.SetStatistics(id, source.Interfaces[0]);
            }
            Assert.AreEqual(count, frames.Count);
            using var offline = CaptureFile.Open(path);
            int n = 0;
            while (offline.MoveNext())
            {
                Assert.AreEqual(frames[n].Header.TimestampNs, offline.Header.TimestampNs);
                Assert.AreEqual(frames[n].Header.OriginalLength, offline.Header.OriginalLength);
                Assert.AreEqual(LinkType.Ethernet, offline.Header.LinkType);
                CollectionAssert.AreEqual(frames[n].Data, offline.Data.ToArray());
                n++;
            }
            Assert.AreEqual(count, n);
            Assert.AreEqual(0UL, offline.Interfaces[0].OsDropped, "the ISB carries the live drop counter");
            Assert.IsNotNull(offline.Interfaces[0].InterfaceReceived);
            Assert.AreEqual(Loopback, offline.Interfaces[0].Name);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
