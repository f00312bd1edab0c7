namespace TrafficAudit.Catalogue;

/// <summary>
/// A catalogue file could not be used: bad JSON, an unknown field or value, a bad port range, a missing
/// required field. Thrown before the first packet is read. <see cref="Line"/> and <see cref="Column"/> are
/// 1-based; the column counts characters (UTF-8 code points), not bytes.
/// </summary>
public sealed class CatalogueException : Exception
{
    public CatalogueException(string file, int line, int column, string problem, Exception? inner = null)
        : base($"{file}:{line}:{column}: {problem}", inner)
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
