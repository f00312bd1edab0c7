using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace TrafficAudit.Capture.Live;

/// <summary>
/// Writes captured frames to pcapng (draft-ietf-opsawg-pcapng), optionally as a ring of files like
/// dumpcap's <c>-b filesize:… -b files:…</c>.
/// <para>
/// Every file is a complete section on its own: a Section Header Block, one Interface Description
/// Block per registered interface (if_tsresol = 9, so Enhanced Packet Block timestamps are ns since
/// the epoch), the packets as Enhanced Packet Blocks, and at close one Interface Statistics Block per
/// interface carrying the counters last given to <see cref="SetStatistics(int, ulong?, ulong?, ulong?, ulong?)"/>
/// (cumulative since the capture started, as dumpcap writes them). Blocks are little endian.
/// </para>
/// <para>
/// File names. Without a ring (<see cref="PcapNgRingOptions.RingSizeBytes"/> and
/// <see cref="PcapNgRingOptions.RingFiles"/> both 0) the single file is exactly
/// <see cref="PcapNgRingOptions.Path"/>. With a ring each file is named like dumpcap's:
/// <c>{dir}/{stem}_{NNNNN}_{yyyyMMddHHmmss}{ext}</c>, e.g. <c>audit_00001_20260302090000.pcapng</c>,
/// where NNNNN counts files from 1 and the time is the UTC capture timestamp of the file's first
/// packet (not the wall clock, so a replayed capture gives the same names); ext is the extension of
/// <see cref="PcapNgRingOptions.Path"/>, or ".pcapng" when it has none. A file is opened when its
/// first packet arrives; if nothing at all was written, <see cref="Dispose"/> still writes one file
/// (headers and statistics only), named with the current UTC time.
/// </para>
/// <para>
/// Rotation. When a packet arrives and the current file has reached <see cref="PcapNgRingOptions.RingSizeBytes"/>,
/// that file gets its statistics blocks and is closed, and the packet opens the next file (so a file
/// exceeds the size by at most one packet, and the last file stays open for the final statistics). When
/// <see cref="PcapNgRingOptions.RingFiles"/> is N &gt; 0, opening file N+1 first deletes the oldest, so
/// at most N files exist at any time.
/// </para>
/// <para>
/// Writing a packet copies it into a private buffer (1 MiB by default) and allocates nothing; the
/// buffer goes to disk when full, on <see cref="Flush"/>, at rotation and at <see cref="Dispose"/>.
/// Disk errors (full, removed directory) surface as <see cref="IOException"/> from the write.
/// </para>
/// </summary>
public sealed class PcapNgRingWriter : IDisposable
{
    private const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const uint InterfaceDescriptionType = 1;
    private const uint InterfaceStatisticsType = 5;
    private const uint EnhancedPacketType = 6;

    private const ushort OptEndOfOptions = 0;
    private const ushort OptShbUserApplication = 4;
    private const ushort OptIfName = 2;
    private const ushort OptIfDescription = 3;
    private const ushort OptIfTsResol = 9;
    private const ushort OptIsbStartTime = 2;
    private const ushort OptIsbEndTime = 3;
    private const ushort OptIsbIfRecv = 4;
    private const ushort OptIsbIfDrop = 5;
    private const ushort OptIsbFilterAccept = 6;
    private const ushort OptIsbOsDrop = 7;
    private const ushort OptIsbUsrDeliv = 8;

    /// <summary>if_tsresol value 9: timestamps are in units of 10^-9 s.</summary>
    private const byte NanosecondResolution = 9;
    /// <summary>EPB without options: header 8 + interface 4 + timestamp 8 + caplen 4 + len 4 + trailing length 4.</summary>
    private const int EnhancedPacketOverhead = 32;
    private const string DefaultExtension = ".pcapng";

    private sealed class Interface
    {
        public required LinkType LinkType;
        public required int SnapLength;
        public string? Name;
        public string? Description;
        public ulong? Received;
        public ulong? InterfaceDropped;
        public ulong? OsDropped;
        public ulong? FilterAccepted;
        /// <summary>Packets written for this interface since the writer was created (isb_usrdeliv).</summary>
        public ulong Delivered;
        public long FirstTimestampNs = long.MinValue;
        public long LastTimestampNs = long.MinValue;
    }

    private readonly PcapNgRingOptions _options;
    private readonly bool _ring;
    private readonly string _directory;
    private readonly string _stem;
    private readonly string _extension;
    private readonly List<Interface> _interfaces = [];
    private readonly List<string> _files = [];
    private readonly byte[] _buffer;
    private int _buffered;
    private FileStream? _stream;
    private long _fileBytes;
    private int _fileNumber;
    private bool _disposed;

    /// <exception cref="ArgumentException">Negative ring size or file count, or an empty path.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory of <see cref="PcapNgRingOptions.Path"/> does not exist.</exception>
    public PcapNgRingWriter(PcapNgRingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Path)) throw new ArgumentException("the output path is empty", nameof(options));
        if (options.RingSizeBytes < 0) throw new ArgumentException($"ring size {options.RingSizeBytes} is negative", nameof(options));
        if (options.RingFiles < 0) throw new ArgumentException($"ring file count {options.RingFiles} is negative", nameof(options));
        if (options.BufferSize < 4096) throw new ArgumentException($"buffer size {options.BufferSize} is below 4096 bytes", nameof(options));
        _options = options;
        _ring = options.RingSizeBytes > 0 || options.RingFiles > 0;
        string full = System.IO.Path.GetFullPath(options.Path);
        _directory = System.IO.Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(_directory))
            throw new DirectoryNotFoundException($"cannot write capture files to {full}: directory {_directory} does not exist");
        _extension = System.IO.Path.GetExtension(full);
        if (_extension.Length == 0) _extension = DefaultExtension;
        _stem = System.IO.Path.GetFileNameWithoutExtension(full);
        _buffer = new byte[options.BufferSize];
    }

    /// <summary>Files written so far that still exist (the ring deletes the oldest), oldest first. The last may still be open.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>Packets written since the writer was created, across all files.</summary>
    public long PacketsWritten { get; private set; }

    /// <summary>Files opened so far, including those the ring deleted.</summary>
    public int FilesCreated => _fileNumber;

    /// <summary>
    /// Registers an interface and returns its id for <see cref="WritePacket(int, long, ReadOnlySpan{byte}, int)"/>
    /// (0, 1, 2… in order). Every later file repeats all registered interfaces in the same order.
    /// </summary>
    public int AddInterface(LinkType linkType, int snapLength, string? name = null, string? description = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var iface = new Interface { LinkType = linkType, SnapLength = Math.Max(0, snapLength), Name = name, Description = description };
        _interfaces.Add(iface);
        if (_stream is not null) WriteInterfaceDescription(iface);
        return _interfaces.Count - 1;
    }

    /// <summary>
    /// Sets the counters written in the interface's statistics block when the current file closes
    /// (cumulative since capture start, e.g. from libpcap's pcap_stats). Null leaves an option out.
    /// </summary>
    public void SetStatistics(int interfaceId, ulong? received, ulong? interfaceDropped, ulong? osDropped, ulong? filterAccepted = null)
    {
        var iface = _interfaces[interfaceId];
        iface.Received = received;
        iface.InterfaceDropped = interfaceDropped;
        iface.OsDropped = osDropped;
        iface.FilterAccepted = filterAccepted;
    }

    /// <summary>Copies the ISB-style counters of <paramref name="counters"/> (as <see cref="LiveFrameSource"/> keeps them up to date).</summary>
    public void SetStatistics(int interfaceId, CaptureInterface counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        SetStatistics(interfaceId, counters.InterfaceReceived, counters.InterfaceDropped, counters.OsDropped, counters.FilterAccepted);
    }

    /// <summary>Writes one frame of a source: its timestamp, caplen bytes and original length.</summary>
    public void WritePacket(int interfaceId, in FrameHeader header, ReadOnlySpan<byte> data)
        => WritePacket(interfaceId, header.TimestampNs, data, header.OriginalLength);

    /// <summary>
    /// Writes one Enhanced Packet Block. <paramref name="timestampNs"/> is ns since the epoch
    /// (negative values are written as 0); <paramref name="originalLength"/> below the data length
    /// is raised to it.
    /// </summary>
    public void WritePacket(int interfaceId, long timestampNs, ReadOnlySpan<byte> data, int originalLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)interfaceId >= (uint)_interfaces.Count)
            throw new ArgumentOutOfRangeException(nameof(interfaceId), interfaceId, $"interface {interfaceId} was not registered ({_interfaces.Count} registered)");
        if (timestampNs < 0) timestampNs = 0;
        // Rotate before the packet that follows the one that filled the file, so the last file stays
        // open until Dispose and receives the final statistics.
        if (_stream is not null && _options.RingSizeBytes > 0 && _fileBytes >= _options.RingSizeBytes) CloseCurrentFile();
        if (_stream is null) OpenNextFile(timestampNs);

        int padded = Pad4(data.Length);
        int total = EnhancedPacketOverhead + padded;
        uint origLen = (uint)Math.Max(originalLength, data.Length);
        ulong ticks = (ulong)timestampNs;
        if (total <= _buffer.Length)
        {
            var b = Reserve(total);
            WriteU32(b, EnhancedPacketType);
            WriteU32(b[4..], (uint)total);
            WriteU32(b[8..], (uint)interfaceId);
            WriteU32(b[12..], (uint)(ticks >> 32));
            WriteU32(b[16..], (uint)ticks);
            WriteU32(b[20..], (uint)data.Length);
            WriteU32(b[24..], origLen);
            data.CopyTo(b[28..]);
            b.Slice(28 + data.Length, padded - data.Length).Clear();
            WriteU32(b[(total - 4)..], (uint)total);
            _buffered += total;
        }
        else
        {
            // Larger than the whole buffer (only with a tiny buffer): header, data and trailer separately.
            var h = Reserve(28);
            WriteU32(h, EnhancedPacketType);
            WriteU32(h[4..], (uint)total);
            WriteU32(h[8..], (uint)interfaceId);
            WriteU32(h[12..], (uint)(ticks >> 32));
            WriteU32(h[16..], (uint)ticks);
            WriteU32(h[20..], (uint)data.Length);
            WriteU32(h[24..], origLen);
            _buffered += 28;
            FlushBuffer();
            _stream!.Write(data);
            Span<byte> tail = stackalloc byte[8];
            tail.Clear();
            int pad = padded - data.Length;
            WriteU32(tail[pad..], (uint)total);
            _stream.Write(tail[..(pad + 4)]);
        }
        _fileBytes += total;
        PacketsWritten++;
        var iface = _interfaces[interfaceId];
        iface.Delivered++;
        if (iface.FirstTimestampNs == long.MinValue) iface.FirstTimestampNs = timestampNs;
        iface.LastTimestampNs = timestampNs;
    }

    /// <summary>Pushes buffered blocks to the operating system.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_stream is null) return;
        FlushBuffer();
        _stream.Flush();
    }

    /// <summary>Writes the statistics blocks and closes the current file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        try
        {
            if (_stream is null && _fileNumber == 0) OpenNextFile(WallClockNs());
            CloseCurrentFile();
        }
        finally
        {
            _stream?.Dispose();
            _stream = null;
            _disposed = true;
        }
    }

    /// <summary>The name of ring file <paramref name="number"/> whose first packet has <paramref name="timestampNs"/>.</summary>
    public string RingFileName(int number, long timestampNs)
    {
        var when = DateTime.UnixEpoch.AddTicks(Math.Max(0, timestampNs) / 100);
        return System.IO.Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture,
            $"{_stem}_{number:D5}_{when:yyyyMMddHHmmss}{_extension}"));
    }

    private void OpenNextFile(long timestampNs)
    {
        _fileNumber++;
        string path = _ring ? RingFileName(_fileNumber, timestampNs) : System.IO.Path.GetFullPath(_options.Path);
        if (_options.RingFiles > 0)
        {
            while (_files.Count >= _options.RingFiles)
            {
                File.Delete(_files[0]);
                _files.RemoveAt(0);
            }
        }
        // bufferSize 0: our own buffer is the only one.
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _files.Add(path);
        _fileBytes = 0;
        WriteSectionHeader();
        foreach (var iface in _interfaces) WriteInterfaceDescription(iface);
    }

    private void CloseCurrentFile()
    {
        if (_stream is null) return;
        for (int i = 0; i < _interfaces.Count; i++) WriteInterfaceStatistics(i, _interfaces[i]);
        FlushBuffer();
        _stream.Flush();
        _stream.Dispose();
        _stream = null;
    }

    private void WriteSectionHeader()
    {
        var app = "TrafficAudit"u8;
        int options = OptionLength(app.Length) + 4;
        int total = 28 + options;
        var b = Reserve(total);
        WriteU32(b, SectionHeaderType);
        WriteU32(b[4..], (uint)total);
        WriteU32(b[8..], ByteOrderMagic);
        WriteU16(b[12..], 1);                       // major version
        WriteU16(b[14..], 0);                       // minor version
        WriteU64(b[16..], ulong.MaxValue);          // section length: not given
        int o = 24;
        o += WriteOption(b[o..], OptShbUserApplication, app);
        o += WriteOption(b[o..], OptEndOfOptions, []);
        WriteU32(b[o..], (uint)total);
        Commit(total);
    }

    private void WriteInterfaceDescription(Interface iface)
    {
        int nameBytes = iface.Name is null ? -1 : Encoding.UTF8.GetByteCount(iface.Name);
        int descBytes = iface.Description is null ? -1 : Encoding.UTF8.GetByteCount(iface.Description);
        int options = OptionLength(1) + 4
            + (nameBytes >= 0 ? OptionLength(nameBytes) : 0)
            + (descBytes >= 0 ? OptionLength(descBytes) : 0);
        int total = 20 + options;
        var b = Reserve(total);
        WriteU32(b, InterfaceDescriptionType);
        WriteU32(b[4..], (uint)total);
        WriteU16(b[8..], (ushort)iface.LinkType);
        WriteU16(b[10..], 0);
        WriteU32(b[12..], (uint)iface.SnapLength);
        int o = 16;
        if (nameBytes >= 0) o += WriteOption(b[o..], OptIfName, Encoding.UTF8.GetBytes(iface.Name!));
        if (descBytes >= 0) o += WriteOption(b[o..], OptIfDescription, Encoding.UTF8.GetBytes(iface.Description!));
        o += WriteOption(b[o..], OptIfTsResol, [NanosecondResolution]);
        o += WriteOption(b[o..], OptEndOfOptions, []);
        WriteU32(b[o..], (uint)total);
        Commit(total);
    }

    private void WriteInterfaceStatistics(int id, Interface iface)
    {
        Span<byte> value = stackalloc byte[8];
        bool haveTimes = iface.FirstTimestampNs != long.MinValue;
        int count = (haveTimes ? 2 : 0) + 1
            + (iface.Received.HasValue ? 1 : 0) + (iface.InterfaceDropped.HasValue ? 1 : 0)
            + (iface.OsDropped.HasValue ? 1 : 0) + (iface.FilterAccepted.HasValue ? 1 : 0);
        int total = 24 + count * OptionLength(8) + 4;
        long stamp = haveTimes ? iface.LastTimestampNs : 0;
        var b = Reserve(total);
        WriteU32(b, InterfaceStatisticsType);
        WriteU32(b[4..], (uint)total);
        WriteU32(b[8..], (uint)id);
        WriteU32(b[12..], (uint)((ulong)stamp >> 32));
        WriteU32(b[16..], (uint)stamp);
        int o = 20;
        if (haveTimes)
        {
            o += WriteTimestampOption(b[o..], OptIsbStartTime, iface.FirstTimestampNs);
            o += WriteTimestampOption(b[o..], OptIsbEndTime, iface.LastTimestampNs);
        }
        if (iface.Received is ulong r) { WriteU64(value, r); o += WriteOption(b[o..], OptIsbIfRecv, value); }
        if (iface.InterfaceDropped is ulong d) { WriteU64(value, d); o += WriteOption(b[o..], OptIsbIfDrop, value); }
        if (iface.FilterAccepted is ulong f) { WriteU64(value, f); o += WriteOption(b[o..], OptIsbFilterAccept, value); }
        if (iface.OsDropped is ulong os) { WriteU64(value, os); o += WriteOption(b[o..], OptIsbOsDrop, value); }
        WriteU64(value, iface.Delivered);
        o += WriteOption(b[o..], OptIsbUsrDeliv, value);
        o += WriteOption(b[o..], OptEndOfOptions, []);
        WriteU32(b[o..], (uint)total);
        Commit(total);
    }

    /// <summary>isb_starttime / isb_endtime: high 32 bits then low 32 bits, in the interface's resolution.</summary>
    private static int WriteTimestampOption(Span<byte> b, ushort code, long ns)
    {
        Span<byte> value = stackalloc byte[8];
        WriteU32(value, (uint)((ulong)ns >> 32));
        WriteU32(value[4..], (uint)ns);
        return WriteOption(b, code, value);
    }

    private static int OptionLength(int valueLength) => 4 + Pad4(valueLength);

    private static int WriteOption(Span<byte> b, ushort code, ReadOnlySpan<byte> value)
    {
        WriteU16(b, code);
        WriteU16(b[2..], (ushort)value.Length);
        value.CopyTo(b[4..]);
        int padded = Pad4(value.Length);
        b.Slice(4 + value.Length, padded - value.Length).Clear();
        return 4 + padded;
    }

    /// <summary>A span of <paramref name="length"/> free bytes at the end of the buffer (≤ buffer size), flushing first if needed.</summary>
    private Span<byte> Reserve(int length)
    {
        if (length > _buffer.Length)
            throw new InvalidOperationException($"pcapng block of {length} bytes exceeds the {_buffer.Length}-byte write buffer");
        if (_buffer.Length - _buffered < length) FlushBuffer();
        return _buffer.AsSpan(_buffered, length);
    }

    /// <summary>Marks a non-packet block reserved with <see cref="Reserve"/> as written.</summary>
    private void Commit(int length)
    {
        _buffered += length;
        _fileBytes += length;
    }

    private void FlushBuffer()
    {
        if (_buffered == 0) return;
        _stream!.Write(_buffer, 0, _buffered);
        _buffered = 0;
    }

    private static long WallClockNs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    private static int Pad4(int n) => (n + 3) & ~3;
    private static void WriteU16(Span<byte> b, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b, v);
    private static void WriteU32(Span<byte> b, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b, v);
    private static void WriteU64(Span<byte> b, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b, v);
}

/// <summary>Where and how <see cref="PcapNgRingWriter"/> writes.</summary>
public sealed class PcapNgRingOptions
{
    /// <summary>The file to write; with a ring, the base name (see <see cref="PcapNgRingWriter"/> for the naming).</summary>
    public required string Path { get; init; }

    /// <summary>Switch to a new file once the current one reaches this many bytes (--ring-size MB × 1,000,000, as dumpcap counts kB as 1000 bytes); 0 = never.</summary>
    public long RingSizeBytes { get; init; }

    /// <summary>Keep at most this many files, deleting the oldest (--ring-files N); 0 = keep all.</summary>
    public int RingFiles { get; init; }

    /// <summary>Bytes buffered before a write to disk.</summary>
    public int BufferSize { get; init; } = 1 << 20;
}
