using TrafficAudit.Catalogue;

namespace TrafficAudit.Cli;

/// <summary>`trafficaudit catalogue`: prints the port catalogue.</summary>
public static class CatalogueCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = Arguments.Parse(args,
            new Dictionary<string, string> { ["--catalogue"] = "--catalogue", ["--catalog"] = "--catalogue" },
            new Dictionary<string, string> { ["--json"] = "--json" });
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        var path = a.Value("--catalogue");
        if (a.Flag("--json"))
        {
            if (path is null) PortCatalogue.WriteEmbeddedJson(stdout);
            else stdout.Write(File.ReadAllText(path));
            return ExitCodes.Ok;
        }
        var catalogue = LoadCatalogue(path);
        CatalogueFormatter.Write(catalogue, stdout);
        return ExitCodes.Ok;
    }

    /// <summary>The built-in catalogue, or the file given; a bad file is a configuration error naming line and column.</summary>
    public static PortCatalogue LoadCatalogue(string? path)
    {
        if (path is null) return PortCatalogue.LoadEmbedded();
        try
        {
            return PortCatalogue.LoadFile(path);
        }
        catch (CatalogueException e)
        {
            throw new UsageException(e.Message);
        }
        catch (IOException e)
        {
            throw new UsageException($"cannot read catalogue {path}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UsageException($"cannot read catalogue {path}: {e.Message}");
        }
    }
}
