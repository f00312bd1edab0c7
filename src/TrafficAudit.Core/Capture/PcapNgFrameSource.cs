using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using TrafficAudit.Decode;

namespace TrafficAudit.Capture;

/// <summary>
/// Streaming reader for pcapng (draft-ietf-opsawg-pcapng). Every block is
/// <c>type(4) total_length(4) body total_length(4)</c> in the byte order of its section, set by the
/// Section Header Block's byte-order magic 1a2b3c4d. Packets come from Enhanced (6), Simple (3) and
/// obsolete Packet (2) blocks; Interface Description (1) and Interface Statistics (5) blocks describe
/// interfaces; everything else is skipped. A block whose total length is malformed or whose trailing
/// copy differs stops reading with a <see cref="CaptureReadError"/> at the block's offset.
/// </summary>
public sealed class PcapNgFrameSource : FrameSourceBase
{
    internal const uint SectionHeaderType = 0x0A0D0D0A;
    internal const uint ByteOrderMagic = 0x1A2B3C4D;
    private const uint InterfaceDescriptionType = 1;
    private const uint ObsoletePacketType = 2;
    private const uint SimplePacketType = 3;
    private const uint InterfaceStatisticsType = 5;
    private const uint EnhancedPacketType = 6;

    private const int BlockHeaderLength = 8;          // type + total length
    private const int MinBlockLength = 12;            // header + trailing length
    private const int MinSectionHeaderLength = 28;    // + BOM(4) version(4) section length(8)
    /// <summary>Blocks we must hold whole (packets, interface descriptions...) may not exceed 16 MiB; others are skipped unbuffered.</summary>
    private const int MaxBufferedBlockLength = 16 << 20;

    private const ushort OptEndOfOptions = 0;
    private const ushort OptIfName = 2;
    private const ushort OptIfDescription = 3;
    private const ushort OptIfTsResol = 9;
    private const ushort OptIfTsOffset = 14;
    private const ushort OptIsbIfRecv = 4;
    private const ushort OptIsbIfDrop = 5;
    private const ushort OptIsbFilterAccept = 6;
    private const ushort OptIsbOsDrop = 7;

    /// <summary>How one interface turns a 64-bit tick count into ns since the epoch.</summary>
    private struct Clock
    {
        public LinkType LinkType;
        public uint SnapLength;
        /// <summary>ns per tick when the resolution is 10^-n with n ≤ 9 and there is no offset; 0 otherwise (slow path).</summary>
        public long FastMultiplier;
        /// <summary>Largest tick count whose product with <see cref="FastMultiplier"/> fits in a long.</summary>
        public ulong FastMaxTicks;
        public bool PowerOfTwo;
        public int Exponent;          // n of 10^-n or 2^-n
        public long OffsetSeconds;    // if_tsoffset
    }

    private bool _swap;
    private readonly List<Clock> _clocks = [];   // parallel to InterfaceList, file-wide
    private int _sectionBase;                     // index in _clocks of the current section's interface 0
    private bool _haveTimestamp;
    private long _lastTimestamp;

    internal PcapNgFrameSource(CaptureInput input, string file, int fileIndex, AnomalyCounters? anomalies)
        : base(input, file, fileIndex, anomalies)
    {
    }

    private uint U32(ReadOnlySpan<byte> s)
    {
        uint v = MemoryMarshal.Read<uint>(s);
        return _swap ? BinaryPrimitives.ReverseEndianness(v) : v;
    }

    private ushort U16(ReadOnlySpan<byte> s)
    {
        ushort v = MemoryMarshal.Read<ushort>(s);
        return _swap ? BinaryPrimitives.ReverseEndianness(v) : v;
    }

    private ulong U64(ReadOnlySpan<byte> s)
    {
        ulong v = MemoryMarshal.Read<ulong>(s);
        return _swap ? BinaryPrimitives.ReverseEndianness(v) : v;
    }

    public override bool MoveNext()
    {
        while (!Finished)
        {
            long blockOffset = Input.Position;
            if (!Input.Ensure(BlockHeaderLength))
            {
                if (Input.Available == 0) return EndOfFile();
                return Fail(blockOffset, $"block header truncated: {Input.Available} of {BlockHeaderLength} bytes before end of file");
            }
            uint type = MemoryMarshal.Read<uint>(Input.Span(4));   // the SHB type reads the same either way
            if (type == SectionHeaderType)
            {
                if (!ReadSectionHeader(blockOffset)) return false;
                continue;
            }
            if (_swap) type = BinaryPrimitives.ReverseEndianness(type);
            uint total = U32(Input.Span(BlockHeaderLength)[4..]);
            if (total < MinBlockLength || (total & 3) != 0)
                return Fail(blockOffset, $"block type 0x{type:X} has invalid total length {total}");

            switch (type)
            {
                case EnhancedPacketType:
                case SimplePacketType:
                case ObsoletePacketType:
                    if (!LoadBlock(blockOffset, type, total)) return false;
                    if (ReadPacket(blockOffset, type, (int)total)) return true;
                    if (Finished) return false;
                    break;
                case InterfaceDescriptionType:
                    if (!LoadBlock(blockOffset, type, total)) return false;
                    if (!ReadInterfaceDescription(blockOffset, (int)total)) return false;
                    break;
                case InterfaceStatisticsType:
                    if (!LoadBlock(blockOffset, type, total)) return false;
                    ReadInterfaceStatistics((int)total);
                    break;
                default:
                    // NRB, DSB, custom and unknown blocks: not needed, skipped without buffering.
                    if (!SkipBlock(blockOffset, type, total)) return false;
                    break;
            }
        }
        return false;
    }

    /// <summary>Buffers a whole block and checks its trailing total length.</summary>
    private bool LoadBlock(long blockOffset, uint type, uint total)
    {
        if (total > MaxBufferedBlockLength)
            return Fail(blockOffset, $"block type 0x{type:X} total length {total} exceeds {MaxBufferedBlockLength} bytes: file corrupt");
        if (!Input.Ensure((int)total))
            return Fail(blockOffset, $"block type 0x{type:X} truncated: total length {total} but only {Input.Available} bytes before end of file");
        uint trailing = U32(Input.Span((int)total)[((int)total - 4)..]);
        if (trailing != total)
            return Fail(blockOffset, $"block type 0x{type:X} total length {total} differs from its trailing copy {trailing}");
        return true;
    }

    private bool SkipBlock(long blockOffset, uint type, uint total)
    {
        Input.Advance(BlockHeaderLength);
        if (!Input.Skip(total - MinBlockLength) || !Input.Ensure(4))
            return Fail(blockOffset, $"block type 0x{type:X} truncated: total length {total} runs past end of file");
        uint trailing = U32(Input.Span(4));
        if (trailing != total)
            return Fail(blockOffset, $"block type 0x{type:X} total length {total} differs from its trailing copy {trailing}");
        Input.Advance(4);
        return true;
    }

    private bool ReadSectionHeader(long blockOffset)
    {
        if (!Input.Ensure(MinBlockLength))
            return Fail(blockOffset, $"section header block truncated: {Input.Available} bytes before end of file");
        var head = Input.Span(MinBlockLength);
        uint bom = MemoryMarshal.Read<uint>(head[8..]);
        if (bom == ByteOrderMagic) _swap = false;
        else if (BinaryPrimitives.ReverseEndianness(bom) == ByteOrderMagic) _swap = true;
        else return Fail(blockOffset, $"section header block has bad byte-order magic 0x{bom:X8}");
        uint total = U32(head[4..]);
        if (total < MinSectionHeaderLength || (total & 3) != 0)
            return Fail(blockOffset, $"section header block has invalid total length {total}");
        if (!LoadBlock(blockOffset, SectionHeaderType, total)) return false;
        ushort major = U16(Input.Span(MinSectionHeaderLength)[12..]);
        if (major != 1)
            return Fail(blockOffset, $"pcapng section version {major} not supported (only 1)");
        // A new section starts a new set of interfaces; indexes in FrameHeader stay file-wide.
        _sectionBase = _clocks.Count;
        Input.Advance((int)total);
        return true;
    }

    private bool ReadInterfaceDescription(long blockOffset, int total)
    {
        var block = Input.Span(total);
        const int fixedPart = 16;   // header 8 + link type 2 + reserved 2 + snaplen 4
        if (total < fixedPart + 4)
            return Fail(blockOffset, $"interface description block too short ({total} bytes)");
        var clock = new Clock
        {
            LinkType = (LinkType)U16(block[8..]),
            SnapLength = U32(block[12..]),
            Exponent = 6,
        };
        string? name = null, description = null;
        var options = new OptionReader(block[fixedPart..(total - 4)], _swap);
        while (options.TryNext(out ushort code, out var value))
        {
            switch (code)
            {
                case OptIfName: name = DecodeText(value); break;
                case OptIfDescription: description = DecodeText(value); break;
                case OptIfTsResol when value.Length >= 1:
                    clock.PowerOfTwo = (value[0] & 0x80) != 0;
                    clock.Exponent = value[0] & 0x7F;
                    break;
                case OptIfTsOffset when value.Length >= 8:
                    clock.OffsetSeconds = (long)U64(value);
                    break;
            }
        }
        if (options.Truncated) Count(CaptureAnomaly.PcapNgOptionTruncated);
        if (!clock.PowerOfTwo && clock.Exponent <= 9 && clock.OffsetSeconds == 0)
        {
            clock.FastMultiplier = Pow10(9 - clock.Exponent);
            clock.FastMaxTicks = (ulong)(long.MaxValue / clock.FastMultiplier);
        }
        _clocks.Add(clock);
        InterfaceList.Add(new CaptureInterface
        {
            Index = InterfaceList.Count,
            FileIndex = FileIndex,
            File = File,
            LinkType = clock.LinkType,
            SnapLength = (int)Math.Min(clock.SnapLength, int.MaxValue),
            Name = name,
            Description = description,
        });
        Input.Advance(total);
        return true;
    }

    private void ReadInterfaceStatistics(int total)
    {
        var block = Input.Span(total);
        const int fixedPart = 20;   // header 8 + interface id 4 + timestamp 8
        if (total < fixedPart + 4) { Input.Advance(total); return; }
        long index = _sectionBase + (long)U32(block[8..]);
        if (index >= _clocks.Count)
        {
            Count(CaptureAnomaly.PcapNgStatisticsBadInterface);
            Input.Advance(total);
            return;
        }
        var iface = InterfaceList[(int)index];
        var options = new OptionReader(block[fixedPart..(total - 4)], _swap);
        while (options.TryNext(out ushort code, out var value))
        {
            if (value.Length < 8) continue;
            switch (code)
            {
                case OptIsbIfRecv: iface.InterfaceReceived = U64(value); break;
                case OptIsbIfDrop: iface.InterfaceDropped = U64(value); break;
                case OptIsbFilterAccept: iface.FilterAccepted = U64(value); break;
                case OptIsbOsDrop: iface.OsDropped = U64(value); break;
            }
        }
        if (options.Truncated) Count(CaptureAnomaly.PcapNgOptionTruncated);
        Input.Advance(total);
    }

    /// <summary>Fills <see cref="FrameSourceBase.Current"/> from an EPB, SPB or PB held whole in the buffer.</summary>
    private bool ReadPacket(long blockOffset, uint type, int total)
    {
        var block = Input.Span(total);
        int sectionCount = _clocks.Count - _sectionBase;
        uint interfaceId, caplen, origlen;
        int dataStart;
        ulong ticks = 0;
        bool hasTimestamp = true;
        if (type == EnhancedPacketType)
        {
            // header 8, interface 4, ts high 4, ts low 4, caplen 4, len 4
            dataStart = 28;
            if (total < dataStart + 4) return Fail(blockOffset, $"enhanced packet block too short ({total} bytes)");
            interfaceId = U32(block[8..]);
            ticks = ((ulong)U32(block[12..]) << 32) | U32(block[16..]);
            caplen = U32(block[20..]);
            origlen = U32(block[24..]);
        }
        else if (type == ObsoletePacketType)
        {
            // header 8, interface 2, drops 2, ts high 4, ts low 4, caplen 4, len 4
            dataStart = 28;
            if (total < dataStart + 4) return Fail(blockOffset, $"packet block too short ({total} bytes)");
            interfaceId = U16(block[8..]);
            ticks = ((ulong)U32(block[12..]) << 32) | U32(block[16..]);
            caplen = U32(block[20..]);
            origlen = U32(block[24..]);
        }
        else
        {
            // Simple Packet Block: header 8, len 4; interface 0, caplen = min(len, snaplen, room in block).
            dataStart = 12;
            if (total < dataStart + 4) return Fail(blockOffset, $"simple packet block too short ({total} bytes)");
            interfaceId = 0;
            origlen = U32(block[8..]);
            caplen = Math.Min(origlen, (uint)(total - dataStart - 4));
            if (sectionCount > 0)
            {
                uint snap = _clocks[_sectionBase].SnapLength;
                if (snap != 0) caplen = Math.Min(caplen, snap);
            }
            hasTimestamp = false;
        }

        if (interfaceId >= (uint)sectionCount)
            return Fail(blockOffset, $"packet block names interface {interfaceId} but the section has {sectionCount} interface(s)");
        if (caplen > MaxCaptureLength)
            return Fail(blockOffset, $"packet caplen {caplen} exceeds {MaxCaptureLength} bytes: file corrupt");
        if (caplen > (uint)(total - dataStart - 4))
            return Fail(blockOffset, $"packet caplen {caplen} runs past the end of its {total}-byte block");

        int index = _sectionBase + (int)interfaceId;
        ref readonly var clock = ref CollectionsMarshal.AsSpan(_clocks)[index];
        long ts;
        if (hasTimestamp)
        {
            ts = clock.FastMultiplier != 0 && ticks <= clock.FastMaxTicks
                ? (long)ticks * clock.FastMultiplier
                : SlowTimestamp(in clock, ticks);
            _lastTimestamp = ts;
            _haveTimestamp = true;
        }
        else
        {
            if (!_haveTimestamp) Count(CaptureAnomaly.PcapNgSimplePacketNoTimestamp);
            ts = _lastTimestamp;
        }
        if (caplen > origlen) Count(CaptureAnomaly.CaplenExceedsOrigLen);
        if (caplen > clock.SnapLength && clock.SnapLength != 0) Count(CaptureAnomaly.CaplenExceedsSnaplen);

        DataOffset = Input.Offset + dataStart;
        Input.Advance(total);
        FrameCount++;
        Current = new FrameHeader(ts, clock.LinkType, (int)caplen, (int)Math.Min(origlen, int.MaxValue), index, FrameCount, FileIndex);
        return true;
    }

    /// <summary>Any resolution and offset, in 128-bit arithmetic, saturating at the range of long ns.</summary>
    private long SlowTimestamp(in Clock clock, ulong ticks)
    {
        Int128 ns;
        if (clock.PowerOfTwo)
        {
            // if_tsresol 0x80|n: ticks of 2^-n s. ns = ticks * 1e9 / 2^n, truncated.
            ns = clock.Exponent >= 64 + 30
                ? Int128.Zero
                : (Int128)(((UInt128)ticks * 1_000_000_000u) >> clock.Exponent);
        }
        else if (clock.Exponent <= 9)
        {
            ns = (Int128)ticks * Pow10(9 - clock.Exponent);
        }
        else
        {
            // Finer than 1 ns: 10^(n-9) ticks per ns; beyond 10^38 every count rounds to 0.
            int e = clock.Exponent - 9;
            ns = e > 38 ? Int128.Zero : (Int128)((UInt128)ticks / UInt128Pow10(e));
        }
        ns += (Int128)clock.OffsetSeconds * 1_000_000_000;
        if (ns > long.MaxValue) { Count(CaptureAnomaly.TimestampOutOfRange); return long.MaxValue; }
        if (ns < long.MinValue) { Count(CaptureAnomaly.TimestampOutOfRange); return long.MinValue; }
        return (long)ns;
    }

    private static long Pow10(int e)
    {
        long v = 1;
        for (int i = 0; i < e; i++) v *= 10;
        return v;
    }

    private static UInt128 UInt128Pow10(int e)
    {
        UInt128 v = 1;
        for (int i = 0; i < e; i++) v *= 10;
        return v;
    }

    private static string DecodeText(ReadOnlySpan<byte> value)
    {
        int end = value.IndexOf((byte)0);   // some writers include a terminating NUL
        if (end >= 0) value = value[..end];
        return Encoding.UTF8.GetString(value);
    }

    /// <summary>Walks pcapng options: code(2) length(2) value padded to 4 bytes, until opt_endofopt or the end.</summary>
    private ref struct OptionReader(ReadOnlySpan<byte> options, bool swap)
    {
        private ReadOnlySpan<byte> _rest = options;

        /// <summary>An option ran past the end of the block.</summary>
        public bool Truncated { get; private set; }

        public bool TryNext(out ushort code, out ReadOnlySpan<byte> value)
        {
            value = default;
            code = 0;
            if (_rest.Length < 4) return false;
            code = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]);
            if (swap)
            {
                code = BinaryPrimitives.ReverseEndianness(code);
                length = BinaryPrimitives.ReverseEndianness(length);
            }
            if (code == OptEndOfOptions) return false;
            int padded = (length + 3) & ~3;
            if (4 + padded > _rest.Length)
            {
                // Tolerate a missing final pad; anything shorter is truncated.
                if (4 + length > _rest.Length) { Truncated = true; return false; }
                padded = _rest.Length - 4;
            }
            value = _rest.Slice(4, length);
            _rest = _rest[(4 + padded)..];
            return true;
        }
    }
}
