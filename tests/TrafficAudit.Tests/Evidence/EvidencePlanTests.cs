using TrafficAudit.Catalogue;
using TrafficAudit.Evidence;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;
using TrafficAudit.Tests.Report;

namespace TrafficAudit.Tests.Evidence;

/// <summary>Which evidence files a result plans, and their names.</summary>
[TestClass]
public sealed class EvidencePlanTests
{
    private static AuditResult? _sample;
    private static AuditResult Sample => _sample ??= ReportTestKit.Audit(ReportTestKit.SamplePath);

    private static AuditResult WithCalls(AuditResult r, IReadOnlyList<CallRecord> calls) => new()
    {
        Flows = r.Flows, Streams = r.Streams, Calls = calls, Voip = r.Voip, Nodes = r.Nodes,
        Statistics = r.Statistics, Anomalies = r.Anomalies, Interfaces = r.Interfaces, Errors = r.Errors,
    };

    [TestMethod]
    public void CallBelowLowMos_GetsAFile_AtTheThresholdDoesNot()
    {
        var calls = Sample.Calls.Select(c => c with { Mos = 4.41 }).ToList();
        calls[1] = calls[1] with { Mos = EvidencePlan.LowMos - 0.01 };
        calls[2] = calls[2] with { Mos = EvidencePlan.LowMos };
        var plan = EvidencePlan.Build(WithCalls(Sample, calls), []);
        Assert.AreEqual("evidence/call-2.pcapng", plan.CallFile(calls[1]));
        Assert.IsNull(plan.CallFile(calls[2]));
        Assert.IsNull(plan.CallFile(calls[0]));
        Assert.HasCount(1, plan.Targets);
        Assert.IsTrue(plan.Targets[0].Selectors.Any(s => s.PayloadMustContain is not null), "its SIP, by Call-ID");
    }

    [TestMethod]
    public void SampleVerdict_EveryFindingAboutPacketsHasAFile_NamedAfterItsId()
    {
        var verdict = Verdict.Evaluate(Sample, PortCatalogue.LoadEmbedded(), null);
        Assert.IsNotEmpty(verdict.Findings);
        var plan = EvidencePlan.Build(Sample, verdict.Findings);
        for (int i = 0; i < verdict.Findings.Count; i++)
        {
            var f = verdict.Findings[i];
            bool aboutPackets = f.Kind is not (FindingKinds.MissingFlow or FindingKinds.CaptureLoss or FindingKinds.DuplicatePackets);
            Assert.AreEqual(aboutPackets ? $"evidence/finding-{i + 1}.pcapng" : null, plan.FindingFile(i), f.Kind);
        }
        Assert.AreEqual(plan.Targets.Count, plan.Targets.Select(t => t.RelativePath).Distinct().Count());
    }
}
