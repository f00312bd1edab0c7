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
        IReadOnlyList<PcapInterface> all;
        try
        {
            all = PcapInterface.GetAllPcapInterfaces();
        }
        catch (Exception e) when (LivePreflight.IsMissingLibrary(e))
        {
            // SharpPcap's version string does not always need the library (without libpcap it read as a version and the
            // first real call threw): the listing's own call says so too.
            throw new LiveCaptureException(LiveCaptureProblem.LibpcapMissing, LivePreflight.LibpcapMissingMessage(e.Message), e);
        }
        foreach (var pcapIf in all)
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

    /// <summary>
    /// The interface name for what the user gave to -i: a name as is, or a number as
    /// <c>dumpcap -D</c> and <c>trafficaudit interfaces</c> print it (1 = the first interface
    /// libpcap lists). A name made only of digits wins over the number.
    /// </summary>
    /// <exception cref="LiveCaptureException">A number beyond the list (NoSuchInterface), or libpcap is missing.</exception>
    public static string Resolve(string nameOrNumber)
    {
        if (nameOrNumber.Length == 0 || nameOrNumber.Length > 6 || !nameOrNumber.All(char.IsAsciiDigit)) return nameOrNumber;
        LivePreflight.EnsureLibpcap();
        var all = PcapInterface.GetAllPcapInterfaces();
        if (all.Any(i => i.Name == nameOrNumber)) return nameOrNumber;
        int n = int.Parse(nameOrNumber, System.Globalization.CultureInfo.InvariantCulture);
        if (n >= 1 && n <= all.Count) return all[n - 1].Name;
        throw new LiveCaptureException(LiveCaptureProblem.NoSuchInterface,
            $"there is no interface number {nameOrNumber}: 'trafficaudit interfaces' lists {all.Count} ({string.Join(", ", all.Select((i, k) => $"{k + 1} {i.Name}"))})");
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
