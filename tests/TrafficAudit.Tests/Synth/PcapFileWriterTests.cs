using TrafficAudit.Synth.Pcap;

namespace TrafficAudit.Tests.Synth;

[TestClass]
public sealed class PcapFileWriterTests
{
    [TestMethod]
    public void Write_OneFrame_ProducesLibpcapHeaderAndRecord()
    {
        using var ms = new MemoryStream();
        using (var w = new PcapFileWriter(ms, leaveOpen: true))
            w.Write(1_772_442_000_123_456, [0xAA, 0xBB, 0xCC]);
        // global header: d4 c3 b2 a1 | 02 00 04 00 | 00 00 00 00 | 00 00 00 00 | ff ff 00 00 | 01 00 00 00
        // record: ts_sec 1772442000 = 0x69a55190 -> 90 51 a5 69 | ts_usec 123456 = 0x1e240 -> 40 e2 01 00 | 03 00 00 00 | 03 00 00 00
        byte[] expected =
        [
            0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x90, 0x51, 0xa5, 0x69, 0x40, 0xe2, 0x01, 0x00, 0x03, 0, 0, 0, 0x03, 0, 0, 0, 0xAA, 0xBB, 0xCC,
        ];
        CollectionAssert.AreEqual(expected, ms.ToArray());
    }

    [TestMethod]
    public void Write_FrameLongerThanSnapLength_Throws()
    {
        using var w = new PcapFileWriter(new MemoryStream(), snapLength: 4);
        Assert.ThrowsExactly<ArgumentException>(() => w.Write(0, new byte[5]));
        Assert.AreEqual(0, w.Count);
    }
}
