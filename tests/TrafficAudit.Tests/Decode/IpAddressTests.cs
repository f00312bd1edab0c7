using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Decode;

[TestClass]
public sealed class IpAddressTests
{
    [TestMethod]
    public void Parse_V4_RoundTripsAndIsV4()
    {
        var a = IpAddress.Parse("10.0.0.10");
        Assert.IsTrue(a.IsV4);
        Assert.AreEqual("10.0.0.10", a.ToString());
        Assert.AreEqual(IpAddress.FromBytes([10, 0, 0, 10]), a);
    }

    [TestMethod]
    public void Parse_V6_RoundTripsAndIsNotV4()
    {
        var a = IpAddress.Parse("2001:db8::1");
        Assert.IsFalse(a.IsV4);
        Assert.AreEqual("2001:db8::1", a.ToString());
    }
}
