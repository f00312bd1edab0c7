using System.Buffers.Binary;
using System.Text;
using TrafficAudit.Capture;

namespace TrafficAudit.Tests.Capture;

/// <summary>Writes small pcap / pcapng files byte by byte, in either byte order, for the reader tests.</summary>
internal sealed class CaptureBuilder(bool bigEndian)
{
    private readonly List<byte> _bytes = [];

    public byte[] ToArray() => [.. _bytes];
    public int Length => _bytes.Count;

    public CaptureBuilder U8(byte v) { _bytes.Add(v); return this; }

    public CaptureBuilder U16(ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public CaptureBuilder U32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public CaptureBuilder U64(ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, v); else BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public CaptureBuilder Bytes(ReadOnlySpan<byte> data) { _bytes.AddRange(data.ToArray()); return this; }

    private CaptureBuilder Pad4() { while ((_bytes.Count & 3) != 0) _bytes.Add(0); return this; }

    // ---- pcap ----

    public CaptureBuilder PcapHeader(bool nano, uint linkType, uint snapLength = 65535, ushort major = 2, ushort minor = 4)
        => U32(nano ? 0xA1B23C4D : 0xA1B2C3D4).U16(major).U16(minor).U32(0).U32(0).U32(snapLength).U32(linkType);

    public CaptureBuilder PcapRecord(uint seconds, uint subsecond, ReadOnlySpan<byte> data, uint? origLen = null)
        => U32(seconds).U32(subsecond).U32((uint)data.Length).U32(origLen ?? (uint)data.Length).Bytes(data);

    // ---- pcapng ----

    /// <summary>Writes a block: type, total length, body (padded to 4), total length.</summary>
    public CaptureBuilder Block(uint type, Action<CaptureBuilder> body)
    {
        var inner = new CaptureBuilder(bigEndian);
        body(inner);
        inner.Pad4();
        uint total = (uint)(inner.Length + 12);
        return U32(type).U32(total).Bytes(inner.ToArray()).U32(total);
    }

    public CaptureBuilder Option(ushort code, ReadOnlySpan<byte> value)
    {
        U16(code).U16((ushort)value.Length).Bytes(value);
        return Pad4();
    }

    public CaptureBuilder OptionU64(ushort code, ulong value)
    {
        var v = new CaptureBuilder(bigEndian).U64(value).ToArray();
        return Option(code, v);
    }

    public CaptureBuilder EndOfOptions() => U16(0).U16(0);

    public CaptureBuilder SectionHeader() => Block(0x0A0D0D0A, b => b.U32(0x1A2B3C4D).U16(1).U16(0).U64(ulong.MaxValue));

    public CaptureBuilder InterfaceDescription(ushort linkType, uint snapLength = 0, byte? tsresol = null, string? name = null, string? description = null, long? tsOffset = null)
        => Block(1, b =>
        {
            b.U16(linkType).U16(0).U32(snapLength);
            if (name is not null) b.Option(2, Encoding.UTF8.GetBytes(name));
            if (description is not null) b.Option(3, Encoding.UTF8.GetBytes(description));
            if (tsresol is not null) b.Option(9, [tsresol.Value]);
            if (tsOffset is not null) b.OptionU64(14, (ulong)tsOffset.Value);
            if (name is not null || description is not null || tsresol is not null || tsOffset is not null) b.EndOfOptions();
        });

    public CaptureBuilder EnhancedPacket(uint interfaceId, ulong ticks, ReadOnlySpan<byte> data, uint? origLen = null)
    {
        var copy = data.ToArray();
        return Block(6, b => b.U32(interfaceId).U32((uint)(ticks >> 32)).U32((uint)ticks).U32((uint)copy.Length).U32(origLen ?? (uint)copy.Length).Bytes(copy));
    }

    public CaptureBuilder SimplePacket(ReadOnlySpan<byte> data, uint? origLen = null)
    {
        var copy = data.ToArray();
        return Block(3, b => b.U32(origLen ?? (uint)copy.Length).Bytes(copy));
    }

    public CaptureBuilder ObsoletePacket(ushort interfaceId, ulong ticks, ReadOnlySpan<byte> data)
    {
        var copy = data.ToArray();
        return Block(2, b => b.U16(interfaceId).U16(0).U32((uint)(ticks >> 32)).U32((uint)ticks).U32((uint)copy.Length).U32((uint)copy.Length).Bytes(copy));
    }

    public CaptureBuilder InterfaceStatistics(uint interfaceId, ulong? ifRecv = null, ulong? ifDrop = null, ulong? filterAccept = null, ulong? osDrop = null)
        => Block(5, b =>
        {
            b.U32(interfaceId).U32(0).U32(0);
            if (ifRecv is not null) b.OptionU64(4, ifRecv.Value);
            if (ifDrop is not null) b.OptionU64(5, ifDrop.Value);
            if (filterAccept is not null) b.OptionU64(6, filterAccept.Value);
            if (osDrop is not null) b.OptionU64(7, osDrop.Value);
            b.EndOfOptions();
        });
}

/// <summary>Stream over bytes that cannot seek and hands out at most a few bytes per read, like a pipe.</summary>
internal sealed class TrickleStream(byte[] data, int chunk = 3) : Stream
{
    private int _pos;
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _pos);
        data.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException("no seeking");
    public override long Position { get => throw new NotSupportedException("no seeking"); set => throw new NotSupportedException("no seeking"); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("no seeking");
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

internal static class FrameSourceTestExtensions
{
    public static IFrameSource OpenBytes(byte[] bytes, string name = "test.cap", TrafficAudit.Decode.AnomalyCounters? anomalies = null, int fileIndex = 0)
        => CaptureFile.Open(new MemoryStream(bytes, writable: false), name, fileIndex, anomalies);

    public static List<(FrameHeader Header, byte[] Data)> ReadAll(this IFrameSource source)
    {
        var frames = new List<(FrameHeader, byte[])>();
        while (source.MoveNext()) frames.Add((source.Header, source.Data.ToArray()));
        return frames;
    }
}
