using System.Globalization;
using System.Text;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.Analyzers.Rtp;

/// <summary>
/// Every RTP stream tshark finds in the public captures, compared with <see cref="RtpStreamStatistics"/>
/// fed the same packets: packets and lost exactly, the problem flag exactly, deltas and jitters within
/// 0.01 ms (tshark prints 3 decimals). Figures from tools/oracle/rtp-streams.sh, i.e.
/// <c>tshark -n -r FILE -q -o rtp.heuristic_rtp:TRUE -z rtp,streams</c> (tshark 4.0.17).
/// </summary>
[TestClass]
public sealed class RtpStreamStatisticsOracleTests
{
    private const double ToleranceMs = 0.01;

    /// <summary>
    /// Streams whose packets tshark decodes as something else part-way through because SIP/SDP in the
    /// capture tells it so; the test-only extractor has no signalling and cannot follow. Here the
    /// re-INVITE to T.38 (SDP in frame 21 onwards, "m=image udptl t38") makes tshark dissect the
    /// gateway's later RTP-shaped packets on 15580 as T.38 from frame 3106, so it counts 1838 packets
    /// where the wire holds 3848 RTP version 2 packets of that SSRC. Checked separately below.
    /// </summary>
    private static readonly HashSet<(string File, uint Ssrc)> SignallingDecided =
    [
        ("wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", 0x0EAF0EAF),
    ];

    internal sealed record OracleRow(string File, TestRtpExtractor.StreamKey Key, string Payload, long Packets, long Lost,
        double MinDelta, double MeanDelta, double MaxDelta, double MinJitter, double MeanJitter, double MaxJitter, bool Problem);

    internal static IReadOnlyList<OracleRow> LoadRows()
    {
        var rows = new List<OracleRow>();
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.TestData, "tshark-rtp-streams.tsv")))
        {
            if (line.StartsWith('#') || line.StartsWith("file\t", StringComparison.Ordinal)) continue;
            var c = line.Split('\t');
            double D(int i) => double.Parse(c[i], CultureInfo.InvariantCulture);
            rows.Add(new OracleRow(c[0],
                new TestRtpExtractor.StreamKey(c[1], int.Parse(c[2], CultureInfo.InvariantCulture), c[3], int.Parse(c[4], CultureInfo.InvariantCulture),
                    uint.Parse(c[5].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)),
                c[6], long.Parse(c[7], CultureInfo.InvariantCulture), long.Parse(c[8], CultureInfo.InvariantCulture),
                D(9), D(10), D(11), D(12), D(13), D(14), c[15] == "1"));
        }
        return rows;
    }

    public static IEnumerable<object[]> Files() =>
        LoadRows().Select(r => r.File).Distinct().Order(StringComparer.Ordinal).Select(f => new object[] { f });

    /// <summary>Runs every packet of the tshark streams of one file through the statistics; returns one line per mismatch.</summary>
    internal static List<string> Compare(string file, out int streams, out int matched)
    {
        var rows = LoadRows().Where(r => r.File == file).ToList();
        var stats = rows.ToDictionary(r => r.Key, _ => new RtpStreamStatistics());
        foreach (var frame in TestRtpExtractor.Read(TestPaths.PublicCapture(file)))
        {
            if (!stats.ContainsKey(frame.Key)) continue;
            var s = stats[frame.Key];
            s.Add(frame.TimestampNs, frame.Info);
            stats[frame.Key] = s;
        }
        var problems = new List<string>();
        streams = rows.Count;
        matched = 0;
        foreach (var r in rows)
        {
            var s = stats[r.Key];
            if (SignallingDecided.Contains((r.File, r.Key.Ssrc)))
            {
                // We must see at least what tshark saw as RTP; the rest went to another dissector.
                if (s.Packets < r.Packets) problems.Add($"{file} 0x{r.Key.Ssrc:X8}: fewer packets than tshark ({s.Packets} < {r.Packets})");
                streams--;
                continue;
            }
            var diff = new StringBuilder();
            void Exact(string name, object expected, object actual)
            {
                if (!expected.Equals(actual)) diff.Append($" {name}: tshark {expected}, ours {actual};");
            }
            void Near(string name, double expected, double actual)
            {
                if (Math.Abs(expected - actual) > ToleranceMs) diff.Append(CultureInfo.InvariantCulture, $" {name}: tshark {expected:F3}, ours {actual:F3};");
            }
            Exact("packets", r.Packets, s.Packets);
            Exact("lost", r.Lost, s.Lost);
            Exact("problem", r.Problem, s.Problem);
            Near("min_delta", r.MinDelta, s.MinDeltaMs);
            Near("mean_delta", r.MeanDelta, s.MeanDeltaMs);
            Near("max_delta", r.MaxDelta, s.MaxDeltaMs);
            Near("min_jitter", r.MinJitter, s.MinJitterMs);
            Near("mean_jitter", r.MeanJitter, s.MeanJitterMs);
            Near("max_jitter", r.MaxJitter, s.MaxJitterMs);
            if (diff.Length == 0) matched++;
            else problems.Add($"{file} {r.Key.Src}:{r.Key.SrcPort} -> {r.Key.Dst}:{r.Key.DstPort} 0x{r.Key.Ssrc:X8}:{diff}");
        }
        return problems;
    }

    [TestMethod]
    [DynamicData(nameof(Files))]
    public void Add_EveryPacketOfPublicCapture_MatchesTsharkRtpStreams(string file)
    {
        var problems = Compare(file, out int streams, out int matched);
        Assert.IsEmpty(problems, $"{matched}/{streams} streams match; mismatches:\n" + string.Join("\n", problems));
    }

    [TestMethod]
    public void OracleFile_HasTheRtpStreamsOfThePublicCaptures()
    {
        var rows = LoadRows();
        Assert.IsGreaterThanOrEqualTo(40, rows.Count);
        Assert.IsTrue(rows.Any(r => r.Lost < 0), "the duplicated skinny streams (negative loss) are part of the check");
    }
}
