namespace TrafficAudit.Cli;

/// <summary>Process exit codes, documented in --help and the README.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A finding at or above the --fail-on level (default error).</summary>
    public const int Findings = 1;
    public const int Usage = 2;
    public const int CaptureUnreadable = 3;
}

/// <summary>A usage or configuration error: printed without a stack trace, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
