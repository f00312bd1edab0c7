using System.Text.Json;
using TrafficAudit.Cli;

namespace TrafficAudit.Tests.Live;

/// <summary>`live --format jsonl`: the tables are JSON lines at every flush and at the end, named so on the console.</summary>
[TestClass]
public sealed class LiveFormatTests
{
    [TestMethod]
    public void Live_FormatJsonl_WritesJsonLinesAtEachFlushAndAtTheEnd()
    {
        using var lab = LiveLab.Create();
        string outDir = Path.Combine(lab.Work, "live");
        var live = lab.StartCli(["live", "--out", outDir, "-i", "lo", "--flush", "1", "--format", "jsonl", "--rotate", "1h", "--fail-on", "never"]);
        Assert.IsTrue(live.WaitForStderr("Ctrl+C to stop", 20_000), "live capture did not start: " + live.Stderr + live.Stdout);
        var send = lab.Start("/bin/bash", "-c", "exec 3>/dev/udp/127.0.0.1/5555; for i in $(seq 1 20); do echo probe >&3; sleep 0.05; done");
        Assert.IsTrue(send.WaitForExit(20_000), "the datagrams were not sent");

        // A periodic flush writes flows.jsonl with the flow to port 5555.
        string flows = Path.Combine(outDir, "flows.jsonl");
        bool seen = false;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!seen && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(200);
            if (File.Exists(flows)) seen = Rows(flows).Any(r => r.GetProperty("server_port").GetInt32() == 5555);
        }
        Assert.IsTrue(seen, "flows.jsonl holds the flow before the capture ends");

        live.Terminate();
        Assert.IsTrue(live.WaitForExit(15_000), "live capture did not end on SIGTERM");
        Assert.AreEqual(ExitCodes.Ok, live.ExitCode, live.Stderr + live.Stdout);
        var udp = Rows(flows).Single(r => r.GetProperty("server_port").GetInt32() == 5555);
        Assert.AreEqual("udp", udp.GetProperty("transport").GetString());
        Assert.IsGreaterThan(0, udp.GetProperty("packets_c2s").GetInt64());
        Assert.AreEqual(JsonValueKind.Null, udp.GetProperty("tcp_state").ValueKind, "empty is null");
        StringAssert.Contains(live.Stdout, "Written: flows.jsonl (");
        Assert.IsEmpty(Directory.GetFiles(outDir, "*.csv"), "no CSV table with --format jsonl");
    }

    private static List<JsonElement> Rows(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
}
