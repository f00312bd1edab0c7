using System.Diagnostics;
using TrafficAudit.Fuzz;

namespace TrafficAudit.Tests.Regression;

/// <summary>
/// Replays every input that ever crashed, hung or blew the memory of the program (Regression/TARGET/, each
/// named after what it broke) and the fuzzer's seed corpus through the fuzz targets, which are the real
/// code paths (capture readers into the whole engine and the policy; the SIP, RTP, DNS and TLS parsers;
/// the profile and catalogue loaders). Per file: a time limit and a limit on the bytes allocated.
/// </summary>
[TestClass]
public sealed class RegressionCorpusTests
{
    /// <summary>Wall time one input may take (generous: the test machine is shared).</summary>
    private static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(20);
    /// <summary>Managed bytes one input may allocate.</summary>
    private const long AllocationLimit = 256L << 20;

    private static string CorpusDir => Path.Combine(TestPaths.RepoRoot, "tests", "TrafficAudit.Tests", "Regression");

    /// <summary>Runs one input on its own thread so that a hang fails the test instead of stopping the run.</summary>
    internal static (long Packets, long Allocated, TimeSpan Elapsed) Replay(string target, byte[] data, string name)
    {
        long packets = 0, allocated = 0;
        Exception? error = null;
        var sw = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                packets = FuzzTargets.Run(target, data);
            }
            catch (Exception e)
            {
                error = e;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, maxStackSize: 1 << 20) { IsBackground = true };
        thread.Start();
        if (!thread.Join(TimeLimit)) Assert.Fail($"{target}/{name}: still running after {TimeLimit.TotalSeconds} s (a hang)");
        if (error is not null) Assert.Fail($"{target}/{name}: {error.GetType().Name} escaped: {error}");
        Assert.IsLessThan(AllocationLimit, allocated, $"{target}/{name}: allocated {allocated:N0} bytes");
        return (packets, allocated, sw.Elapsed);
    }

    [TestMethod]
    public void RegressionCorpus_EveryFileReplaysWithinTimeAndMemory()
    {
        var dirs = Directory.GetDirectories(CorpusDir);
        Assert.IsNotEmpty(dirs);
        int files = 0;
        foreach (var dir in dirs)
        {
            string target = Path.GetFileName(dir);
            CollectionAssert.Contains(FuzzTargets.Names.ToList(), target, $"Regression/{target} is not a fuzz target");
            foreach (var file in Directory.GetFiles(dir))
            {
                Replay(target, File.ReadAllBytes(file), Path.GetFileName(file));
                files++;
            }
        }
        Assert.IsGreaterThanOrEqualTo(10, files);
    }

    [TestMethod]
    public void SeedCorpus_EveryTargetHasSeedsThatRunThroughIt()
    {
        var dir = Directory.CreateTempSubdirectory("fuzz-seeds-").FullName;
        try
        {
            Seeds.WriteAll(dir);
            foreach (var target in FuzzTargets.Names)
            {
                var files = Directory.GetFiles(Path.Combine(dir, target));
                Assert.IsNotEmpty(files, target);
                long packets = files.Sum(f => Replay(target, File.ReadAllBytes(f), Path.GetFileName(f)).Packets);
                Assert.IsGreaterThan(0L, packets, $"the {target} seeds feed the target");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
