using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline;

/// <summary>What the engine needs to know before the first packet.</summary>
public sealed record AuditOptions
{
    /// <summary>Imagicle nodes given by the user (--server); empty means detect them.</summary>
    public IReadOnlyList<IpAddress> Servers { get; init; } = [];
    public FlowTimeouts Timeouts { get; init; } = new();
    /// <summary>Run VoIP analysis on a second thread; null: when the machine has more than one core.</summary>
    public bool? ParallelVoip { get; init; }
}
