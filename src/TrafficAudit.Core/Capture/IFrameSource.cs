namespace TrafficAudit.Capture;

/// <summary>Fixed-size facts about one captured frame. The bytes themselves come from <see cref="IFrameSource.Data"/>.</summary>
public readonly record struct FrameHeader(
    /// <summary>Capture time, nanoseconds since the Unix epoch (UTC).</summary>
    long TimestampNs,
    LinkType LinkType,
    /// <summary>Bytes present in the capture (caplen).</summary>
    int CapturedLength,
    /// <summary>Bytes on the wire (len / orig_len).</summary>
    int OriginalLength,
    /// <summary>Interface index within its file (pcapng IDB order; 0 for pcap). With <see cref="FileIndex"/> it finds the entry in <see cref="IFrameSource.Interfaces"/>.</summary>
    int InterfaceIndex,
    /// <summary>1-based frame number within its file, as Wireshark numbers frames.</summary>
    long FrameNumber,
    /// <summary>Index of the file in the run's file list (0 for a single file).</summary>
    int FileIndex);

/// <summary>Why reading a capture stopped before the end of the file.</summary>
public sealed record CaptureReadError(string File, long ByteOffset, string Message)
{
    public override string ToString() => $"{File}: at byte offset {ByteOffset}: {Message}";
}

/// <summary>The file is not a capture format we read (a NetMon file, a text file...). Exit code 3.</summary>
public sealed class CaptureFormatException(string file, string message) : Exception($"{file}: {message}")
{
    public string File { get; } = file;
}

/// <summary>A capture interface as described by a pcapng IDB (or the single implicit one of a pcap file).</summary>
public sealed class CaptureInterface
{
    /// <summary>Index within its file (IDB order).</summary>
    public required int Index { get; init; }
    /// <summary>Index of the file in the run.</summary>
    public int FileIndex { get; init; }
    public required string File { get; init; }
    public required LinkType LinkType { get; init; }
    public string? Name { get; set; }
    public string? Description { get; set; }
    public int SnapLength { get; set; }
    /// <summary>From the last Interface Statistics Block: packets received (isb_ifrecv).</summary>
    public ulong? InterfaceReceived { get; set; }
    /// <summary>From the last Interface Statistics Block: dropped by the interface (isb_ifdrop).</summary>
    public ulong? InterfaceDropped { get; set; }
    /// <summary>From the last Interface Statistics Block: dropped by the OS (isb_osdrop).</summary>
    public ulong? OsDropped { get; set; }
    /// <summary>From the last Interface Statistics Block: accepted by the filter (isb_filteraccept).</summary>
    public ulong? FilterAccepted { get; set; }
}

/// <summary>
/// A streaming source of captured frames. <see cref="Data"/> is valid only until the next
/// <see cref="MoveNext"/>: copy what you keep.
/// </summary>
public interface IFrameSource : IDisposable
{
    /// <summary>Advances to the next frame. False at the end, or when reading stopped on an error (see <see cref="Error"/>).</summary>
    bool MoveNext();
    ref readonly FrameHeader Header { get; }
    ReadOnlySpan<byte> Data { get; }
    /// <summary>Set when reading stopped early on a truncated or corrupt file; frames before it were delivered.</summary>
    IReadOnlyList<CaptureReadError> Errors { get; }
    IReadOnlyList<CaptureInterface> Interfaces { get; }
    /// <summary>Bytes consumed so far from the underlying (decompressed) streams, for progress reports.</summary>
    long BytesRead { get; }
}
