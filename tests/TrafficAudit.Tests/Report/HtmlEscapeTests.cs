using TrafficAudit.Outputs.Report;

namespace TrafficAudit.Tests.Report;

[TestClass]
public sealed class HtmlEscapeTests
{
    [TestMethod]
    [DataRow("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;")]
    [DataRow("\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")]
    [DataRow("a & b 'c'", "a &amp; b &#39;c&#39;")]
    [DataRow("&lt;", "&amp;lt;")]
    [DataRow("plain ümlaut 😀", "plain ümlaut 😀")]
    [DataRow("nul\0bel\aesc\u001B[31mdel\x7F", @"nul\x00bel\x07esc\x1B[31mdel\x7F")]
    [DataRow("csi\u009Bnel\u0085rlo\u202Eend", @"csi\x9Bnel\x85rlo\u202Eend")]
    [DataRow("tab\tcr\rlf\n", "tab\tcr\rlf\n")]
    public void Escape_Text_AsExpected(string input, string expected) => Assert.AreEqual(expected, Html.Escape(input));

    [TestMethod]
    public void Escape_LoneSurrogate_Escaped() => Assert.AreEqual(@"a\uD800b", Html.Escape("a\uD800b"));

    [TestMethod]
    public void Escape_Null_Empty() => Assert.AreEqual("", Html.Escape(null));

    [TestMethod]
    public void Open_HostileAttributeValue_CannotCloseTheAttribute()
    {
        var h = new Html();
        h.Open("td", ("title", "x\" onmouseover=\"alert(1)"), ("class", null)).Text("<b>").Close("td");
        Assert.AreEqual("<td title=\"x&quot; onmouseover=&quot;alert(1)\">&lt;b&gt;</td>", h.ToString());
    }
}
