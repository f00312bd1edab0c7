using System.Globalization;
using System.Text.Json;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The bundled synthetic site capture against the ground truth its generator wrote beside it
/// (captures/imagicle-site.truth.json): every flow found, oriented, classified and measured as generated.
/// </summary>
[TestClass]
public sealed class SiteTruthTests
{
    private static readonly Lazy<(List<Dictionary<string, string>> Flows, JsonElement Truth, CliRunner.Result Run)> Site = new(() =>
    {
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"));
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var truth = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Captures, "imagicle-site.truth.json"))).RootElement;
        return (Csv.Read(r.File("flows.csv")), truth, r);
    });

    private static string? Str(JsonElement e, string name) => e.GetProperty(name).ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number => e.GetProperty(name).GetDouble().ToString(CultureInfo.InvariantCulture),
        _ => e.GetProperty(name).ToString(),
    };

    [TestMethod]
    public void Audit_Site_FindsEveryGeneratedFlowOrientedAndMeasuredAsGenerated()
    {
        var (flows, truth, _) = Site.Value;
        var problems = new List<string>();
        int compared = 0;
        foreach (var t in truth.GetProperty("flows").EnumerateArray())
        {
            string key = $"{Str(t, "transport")} {Str(t, "client_ip")}:{Str(t, "client_port")} -> {Str(t, "server_ip")}:{Str(t, "server_port")}";
            var f = flows.SingleOrDefault(r => r["transport"] == Str(t, "transport") && r["client_ip"] == Str(t, "client_ip") && r["client_port"] == Str(t, "client_port")
                && r["server_ip"] == Str(t, "server_ip") && r["server_port"] == Str(t, "server_port"));
            if (f is null) { problems.Add($"{key}: not found with this client/server orientation"); continue; }
            compared++;
            void Check(string column, string? expected)
            {
                if ((expected ?? "") != f[column]) problems.Add($"{key}: {column} is '{f[column]}', truth '{expected}'");
            }
            // T.38 is recognised from the SDP that negotiates it (VoIP analysis), not from the packets alone.
            if (Str(t, "expected_service") != "t38") Check("service", Str(t, "expected_service"));
            Check("direction", Str(t, "direction"));
            Check("vlan", Str(t, "vlan") ?? "0");
            Check("tcp_state", Str(t, "tcp_state"));
            Check("syn_retries", Str(t, "syn_retries"));
            foreach (var c in new[] { "packets_c2s", "packets_s2c", "bytes_c2s", "bytes_s2c" }) Check(c, Str(t, c));
            foreach (var c in new[] { "handshake_rtt_ms", "server_rtt_ms", "client_rtt_ms" })
            {
                var v = Str(t, c);
                Check(c, v is null ? null : double.Parse(v, CultureInfo.InvariantCulture).ToString("F3", CultureInfo.InvariantCulture));
            }
        }
        Assert.AreEqual(0, problems.Count, string.Join("\n", problems));
        Assert.AreEqual(truth.GetProperty("flows").GetArrayLength(), compared);
        Assert.AreEqual(compared, flows.Count, "flows.csv has flows the generator did not write");
    }

    [TestMethod]
    public void Audit_Site_DetectsTheGeneratedNodesAndSaysWhy()
    {
        var (_, truth, run) = Site.Value;
        foreach (var node in truth.GetProperty("nodes").EnumerateArray())
        {
            var ip = node.ValueKind == JsonValueKind.String ? node.GetString()! : node.GetProperty("ip").GetString()!;
            StringAssert.Contains(run.Stdout, ip);
        }
        StringAssert.Contains(run.Stdout, "Imagicle nodes (detected)");
        StringAssert.Contains(run.Stdout, "terminates CTI TCP 51234");
    }
}
