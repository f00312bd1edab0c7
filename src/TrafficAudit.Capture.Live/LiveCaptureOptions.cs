namespace TrafficAudit.Capture.Live;

/// <summary>
/// How <see cref="LiveFrameSource"/> opens an interface. The defaults favour not losing bursts over
/// latency: a 128 MiB kernel ring, 9000-byte snap length (headers, SIP and RTP of any frame up to a
/// jumbo MTU; longer frames keep their original length), libpcap's buffered (non-immediate) mode.
/// </summary>
public sealed class LiveCaptureOptions
{
    public const int MinSnapLength = 64;
    public const int MaxSnapLength = 262_144;
    public const int MinBufferSize = 1 << 20;
    /// <summary>
    /// 128 MiB, as Zeek's AF_Packet source (<c>AF_Packet::buffer_size</c>): the ring holds the packets while the engine
    /// takes a flush's snapshot. With 32 MiB the busy site at 300,000-400,000 packets/s and <c>--flush 1</c> lost 0.1-1.9 %
    /// of its packets in those pauses (424-532 ms); with 128 MiB none (tools/bench-live.sh, README "Speed").
    /// </summary>
    public const int DefaultBufferSize = 128 << 20;
    public const int DefaultSnapLength = 9000;

    /// <summary>Interface name as <see cref="LiveInterfaces.List"/> shows it ("eth0", "lo", "any").</summary>
    public required string Interface { get; init; }

    /// <summary>BPF capture filter in tcpdump syntax ("udp port 5060 or tcp port 443"); null or empty = everything.</summary>
    public string? Filter { get; init; }

    /// <summary>Bytes kept per frame (pcap snaplen).</summary>
    public int SnapLength { get; init; } = DefaultSnapLength;

    /// <summary>Kernel capture buffer in bytes (pcap_set_buffer_size: on Linux the size of the packet ring).</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    public bool Promiscuous { get; init; } = true;

    /// <summary>
    /// Longest wait for a packet: libpcap's read timeout (on Linux, how long a partly filled ring
    /// block waits before it is handed over) and the longest time
    /// <see cref="LiveFrameSource.TryMoveNext(out bool)"/> blocks before it reports a timeout.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// libpcap immediate mode: each packet is handed over at once (lower latency, more wake-ups).
    /// Off by default: with it on, a small buffer and a large snap length silently lost most of a
    /// burst on this kind of machine (see NOTES.md); with a buffer of 32 MiB or more it is safe.
    /// </summary>
    public bool Immediate { get; init; }

    /// <summary>Index of this source in the run's file list, copied to <see cref="FrameHeader.FileIndex"/>.</summary>
    public int FileIndex { get; init; }
}
