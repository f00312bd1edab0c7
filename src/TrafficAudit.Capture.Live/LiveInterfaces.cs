using System.Net;
using System.Net.Sockets;
using SharpPcap;
using SharpPcap.LibPcap;

namespace TrafficAudit.Capture.Live;

/// <summary>A capture interface as libpcap lists it (pcap_findalldevs).</summary>
public sealed record LiveInterfaceInfo(
    string Name,
    string? Description,
    /// <summary>IPv4 and IPv6 addresses bound to it.</summary>
    IReadOnlyList<IPAddress> Addresses,
    /// <summary>Link type of frames captured on it; null when it could not be opened to ask (no privilege, or it refuses).</summary>
    LinkType? LinkType,
    bool IsUp,
    bool IsRunning,
    bool IsLoopback,
    bool IsWireless);

/// <summary>Lists capture interfaces, for <c>trafficaudit live --list-interfaces</c> and error messages.</summary>
public static class LiveInterfaces
{
    // pcap_if_t flags (pcap/pcap.h).
    private const uint IfLoopback = 0x1;
    private const uint IfUp = 0x2;
    private const uint IfRunning = 0x4;
    private const uint IfWireless = 0x8;

    /// <summary>
    /// Every interface libpcap can capture on, in its order. With <paramref name="probeLinkTypes"/>
    /// each one is briefly opened (needs privilege) to learn its link type.
    /// </summary>
    /// <exception cref="LiveCaptureException">libpcap is missing.</exception>
    public static IReadOnlyList<LiveInterfaceInfo> List(bool probeLinkTypes = true)
    {
        LivePreflight.EnsureLibpcap();
        var result = new List<LiveInterfaceInfo>();
        foreach (var pcapIf in PcapInterface.GetAllPcapInterfaces())
        {
            var addresses = new List<IPAddress>();
            foreach (var a in pcapIf.Addresses)
            {
                var ip = a.Addr?.ipAddress;
                if (ip is not null && ip.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) addresses.Add(ip);
            }
            uint flags = pcapIf.Flags;
            result.Add(new LiveInterfaceInfo(pcapIf.Name, pcapIf.Description, addresses,
                probeLinkTypes ? ProbeLinkType(pcapIf) : null,
                IsUp: (flags & IfUp) != 0, IsRunning: (flags & IfRunning) != 0,
                IsLoopback: (flags & IfLoopback) != 0, IsWireless: (flags & IfWireless) != 0));
        }
        return result;
    }

    /// <summary>Interface names joined for an error message ("eth0, lo, any").</summary>
    internal static string Names()
    {
        try
        {
            return string.Join(", ", PcapInterface.GetAllPcapInterfaces().Select(i => i.Name));
        }
        catch (PcapException e)
        {
            return "(cannot list interfaces: " + e.Message + ")";
        }
    }

    private static LinkType? ProbeLinkType(PcapInterface pcapIf)
    {
        try
        {
            using var device = new LibPcapLiveDevice(pcapIf);
            var config = new DeviceConfiguration { Mode = DeviceModes.None, Snaplen = 64, ReadTimeout = 10, BufferSize = LiveCaptureOptions.MinBufferSize };
            config.ConfigurationFailed += static (_, _) => { };
            device.Open(config);
            return LiveFrameSource.ToLinkType((int)device.LinkType);
        }
        catch (PcapException)
        {
            return null;
        }
    }
}
