using TrafficAudit.Capture;
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

    private sealed class Collect : IEvidenceSink
    {
        public List<(int Target, long Frame)> Frames { get; } = [];
        public void Write(int target, in FrameHeader header, ReadOnlySpan<byte> frame, CaptureInterface? sourceInterface) => Frames.Add((target, header.FrameNumber));
    }

    /// <summary>
    /// SIP over TCP (heplify/sip_ipv4_tcp.pcap, one call): the call's file is its 7 SIP messages and its 68
    /// RTP and RTCP packets, and not the 9 bare TCP handshake and ACK segments. tshark 4.0.17 agrees:
    /// <c>tshark -r sip_ipv4_tcp.pcap -Y 'sip.Call-ID == "158936656982201062716@10.33.6.100" || rtp || rtcp'</c>
    /// lists 75 of the 84 frames.
    /// </summary>
    [TestMethod]
    public void SipOverTcpCall_FileIsItsSipMessagesAndItsMedia_AsTsharkSelectsThem()
    {
        var path = TestPaths.PublicCapture("heplify/sip_ipv4_tcp.pcap");
        var result = ReportTestKit.Audit(path);
        var call = result.Calls.Single();
        Assert.AreEqual("158936656982201062716@10.33.6.100", call.Sip.CallId);
        var low = call with { Mos = 1.0 };
        var plan = EvidencePlan.Build(WithCalls(result, [low]), []);
        Assert.AreEqual("evidence/call-1.pcapng", plan.CallFile(low));
        var sink = new Collect();
        using (var source = CaptureFile.Open(path))
            Assert.AreEqual(84, EvidenceExtractor.Run(plan, source, sink));
        Assert.HasCount(75, sink.Frames);
        Assert.AreEqual(75, plan.Targets[0].Packets);
        var expected = new[] { 3L, 5, 7, 9, 11 }; // INVITE, 100, 180, 200, ACK; the BYE and its 200 come later
        foreach (long f in expected) Assert.Contains((0, f), sink.Frames);
        foreach (long f in new[] { 1L, 2, 4, 6, 8, 10, 12 }) Assert.DoesNotContain((0, f), sink.Frames, $"bare TCP segment {f}");
    }
}
