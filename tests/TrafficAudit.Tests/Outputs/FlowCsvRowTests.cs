using System.Text;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// The record log writes a flows.csv row straight from its record (<see cref="FlowCsvRow"/>): byte for byte the
/// row the schema writer makes from <see cref="FlowRow.From(FlowRecord)"/>, on every flow of the site capture and
/// the public captures and on records made to hit each formatting edge; and without allocating for an IPv4 flow.
/// </summary>
[TestClass]
public sealed class FlowCsvRowTests
{
    private static IReadOnlyList<FlowRecord> Audit(string path)
    {
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions());
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        return engine.Complete(source.Interfaces, source.Errors).Flows;
    }

    private static (string Schema, string Direct) BothWays(IEnumerable<FlowRecord> flows)
    {
        using var schemaBytes = new MemoryStream();
        using var directBytes = new MemoryStream();
        using (var schema = RowWriter<FlowRow>.Create(RecordSchemas.Flows, OutputFormat.Csv, schemaBytes))
        using (var direct = RowWriter<FlowRow>.Create(RecordSchemas.Flows, OutputFormat.Csv, directBytes))
        {
            var csv = ((CsvRowWriter<FlowRow>)direct).Csv;
            foreach (var f in flows)
            {
                schema.WriteRow(FlowRow.From(f));
                FlowCsvRow.Write(csv, f);
            }
            schema.Flush();
            direct.Flush();
        }
        return (Encoding.UTF8.GetString(schemaBytes.ToArray()), Encoding.UTF8.GetString(directBytes.ToArray()));
    }

    private static void AssertSameRows(IEnumerable<FlowRecord> flows, string what)
    {
        var (schema, direct) = BothWays(flows);
        var expected = schema.Split('\n');
        var actual = direct.Split('\n');
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual[i], $"{what}: row {i + 1}");
    }

    [TestMethod]
    public void EveryFlowOfTheSiteAndPublicCaptures_SameRowAsTheSchemaWriter()
    {
        var paths = new List<string> { Path.Combine(TestPaths.Captures, "imagicle-site.pcap") };
        if (Directory.Exists(TestPaths.PublicCaptures))
            paths.AddRange(Directory.EnumerateFiles(TestPaths.PublicCaptures, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal) || f.EndsWith(".cap", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal));
        int rows = 0, captures = 0;
        foreach (var path in paths)
        {
            IReadOnlyList<FlowRecord> flows;
            try { flows = Audit(path); }
            catch (CaptureFormatException) { continue; }
            AssertSameRows(flows, Path.GetFileName(path));
            rows += flows.Count;
            captures++;
        }
        Console.WriteLine($"{rows} flows of {captures} captures written both ways");
        Assert.IsGreaterThan(100, rows);
    }

    private static FlowRecord Record(IpAddress client, IpAddress server, IpProtocol transport) => new()
    {
        FlowId = 42, FirstSeenNs = 1_772_442_000_123_456_789, LastSeenNs = 1_772_442_003_000_000_001, Transport = transport,
        ClientIp = client, ClientPort = 50_000, ServerIp = server, ServerPort = 443, Vlan = 100,
        PacketsC2S = 5, PacketsS2C = long.MaxValue, BytesC2S = 0, BytesS2C = 1234, TcpState = TcpHandshakeState.Established, SynRetries = 2,
        HandshakeRttNs = 1_234_567, ServerRttNs = 0, ClientRttNs = -1, IcmpUnreachable = 1, EndReason = FlowEndReason.Evicted, ClientBy = "syn",
    };

    [TestMethod]
    public void EdgeCases_SameRowAsTheSchemaWriter()
    {
        var v4 = Record(IpAddress.Parse("10.0.0.1"), IpAddress.Parse("255.255.255.0"), IpProtocol.Tcp);
        var flows = new List<FlowRecord>
        {
            v4,
            v4 with { Service = "sip", Applications = "advanced-queuing;attendant-console", Direction = "IN", MatchedRule = "sip-5060", Infrastructure = true, ServerName = "api.imagicle.com" },
            // Text that the safety rule or the CSV quoting changes: a comma, a quote, a control, a formula.
            v4 with { ServerName = "a,b\"c\u0001d", Service = "=cmd", Applications = "-x", Direction = "+1", ClientBy = "@me" },
            Record(IpAddress.Parse("2001:db8::1"), IpAddress.Parse("::ffff:0:1"), IpProtocol.Udp),
            Record(IpAddress.Parse("fe80::1"), IpAddress.Parse("2001:db8:0:0:1:0:0:1"), IpProtocol.Icmpv6),
            Record(IpAddress.Parse("0.0.0.0"), IpAddress.Parse("192.168.100.200"), IpProtocol.Icmp),
            Record(IpAddress.Parse("10.0.0.1"), IpAddress.Parse("10.0.0.2"), (IpProtocol)47),
            // Mixed families: no Community ID.
            Record(IpAddress.Parse("10.0.0.1"), IpAddress.Parse("2001:db8::2"), IpProtocol.Udp),
            v4 with { FirstSeenNs = 0, LastSeenNs = 0, HandshakeRttNs = 999, ServerRttNs = 1_000_000_000_000, ClientRttNs = 500 },
            v4 with { FirstSeenNs = -5_000_000_000, LastSeenNs = long.MaxValue },
        };
        AssertSameRows(flows, "edge cases");
    }

    [TestMethod]
    public void Ipv4Row_AllocatesNothing()
    {
        var f = Record(IpAddress.Parse("10.1.2.3"), IpAddress.Parse("10.0.0.10"), IpProtocol.Tcp) with { Service = "https", ServerName = "api.imagicle.com" };
        using var bytes = new MemoryStream(1 << 20);
        using var writer = RowWriter<FlowRow>.Create(RecordSchemas.Flows, OutputFormat.Csv, bytes);
        var csv = ((CsvRowWriter<FlowRow>)writer).Csv;
        for (int i = 0; i < 100; i++) FlowCsvRow.Write(csv, f); // warm: CsvHelper's buffers at their size
        writer.Flush();
        // The least of five rounds: the runtime may allocate once while it tiers a method up during a round
        // (seen once in CI: 4,752 bytes in one round), whereas a row that allocates does so in every round.
        long least = long.MaxValue;
        for (int round = 0; round < 5 && least > 0; round++)
        {
            bytes.Position = 0;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) FlowCsvRow.Write(csv, f);
            writer.Flush();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.AreEqual(0L, least, "bytes allocated for 1,000 rows (the least of five rounds)");
    }
}
