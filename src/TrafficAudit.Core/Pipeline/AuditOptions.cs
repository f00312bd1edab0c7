using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Pipeline;

/// <summary>What the engine needs to know before the first packet.</summary>
public sealed record AuditOptions
{
    /// <summary>Imagicle nodes given by the user (--server); empty means detect them.</summary>
    public IReadOnlyList<IpAddress> Servers { get; init; } = [];
    /// <summary>Where <see cref="Servers"/> came from: --server or the profile's "nodes" (told as such in every output).</summary>
    public Classification.NodeSource ServersSource { get; init; } = Classification.NodeSource.Server;
    public FlowTimeouts Timeouts { get; init; } = new();
    /// <summary>Default of <see cref="MaxActiveFlows"/> (README "Caps", counter <c>flow_table_full</c>).</summary>
    public const int DefaultMaxActiveFlows = 125_000;
    /// <summary>Default of <see cref="MaxHeldFlows"/> (README "Caps", counter <c>flow_hold_full</c>).</summary>
    public const int DefaultMaxHeldFlows = 20_000;

    /// <summary>
    /// Flows followed at once. A new flow beyond it closes the least recently seen ones early (end_reason
    /// <c>evicted</c>, counted in <c>flow_table_full</c>); they are still written.
    /// </summary>
    public int MaxActiveFlows { get; init; } = DefaultMaxActiveFlows;
    /// <summary>
    /// With the nodes detected (no <see cref="Servers"/>): ended flows held unclassified until the nodes are
    /// decided. When this many are held before the end of input, the nodes are decided over them and every
    /// later flow is classified as it ends (counted in <c>flow_hold_full</c>).
    /// </summary>
    public int MaxHeldFlows { get; init; } = DefaultMaxHeldFlows;
    /// <summary>Run VoIP analysis on a second thread; null: when the machine has more than one core.</summary>
    public bool? ParallelVoip { get; init; }
    /// <summary>
    /// Flow shards, each on its own thread (0: none, the flow table runs on the caller's thread). With shards the
    /// caller's thread reads, decodes and dispatches packets by flow and merges the shards' results in capture
    /// order, and the VoIP stage runs on its own thread. Results are the same for every count (as long as no
    /// shard reaches its share of <see cref="MaxActiveFlows"/>).
    /// </summary>
    public int Shards { get; init; }
    /// <summary>Times and caps of the VoIP stage; null: the defaults, with the streams' idle time taken from <see cref="Timeouts"/>.</summary>
    public VoipTrackerOptions? Voip { get; init; }
}
