using System.Globalization;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs.Report;

/// <summary>
/// Small inline SVG line charts of a call's per-second series (jitter, IP kbit/s), one line per RTP
/// stream, coloured and dashed by direction so they read in black and white.
/// </summary>
internal static class SvgChart
{
    /// <summary>Points per line at most; longer series keep the maximum of each group of buckets.</summary>
    public const int MaxPoints = 240;

    private const double Width = 360, Height = 132;
    private const double Left = 42, Right = 352, Top = 20, Bottom = 108;

    public sealed record Line(string CssClass, List<(double X, double Y)> Points);

    /// <summary>The per-stream lines of one call: x in seconds from the call's first media packet.</summary>
    public sealed record CallSeries(List<Line> Jitter, List<Line> Kbps, double DurationS, double BucketS);

    public static CallSeries Build(CallRecord call)
    {
        var withSeries = call.Streams.Where(s => s.TimeSeries is { } t && t.Buckets.Length > 0).ToList();
        var jitter = new List<Line>();
        var kbps = new List<Line>();
        if (withSeries.Count == 0) return new CallSeries(jitter, kbps, 0, 1);
        long origin = withSeries.Min(s => s.TimeSeries!.OriginNs);
        double duration = 0, bucketS = 1;
        foreach (var s in withSeries.OrderBy(s => s.CallDirection == "out" ? 0 : 1).ThenBy(s => s.StreamId))
        {
            var ts = s.TimeSeries!;
            var buckets = ts.Buckets;
            double widthS = ts.BucketWidthNs / 1e9;
            double startS = (ts.OriginNs - origin) / 1e9;
            int group = (buckets.Length + MaxPoints - 1) / MaxPoints;
            bucketS = Math.Max(bucketS, widthS * group);
            duration = Math.Max(duration, startS + buckets.Length * widthS);
            var j = new List<(double, double)>(Math.Min(buckets.Length, MaxPoints));
            var k = new List<(double, double)>(Math.Min(buckets.Length, MaxPoints));
            for (int i = 0; i < buckets.Length; i += group)
            {
                int end = Math.Min(buckets.Length, i + group);
                double maxJ = 0, maxK = 0;
                for (int b = i; b < end; b++)
                {
                    maxJ = Math.Max(maxJ, buckets[b].MaxJitterMs);
                    maxK = Math.Max(maxK, buckets[b].IpBytes * 8 / widthS / 1000);
                }
                double x = startS + (i + end) / 2.0 * widthS;
                j.Add((x, maxJ));
                k.Add((x, maxK));
            }
            string css = s.CallDirection == "in" ? "s-in" : "s-out";
            jitter.Add(new Line(css, j));
            kbps.Add(new Line(css, k));
        }
        return new CallSeries(jitter, kbps, duration, bucketS);
    }

    /// <summary>Writes one chart. <paramref name="reference"/> draws a dashed horizontal line (the budget).</summary>
    public static void Write(Html h, string title, string ariaLabel, double xMaxS, IReadOnlyList<Line> lines, double? reference, string? referenceLabel)
    {
        double dataMax = lines.Count == 0 ? 0 : lines.Max(l => l.Points.Count == 0 ? 0 : l.Points.Max(p => p.Y));
        if (reference is { } r) dataMax = Math.Max(dataMax, r * 1.15);
        double yMax = NiceCeiling(Math.Max(dataMax, 1));
        double xMax = Math.Max(xMaxS, 1);
        var inv = CultureInfo.InvariantCulture;

        h.Open("svg", ("class", "chart"), ("viewBox", "0 0 360 132"), ("role", "img"), ("aria-label", ariaLabel));
        h.Open("text", ("x", "2"), ("y", "11"), ("class", "ct")).Text(title).Close("text");
        // Frame, a middle grid line and the axis labels.
        h.Trusted($"<line class=\"grid\" x1=\"{Left}\" x2=\"{Right}\" y1=\"{F(Y(yMax / 2, yMax))}\" y2=\"{F(Y(yMax / 2, yMax))}\"/>");
        h.Trusted($"<polyline class=\"axis\" points=\"{Left},{Top} {Left},{Bottom} {Right},{Bottom}\"/>");
        h.Open("text", ("x", (Left - 3).ToString(inv)), ("y", (Top + 4).ToString(inv)), ("class", "yl")).Text(Label(yMax)).Close("text");
        h.Open("text", ("x", (Left - 3).ToString(inv)), ("y", F(Y(yMax / 2, yMax) + 3)), ("class", "yl")).Text(Label(yMax / 2)).Close("text");
        h.Open("text", ("x", (Left - 3).ToString(inv)), ("y", (Bottom + 3).ToString(inv)), ("class", "yl")).Text("0").Close("text");
        h.Open("text", ("x", Left.ToString(inv)), ("y", (Bottom + 13).ToString(inv))).Text("0 s").Close("text");
        h.Open("text", ("x", Right.ToString(inv)), ("y", (Bottom + 13).ToString(inv)), ("class", "xr")).Text(Label(xMax) + " s").Close("text");
        if (reference is { } refY)
        {
            string y = F(Y(refY, yMax));
            h.Trusted($"<line class=\"ref\" x1=\"{Left}\" x2=\"{Right}\" y1=\"{y}\" y2=\"{y}\"/>");
            h.Open("text", ("x", (Right - 2).ToString(inv)), ("y", F(Y(refY, yMax) - 3)), ("class", "xr rl")).Text(referenceLabel).Close("text");
        }
        foreach (var line in lines)
        {
            var points = new System.Text.StringBuilder(line.Points.Count * 11);
            foreach (var (x, y) in line.Points)
            {
                if (points.Length > 0) points.Append(' ');
                points.Append(F(Left + Math.Clamp(x / xMax, 0, 1) * (Right - Left))).Append(',').Append(F(Y(y, yMax)));
            }
            h.Open("polyline", ("class", line.CssClass), ("points", points.ToString())).Close("polyline");
        }
        h.Close("svg");
    }

    private static double Y(double v, double yMax) => Bottom - Math.Clamp(v / yMax, 0, 1) * (Bottom - Top);

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private static string Label(double v) => v >= 100 || v == Math.Floor(v) ? v.ToString("F0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>1, 2, 2.5 or 5 times a power of ten, at least <paramref name="v"/>.</summary>
    internal static double NiceCeiling(double v)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 2.5, 5, 10])
            if (m * p >= v * 0.999999) return m * p;
        return 10 * p;
    }
}
