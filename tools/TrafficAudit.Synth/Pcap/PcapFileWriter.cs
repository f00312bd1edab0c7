using System.Buffers.Binary;

namespace TrafficAudit.Synth.Pcap;

/// <summary>
/// Writes a classic libpcap file: microsecond timestamps, little endian, one link type.
/// Global header (24 bytes) then, per frame, a 16-byte record header and the frame bytes.
/// </summary>
public sealed class PcapFileWriter : IDisposable
{
    /// <summary>Magic number of a microsecond-resolution pcap, written little endian (d4 c3 b2 a1 on disk).</summary>
    public const uint MagicMicroseconds = 0xA1B2C3D4;
    public const ushort VersionMajor = 2;
    public const ushort VersionMinor = 4;
    public const uint DefaultSnapLength = 65535;
    /// <summary>LINKTYPE_ETHERNET.</summary>
    public const uint LinkTypeEthernet = 1;
    public const int GlobalHeaderLength = 24;
    public const int RecordHeaderLength = 16;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[RecordHeaderLength];

    public PcapFileWriter(Stream stream, bool leaveOpen = false, uint snapLength = DefaultSnapLength)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        SnapLength = snapLength;
        Span<byte> g = stackalloc byte[GlobalHeaderLength];
        WriteGlobalHeader(g, snapLength);
        _stream.Write(g);
    }

    public uint SnapLength { get; }

    /// <summary>Frames written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Fills the 24-byte global header.</summary>
    public static void WriteGlobalHeader(Span<byte> g, uint snapLength = DefaultSnapLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(g, MagicMicroseconds);
        BinaryPrimitives.WriteUInt16LittleEndian(g[4..], VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(g[6..], VersionMinor);
        BinaryPrimitives.WriteInt32LittleEndian(g[8..], 0);   // thiszone: UTC
        BinaryPrimitives.WriteUInt32LittleEndian(g[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(g[16..], snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(g[20..], LinkTypeEthernet);
    }

    /// <summary>Fills a 16-byte record header for a frame captured whole at <paramref name="unixMicros"/>.</summary>
    public static void WriteRecordHeader(Span<byte> h, long unixMicros, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)(unixMicros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(unixMicros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)length); // incl_len
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)length); // orig_len
    }

    public void Write(long unixMicros, ReadOnlySpan<byte> frame)
    {
        if (frame.Length > SnapLength) throw new ArgumentException($"frame of {frame.Length} bytes exceeds snap length {SnapLength}");
        WriteRecordHeader(_header, unixMicros, frame.Length);
        _stream.Write(_header);
        _stream.Write(frame);
        Count++;
    }

    public void Dispose()
    {
        _stream.Flush();
        if (!_leaveOpen) _stream.Dispose();
    }
}
