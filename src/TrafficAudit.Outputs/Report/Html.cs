using System.Globalization;
using System.Text;

namespace TrafficAudit.Outputs.Report;

/// <summary>
/// A minimal HTML writer for the report. Every piece of text and every attribute value goes through
/// <see cref="Escape"/>; tag and attribute names are constants of our own code. The only way to emit
/// markup unescaped is <see cref="Trusted"/>, used for the stylesheet and for SVG coordinates built from numbers.
/// </summary>
public sealed class Html
{
    private readonly StringBuilder _sb = new(1 << 16);

    /// <summary>
    /// The one escaping function: &amp; &lt; &gt; &quot; &#39; become entities, so the result is safe as
    /// element text and inside a double- or single-quoted attribute. Control characters other than tab, CR
    /// and LF, invisible reordering characters and lone surrogates are escaped as in the CSV files
    /// (<see cref="SafeText"/>: ESC becomes <c>\x1B</c>), so the report shows what the CSV shows.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(text.Length + 16);
        AppendEscaped(sb, text);
        return sb.ToString();
    }

    private static void AppendEscaped(StringBuilder sb, string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    i += SafeText.AppendEscaped(sb, text, i, keep: "\t\n\r") - 1;
                    break;
            }
        }
    }

    /// <summary>Opens an element; attribute values are escaped, a null value leaves the attribute out.</summary>
    public Html Open(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        _sb.Append('<').Append(tag);
        foreach (var (name, value) in attributes)
        {
            if (value is null) continue;
            _sb.Append(' ').Append(name).Append("=\"");
            AppendEscaped(_sb, value);
            _sb.Append('"');
        }
        _sb.Append('>');
        return this;
    }

    public Html Close(string tag)
    {
        _sb.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>Escaped text.</summary>
    public Html Text(string? text)
    {
        if (!string.IsNullOrEmpty(text)) AppendEscaped(_sb, text);
        return this;
    }

    /// <summary>An element holding escaped text, with an optional class.</summary>
    public Html Element(string tag, string? text, string? cssClass = null)
    {
        Open(tag, ("class", cssClass));
        Text(text);
        return Close(tag);
    }

    /// <summary>A table cell; <paramref name="numeric"/> aligns it right.</summary>
    public Html Cell(string? text, bool numeric = false, string? cssClass = null, string? title = null)
    {
        string? cls = numeric ? (cssClass is null ? "num" : "num " + cssClass) : cssClass;
        Open("td", ("class", cls), ("title", title));
        Text(text);
        return Close("td");
    }

    /// <summary>
    /// Escaped text with a line-break opportunity (&lt;wbr&gt;) after each separator (@ . : ; / - _ = &amp;),
    /// so long tokens (Call-IDs, SIP URIs) wrap between their parts instead of in the middle of one.
    /// </summary>
    public Html Breakable(string? text)
    {
        if (string.IsNullOrEmpty(text)) return this;
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('@' or '.' or ':' or ';' or '/' or '-' or '_' or '=' or '&') || i == text.Length - 1) continue;
            AppendEscaped(_sb, text.Substring(start, i + 1 - start));
            _sb.Append("<wbr>");
            start = i + 1;
        }
        if (start < text.Length) AppendEscaped(_sb, text[start..]);
        return this;
    }

    /// <summary>Markup written by our own code (constant CSS, SVG numbers); never pass captured text here.</summary>
    internal Html Trusted(string markup)
    {
        _sb.Append(markup);
        return this;
    }

    /// <summary>A number formatted invariantly (SVG coordinates).</summary>
    internal Html Number(double value, int decimals)
    {
        _sb.Append(value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
        return this;
    }

    public override string ToString() => _sb.ToString();
}
