using TrafficAudit.Synth.Building;

namespace TrafficAudit.Synth.Scenarios;

/// <summary>
/// A named, deterministic capture recipe. To add one (e.g. one per finding kind): write a class
/// that composes <see cref="SiteFlows"/> methods (add a method there for a new kind of flow) and
/// list it in <see cref="ScenarioCatalog.All"/>.
/// </summary>
public interface IScenario
{
    /// <summary>Command-line name, kebab-case (also the output file name).</summary>
    string Name { get; }
    string Description { get; }
    SyntheticCapture Build(int seed);
}

public static class ScenarioCatalog
{
    public static IReadOnlyList<IScenario> All { get; } =
    [
        new SiteScenario(),
        new CleanSiteScenario(),
        new BlockedScenario(),
        new RefusedScenario(),
        new UnexpectedFlowScenario(),
        new MissingFlowScenario(),
        new OverLatencyScenario(),
        new SlowResponseScenario(),
        new OneWayMediaScenario(),
        new RtcpOverLatencyScenario(),
        new OverBandwidthScenario(),
        new HighJitterScenario(),
        new PacketLossScenario(),
        new ProxyInUseScenario(),
        new CaptureLossScenario(),
        new DuplicatePacketsScenario(),
        new NoNodeBadCallScenario(),
        new EmptyCaptureScenario(),
        new TwoMissingOnePeerScenario(),
        new SipProvider5070Scenario(),
        new WeakNodeEvidenceScenario(),
        new JitterBufferMosScenario(),
        new RtcpMuxScenario(),
    ];

    public static IScenario? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}
