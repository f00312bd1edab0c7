using System.Text;
using TrafficAudit.Analyzers;

namespace TrafficAudit.Tests.Analyzers;

[TestClass]
public sealed class SipTextTests
{
    [TestMethod]
    [DataRow("INVITE sip:1000@10.0.0.10:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.1.5\r\n")]
    [DataRow("OPTIONS sip:10.0.0.10 SIP/2.0\r\n")]
    [DataRow("SIP/2.0 200 OK\r\n")]
    public void LooksLikeSip_RequestAndStatusLines_AreSip(string text) =>
        Assert.IsTrue(SipText.LooksLikeSip(Encoding.ASCII.GetBytes(text)));

    [TestMethod]
    [DataRow("GET / HTTP/1.1\r\nHost: x\r\n")]
    [DataRow("SIP/2.0 OK without code\r\n")]
    [DataRow("HELLO")]
    public void LooksLikeSip_OtherText_IsNotSip(string text) =>
        Assert.IsFalse(SipText.LooksLikeSip(Encoding.ASCII.GetBytes(text)));
}
