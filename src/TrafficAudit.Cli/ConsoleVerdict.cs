using TrafficAudit.Outputs;
using TrafficAudit.Policy;

namespace TrafficAudit.Cli;

/// <summary>
/// The verdict on the console: one line per requirement of the expected-flow matrix (PASS, FAIL or
/// NOT SEEN), then the findings by severity, errors first.
/// </summary>
public static class ConsoleVerdict
{
    public static void Write(TextWriter o, Verdict v, string outDir)
    {
        if (v.Expected is { } rows)
        {
            o.WriteLine($"Requirements ({v.Profile!.SourceName}):");
            foreach (var e in rows)
            {
                string word = e.Status switch
                {
                    ExpectationStatus.Observed => "PASS",
                    ExpectationStatus.Failing => "FAIL",
                    _ => "NOT SEEN",
                };
                string optional = e.Requirement.Required ? "" : " (optional)";
                o.WriteLine($"  {word,-8} {e.Requirement.Title}{optional}: {e.Requirement.Ports}, {PeerText(e.Requirement)}; {e.Detail}");
            }
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

    private static string PeerText(Requirement q) => q.PeerRole switch
    {
        "any" => "any peer",
        "nodes" => "between nodes",
        _ => $"{q.PeerRole} {string.Join(", ", q.Peers.Select(p => p.PrefixLength == (p.Network.IsV4 ? 32 : 128) ? p.Network.ToString() : p.ToString()))}",
    };
}
