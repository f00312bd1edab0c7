using System.Buffers.Binary;
using System.IO.Compression;
using TrafficAudit.Decode;

namespace TrafficAudit.Capture;

/// <summary>When a capture is read on a thread of its own, ahead of the thread that decodes it (<see cref="ReadAhead"/>).</summary>
public enum ReadAheadMode
{
    /// <summary>The caller's thread reads.</summary>
    Never,
    /// <summary>Only a gzip-compressed capture: its decompressor costs far more than the kernel's copy of a file, so it
    /// gains even when the engine's threads already take every core.</summary>
    Compressed,
    /// <summary>Every capture (for a core left over by the engine's threads).</summary>
    Always,
    /// <summary>
    /// A gzip-compressed capture as with <see cref="Compressed"/>; a plain regular file read ahead without a thread of its
    /// own, in chunks the engine's other thread reads when it has nothing to do (the VoIP stage between its batches:
    /// <see cref="IIdleReader"/>) and the caller reads when none is ready. For two threads on two cores.
    /// </summary>
    WhenIdle,
}

/// <summary>
/// A frame source whose file another thread may read ahead when that thread has nothing else to do
/// (<see cref="ReadAheadMode.WhenIdle"/>). Any thread may call it at any time, also after the source is disposed.
/// </summary>
public interface IIdleReader
{
    /// <summary>Reads one chunk ahead if one is free and no other thread is reading; false at once otherwise.</summary>
    bool ReadOneAhead();

    /// <summary>
    /// Called on the reading thread each time it gives a chunk back, so there is one to read ahead again (the VoIP stage's
    /// wake-up: a thread asleep would otherwise leave that chunk to the reading thread). Null: nothing. Set it before
    /// reading, on the reading thread; it applies to files opened later too.
    /// </summary>
    Func<bool>? ChunkFreed { get; set; }
}

/// <summary>
/// Opens a capture file as an <see cref="IFrameSource"/>, choosing the reader from the first bytes
/// (never from the extension): pcap (µs or ns, either byte order), pcapng, and either of them
/// gzip-compressed. Reads forward only, so "-" (standard input) and pipes work.
/// </summary>
public static class CaptureFile
{
    /// <summary>The path that means standard input.</summary>
    public const string StandardInputPath = "-";

    private const byte GzipId1 = 0x1F;
    private const byte GzipId2 = 0x8B;
    private const int PeekLength = 16;
    /// <summary>Decompressed bytes asked for per read: corrupt data then loses at most this much before the error.</summary>
    private const int GzipReadChunk = 64 * 1024;
    /// <summary>Smallest read buffer of a file, however small the file.</summary>
    private const int MinRawBuffer = 4096;
    /// <summary>Files up to this size are read on the caller's thread even when reading ahead was asked for.</summary>
    private const long ReadAheadFrom = 2 << 20;

    /// <summary>
    /// Opens <paramref name="path"/> ("-" for standard input).
    /// </summary>
    /// <param name="bufferSize">The read buffer (512 KiB by default; <see cref="MergedFrameSource.BufferSizeFor"/> when many files are open at once).</param>
    /// <param name="readAhead">When to read the file on a thread of its own, ahead of the caller's (see <see cref="ReadAhead"/>);
    /// <paramref name="bufferSize"/> then does not apply.</param>
    /// <exception cref="CaptureFormatException">The file is missing, unreadable, empty or not a capture we read.</exception>
    public static IFrameSource Open(string path, int fileIndex = 0, AnomalyCounters? anomalies = null, int bufferSize = CaptureInput.DefaultBufferSize,
        ReadAheadMode readAhead = ReadAheadMode.Never)
    {
        Stream stream;
        string name;
        if (path == StandardInputPath)
        {
            stream = Console.OpenStandardInput();
            name = "(standard input)";
        }
        else
        {
            name = path;
            try
            {
                // bufferSize 0: our own buffer receives the reads directly.
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
            }
            catch (FileNotFoundException) { throw new CaptureFormatException(path, "file not found"); }
            catch (DirectoryNotFoundException) { throw new CaptureFormatException(path, "file not found (no such directory)"); }
            catch (UnauthorizedAccessException e) { throw new CaptureFormatException(path, "cannot open: " + IoErrors.Describe(e)); }
            catch (IOException e) { throw new CaptureFormatException(path, "cannot open: " + IoErrors.Describe(e)); }
        }
        return Open(stream, name, fileIndex, anomalies, leaveOpen: false, bufferSize, readAhead);
    }

    /// <summary>
    /// Reads a capture from any readable stream; seeking is never used. <paramref name="name"/> is
    /// the file name reported in errors.
    /// </summary>
    /// <exception cref="CaptureFormatException">The stream is empty or not a capture we read.</exception>
    /// <param name="readAhead">See <see cref="Open(string, int, AnomalyCounters?, int, ReadAheadMode)"/>.</param>
    public static IFrameSource Open(Stream stream, string name, int fileIndex = 0, AnomalyCounters? anomalies = null, bool leaveOpen = false,
        int bufferSize = CaptureInput.DefaultBufferSize, ReadAheadMode readAhead = ReadAheadMode.Never) =>
        Open(stream, name, fileIndex, anomalies, leaveOpen, bufferSize, readAhead, ReadAhead.DefaultChunkBytes);

    /// <param name="aheadChunkBytes">The chunk size when reading ahead (<see cref="ReadAhead.DefaultChunkBytes"/>; tests cut records with tiny ones).</param>
    internal static IFrameSource Open(Stream stream, string name, int fileIndex, AnomalyCounters? anomalies, bool leaveOpen, int bufferSize,
        ReadAheadMode readAhead, int aheadChunkBytes)
    {
        try
        {
            return OpenCore(stream, name, fileIndex, anomalies, leaveOpen, bufferSize, readAhead, aheadChunkBytes);
        }
        catch
        {
            if (!leaveOpen) stream.Dispose();
            throw;
        }
    }

    private static IFrameSource OpenCore(Stream stream, string name, int fileIndex, AnomalyCounters? anomalies, bool leaveOpen, int bufferSize,
        ReadAheadMode readAhead, int aheadChunkBytes)
    {
        long start = stream.CanSeek ? stream.Position : -1;
        // A file smaller than the buffer needs no more than its size (many small files merged cost
        // what they hold, not a buffer each); a gzip file's decompressed stream keeps the full size.
        int rawSize = bufferSize;
        try
        {
            if (stream.CanSeek)
            {
                long left = stream.Length - stream.Position;
                rawSize = (int)Math.Clamp(left + 1, MinRawBuffer, Math.Max(bufferSize, MinRawBuffer));
                // A file of a few chunks is read faster than a thread starts.
                if (aheadChunkBytes == ReadAhead.DefaultChunkBytes && left <= ReadAheadFrom) readAhead = ReadAheadMode.Never;
            }
        }
        catch (Exception e) when (e is IOException or NotSupportedException) { }   // devices that claim to seek
        // Reading ahead: the format is told from a small first read on this thread; the thread that reads
        // ahead then gets those bytes and the rest of the stream (for gzip, the decompressor does).
        // Shared reading only for a file (a seekable stream): a read that could wait for data (a pipe) would hold up the
        // thread that helps, which the engine waits for.
        if (readAhead == ReadAheadMode.WhenIdle && start < 0) readAhead = ReadAheadMode.Compressed;
        if (readAhead is ReadAheadMode.Always or ReadAheadMode.WhenIdle) rawSize = MinRawBuffer;
        var input = new CaptureInput(stream, leaveOpen, rawSize);
        try
        {
            input.Ensure(PeekLength);
            if (input.Available >= 2 && input.Buffer[input.Offset] == GzipId1 && input.Buffer[input.Offset + 1] == GzipId2)
            {
                // Hand the bytes already read plus the rest of the stream to the decompressor, counting the
                // compressed bytes; after a decompressor error a seekable input is read again to name the error.
                var prefixed = new PrefixedStream(input.Buffer[input.Offset..(input.Offset + input.Available)], input.Available, stream, leaveOpen);
                Func<Stream?>? reopen = start < 0 ? null : () =>
                {
                    stream.Position = start;
                    return stream;
                };
                var counted = new GzipInput(prefixed, reopen);
                // The decompressor is asked for GzipReadChunk bytes at a time whoever reads (see PieceStream).
                var gzip = new PieceStream(new GZipStream(counted, CompressionMode.Decompress), GzipReadChunk);
                input = new CaptureInput(gzip, bufferSize: bufferSize, maxRead: GzipReadChunk, readAhead: readAhead != ReadAheadMode.Never, aheadChunkBytes: aheadChunkBytes) { Gzip = counted };
                input.Ensure(PeekLength);
                if (input.Available < 4 && input.Failed)
                    throw new CaptureFormatException(name, "gzip-compressed, but it cannot be decompressed: " + counted.Diagnose());
                return OpenDecompressed(input, name, fileIndex, anomalies, compressed: true);
            }
            if (readAhead is ReadAheadMode.Always or ReadAheadMode.WhenIdle)
            {
                var rest = new PrefixedStream(input.Buffer[input.Offset..(input.Offset + input.Available)], input.Available, stream, leaveOpen);
                input = new CaptureInput(rest, readAhead: true, aheadChunkBytes: aheadChunkBytes, shared: readAhead == ReadAheadMode.WhenIdle);
                input.Ensure(PeekLength);
            }
            return OpenDecompressed(input, name, fileIndex, anomalies, compressed: false);
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }

    private static IFrameSource OpenDecompressed(CaptureInput input, string name, int fileIndex, AnomalyCounters? anomalies, bool compressed)
    {
        var head = input.Span(input.Available);
        if (head.Length < 4)
        {
            string what = head.Length == 0 ? "empty file (0 bytes)" : $"too short to be a capture ({head.Length} bytes)";
            throw new CaptureFormatException(name, compressed ? "gzip-compressed " + what : what);
        }
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(head);
        uint be = BinaryPrimitives.ReadUInt32BigEndian(head);
        if (le is PcapFrameSource.MagicMicro or PcapFrameSource.MagicNano || be is PcapFrameSource.MagicMicro or PcapFrameSource.MagicNano)
            return new PcapFrameSource(input, name, fileIndex, anomalies);
        if (le == PcapNgFrameSource.SectionHeaderType)
            return new PcapNgFrameSource(input, name, fileIndex, anomalies);
        throw new CaptureFormatException(name, Describe(head) + (compressed ? " (inside gzip)" : ""));
    }

    /// <summary>Says what an unreadable file looks like, for the error message.</summary>
    internal static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith("RTSS"u8)) return "not a pcap/pcapng file: it looks like a Microsoft Network Monitor 1.x capture (magic \"RTSS\"); convert it with editcap -F pcapng";
        if (head.StartsWith("GMBU"u8)) return "not a pcap/pcapng file: it looks like a Microsoft Network Monitor 2.x capture (magic \"GMBU\"); convert it with editcap -F pcapng";
        if (head.StartsWith("snoop\0\0\0"u8)) return "not a pcap/pcapng file: it looks like a Solaris snoop capture; convert it with editcap -F pcapng";
        if (head.StartsWith("TRSNIFF data"u8)) return "not a pcap/pcapng file: it looks like a Network General Sniffer capture; convert it with editcap -F pcapng";
        if (head.StartsWith("XCP\0"u8)) return "not a pcap/pcapng file: it looks like a NetXRay/Windows Sniffer capture; convert it with editcap -F pcapng";
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(head);
        uint be = BinaryPrimitives.ReadUInt32BigEndian(head);
        if (le == 0xA1B2CD34 || be == 0xA1B2CD34) return "modified (Kuznetzov) pcap format is not supported; convert it with editcap -F pcap";
        if (LooksLikeErf(head)) return "not a pcap/pcapng file: it may be an Endace ERF capture; convert it with editcap -F pcapng";
        if (LooksLikeText(head)) return "not a capture file: it looks like text";
        return $"not a pcap/pcapng capture (first bytes {Convert.ToHexString(head[..Math.Min(head.Length, 8)])})";
    }

    /// <summary>ERF has no magic. Weak test on the first record header: known type 1..27, rlen ≥ 16, wlen plausible.</summary>
    private static bool LooksLikeErf(ReadOnlySpan<byte> head)
    {
        if (head.Length < 16) return false;
        byte type = (byte)(head[8] & 0x7F);
        ushort rlen = BinaryPrimitives.ReadUInt16BigEndian(head[10..]);
        ushort wlen = BinaryPrimitives.ReadUInt16BigEndian(head[14..]);
        return type is >= 1 and <= 27 && rlen >= 16 && (rlen & 7) == 0 && wlen is > 0 and <= 65535 && head[4..8].IndexOfAnyExcept((byte)0) >= 0;
    }

    private static bool LooksLikeText(ReadOnlySpan<byte> head)
    {
        foreach (byte b in head)
            if (b is not ((>= 0x20 and < 0x7F) or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }
}
