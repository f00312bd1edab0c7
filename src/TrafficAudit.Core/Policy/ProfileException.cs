using TrafficAudit.Catalogue;

namespace TrafficAudit.Policy;

/// <summary>A deployment profile could not be used: malformed JSON, an unknown field, application or role, a bad address.</summary>
public sealed class ProfileException(string file, int line, int column, string problem, Exception? inner = null)
    : ConfigurationFileException(file, line, column, problem, inner);
