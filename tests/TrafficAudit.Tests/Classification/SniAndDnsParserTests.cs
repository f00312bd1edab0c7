using TrafficAudit.Analyzers;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Classification;

[TestClass]
public sealed class TlsClientHelloTests
{
    // A real ClientHello (216 bytes of TCP payload) from a public capture:
    //   tshark -r captures/public/wireshark-wiki/many_interfaces.pcapng -Y frame.number==56 -T fields -e tcp.payload
    //   tshark -V says: TLS 1.0 record, length 211; ClientHello length 207; SNI extension (len=24) host_name "clients6.google.com".
    private const string RealHelloHex =
        "16030100d3010000cf0303c0a63383e11eec7c8eda3b46f90b546a6143e19813806ce66f14efed3a160409000022c02bc02f009ecc14cc13cc15" +
        "c00ac0140039c009c0130033009c0035002f000a00ff01000084000000180016000013636c69656e7473362e676f6f676c652e636f6d00170000" +
        "00230000000d00160014060106030501050304010403030103030201020300050005010000000033740000001200000010001d001b0868747470" +
        "2f312e3108737064792f332e310568322d313402683275500000000b00020100000a0006000400170018";

    // A minimal hand-built ClientHello, tshark -x style:
    // 0000  16 03 01 00 3c 01 00 00 38 03 03 [32 random bytes 0x11...]       record + handshake header, version
    // 002b  00                                                               session id: empty
    // 002c  00 02 13 01                                                      1 cipher suite (TLS_AES_128_GCM_SHA256)
    // 0030  01 00                                                            1 compression method: null
    // 0032  00 0d                                                            extensions length 13
    // 0034  00 00 00 09 00 07 00 00 04 61 2e 62 63                           server_name: host_name "a.bc"
    private static byte[] MinimalHello()
    {
        var b = new List<byte> { 0x16, 0x03, 0x01, 0x00, 0x3c, 0x01, 0x00, 0x00, 0x38, 0x03, 0x03 };
        b.AddRange(Enumerable.Repeat((byte)0x11, 32));
        b.AddRange([0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00, 0x00, 0x0d]);
        b.AddRange([0x00, 0x00, 0x00, 0x09, 0x00, 0x07, 0x00, 0x00, 0x04, (byte)'a', (byte)'.', (byte)'b', (byte)'c']);
        return [.. b];
    }

    [TestMethod]
    public void TryGetServerName_RealClientHello_ReturnsName()
    {
        var bytes = Convert.FromHexString(RealHelloHex);
        Assert.AreEqual(216, bytes.Length);
        Assert.IsTrue(TlsClientHello.TryGetServerName(bytes, out var name));
        Assert.AreEqual("clients6.google.com", name);
    }

    [TestMethod]
    public void TryGetServerName_MinimalHello_ReturnsName()
    {
        Assert.IsTrue(TlsClientHello.TryGetServerName(MinimalHello(), out var name));
        Assert.AreEqual("a.bc", name);
    }

    [TestMethod]
    public void TryGetServerName_PaddedWithSentinels_StillReadsTheFirstRecord()
    {
        var padded = Convert.FromHexString(RealHelloHex).Concat(Enumerable.Repeat((byte)0xFF, 64)).ToArray();
        Assert.IsTrue(TlsClientHello.TryGetServerName(padded, out var name));
        Assert.AreEqual("clients6.google.com", name);
    }

    [TestMethod]
    public void TryGetServerName_CutAtEveryLength_ReturnsFalseNeverThrows()
    {
        foreach (var full in new[] { Convert.FromHexString(RealHelloHex), MinimalHello() })
        {
            for (int n = 0; n < full.Length; n++)
                Assert.IsFalse(TlsClientHello.TryGetServerName(full.AsSpan(0, n), out _), $"cut at {n}");
        }
    }

    [TestMethod]
    public void TryGetServerName_EveryByteCorrupted_NeverThrows()
    {
        var full = MinimalHello();
        for (int i = 0; i < full.Length; i++)
        {
            foreach (byte v in new byte[] { 0x00, 0x7F, 0xFF })
            {
                var copy = (byte[])full.Clone();
                copy[i] = v;
                TlsClientHello.TryGetServerName(copy, out _);
            }
        }
    }

    [TestMethod]
    public void TryGetServerName_NotHandshakeOrNotClientHello_ReturnsFalse()
    {
        var hello = MinimalHello();
        var appData = (byte[])hello.Clone();
        appData[0] = 0x17;
        Assert.IsFalse(TlsClientHello.TryGetServerName(appData, out _));
        var serverHello = (byte[])hello.Clone();
        serverHello[5] = 0x02;
        Assert.IsFalse(TlsClientHello.TryGetServerName(serverHello, out _));
    }

    [TestMethod]
    public void TryGetServerName_NameWithControlCharacter_ReturnsFalse()
    {
        var hello = MinimalHello();
        hello[^2] = 0x0A;
        Assert.IsFalse(TlsClientHello.TryGetServerName(hello, out var name));
        Assert.IsNull(name);
    }
}

[TestClass]
public sealed class DnsMessageTests
{
    // A real response with a CNAME chain, from a public capture:
    //   tshark -r captures/public/wireshark-wiki/smtp.pcap -Y frame.number==2 -T fields -e udp.payload
    //   tshark -V: query mail.patriots.in A; answers: mail.patriots.in CNAME patriots.in (pointer c011),
    //   patriots.in A 74.53.140.153; 2 NS authority records.
    private const string RealResponseHex =
        "795681800001000200020000046d61696c0870617472696f747302696e0000010001c00c0005000100002a4b0002c011c0110001000100002a4c" +
        "00044a358c99c011000200010001438c0006036e7332c011c011000200010001438c0006036e7331c011";

    // Hand-built response, tshark -x style:
    // 0000  12 34 81 80 00 01 00 02 00 00 00 00                 id, flags (response), 1 question, 2 answers
    // 000c  02 65 75 08 69 6d 61 67 69 63 6c 65 05 63 6c 6f 75 64 00 00 1c 00 01    eu.imagicle.cloud AAAA IN
    // 0027  c0 0c 00 01 00 01 00 00 00 3c 00 04 0a 00 00 01     A 10.0.0.1 (owner: pointer to 0x0c)
    // 0037  c0 0c 00 1c 00 01 00 00 00 3c 00 10 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01   AAAA 2001:db8::1
    private static byte[] HandBuilt() => Convert.FromHexString(
        "123481800001000200000000" +
        "02657508696d616769636c6505636c6f7564" + "00001c0001" +
        "c00c000100010000003c00040a000001" +
        "c00c001c00010000003c001020010db8000000000000000000000001");

    [TestMethod]
    public void TryReadAnswers_RealResponseWithCname_ReportsTheAskedName()
    {
        var list = new List<(string name, IpAddress address)>();
        Assert.IsTrue(DnsMessage.TryReadAnswers(Convert.FromHexString(RealResponseHex), list));
        Assert.AreEqual(("mail.patriots.in", IpAddress.Parse("74.53.140.153")), list.Single());
    }

    [TestMethod]
    public void TryReadAnswers_AAndAaaa_WithCompression()
    {
        var list = new List<(string name, IpAddress address)>();
        Assert.IsTrue(DnsMessage.TryReadAnswers(HandBuilt(), list));
        CollectionAssert.AreEqual(new[]
        {
            ("eu.imagicle.cloud", IpAddress.Parse("10.0.0.1")),
            ("eu.imagicle.cloud", IpAddress.Parse("2001:db8::1")),
        }, list);
    }

    [TestMethod]
    public void TryReadAnswers_PaddedWithSentinels_StillReadsAnswers()
    {
        var list = new List<(string name, IpAddress address)>();
        Assert.IsTrue(DnsMessage.TryReadAnswers(HandBuilt().Concat(Enumerable.Repeat((byte)0xFF, 32)).ToArray(), list));
        Assert.AreEqual(2, list.Count);
    }

    [TestMethod]
    public void TryReadAnswers_CutAtEveryLength_ReturnsFalseAndAddsNothing()
    {
        foreach (var full in new[] { HandBuilt(), Convert.FromHexString(RealResponseHex) })
        {
            // The real response's authority section is not read, so cuts inside it may succeed; a failure must leave the list alone.
            for (int n = 0; n < full.Length; n++)
            {
                var list = new List<(string name, IpAddress address)> { ("keep", default) };
                bool ok = DnsMessage.TryReadAnswers(full.AsSpan(0, n), list);
                if (!ok) Assert.AreEqual(1, list.Count, $"cut at {n}: list changed");
            }
        }
        var hand = HandBuilt();
        for (int n = 0; n < hand.Length; n++)
            Assert.IsFalse(DnsMessage.TryReadAnswers(hand.AsSpan(0, n), []), $"cut at {n}");
    }

    [TestMethod]
    public void TryReadAnswers_PointerLoop_ReturnsFalse()
    {
        // Question name is a pointer to itself at 0x0c: c0 0c.
        var loop = Convert.FromHexString("123481800001000000000000" + "c00c" + "00010001");
        Assert.IsFalse(DnsMessage.TryReadAnswers(loop, []));
        // Two pointers pointing at each other.
        var pingPong = Convert.FromHexString("123481800001000000000000" + "c00e" + "c00c" + "00010001");
        Assert.IsFalse(DnsMessage.TryReadAnswers(pingPong, []));
    }

    [TestMethod]
    public void TryReadAnswers_Query_ReturnsFalse()
    {
        var query = HandBuilt();
        query[2] = 0x01; // QR bit clear
        Assert.IsFalse(DnsMessage.TryReadAnswers(query, []));
    }

    [TestMethod]
    public void TryReadAnswers_EveryByteCorrupted_NeverThrows()
    {
        var full = HandBuilt();
        for (int i = 0; i < full.Length; i++)
        {
            foreach (byte v in new byte[] { 0x00, 0x3F, 0xC0, 0xFF })
            {
                var copy = (byte[])full.Clone();
                copy[i] = v;
                DnsMessage.TryReadAnswers(copy, []);
            }
        }
    }
}
