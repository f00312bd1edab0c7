using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Catalogue;

/// <summary>
/// The catalogue's own dotted-quad reader (issue 12: System.Net's parser was JIT-compiled at start) against
/// System.Net's, the oracle: every text it takes, System.Net reads as the same address; what it leaves, System.Net decides.
/// </summary>
[TestClass]
public sealed class IpPrefixParseTests
{
    [TestMethod]
    [DataRow("52.112.0.0", true)]
    [DataRow("0.0.0.0", true)]
    [DataRow("255.255.255.255", true)]
    [DataRow("10.0.0.1", true)]
    [DataRow("192.168.100.200", true)]
    [DataRow("256.0.0.0", false)]
    [DataRow("010.0.0.0", false)]   // octal to System.Net: left to it
    [DataRow("10.1", false)]        // a short form System.Net reads: left to it
    [DataRow("0x0A.0.0.0", false)]
    [DataRow("1.2.3.4.5", false)]
    [DataRow("1.2.3.", false)]
    [DataRow(".1.2.3", false)]
    [DataRow("1..2.3", false)]
    [DataRow("1.2.3.4 ", false)]
    [DataRow("1.2.3.1000", false)]
    [DataRow("", false)]
    [DataRow("::1", false)]
    [DataRow("::ffff:10.0.0.1", false)]
    public void TryParseDottedQuad_TakesOnlyCanonicalDottedQuads_AsSystemNetReadsThem(string text, bool taken)
    {
        bool ok = IpPrefix.TryParseDottedQuad(text, out var fast);
        Assert.AreEqual(taken, ok, text);
        if (ok)
        {
            Assert.IsTrue(IpAddress.TryParse(text, out var oracle), text);
            Assert.AreEqual(oracle, fast, text);
            Assert.IsTrue(fast.IsV4);
        }
    }

    [TestMethod]
    public void TryParseDottedQuad_EveryOctetValue_MatchesSystemNet()
    {
        for (int v = 0; v <= 255; v++)
        {
            string text = $"{v}.{255 - v}.{v / 2}.{(v * 7) % 256}";
            Assert.IsTrue(IpPrefix.TryParseDottedQuad(text, out var fast), text);
            Assert.IsTrue(IpAddress.TryParse(text, out var oracle), text);
            Assert.AreEqual(oracle, fast, text);
        }
    }

    [TestMethod]
    public void TryParse_PrefixesOfTheBuiltInCatalogue_ContainTheirAddresses()
    {
        Assert.IsTrue(IpPrefix.TryParse("52.112.0.0/14", out var p));
        Assert.AreEqual(14, p.PrefixLength);
        Assert.IsTrue(p.Contains(IpAddress.Parse("52.115.255.255")));
        Assert.IsFalse(p.Contains(IpAddress.Parse("52.116.0.0")));
        Assert.IsFalse(IpPrefix.TryParse("52.112.0.1/14", out _), "host bits set");
        Assert.IsTrue(IpPrefix.TryParse("2001:db8::/32", out var v6), "IPv6 goes to System.Net");
        Assert.IsTrue(v6.Contains(IpAddress.Parse("2001:db8:1::1")));
    }
}
