using System.Numerics;
using System.Runtime.CompilerServices;
using SharpPcap;
using SharpPcap.LibPcap;

namespace TrafficAudit.Capture.Live;

/// <summary>
/// Frames captured live from one interface through libpcap (SharpPcap's <see cref="LibPcapLiveDevice"/>).
/// <para>
/// Reading. <see cref="MoveNext"/> blocks until a frame arrives and returns false only at the end:
/// after <see cref="Stop"/>, after the cancellation token given to <see cref="Open"/> fires, or on a
/// read error (see <see cref="Errors"/>). A caller that wants to do something while the line is idle
/// (a per-second status line, checking a --duration) uses <see cref="TryMoveNext(out bool)"/>, which
/// also returns false with <c>timedOut = true</c> when no frame came within
/// <see cref="LiveCaptureOptions.ReadTimeout"/>; it may then call again. Under steady traffic timeouts
/// do not happen, so a status line should also look at the clock every few thousand frames.
/// Stopping is prompt: <see cref="Stop"/> (thread-safe, e.g. from Ctrl+C or SIGTERM handlers) is seen
/// by the next call, or within 50 ms by a call that is waiting. Frames still in the kernel ring at
/// that moment are not delivered (they are in <see cref="ReceivedPackets"/>, not in
/// <see cref="FramesCaptured"/>).
/// </para>
/// <para>
/// How it waits. libpcap on Linux (TPACKET_V3) never returns from a blocking read while no packet
/// arrives, whatever the read timeout. So the handle is put in non-blocking mode and we poll(2) its
/// descriptor in slices of at most 50 ms; a partly filled ring block is handed over by the kernel
/// after the read timeout. Where libpcap gives no selectable descriptor (Windows), the handle stays
/// blocking and its own read timeout applies.
/// </para>
/// <para>
/// Per frame nothing is allocated: <c>pcap_next_ex</c> via <see cref="PcapDevice.GetNextPacketPointers"/>,
/// the pcap_pkthdr read in place, the bytes copied into one reusable buffer. <see cref="Data"/> is
/// valid until the next call. Timestamps are ns since the epoch (libpcap nanosecond precision when
/// the platform offers it, else µs × 1000).
/// </para>
/// <para>
/// Statistics. pcap_stats is called directly (not through SharpPcap, whose 6.3.1 struct layout loses
/// ps_drop on 64-bit Unix; see PcapStats) at least once per second while frames flow or the line idles,
/// and at the end. <see cref="ReceivedPackets"/> is ps_recv (on Linux: packets that passed the filter,
/// dropped ones included), <see cref="DroppedPackets"/> ps_drop (no room in the buffer),
/// <see cref="InterfaceDroppedPackets"/> ps_ifdrop (dropped by the interface or driver). They are
/// widened to 64 bits across libpcap's 32-bit wrap and copied into <see cref="Interfaces"/>[0] as
/// <see cref="CaptureInterface.InterfaceReceived"/>, <see cref="CaptureInterface.OsDropped"/> and
/// <see cref="CaptureInterface.InterfaceDropped"/>, the way a pcapng Interface Statistics Block fills them.
/// </para>
/// <para>
/// Loopback. Linux gives a capture on <c>lo</c> every packet twice (leaving and arriving); libpcap
/// discards the leaving copy only after it used ring space and was counted in ps_recv and ps_drop.
/// On a Linux loopback interface (<see cref="CountsEachPacketTwice"/>) the counters are therefore
/// halved, rounding up so that a lone dropped copy is never hidden; the raw values stay in
/// <see cref="RawReceivedPackets"/> and <see cref="RawDroppedPackets"/>. Measured here: the two copies
/// are dropped together, and frames delivered + <see cref="DroppedPackets"/> = packets sent, exactly.
/// (Filtering the leaving copy in the kernel with "inbound" is no way out: after every
/// pcap_setfilter libpcap re-filters one ring block in user space, where it cannot evaluate
/// "inbound", and silently discards that block: 862 of 5,000 packets in our test.)
/// </para>
/// </summary>
public sealed unsafe class LiveFrameSource : IFrameSource
{
    /// <summary>Longest single poll(2), so that <see cref="Stop"/> is noticed quickly.</summary>
    private const int PollSliceMs = 50;
    private const long StatisticsIntervalMs = 1000;
    /// <summary>Frames between two looks at the clock for the statistics refresh under load.</summary>
    private const int ClockCheckMask = 0xFFF;
    private const int PcapPacketRead = 1;
    private const int PcapTimeout = 0;
    /// <summary>PCAP_IF_LOOPBACK in pcap_if_t.flags.</summary>
    private const uint LoopbackFlag = 0x1;

    private readonly SelectableLiveDevice _device;
    private readonly int _fd;
    private readonly int _timeoutMs;
    private readonly bool _nanosecond;
    /// <summary>Bytes of each pcap_pkthdr timeval field: 4 on Windows (32-bit long), pointer size elsewhere.</summary>
    private readonly int _timevalField;
    private readonly CaptureInterface _interface;
    private readonly CaptureInterface[] _interfaces;
    private readonly List<CaptureReadError> _errors = [];
    private readonly CancellationTokenRegistration _cancellation;
    private byte[] _buffer;
    private FrameHeader _header;
    private volatile bool _stopRequested;
    private bool _finished;
    private bool _disposed;
    private long _bytes;
    private long _lastStatisticsMs;
    private uint _lastRecv, _lastDrop, _lastIfDrop;

    private LiveFrameSource(SelectableLiveDevice device, LiveCaptureOptions options, string? filter, bool countsTwice, CancellationToken cancellationToken, List<string> warnings)
    {
        _device = device;
        Options = options;
        Filter = filter;
        CountsEachPacketTwice = countsTwice;
        Warnings = warnings;
        _fd = device.SelectableFd;
        _timeoutMs = TimeoutMs(options);
        _nanosecond = device.TimestampResolution == TimestampResolution.Nanosecond;
        _timevalField = OperatingSystem.IsWindows() ? 4 : IntPtr.Size;
        LinkType = ToLinkType((int)device.LinkType);
        _buffer = new byte[Math.Max(options.SnapLength, 2048)];
        _interface = new CaptureInterface
        {
            Index = 0,
            FileIndex = options.FileIndex,
            File = device.Name,
            LinkType = LinkType,
            Name = device.Name,
            Description = device.Description,
            SnapLength = options.SnapLength,
        };
        _interfaces = [_interface];
        _lastStatisticsMs = Environment.TickCount64;
        if (cancellationToken.CanBeCanceled) _cancellation = cancellationToken.Register(static s => ((LiveFrameSource)s!).Stop(), this);
    }

    /// <summary>
    /// Opens the interface and starts capturing. Every failure is a <see cref="LiveCaptureException"/>
    /// whose message tells the user what to do (install libpcap, run as root or setcap, fix the
    /// filter, pick an interface from the list…).
    /// </summary>
    public static LiveFrameSource Open(LiveCaptureOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        LivePreflight.EnsureLibpcap();
        string? filter = string.IsNullOrWhiteSpace(options.Filter) ? null : options.Filter.Trim();
        try
        {
            return OpenCore(options, filter, cancellationToken);
        }
        catch (Exception e) when (LivePreflight.IsMissingLibrary(e))
        {
            throw new LiveCaptureException(LiveCaptureProblem.LibpcapMissing, LivePreflight.LibpcapMissingMessage(e.Message), e);
        }
    }

    private static LiveFrameSource OpenCore(LiveCaptureOptions options, string? filter, CancellationToken cancellationToken)
    {
        // A filter that does not even compile for Ethernet is reported before privileges are needed;
        // the device itself has the last word (link-type-specific filters) once it is open.
        string? filterError = null;
        if (filter is not null && !PcapDevice.CheckFilter(filter, out var compileError)) filterError = compileError ?? "does not compile";

        PcapInterface? found = null;
        foreach (var pcapIf in PcapInterface.GetAllPcapInterfaces())
            if (pcapIf.Name == options.Interface) { found = pcapIf; break; }
        if (found is null)
        {
            if (filterError is not null) throw BadFilter(filter!, filterError);
            throw new LiveCaptureException(LiveCaptureProblem.NoSuchInterface,
                $"no capture interface named '{options.Interface}'; available: {LiveInterfaces.Names()}");
        }

        var device = new SelectableLiveDevice(found);
        var warnings = new List<string>();
        var config = new DeviceConfiguration
        {
            Mode = options.Promiscuous ? DeviceModes.Promiscuous : DeviceModes.None,
            Snaplen = options.SnapLength,
            ReadTimeout = TimeoutMs(options),
            BufferSize = options.BufferSize,
            Immediate = options.Immediate,
            TimestampResolution = TimestampResolution.Nanosecond,
        };
        config.ConfigurationFailed += (_, e) => warnings.Add($"{e.Property}: {e.Message}");
        try
        {
            device.Open(config);
        }
        catch (PcapException e)
        {
            string detail = SafeLastError(device);
            device.Dispose();
            if (filterError is not null) throw BadFilter(filter!, filterError);
            throw OpenError(options.Interface, e, detail);
        }

        try
        {
            if (filter is not null)
            {
                try
                {
                    device.Filter = filter;
                }
                catch (PcapException e)
                {
                    throw BadFilter(filter, filterError ?? StripFilterPrefix(e.Message));
                }
            }
            if (device.SelectableFd >= 0 && Posix.Available) device.NonBlockingMode = true;
            return new LiveFrameSource(device, options, filter, OperatingSystem.IsLinux() && (found.Flags & LoopbackFlag) != 0, cancellationToken, warnings);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    public LiveCaptureOptions Options { get; }
    public string InterfaceName => _device.Name;
    /// <summary>The capture filter as given (trimmed; null for none).</summary>
    public string? Filter { get; }
    /// <summary>True on a Linux loopback interface, where the kernel counts every packet twice (see the class remarks).</summary>
    public bool CountsEachPacketTwice { get; }
    public LinkType LinkType { get; }
    /// <summary>libpcap settings it could not apply (e.g. nanosecond timestamps on a platform without them). Empty normally.</summary>
    public IReadOnlyList<string> Warnings { get; }
    /// <summary>True when timestamps come with ns precision rather than µs.</summary>
    public bool NanosecondTimestamps => _nanosecond;

    public ref readonly FrameHeader Header => ref _header;
    public ReadOnlySpan<byte> Data => new(_buffer, 0, _header.CapturedLength);
    public IReadOnlyList<CaptureReadError> Errors => _errors;
    public IReadOnlyList<CaptureInterface> Interfaces => _interfaces;
    /// <summary>Captured bytes delivered so far.</summary>
    public long BytesRead => _bytes;
    /// <summary>Frames delivered so far.</summary>
    public long FramesCaptured { get; private set; }

    /// <summary>ps_recv widened to 64 bits (halved on a Linux loopback), as of the last statistics refresh.</summary>
    public ulong ReceivedPackets { get; private set; }
    /// <summary>ps_drop: dropped because the capture buffer was full (halved on a Linux loopback), as of the last refresh.</summary>
    public ulong DroppedPackets { get; private set; }
    /// <summary>ps_recv as libpcap reports it, widened to 64 bits.</summary>
    public ulong RawReceivedPackets { get; private set; }
    /// <summary>ps_drop as libpcap reports it, widened to 64 bits.</summary>
    public ulong RawDroppedPackets { get; private set; }
    /// <summary>ps_ifdrop: dropped by the interface or its driver, as of the last refresh.</summary>
    public ulong InterfaceDroppedPackets { get; private set; }

    /// <summary>True once the source has ended (stopped, cancelled, or failed).</summary>
    public bool IsFinished => _finished;

    /// <summary>Asks the capture to end. Thread-safe; the reading thread sees it within 50 ms.</summary>
    public void Stop() => _stopRequested = true;

    public bool MoveNext()
    {
        while (true)
        {
            if (TryMoveNext(out bool timedOut)) return true;
            if (!timedOut) return false;
        }
    }

    /// <summary>
    /// Advances to the next frame. False with <paramref name="timedOut"/> = true: no frame within the
    /// read timeout, call again. False with <paramref name="timedOut"/> = false: the end.
    /// </summary>
    public bool TryMoveNext(out bool timedOut)
    {
        timedOut = false;
        if (_finished) return false;
        long waitedMs = 0;
        while (true)
        {
            if (_stopRequested) { Finish(); return false; }
            IntPtr header = IntPtr.Zero, data = IntPtr.Zero;
            int r = _device.GetNextPacketPointers(ref header, ref data);
            if (r == PcapPacketRead)
            {
                Deliver((byte*)header, (byte*)data);
                if ((FramesCaptured & ClockCheckMask) == 0) MaybeRefreshStatistics();
                return true;
            }
            if (r != PcapTimeout)
            {
                Fail(r);
                return false;
            }
            if (_fd < 0)
            {
                // Blocking handle: libpcap already waited the read timeout.
                timedOut = true;
                MaybeRefreshStatistics();
                return false;
            }
            if (waitedMs >= _timeoutMs)
            {
                timedOut = true;
                MaybeRefreshStatistics();
                return false;
            }
            int slice = (int)Math.Min(PollSliceMs, _timeoutMs - waitedMs);
            long before = Environment.TickCount64;
            Posix.WaitReadable(_fd, slice);
            waitedMs += Math.Max(1, Environment.TickCount64 - before);
        }
    }

    /// <summary>Reads pcap_stats now and updates the counters and <see cref="Interfaces"/>[0].</summary>
    public void RefreshStatistics()
    {
        if (_disposed) return;
        uint recv, drop, ifdrop;
        bool gotRef = false;
        try
        {
            _device.Handle.DangerousAddRef(ref gotRef);
            if (!PcapStats.TryRead(_device.Handle.DangerousGetHandle(), out recv, out drop, out ifdrop)) return;   // some pseudo-interfaces have none
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        finally
        {
            if (gotRef) _device.Handle.DangerousRelease();
        }
        _lastStatisticsMs = Environment.TickCount64;
        // libpcap's counters are 32-bit and wrap; add the difference since the last read.
        RawReceivedPackets += unchecked(recv - _lastRecv);
        RawDroppedPackets += unchecked(drop - _lastDrop);
        InterfaceDroppedPackets += unchecked(ifdrop - _lastIfDrop);
        _lastRecv = recv;
        _lastDrop = drop;
        _lastIfDrop = ifdrop;
        ReceivedPackets = CountsEachPacketTwice ? (RawReceivedPackets + 1) / 2 : RawReceivedPackets;
        DroppedPackets = CountsEachPacketTwice ? (RawDroppedPackets + 1) / 2 : RawDroppedPackets;
        _interface.InterfaceReceived = ReceivedPackets;
        _interface.OsDropped = DroppedPackets;
        _interface.InterfaceDropped = InterfaceDroppedPackets;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (!_finished) Finish();
        _disposed = true;
        _cancellation.Dispose();
        _device.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Deliver(byte* header, byte* data)
    {
        // struct pcap_pkthdr { struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len; }.
        // tv_usec (ns with nanosecond precision) is < 10^9, so its low 32 bits are the value on
        // little-endian hosts whatever the width of the field.
        long seconds = _timevalField == 8 ? *(long*)header : *(int*)header;
        long fraction = *(int*)(header + _timevalField);
        uint caplen = *(uint*)(header + 2 * _timevalField);
        uint len = *(uint*)(header + 2 * _timevalField + 4);
        int length = (int)Math.Min(caplen, (uint)FrameSourceBase.MaxCaptureLength);
        if (length > _buffer.Length) _buffer = new byte[Math.Min(FrameSourceBase.MaxCaptureLength, (int)BitOperations.RoundUpToPowerOf2((uint)length))];
        new ReadOnlySpan<byte>(data, length).CopyTo(_buffer);
        long ns = seconds * 1_000_000_000L + (_nanosecond ? fraction : fraction * 1000);
        FramesCaptured++;
        _bytes += length;
        _header = new FrameHeader(ns, LinkType, length, (int)Math.Min(len, int.MaxValue), 0, FramesCaptured, Options.FileIndex);
    }

    private void MaybeRefreshStatistics()
    {
        if (Environment.TickCount64 - _lastStatisticsMs >= StatisticsIntervalMs) RefreshStatistics();
    }

    private void Finish()
    {
        if (_finished) return;
        _finished = true;
        _header = default;
        RefreshStatistics();
    }

    private void Fail(int status)
    {
        string detail = SafeLastError(_device);
        _errors.Add(new CaptureReadError(_device.Name, FramesCaptured,
            $"live capture stopped after {FramesCaptured} frames: pcap_next_ex returned {status}" + (detail.Length > 0 ? ": " + detail : "")));
        Finish();
    }

    /// <summary>LINKTYPE_ value for a DLT_ value from pcap_datalink. They are equal except raw IP, whose DLT is 12 or 14 by platform.</summary>
    internal static LinkType ToLinkType(int dlt) => dlt switch
    {
        12 or 14 => LinkType.Raw,
        _ => (LinkType)(ushort)dlt,
    };

    private static int TimeoutMs(LiveCaptureOptions o) => (int)Math.Max(1, o.ReadTimeout.TotalMilliseconds);

    private static void Validate(LiveCaptureOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Interface))
            throw new LiveCaptureException(LiveCaptureProblem.BadOptions, "no interface given; list them with --list-interfaces");
        if (o.SnapLength is < LiveCaptureOptions.MinSnapLength or > LiveCaptureOptions.MaxSnapLength)
            throw new LiveCaptureException(LiveCaptureProblem.BadOptions, $"snap length {o.SnapLength} is outside {LiveCaptureOptions.MinSnapLength}..{LiveCaptureOptions.MaxSnapLength} bytes");
        if (o.BufferSize < LiveCaptureOptions.MinBufferSize)
            throw new LiveCaptureException(LiveCaptureProblem.BadOptions, $"capture buffer {o.BufferSize} bytes is below the minimum of {LiveCaptureOptions.MinBufferSize} (1 MiB)");
        if (o.ReadTimeout <= TimeSpan.Zero || o.ReadTimeout > TimeSpan.FromSeconds(10))
            throw new LiveCaptureException(LiveCaptureProblem.BadOptions, $"read timeout {o.ReadTimeout.TotalMilliseconds} ms is outside 1..10000 ms");
    }

    private static LiveCaptureException BadFilter(string filter, string error) =>
        new(LiveCaptureProblem.BadFilter, $"invalid capture filter \"{filter}\": {error.TrimEnd('.')} (tcpdump filter syntax, see man pcap-filter)");

    /// <summary>SharpPcap prefixes libpcap's text with "can't parse filter expression: " or "Can't set filter (…) : ".</summary>
    private static string StripFilterPrefix(string message)
    {
        int colon = message.LastIndexOf(": ", StringComparison.Ordinal);
        return colon >= 0 ? message[(colon + 2)..] : message;
    }

    private static LiveCaptureException OpenError(string name, PcapException e, string detail)
    {
        string text = detail.Length > 0 ? detail : e.Message;
        bool denied = e.Error is PcapError.PermissionDenied or PcapError.PromiscuousPermissionDenied
            || text.Contains("Operation not permitted", StringComparison.OrdinalIgnoreCase)
            || text.Contains("permission denied", StringComparison.OrdinalIgnoreCase);
        if (denied)
            return new LiveCaptureException(LiveCaptureProblem.PermissionDenied,
                $"cannot capture on '{name}' ({text.TrimEnd('.')}). " + LivePreflight.PermissionMessage(Environment.ProcessPath ?? "trafficaudit"), e);
        if (e.Error == PcapError.NoSuchDevice)
            return new LiveCaptureException(LiveCaptureProblem.NoSuchInterface, $"no capture interface named '{name}' ({text.TrimEnd('.')}); available: {LiveInterfaces.Names()}", e);
        if (e.Error == PcapError.InterfaceNotUp)
            return new LiveCaptureException(LiveCaptureProblem.InterfaceDown, $"interface '{name}' is down; bring it up first (ip link set {name} up)", e);
        return new LiveCaptureException(LiveCaptureProblem.OpenFailed, $"cannot capture on '{name}': {text}", e);
    }

    private static string SafeLastError(PcapDevice device)
    {
        try
        {
            return device.Handle.IsInvalid || device.Handle.IsClosed ? "" : device.LastError ?? "";
        }
        catch (Exception e) when (e is PcapException or ObjectDisposedException or InvalidOperationException)
        {
            return "";
        }
    }

    /// <summary>Exposes the descriptor SharpPcap obtains with pcap_get_selectable_fd (Linux; -1 elsewhere).</summary>
    private sealed class SelectableLiveDevice(PcapInterface pcapInterface) : LibPcapLiveDevice(pcapInterface)
    {
        public int SelectableFd => FileDescriptor;
    }
}
