using TrafficAudit.Decode;
using TrafficAudit.Outputs;

namespace TrafficAudit.Tests.Report;

[TestClass]
public sealed class AnonymizerTests
{
    private static int CommonPrefixBits(IpAddress a, IpAddress b)
    {
        UInt128 x = new UInt128(a.Hi, a.Lo) ^ new UInt128(b.Hi, b.Lo);
        return x == UInt128.Zero ? 128 : (int)UInt128.LeadingZeroCount(x);
    }

    [TestMethod]
    public void Ip_SameAddressTwice_SamePseudonym()
    {
        var a = Anonymizer.Create("k");
        Assert.AreEqual(a.Ip(IpAddress.Parse("10.0.1.5")), a.Ip(IpAddress.Parse("10.0.1.5")));
    }

    [TestMethod]
    public void Ip_SameSeed_SamePseudonymAcrossInstances_OtherSeedDiffers()
    {
        var ip = IpAddress.Parse("52.112.0.10");
        Assert.AreEqual(Anonymizer.Create("seed").Ip(ip), Anonymizer.Create("seed").Ip(ip));
        Assert.AreNotEqual(Anonymizer.Create("seed").Ip(ip), Anonymizer.Create("other").Ip(ip));
        Assert.AreNotEqual(Anonymizer.Create().Ip(ip), Anonymizer.Create().Ip(ip), "no seed: a random key per run");
    }

    [TestMethod]
    public void Ip_PublicAddress_IsChanged()
    {
        var a = Anonymizer.Create("k");
        int changed = 0;
        for (uint i = 0; i < 64; i++)
            if (a.MapIp(IpAddress.FromV4(0x34700000 + i)) != IpAddress.FromV4(0x34700000 + i)) changed++;
        Assert.AreEqual(64, changed);
    }

    [TestMethod]
    public void Ip_ManyAddresses_PrefixPreservedExactly()
    {
        var a = Anonymizer.Create("prefix");
        var rng = new Random(7);
        var addrs = new List<IpAddress>();
        for (int i = 0; i < 200; i++)
        {
            // clusters in a few subnets plus random public and IPv6 addresses
            uint v4 = i % 3 == 0 ? 0x0A000100u | (uint)rng.Next(256) : i % 3 == 1 ? 0x34700000u | (uint)rng.Next(65536) : (uint)rng.NextInt64(0x0B000000, 0xDF000000);
            addrs.Add(IpAddress.FromV4(v4));
            addrs.Add(new IpAddress(0x20010DB8_00000000UL + (ulong)(uint)rng.Next(4), (ulong)rng.NextInt64()));
        }
        foreach (var x in addrs)
            foreach (var y in addrs.Take(60))
            {
                if (x.IsV4 != y.IsV4) continue;
                Assert.AreEqual(CommonPrefixBits(x, y), CommonPrefixBits(a.MapIp(x), a.MapIp(y)), $"{x} {y}");
            }
    }

    [TestMethod]
    public void Ip_PublicAddress_NeverMappedIntoAPrivateOrSpecialRange()
    {
        static bool Special(uint v) => (v >> 24) is 0 or 10 or 127 || (v >> 20) == 0xAC1 || (v >> 16) is 0xC0A8 or 0xA9FE || (v >> 22) == 0x191 || (v >> 29) == 7;
        var a = Anonymizer.Create("k");
        var rng = new Random(3);
        int tried = 0;
        while (tried < 5000)
        {
            uint v = (uint)rng.NextInt64(0, 1L << 32);
            if (Special(v)) continue;
            tried++;
            uint p = a.MapIp(IpAddress.FromV4(v)).V4Value;
            Assert.IsFalse(Special(p), $"{IpAddress.FromV4(v)} -> {IpAddress.FromV4(p)}");
        }
    }

    [TestMethod]
    public void Ip_SameSlash24_StaysOneSlash24_DistinctHostsStayDistinct()
    {
        var a = Anonymizer.Create("k");
        var p = Enumerable.Range(1, 254).Select(i => a.MapIp(IpAddress.Parse($"192.0.2.{i}"))).ToList();
        Assert.AreEqual(1, p.Select(x => x.V4Value >> 8).Distinct().Count());
        Assert.AreEqual(254, p.Distinct().Count());
    }

    [TestMethod]
    [DataRow("10.1.2.3", 8)]
    [DataRow("172.20.1.1", 12)]
    [DataRow("192.168.7.9", 16)]
    [DataRow("169.254.3.4", 16)]
    [DataRow("fe80::1c2b:3dff:fe4a:5b6c", 10)]
    [DataRow("fd12:3456::1", 7)]
    public void Ip_PrivateRange_KeepsItsRangePrefix(string text, int bits)
    {
        var ip = IpAddress.Parse(text);
        var p = Anonymizer.Create("k").MapIp(ip);
        Assert.IsGreaterThanOrEqualTo(bits, CommonPrefixBits(ip, p) - (ip.IsV4 ? 96 : 0), $"{ip} -> {p}");
        Assert.AreNotEqual(ip, p);
    }

    [TestMethod]
    [DataRow("0.0.0.0")]
    [DataRow("127.0.0.1")]
    [DataRow("255.255.255.255")]
    [DataRow("224.0.0.251")]
    [DataRow("::1")]
    [DataRow("ff02::fb")]
    public void Ip_AddressThatIdentifiesNobody_Unchanged(string text)
    {
        var ip = IpAddress.Parse(text);
        Assert.AreEqual(ip, Anonymizer.Create("k").MapIp(ip));
    }

    [TestMethod]
    public void SipUri_UserAndHost_Replaced_ParametersKept()
    {
        var a = Anonymizer.Create("k");
        string p = a.SipUri("sip:+390212345375@10.0.1.5:5062;transport=udp");
        StringAssert.StartsWith(p, "sip:" + a.User("+390212345375") + "@" + a.Ip(IpAddress.Parse("10.0.1.5")) + ":5062;transport=udp");
        Assert.DoesNotContain("390212345375", p);
        StringAssert.Matches(a.User("+390212345375"), new System.Text.RegularExpressions.Regex("^user-[0-9a-f]{8}$"));
        Assert.AreEqual(a.User("7000"), a.User("7000"));
        Assert.AreNotEqual(a.User("7000"), a.User("7001"));
    }

    [TestMethod]
    public void Text_MixedLine_EveryAddressAndUserReplacedOnce()
    {
        var a = Anonymizer.Create("k");
        string line = "call 3c02@10.0.1.5 from sip:alice@example.com to tel:+41441234567, media [2001:db8::7]:4000 and ::ffff:10.0.0.9 at 09:00:12 v1.2.3";
        string s = a.Text(line);
        foreach (var secret in new[] { "10.0.1.5", "alice", "+41441234567", "2001:db8::7", "10.0.0.9" })
            Assert.DoesNotContain(secret, s, s);
        StringAssert.Contains(s, a.Ip(IpAddress.Parse("10.0.1.5")));
        StringAssert.Contains(s, "sip:" + a.User("alice") + "@" + a.Host("example.com"));
        Assert.DoesNotContain("example.com", s, "a URI's host name is a pseudonym too");
        StringAssert.Contains(s, "09:00:12 v1.2.3", "times and versions are not addresses");
        // One pass: a pseudonym is not mapped again.
        Assert.AreEqual(a.Ip(IpAddress.Parse("10.0.1.5")), a.Text("10.0.1.5"));
    }

    [TestMethod]
    public void Wrap_ConsoleLines_Scrubbed()
    {
        var a = Anonymizer.Create("k");
        var inner = new StringWriter();
        using (var w = a.Wrap(inner))
        {
            w.Write("  10.0.1.5 -> ");
            w.WriteLine("10.0.0.10 sip:7000@10.0.0.10");
            w.Write("tail 192.168.1.1");
        }
        string o = inner.ToString();
        Assert.DoesNotContain("10.0.1.5", o);
        Assert.DoesNotContain("7000@", o);
        Assert.DoesNotContain("192.168.1.1", o);
        StringAssert.Contains(o, a.Ip(IpAddress.Parse("10.0.0.10")));
    }

    [TestMethod]
    public void WriteMapping_EveryPseudonymWithItsOriginal_OwnerOnly()
    {
        var a = Anonymizer.Create("k");
        string ip = a.Ip(IpAddress.Parse("10.0.1.5"));
        string user = a.User("7000");
        var path = Path.Combine(ReportTestKit.NewTempDir(), "map.csv");
        a.WriteMapping(path);
        var lines = File.ReadAllLines(path);
        CollectionAssert.AreEqual(new[] { "kind,original,pseudonym", $"ip,10.0.1.5,{ip}", $"sip_user,7000,{user}" }, lines);
        if (!OperatingSystem.IsWindows()) Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [TestMethod]
    public void Host_SharedDomain_SharesItsPseudonym_TopLevelLabelKept()
    {
        var a = Anonymizer.Create("k");
        string imagicle = a.Host("imagicle.corp.local");
        string cucm = a.Host("cucm-pub.corp.local");
        StringAssert.Matches(imagicle, new System.Text.RegularExpressions.Regex(@"^h[0-9a-f]{8}\.h[0-9a-f]{8}\.local$"));
        Assert.AreEqual(imagicle[imagicle.IndexOf('.')..], cucm[cucm.IndexOf('.')..], "same domain, same pseudonym");
        Assert.AreNotEqual(imagicle, cucm);
        Assert.AreEqual(imagicle, a.Host("IMAGICLE.corp.local."), "case and the root dot do not matter");
        Assert.AreNotEqual(imagicle, Anonymizer.Create("other").Host("imagicle.corp.local"));
        StringAssert.Matches(a.Host("pbx"), new System.Text.RegularExpressions.Regex("^h[0-9a-f]{8}$"), "a bare host name keeps nothing");
    }

    [TestMethod]
    public void Host_VendorTableNames_ExactKept_WildcardKeepsTheDomainOnly()
    {
        var a = Anonymizer.Create("k");
        Assert.AreEqual("api.imagicle.com", a.Host("api.imagicle.com"), "listed exactly in the vendor table: public");
        string tenant = a.Host("acme.imagicle.cloud");
        StringAssert.EndsWith(tenant, ".imagicle.cloud");
        Assert.DoesNotContain("acme", tenant, "a tenant name under *.imagicle.cloud is a pseudonym");
        Assert.AreEqual(a.Ip(IpAddress.Parse("10.0.0.10")), a.Host("10.0.0.10"), "an address literal is mapped as an address");
    }

    [TestMethod]
    public void Text_KnownHostAndHostsAfterAt_Replaced_OtherDottedWordsKept()
    {
        var a = Anonymizer.Create("k");
        a.Host("proxy.corp.local");
        string s = a.Text("CONNECT proxy.corp.local:443; call 1a2b@pbx.customer.example; sip:7000@gw; filter tcp.port==443 in flows.csv v2.1");
        Assert.DoesNotContain("proxy.corp.local", s);
        Assert.DoesNotContain("customer.example", s);
        Assert.DoesNotContain("@gw", s);
        StringAssert.Contains(s, a.Host("proxy.corp.local") + ":443");
        StringAssert.Contains(s, "1a2b@" + a.Host("pbx.customer.example"));
        StringAssert.Contains(s, "tcp.port==443 in flows.csv v2.1");
    }

    [TestMethod]
    public void Text_MacAddress_VendorPrefixKept()
    {
        var a = Anonymizer.Create("k");
        string s = a.Text("Grandstream GXP2160 1.0.11.3 00:0b:82:12:34:56 and 00-0B-82-AB-CD-EF");
        Assert.DoesNotContain("12:34:56", s);
        Assert.DoesNotContain("AB-CD-EF", s);
        StringAssert.Matches(s, new System.Text.RegularExpressions.Regex(@"00:0b:82:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2} and 00-0B-82-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}$"));
    }

    [TestMethod]
    public void FileName_AddressesAndKnownHosts_Replaced_FolderDropped()
    {
        var a = Anonymizer.Create("k");
        a.Host("imagicle.corp.local");
        string f = a.FileName("/home/eng/acme/site_10.0.0.10_imagicle.corp.local.pcap");
        Assert.AreEqual($"site_{a.Ip(IpAddress.Parse("10.0.0.10"))}_{a.Host("imagicle.corp.local")}.pcap", f);
    }

    [TestMethod]
    public void CommandLine_ServersFilesAndSeed_Anonymized()
    {
        var a = Anonymizer.Create("k");
        string c = a.CommandLine("trafficaudit audit /cases/acme/cap_10.0.0.10.pcap --server 10.0.0.10 --server 2001:db8::7 --anonymize-seed 'my secret' --anonymize-map /cases/acme/map.csv --out out");
        Assert.AreEqual($"trafficaudit audit cap_{a.Ip(IpAddress.Parse("10.0.0.10"))}.pcap --server {a.Ip(IpAddress.Parse("10.0.0.10"))} --server {a.Ip(IpAddress.Parse("2001:db8::7"))} --anonymize-seed (hidden) --anonymize-map map.csv --out out", c);
    }

    [TestMethod]
    public void ShellWords_QuotingAsTheCliWritesIt()
    {
        CollectionAssert.AreEqual(new[] { "a", "it's here", "b c", "d\"e" }, Anonymizer.ShellWords("a 'it'\\''s here' \"b c\" d\\\"e"));
    }

    [TestMethod]
    public void Line_PathsKeepTheirFolders_SegmentsScrubbed_OnePass()
    {
        var a = Anonymizer.Create("k");
        a.Host("pbx.corp.local");
        string ip = a.Ip(IpAddress.Parse("10.0.0.10"));
        Assert.AreEqual($"Written: /tmp/out/flows.csv from /data/{a.Host("pbx.corp.local")}/cap_{ip}.pcap, node {ip}",
            a.Line("Written: /tmp/out/flows.csv from /data/pbx.corp.local/cap_10.0.0.10.pcap, node 10.0.0.10"));
    }
}
