using TrafficAudit.Policy;

namespace TrafficAudit.Cli;

/// <summary>Process exit codes, documented in --help and the README.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A finding at or above the --fail-on level (default error).</summary>
    public const int Findings = 1;
    public const int Usage = 2;
    /// <summary>A capture could not be read, or held no packet that could be decoded.</summary>
    public const int CaptureUnreadable = 3;

    /// <summary>
    /// The exit code of an audit that ran, and its reason in words ("exit 1: 4 errors at or above
    /// --fail-on error"): the one place that decides it, for `audit` and `live` alike.
    /// </summary>
    public static (int Code, string Reason) Decide(Verdict v, FindingSeverity? failOn)
    {
        if (v.Scope == AuditScope.NoPackets) return (CaptureUnreadable, "exit 3: the capture holds no packet that could be decoded");
        string level = failOn is { } l ? FailOnName(l) : "never";
        string unchecked_ = v.Scope == AuditScope.NoNode ? "; the vendor's table was not checked (no Imagicle node known)" : "";
        if (failOn is not { } at) return (Ok, $"exit 0: --fail-on never{unchecked_}");
        var over = v.Findings.Where(f => f.Severity >= at).ToList();
        if (over.Count == 0) return (Ok, $"exit 0: no finding at or above --fail-on {level}{unchecked_}");
        var parts = over.GroupBy(f => f.Severity).OrderByDescending(g => g.Key)
            .Select(g => $"{g.Count()} {FailOnName(g.Key)}{(g.Count() == 1 ? "" : "s")}");
        return (Findings, $"exit 1: {string.Join(", ", parts)} at or above --fail-on {level}");
    }

    private static string FailOnName(FindingSeverity s) => s switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "info",
    };
}

/// <summary>A usage or configuration error: printed without a stack trace, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
