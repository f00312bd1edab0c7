using System.Buffers.Binary;
using System.Runtime.InteropServices;
using TrafficAudit.Decode;

namespace TrafficAudit.Capture;

/// <summary>
/// Streaming reader for classic libpcap files (draft-ietf-opsawg-pcap). Global header, 24 bytes:
/// magic, version major/minor, thiszone, sigfigs, snaplen, network (link type in the lower 16
/// bits, FCS length flags above). Then per record, 16 bytes: ts_sec, ts_usec|ts_nsec, caplen,
/// len, followed by caplen bytes. One interface (index 0) with the header's link type.
/// </summary>
public sealed class PcapFrameSource : FrameSourceBase
{
    /// <summary>Magic as read little-endian when the file was written little-endian (d4 c3 b2 a1), microsecond stamps.</summary>
    internal const uint MagicMicro = 0xA1B2C3D4;
    /// <summary>Nanosecond magic (4d 3c b2 a1 on a little-endian file).</summary>
    internal const uint MagicNano = 0xA1B23C4D;
    internal const int FileHeaderLength = 24;
    internal const int RecordHeaderLength = 16;
    /// <summary>Link-type field bit 26: an FCS length is given in bits 28..31 (not needed to read frames).</summary>
    private const uint LinkTypeMask = 0xFFFF;

    private readonly bool _swap;
    private readonly long _subsecondScale;   // ns per sub-second tick: 1000 (µs) or 1 (ns)
    private readonly uint _subsecondLimit;   // 1e6 or 1e9
    private readonly LinkType _linkType;
    private readonly uint _snapLength;
    private readonly bool _lengthsSwapped;   // versions before 2.3 wrote len before caplen
    private readonly bool _lengthsMaybeSwapped;  // version 2.3: swapped when caplen > len

    internal PcapFrameSource(CaptureInput input, string file, int fileIndex, AnomalyCounters? anomalies)
        : base(input, file, fileIndex, anomalies)
    {
        if (!input.Ensure(FileHeaderLength))
        {
            Fail(0, $"pcap file header truncated: {input.Available} of {FileHeaderLength} bytes");
            _linkType = default;
            return;
        }
        var h = input.Span(FileHeaderLength);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(h);
        _swap = magic != MagicMicro && magic != MagicNano;
        if (_swap) magic = BinaryPrimitives.ReverseEndianness(magic);
        bool nano = magic == MagicNano;
        _subsecondScale = nano ? 1 : 1000;
        _subsecondLimit = nano ? 1_000_000_000u : 1_000_000u;
        ushort major = U16(h[4..]);
        ushort minor = U16(h[6..]);
        _snapLength = U32(h[16..]);
        _linkType = (LinkType)(U32(h[20..]) & LinkTypeMask);
        _lengthsSwapped = major < 2 || (major == 2 && minor < 3);
        _lengthsMaybeSwapped = major == 2 && minor == 3;
        input.Advance(FileHeaderLength);
        InterfaceList.Add(new CaptureInterface
        {
            Index = 0,
            FileIndex = fileIndex,
            File = file,
            LinkType = _linkType,
            SnapLength = (int)Math.Min(_snapLength, int.MaxValue),
        });
    }

    public bool IsNanosecond => _subsecondScale == 1;
    public LinkType LinkType => _linkType;

    private ushort U16(ReadOnlySpan<byte> s)
    {
        ushort v = MemoryMarshal.Read<ushort>(s);
        return _swap ? BinaryPrimitives.ReverseEndianness(v) : v;
    }

    private uint U32(ReadOnlySpan<byte> s)
    {
        uint v = MemoryMarshal.Read<uint>(s);
        return _swap ? BinaryPrimitives.ReverseEndianness(v) : v;
    }

    public override bool MoveNext()
    {
        if (Finished) return false;
        long recordOffset = Input.Position;
        if (!Input.Ensure(RecordHeaderLength))
        {
            if (Input.Available == 0) return EndOfFile();
            return Fail(recordOffset, $"record header truncated: {Input.Available} of {RecordHeaderLength} bytes before end of file");
        }
        var h = Input.Span(RecordHeaderLength);
        uint seconds = U32(h);
        uint subsecond = U32(h[4..]);
        uint caplen = U32(h[8..]);
        uint origlen = U32(h[12..]);
        if (_lengthsSwapped || (_lengthsMaybeSwapped && caplen > origlen)) (caplen, origlen) = (origlen, caplen);
        if (caplen > MaxCaptureLength)
            return Fail(recordOffset, $"record caplen {caplen} exceeds {MaxCaptureLength} bytes: file corrupt");
        int total = RecordHeaderLength + (int)caplen;
        if (!Input.Ensure(total))
            return Fail(recordOffset, $"record truncated: caplen {caplen} but only {Input.Available - RecordHeaderLength} bytes before end of file");

        // Both fields are unsigned 32-bit, so the sum cannot overflow long ns (max ≈ 4.3e18 + 4.3e12).
        if (subsecond >= _subsecondLimit) Count(CaptureAnomaly.TimestampSubsecondOutOfRange);
        long ts = seconds * 1_000_000_000L + subsecond * _subsecondScale;
        if (caplen > origlen) Count(CaptureAnomaly.CaplenExceedsOrigLen);
        if (caplen > _snapLength && _snapLength != 0) Count(CaptureAnomaly.CaplenExceedsSnaplen);

        DataOffset = Input.Offset + RecordHeaderLength;
        Input.Advance(total);
        FrameCount++;
        Current = new FrameHeader(ts, _linkType, (int)caplen, (int)Math.Min(origlen, int.MaxValue), 0, FrameCount, FileIndex);
        return true;
    }
}
