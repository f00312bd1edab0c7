using System.Text.Encodings.Web;
using System.Text.Json;
using TrafficAudit.Catalogue;

namespace TrafficAudit.Cli;

/// <summary>`trafficaudit catalogue`: prints the port catalogue (a table, all columns with --wide, or JSON).</summary>
public static class CatalogueCommand
{
    /// <summary>The plain table is cut to this width unless --wide.</summary>
    public const int TableWidth = 120;

    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        if (a.Flag("--json") && a.Flag("--wide")) throw new UsageException("--json and --wide do not go together: --wide is for the table");
        var path = a.Value("--catalogue");
        // Loaded first in every case: a bad file is reported with line and column, never printed as is.
        var catalogue = LoadCatalogue(path);
        if (a.Flag("--json"))
        {
            WriteJson(path, stdout);
            return ExitCodes.Ok;
        }
        CatalogueFormatter.Write(catalogue, stdout, a.Flag("--wide") ? int.MaxValue : TableWidth);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The catalogue file (or the built-in one) as plain JSON: the comments the file format allows are
    /// dropped and trailing commas removed, so jq and any JSON reader take it; keys and order are kept.
    /// </summary>
    internal static void WriteJson(string? path, TextWriter stdout)
    {
        string text;
        if (path is null)
        {
            var sw = new StringWriter();
            PortCatalogue.WriteEmbeddedJson(sw);
            text = sw.ToString();
        }
        else text = File.ReadAllText(path);
        using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            doc.WriteTo(w);
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>The built-in catalogue, or the file given; a bad file is a configuration error naming line and column.</summary>
    public static PortCatalogue LoadCatalogue(string? path)
    {
        if (path is null) return PortCatalogue.LoadEmbedded();
        if (path.Length == 0) throw new UsageException("--catalogue needs a file name");
        if (Directory.Exists(path)) throw new UsageException($"--catalogue {path} is a folder: name the catalogue's JSON file");
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
            throw new UsageException($"cannot read catalogue {path}: {TrafficAudit.Capture.IoErrors.Describe(e)}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UsageException($"cannot read catalogue {path}: {TrafficAudit.Capture.IoErrors.Describe(e)}");
        }
    }
}
