using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsvHelper;
using TrafficAudit.Outputs;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// `--format jsonl`: every table parsed back (System.Text.Json) equals the CSV of the same run: same
/// keys in the CSV's column order, same values, null where the CSV cell is empty, numbers as JSON
/// numbers and booleans as JSON booleans where the schema says so.
/// </summary>
[TestClass]
public sealed class JsonLinesTests
{
    private static readonly string[] Tables = ["flows", "rtp_streams", "calls", "sip_options", "anomalies", "findings", "expected_flows", "rtp_series"];

    public static IEnumerable<object[]> Captures() =>
    [
        ["imagicle-site.pcap"],
        ["public:wireshark-wiki/sip-rtp-g711.pcap"],
        ["public:wireshark-wiki/Asterisk_ZFONE_XLITE.pcap"],
        ["public:heplify/sip_ipv4_tcp.pcap"],
        ["public:ndpi/rtp.pcapng"],
        ["public:wireshark-wiki/T38.pcap"],
    ];

    internal static string CapturePath(string name) =>
        name.StartsWith("public:", StringComparison.Ordinal) ? TestPaths.PublicCapture(name["public:".Length..]) : Path.Combine(TestPaths.Captures, name);

    private static string[] ExtraArgs(string path)
    {
        var profile = Path.ChangeExtension(path, ".profile.json");
        return File.Exists(profile) ? ["--profile", profile, "--series"] : ["--series"];
    }

    [TestMethod]
    [DynamicData(nameof(Captures))]
    public void JsonLines_EveryTable_EqualsTheCsvRows(string capture)
    {
        var path = CapturePath(capture);
        var csv = CliRunner.Audit([path, "--fail-on", "never", "-q", .. ExtraArgs(path)]);
        var json = CliRunner.Audit([path, "--fail-on", "never", "-q", "--format", "jsonl", .. ExtraArgs(path)]);
        Assert.AreEqual(0, csv.ExitCode, csv.Stderr);
        Assert.AreEqual(0, json.ExitCode, json.Stderr);
        int rows = AssertSameTables(csv.OutDir, json.OutDir);
        Assert.IsGreaterThan(0, rows, "the capture gives rows");
        Assert.IsEmpty(Directory.GetFiles(json.OutDir, "*.csv"), "no CSV table is written with --format jsonl");
    }

    [TestMethod]
    [DataRow("imagicle-site.pcap")]
    [DataRow("public:wireshark-wiki/sip-rtp-g711.pcap")]
    [DataRow("public:wireshark-wiki/Asterisk_ZFONE_XLITE.pcap")]
    [DataRow("public:heplify/sip_ipv6_udp.pcap")]
    public void Anonymized_JsonLinesAndCsv_HoldTheSameValuesAndNoOriginalAddress(string capture)
    {
        var path = CapturePath(capture);
        var plain = CliRunner.Audit([path, "--fail-on", "never", "-q", .. ExtraArgs(path)]);
        var csv = CliRunner.Audit([path, "--fail-on", "never", "-q", "--anonymize-seed", "same seed", .. ExtraArgs(path)]);
        var json = CliRunner.Audit([path, "--fail-on", "never", "-q", "--anonymize-seed", "same seed", "--format", "jsonl", .. ExtraArgs(path)]);
        Assert.AreEqual(0, json.ExitCode, json.Stderr);
        AssertSameTables(csv.OutDir, json.OutDir);

        // The original addresses: every address column of the plain run.
        var addresses = new HashSet<string>();
        foreach (var (table, column) in new[] { ("flows", "client_ip"), ("flows", "server_ip"), ("rtp_streams", "src_ip"), ("rtp_streams", "dst_ip"), ("calls", "caller_ip"), ("calls", "callee_ip") })
            foreach (var row in Csv.Read(Path.Combine(plain.OutDir, table + ".csv"))) addresses.Add(row[column]);
        Assert.IsGreaterThan(1, addresses.Count);
        foreach (var file in Directory.GetFiles(json.OutDir, "*.jsonl"))
        {
            string text = File.ReadAllText(file);
            foreach (var ip in addresses)
                Assert.IsFalse(Regex.IsMatch(text, $@"(?<![\d.:a-fA-F]){Regex.Escape(ip)}(?![\d:a-fA-F])"), $"{ip} appears in {Path.GetFileName(file)}");
        }
    }

    [TestMethod]
    public void Format_SwitchingBetweenRuns_RemovesTheOtherFormatsTablesAndNamesTheWrittenOnes()
    {
        var site = Path.Combine(TestPaths.Captures, "imagicle-site.pcap");
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        var first = CliRunner.Run(["audit", site, "--out", dir, "--fail-on", "never"]);
        Assert.IsTrue(File.Exists(Path.Combine(dir, "flows.csv")), first.Stderr);
        var second = CliRunner.Run(["audit", site, "--out", dir, "--fail-on", "never", "--format", "jsonl"]);
        StringAssert.Contains(second.Stdout, "Written: flows.jsonl (35 flows), rtp_streams.jsonl (9 streams), calls.jsonl (5 calls), sip_options.jsonl, anomalies.jsonl, findings.jsonl in ");
        StringAssert.Contains(second.Stderr, "removed flows.csv, rtp_streams.csv, calls.csv, sip_options.csv, anomalies.csv, findings.csv of an older run");
        CollectionAssert.AreEquivalent(new[] { "anomalies.jsonl", "calls.jsonl", "findings.jsonl", "flows.jsonl", "rtp_streams.jsonl", "sip_options.jsonl" },
            Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
        var third = CliRunner.Run(["audit", site, "--out", dir, "--fail-on", "never", "-q"]);
        StringAssert.Contains(third.Stderr, "removed flows.jsonl, rtp_streams.jsonl");
        Assert.IsEmpty(Directory.GetFiles(dir, "*.jsonl"));
    }

    [TestMethod]
    public void Schemas_NameTheRowTypesColumnsInOrder()
    {
        var rowTypes = new Dictionary<string, Type>
        {
            ["flows"] = typeof(FlowRow), ["rtp_streams"] = typeof(RtpStreamRow), ["calls"] = typeof(CallRow), ["sip_options"] = typeof(SipOptionsRow),
            ["anomalies"] = typeof(AnomalyRow), ["findings"] = typeof(FindingRow), ["expected_flows"] = typeof(ExpectedFlowRow), ["rtp_series"] = typeof(RtpSeriesRow),
        };
        CollectionAssert.AreEqual(Tables, RecordSchemas.All.Select(s => s.Name).ToArray());
        foreach (var schema in RecordSchemas.All)
        {
            var columns = rowTypes[schema.Name].GetProperties().Select(p => p.GetCustomAttribute<CsvColumnAttribute>()?.Name).Where(n => n is not null).ToArray();
            CollectionAssert.AreEqual(columns, schema.ColumnNames.ToArray(), schema.Name);
            // Units a reader needs: times, milliseconds, rates.
            foreach (var (name, unit, _) in schema.Describe())
            {
                if (name.EndsWith("_ms", StringComparison.Ordinal)) Assert.AreEqual("ms", unit, $"{schema.Name}.{name}");
                if (name.EndsWith("_kbps", StringComparison.Ordinal) || name.Contains("kbps_", StringComparison.Ordinal)) Assert.AreEqual("kbit/s", unit, $"{schema.Name}.{name}");
                if (name.EndsWith("_pct", StringComparison.Ordinal) || name.Contains("_pct_", StringComparison.Ordinal)) Assert.AreEqual("%", unit, $"{schema.Name}.{name}");
                if (name.EndsWith("_s", StringComparison.Ordinal)) Assert.AreEqual("s", unit, $"{schema.Name}.{name}");
                if (name is "first_seen" or "last_seen" or "start" or "second") Assert.AreEqual("UTC ISO 8601", unit, $"{schema.Name}.{name}");
                if (name.StartsWith("mos", StringComparison.Ordinal)) Assert.AreEqual("MOS (1-5)", unit, $"{schema.Name}.{name}");
            }
        }
    }

    [TestMethod]
    [DataRow("12", true)]
    [DataRow("-0.500", true)]
    [DataRow("161.763", true)]
    [DataRow("1e5", true)]
    [DataRow("", false)]
    [DataRow("012", false)]
    [DataRow("1.", false)]
    [DataRow(".5", false)]
    [DataRow("NaN", false)]
    [DataRow("5060;5061", false)]
    public void IsJsonNumber_FollowsRfc8259(string text, bool expected) =>
        Assert.AreEqual(expected, JsonLinesRowWriter<FlowRow>.IsJsonNumber(text), text);

    /// <summary>Compares every table both folders hold; returns the rows compared.</summary>
    internal static int AssertSameTables(string csvDir, string jsonDir)
    {
        int rows = 0;
        foreach (var schema in RecordSchemas.All)
        {
            string csvPath = Path.Combine(csvDir, schema.Name + ".csv"), jsonPath = Path.Combine(jsonDir, schema.Name + ".jsonl");
            Assert.AreEqual(File.Exists(csvPath), File.Exists(jsonPath), $"{schema.Name}: both formats or neither");
            if (!File.Exists(csvPath)) continue;
            rows += AssertSameRows(schema, csvPath, jsonPath);
        }
        return rows;
    }

    internal static int AssertSameRows(IRecordSchema schema, string csvPath, string jsonPath)
    {
        var header = Csv.Header(csvPath);
        CollectionAssert.AreEqual(schema.ColumnNames.ToArray(), header.ToArray(), schema.Name);
        var kinds = schema.Describe().ToDictionary(c => c.Name, c => c.Kind);
        var csvRows = Csv.Read(csvPath);
        var lines = File.ReadAllText(jsonPath).Split('\n');
        Assert.AreEqual("", lines[^1], $"{jsonPath} ends with a line break");
        Assert.HasCount(csvRows.Count, lines[..^1], $"{schema.Name}: rows");
        for (int i = 0; i < csvRows.Count; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var props = doc.RootElement.EnumerateObject().ToList();
            CollectionAssert.AreEqual(header.ToArray(), props.Select(p => p.Name).ToArray(), $"{schema.Name} row {i + 1}: keys");
            foreach (var p in props)
            {
                string cell = csvRows[i][p.Name], where = $"{schema.Name} row {i + 1} {p.Name}";
                var v = p.Value;
                switch (v.ValueKind)
                {
                    case JsonValueKind.Null:
                        Assert.AreEqual("", cell, where);
                        break;
                    case JsonValueKind.Number:
                        Assert.IsTrue(kinds[p.Name] is ValueKind.Integer or ValueKind.Floating, where + ": a number in a column of kind " + kinds[p.Name]);
                        Assert.AreEqual(cell, v.GetRawText(), where);
                        if (kinds[p.Name] == ValueKind.Integer) Assert.IsTrue(v.TryGetInt64(out _), where + ": a whole number");
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        Assert.AreEqual(ValueKind.Bool, kinds[p.Name], where);
                        Assert.AreEqual(v.ValueKind == JsonValueKind.True ? "true" : "false", cell, where);
                        break;
                    case JsonValueKind.String:
                        string s = v.GetString()!;
                        Assert.AreNotEqual("", s, where + ": empty is null");
                        // The CSV alone escapes a text that a spreadsheet would run as a formula.
                        string expected = s[0] is '=' or '@' or '+' or '-' or '\t' or '\r' ? "'" + s : s;
                        Assert.AreEqual(expected, cell, where);
                        Assert.AreEqual(SafeText.Cell(s), s, where + ": text is already safe");
                        break;
                    default:
                        Assert.Fail($"{where}: {v.ValueKind}");
                        break;
                }
                // Numbers and booleans are typed whenever the schema says so.
                if (cell.Length > 0 && kinds[p.Name] is ValueKind.Integer or ValueKind.Floating)
                    Assert.AreEqual(JsonValueKind.Number, v.ValueKind, where + $": '{cell}' is a number");
                if (cell.Length > 0 && kinds[p.Name] is ValueKind.Bool)
                    Assert.IsTrue(v.ValueKind is JsonValueKind.True or JsonValueKind.False, where);
            }
        }
        return csvRows.Count;
    }
}
