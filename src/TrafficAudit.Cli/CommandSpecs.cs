namespace TrafficAudit.Cli;

/// <summary>One option as the user types it: its name, short aliases, value name (null for a flag) and help text.</summary>
public sealed record OptionSpec(string Name, string[] Aliases, string? ValueName, string Description, bool Repeatable = false, bool Hidden = false)
{
    public bool IsFlag => ValueName is null;
    public IEnumerable<string> AllNames => [Name, .. Aliases];
}

/// <summary>One command: its options, its positional argument (if any), a summary and examples for --help.</summary>
public sealed record CommandSpec(string Name, string[] Aliases, string Summary, OptionSpec[] Options, string[] Examples,
    string? ArgumentName = null, string? ArgumentDescription = null, string Notes = "");

/// <summary>
/// Every command and option of trafficaudit, in one table: System.CommandLine's commands are built
/// from it (<see cref="CliParser"/>), the help, the typo hints ("did you mean") and "--duration is an
/// option of 'live'" read it, and the usage tests run every option of every command from it.
/// </summary>
public static class CommandSpecs
{
    /// <summary>The options that shape an audit, shared by <c>audit</c> and <c>live</c>.</summary>
    public static readonly OptionSpec[] AuditOptions =
    [
        new("--out", ["-o"], "DIR", "folder for the outputs (default ./trafficaudit-out); it keeps only this run's files: outputs of an older run that this run does not write are removed, nothing else"),
        new("--profile", ["-p"], "FILE", "the deployment profile (JSON: nodes, applications, peers by role, allow entries, thresholds; see the README); its \"nodes\" replace --server"),
        new("--server", ["-s"], "IP", "an Imagicle node (repeat for an HA cluster); without it the nodes are detected from evidence only an Imagicle node gives (CTI or cluster ports, several Imagicle SIP ports with media), with its confidence", Repeatable: true),
        new("--fail-on", [], "LEVEL", "error (default), warning, info or never: exit 1 when a finding is at or above LEVEL"),
        new("--catalogue", ["--catalog"], "FILE", "replaces the built-in port catalogue (JSON, as printed by 'trafficaudit catalogue --json')"),
        new("--title", [], "TEXT", "customer and site, shown in the console header and the report"),
        new("--report", [], null, "also writes DIR/report.html: one self-contained page that needs no network to view or print"),
        new("--evidence", [], null, "writes evidence/finding-N.pcapng: per finding and per call with a quality problem, the packets behind it"),
        new("--series", [], null, "writes rtp_series.csv: per RTP stream and second, packets, loss, jitter and kbit/s"),
        new("--anonymize", [], null, "replaces IP addresses (prefix-preserving), host names, MAC addresses and SIP user parts by stable pseudonyms in every output, the command line included"),
        new("--anonymize-seed", [], "TEXT", "makes the pseudonyms the same across runs (implies --anonymize)"),
        new("--anonymize-map", [], "FILE", "writes the pseudonym mapping to FILE, for the engineer only (implies --anonymize)"),
        new("--quiet", ["-q"], null, "no console summary or verdict (the exit code still tells)"),
        new("--format", [], "FORMAT", "csv (default) or jsonl: the tables as CSV files or as JSON lines (NAME.jsonl: one object per row, numbers as numbers, empty as null)"),
        new("--threads", [], "N", "threads the engine uses (default: 2 when this process may run on 2 cores or more, else 1); 1: everything on one thread; 2: the VoIP analysis on a second thread; 3: the reading thread, one that merges the results in capture order and runs the VoIP analysis, and one for the flows (flow tables, payload analyzers); 4 or more: the reading thread, the merging thread, the VoIP analysis on its own, and N-3 (at most 64) that share out the flows by address and port; the results are the same for every N"),
    ];

    public static readonly CommandSpec Audit = new("audit", [],
        "Audits capture files: pcap, pcapng or gzip-compressed, merged by timestamp ('-' reads standard input). " +
        "A folder stands for every capture in it (dumpcap ring files in ring order; other files are skipped with a note), " +
        "and a quoted pattern such as 'ring_*.pcapng' for the files it matches.",
        [
            .. AuditOptions,
            new("--from", [], "TIME", "audit only packets at or after TIME: UTC ISO 8601 (2024-05-02T10:15:00Z) or relative to the first packet (+30s, +5m, +1h)"),
            new("--to", [], "TIME", "stop at the first packet after TIME (same forms as --from), as tshark's -a duration"),
            new("--count", ["-c"], "N", "stop after N packets (counted after --from), as tshark's -c"),
            new("--read-ahead", [], "WHEN", "auto (default), always, idle or never: who reads (and decompresses) each capture file ahead of the engine; auto: a gzip-compressed file on a thread of its own whenever the engine has 2 threads or more (up to 8 files merged by time, each on its own thread); a plain file, when it is the only one open, on a thread of its own if a core is left over, else at 2 threads by the VoIP stage's thread between its batches (idle); always: a lone file on a thread of its own at any thread count"),
            new("--stats", [], null, "prints loop timings and allocations on stderr (for tools/bench.sh)"),
        ],
        [
            "trafficaudit audit site.pcapng -p site-profile.json --report -o out",
            "trafficaudit audit captures/ --title \"ACME, Milan site\"",
            "trafficaudit audit 'ring_*.pcapng' --from +5m --to +10m",
            "tcpdump -i eth0 -w - | trafficaudit audit - -c 100000",
            "trafficaudit audit -- -odd-name.pcap",
        ],
        ArgumentName: "FILE",
        ArgumentDescription: "capture files, folders or quoted patterns; '-' for standard input; after '--' names starting with '-' are files");

    public static readonly CommandSpec Live = new("live", [],
        "Captures on an interface (promiscuous, through libpcap) and audits it with the same engine as 'audit'. " +
        "Shows a status line on stderr (rewritten in place on a terminal), rewrites the outputs every --flush seconds " +
        "and in full when the capture ends (after --duration, on Ctrl+C or SIGTERM). Needs root, or CAP_NET_RAW and CAP_NET_ADMIN.",
        [
            new("--interface", ["-i"], "IFACE", "the interface: its name, or its number as 'trafficaudit interfaces' and 'dumpcap -D' print it"),
            new("--filter", ["-f"], "FILTER", "capture filter in tcpdump syntax, e.g. \"udp or tcp port 5061\""),
            new("--duration", ["-d"], "SECONDS", "stop after SECONDS"),
            new("--count", ["-c"], "N", "stop after N packets, as tshark's -c"),
            new("--flush", [], "SECONDS", "rewrite the outputs every SECONDS (default 10)"),
            new("--write", ["-w"], "FILE", "also keeps the captured packets in pcapng (readable by Wireshark and by 'trafficaudit audit')"),
            new("--ring-size", [], "MB", "with --write: a new file each MB (named FILE_NNNNN_YYYYMMDDhhmmss.pcapng)"),
            new("--ring-files", [], "N", "with --ring-size: keep only the newest N files"),
            new("--snaplen", [], "BYTES", "bytes kept per frame (default 9000)"),
            new("--buffer", [], "MB", "kernel capture buffer (default 128)"),
            new("--rotate", [], "LIMIT", "record files (flows, rtp_streams, calls, rtp_series) rotate every period of capture time (30s, 15m, 1h, 1d) or at a size (500KB, 100MB, 2GB): flows_00001_20261130T060000Z.csv..., names that sort by time, each with its header"),
            .. AuditOptions,
        ],
        [
            "trafficaudit live -i eth0 -d 600 -p site-profile.json --report",
            "trafficaudit live -i 2 -f \"udp or tcp port 5060 or tcp port 5061\" -w ring.pcapng --ring-size 100 --ring-files 10",
        ],
        Notes: "Interface numbers: 'trafficaudit interfaces' lists them.");

    public static readonly CommandSpec Interfaces = new("interfaces", [],
        "Lists the capture interfaces with their numbers (as 'dumpcap -D' numbers them; 'live -i N' takes them), state, link type and addresses.",
        [],
        ["trafficaudit interfaces", "trafficaudit live -i 1"]);

    public static readonly CommandSpec Catalogue = new("catalogue", ["catalog"],
        "Prints the port catalogue the audit classifies flows with: a table that fits 120 columns, all columns with --wide, or the JSON (without comments) with --json.",
        [
            new("--catalogue", ["--catalog"], "FILE", "the catalogue to print instead of the built-in one"),
            new("--json", [], null, "prints the catalogue as JSON (valid JSON: jq reads it; a file of that form can be edited and given back with --catalogue)"),
            new("--wide", ["-w"], null, "prints every column of the table, however wide"),
        ],
        ["trafficaudit catalogue", "trafficaudit catalogue --wide", "trafficaudit catalogue --json > my-catalogue.json"]);

    public static readonly CommandSpec[] All = [Audit, Live, Interfaces, Catalogue];

    /// <summary>The command named <paramref name="name"/> (or one of its aliases), or null.</summary>
    public static CommandSpec? Find(string name) => All.FirstOrDefault(c => c.Name == name || c.Aliases.Contains(name));
}
