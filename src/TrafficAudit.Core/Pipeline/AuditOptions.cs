using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline;

/// <summary>What the engine needs to know before the first packet.</summary>
public sealed record AuditOptions
{
    /// <summary>Imagicle nodes given by the user (--server); empty means detect them.</summary>
    public IReadOnlyList<IpAddress> Servers { get; init; } = [];
    /// <summary>Where <see cref="Servers"/> came from: --server or the profile's "nodes" (told as such in every output).</summary>
    public Classification.NodeSource ServersSource { get; init; } = Classification.NodeSource.Server;
    public FlowTimeouts Timeouts { get; init; } = new();
    /// <summary>Run VoIP analysis on a second thread; null: when the machine has more than one core.</summary>
    public bool? ParallelVoip { get; init; }
    /// <summary>Times and caps of the VoIP stage; null: the defaults, with the streams' idle time taken from <see cref="Timeouts"/>.</summary>
    public VoipTrackerOptions? Voip { get; init; }
}
