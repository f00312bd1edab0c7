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
                                     [--report] [--evidence] [--series] [--anonymize [--anonymize-seed TEXT]
                                     [--anonymize-map FILE]] [--server IP]...
                                     [--catalogue FILE] [--quiet]
              Reads pcap, pcapng or gzip-compressed capture files ('-' reads standard input),
              merged by timestamp, and writes DIR/flows.csv, rtp_streams.csv, calls.csv,
              sip_options.csv, anomalies.csv, findings.csv and expected_flows.csv
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
              --report         also writes DIR/report.html: one self-contained page (verdict,
                               findings, expected flows, calls with jitter and bandwidth charts,
                               capture facts) that needs no network to view or print
              --evidence       also writes DIR/evidence/finding-N.pcapng and call-N.pcapng: the
                               packets behind each finding and each call with a quality problem
                               (a second read of the files; not with '-' or --anonymize)
              --series         also writes DIR/rtp_series.csv: per RTP stream and second, packets,
                               expected, lost, IP kbit/s and jitter
              --anonymize      replaces IP addresses (prefix-preserving) and SIP user parts by
                               stable pseudonyms in every output; --anonymize-seed TEXT makes
                               them the same across runs; --anonymize-map FILE writes the mapping
                               (for the engineer only)
          trafficaudit live -i IFACE [-f "BPF FILTER"] [--duration SECONDS] [--flush SECONDS]
                            [--out DIR] [--profile FILE] [--fail-on LEVEL] [--report] [--anonymize]
                            [--series] [--evidence (with --write)]
                            [--server IP]... [--catalogue FILE] [--quiet]
                            [--write FILE.pcapng [--ring-size MB] [--ring-files N]]
                            [--snaplen BYTES] [--buffer MB]
              Captures on IFACE (promiscuous, through libpcap) and audits it with the same engine as
              'audit' (findings and verdict too). Prints a status line every second on stderr
              (packets/s, flows, calls in progress, findings, kernel and interface drops); rewrites the CSVs in DIR atomically every
              --flush seconds (default 10) and in full when the capture ends: after --duration,
              on Ctrl+C or SIGTERM. Needs root, or CAP_NET_RAW and CAP_NET_ADMIN.
              -f FILTER        capture filter in tcpdump syntax, e.g. "udp or tcp port 5061"
              --write FILE     also keeps the captured packets in pcapng (readable by Wireshark and
                               by 'trafficaudit audit'); with --ring-size MB a new file starts each
                               MB (named FILE_NNNNN_YYYYMMDDhhmmss.pcapng) and --ring-files N keeps
                               only the newest N
              --snaplen BYTES  bytes kept per frame (default 9000); --buffer MB kernel ring (default 32)
          trafficaudit interfaces
              Lists the capture interfaces: state, link type, addresses.
          trafficaudit catalogue [--catalogue FILE] [--json]
              Prints the port catalogue the audit classifies flows with.
          trafficaudit --version | --help

        Exit codes:
          0  the audit ran and no finding is at or above --fail-on
          1  a finding is at or above --fail-on (default: error)
          2  usage or configuration error, bad profile or catalogue (nothing was read)
          3  a capture could not be read (not a capture file, missing, unreadable), or live
             capture is not possible here (libpcap missing, no privilege, interface down)
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
                "live" => LiveCommand.Run(rest, stdout, stderr),
                "interfaces" => InterfacesCommand.Run(rest, stdout, stderr),
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
