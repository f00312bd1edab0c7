using System.Text;

namespace TrafficAudit.Cli;

/// <summary>
/// Console.Out or Console.Error, opened at the first write: opening one looks up the terminal's encoding
/// and duplicates its handle (about 5 ms of the process's start on the shipped build, issue 12), which a
/// --quiet audit that prints nothing need not pay.
/// </summary>
internal sealed class DeferredConsoleWriter(bool error) : TextWriter
{
    private TextWriter? _inner;

    /// <summary>The console writer itself, opened now if it was not yet.</summary>
    public TextWriter Inner => _inner ??= error ? Console.Error : Console.Out;

    /// <summary>True for this process's standard error, deferred or not (what a status line rewriting itself in place needs).</summary>
    public static bool IsStandardError(TextWriter w) => w is DeferredConsoleWriter { IsError: true } || ReferenceEquals(w, Console.Error);

    private bool IsError => error;

    public override Encoding Encoding => Inner.Encoding;
    public override IFormatProvider FormatProvider => Inner.FormatProvider;
    public override void Write(char value) => Inner.Write(value);
    public override void Write(string? value) => Inner.Write(value);
    public override void Write(char[] buffer, int index, int count) => Inner.Write(buffer, index, count);
    public override void Write(ReadOnlySpan<char> buffer) => Inner.Write(buffer);
    public override void WriteLine() => Inner.WriteLine();
    public override void WriteLine(string? value) => Inner.WriteLine(value);
    public override void WriteLine(ReadOnlySpan<char> buffer) => Inner.WriteLine(buffer);
    public override void Flush() => _inner?.Flush();
}
