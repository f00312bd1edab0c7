using System.Globalization;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Flows;

/// <summary>
/// The Community ID v1 against the spec's published baseline (github.com/corelight/community-id-spec,
/// baseline/baseline_deflt.json and baseline_seed1.json: tuples and expected IDs, copied as data) and
/// against tshark's own "communityid" values for real captures (TestData/tshark-community-id.tsv,
/// written by tools/oracle/community-id.sh).
/// </summary>
[TestClass]
public sealed class CommunityIdTests
{
    // proto, saddr, daddr, sport, dport (-1: none), seed, expected
    public static IEnumerable<object[]> Baseline() =>
    [
        [6, "128.232.110.120", "66.35.250.204", 34855, 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
        [6, "66.35.250.204", "128.232.110.120", 80, 34855, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
        [17, "192.168.1.52", "8.8.8.8", 54585, 53, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
        [17, "8.8.8.8", "192.168.1.52", 53, 54585, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
        [6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 0, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="],
        [6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 0, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="],
        [132, "192.168.170.8", "192.168.170.56", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
        [132, "192.168.170.56", "192.168.170.8", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
        [46, "10.1.12.1", "10.1.12.2", -1, -1, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="],
        [46, "10.1.12.2", "10.1.12.1", -1, -1, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="],
        [1, "192.168.0.89", "192.168.0.1", 8, 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="],
        [1, "192.168.0.1", "192.168.0.89", 0, 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="],
        [58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="],
        [58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck="],
        [6, "128.232.110.120", "66.35.250.204", 34855, 80, 1, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="],
        [17, "8.8.8.8", "192.168.1.52", 53, 54585, 1, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="],
        [6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 1, "1:eJYTW6AOzFLlSUoESovMjnu7rMw="],
        [132, "192.168.170.56", "192.168.170.8", 7, 7, 1, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="],
        [46, "10.1.12.2", "10.1.12.1", -1, -1, 1, "1:rYir8gphR31noO9iDRQmF/BteEI="],
    ];

    [TestMethod]
    [DynamicData(nameof(Baseline))]
    public void Hash_SpecBaselineTuple_GivesThePublishedId(int proto, string src, string dst, int sport, int dport, int seed, string expected)
    {
        string id = CommunityId.Hash(IpAddress.Parse(src), (ushort)Math.Max(0, sport), IpAddress.Parse(dst), (ushort)Math.Max(0, dport),
            (IpProtocol)proto, ports: sport >= 0, (ushort)seed);
        Assert.AreEqual(expected, id);
    }

    /// <summary>FIPS 180-2 appendix A.1 ("abc") and the empty message, then every length up to the limit against .NET's own SHA-1.</summary>
    [TestMethod]
    public void Sha1_KnownVectorsAndEveryLength_MatchTheStandard()
    {
        Span<byte> d = stackalloc byte[20];
        Sha1.Hash("abc"u8, d);
        Assert.AreEqual("A9993E364706816ABA3E25717850C26C9CD0D89D", Convert.ToHexString(d));
        Sha1.Hash([], d);
        Assert.AreEqual("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", Convert.ToHexString(d));
        var input = new byte[Sha1.MaxInput];
        new Random(7).NextBytes(input);
        for (int n = 0; n <= Sha1.MaxInput; n++)
        {
            Sha1.Hash(input.AsSpan(0, n), d);
            Assert.AreEqual(Convert.ToHexString(System.Security.Cryptography.SHA1.HashData(input.AsSpan(0, n))), Convert.ToHexString(d), $"length {n}");
        }
        try
        {
            Sha1.Hash(new byte[Sha1.MaxInput + 1], new byte[20]);
            Assert.Fail("a longer input must be refused");
        }
        catch (ArgumentException) { }
    }

    [TestMethod]
    public void Compute_TcpEitherDirection_SameIdAsTheBaseline()
    {
        var a = IpAddress.Parse("66.35.250.204");
        var b = IpAddress.Parse("128.232.110.120");
        Assert.AreEqual("1:LQU9qZlK+B5F3KDmev6m5PMibrg=", CommunityId.Compute(a, 80, b, 34855, IpProtocol.Tcp));
        Assert.AreEqual("1:LQU9qZlK+B5F3KDmev6m5PMibrg=", CommunityId.Compute(b, 34855, a, 80, IpProtocol.Tcp));
    }

    [TestMethod]
    public void Compute_IcmpFlow_IsEmpty_BecauseOurFlowMergesEveryIcmpType()
    {
        Assert.AreEqual("", CommunityId.Compute(IpAddress.Parse("10.0.0.1"), 0, IpAddress.Parse("10.0.0.2"), 0, IpProtocol.Icmp));
        Assert.AreEqual("", CommunityId.Compute(IpAddress.Parse("fe80::1"), 0, IpAddress.Parse("fe80::2"), 0, IpProtocol.Icmpv6));
    }

    public static IEnumerable<object[]> OracleFiles() => TsharkRows().Select(r => r.File).Distinct().Select(f => new object[] { f });

    private static IEnumerable<(string File, string Proto, string Src, string SrcPort, string Dst, string DstPort, string Id)> TsharkRows() =>
        File.ReadLines(Path.Combine(TestPaths.TestData, "tshark-community-id.tsv"))
            .Where(l => !l.StartsWith('#') && !l.StartsWith("file\t", StringComparison.Ordinal))
            .Select(l => l.Split('\t'))
            .Select(c => (c[0], c[1], c[2], c[3], c[4], c[5], c[6]));

    /// <summary>flows.csv's community_id is tshark's for every TCP and UDP conversation tshark hashed (either direction).</summary>
    [TestMethod]
    [DynamicData(nameof(OracleFiles))]
    public void FlowsCsv_CommunityId_MatchesTshark(string file)
    {
        var r = CliRunner.Audit(TestPaths.PublicCapture(file), "--fail-on", "never");
        Assert.AreEqual(0, r.ExitCode, r.Stderr);
        var flows = Csv.Read(r.File("flows.csv"));
        int compared = 0;
        foreach (var t in TsharkRows().Where(t => t.File == file))
        {
            string transport = t.Proto == "6" ? "tcp" : "udp";
            var flow = flows.FirstOrDefault(f => f["transport"] == transport
                && ((f["client_ip"] == t.Src && f["client_port"] == t.SrcPort && f["server_ip"] == t.Dst && f["server_port"] == t.DstPort)
                 || (f["client_ip"] == t.Dst && f["client_port"] == t.DstPort && f["server_ip"] == t.Src && f["server_port"] == t.SrcPort)));
            Assert.IsNotNull(flow, $"{file}: no flow for {t.Src}:{t.SrcPort} -> {t.Dst}:{t.DstPort}");
            Assert.AreEqual(t.Id, flow["community_id"], $"{file}: {t.Src}:{t.SrcPort} -> {t.Dst}:{t.DstPort}");
            compared++;
        }
        Assert.IsGreaterThan(0, compared);
    }

    [TestMethod]
    public void FlowsCsv_DurationS_IsLastSeenMinusFirstSeen()
    {
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), "--fail-on", "never");
        var flows = Csv.Read(r.File("flows.csv"));
        Assert.IsGreaterThan(10, flows.Count);
        foreach (var f in flows)
        {
            var first = DateTime.Parse(f["first_seen"], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            var last = DateTime.Parse(f["last_seen"], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            Assert.AreEqual((last - first).TotalSeconds, double.Parse(f["duration_s"], CultureInfo.InvariantCulture), 1e-6, f["flow_id"]);
        }
        var header = Csv.Header(r.File("flows.csv"));
        CollectionAssert.AreEqual(new[] { "community_id", "duration_s" }, header.TakeLast(2).ToArray());
    }

    [TestMethod]
    public void Sha1Hash4_IsFourHashes()
    {
        var rng = new Random(4);
        var blocks = new byte[4 * Sha1.BlockBytes];
        var digests = new byte[4 * 20];
        for (int trial = 0; trial < 500; trial++)
        {
            var inputs = new byte[4][];
            for (int i = 0; i < 4; i++)
            {
                inputs[i] = new byte[rng.Next(0, Sha1.MaxInput + 1)];
                rng.NextBytes(inputs[i]);
                inputs[i].CopyTo(blocks, i * Sha1.BlockBytes);
                Sha1.Pad(blocks.AsSpan(i * Sha1.BlockBytes, Sha1.BlockBytes), inputs[i].Length);
            }
            Sha1.Hash4(blocks, digests);
            for (int i = 0; i < 4; i++)
            {
                var one = new byte[20];
                Sha1.Hash(inputs[i], one);
                CollectionAssert.AreEqual(one, digests.AsSpan(20 * i, 20).ToArray(), $"trial {trial}, lane {i}");
                CollectionAssert.AreEqual(System.Security.Cryptography.SHA1.HashData(inputs[i]), one, $"trial {trial}, lane {i} (the runtime's SHA-1)");
            }
        }
    }

    [TestMethod]
    public void FormatUtf8_ManyFlows_AsOneAtATime()
    {
        // Every mix the record log meets in a slice: IPv4 and IPv6, TCP/UDP/SCTP with ports, other protocols without,
        // ICMP (no ID), mixed families (no ID), and counts that leave one to three lanes over.
        var rng = new Random(5);
        IpProtocol[] protocols = [IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Sctp, IpProtocol.Icmp, IpProtocol.Icmpv6, (IpProtocol)47, (IpProtocol)50];
        IpAddress Address(bool v6) => v6
            ? IpAddress.Parse($"2001:db8::{rng.Next(1, 0xFFFF):x}:{rng.Next(1, 0xFFFF):x}")
            : IpAddress.Parse($"10.{rng.Next(256)}.{rng.Next(256)}.{rng.Next(256)}");
        for (int count = 0; count <= 70; count++)
        {
            var flows = new CommunityIdTuple[count];
            for (int i = 0; i < count; i++)
            {
                bool v6 = rng.Next(3) == 0;
                var b = rng.Next(20) == 0 ? Address(!v6) : Address(v6);
                flows[i] = new CommunityIdTuple(Address(v6), (ushort)rng.Next(65536), b, (ushort)rng.Next(65536), protocols[rng.Next(protocols.Length)]);
            }
            var utf8 = new byte[count * CommunityId.Length];
            var lengths = new int[count];
            CommunityId.FormatUtf8(flows, utf8, lengths);
            for (int i = 0; i < count; i++)
            {
                var f = flows[i];
                var one = new byte[CommunityId.Length];
                Assert.IsTrue(CommunityId.TryFormatUtf8(f.A, f.PortA, f.B, f.PortB, f.Protocol, one, out int n));
                Assert.AreEqual(n, lengths[i], $"{count} flows, flow {i}: {f}");
                CollectionAssert.AreEqual(one.AsSpan(0, n).ToArray(), utf8.AsSpan(i * CommunityId.Length, lengths[i]).ToArray(), $"{count} flows, flow {i}: {f}");
                Assert.AreEqual(CommunityId.Compute(f.A, f.PortA, f.B, f.PortB, f.Protocol), System.Text.Encoding.ASCII.GetString(utf8, i * CommunityId.Length, lengths[i]));
            }
        }
    }
}
