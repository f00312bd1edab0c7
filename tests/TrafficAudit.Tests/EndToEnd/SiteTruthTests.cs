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
        Assert.AreEqual(1, r.ExitCode, r.Stderr); // the site plants error findings (blocked, refused, over latency)
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
            Check("service", Str(t, "expected_service"));
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
    public void Audit_Site_ReportsEveryGeneratedCallAndRtpStreamAsGenerated()
    {
        var (_, truth, run) = Site.Value;
        var calls = Csv.Read(run.File("calls.csv"));
        var streams = Csv.Read(run.File("rtp_streams.csv"));
        var problems = new List<string>();
        foreach (var call in truth.GetProperty("calls").EnumerateArray())
        {
            string id = call.GetProperty("call_id").GetString()!;
            var c = calls.SingleOrDefault(r => r["call_id"] == id);
            if (c is null) { problems.Add($"call {id} missing"); continue; }
            if (c["answered"] != "true") problems.Add($"call {id} not answered");
            foreach (var st in call.GetProperty("rtp_streams").EnumerateArray())
            {
                string ssrc = "0x" + Convert.ToUInt32(st.GetProperty("ssrc").ToString().Replace("0x", ""), 16).ToString("X8", CultureInfo.InvariantCulture);
                var s = streams.SingleOrDefault(r => r["ssrc"] == ssrc);
                if (s is null) { problems.Add($"stream {ssrc} of {id} missing"); continue; }
                if (s["call_id"] != id) problems.Add($"stream {ssrc}: call_id '{s["call_id"]}', truth {id}");
                if (s["sdp_matched"] != "true") problems.Add($"stream {ssrc} not matched to SDP");
                if (s["packets"] != st.GetProperty("packets").ToString()) problems.Add($"stream {ssrc}: packets {s["packets"]}, truth {st.GetProperty("packets")}");
                if (s["lost"] != st.GetProperty("lost").ToString()) problems.Add($"stream {ssrc}: lost {s["lost"]}, truth {st.GetProperty("lost")}");
            }
            int expectedStreams = call.GetProperty("rtp_streams").GetArrayLength();
            if (c["streams"] != expectedStreams.ToString(CultureInfo.InvariantCulture)) problems.Add($"call {id}: {c["streams"]} streams, truth {expectedStreams}");
            if (c["one_way"] != (expectedStreams == 1 ? "true" : "false")) problems.Add($"call {id}: one_way {c["one_way"]}");
        }
        Assert.AreEqual(0, problems.Count, string.Join("\n", problems));
        Assert.AreEqual(truth.GetProperty("calls").GetArrayLength(), calls.Count);
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
