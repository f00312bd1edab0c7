namespace TrafficAudit.Catalogue;

/// <summary>
/// A configuration file (the port catalogue, a deployment profile) could not be used. Thrown before the
/// first packet is read. <see cref="Line"/> and <see cref="Column"/> are 1-based (the column counts
/// characters, not bytes); 0 when the file could not be read at all.
/// </summary>
public abstract class ConfigurationFileException : Exception
{
    protected ConfigurationFileException(string file, int line, int column, string problem, Exception? inner)
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
