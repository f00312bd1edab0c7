using System.Runtime.InteropServices;

namespace TrafficAudit.Capture.Live;

/// <summary>
/// pcap_stats(3PCAP) called directly. SharpPcap 6.3.1 declares <c>struct pcap_stat</c> with
/// pointer-sized fields, but libpcap's are 32-bit <c>u_int</c>: on 64-bit Linux its
/// <c>DroppedPackets</c> then returns ps_ifdrop and the kernel's ps_drop is never seen (measured:
/// 4,992 of 5,000 burst packets lost with DroppedPackets = 0, while ps_drop said 4,992).
/// </summary>
internal static unsafe class PcapStats
{
    private static readonly delegate* unmanaged<IntPtr, uint*, int> s_stats = Load();

    public static bool Available => s_stats != null;

    /// <summary>ps_recv, ps_drop, ps_ifdrop of the handle; false when libpcap reports an error.</summary>
    public static bool TryRead(IntPtr pcap, out uint received, out uint dropped, out uint interfaceDropped)
    {
        // struct pcap_stat: three u_int on every platform, plus three more (ps_capt, ps_sent, ps_netdrop) on Windows.
        uint* stat = stackalloc uint[8];
        new Span<uint>(stat, 8).Clear();
        int r = s_stats == null ? -1 : s_stats(pcap, stat);
        received = stat[0];
        dropped = stat[1];
        interfaceDropped = stat[2];
        return r == 0;
    }

    private static delegate* unmanaged<IntPtr, uint*, int> Load()
    {
        // The names SharpPcap's resolver tries; loading again gives the library already in the process.
        string[] names = OperatingSystem.IsWindows() ? ["wpcap.dll"]
            : OperatingSystem.IsMacOS() ? ["libpcap.dylib", "libpcap.A.dylib"]
            : ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so.0", "libpcap.so"];
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var lib) && NativeLibrary.TryGetExport(lib, "pcap_stats", out var fn))
                return (delegate* unmanaged<IntPtr, uint*, int>)fn;
        }
        return null;
    }
}
