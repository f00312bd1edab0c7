namespace TrafficAudit.Cli;

/// <summary>
/// Whether standard input can be read for '-'. When a shell starts us with standard input closed
/// (<c>trafficaudit audit - &lt;&amp;-</c>), descriptor 0 is free and the .NET runtime's own first
/// pipe lands on it: reading it would wait forever. That pipe's other end is held by this process
/// too, which no real input pipe is, so we can tell.
/// </summary>
internal static class StandardInput
{
    /// <summary>Why standard input is unusable, or null when it looks like real input (or the platform cannot tell).</summary>
    public static string? ClosedReason()
    {
        if (!OperatingSystem.IsLinux()) return null;
        string? target;
        try
        {
            target = new FileInfo("/proc/self/fd/0").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "standard input is closed";
        }
        if (target is null) return File.Exists("/proc/self/fd/0") ? null : "standard input is closed";
        if (!target.StartsWith("pipe:", StringComparison.Ordinal) && !target.StartsWith("anon_inode:", StringComparison.Ordinal)) return null;
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                if (Path.GetFileName(fd) == "0") continue;
                string? other;
                try { other = new FileInfo(fd).LinkTarget; }
                catch (IOException) { continue; }
                // Its write end, not a copy of the read end (.NET duplicates descriptor 0 for Console).
                if (other == target && OpenForWriting(Path.GetFileName(fd)))
                    return "standard input is closed (descriptor 0 is one of this process's own pipes)";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return null;
    }

    /// <summary>Whether descriptor <paramref name="fd"/> is open write-only (the "flags:" line of /proc/self/fdinfo, octal; O_WRONLY = 1).</summary>
    private static bool OpenForWriting(string fd)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
            {
                if (!line.StartsWith("flags:", StringComparison.Ordinal)) continue;
                int flags = Convert.ToInt32(line["flags:".Length..].Trim(), 8);
                return (flags & 3) == 1;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return false;
    }
}
