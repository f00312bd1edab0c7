using System.Reflection;
using TrafficAudit.Outputs;

namespace TrafficAudit.Cli;

/// <summary>Entry point: picks the command, maps failures to exit codes, never shows a stack trace for bad input.</summary>
public static class CommandLine
{
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public const string ExitCodesText = """
        Exit codes:
          0  the audit ran and no finding is at or above --fail-on
          1  a finding is at or above --fail-on (default: error)
          2  usage or configuration error, bad profile or catalogue (nothing was read)
          3  a capture could not be read (not a capture file, missing, unreadable, or not one
             packet in it could be decoded), or live capture is not possible here (libpcap
             missing, no privilege, interface down)
        The closing "Verdict:" line says what was checked and ends with the reason for the code.
        """;

    public const string Help = """
        trafficaudit - audit packet captures of Imagicle UC Suite sites against the vendor's port table

        Usage:
          trafficaudit audit FILE|FOLDER|'PATTERN'... [-o DIR] [-p FILE] [-s IP]... [--fail-on LEVEL]
                             [--from TIME] [--to TIME] [-c N] [--title TEXT] [--report]
                             [--evidence] [--series] [--anonymize [--anonymize-seed TEXT]
                             [--anonymize-map FILE]] [--catalogue FILE] [-q] [--format csv|jsonl]
                             [--threads N]
              Reads pcap, pcapng or gzip-compressed capture files ('-' reads standard input),
              merged by timestamp; a folder stands for every capture in it (dumpcap ring files
              in ring order), a quoted pattern ('ring_*.pcapng') for the files it matches.
              Writes DIR/flows.csv, rtp_streams.csv, calls.csv, sip_options.csv, anomalies.csv,
              findings.csv and expected_flows.csv (.jsonl with --format jsonl; DIR defaults to
              ./trafficaudit-out); prints a verdict.
          trafficaudit live -i IFACE|N [-f "BPF FILTER"] [-d SECONDS] [-c N] [--flush SECONDS]
                            [-w FILE.pcapng [--ring-size MB] [--ring-files N]] [--snaplen BYTES]
                            [--buffer MB] [--rotate PERIOD|SIZE] and the options of audit that
                            shape the audit
              Captures on IFACE (its name, or its number from 'trafficaudit interfaces') and
              audits it with the same engine as 'audit'.
          trafficaudit interfaces
              Lists the capture interfaces, numbered as 'dumpcap -D' numbers them.
          trafficaudit catalogue [--catalogue FILE] [--json | --wide]
              Prints the port catalogue the audit classifies flows with.
          trafficaudit --version | --help | COMMAND --help

        Short aliases: -o --out, -p --profile, -s --server, -q --quiet, -c --count,
          live: -i --interface, -f --filter, -d --duration, -w --write; catalogue: -w --wide; -h --help.
        'trafficaudit COMMAND --help' shows a command's options with examples.
        """ + "\n\n" + ExitCodesText;

    /// <param name="stdin">Standard input for '-' (tests pass their own stream); null for the process's.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Stream? stdin = null)
    {
        PhaseClock.Set(PhaseClock.Mark.Main);
        // Nothing a capture holds (a Call-ID with ESC in it) reaches the terminal as a control character.
        stdout = SafeTerminalWriter.Wrap(stdout);
        stderr = SafeTerminalWriter.Wrap(stderr, keepCarriageReturn: true);
        CommandSpec? spec = null;
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help" or "-?")
            {
                if (args.Length > 1 && CommandSpecs.Find(args[1]) is { } named)
                {
                    CliParser.WriteHelp(named, stdout);
                    return ExitCodes.Ok;
                }
                (args.Length == 0 ? stderr : stdout).WriteLine(Help);
                return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Ok;
            }
            if (args[0] is "--version" or "version")
            {
                stdout.WriteLine($"trafficaudit {Version}");
                return ExitCodes.Ok;
            }
            if (args[0].StartsWith('[') && args[0].EndsWith(']'))
            {
                // A System.CommandLine directive: [suggest:N] answers shell completion (see the README).
                var directive = CliParser.Root.Parse(args);
                return directive.Invoke(new System.CommandLine.InvocationConfiguration { Output = stdout, Error = stderr });
            }
            spec = CommandSpecs.Find(args[0]);
            var parsed = CliParser.Parse(args);
            spec = parsed.Command ?? spec;
            if (parsed.HelpRequested)
            {
                if (spec is null) stdout.WriteLine(Help);
                else CliParser.WriteHelp(spec, stdout);
                return ExitCodes.Ok;
            }
            var a = parsed.Arguments;
            PhaseClock.Set(PhaseClock.Mark.Parsed);
            var rest = args.AsSpan(1).ToArray();
            return spec!.Name switch
            {
                "audit" => AuditCommand.Run(a, rest, stdout, stderr, stdin),
                "catalogue" => CatalogueCommand.Run(a, stdout, stderr),
                "live" => LiveCommand.Run(a, rest, stdout, stderr),
                "interfaces" => InterfacesCommand.Run(a, stdout, stderr),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"trafficaudit: {e.Message}");
            stderr.WriteLine(spec is null ? "Run 'trafficaudit --help' for usage." : $"Run 'trafficaudit {spec.Name} --help' for its options and examples.");
            return ExitCodes.Usage;
        }
    }
}
