using System.Diagnostics;
using SharpFuzz;
using TrafficAudit.Fuzz;

// trafficaudit-fuzz TARGET              run under afl-fuzz (tools/fuzz.sh), persistent mode
// trafficaudit-fuzz TARGET FILE...      replay files through the target (no AFL needed)
// trafficaudit-fuzz seeds DIR           write the seed corpora, one folder per target
// trafficaudit-fuzz --list              the targets
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: trafficaudit-fuzz TARGET [FILE...] | seeds DIR | --list\ntargets: " + string.Join(", ", FuzzTargets.Names));
    return 2;
}
if (args[0] == "--list")
{
    foreach (var t in FuzzTargets.Names) Console.WriteLine(t);
    return 0;
}
if (args[0] == "seeds")
{
    if (args.Length != 2) { Console.Error.WriteLine("usage: trafficaudit-fuzz seeds DIR"); return 2; }
    int files = Seeds.WriteAll(args[1]);
    Console.WriteLine($"{files} seed files written under {args[1]}");
    return 0;
}
string target = args[0];
if (!FuzzTargets.Names.Contains(target))
{
    Console.Error.WriteLine($"unknown target '{target}' (targets: {string.Join(", ", FuzzTargets.Names)})");
    return 2;
}
if (args.Length > 1)
{
    int failed = 0;
    foreach (var file in args[1..])
    {
        var sw = Stopwatch.StartNew();
        try
        {
            long fed = FuzzTargets.Run(target, File.ReadAllBytes(file));
            Console.WriteLine($"ok     {file}: {fed} packets, {sw.ElapsedMilliseconds} ms");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"FAILED {file}: {e}");
        }
    }
    return failed == 0 ? 0 : 1;
}

// Under afl-fuzz: one process runs many inputs (SharpFuzz's fork server protocol). Counts go to
// $TRAFFICAUDIT_FUZZ_STATS/<pid> every 2 s, so tools/fuzz.sh can add up inputs and packets.
string? statsDir = Environment.GetEnvironmentVariable("TRAFFICAUDIT_FUZZ_STATS");
string? statsFile = statsDir is null ? null : Path.Combine(statsDir, Environment.ProcessId.ToString());
long inputs = 0, packets = 0;
var clock = Stopwatch.StartNew();
var buffer = new MemoryStream();
Fuzzer.Run(stream =>
{
    buffer.SetLength(0);
    stream.CopyTo(buffer);
    packets += FuzzTargets.Run(target, buffer.ToArray());
    inputs++;
    if (statsFile is not null && clock.ElapsedMilliseconds > 2000)
    {
        File.WriteAllText(statsFile, $"{inputs} {packets}\n");
        clock.Restart();
    }
});
if (statsFile is not null) File.WriteAllText(statsFile, $"{inputs} {packets}\n");
return 0;
