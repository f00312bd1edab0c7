using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>Anomaly counters raised by the policy layer (rows of anomalies.csv beside the engine's).</summary>
public static class PolicyAnomalies
{
    /// <summary>Findings counted in a summary finding instead of being listed (cap per kind and client address).</summary>
    public const string FindingsSummarised = "findings_summarised";
    /// <summary>Flows forgotten by the policy's join index at its cap (<see cref="PolicyLimits.JoinFlows"/>); a transaction or stream ending later is judged without its flow.</summary>
    public const string FlowsForgotten = "policy_flows_forgotten";
    /// <summary>Transactions or streams judged before the end because too many waited for their flow (<see cref="PolicyLimits.PendingJoins"/>).</summary>
    public const string JoinsEarly = "policy_joins_early";
    /// <summary>Raw findings of a new key once the table of distinct findings was full (<see cref="PolicyLimits.FindingKeys"/>): counted in their summary finding.</summary>
    public const string FindingKeysLimit = "finding_keys_limit";
    /// <summary>Rows of findings.csv or expected_flows.csv whose flow id list was cut to its lowest ids (<see cref="PolicyLimits.FlowIdsPerRow"/>).</summary>
    public const string FlowIdsCut = "evidence_flow_ids_cut";

    /// <summary>The result with the verdict's counters added to its anomalies (same result when there is none).</summary>
    public static AuditResult WithVerdictAnomalies(AuditResult result, Verdict verdict)
    {
        if (verdict.Counters.Count == 0) return result;
        var entries = new List<AnomalyCounters.Entry>(result.Anomalies);
        entries.AddRange(verdict.Counters);
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new AuditResult
        {
            Flows = result.Flows, Streams = result.Streams, Calls = result.Calls, Voip = result.Voip, Nodes = result.Nodes,
            Statistics = result.Statistics, Anomalies = entries, Interfaces = result.Interfaces, Errors = result.Errors,
        };
    }
}
