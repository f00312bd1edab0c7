using TrafficAudit.Outputs;
using TrafficAudit.Policy;

namespace TrafficAudit.Cli;

/// <summary>
/// The verdict on the console: one line per requirement of the expected-flow matrix (its state as
/// <see cref="RequirementStatus.Label"/> words it: PASS, FAIL (reason), NOT SEEN (required), NOT SEEN
/// (optional), NOT EXPECTED), then the findings by severity, errors first, and a closing verdict line
/// that says what was checked and ends with the reason for the exit code.
/// </summary>
public static class ConsoleVerdict
{
    public static void Write(TextWriter o, Verdict v, string outDir, FindingSeverity? failOn = FindingSeverity.Error)
    {
        if (v.Expected is { } rows)
        {
            o.WriteLine($"Requirements ({v.Profile!.SourceName}):");
            // Failures first, as in the report; the state column as wide as its longest label.
            int width = rows.Count == 0 ? 0 : rows.Max(e => e.Status.Label.Length);
            foreach (var e in rows.OrderBy(e => e.Status.WorstFirstRank))
                o.WriteLine($"  {e.Status.Label.PadRight(width)} {e.Requirement.Title}: {e.Requirement.Ports}, {PeerText(e.Requirement)}; {e.Detail}");
        }
        else if (v.Profile is not null)
        {
            o.WriteLine($"Requirements ({v.Profile.SourceName}): not checked, no Imagicle node known");
        }
        else
        {
            o.WriteLine("Requirements: no --profile, so only what needs no expectations was checked");
        }

        if (v.Findings.Count == 0)
        {
            o.WriteLine("Findings: none");
        }
        else
        {
            int errors = v.Findings.Count(f => f.Severity == FindingSeverity.Error);
            int warnings = v.Findings.Count(f => f.Severity == FindingSeverity.Warning);
            int infos = v.Findings.Count - errors - warnings;
            o.WriteLine($"Findings: {errors} error(s), {warnings} warning(s), {infos} info");
            var numbered = v.Findings.Select((f, i) => (f, id: i + 1));
            foreach (var (f, id) in numbered.OrderByDescending(x => x.f.Severity).ThenBy(x => x.id))
            {
                string count = f.Count > 1 ? $" (x{f.Count})" : "";
                o.WriteLine($"  {FindingRow.SeverityName(f.Severity),-7} #{id,-3} {f.Kind,-17} {f.Message}{count}");
            }
        }
        if (v.Findings.Any(f => f.Count > 1))
            o.WriteLine("  (xN): the same finding seen N times (e.g. N refused connections), listed once; findings.csv has the count");
    }

    /// <summary>"Verdict: Clean: checked against ... — exit 0: no finding at or above --fail-on error".</summary>
    public static string VerdictLine(Verdict v, FindingSeverity? failOn)
    {
        var s = v.Summarize();
        return $"Verdict: {s.Headline}: {s.Detail} — {ExitCodes.Decide(v, failOn).Reason}";
    }

    private static string PeerText(Requirement q) => q.PeerRole switch
    {
        "any" => "any peer",
        "nodes" => "between nodes",
        _ => $"{q.PeerRole} {string.Join(", ", q.Peers.Select(p => p.PrefixLength == (p.Network.IsV4 ? 32 : 128) ? p.Network.ToString() : p.ToString()))}",
    };
}
