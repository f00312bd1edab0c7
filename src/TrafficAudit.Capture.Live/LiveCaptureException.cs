namespace TrafficAudit.Capture.Live;

/// <summary>What stops a live capture from starting (or ends it). Each has one clear remedy in the message.</summary>
public enum LiveCaptureProblem
{
    /// <summary>libpcap could not be loaded: install it (apt-get install libpcap0.8).</summary>
    LibpcapMissing,
    /// <summary>Not root and no CAP_NET_RAW/CAP_NET_ADMIN: run as root or setcap the binary.</summary>
    PermissionDenied,
    /// <summary>No capture interface of that name.</summary>
    NoSuchInterface,
    /// <summary>The interface exists but is down.</summary>
    InterfaceDown,
    /// <summary>The BPF capture filter does not compile.</summary>
    BadFilter,
    /// <summary>An option is out of range (snap length, buffer size, timeout).</summary>
    BadOptions,
    /// <summary>libpcap refused for another reason; the message carries its text.</summary>
    OpenFailed,
    /// <summary>Reading failed after the capture started (interface removed…).</summary>
    ReadFailed,
}

/// <summary>
/// A configuration or environment error of a live capture, with a message meant for the user as is
/// (no stack trace needed). The CLI prints <see cref="Exception.Message"/> and exits.
/// </summary>
public sealed class LiveCaptureException(LiveCaptureProblem problem, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public LiveCaptureProblem Problem { get; } = problem;
}
