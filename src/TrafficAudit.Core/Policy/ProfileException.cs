namespace TrafficAudit.Policy;

/// <summary>
/// A deployment profile could not be used: malformed JSON, an unknown field, application or role, a bad
/// address. Thrown before the first packet is read. <see cref="Line"/> and <see cref="Column"/> are 1-based
/// (column in characters); 0 when the file could not be read at all.
/// </summary>
public sealed class ProfileException : Exception
{
    public ProfileException(string file, int line, int column, string problem, Exception? inner = null)
        : base(line > 0 ? $"{file}:{line}:{column}: {problem}" : $"{file}: {problem}", inner)
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    public string File { get; }
    public int Line { get; }
    public int Column { get; }
    /// <summary>The message without the location prefix.</summary>
    public string Problem { get; }
}
