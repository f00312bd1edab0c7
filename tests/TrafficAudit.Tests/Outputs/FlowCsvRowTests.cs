using System.Text;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// The record log writes a flows.csv row straight from its record (<see cref="FlowCsvRow"/>): byte for byte the
/// row CsvHelper writes through the schema from <see cref="FlowRow.From(FlowRecord)"/>, on every flow of the site
/// capture and the public captures, on records made to hit each formatting edge and on random ones; and without
/// allocating for an IPv4 flow.
/// </summary>
[TestClass]
public sealed class FlowCsvRowTests
{
    private static void AssertSameRows(IEnumerable<FlowRecord> flows, string what)
    {
        var row = new FlowCsvRow();
        DirectCsvRows.AssertSameRows(RecordSchemas.Flows, flows, FlowRow.From, row.Write, what);
    }

    [TestMethod]
    public void EveryFlowOfTheSiteAndPublicCaptures_SameRowAsTheSchemaWriter()
    {
        int rows = 0, captures = 0;
        foreach (var (name, result) in DirectCsvRows.SiteAndPublicCaptures())
        {
            AssertSameRows(result.Flows, name);
            rows += result.Flows.Count;
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
    public void RandomRecords_SameRowAsTheSchemaWriter()
    {
        // Times across years and days (the cached date part must follow), durations and round trips near the
        // rounding boundary of their last decimal, text that recurs (the per-column cache) or changes.
        var rng = new Random(12);
        string[] texts = ["", "sip", "https", "a,b", "=1+2", "-", "x\"y", "line\nbreak", "é€", "\u0007bell", "+33 1 23"];
        var flows = new List<FlowRecord>();
        var shared = Record(IpAddress.Parse("10.0.0.1"), IpAddress.Parse("10.0.0.2"), IpProtocol.Udp);
        for (int i = 0; i < 20_000; i++)
        {
            long first = rng.Next(4) switch
            {
                0 => rng.NextInt64(0, 4_102_444_800_000_000_000),
                1 => 1_772_442_000_000_000_000 + rng.NextInt64(0, 3 * 86_400_000_000_000L),
                2 => rng.NextInt64(long.MinValue / 2, 0),
                _ => 1_772_442_000_000_000_000 + i * 1_000_000_007L,
            };
            long duration = rng.Next(5) switch
            {
                0 => rng.NextInt64(0, 1_000_000) * 1000 + rng.Next(499, 502),
                1 => rng.NextInt64(0, 2_000_000_000_000_000),
                2 => -rng.NextInt64(0, 1_000_000_000),
                3 => rng.NextInt64(999_999_999_999_000, 1_000_000_000_001_000),
                _ => rng.NextInt64(0, 10_000_000_000),
            };
            long Rtt() => rng.Next(6) switch
            {
                0 => -1,
                1 => rng.NextInt64(0, 1000) * 1000 + 500,
                2 => rng.NextInt64(0, 1_000_000_000) * 1000 + rng.Next(498, 503),
                3 => rng.NextInt64(999_999_999_990_000, 1_000_000_000_010_000),
                4 => rng.NextInt64(0, long.MaxValue),
                _ => rng.NextInt64(0, 300_000_000),
            };
            string Text() => rng.Next(3) == 0 ? texts[rng.Next(texts.Length)] + rng.Next(3) : texts[rng.Next(texts.Length)];
            flows.Add(shared with
            {
                FlowId = i, FirstSeenNs = first, LastSeenNs = first + duration,
                ClientIp = IpAddress.FromV4((uint)rng.NextInt64(0, 1L << 32)), ServerIp = IpAddress.FromV4((uint)rng.NextInt64(0, 1L << 32)),
                ClientPort = (ushort)rng.Next(65536), ServerPort = (ushort)rng.Next(65536), Transport = (IpProtocol)rng.Next(0, 60),
                HandshakeRttNs = Rtt(), ServerRttNs = Rtt(), ClientRttNs = Rtt(),
                Service = Text(), Applications = Text(), Direction = Text(), MatchedRule = Text(), ServerName = rng.Next(4) == 0 ? null : Text(), ClientBy = Text(),
                PacketsC2S = rng.NextInt64(long.MinValue, long.MaxValue), Infrastructure = rng.Next(2) == 0,
            });
        }
        AssertSameRows(flows, "random records");
    }

    [TestMethod]
    public void FixedDecimals_SameTextAsTheDouble()
    {
        // FlowCsvRow.Fixed formats ns / unit with integers where that is provably the double's text: compare both
        // over random values and around every rounding boundary's neighbourhood and the 1e15 ns limit.
        var rng = new Random(7);
        var buffer = new byte[64];
        int checkedValues = 0;
        void Check(long ns)
        {
            foreach (var (unit, decimals, format) in new[] { (1_000_000L, 3, "F3"), (1_000_000_000L, 6, "F6") })
            {
                int n = CsvCells.Fixed(ns, unit, decimals, format, buffer);
                Assert.AreEqual(((double)ns / unit).ToString(format, System.Globalization.CultureInfo.InvariantCulture), Encoding.ASCII.GetString(buffer, 0, n), $"{ns} / {unit}");
                checkedValues++;
            }
        }
        for (int i = 0; i < 300_000; i++)
        {
            long scale = (long)Math.Pow(10, rng.Next(0, 16));
            long ns = rng.NextInt64(0, Math.Max(2, scale));
            Check(ns);
            Check(ns / 1000 * 1000 + 499);
            Check(ns / 1000 * 1000 + 501);
        }
        foreach (long ns in new long[] { 0, 1, 499, 500, 501, 999, 1000, 999_999_999_999_499, 999_999_999_999_999, 1_000_000_000_000_000, long.MaxValue, -1, -500, long.MinValue })
            Check(ns);
        Console.WriteLine($"{checkedValues} values checked");
    }

    [TestMethod]
    public void Ipv4Row_AllocatesNothing()
    {
        var f = Record(IpAddress.Parse("10.1.2.3"), IpAddress.Parse("10.0.0.10"), IpProtocol.Tcp) with { Service = "https", ServerName = "api.imagicle.com" };
        var csv = new CsvEncoder();
        var row = new FlowCsvRow();
        for (int i = 0; i < 100; i++) row.Write(csv, f); // warm: the encoder's buffer at its size
        // The least of five rounds: the runtime may allocate once while it tiers a method up during a round
        // (seen once in CI: 4,752 bytes in one round), whereas a row that allocates does so in every round.
        long least = long.MaxValue;
        for (int round = 0; round < 5 && least > 0; round++)
        {
            csv.Clear();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) row.Write(csv, f);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.AreEqual(0L, least, "bytes allocated for 100 rows (the least of five rounds)");
    }
}
