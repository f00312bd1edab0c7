namespace TrafficAudit.Cli;

/// <summary>
/// CPU seconds each of this process's threads used so far, summed by thread name (Linux: /proc/self/task/*/stat;
/// the runtime names our threads: trafficaudit-sh for the shards, trafficaudit-me for the merger, trafficaudit-vo for
/// the VoIP stage, "trafficaudit re" for the record log's writer, trafficaudit for the reader). For `--stats`: the
/// longest thread bounds the wall time however many cores a machine has, so these figures say how an audit would
/// scale without a larger machine. Empty where /proc is not there.
/// </summary>
internal static class ThreadCpu
{
    /// <summary>Clock ticks per second of /proc's times (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>"name:seconds,..." by name, the busiest first, threads under 10 ms left out; "" when unknown.</summary>
    public static string Summary()
    {
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
            {
                string stat;
                try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
                catch (IOException) { continue; } // the thread ended meanwhile
                // pid (comm) state ... : the name may hold spaces and parentheses, so it ends at the last ')'.
                int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
                if (open < 0 || close < open) continue;
                var fields = stat[(close + 2)..].Split(' ');
                // After the name: state is field 3, utime 14 and stime 15 (1-based over the whole line).
                if (fields.Length < 13 || !long.TryParse(fields[11], out long user) || !long.TryParse(fields[12], out long system)) continue;
                string name = stat[(open + 1)..close].Replace(' ', '_');
                byName[name] = byName.GetValueOrDefault(name) + user + system;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DirectoryNotFoundException)
        {
            return "";
        }
        var busy = byName.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal);
        return string.Join(",", busy.Select(kv => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{kv.Key}:{kv.Value / TicksPerSecond:F2}")));
    }
}
