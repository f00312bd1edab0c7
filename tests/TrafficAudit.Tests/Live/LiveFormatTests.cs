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

        // A periodic flush writes the flow to port 5555, still open (UDP idle time 2 min), to open_flows.jsonl.
        string open = Path.Combine(outDir, "open_flows.jsonl");
        bool seen = false;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!seen && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(200);
            if (File.Exists(open)) seen = Rows(open).Any(r => r.GetProperty("server_port").GetInt32() == 5555);
        }
        Assert.IsTrue(seen, "open_flows.jsonl holds the open flow before the capture ends");

        live.Terminate();
        Assert.IsTrue(live.WaitForExit(15_000), "live capture did not end on SIGTERM");
        Assert.AreEqual(ExitCodes.Ok, live.ExitCode, live.Stderr + live.Stdout);
        // --rotate 1h: the record log's files are named flows_NNNNN_<start>.jsonl; the flow left at the end of the capture.
        var logs = Directory.GetFiles(outDir, "flows_*.jsonl");
        Assert.HasCount(1, logs, "one hour of capture time: one file");
        StringAssert.Matches(Path.GetFileName(logs[0]), new System.Text.RegularExpressions.Regex(@"^flows_00001_\d{8}T\d{6}Z\.jsonl$"));
        var udp = Rows(logs[0]).Single(r => r.GetProperty("server_port").GetInt32() == 5555);
        Assert.AreEqual("udp", udp.GetProperty("transport").GetString());
        Assert.IsGreaterThan(0, udp.GetProperty("packets_c2s").GetInt64());
        Assert.AreEqual(JsonValueKind.Null, udp.GetProperty("tcp_state").ValueKind, "empty is null");
        StringAssert.Contains(live.Stdout, "Record files (--rotate): " + Path.GetFileName(logs[0]));
        Assert.IsFalse(File.Exists(open), "nothing is open at the end: open_flows.jsonl is removed");
        Assert.IsEmpty(Directory.GetFiles(outDir, "*.csv"), "no CSV table with --format jsonl");
    }

    private static List<JsonElement> Rows(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
}
