using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// Work the VoIP stage's thread does between its batches (<see cref="AuditEngine.VoipIdleWork"/>: reading the capture
/// ahead, writing rows): done on that thread only while it has no batch, never when the stage runs inline, with no
/// effect on the results; what it throws is the stage's failure, reported on the engine's thread. (The work the
/// engine's thread does while that stage is behind: VoipStreamingTests.)
/// </summary>
[TestClass]
public sealed class VoipIdleWorkTests
{
    private static (AuditResult Result, int Calls, HashSet<int> Threads) Audit(bool parallel, Func<bool>? work)
    {
        int calls = 0;
        var threads = new HashSet<int>();
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { ParallelVoip = parallel });
        engine.VoipIdleWork = work is null ? null : () =>
        {
            lock (threads) threads.Add(Environment.CurrentManagedThreadId);
            Interlocked.Increment(ref calls);
            return work();
        };
        using var source = CaptureFile.Open(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        engine.VoipIdleWork = null;
        return (engine.Complete(source.Interfaces, source.Errors), calls, threads);
    }

    private static string Csv(AuditResult r)
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        TrafficAudit.Outputs.AuditCsvWriter.WriteAll(dir, r, ["site"]);
        return string.Join("\n", new[] { "flows.csv", "rtp_streams.csv", "calls.csv" }.Select(f => File.ReadAllText(Path.Combine(dir, f))));
    }

    [TestMethod]
    public void IdleWork_OnTheStagesThreadOnly_SameResults()
    {
        var baseline = Csv(Audit(parallel: false, work: null).Result);
        // Work that always finds something to do for a while, then nothing: called on the stage's thread, never on this one.
        int budget = 500;
        var helped = Audit(parallel: true, work: () => Interlocked.Decrement(ref budget) >= 0);
        Assert.IsGreaterThan(0, helped.Calls, "the stage had idle moments");
        CollectionAssert.DoesNotContain(helped.Threads.ToList(), Environment.CurrentManagedThreadId, "never on the engine's thread");
        Assert.HasCount(1, helped.Threads, "one thread: the stage's");
        Assert.AreEqual(baseline, Csv(helped.Result));
        // Inline (one thread), nobody is idle: never called.
        var inline = Audit(parallel: false, work: () => true);
        Assert.AreEqual(0, inline.Calls);
        Assert.AreEqual(baseline, Csv(inline.Result));
    }

    [TestMethod]
    public void IdleWork_ThatThrows_FailsTheRunOnTheEnginesThread()
    {
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Audit(parallel: true, work: () => throw new FormatException("a bug in idle work")));
        StringAssert.Contains(e.Message, "a bug in idle work");
        Assert.IsInstanceOfType<FormatException>(e.InnerException);
    }
}
