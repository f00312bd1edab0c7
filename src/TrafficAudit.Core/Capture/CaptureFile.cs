using System.Buffers.Binary;
using System.IO.Compression;
using TrafficAudit.Decode;

namespace TrafficAudit.Capture;

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

    /// <summary>
    /// Opens <paramref name="path"/> ("-" for standard input).
    /// </summary>
    /// <param name="bufferSize">The read buffer (1 MiB by default; <see cref="MergedFrameSource.BufferSizeFor"/> when many files are open at once).</param>
    /// <exception cref="CaptureFormatException">The file is missing, unreadable, empty or not a capture we read.</exception>
    public static IFrameSource Open(string path, int fileIndex = 0, AnomalyCounters? anomalies = null, int bufferSize = CaptureInput.DefaultBufferSize)
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
        return Open(stream, name, fileIndex, anomalies, leaveOpen: false, bufferSize);
    }

    /// <summary>
    /// Reads a capture from any readable stream; seeking is never used. <paramref name="name"/> is
    /// the file name reported in errors.
    /// </summary>
    /// <exception cref="CaptureFormatException">The stream is empty or not a capture we read.</exception>
    public static IFrameSource Open(Stream stream, string name, int fileIndex = 0, AnomalyCounters? anomalies = null, bool leaveOpen = false, int bufferSize = CaptureInput.DefaultBufferSize)
    {
        try
        {
            return OpenCore(stream, name, fileIndex, anomalies, leaveOpen, bufferSize);
        }
        catch
        {
            if (!leaveOpen) stream.Dispose();
            throw;
        }
    }

    private static IFrameSource OpenCore(Stream stream, string name, int fileIndex, AnomalyCounters? anomalies, bool leaveOpen, int bufferSize)
    {
        long start = stream.CanSeek ? stream.Position : -1;
        // A file smaller than the buffer needs no more than its size (many small files merged cost
        // what they hold, not a buffer each); a gzip file's decompressed stream keeps the full size.
        int rawSize = bufferSize;
        try
        {
            if (stream.CanSeek) rawSize = (int)Math.Clamp(stream.Length - stream.Position + 1, MinRawBuffer, Math.Max(bufferSize, MinRawBuffer));
        }
        catch (Exception e) when (e is IOException or NotSupportedException) { }   // devices that claim to seek
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
                var gzip = new GZipStream(counted, CompressionMode.Decompress);
                input = new CaptureInput(gzip, bufferSize: bufferSize, maxRead: GzipReadChunk) { Gzip = counted };
                input.Ensure(PeekLength);
                if (input.Available < 4 && input.Failed)
                    throw new CaptureFormatException(name, "gzip-compressed, but it cannot be decompressed: " + counted.Diagnose());
                return OpenDecompressed(input, name, fileIndex, anomalies, compressed: true);
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
