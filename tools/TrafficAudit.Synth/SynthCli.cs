using System.Diagnostics;
using System.Globalization;
using TrafficAudit.Synth.Bench;
using TrafficAudit.Synth.Scenarios;

namespace TrafficAudit.Synth;

/// <summary>
/// Command line of trafficaudit-synth:
/// <code>
///   site --out captures/imagicle-site.pcap [--seed 1]
///   bench --out /tmp/bench.pcap --packets 2000000 [--calls 200] [--seed 1]
///   scenario NAME --out DIR [--seed 1]     (scenario list: names and descriptions)
///   busy --out FILE.pcap --minutes 60 [--seed 1]   (a busy site in compressed time; writes FILE.profile.json beside it)
///   hostile CASE --out FILE [--packets 1000000]   (CASE: ssrc, flows, useragents, reinvites, synscan, ssrcflows)
/// </code>
/// </summary>
public static class SynthCli
{
    public const int ExitOk = 0;
    public const int ExitUsage = 64;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0) return Usage(stderr, "no command");
        try
        {
            return args[0] switch
            {
                "site" => Site(Options.Parse(args.AsSpan(1)), stdout),
                "bench" => RunBench(Options.Parse(args.AsSpan(1)), stdout),
                "scenario" => RunScenario(Options.Parse(args.AsSpan(1)), stdout, stderr),
                "busy" => RunBusy(Options.Parse(args.AsSpan(1)), stdout),
                "hostile" => RunHostile(Options.Parse(args.AsSpan(1)), stdout),
                "-h" or "--help" or "help" => Usage(stdout, null),
                _ => Usage(stderr, $"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            return Usage(stderr, e.Message);
        }
    }

    private static int Usage(TextWriter w, string? error)
    {
        if (error is not null) w.WriteLine("error: " + error);
        w.WriteLine("usage:");
        w.WriteLine("  trafficaudit-synth site --out captures/imagicle-site.pcap [--seed 1]");
        w.WriteLine("  trafficaudit-synth bench --out /tmp/bench.pcap --packets 2000000 [--calls 200] [--seed 1]");
        w.WriteLine("  trafficaudit-synth scenario NAME --out DIR [--seed 1]");
        w.WriteLine("  trafficaudit-synth scenario list");
        w.WriteLine("  trafficaudit-synth busy --out FILE.pcap --minutes 60 [--seed 1]");
        w.WriteLine($"  trafficaudit-synth hostile {string.Join('|', HostileGenerator.Cases)} --out FILE [--packets 1000000]");
        return error is null ? ExitOk : ExitUsage;
    }

    private static int Site(Options o, TextWriter stdout)
    {
        var capture = new SiteScenario().Build(o.Seed);
        var path = capture.Save(o.Required("out"));
        stdout.WriteLine($"wrote {path}: {capture.Truth.Packets} packets, {capture.Truth.Flows.Count} flows, {capture.Truth.Calls.Count} calls; truth {Building.SyntheticCapture.TruthPathFor(path)}");
        return ExitOk;
    }

    private static int RunScenario(Options o, TextWriter stdout, TextWriter stderr)
    {
        var name = o.Positional ?? throw new UsageException("scenario needs a NAME (or 'list')");
        if (name == "list")
        {
            foreach (var s in ScenarioCatalog.All) stdout.WriteLine($"{s.Name,-12} {s.Description}");
            return ExitOk;
        }
        var scenario = ScenarioCatalog.Find(name);
        if (scenario is null)
        {
            stderr.WriteLine($"unknown scenario '{name}'; known: {string.Join(", ", ScenarioCatalog.All.Select(s => s.Name))}");
            return ExitUsage;
        }
        var capture = scenario.Build(o.Seed);
        var path = capture.Save(Path.Combine(o.Required("out"), scenario.Name + ".pcap"));
        stdout.WriteLine($"wrote {path}: {capture.Truth.Packets} packets, {capture.Truth.Flows.Count} flows");
        return ExitOk;
    }

    private static int RunBench(Options o, TextWriter stdout)
    {
        var opts = new BenchOptions(o.Long("packets", 2_000_000), (int)o.Long("calls", 200), o.Seed);
        var path = o.Required("out");
        var sw = Stopwatch.StartNew(); // reports speed only; the output never depends on it
        BenchSummary sum;
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            sum = BenchGenerator.Generate(fs, opts);
        sw.Stop();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {path}: {sum.Packets} packets ({sum.RtpPackets} RTP, {sum.OtherPackets} other), {sum.Bytes / 1e6:F1} MB of frames, {sum.CaptureSeconds:F1} s of traffic, in {sw.Elapsed.TotalSeconds:F2} s ({sum.Packets / sw.Elapsed.TotalSeconds / 1e6:F2} M packets/s)"));
        return ExitOk;
    }

    private static int RunBusy(Options o, TextWriter stdout)
    {
        long minutes = o.Long("minutes", 60);
        if (minutes < 1 || minutes > BusyOptions.MaxMinutes) throw new UsageException($"--minutes must be 1..{BusyOptions.MaxMinutes}, got {minutes}");
        var path = o.Required("out");
        var sw = Stopwatch.StartNew(); // reports speed only; the output never depends on it
        BusySummary s;
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            s = BusySiteGenerator.Generate(fs, new BusyOptions((int)minutes, o.Seed));
        sw.Stop();
        var profile = Building.SyntheticCapture.ProfilePathFor(path);
        File.WriteAllText(profile, BusySiteGenerator.Profile.ToJson());
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {path}: {s.Minutes} simulated minutes, {s.Packets} packets, {s.Bytes / 1e6:F1} MB of frames, {s.CaptureSeconds:F1} s of traffic; "
            + $"{s.TcpEstablished} TCP connections, {s.TcpUnanswered} unanswered, {s.TcpRefused} refused, {s.DnsLookups} DNS lookups, "
            + $"{s.OptionsPings} OPTIONS, {s.Calls} calls ({s.RtpPackets} RTP packets), {s.Flows} flows; profile {profile}; "
            + $"in {sw.Elapsed.TotalSeconds:F1} s"));
        return ExitOk;
    }

    private static int RunHostile(Options o, TextWriter stdout)
    {
        var kind = o.Positional ?? throw new UsageException($"hostile needs a CASE: {string.Join(", ", HostileGenerator.Cases)}");
        if (!HostileGenerator.Cases.Contains(kind)) throw new UsageException($"unknown hostile case '{kind}'; known: {string.Join(", ", HostileGenerator.Cases)}");
        var path = o.Required("out");
        long n;
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            n = HostileGenerator.Generate(fs, kind, o.Long("packets", 1_000_000));
        stdout.WriteLine($"wrote {path}: {n} packets ({kind})");
        return ExitOk;
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary>--name value pairs and at most one positional argument.</summary>
    private sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        public string? Positional { get; private set; }

        public static Options Parse(ReadOnlySpan<string> args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                var a = args[i];
                if (a.StartsWith("--", StringComparison.Ordinal))
                {
                    if (i + 1 >= args.Length) throw new UsageException($"{a} needs a value");
                    o._values[a[2..]] = args[++i];
                }
                else if (o.Positional is null) o.Positional = a;
                else throw new UsageException($"unexpected argument '{a}'");
            }
            return o;
        }

        public string Required(string name) => _values.TryGetValue(name, out var v) ? v : throw new UsageException($"--{name} is required");

        public long Long(string name, long fallback)
        {
            if (!_values.TryGetValue(name, out var v)) return fallback;
            return long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
                ? n : throw new UsageException($"--{name} must be a non-negative integer, got '{v}'");
        }

        public int Seed => (int)Long("seed", 1);
    }
}
