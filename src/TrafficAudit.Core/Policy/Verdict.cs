using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>What the audit could check, from least to most.</summary>
public enum AuditScope : byte
{
    /// <summary>The capture holds no packet that could be decoded: nothing was audited (exit code 3).</summary>
    NoPackets,
    /// <summary>No Imagicle node is known (none in the profile, none given with --server, none detected): call quality was judged, the vendor's table was not.</summary>
    NoNode,
    /// <summary>Nodes known: checked against the vendor's table (with a profile, also its requirements).</summary>
    Nodes,
}

/// <summary>The verdict in a few words, for the console's closing line and the report's banner.</summary>
/// <param name="Headline">"3 errors, 1 warning", "Clean", "Not audited against the vendor's table"...</param>
/// <param name="Detail">What was checked and, when something was not, what to give.</param>
public sealed record VerdictSummary(string Headline, string Detail, RequirementTone Tone);

/// <summary>
/// The audit's verdict: what could be checked (<see cref="Scope"/>, the nodes and where they came from),
/// the expected-flow matrix (null without a profile or without a node) and the findings, merged per
/// <see cref="Finding.Key"/>, ordered by first occurrence and numbered. Computed once, after the capture.
/// </summary>
public sealed class Verdict
{
    /// <summary>Distinct findings listed per kind and client address; the rest are counted in one summary finding (<c>findings_summarised</c>).</summary>
    public const int MaxFindingsPerKindAndSource = 100;

    internal Verdict(IReadOnlyList<ExpectedFlow>? expected, IReadOnlyList<Finding> findings, DeploymentProfile? profile,
        AuditScope scope, IReadOnlyList<Classification.DetectedNode> nodes, long summarised, IReadOnlyList<AnomalyCounters.Entry> counters)
    {
        Counters = counters;
        SummarisedFindings = summarised;
        Expected = expected;
        Findings = findings;
        Profile = profile;
        Scope = scope;
        Nodes = nodes;
    }

    public IReadOnlyList<ExpectedFlow>? Expected { get; }
    /// <summary>Merged findings; index + 1 is the finding_id.</summary>
    public IReadOnlyList<Finding> Findings { get; }
    /// <summary>Findings not listed one by one but counted in a summary finding (the <c>findings_summarised</c> anomaly).</summary>
    public long SummarisedFindings { get; }
    /// <summary>The policy's anomaly counters that are not zero (findings_summarised and the caps of <see cref="PolicyLimits"/>).</summary>
    public IReadOnlyList<AnomalyCounters.Entry> Counters { get; }
    public DeploymentProfile? Profile { get; }
    /// <summary>The media thresholds judged against: the profile's, else the catalogue's defaults (<see cref="PolicyThresholds.For"/>).</summary>
    public PolicyThresholds Thresholds { get; internal init; } = new();
    public AuditScope Scope { get; }
    /// <summary>The Imagicle nodes the audit used, each with its source and evidence.</summary>
    public IReadOnlyList<Classification.DetectedNode> Nodes { get; }

    /// <summary>Where the node list came from (Detected when there is none).</summary>
    public Classification.NodeSource NodeSource => Nodes.Count == 0 ? Classification.NodeSource.Detected : Nodes[0].Source;

    /// <summary>Highest severity among the findings, null when there is none.</summary>
    public FindingSeverity? Worst => Findings.Count == 0 ? null : Findings.Max(f => f.Severity);

    /// <summary>True when some finding is at or above <paramref name="level"/> (null: never fails).</summary>
    public bool FailsAt(FindingSeverity? level) => level is { } l && Findings.Any(f => f.Severity >= l);

    /// <summary>
    /// The verdict of a whole result: its records fed to a <see cref="PolicyAccumulator"/> (flows by
    /// flow_id, then transactions, streams and calls), the one code path of the rules.
    /// </summary>
    public static Verdict Evaluate(AuditResult result, PortCatalogue catalogue, DeploymentProfile? profile)
    {
        var acc = new PolicyAccumulator(catalogue, profile, result.Nodes);
        foreach (var f in result.Flows) acc.OnFlow(f);
        foreach (var t in result.Voip.Transactions) acc.OnTransaction(t);
        foreach (var s in result.Streams) acc.OnStream(s);
        foreach (var c in result.Calls) acc.OnCall(c);
        return acc.Evaluate(result.Statistics, result.Interfaces, result.Errors);
    }

    /// <summary>Fills <see cref="Finding.Nodes"/> from the conversation's ends when the rule did not set it.</summary>
    internal static Finding WithNodes(PolicyContext ctx, Finding f)
    {
        if (f.Nodes.Count > 0) return f;
        var nodes = new[] { f.ClientIp, f.ServerIp }.OfType<Decode.IpAddress>().Where(ctx.IsNode).Distinct().Order().ToArray();
        return nodes.Length == 0 ? f : f with { Nodes = nodes };
    }

    /// <summary>
    /// A finding that rests on a node detected with weak evidence is at most a warning, and says so.
    /// Call quality does not rest on a node (it is judged for every call); missing_flow rests on all
    /// the nodes, so it is hedged when none of them is given or strongly evidenced.
    /// </summary>
    internal static Finding Hedge(Finding f, IReadOnlyList<Classification.DetectedNode> nodes)
    {
        if (FindingKinds.Quality.Contains(f.Kind) || f.Nodes.Count == 0 || f.Severity != FindingSeverity.Error) return f;
        var involved = nodes.Where(n => f.Nodes.Contains(n.Address)).ToList();
        var weak = involved.Where(n => n.Confidence == Classification.NodeConfidence.Weak).ToList();
        bool hedge = f.Kind == FindingKinds.MissingFlow ? weak.Count > 0 && weak.Count == involved.Count : weak.Count > 0;
        if (!hedge) return f;
        return f with
        {
            SeverityOverride = FindingSeverity.Warning,
            Message = f.Message + $" [a warning, not an error: node {string.Join(", ", weak.Select(n => n.Address))} was detected with weak evidence ({string.Join("; ", weak.Select(n => n.Reason))}); confirm it with --server or the profile's \"nodes\"]",
        };
    }

    /// <summary>
    /// The verdict in words. Never "Clean" unless something was checked: without a node it is "not
    /// audited against the vendor's table" with what to give; without a profile the requirements are
    /// named as not checked.
    /// </summary>
    public VerdictSummary Summarize()
    {
        int errors = Findings.Count(f => f.Severity == FindingSeverity.Error);
        int warnings = Findings.Count(f => f.Severity == FindingSeverity.Warning);
        int infos = Findings.Count - errors - warnings;
        string counts = $"{Plural(errors, "error")}, {Plural(warnings, "warning")}" + (infos > 0 ? $", {infos} info" : "");
        var tone = errors > 0 ? RequirementTone.Bad : RequirementTone.Neutral;
        switch (Scope)
        {
            case AuditScope.NoPackets:
                return new("Nothing audited", "the capture holds no packet that could be decoded", RequirementTone.Neutral);
            case AuditScope.NoNode:
                return new("Not audited against the vendor's table",
                    $"no Imagicle node known ({(Profile is null ? "no profile" : "the profile names no node")}, none given with --server, none detected); {(Profile is null ? "give the nodes with --server IP or --profile FILE" : "add \"nodes\" to the profile or give --server IP")}. " +
                    $"Call quality was judged for every call: {counts}", tone);
        }
        string nodes = NodesText();
        if (Expected is null)
            return new(errors + warnings == 0 ? "No finding; requirements not checked" : counts,
                $"checked against the vendor's table with {nodes}; no --profile, so no requirement was checked (give --profile FILE for the expected-flow matrix)",
                errors > 0 ? RequirementTone.Bad : RequirementTone.Neutral);
        int pass = Expected.Count(e => e.Status.State == RequirementState.Pass);
        int fail = Expected.Count(e => e.Status.State == RequirementState.Fail);
        int notSeen = Expected.Count(e => e.Status.State == RequirementState.NotSeenRequired);
        string reqs = $"{pass} of {Expected.Count} requirements PASS" + (fail > 0 ? $", {fail} FAIL" : "") + (notSeen > 0 ? $", {notSeen} NOT SEEN (required)" : "");
        bool weak = Nodes.Any(n => n.Confidence == Classification.NodeConfidence.Weak);
        bool clean = errors + warnings == 0 && fail + notSeen == 0;
        return new(clean ? (weak ? "Clean, with weakly detected nodes" : "Clean") : counts,
            $"checked against the vendor's table and profile {Path.GetFileName(Profile!.SourceName)} with {nodes}; {reqs}",
            errors > 0 || fail + notSeen > 0 ? RequirementTone.Bad : clean && !weak ? RequirementTone.Good : RequirementTone.Neutral);
    }

    /// <summary>"node 10.0.0.10 given in the profile", "2 nodes detected (1 with weak evidence)".</summary>
    public string NodesText()
    {
        if (Nodes.Count == 0) return "no node";
        string list = Nodes.Count == 1 ? $"node {Nodes[0].Address}" : $"{Nodes.Count} nodes ({string.Join(", ", Nodes.Select(n => n.Address))})";
        int weak = Nodes.Count(n => n.Confidence == Classification.NodeConfidence.Weak);
        return $"{list} {Classification.DetectedNode.SourceText(NodeSource)}" + (weak > 0 ? $" ({weak} with weak evidence)" : "");
    }

    private static string Plural(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    /// <summary>One finding per key: the first occurrence's fields, the count of occurrences, the worst measured value, every flow id.</summary>
    public static IReadOnlyList<Finding> Merge(IEnumerable<Finding> raw) => Merge(raw, int.MaxValue, out _);

    /// <summary>
    /// One finding per key, as <see cref="Merge(IEnumerable{Finding})"/>; at most <paramref name="cap"/> distinct
    /// findings per kind and client address (a port scan, a flood of unanswered requests): the occurrences
    /// past it are counted in one summary finding of that kind and address, and in <paramref name="summarised"/>.
    /// Linear in the raw findings: flow ids are collected per key and sorted once.
    /// </summary>
    /// <param name="isNode">Tells the nodes of a summary finding from its findings' ends (null: none).</param>
    /// <param name="finish">Applied to each merged finding and each summary before ordering (null: none).</param>
    public static IReadOnlyList<Finding> Merge(IEnumerable<Finding> raw, int cap, out long summarised,
        Func<Decode.IpAddress, bool>? isNode = null, Func<Finding, Finding>? finish = null)
    {
        // The raw findings in the order given: the first met is the first occurrence among equal times and is listed first.
        var merger = new FindingMerger(int.MaxValue, int.MaxValue);
        int i = 0;
        foreach (var f in raw) merger.Add(f, FindingRank.End(i++));
        return merger.Build([], cap, out summarised, out _, isNode, finish);
    }
}
