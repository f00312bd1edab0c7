using System.Runtime.InteropServices;

namespace TrafficAudit.Capture.Live;

/// <summary>poll(2) on one descriptor, without allocation; resolved from the C library at first use.</summary>
internal static unsafe class Posix
{
    private const short PollIn = 0x001;
    private const short PollPri = 0x002;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    private static readonly delegate* unmanaged<PollFd*, nuint, int, int> s_poll = LoadPoll();

    /// <summary>True when <see cref="WaitReadable"/> can be used.</summary>
    public static bool Available => s_poll != null;

    /// <summary>
    /// Waits until <paramref name="fd"/> is readable or <paramref name="timeoutMs"/> passes.
    /// Returns &gt; 0 readable, 0 timeout, &lt; 0 interrupted or failed (the caller simply reads again).
    /// </summary>
    public static int WaitReadable(int fd, int timeoutMs)
    {
        var p = new PollFd { Fd = fd, Events = PollIn | PollPri };
        return s_poll(&p, 1, timeoutMs);
    }

    private static delegate* unmanaged<PollFd*, nuint, int, int> LoadPoll()
    {
        if (OperatingSystem.IsWindows()) return null;
        string[] names = OperatingSystem.IsMacOS() ? ["/usr/lib/libSystem.B.dylib"] : ["libc.so.6", "libc.so", "libc"];
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var lib) && NativeLibrary.TryGetExport(lib, "poll", out var fn))
                return (delegate* unmanaged<PollFd*, nuint, int, int>)fn;
        }
        return null;
    }
}
