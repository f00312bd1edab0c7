using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TrafficAudit.Capture;

/// <summary>
/// Turns what the user named into the list of capture files to read, as engineers hand them over:
/// a file; '-' (standard input); a folder (every capture directly in it: dumpcap ring files
/// FILE_NNNNN_YYYYMMDDhhmmss.ext in ring order, then the others by name; files that are not
/// captures are skipped with a note); or a shell pattern (<c>*</c>, <c>?</c>, <c>[...]</c>) the shell
/// did not expand, e.g. quoted. A file named twice (even through another path or a link) is refused:
/// reading it twice would count every packet twice, and a FIFO read twice never ends.
/// </summary>
public static partial class CaptureInputs
{
    /// <summary>dumpcap's ring naming: PREFIX_NNNNN_YYYYMMDDhhmmss[.ext...].</summary>
    [GeneratedRegex(@"^(?<prefix>.*)_(?<n>\d{5,})_(?<time>\d{14})(?<ext>\.[^_]*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex RingName();

    /// <summary>Expands <paramref name="named"/> into capture files, in reading order.</summary>
    /// <param name="note">Receives one sentence per file skipped in a folder.</param>
    /// <exception cref="CaptureInputException">An empty name, a file named twice (usage), or a folder or pattern with no capture in it.</exception>
    public static IReadOnlyList<string> Expand(IReadOnlyList<string> named, Action<string> note)
    {
        var files = new List<string>();
        foreach (var name in named)
        {
            if (name.Length == 0) throw new CaptureInputException("an empty capture file name was given: name a file, a folder or '-'", usage: true);
            // File.Exists is true for FIFOs and devices too: they are read as streams.
            if (name == CaptureFile.StandardInputPath || File.Exists(name)) { files.Add(name); continue; }
            if (Directory.Exists(name))
            {
                var found = FromFolder(name, note);
                if (found.Count == 0) throw new CaptureInputException($"{name}: the folder holds no capture file (pcap, pcapng, or either gzip-compressed)", usage: false);
                files.AddRange(found);
                continue;
            }
            if (name.AsSpan().IndexOfAny("*?[") >= 0)
            {
                var matched = Glob(name);
                if (matched.Count == 0) throw new CaptureInputException($"{name}: no file matches this pattern", usage: false);
                files.AddRange(SortRing(matched));
                continue;
            }
            files.Add(name);   // missing: the reader says "file not found" with the name
        }
        RefuseDuplicates(files);
        return files;
    }

    private static List<string> FromFolder(string folder, Action<string> note)
    {
        var captures = new List<string>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFiles(folder).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaptureInputException($"{folder}: cannot list the folder: {IoErrors.Describe(e)}", usage: false);
        }
        foreach (var path in entries)
        {
            string file = Path.GetFileName(path);
            if (file.StartsWith('.')) continue;   // hidden files, our own temporary files
            string? why = NotACapture(path);
            if (why is null) captures.Add(path);
            else note($"{path}: skipped, {why}");
        }
        return SortRing(captures);
    }

    /// <summary>Null when the first bytes are a pcap, pcapng or gzip magic; otherwise why not.</summary>
    public static string? NotACapture(string path)
    {
        Span<byte> head = stackalloc byte[4];
        int n;
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            n = s.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "cannot be read (" + IoErrors.Describe(e) + ")";
        }
        if (n < 4) return n == 0 ? "empty" : "too short to be a capture";
        if (head[0] == 0x1F && head[1] == 0x8B) return null;
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(head), be = BinaryPrimitives.ReadUInt32BigEndian(head);
        if (le is PcapFrameSource.MagicMicro or PcapFrameSource.MagicNano || be is PcapFrameSource.MagicMicro or PcapFrameSource.MagicNano) return null;
        if (le == PcapNgFrameSource.SectionHeaderType) return null;
        return "not a pcap or pcapng file";
    }

    /// <summary>
    /// Reading order: dumpcap ring files by prefix then ring number (the number, not the name: it
    /// grows past 99999), then every other file by name (ordinal).
    /// </summary>
    public static List<string> SortRing(IEnumerable<string> paths) =>
        paths.Select(p => (p, m: RingName().Match(Path.GetFileName(p))))
            .OrderBy(x => x.m.Success ? 0 : 1)
            .ThenBy(x => x.m.Success ? Path.Combine(Path.GetDirectoryName(x.p) ?? "", x.m.Groups["prefix"].Value) : x.p, StringComparer.Ordinal)
            .ThenBy(x => x.m.Success ? decimal.Parse(x.m.Groups["n"].Value, CultureInfo.InvariantCulture) : 0)
            .ThenBy(x => x.p, StringComparer.Ordinal)
            .Select(x => x.p).ToList();

    /// <summary>
    /// Splits the reading list into runs that can be read one file after the other: consecutive
    /// files of one dumpcap ring (same folder and prefix, ring numbers rising) form one run; every
    /// other file is a run of its own. Runs are merged by timestamp; the files of a run are not.
    /// </summary>
    public static List<List<int>> SequentialRuns(IReadOnlyList<string> files)
    {
        var runs = new List<List<int>>();
        string? runKey = null;
        decimal lastNumber = -1;
        for (int i = 0; i < files.Count; i++)
        {
            var m = files[i] == CaptureFile.StandardInputPath ? Match.Empty : RingName().Match(Path.GetFileName(files[i]));
            if (m.Success)
            {
                string key = Path.Combine(Path.GetDirectoryName(files[i]) ?? "", m.Groups["prefix"].Value);
                decimal number = decimal.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
                if (key == runKey && number > lastNumber)
                {
                    runs[^1].Add(i);
                    lastNumber = number;
                    continue;
                }
                runKey = key;
                lastNumber = number;
            }
            else runKey = null;
            runs.Add([i]);
        }
        return runs;
    }

    /// <summary>Files matching a shell pattern; wildcards may be in any path segment (no '**').</summary>
    private static List<string> Glob(string pattern)
    {
        bool rooted = Path.IsPathRooted(pattern);
        var segments = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = new List<string> { rooted ? "/" : "" };
        for (int i = 0; i < segments.Length; i++)
        {
            bool last = i == segments.Length - 1;
            var next = new List<string>();
            foreach (var dir in current)
            {
                string seg = segments[i];
                if (seg.AsSpan().IndexOfAny("*?[") < 0)
                {
                    string p = dir.Length == 0 ? seg : Path.Combine(dir, seg);
                    if (last ? File.Exists(p) : Directory.Exists(p)) next.Add(p);
                    continue;
                }
                var regex = new Regex(GlobToRegex(seg), RegexOptions.CultureInvariant);
                string listed = dir.Length == 0 ? "." : dir;
                if (!Directory.Exists(listed)) continue;
                IEnumerable<string> children;
                try
                {
                    children = last ? Directory.EnumerateFiles(listed) : Directory.EnumerateDirectories(listed);
                    children = children.ToList();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                foreach (var child in children)
                {
                    string name = Path.GetFileName(child);
                    if (name.StartsWith('.') && !seg.StartsWith('.')) continue;   // as the shell does
                    if (regex.IsMatch(name)) next.Add(dir.Length == 0 ? name : Path.Combine(dir, name));
                }
            }
            current = next;
        }
        return current;
    }

    private static string GlobToRegex(string segment)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < segment.Length; i++)
        {
            char c = segment[i];
            if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else if (c == '[' && segment.IndexOf(']', i + 1) is int close && close > i + 1)
            {
                string set = segment[(i + 1)..close];
                if (set.StartsWith('!')) set = "^" + set[1..];
                sb.Append('[').Append(set.Replace("\\", "\\\\")).Append(']');
                i = close;
            }
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.Append('$').ToString();
    }

    private static void RefuseDuplicates(List<string> files)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        bool stdin = false;
        foreach (var f in files)
        {
            if (f == CaptureFile.StandardInputPath)
            {
                if (stdin) throw new CaptureInputException("standard input ('-') can be given only once", usage: true);
                stdin = true;
                continue;
            }
            string key = Identity(f);
            if (seen.TryGetValue(key, out var first))
                throw new CaptureInputException(first == f
                    ? $"{f} is named twice: name each capture once"
                    : $"{f} and {first} are the same file: name each capture once", usage: true);
            seen[key] = f;
        }
    }

    /// <summary>The full path with links resolved: two names of one file compare equal.</summary>
    private static string Identity(string path)
    {
        try
        {
            string full = Path.GetFullPath(path);
            var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
            return target?.FullName ?? full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return path;
        }
    }
}

/// <summary>The inputs named cannot be used: <see cref="Usage"/> for a mistake on the command line (exit 2), else nothing to read (exit 3).</summary>
public sealed class CaptureInputException(string message, bool usage) : Exception(message)
{
    public bool Usage { get; } = usage;
}
