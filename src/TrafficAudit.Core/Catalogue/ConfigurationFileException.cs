namespace TrafficAudit.Catalogue;

/// <summary>
/// A configuration file (the port catalogue, a deployment profile) could not be used. Thrown before the
/// first packet is read. <see cref="Line"/> and <see cref="Column"/> are 1-based (the column counts
/// characters, not bytes); 0 when the file could not be read at all.
/// </summary>
public abstract class ConfigurationFileException : Exception
{
    protected ConfigurationFileException(string file, int line, int column, string problem, Exception? inner)
        : base(Format(file, line, column, problem), inner)
    {
        File = file;
        Line = line;
        Column = column;
        Problem = ConfigurationText.Shown(problem, MaxProblemLength);
    }

    /// <summary>Longest problem text shown; values quoted from the file are part of it.</summary>
    private const int MaxProblemLength = 600;

    /// <summary>One line: control characters of values quoted from the file are escaped, the text is capped.</summary>
    private static string Format(string file, int line, int column, string problem)
    {
        string shownFile = ConfigurationText.Shown(file, 400);
        string shown = ConfigurationText.Shown(problem, MaxProblemLength);
        return line > 0 ? $"{shownFile}:{line}:{column}: {shown}" : $"{shownFile}: {shown}";
    }

    public string File { get; }
    public int Line { get; }
    public int Column { get; }
    /// <summary>The message without the location prefix.</summary>
    public string Problem { get; }
}
