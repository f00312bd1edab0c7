using TrafficAudit.Decode;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Outputs.Report;

/// <summary>Severity of a finding; the report lists errors first.</summary>
public enum ReportSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>One line of the verdict: a requirement and its outcome.</summary>
/// <param name="Status">The requirement's state, worded and coloured by <see cref="RequirementStatus"/> as everywhere else.</param>
public sealed record ReportVerdictLine(string Requirement, RequirementStatus Status, string Detail = "");

/// <summary>
/// One finding of the policy stage, with its evidence. Measured/Threshold are null when the finding is
/// not about a figure; ports are 0 when not relevant; FirstSeenNs is a capture timestamp (ns since the
/// Unix epoch), 0 when unknown.
/// </summary>
public sealed record ReportFinding(
    ReportSeverity Severity,
    string Kind,
    string Service,
    string Applications,
    IpAddress? ClientIp,
    ushort ClientPort,
    IpAddress? ServerIp,
    ushort ServerPort,
    string Transport,
    long FirstSeenNs,
    long Count,
    double? Measured,
    double? Threshold,
    string Unit,
    string Method,
    string Rule,
    string Message,
    string WiresharkFilter);

/// <summary>One cell of the expected-flow matrix: an application's service towards a peer, and what was seen.</summary>
/// <param name="Applications">';'-joined application ids, as in flows.csv.</param>
/// <param name="Peer">The peer as the profile names it (a role, a host or an address).</param>
/// <param name="Ports">Ports as the profile gives them, e.g. "tcp/443" or "udp/5060-5061".</param>
/// <param name="EvidenceFlowIds">flow_id values of flows.csv that support the status.</param>
public sealed record ReportExpectedFlow(
    string Service,
    string Applications,
    string Peer,
    string Ports,
    RequirementStatus Status,
    IReadOnlyList<int> EvidenceFlowIds);

/// <summary>Everything <see cref="HtmlReportWriter"/> needs. Strings from the capture are escaped by the writer.</summary>
public sealed record ReportInput
{
    /// <summary>The run's facts (statistics, VoIP peaks, nodes, anomalies); its flows, streams and calls are read only through <see cref="Totals"/>.</summary>
    public required AuditResult Result { get; init; }
    /// <summary>
    /// The run's counts and bounded selections of calls (a streaming run's sink); null: built from the records of
    /// <see cref="Result"/>. Built with the report's thresholds (<see cref="CallKbpsBudget"/>, <see cref="JitterBudgetMs"/>,
    /// <see cref="LossBudgetPct"/>) and at least its <see cref="MaxTableCalls"/> and <see cref="MaxChartedCalls"/>.
    /// </summary>
    public RunTotals? Totals { get; init; }
    /// <summary>--title: who and where the audit is for (customer, site), shown as given at the top; null: none.</summary>
    public string? Title { get; init; }
    /// <summary>Capture files as given on the command line (or the live interface names); the report shows their names only.</summary>
    public required IReadOnlyList<string> Files { get; init; }
    public required string ToolVersion { get; init; }
    /// <summary>The exact command line of the run.</summary>
    public required string CommandLine { get; init; }
    /// <summary>IP-layer kbit/s allowed per call and direction (the vendor's G.711 figure, 80).</summary>
    public double CallKbpsBudget { get; init; } = 80;
    /// <summary>Highest acceptable RFC 3550 jitter of a stream, ms (the profile's jitter_ms).</summary>
    public double JitterBudgetMs { get; init; } = 30;
    /// <summary>Highest acceptable loss of a stream, % (the profile's loss_pct).</summary>
    public double LossBudgetPct { get; init; } = 1;
    /// <summary>The profile's name or file; null when no profile was given.</summary>
    public string? Profile { get; init; }
    /// <summary>Requirement outcomes; null or empty when no profile was checked.</summary>
    public IReadOnlyList<ReportVerdictLine>? Verdict { get; init; }
    /// <summary>The verdict in words (what was checked); null: the report words it from the findings alone.</summary>
    public VerdictSummary? Banner { get; init; }
    /// <summary>The reason for the exit code ("exit 1: 2 errors at or above --fail-on error"), shown under the banner.</summary>
    public string? ExitReason { get; init; }
    /// <summary>Findings; null when the policy stage did not run.</summary>
    public IReadOnlyList<ReportFinding>? Findings { get; init; }
    /// <summary>Expected flows of the profile; null or empty when no profile was checked.</summary>
    public IReadOnlyList<ReportExpectedFlow>? ExpectedFlows { get; init; }
    /// <summary>The Imagicle nodes were given with --server rather than detected.</summary>
    public bool ServersGiven { get; init; }
    /// <summary>When set, addresses and SIP users are shown as pseudonyms.</summary>
    public Anonymizer? Anonymizer { get; init; }
    /// <summary>Calls that get charts (the table lists up to <see cref="MaxTableCalls"/>).</summary>
    public int MaxChartedCalls { get; init; } = RunTotals.DefaultMaxChartedCalls;
    public int MaxTableCalls { get; init; } = RunTotals.DefaultMaxTableCalls;
    /// <summary>Calls in the "worst calls" list at the top of the call quality section.</summary>
    public int MaxWorstCalls { get; init; } = 10;
    /// <summary>Findings listed per severity.</summary>
    public int MaxFindingsPerSeverity { get; init; } = 500;
    /// <summary>A live capture: the page says it is a snapshot and, if set, reloads itself every so many seconds.</summary>
    public bool Live { get; init; }
    public int? RefreshSeconds { get; init; }
}
