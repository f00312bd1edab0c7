namespace TrafficAudit.Capture;

/// <summary>
/// File system failures in plain words for one-sentence messages ("permission denied"), instead of
/// .NET's exception text ("Access to the path '…' is denied.").
/// </summary>
public static class IoErrors
{
    public static string Describe(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "no such folder",
        PathTooLongException => "the path is too long",
        IOException io when io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) => "no space left on the device",
        IOException io when io.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase) => "the file system is read-only",
        IOException io when io.Message.Contains("Is a directory", StringComparison.OrdinalIgnoreCase) => "it is a folder",
        IOException io when io.Message.Contains("Not a directory", StringComparison.OrdinalIgnoreCase) => "a part of the path is a file, not a folder",
        // The OS's own words, without .NET's decoration of the path.
        _ => e.Message.Split(" : '")[0].TrimEnd('.'),
    };
}
