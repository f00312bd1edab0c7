using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Tests.Analyzers.Rtp;

[TestClass]
public sealed class CodecNamesTests
{
    [TestMethod]
    [DataRow("PCMA", "PCMA")]
    [DataRow("pcma", "PCMA")]
    [DataRow("PCMA/8000", "PCMA")]
    [DataRow("pcmu/8000", "PCMU")]
    [DataRow("g722", "G722")]
    [DataRow("G729a", "G729")]
    [DataRow("OPUS/48000/2", "opus")]
    [DataRow("TELEPHONE-EVENT", "telephone-event")]
    [DataRow("amr-wb", "AMR-WB")]
    [DataRow("X-unknown", "X-unknown")]
    [DataRow("", "")]
    public void Normalise_GivesTheRegistrySpelling(string name, string expected) =>
        Assert.AreEqual(expected, CodecNames.Normalise(name));

    [TestMethod]
    public void Split_SeparatesTheClockRate()
    {
        Assert.AreEqual(("PCMA", 8000u), CodecNames.Split("PCMA/8000"));
        Assert.AreEqual(("opus", 48000u), CodecNames.Split("opus/48000/2"));
        Assert.AreEqual(("t38", 0u), CodecNames.Split("t38"));
        Assert.AreEqual(("G722", 0u), CodecNames.Split("G722/x"));
    }

    [TestMethod]
    public void NominalClockRate_KnowsTheCommonCodecs()
    {
        Assert.AreEqual(8000u, CodecNames.NominalClockRate("PCMA"));
        Assert.AreEqual(8000u, CodecNames.NominalClockRate("G722"), "RFC 3551: G.722's RTP clock is 8000 Hz");
        Assert.AreEqual(48000u, CodecNames.NominalClockRate("opus"));
        Assert.AreEqual(0u, CodecNames.NominalClockRate("t38"));
    }
}
