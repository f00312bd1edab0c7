using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Decode;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// The record log writes an rtp_streams.csv row straight from its record (<see cref="RtpStreamCsvRow"/>): byte for
/// byte the row CsvHelper writes through the schema from <see cref="RtpStreamRow.From(RtpStreamRecord)"/>, on every
/// stream of the site capture and the public captures, on records made to hit each formatting edge and on random ones.
/// </summary>
[TestClass]
public sealed class RtpStreamCsvRowTests
{
    private static void AssertSameRows(IEnumerable<RtpStreamRecord> streams, string what)
    {
        var row = new RtpStreamCsvRow();
        DirectCsvRows.AssertSameRows(RecordSchemas.RtpStreams, streams, RtpStreamRow.From, row.Write, what);
    }

    [TestMethod]
    public void EveryStreamOfTheSiteAndPublicCaptures_SameRowAsTheSchemaWriter()
    {
        int rows = 0, captures = 0;
        foreach (var (name, result) in DirectCsvRows.SiteAndPublicCaptures())
        {
            AssertSameRows(result.Streams, name);
            rows += result.Streams.Count;
            if (result.Streams.Count > 0) captures++;
        }
        Console.WriteLine($"{rows} streams of {captures} captures written both ways");
        Assert.IsGreaterThan(20, rows);
    }

    private static RtpStreamRecord Record() => new()
    {
        StreamId = 7, CallId = "a84b4c76e66710@pc33.example.com", Ssrc = 0x0000ABCD, SrcIp = IpAddress.Parse("10.0.0.1"), SrcPort = 20_000,
        DstIp = IpAddress.Parse("192.168.1.20"), DstPort = 30_002, Vlan = 0, PayloadType = 0, Codec = "PCMU", ClockRate = 8000,
        FirstSeenNs = 1_772_442_000_123_456_789, LastSeenNs = 1_772_442_060_000_000_001, Packets = 3000, Expected = 3002, Lost = 2,
        LostPct = 0.0666, Duplicates = 0, OutOfOrder = 1, MaxDeltaMs = 40.0005, MeanDeltaMs = 20.0, MaxJitterMs = 3.14159, MeanJitterMs = 0.5,
        IpKbps = 80.05, EthKbps = 95.2, PeakIpKbps = 81.0, Mos = 4.4, SdpMatched = true, WiresharkExpected = 3002, WiresharkLost = 2,
        SequenceErrors = 1, LossBursts = new RtpLossBursts(2, 1, 2, 2, 0, 0, 0, 0), CallDirection = "out", RtcpReports = 3, RtcpJitterMs = 1.25,
        RtcpCumulativeLost = 2, RtcpMaxFractionLostPct = 0.39, RtcpRttMs = 12.5, RtcpRttMaxMs = 20.125, IpBytesAfterFirst = 600_000,
        TimeSeries = null, MosNetwork = 4.41, MosF1 = 4.3, MosF2 = 4.39, MosAdapt = 4.4, LateF1 = 5, LateF2 = 0, LateAdapt = 1,
        RtcpMuxPackets = 0, FlowId = 12,
    };

    [TestMethod]
    public void EdgeCases_SameRowAsTheSchemaWriter()
    {
        var r = Record();
        var streams = new List<RtpStreamRecord>
        {
            r,
            // Not finite, not measured, halfway between two last decimals, negative, and far too large for 64 bytes.
            r with { LostPct = double.NaN, MaxDeltaMs = double.PositiveInfinity, MeanJitterMs = -0.0005, IpKbps = 0.05, EthKbps = 0.25, PeakIpKbps = 1e300 },
            r with { RtcpReports = 0, RtcpJitterMs = -1, RtcpRttMs = -1, RtcpRttMaxMs = -0.0, RtcpMaxFractionLostPct = 12.5, FlowId = 0, Mos = double.NegativeInfinity },
            r with { LossBursts = default, CallId = "", CallDirection = "", Codec = "" },
            r with { LossBursts = new RtpLossBursts(int.MaxValue, long.MaxValue, long.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue) },
            // Text that the safety rule or the CSV quoting changes: a comma, a quote, a control, a formula.
            r with { CallId = "=cmd|' /C calc'!A0", Codec = "a,b\"c", CallDirection = "-in\u0001" },
            r with { SrcIp = IpAddress.Parse("2001:db8::1"), DstIp = IpAddress.Parse("::ffff:0:1"), Ssrc = uint.MaxValue, Vlan = 4095, PayloadType = 127, ClockRate = uint.MaxValue },
            r with { FirstSeenNs = 0, LastSeenNs = -5_000_000_000, Packets = long.MinValue, WiresharkLost = -3, StreamId = int.MinValue },
        };
        AssertSameRows(streams, "edge cases");
    }

    [TestMethod]
    public void RandomRecords_SameRowAsTheSchemaWriter()
    {
        var rng = new Random(5);
        string[] texts = ["", "PCMU", "PCMA", "G729", "telephone-event", "in", "out", "a,b", "=1+2", "-", "x\"y", "é€"];
        double Figure() => rng.Next(8) switch
        {
            0 => -1,
            1 => rng.NextDouble() * 1e6,
            2 => Math.Round(rng.NextDouble() * 1000, 3) + 0.0005,
            3 => double.NaN,
            4 => -rng.NextDouble(),
            5 => rng.Next(0, 100_000) / 1000.0,
            6 => Math.Pow(10, rng.Next(-10, 30)) * rng.NextDouble(),
            _ => rng.NextDouble() * 100,
        };
        var streams = new List<RtpStreamRecord>();
        var r = Record();
        for (int i = 0; i < 5000; i++)
        {
            long first = 1_772_442_000_000_000_000 + rng.NextInt64(-3 * 86_400_000_000_000L, 3 * 86_400_000_000_000L);
            streams.Add(r with
            {
                StreamId = i, Ssrc = (uint)rng.NextInt64(0, 1L << 32), SrcIp = IpAddress.FromV4((uint)rng.NextInt64(0, 1L << 32)),
                DstIp = IpAddress.FromV4((uint)rng.NextInt64(0, 1L << 32)), SrcPort = (ushort)rng.Next(65536), DstPort = (ushort)rng.Next(65536),
                Codec = texts[rng.Next(texts.Length)], CallDirection = texts[rng.Next(texts.Length)], CallId = rng.Next(3) == 0 ? "" : "call-" + rng.Next(),
                FirstSeenNs = first, LastSeenNs = first + rng.NextInt64(0, 3_600_000_000_000),
                LostPct = Figure(), MaxDeltaMs = Figure(), MeanDeltaMs = Figure(), MaxJitterMs = Figure(), MeanJitterMs = Figure(), IpKbps = Figure(),
                EthKbps = Figure(), PeakIpKbps = Figure(), Mos = Figure(), MosNetwork = Figure(), MosF1 = Figure(), MosF2 = Figure(), MosAdapt = Figure(),
                RtcpReports = rng.Next(3), RtcpJitterMs = Figure(), RtcpMaxFractionLostPct = Figure(), RtcpRttMs = Figure(), RtcpRttMaxMs = Figure(),
                SdpMatched = rng.Next(2) == 0, FlowId = rng.Next(-1, 100),
                LossBursts = rng.Next(2) == 0 ? default : new RtpLossBursts(rng.Next(1, 50), rng.Next(1, 20), rng.Next(1, 100), rng.Next(10), rng.Next(10), rng.Next(10), rng.Next(10), rng.Next(10)),
            });
        }
        AssertSameRows(streams, "random records");
    }
}
