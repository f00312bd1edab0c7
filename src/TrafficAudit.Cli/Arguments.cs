namespace TrafficAudit.Cli;

/// <summary>
/// The options and positional values of one command as <see cref="CliParser"/> found them, by the
/// option's long name ("--out" also when typed "-o"). A value option given twice keeps both values;
/// <see cref="Value"/> is the last one.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = new();

    public void AddValue(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list)) _values[name] = list = new();
        list.Add(value);
    }

    public void SetFlag(string name) => _flags.Add(name);

    public string? Value(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var l) ? l : [];
    public bool Flag(string name) => _flags.Contains(name);
}
