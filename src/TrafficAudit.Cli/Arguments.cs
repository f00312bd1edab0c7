namespace TrafficAudit.Cli;

/// <summary>
/// A small POSIX-style argument reader: positional values, `--name value`, `--name=value`,
/// repeatable options and flags. Unknown options are usage errors (exit code 2).
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = new();

    /// <param name="valueOptions">Options that take a value, with their short aliases (e.g. "-o" for "--out").</param>
    /// <param name="flagOptions">Options without a value.</param>
    public static Arguments Parse(IEnumerable<string> args, IReadOnlyDictionary<string, string> valueOptions, IReadOnlyDictionary<string, string> flagOptions)
    {
        var a = new Arguments();
        using var e = args.GetEnumerator();
        bool onlyPositional = false;
        while (e.MoveNext())
        {
            string arg = e.Current;
            if (onlyPositional || arg == "-" || !arg.StartsWith('-')) { a.Positional.Add(arg); continue; }
            if (arg == "--") { onlyPositional = true; continue; }
            string name = arg, inline = "";
            bool hasInline = false;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith("--") && eq > 0) { name = arg[..eq]; inline = arg[(eq + 1)..]; hasInline = true; }
            if (valueOptions.TryGetValue(name, out var canonical))
            {
                string value;
                if (hasInline) value = inline;
                else if (e.MoveNext()) value = e.Current;
                else throw new UsageException($"option {name} needs a value");
                if (!a._values.TryGetValue(canonical, out var list)) a._values[canonical] = list = new();
                list.Add(value);
            }
            else if (flagOptions.TryGetValue(name, out var flag) && !hasInline) a._flags.Add(flag);
            else throw new UsageException($"unknown option '{arg}'");
        }
        return a;
    }

    public string? Value(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var l) ? l : [];
    public bool Flag(string name) => _flags.Contains(name);
}
