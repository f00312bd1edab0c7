using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Outputs;
using TrafficAudit.Outputs.Report;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// Bad input never throws: the bundled capture with random bytes flipped and frames cut, through the
/// whole pipeline (decode, flows, SIP/SDP/RTP/RTCP, policy, CSVs, report). Deterministic seeds, so a
/// failure is reproducible.
/// </summary>
[TestClass]
public sealed class MutatedCaptureTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void Audit_CaptureWithCorruptedFrames_CountsAnomaliesAndNeverThrows(int seed)
    {
        var rnd = new Random(seed);
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), 0, engine.Anomalies);
        var buffer = new byte[65536];
        long mutated = 0;
        while (source.MoveNext())
        {
            var data = source.Data;
            data.CopyTo(buffer);
            int length = data.Length;
            if (rnd.Next(4) == 0)
            {
                mutated++;
                // Flip a few bytes anywhere past the Ethernet addresses (headers, SIP text, SDP, RTP, RTCP)...
                for (int i = rnd.Next(1, 6); i > 0; i--) buffer[12 + rnd.Next(Math.Max(1, length - 12))] = (byte)rnd.Next(256);
                // ...and sometimes cut the frame short.
                if (rnd.Next(3) == 0) length = rnd.Next(length + 1);
            }
            engine.Process(source.Header, buffer.AsSpan(0, length));
        }
        var result = engine.Complete(source.Interfaces, source.Errors);
        var verdict = Verdict.Evaluate(result, PortCatalogue.LoadEmbedded(), null);
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        AuditCsvWriter.WriteAll(dir, result, ["mutated.pcap"]);
        AuditCsvWriter.WriteVerdict(dir, verdict);
        HtmlReportWriter.Write(dir, ReportInputs.Create(result, verdict, ["mutated.pcap"], "test", "test", false, null));

        Assert.IsGreaterThan(500, mutated);
        Assert.IsGreaterThan(0, result.Anomalies.Count, "corrupted frames show up as named anomalies");
        Assert.IsGreaterThan(0, result.Flows.Count);
        Assert.IsTrue(File.Exists(Path.Combine(dir, "report.html")));
    }
}
