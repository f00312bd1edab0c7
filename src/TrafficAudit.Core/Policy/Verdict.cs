using TrafficAudit.Catalogue;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>
/// The audit's verdict: the expected-flow matrix (null without a profile) and the findings, merged per
/// <see cref="Finding.Key"/>, ordered by first occurrence and numbered. Computed once, after the capture.
/// </summary>
public sealed class Verdict
{
    private Verdict(IReadOnlyList<ExpectedFlow>? expected, IReadOnlyList<Finding> findings, DeploymentProfile? profile)
    {
        Expected = expected;
        Findings = findings;
        Profile = profile;
    }

    public IReadOnlyList<ExpectedFlow>? Expected { get; }
    /// <summary>Merged findings; index + 1 is the finding_id.</summary>
    public IReadOnlyList<Finding> Findings { get; }
    public DeploymentProfile? Profile { get; }

    /// <summary>Highest severity among the findings, null when there is none.</summary>
    public FindingSeverity? Worst => Findings.Count == 0 ? null : Findings.Max(f => f.Severity);

    /// <summary>True when some finding is at or above <paramref name="level"/> (null: never fails).</summary>
    public bool FailsAt(FindingSeverity? level) => level is { } l && Findings.Any(f => f.Severity >= l);

    public static Verdict Evaluate(AuditResult result, PortCatalogue catalogue, DeploymentProfile? profile)
    {
        var ctx = new PolicyContext(result, catalogue, profile);
        var matrix = profile is null ? null : ExpectedFlowMatrix.Evaluate(ExpectedFlowMatrix.Build(catalogue, profile), ctx);
        return new Verdict(matrix, Merge(FindingRules.All(ctx, matrix)), profile);
    }

    /// <summary>One finding per key: the first occurrence's fields, the count of occurrences, the worst measured value, every flow id.</summary>
    public static IReadOnlyList<Finding> Merge(IEnumerable<Finding> raw)
    {
        var merged = new Dictionary<string, Finding>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var f in raw)
        {
            if (!merged.TryGetValue(f.Key, out var m))
            {
                merged[f.Key] = f;
                order.Add(f.Key);
                continue;
            }
            var first = f.FirstSeenNs < m.FirstSeenNs ? f : m;
            merged[f.Key] = first with
            {
                Count = m.Count + f.Count,
                Measured = m.Measured is { } a && f.Measured is { } b ? Math.Max(a, b) : m.Measured ?? f.Measured,
                FlowIds = m.FlowIds.Concat(f.FlowIds).Distinct().Order().ToArray(),
                Subjects = [.. m.Subjects, .. f.Subjects],
            };
        }
        return order.Select(k => merged[k])
            .OrderBy(f => f.FirstSeenNs)
            .ThenBy(f => FindingKinds.All.ToList().IndexOf(f.Kind))
            .ThenBy(f => f.Key, StringComparer.Ordinal)
            .ToArray();
    }
}
