using System.Reflection;

namespace TrafficAudit.Cli;

/// <summary>Entry point: picks the command, maps failures to exit codes, never shows a stack trace for bad input.</summary>
public static class CommandLine
{
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public const string Help = """
        trafficaudit - audit packet captures of Imagicle UC Suite sites against the vendor's port table

        Usage:
          trafficaudit audit FILE... [--out DIR] [--profile FILE] [--fail-on LEVEL]
                                     [--server IP]... [--catalogue FILE] [--quiet]
              Reads pcap, pcapng or gzip-compressed capture files ('-' reads standard input),
              merged by timestamp, and writes DIR/flows.csv, rtp_streams.csv, calls.csv,
              anomalies.csv, findings.csv and, with a profile, expected_flows.csv
              (DIR defaults to ./trafficaudit-out); prints a verdict.
              --profile FILE   the deployment profile (JSON: nodes, applications, peers by role,
                               allow entries, thresholds; see the README); its "nodes" replace
                               --server. Without it only what needs no expectations is checked
              --fail-on LEVEL  error (default), warning, info or never: exit 1 when a finding
                               is at or above LEVEL
              --server IP      an Imagicle node (repeat for an HA cluster); without it the nodes
                               are detected from who terminates Imagicle-specific ports
              --catalogue FILE replaces the built-in port catalogue (JSON, as printed by
                               'trafficaudit catalogue --json')
              --quiet          no console summary or verdict
          trafficaudit catalogue [--catalogue FILE] [--json]
              Prints the port catalogue the audit classifies flows with.
          trafficaudit --version | --help

        Exit codes:
          0  the audit ran and no finding is at or above --fail-on
          1  a finding is at or above --fail-on (default: error)
          2  usage or configuration error, bad profile or catalogue (nothing was read)
          3  a capture could not be read (not a capture file, missing, unreadable)
        """;

    /// <param name="stdin">Standard input for '-' (tests pass their own stream); null for the process's.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Stream? stdin = null)
    {
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                (args.Length == 0 ? stderr : stdout).WriteLine(Help);
                return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
            }
            if (args[0] is "--version" or "version")
            {
                stdout.WriteLine($"trafficaudit {Version}");
                return ExitCodes.Ok;
            }
            var rest = args.AsSpan(1).ToArray();
            return args[0] switch
            {
                "audit" => AuditCommand.Run(rest, stdout, stderr, stdin),
                "catalogue" or "catalog" => CatalogueCommand.Run(rest, stdout, stderr),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"trafficaudit: {e.Message}");
            stderr.WriteLine("Run 'trafficaudit --help' for usage.");
            return ExitCodes.Usage;
        }
    }
}
