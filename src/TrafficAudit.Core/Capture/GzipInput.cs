using System.Buffers.Binary;
using System.IO.Compression;

namespace TrafficAudit.Capture;

/// <summary>
/// The compressed side of a gzip capture: counts the compressed bytes handed to the decompressor, keeps
/// the last 8 of them (the gzip trailer at a normal end: CRC-32 and length, RFC 1952 §2.3), and says what
/// went wrong in words a person can act on. .NET's <see cref="GZipStream"/> reports every zlib data error
/// as "unsupported compression method" and returns a normal end of stream when the file is cut, so both
/// are diagnosed here: a cut by the trailer not matching the data, an error by decompressing the file
/// again (only after a failure, only when the input can be re-read) with our own CRC-32.
/// </summary>
internal sealed class GzipInput(Stream compressed, Func<Stream?>? reopen) : ReadOnlyForwardStream

{
    private readonly byte[] _tail = new byte[8];
    private int _tailLength;

    /// <summary>Compressed bytes read from the file so far (the decompressor reads ahead in blocks).</summary>
    public long CompressedBytesRead { get; private set; }
    /// <summary>True once the compressed input has ended.</summary>
    public bool Ended { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = compressed.Read(buffer);
        if (n <= 0) { Ended = true; return 0; }
        CompressedBytesRead += n;
        var got = buffer[..n];
        if (n >= 8)
        {
            got[^8..].CopyTo(_tail);
            _tailLength = 8;
        }
        else
        {
            int keep = Math.Min(_tailLength, 8 - n);
            _tail.AsSpan(_tailLength - keep, keep).CopyTo(_tail);
            got.CopyTo(_tail.AsSpan(keep));
            _tailLength = keep + n;
        }
        return n;
    }

    /// <summary>
    /// Words for the end of a gzip input that stopped a reader: where its offsets are, whether the file is cut,
    /// and the real gzip error behind a decompressor failure. <paramref name="decompressedTotal"/> is every
    /// decompressed byte received.
    /// </summary>
    public string Describe(long decompressedTotal, bool decompressorFailed)
    {
        const string Where = "byte offsets are in the decompressed data";
        if (decompressorFailed)
            return $"{Diagnose()}; {Where}";
        return Cut(decompressedTotal) switch
        {
            true => $"the gzip file is cut after {CompressedBytesRead:N0} compressed bytes: it has no gzip trailer; {Where}",
            null => $"the gzip data ends without a trailer that matches it after {CompressedBytesRead:N0} compressed bytes: the file may be cut; {Where}",
            false => $"{Where}; {CompressedBytesRead:N0} compressed bytes were read",
        };
    }

    private bool? _cut;

    /// <summary>
    /// True when the compressed input ended inside the gzip stream. .NET's decompressor returns a normal end
    /// there, so the trailer tells: at a complete end the last 4 bytes hold the decompressed length modulo
    /// 2^32 (ISIZE). A file of several gzip members (concatenated, BGZF) ends with the last member's length,
    /// so a mismatch is confirmed by decompressing the first member again: one member holding every byte
    /// means a single-member file whose trailer is missing. Null when the input cannot be read again.
    /// </summary>
    public bool? Cut(long decompressedTotal)
    {
        if (!Ended) return false;
        if (_tailLength == 8 && BinaryPrimitives.ReadUInt32LittleEndian(_tail.AsSpan(4)) == (uint)decompressedTotal) return false;
        if (_cut is { } known) return known;
        var s = Reopen();
        if (s is null) return null;
        try
        {
            _cut = FirstMember(s, out _, out long length, out _) is null && length == decompressedTotal;
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException)
        {
            return null;
        }
        return _cut;
    }

    private Stream? Reopen()
    {
        try
        {
            return reopen?.Invoke();   // the capture's own stream, rewound: its owner disposes it
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>The gzip error behind a decompressor failure: header, deflate data, CRC-32 or length.</summary>
    internal string Diagnose()
    {
        var again = Reopen();
        if (again is null)
            return $"gzip error near compressed byte {CompressedBytesRead:N0}: corrupt compressed data, a bad CRC or a bad length (the input cannot be read again to tell which)";
        try
        {
            return Check(again);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException)
        {
            return $"gzip error near compressed byte {CompressedBytesRead:N0}: corrupt compressed data, a bad CRC or a bad length";
        }
    }

    /// <summary>Reads the first gzip member from the position of <paramref name="s"/> (seekable) and checks it against the file's last 8 bytes.</summary>
    internal static string Check(Stream s)
    {
        if (FirstMember(s, out uint crc, out long length, out long dataStart) is { } headerOrData) return headerOrData;
        long end = s.Seek(0, SeekOrigin.End);
        if (end - dataStart < 8) return "gzip error: the gzip trailer is missing (the file is cut)";
        s.Seek(end - 8, SeekOrigin.Begin);
        Span<byte> t = stackalloc byte[8];
        s.ReadExactly(t);
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(t);
        uint storedLength = BinaryPrimitives.ReadUInt32LittleEndian(t[4..]);
        if (storedCrc != crc)
            return $"gzip CRC error: the decompressed data has CRC-32 0x{crc:X8} but the gzip trailer says 0x{storedCrc:X8} (the file is damaged)";
        if (storedLength != (uint)length)
            return $"gzip length error: {length:N0} bytes decompressed but the gzip trailer says {storedLength:N0} (modulo 2^32)";
        return "gzip error in a later member of a concatenated gzip file (the first member is intact)";
    }

    /// <summary>
    /// Parses a gzip header (RFC 1952 §2.3) and decompresses the deflate data after it, computing its CRC-32 and
    /// length. Returns the problem in words, or null when the member decompressed (its trailer is not read here).
    /// </summary>
    private static string? FirstMember(Stream s, out uint crc, out long length, out long dataStart)
    {
        crc = 0;
        length = 0;
        dataStart = 0;
        Span<byte> h = stackalloc byte[10];
        if (s.ReadAtLeast(h, 10, throwOnEndOfStream: false) < 10) return "gzip error: the gzip header is cut";
        if (h[0] != 0x1F || h[1] != 0x8B) return "gzip error: bad gzip magic";
        if (h[2] != 8) return $"gzip error: unsupported compression method {h[2]} in the gzip header (gzip has only 8, deflate)";
        byte flags = h[3];
        if ((flags & 0xE0) != 0) return $"gzip error: reserved flag bits 0x{flags & 0xE0:X2} set in the gzip header";
        if ((flags & 0x04) != 0)   // FEXTRA: 2-byte length, then that many bytes
        {
            Span<byte> xlen = stackalloc byte[2];
            if (s.ReadAtLeast(xlen, 2, false) < 2) return "gzip error: the gzip header is cut";
            s.Seek(BinaryPrimitives.ReadUInt16LittleEndian(xlen), SeekOrigin.Current);
        }
        for (int field = 0x08; field <= 0x10; field <<= 1)   // FNAME, FCOMMENT: zero-terminated
        {
            if ((flags & field) == 0) continue;
            int b;
            do b = s.ReadByte(); while (b > 0);
            if (b < 0) return "gzip error: the gzip header is cut";
        }
        if ((flags & 0x02) != 0) s.Seek(2, SeekOrigin.Current);   // FHCRC
        dataStart = s.Position;
        try
        {
            using var inflate = new DeflateStream(s, CompressionMode.Decompress, leaveOpen: true);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = inflate.Read(buffer)) > 0)
            {
                crc = Crc32.Append(crc, buffer.AsSpan(0, n));
                length += n;
            }
        }
        catch (InvalidDataException)
        {
            return $"gzip error: invalid deflate data (the compressed data is corrupt) after {length:N0} decompressed bytes";
        }
        return null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) compressed.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>CRC-32 as gzip computes it (ISO 3309, reflected polynomial 0xEDB88320), table-driven.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    /// <summary>The CRC of the data so far (<paramref name="crc"/>, 0 at the start) extended by <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }
}
