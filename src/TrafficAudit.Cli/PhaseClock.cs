using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TrafficAudit.Cli;

/// <summary>
/// Where a run's time goes around the packet loop, for `audit --stats` (issue 12 counts the whole
/// process): a monotonic timestamp at each named mark, printed as seconds between marks. A mark is
/// one <see cref="Stopwatch.GetTimestamp"/> into a fixed array, so taking them costs nothing measurable
/// and runs without --stats take them too.
/// </summary>
internal static class PhaseClock
{
    /// <summary>The marks, in the order a file audit passes them; the printed phase is the time from the previous mark.</summary>
    public enum Mark
    {
        /// <summary>CommandLine.Run entered: the runtime and host have started (measured from the process's start).</summary>
        Main,
        /// <summary>The command line is parsed.</summary>
        Parsed,
        /// <summary>The port catalogue is loaded.</summary>
        Catalogue,
        /// <summary>The rest of the options are read (profile, --server...).</summary>
        Setup,
        /// <summary>The engine, its record logs and run totals are built.</summary>
        Engine,
        /// <summary>The captures are opened: the first packet is about to be read.</summary>
        Opened,
        /// <summary>The last packet was processed.</summary>
        Loop,
        /// <summary>The engine completed (VoIP stage drained, flows ended, record logs closed, verdict judged).</summary>
        Completed,
        /// <summary>The outputs are written and the console printed.</summary>
        Outputs,
    }

    private static readonly string[] Names = ["runtime_s", "parse_s", "catalogue_s", "setup_s", "engine_s", "open_s", "loop_s", "complete_s", "outputs_s"];
    private static readonly long[] At = new long[Names.Length];

    public static void Set(Mark mark) => At[(int)mark] = Stopwatch.GetTimestamp();

    /// <summary>Seconds from mark <paramref name="from"/> to <paramref name="to"/>; 0 when either was not reached.</summary>
    public static double Seconds(Mark from, Mark to) =>
        At[(int)from] == 0 || At[(int)to] == 0 ? 0 : Stopwatch.GetElapsedTime(At[(int)from], At[(int)to]).TotalSeconds;

    /// <summary>
    /// "runtime_s=0.041 parse_s=0.004 ... outputs_s=0.010": each phase's seconds (the loop's left out:
    /// --stats prints its own), from <paramref name="processStartUtc"/> to Main for the runtime's.
    /// </summary>
    public static string Phases(DateTime processStartUtc)
    {
        var mainUtc = DateTime.UtcNow - Stopwatch.GetElapsedTime(At[(int)Mark.Main]);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Names[0]}={(mainUtc - processStartUtc).TotalSeconds:F3}");
        for (int i = 1; i < Names.Length; i++)
        {
            if (i == (int)Mark.Loop) continue;
            sb.Append(CultureInfo.InvariantCulture, $" {Names[i]}={Seconds((Mark)(i - 1), (Mark)i):F3}");
        }
        return sb.ToString();
    }
}
