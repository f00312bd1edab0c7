using System.Globalization;
using SharpPcap;

namespace TrafficAudit.Capture.Live;

/// <summary>The outcome of <see cref="LivePreflight.Check(string?)"/>: OK, or the problem with a message that says what to do.</summary>
public sealed record LivePreflightResult(bool Ok, LiveCaptureProblem? Problem, string Message, Version? LibpcapVersion);

/// <summary>
/// Start-up checks for live capture, so the user sees one clear sentence instead of a
/// DllNotFoundException for 'wpcap' or an "Operation not permitted" stack trace:
/// <list type="number">
/// <item>libpcap can be loaded (SharpPcap's <c>Pcap.LibpcapVersion</c> is the first native call);</item>
/// <item>on Linux, the process is root or holds CAP_NET_RAW (read from CapEff in /proc/self/status);</item>
/// <item>when an interface is named, it really opens (the authoritative test: it also catches a
/// missing interface, one that is down, and capability checks the kernel makes beyond ours).</item>
/// </list>
/// </summary>
public static class LivePreflight
{
    /// <summary>CAP_NET_ADMIN and CAP_NET_RAW bit numbers (linux/capability.h).</summary>
    private const int CapNetAdmin = 12;
    private const int CapNetRaw = 13;

    public static LivePreflightResult Check(string? interfaceName = null)
    {
        ulong? caps = null;
        if (OperatingSystem.IsLinux())
        {
            try
            {
                if (TryParseEffectiveCapabilities(File.ReadAllText("/proc/self/status"), out ulong c)) caps = c;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var result = Evaluate(static () => Pcap.LibpcapVersion, Environment.IsPrivilegedProcess, caps, Environment.ProcessPath ?? "trafficaudit");
        if (!result.Ok || interfaceName is null) return result;
        try
        {
            using var probe = LiveFrameSource.Open(new LiveCaptureOptions
            {
                Interface = interfaceName,
                Promiscuous = false,
                SnapLength = LiveCaptureOptions.MinSnapLength,
                BufferSize = LiveCaptureOptions.MinBufferSize,
            });
        }
        catch (LiveCaptureException e)
        {
            return new LivePreflightResult(false, e.Problem, e.Message, result.LibpcapVersion);
        }
        return result with { Message = $"libpcap {result.LibpcapVersion}; interface '{interfaceName}' opens for capture" };
    }

    /// <summary>Throws <see cref="LiveCaptureException"/> (<see cref="LiveCaptureProblem.LibpcapMissing"/>) when libpcap cannot be loaded; returns its version.</summary>
    public static Version EnsureLibpcap()
    {
        var r = EvaluateLibpcap(static () => Pcap.LibpcapVersion, out var version);
        if (r is not null) throw new LiveCaptureException(LiveCaptureProblem.LibpcapMissing, r);
        return version!;
    }

    /// <summary>The decision, on facts a test can supply.</summary>
    internal static LivePreflightResult Evaluate(Func<Version> libpcapVersion, bool isRoot, ulong? effectiveCapabilities, string processPath)
    {
        string? missing = EvaluateLibpcap(libpcapVersion, out var version);
        if (missing is not null) return new LivePreflightResult(false, LiveCaptureProblem.LibpcapMissing, missing, null);
        bool hasRaw = effectiveCapabilities is ulong c && (c & (1UL << CapNetRaw)) != 0;
        // Off Linux there is no CapEff: only the open itself can tell, so do not refuse here.
        bool unknown = effectiveCapabilities is null && !OperatingSystem.IsLinux();
        if (!isRoot && !hasRaw && !unknown)
            return new LivePreflightResult(false, LiveCaptureProblem.PermissionDenied, PermissionMessage(processPath), version);
        return new LivePreflightResult(true, null, $"libpcap {version}; " + (isRoot ? "running as root" : hasRaw ? "CAP_NET_RAW granted" : "privileges not checked on this system"), version);
    }

    private static string? EvaluateLibpcap(Func<Version> libpcapVersion, out Version? version)
    {
        version = null;
        try
        {
            version = libpcapVersion();
            // SharpPcap (6.3) catches the failed load itself: without libpcap its version reads 0.0 and the first real
            // call throws.
            if (version is { Major: 0, Minor: 0 })
            {
                version = null;
                return LibpcapMissingMessage("no libpcap version could be read");
            }
            return null;
        }
        catch (Exception e) when (IsMissingLibrary(e))
        {
            return LibpcapMissingMessage(Innermost(e).Message);
        }
    }

    /// <summary>True for the ways a missing or unusable libpcap shows up on the first native call.</summary>
    internal static bool IsMissingLibrary(Exception e) => Innermost(e) is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException;

    private static Exception Innermost(Exception e)
    {
        while (e is TypeInitializationException { InnerException: { } inner }) e = inner;
        return e;
    }

    internal static string LibpcapMissingMessage(string detail) =>
        "live capture needs libpcap, which could not be loaded (" + detail.TrimEnd('.') + "). " +
        "Install it: sudo apt-get install libpcap0.8 (Debian/Ubuntu), sudo dnf install libpcap (Fedora/RHEL); on Windows install Npcap.";

    internal static string PermissionMessage(string processPath)
    {
        string message = "capturing packets needs privileges: this process is not root and has neither CAP_NET_RAW nor CAP_NET_ADMIN. " +
            "Run it as root (sudo), or grant the executable the capabilities once: " +
            $"sudo setcap cap_net_raw,cap_net_admin+eip {processPath}";
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            message += " (that is the shared dotnet host: rather publish trafficaudit as its own executable and grant that file)";
        return message;
    }

    /// <summary>Reads the hexadecimal CapEff line of /proc/self/status.</summary>
    internal static bool TryParseEffectiveCapabilities(string procStatus, out ulong capabilities)
    {
        capabilities = 0;
        foreach (var line in procStatus.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith("CapEff:")) continue;
            return ulong.TryParse(line["CapEff:".Length..].Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out capabilities);
        }
        return false;
    }
}
