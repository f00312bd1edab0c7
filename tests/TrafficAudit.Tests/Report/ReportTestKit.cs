using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Outputs.Report;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Tests.Report;

/// <summary>Runs a capture through the engine and builds report inputs for the report tests.</summary>
internal static class ReportTestKit
{
    public static string SamplePath => Path.Combine(TestPaths.Captures, "imagicle-site.pcap");

    public static AuditResult Audit(string path)
    {
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { ParallelVoip = false });
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        return engine.Complete(source.Interfaces, source.Errors);
    }

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// A report input with a verdict, findings and an expected-flow matrix of the kind the policy stage
    /// gives (the policy types live on another branch; these DTOs are what the integrator maps them to).
    /// </summary>
    public static ReportInput WithPolicy(AuditResult result, string file) => new()
    {
        Result = result,
        Files = [file],
        ToolVersion = "0.1.0-test",
        CommandLine = $"trafficaudit audit {file} --report --out out",
        Profile = "site-profile.json",
        Verdict =
        [
            new ReportVerdictLine("SIP trunk CUCM ↔ Imagicle on udp/5062", RequirementStatus.Pass),
            new ReportVerdictLine("Media within 80 kbit/s per call and direction", RequirementStatus.Fail(RequirementFailure.OverBudget), "1 call above budget"),
            new ReportVerdictLine("Teams Graph API reachable", RequirementStatus.NotSeenOptional),
        ],
        Findings =
        [
            new ReportFinding(ReportSeverity.Error, "flow_blocked", "https", "stonefax", IpAddress.Parse("10.0.0.10"), 50123, IpAddress.Parse("52.112.0.10"), 443, "tcp",
                result.Statistics.FirstNs, 3, null, null, "", "tcp_handshake", "R-TEAMS-1", "TCP connection from 10.0.0.10 refused by 52.112.0.10", "ip.addr == 52.112.0.10 && tcp.port == 443"),
            new ReportFinding(ReportSeverity.Warning, "jitter_high", "rtp", "advanced-queuing", IpAddress.Parse("10.0.1.5"), 20000, IpAddress.Parse("10.0.0.10"), 30000, "udp",
                result.Statistics.FirstNs, 1, 42.5, 30, "ms", "wireshark_rtp_analysis", "R-VOICE-2", "Jitter above 30 ms", "rtp.ssrc == 0x12345678"),
        ],
        ExpectedFlows =
        [
            new ReportExpectedFlow("sip", "advanced-queuing", "CUCM", "udp/5062", RequirementStatus.Pass, [1, 2]),
            new ReportExpectedFlow("https", "stonefax", "Teams", "tcp/443", RequirementStatus.Fail(RequirementFailure.Blocked), [7]),
            new ReportExpectedFlow("sql", "advanced-queuing", "SQL server", "tcp/1433", RequirementStatus.NotSeenRequired, []),
        ],
    };
}
