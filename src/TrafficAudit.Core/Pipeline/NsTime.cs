using System.Globalization;

namespace TrafficAudit.Pipeline;

/// <summary>Formatting of capture timestamps (ns since the Unix epoch) and durations, invariant and fixed.</summary>
public static class NsTime
{
    private static readonly long MaxTicks = DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks;

    public static DateTime ToUtc(long ns)
    {
        long ticks = ns / 100;
        if (ticks > MaxTicks) ticks = MaxTicks;
        if (ticks < -DateTime.UnixEpoch.Ticks) ticks = -DateTime.UnixEpoch.Ticks;
        return DateTime.UnixEpoch.AddTicks(ticks);
    }

    /// <summary>UTC ISO 8601 with microseconds, e.g. 2026-03-02T09:00:00.123456Z.</summary>
    public static string Iso(long ns) => ToUtc(ns).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Milliseconds with 3 decimals (µs resolution), or empty when not measured (negative).</summary>
    public static string Ms(long ns) => ns < 0 ? "" : (ns / 1e6).ToString("F3", CultureInfo.InvariantCulture);
}
