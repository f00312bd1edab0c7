using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using TrafficAudit.Capture;

namespace TrafficAudit.Tests.Capture;

/// <summary>
/// Reading ahead on a thread of its own (<see cref="ReadAhead"/>) delivers what reading on the caller's thread does:
/// every frame's header and bytes, the read errors with their byte offsets and messages, the interfaces and the bytes
/// read, on every capture of the repository and of the shared public captures, plain, gzip-compressed, cut and
/// damaged, in chunks from one byte (every record cut, every record longer than the room in front of a chunk) to
/// the default size.
/// </summary>
[TestClass]
public sealed class ReadAheadTests
{
    /// <summary>61: every record longer than the room in front of a chunk (put together by copying); 1000 and 4096: most
    /// records cut at a chunk's end are copied in front of the next.</summary>
    private static readonly int[] ChunkSizes = [61, 1000, 4096, ReadAhead.DefaultChunkBytes];

    /// <summary>A stream that cannot seek and returns at most <paramref name="most"/> bytes per read, as a pipe does.</summary>
    private sealed class Pipe(byte[] data, int most = int.MaxValue) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, most));
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, most)]);
    }

    /// <summary>Everything a reader tells, as text: one line per frame (header and SHA-256 of its bytes), then errors, interfaces, bytes read.</summary>
    private static string Describe(Func<IFrameSource> open)
    {
        var text = new StringBuilder();
        try
        {
            using var source = open();
            while (source.MoveNext())
                text.Append(source.Header).Append(' ').AppendLine(Convert.ToHexString(SHA256.HashData(source.Data)));
            foreach (var e in source.Errors) text.AppendLine(e.ToString());
            foreach (var i in source.Interfaces) text.AppendLine($"interface {i.Index} {i.LinkType} {i.Name} {i.SnapLength} {i.OsDropped}");
            text.AppendLine($"bytes read {source.BytesRead}");
        }
        catch (Exception e) when (e is CaptureFormatException or IOException)
        {
            text.AppendLine($"{e.GetType().Name}: {e.Message}");
        }
        return text.ToString();
    }

    private static string Plain(byte[] bytes, bool pipe = false, int most = int.MaxValue) =>
        Describe(() => CaptureFile.Open(pipe ? new Pipe(bytes, most) : new MemoryStream(bytes), "capture"));

    private static string Ahead(byte[] bytes, int chunkBytes, bool pipe = false, int most = int.MaxValue) =>
        Describe(() => CaptureFile.Open(pipe ? new Pipe(bytes, most) : new MemoryStream(bytes), "capture", 0, null, leaveOpen: false,
            CaptureInput.DefaultBufferSize, ReadAheadMode.Always, chunkBytes));

    /// <summary>
    /// Read ahead without a thread of its own (<see cref="ReadAheadMode.WhenIdle"/>): with <paramref name="helper"/>, another
    /// thread calls <see cref="IIdleReader.ReadOneAhead"/> all along (and on after the source is disposed); without, this
    /// thread reads a chunk ahead every <paramref name="every"/> frames, so chunks come both ways at known points.
    /// </summary>
    private static string Idle(byte[] bytes, int chunkBytes, bool helper, int every = 7) =>
        Describe(() => new ReadAheadBy(
            CaptureFile.Open(new MemoryStream(bytes), "capture", 0, null, leaveOpen: false, CaptureInput.DefaultBufferSize, ReadAheadMode.WhenIdle, chunkBytes),
            helper, every));

    /// <summary>A source read ahead by a busy helper thread (until after it is disposed), or by its reader every few frames.</summary>
    private sealed class ReadAheadBy : IFrameSource
    {
        private readonly IFrameSource _inner;
        private readonly int _every;
        private readonly Thread? _helper;
        private volatile bool _stop;
        private long _frames;

        public ReadAheadBy(IFrameSource inner, bool helper, int every)
        {
            _inner = inner;
            _every = helper ? 0 : every;
            if (!helper) return;
            _helper = new Thread(() =>
            {
                var reader = (IIdleReader)inner;
                var random = new Random(5);
                while (!_stop)
                    if (!reader.ReadOneAhead() && random.Next(4) == 0) Thread.Yield();
                // After Dispose: never throws, never reads.
                for (int i = 0; i < 100; i++)
                    if (reader.ReadOneAhead()) throw new InvalidOperationException("read after Dispose");
            }) { IsBackground = true };
            _helper.Start();
        }

        public bool MoveNext()
        {
            if (_every > 0 && ++_frames % _every == 0) ((IIdleReader)_inner).ReadOneAhead();
            return _inner.MoveNext();
        }

        public ref readonly FrameHeader Header => ref _inner.Header;
        public ReadOnlySpan<byte> Data => _inner.Data;
        public IReadOnlyList<CaptureInterface> Interfaces => _inner.Interfaces;
        public IReadOnlyList<CaptureReadError> Errors => _inner.Errors;
        public long BytesRead => _inner.BytesRead;

        public void Dispose()
        {
            _inner.Dispose();
            _stop = true;
            _helper?.Join();
        }
    }

    /// <summary>Equal texts, or the first line where they differ (a whole capture's text is too long for a message).</summary>
    private static void AssertSame(string expected, string actual, string what)
    {
        if (expected == actual) return;
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        int i = 0;
        while (i < e.Length && i < a.Length && e[i] == a[i]) i++;
        Assert.Fail($"{what}: line {i + 1} differs:\n  expected: {(i < e.Length ? e[i] : "(end)")}\n  actual:   {(i < a.Length ? a[i] : "(end)")}");
    }

    private static void AssertSameEverywhere(byte[] bytes, string what)
    {
        string expected = Plain(bytes);
        foreach (int chunk in ChunkSizes)
        {
            AssertSame(expected, Ahead(bytes, chunk), $"{what}, chunks of {chunk} bytes");
            AssertSame(expected, Idle(bytes, chunk, helper: false), $"{what}, read ahead when idle, chunks of {chunk} bytes");
            AssertSame(expected, Idle(bytes, chunk, helper: true), $"{what}, read ahead by a busy helper, chunks of {chunk} bytes");
        }
        AssertSame(Plain(bytes, pipe: true, most: 1000), Ahead(bytes, 4096, pipe: true, most: 1000), $"{what}, from a pipe of short reads");
    }

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static IEnumerable<string> RepositoryCaptures() =>
        Directory.EnumerateFiles(TestPaths.Captures, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal) || f.EndsWith(".gz", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    [TestMethod]
    public void RepositoryCaptures_SameAsReadingOnTheCallersThread()
    {
        var files = RepositoryCaptures().ToList();
        Assert.IsNotEmpty(files);
        foreach (var f in files) AssertSameEverywhere(File.ReadAllBytes(f), f);
    }

    [TestMethod]
    public void PublicCaptures_SameAsReadingOnTheCallersThread()
    {
        if (!Directory.Exists(TestPaths.PublicCaptures)) Assert.Inconclusive($"public captures not available: {TestPaths.PublicCaptures}");
        var files = Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".md", StringComparison.Ordinal) && new FileInfo(f).Length < 8 << 20)
            .Order(StringComparer.Ordinal).ToList();
        Assert.IsGreaterThan(20, files.Count);
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            string expected = Plain(bytes);
            // Every chunk size on the small ones; the larger ones with a few (one-byte chunks are slow on megabytes).
            foreach (int chunk in bytes.Length < 200_000 ? ChunkSizes : [1000, ReadAhead.DefaultChunkBytes])
            {
                AssertSame(expected, Ahead(bytes, chunk), $"{f}, chunks of {chunk} bytes");
                AssertSame(expected, Idle(bytes, chunk, helper: chunk >= 1000), $"{f}, read ahead when idle, chunks of {chunk} bytes");
            }
        }
    }

    /// <summary>
    /// A dumpcap ring read one file after the other (<see cref="SequentialFrameSource"/>) with each file read when idle:
    /// the helper reads ahead in whichever file is open, also while one closes and the next opens.
    /// </summary>
    [TestMethod]
    public void RingReadInOrder_ReadAheadWhenIdle_SameAsReadingOnTheCallersThread()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        // The site's records dealt into three consecutive files, each with the file header.
        var parts = new[] { new MemoryStream(), new MemoryStream(), new MemoryStream() };
        foreach (var part in parts) part.Write(site, 0, 24);
        int at = 24, n = 0;
        while (at + 16 <= site.Length)
        {
            int length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(site.AsSpan(at + 8));
            parts[Math.Min(2, n++ / 400)].Write(site, at, 16 + length);
            at += 16 + length;
        }
        var files = parts.Select((part, i) =>
        {
            var path = Path.Combine(dir, $"ring_{i + 1:D5}_20260302090000.pcap");
            File.WriteAllBytes(path, part.ToArray());
            return (path, i);
        }).ToList();
        Assert.IsGreaterThan(0, parts[2].Length - 24, "three files with records");
        IFrameSource Ring(ReadAheadMode mode) => new SequentialFrameSource(files,
            (path, index) => CaptureFile.Open(File.OpenRead(path), path, index, null, leaveOpen: false, CaptureInput.DefaultBufferSize, mode, 1000));
        string expected = Describe(() => Ring(ReadAheadMode.Never));
        AssertSame(expected, Describe(() => new ReadAheadBy(Ring(ReadAheadMode.WhenIdle), helper: true, every: 0)), "ring, read ahead by a busy helper");
        AssertSame(expected, Describe(() => new ReadAheadBy(Ring(ReadAheadMode.WhenIdle), helper: false, every: 3)), "ring, read ahead every 3 frames");
    }

    [TestMethod]
    public void CutAndDamagedCaptures_SameErrorsAtTheSameOffsets()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var random = new Random(12);
        for (int i = 0; i < 12; i++)
        {
            int cut = random.Next(24, site.Length);
            AssertSameEverywhere(site[..cut], $"cut at {cut}");
            var damaged = (byte[])site.Clone();
            int at = random.Next(24, site.Length);
            damaged[at] ^= 0xFF;
            damaged[Math.Min(at + 9, site.Length - 1)] ^= 0x7F;
            AssertSameEverywhere(damaged, $"damaged at {at}");
        }
    }

    [TestMethod]
    public void GzipCaptures_IntactCutAndCorrupt_SameAsReadingOnTheCallersThread()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var gz = Gzip(site);
        string intact = Plain(gz);
        StringAssert.Contains(intact, $"bytes read {site.Length}");
        AssertSameEverywhere(gz, "gzip");
        AssertSameEverywhere(gz[..(gz.Length / 2)], "gzip cut in half");
        AssertSameEverywhere(gz[..^4], "gzip without its length");
        var badCrc = (byte[])gz.Clone();
        badCrc[^8] ^= 0xFF;
        AssertSameEverywhere(badCrc, "gzip with a bad CRC");
        var corrupt = (byte[])gz.Clone();
        corrupt[gz.Length / 3] ^= 0xFF;
        AssertSameEverywhere(corrupt, "gzip with corrupt data");
        AssertSame(Plain(gz, pipe: true, most: 333), Ahead(gz, ReadAhead.DefaultChunkBytes, pipe: true, most: 333), "gzip from a pipe");
    }

    /// <summary>A stream that throws something other than an I/O error after some bytes.</summary>
    private sealed class Refusing(byte[] data, int after) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= after) throw new UnauthorizedAccessException("no longer allowed");
            return base.Read(buffer, offset, (int)Math.Min(count, after - Position));
        }
        public override int Read(Span<byte> buffer)
        {
            if (Position >= after) throw new UnauthorizedAccessException("no longer allowed");
            return base.Read(buffer[..(int)Math.Min(buffer.Length, after - Position)]);
        }
    }

    [TestMethod]
    public void AnExceptionOfTheRead_IsThrownOnTheReadersThread_AfterTheFramesBeforeIt()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        int after = site.Length / 2;
        (long Frames, Exception? Error) Run(ReadAheadMode mode)
        {
            using var source = CaptureFile.Open(new Refusing(site, after), "capture", 0, null, leaveOpen: false, CaptureInput.DefaultBufferSize, mode, 4096);
            long n = 0;
            try
            {
                while (source.MoveNext()) n++;
            }
            catch (UnauthorizedAccessException e)
            {
                return (n, e);
            }
            return (n, null);
        }
        var plain = Run(ReadAheadMode.Never);
        Assert.IsNotNull(plain.Error);
        foreach (var mode in new[] { ReadAheadMode.Always, ReadAheadMode.WhenIdle })
        {
            var ahead = Run(mode);
            Assert.IsNotNull(ahead.Error, $"{mode}: the exception reaches the thread that reads the frames");
            Assert.AreEqual(plain.Error.Message, ahead.Error.Message);
            Assert.IsGreaterThan(10, ahead.Frames);
            Assert.AreEqual(plain.Frames, ahead.Frames, $"{mode}: every whole frame before the refused read is delivered first");
        }
        // The failing read made by a helper thread: the exception still comes on the thread that reads the frames, in its place.
        using (var source = CaptureFile.Open(new Refusing(site, after), "capture", 0, null, leaveOpen: false, CaptureInput.DefaultBufferSize, ReadAheadMode.WhenIdle, 4096))
        {
            long n = 0;
            var reader = (IIdleReader)source;
            Exception? error = null;
            try
            {
                while (true)
                {
                    // Another thread reads every chunk ahead it can before each frame.
                    var t = new Thread(() => { while (reader.ReadOneAhead()) { } });
                    t.Start();
                    t.Join();
                    if (!source.MoveNext()) break;
                    n++;
                }
            }
            catch (UnauthorizedAccessException e)
            {
                error = e;
            }
            Assert.IsNotNull(error);
            Assert.AreEqual(plain.Frames, n, "the frames before the refused read, then the exception");
            Assert.IsGreaterThan(0, ((FrameSourceBase)source).ChunksReadAhead);
        }
    }

    /// <summary>A stream whose reads after the first block until released, as a pipe with nothing to say.</summary>
    private sealed class Silent(byte[] first) : ReadOnlyForwardStream
    {
        private int _reads;
        public readonly ManualResetEventSlim Release = new();
        public volatile bool Disposed;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reads++ == 0)
            {
                int n = Math.Min(count, first.Length);
                first.AsSpan(0, n).CopyTo(buffer.AsSpan(offset));
                return n;
            }
            Release.Wait();
            return 0;
        }
        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }

    [TestMethod]
    public void Dispose_DoesNotWaitForAReadThatNeverReturns_AndTheStreamIsClosedWhenItDoes()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var stream = new Silent(site[..5000]);
        var source = CaptureFile.Open(stream, "pipe", 0, null, leaveOpen: false, CaptureInput.DefaultBufferSize, ReadAheadMode.Always, 4096);
        Assert.IsTrue(source.MoveNext(), "the first frame was in the first read");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        source.Dispose();
        Assert.IsLessThan(2000, clock.ElapsedMilliseconds, "Dispose returned while the read was still blocked");
        Assert.IsFalse(stream.Disposed, "the stream is not closed under a read in progress");
        stream.Release.Set();
        for (int i = 0; i < 500 && !stream.Disposed; i++) Thread.Sleep(10);
        Assert.IsTrue(stream.Disposed, "the reading thread closed the stream once its read returned");
    }

    private static bool ReadsAhead(byte[] bytes, ReadAheadMode mode, int chunkBytes)
    {
        using var source = CaptureFile.Open(new MemoryStream(bytes), "capture", 0, null, leaveOpen: false, CaptureInput.DefaultBufferSize, mode, chunkBytes);
        return ((FrameSourceBase)source).ReadsAhead;
    }

    [TestMethod]
    public void Modes_WhoReadsAhead()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        var gz = Gzip(site);
        Assert.IsFalse(ReadsAhead(site, ReadAheadMode.Never, 4096));
        Assert.IsFalse(ReadsAhead(gz, ReadAheadMode.Never, 4096));
        Assert.IsFalse(ReadsAhead(site, ReadAheadMode.Compressed, 4096), "a plain file is read on the caller's thread");
        Assert.IsTrue(ReadsAhead(gz, ReadAheadMode.Compressed, 4096));
        Assert.IsTrue(ReadsAhead(site, ReadAheadMode.Always, 4096));
        Assert.IsTrue(ReadsAhead(gz, ReadAheadMode.Always, 4096));
        Assert.IsLessThan(2 << 20, gz.Length);
        Assert.IsFalse(ReadsAhead(gz, ReadAheadMode.Always, ReadAhead.DefaultChunkBytes), "a file of a few chunks is read faster than a thread starts");
        // When idle: a plain file without a thread of its own; gzip with one (as Compressed); a pipe on the caller's thread.
        static FrameSourceBase Open(Stream s, ReadAheadMode mode) => (FrameSourceBase)CaptureFile.Open(s, "capture", 0, null, false, CaptureInput.DefaultBufferSize, mode, 4096);
        using (var idle = Open(new MemoryStream(site), ReadAheadMode.WhenIdle))
        {
            Assert.IsTrue(idle.ReadsAhead && idle.ReadsAheadWhenIdle);
            Assert.IsTrue(idle.ReadOneAhead(), "a chunk free, nobody reading");
            Assert.AreEqual(1, idle.ChunksReadAhead);
        }
        using (var gzIdle = Open(new MemoryStream(gz), ReadAheadMode.WhenIdle))
        {
            Assert.IsTrue(gzIdle.ReadsAhead);
            Assert.IsFalse(gzIdle.ReadsAheadWhenIdle, "a decompressor has a thread of its own");
            Assert.IsFalse(gzIdle.ReadOneAhead());
        }
        using (var pipe = Open(new Pipe(site), ReadAheadMode.WhenIdle))
        {
            Assert.IsFalse(pipe.ReadsAhead, "a pipe's read may wait: never read by a helper");
            Assert.IsFalse(pipe.ReadOneAhead());
        }
        using (var never = Open(new MemoryStream(site), ReadAheadMode.Always)) Assert.IsFalse(never.ReadOneAhead(), "a thread of its own reads");
        AssertSame(Plain(gz), Describe(() => CaptureFile.Open(new MemoryStream(gz), "capture", 0, null, false, CaptureInput.DefaultBufferSize, ReadAheadMode.Compressed, 4096)), "gzip");
    }

    /// <summary>
    /// Read ahead when idle, the chunks given back are announced (<see cref="IIdleReader.ChunkFreed"/>): on the reading thread,
    /// once per chunk, with a chunk free to read ahead each time; in every file of a ring, and never once it is unset. With
    /// a thread of its own there is nothing to announce. The frames are those read without it.
    /// </summary>
    [TestMethod]
    public void ChunkFreed_OnceForEachChunkGivenBack_OnTheReadingThread_WithAChunkToReadAhead()
    {
        var site = File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        const int chunk = 4096;
        static IFrameSource Open(byte[] bytes, ReadAheadMode mode) =>
            CaptureFile.Open(new MemoryStream(bytes), "capture", 0, null, false, CaptureInput.DefaultBufferSize, mode, chunk);
        string expected = Plain(site);

        int calls = 0, readable = 0;
        int thread = Environment.CurrentManagedThreadId;
        var frames = new StringBuilder();
        using (var source = Open(site, ReadAheadMode.WhenIdle))
        {
            var reader = (IIdleReader)source;
            reader.ChunkFreed = () =>
            {
                Assert.AreEqual(thread, Environment.CurrentManagedThreadId, "called on the reading thread");
                calls++;
                // What the woken thread would do: a chunk was just given back, so one can be read ahead now.
                if (reader.ReadOneAhead()) readable++;
                return true;
            };
            Assert.IsNotNull(reader.ChunkFreed);
            while (source.MoveNext())
                frames.Append(source.Header).Append(' ').AppendLine(Convert.ToHexString(SHA256.HashData(source.Data)));
            foreach (var e in source.Errors) frames.AppendLine(e.ToString());
            foreach (var i in source.Interfaces) frames.AppendLine($"interface {i.Index} {i.LinkType} {i.Name} {i.SnapLength} {i.OsDropped}");
            frames.AppendLine($"bytes read {source.BytesRead}");
        }
        AssertSame(expected, frames.ToString(), "read ahead as chunks are freed");
        int chunks = (site.Length + chunk - 1) / chunk;
        // Every chunk but the last two (the one being read and the one before it) is given back while reading.
        Assert.IsGreaterThanOrEqualTo(chunks - 2, calls, $"{chunks} chunks");
        Assert.IsLessThanOrEqualTo(chunks, calls);
        // Each call found a chunk to read ahead, but for the calls after the last chunk was read.
        Assert.IsGreaterThanOrEqualTo(calls - 4, readable, $"{calls} calls");

        // Unset: never called.
        calls = 0;
        using (var source = Open(site, ReadAheadMode.WhenIdle))
        {
            var reader = (IIdleReader)source;
            reader.ChunkFreed = () => { calls++; return true; };
            reader.ChunkFreed = null;
            while (source.MoveNext()) { }
        }
        Assert.AreEqual(0, calls, "unset");

        // A thread of its own reads ahead: nothing to announce, and nothing is kept.
        using (var source = Open(site, ReadAheadMode.Always))
        {
            var reader = (IIdleReader)source;
            reader.ChunkFreed = () => { calls++; return true; };
            Assert.IsNull(reader.ChunkFreed);
            while (source.MoveNext()) { }
        }
        Assert.AreEqual(0, calls, "a thread of its own");

        // A ring of files opened one after the other: set once, it holds for each file as it opens.
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var files = Enumerable.Range(0, 3).Select(i =>
        {
            var path = Path.Combine(dir, $"ring_{i + 1:D5}_20260302090000.pcap");
            File.WriteAllBytes(path, site);
            return (path, i);
        }).ToList();
        var perFile = new int[3];
        using (var ring = new SequentialFrameSource(files,
                   (path, index) => CaptureFile.Open(File.OpenRead(path), path, index, null, false, CaptureInput.DefaultBufferSize, ReadAheadMode.WhenIdle, chunk)))
        {
            ring.ChunkFreed = () => { perFile[ring.Header.FileIndex]++; return true; };
            while (ring.MoveNext()) { }
        }
        Directory.Delete(dir, recursive: true);
        foreach (int n in perFile) Assert.IsGreaterThanOrEqualTo(chunks - 2, n, $"each file of the ring: {string.Join(", ", perFile)}");

        // Through a window (--from/--to/--count): the same.
        calls = 0;
        using (var window = new WindowedFrameSource(Open(site, ReadAheadMode.WhenIdle), null, null, long.MaxValue))
        {
            window.ChunkFreed = () => { calls++; return true; };
            Assert.IsNotNull(window.ChunkFreed);
            while (window.MoveNext()) { }
        }
        Assert.IsGreaterThanOrEqualTo(chunks - 2, calls, "through a window");
    }
}
