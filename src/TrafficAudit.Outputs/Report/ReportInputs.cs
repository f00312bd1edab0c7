using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Outputs.Report;

/// <summary>Builds the report's input from an audit result and its policy verdict (the report computes nothing the CSVs lack).</summary>
public static class ReportInputs
{
    /// <param name="totals">The run's totals, built with <see cref="BudgetOf"/> of the verdict's profile; null: built from the result's records.</param>
    public static ReportInput Create(AuditResult result, Verdict verdict, IReadOnlyList<string> files, string toolVersion, string commandLine,
        bool serversGiven, Anonymizer? anonymizer, bool live = false, int? refreshSeconds = null, string? title = null, RunTotals? totals = null)
    {
        var profile = verdict.Profile;
        // Every host name of the result is known before any text is scrubbed (finding messages name them).
        anonymizer?.Learn(result);
        var thresholds = verdict.Thresholds;
        return new ReportInput
        {
            Result = result,
            Totals = totals,
            Files = files,
            ToolVersion = toolVersion,
            CommandLine = commandLine,
            Title = string.IsNullOrWhiteSpace(title) ? null : title,
            CallKbpsBudget = thresholds.CallKbps,
            JitterBudgetMs = thresholds.JitterMs,
            LossBudgetPct = thresholds.LossPct,
            Profile = profile?.SourceName,
            ServersGiven = serversGiven,
            Anonymizer = anonymizer,
            Live = live,
            RefreshSeconds = refreshSeconds,
            // Without a profile there are no expectations: the report says so instead of a verdict.
            // Requirement texts name the profile's peers: with --anonymize they get the same pseudonyms as everything else.
            Verdict = verdict.Expected?.Select(e => Scrub(VerdictLine(e), anonymizer)).ToList(),
            ExpectedFlows = verdict.Expected?.Select(e => ExpectedFlowOf(e) is var x && anonymizer is not null ? x with { Peer = anonymizer.Text(x.Peer) } : ExpectedFlowOf(e)).ToList(),
            Findings = verdict.Findings.Select(FindingOf).ToList(),
            Banner = verdict.Summarize() is var b && anonymizer is not null ? b with { Detail = anonymizer.Text(b.Detail) } : verdict.Summarize(),
        };
    }

    /// <summary>The thresholds the report holds calls against for a profile (the defaults without one): what <see cref="RunTotals"/> must be built with.</summary>
    public static CallQualityBudget BudgetOf(DeploymentProfile? profile) => CallQualityBudget.From(profile?.Thresholds);

    private static ReportVerdictLine Scrub(ReportVerdictLine line, Anonymizer? anonymizer) =>
        anonymizer is null ? line : line with { Requirement = anonymizer.Text(line.Requirement), Detail = anonymizer.Text(line.Detail) };

    private static ReportVerdictLine VerdictLine(ExpectedFlow e) => new(
        $"{e.Requirement.Title}: {e.Requirement.Ports}, {PeerText(e.Requirement)}", e.Status, e.Detail);

    private static ReportExpectedFlow ExpectedFlowOf(ExpectedFlow e) => new(
        e.Requirement.Service,
        e.Requirement.Applications,
        PeerText(e.Requirement),
        e.Requirement.Ports,
        e.Status,
        e.FlowIds);

    private static ReportFinding FindingOf(Finding f) => new(
        f.Severity switch { FindingSeverity.Error => ReportSeverity.Error, FindingSeverity.Warning => ReportSeverity.Warning, _ => ReportSeverity.Info },
        f.Kind, f.Service, f.Applications, f.ClientIp, (ushort)(f.ClientPort ?? 0), f.ServerIp, (ushort)(f.ServerPort ?? 0), f.Transport,
        f.FirstSeenNs, f.Count, f.Measured, f.Threshold, f.Unit, f.Method, f.Rule, f.Message, f.WiresharkFilter);

    private static string PeerText(Requirement r) => r.PeerRole is "any" or "nodes"
        ? (r.PeerRole == "any" ? "any peer" : "between nodes")
        : r.PeerRole + " " + string.Join(", ", r.Peers.Select(p => p.PrefixLength == (p.Network.IsV4 ? 32 : 128) ? p.Network.ToString() : p.ToString()));
}
