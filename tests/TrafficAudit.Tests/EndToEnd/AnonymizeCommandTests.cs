using System.Text.Json;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>`audit --report --anonymize --anonymize-map`: no original address in anything meant to be shared.</summary>
[TestClass]
public sealed class AnonymizeCommandTests
{
    [TestMethod]
    public void Audit_Anonymize_LeavesNoOriginalAddressInTheCsvsReportOrConsole()
    {
        var site = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        var map = Path.Combine(dir, "private", "map.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(map)!);
        var r = CliRunner.Run(["audit", site, "--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"),
            "--out", Path.Combine(dir, "out"), "--report", "--anonymize", "--anonymize-map", map]);
        Assert.AreEqual(1, r.ExitCode, r.Stderr); // the sample's planted problems are errors

        var truth = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(site, ".truth.json"))).RootElement;
        var addresses = truth.GetProperty("flows").EnumerateArray()
            .SelectMany(f => new[] { f.GetProperty("client_ip").GetString()!, f.GetProperty("server_ip").GetString()! })
            .Distinct().ToList();
        Assert.IsGreaterThan(10, addresses.Count);
        var shared = Directory.GetFiles(Path.Combine(dir, "out")).Select(f => (Name: Path.GetFileName(f), Text: File.ReadAllText(f)))
            .Append((Name: "stdout", Text: r.Stdout)).ToList();
        CollectionAssert.Contains(shared.Select(s => s.Name).ToList(), "report.html");
        foreach (var (name, text) in shared)
            foreach (var ip in addresses)
                Assert.IsFalse(System.Text.RegularExpressions.Regex.IsMatch(text, $@"(?<![\d.]){System.Text.RegularExpressions.Regex.Escape(ip)}(?![\d])"), $"{ip} appears in {name}");

        // The mapping, for the engineer only, has them all.
        var mapping = File.ReadAllText(map);
        foreach (var ip in addresses) StringAssert.Contains(mapping, "ip," + ip + ",");
    }
}
