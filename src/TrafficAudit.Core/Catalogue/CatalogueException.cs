namespace TrafficAudit.Catalogue;

/// <summary>A catalogue file could not be used: bad JSON, an unknown field or value, a bad port range, a missing required field.</summary>
public sealed class CatalogueException(string file, int line, int column, string problem, Exception? inner = null)
    : ConfigurationFileException(file, line, column, problem, inner);
