using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>Anomaly counters raised by the policy layer (rows of anomalies.csv beside the engine's).</summary>
public static class PolicyAnomalies
{
    /// <summary>Findings counted in a summary finding instead of being listed (cap per kind and client address).</summary>
    public const string FindingsSummarised = "findings_summarised";

    /// <summary>The result with the verdict's counters added to its anomalies (same result when there is none).</summary>
    public static AuditResult WithVerdictAnomalies(AuditResult result, Verdict verdict)
    {
        if (verdict.SummarisedFindings == 0) return result;
        var entries = new List<AnomalyCounters.Entry>(result.Anomalies) { new(FindingsSummarised, 0, 0) { Count = verdict.SummarisedFindings } };
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new AuditResult
        {
            Flows = result.Flows, Streams = result.Streams, Calls = result.Calls, Voip = result.Voip, Nodes = result.Nodes,
            Statistics = result.Statistics, Anomalies = entries, Interfaces = result.Interfaces, Errors = result.Errors,
        };
    }
}
