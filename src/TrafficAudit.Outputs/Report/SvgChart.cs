using System.Globalization;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs.Report;

/// <summary>
/// Inline SVG line charts of a call's per-second series (jitter, IP kbit/s), one line per RTP stream,
/// coloured and dashed by direction so they read in black and white. Drawn at their natural size
/// (one SVG unit is one CSS pixel), so tick labels and axis titles print at 11 px; ticks fall on
/// round steps (1, 2 or 5 times a power of ten; seconds also on 15, 30, 60...); a budget line is
/// dashed and drawn under the data, so a stream exactly at the budget stays visible.
/// </summary>
internal static class SvgChart
{
    /// <summary>Points per line at most; longer series keep the maximum of each group of buckets.</summary>
    public const int MaxPoints = 240;

    public const double Width = 480, Height = 142;
    private const double Left = 50, Right = Width - 14, Top = 20, Bottom = Height - 36;

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

    /// <summary>
    /// Writes one chart. <paramref name="yTitle"/> is the y axis title with its unit; the x axis is
    /// seconds from the call's first media packet. <paramref name="reference"/> draws the dashed budget line.
    /// </summary>
    public static void Write(Html h, string yTitle, string ariaLabel, double xMaxS, IReadOnlyList<Line> lines, double? reference, string? referenceLabel)
    {
        double dataMax = lines.Count == 0 ? 0 : lines.Max(l => l.Points.Count == 0 ? 0 : l.Points.Max(p => p.Y));
        if (reference is { } r) dataMax = Math.Max(dataMax, r * 1.15);
        dataMax = Math.Max(dataMax, 1);
        double yStep = NiceStep(dataMax / 5);
        double yMax = Math.Ceiling(dataMax / yStep - 1e-9) * yStep;
        double xStep = NiceSeconds(Math.Max(xMaxS, 1) / 8);
        double xMax = Math.Max(1, Math.Ceiling(Math.Max(xMaxS, 1) / xStep - 1e-9)) * xStep;
        var inv = CultureInfo.InvariantCulture;

        h.Open("svg", ("class", "chart"), ("width", Width.ToString(inv)), ("height", Height.ToString(inv)),
            ("viewBox", $"0 0 {Width.ToString(inv)} {Height.ToString(inv)}"), ("role", "img"), ("aria-label", ariaLabel));
        // Grid and y ticks.
        for (double v = 0; v <= yMax + yStep / 2; v += yStep)
        {
            string y = F(Y(v, yMax));
            if (v > 0) h.Trusted($"<line class=\"grid\" x1=\"{Left}\" x2=\"{Right}\" y1=\"{y}\" y2=\"{y}\"/>");
            h.Open("text", ("x", (Left - 5).ToString(inv)), ("y", F(Y(v, yMax) + 4)), ("class", "yl")).Text(Label(v)).Close("text");
        }
        // x ticks.
        for (double t = 0; t <= xMax + xStep / 2; t += xStep)
        {
            string x = F(X(t, xMax));
            h.Trusted($"<line class=\"tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{Bottom}\" y2=\"{Bottom + 4}\"/>");
            h.Open("text", ("x", x), ("y", (Bottom + 15).ToString(inv)), ("class", "xl")).Text(Label(t)).Close("text");
        }
        h.Trusted($"<polyline class=\"axis\" points=\"{Left},{Top} {Left},{Bottom} {Right},{Bottom}\"/>");
        // Axis titles, each with its unit.
        h.Open("text", ("x", F((Left + Right) / 2)), ("y", (Height - 4).ToString(inv)), ("class", "at")).Text("time from the call's first RTP packet (s)").Close("text");
        h.Open("text", ("x", "4"), ("y", "13"), ("class", "at yt")).Text(yTitle).Close("text");
        // The budget under the data: a stream exactly at the budget draws over it.
        if (reference is { } refY)
        {
            string y = F(Y(refY, yMax));
            h.Trusted($"<line class=\"ref\" x1=\"{Left}\" x2=\"{Right}\" y1=\"{y}\" y2=\"{y}\"/>");
            h.Open("text", ("x", (Right - 2).ToString(inv)), ("y", F(Y(refY, yMax) - 5)), ("class", "rl")).Text(referenceLabel).Close("text");
        }
        foreach (var line in lines)
        {
            var points = new System.Text.StringBuilder(line.Points.Count * 11);
            foreach (var (x, y) in line.Points)
            {
                if (points.Length > 0) points.Append(' ');
                points.Append(F(X(x, xMax))).Append(',').Append(F(Y(y, yMax)));
            }
            h.Open("polyline", ("class", line.CssClass), ("points", points.ToString())).Close("polyline");
        }
        h.Close("svg");
    }

    private static double X(double s, double xMax) => Left + Math.Clamp(s / xMax, 0, 1) * (Right - Left);
    private static double Y(double v, double yMax) => Bottom - Math.Clamp(v / yMax, 0, 1) * (Bottom - Top);

    private static string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private static string Label(double v) => Math.Abs(v - Math.Round(v)) < 1e-9 ? Math.Round(v).ToString("F0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>1, 2, 2.5 or 5 times a power of ten, at least <paramref name="v"/>.</summary>
    internal static double NiceCeiling(double v)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 2.5, 5, 10])
            if (m * p >= v * 0.999999) return m * p;
        return 10 * p;
    }

    /// <summary>A tick step of 1, 2 or 5 times a power of ten, at least <paramref name="v"/>.</summary>
    internal static double NiceStep(double v)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 5, 10])
            if (m * p >= v * 0.999999) return m * p;
        return 10 * p;
    }

    /// <summary>A tick step in seconds: 1, 2, 5, 10, 15, 30 s, then whole minutes (1, 2, 5, 10, 15, 30), then hours.</summary>
    internal static double NiceSeconds(double v)
    {
        if (v <= 1) return NiceStep(v);
        foreach (double s in (ReadOnlySpan<double>)[1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600])
            if (s >= v) return s;
        return 3600 * NiceStep(v / 3600);
    }
}
