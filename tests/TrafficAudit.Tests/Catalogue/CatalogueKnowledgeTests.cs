using System.Text.RegularExpressions;
using TrafficAudit.Catalogue;

namespace TrafficAudit.Tests.Catalogue;

/// <summary>
/// The vendor knowledge beside the rows (applications, sections, peer roles, matrix groups, on-demand rows,
/// proxy, SIP ports, default budgets, media rule, UDP request/response services): read from the catalogue,
/// every mistake named with file, line and column, and nothing of it left in C#.
/// </summary>
[TestClass]
public sealed partial class CatalogueKnowledgeTests
{
    // A small catalogue with every section; each error test changes one line.
    private static readonly string[] Full =
    [
        /*  1 */ "{",
        /*  2 */ "  \"version\": 1,",
        /*  3 */ "  \"applications\": [ { \"id\": \"digital-fax\", \"name\": \"Digital Fax\" } ],",
        /*  4 */ "  \"sections\": [ { \"id\": \"calling-platform\", \"title\": \"Calling platform\" } ],",
        /*  5 */ "  \"entries\": [",
        /*  6 */ "    { \"id\": \"sip-a\", \"section\": \"calling-platform\", \"protocol\": \"SIP\", \"service\": \"sip\", \"direction\": \"IN/OUT\", \"applications\": [\"digital-fax\"],",
        /*  7 */ "      \"peerRole\": \"cucm\", \"group\": \"fax-sip\", \"onDemand\": false, \"description\": \"d\",",
        /*  8 */ "      \"bindings\": [ { \"transport\": \"udp\", \"imagiclePorts\": \"5060\", \"remotePorts\": \"5060\" } ] },",
        /*  9 */ "    { \"id\": \"rtp-a\", \"section\": \"calling-platform\", \"protocol\": \"RTP\", \"service\": \"rtp\", \"direction\": \"IN/OUT\", \"applications\": [\"digital-fax\"],",
        /* 10 */ "      \"peerRole\": \"any\", \"description\": \"d\",",
        /* 11 */ "      \"bindings\": [ { \"transport\": \"udp\", \"imagiclePorts\": \"5000-65535\", \"remotePorts\": \"1025-65535\", \"payloadOnly\": true } ] }",
        /* 12 */ "  ],",
        /* 13 */ "  \"peerRoles\": [ { \"id\": \"cucm\", \"description\": \"call manager\" }, { \"id\": \"proxy\", \"description\": \"web proxy\" } ],",
        /* 14 */ "  \"matrixGroups\": [ { \"id\": \"fax-sip\", \"title\": \"Fax SIP\" } ],",
        /* 15 */ "  \"proxy\": { \"ports\": \"3128\", \"peerRole\": \"proxy\" },",
        /* 16 */ "  \"sipPorts\": \"5060-5071\",",
        /* 17 */ "  \"defaultRttMs\": { \"sip\": 80, \"media\": 90, \"betweenNodes\": 100 },",
        /* 18 */ "  \"mediaRule\": \"rtp-a\",",
        /* 19 */ "  \"udpRequestResponse\": [\"sip\"]",
        /* 20 */ "}",
    ];

    private string _dir = "";

    [TestInitialize]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("catalogue-knowledge-").FullName;

    [TestCleanup]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    private string Write(string[] lines, string name = "c.json")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Join("\n", lines));
        return path;
    }

    [TestMethod]
    public void LoadFile_EverySection_IsRead()
    {
        var c = PortCatalogue.LoadFile(Write(Full));
        Assert.AreEqual("Digital Fax", c.Applications.Single().Name);
        CollectionAssert.AreEqual(new[] { "digital-fax" }, c.ApplicationIds.ToArray());
        Assert.AreEqual("Calling platform", c.Sections.Single().Title);
        CollectionAssert.AreEqual(new[] { "cucm", "proxy" }, c.PeerRoleIds.ToArray());
        var sip = c.Find("sip-a")!;
        Assert.AreEqual(("cucm", "fax-sip", false), (sip.PeerRole, sip.Group, sip.OnDemand));
        Assert.AreEqual("Fax SIP", c.GroupOf(sip)!.Title);
        Assert.IsNull(c.GroupOf(c.Find("rtp-a")!));
        Assert.AreEqual(PeerRoleInfo.Any, c.Find("rtp-a")!.PeerRole);
        Assert.IsTrue(c.ProxyPorts.Contains(3128));
        Assert.IsFalse(c.ProxyPorts.Contains(8080));
        Assert.AreEqual("proxy", c.ProxyRole);
        Assert.IsTrue(c.IsSipPort(5060) && c.IsSipPort(5071));
        Assert.IsFalse(c.IsSipPort(5059) || c.IsSipPort(5072));
        Assert.AreEqual(new DefaultRttBudgets(80, 90, 100), c.DefaultRtt);
        Assert.AreEqual("rtp-a", c.MediaRule);
        CollectionAssert.AreEquivalent(new[] { "sip" }, c.UdpRequestResponseServices.ToArray());
    }

    [TestMethod]
    public void LoadFile_WithoutTheNewSections_StillLoads_SipPortsFromTheSipRows_AppsFromTheRows()
    {
        // The catalogue as it was before these sections: rows only.
        string[] old =
        [
            "{ \"version\": 1, \"entries\": [",
            "  { \"id\": \"q\", \"section\": \"anything\", \"protocol\": \"SIP\", \"service\": \"sip\", \"direction\": \"IN/OUT\", \"applications\": [\"queue\"], \"description\": \"d\",",
            "    \"bindings\": [ { \"transport\": \"udp\", \"imagiclePorts\": \"5062\", \"remotePorts\": \"5062\" }, { \"transport\": \"tls-over-tcp\", \"imagiclePorts\": \"5063\", \"remotePorts\": \"any\", \"service\": \"sip-tls\" } ] },",
            "  { \"id\": \"w\", \"section\": \"anything\", \"protocol\": \"HTTP\", \"service\": \"http\", \"direction\": \"IN\", \"applications\": [\"all\"], \"description\": \"d\",",
            "    \"bindings\": [ { \"transport\": \"tcp\", \"imagiclePorts\": \"80\", \"remotePorts\": \"any\" } ] } ] }",
        ];
        var c = PortCatalogue.LoadFile(Write(old));
        Assert.AreEqual("5062,5063", c.SipPorts.ToString());
        Assert.IsFalse(c.IsSipPort(80));
        CollectionAssert.AreEqual(new[] { "queue" }, c.ApplicationIds.ToArray());
        Assert.IsTrue(c.IsApplication("all") && c.IsApplication("queue") && !c.IsApplication("fax"));
        Assert.AreEqual(0, c.PeerRoles.Count + c.MatrixGroups.Count + c.Sections.Count + c.UdpRequestResponseServices.Count);
        Assert.IsFalse(c.ProxyPorts.Contains(3128));
        Assert.AreEqual(DefaultRttBudgets.None, c.DefaultRtt);
        Assert.IsNull(c.MediaRule);
    }

    /// <summary>Line <paramref name="line"/> with <paramref name="find"/> replaced; the error must be at <paramref name="token"/> of line <paramref name="errorLine"/>.</summary>
    [TestMethod]
    [DataRow(7, "\"cucm\"", "\"pbx\"", 7, "\"pbx\"", "unknown peer role 'pbx' (declared in 'peerRoles': cucm, proxy; or nodes, any)")]
    [DataRow(7, "\"fax-sip\"", "\"fax-x\"", 7, "\"fax-x\"", "unknown matrix group 'fax-x' (declared in 'matrixGroups': fax-sip)")]
    [DataRow(7, "\"onDemand\": false", "\"onDemand\": 1", 7, "1", "'onDemand' must be true or false")]
    [DataRow(10, "\"any\",", "\"any\", \"group\": \"fax-sip\",", 10, "\"fax-sip\"", "matrix group 'fax-sip' mixes peer role 'any' with 'cucm'")]
    [DataRow(13, "{ \"id\": \"proxy\", \"description\": \"web proxy\" }", "{ \"id\": \"cucm\", \"description\": \"again\" }", 13, "\"cucm\", \"description\": \"again\"", "duplicate peer role 'cucm'")]
    [DataRow(13, "\"proxy\", \"description\"", "\"nodes\", \"description\"", 13, "\"nodes\"", "'nodes' is built in")]
    [DataRow(14, "\"title\"", "\"name\"", 14, "\"name\"", "unknown field 'name' in a matrix group (valid: id, title)")]
    [DataRow(14, "\"fax-sip\"", "\"Fax SIP\"", 14, "\"Fax SIP\"", "matrix group id 'Fax SIP' must be lower-case")]
    [DataRow(15, "\"3128\"", "\"3128-80\"", 15, "\"3128-80\"", "bad port range '3128-80' in 'ports': first port is above the last")]
    [DataRow(15, "\"peerRole\": \"proxy\"", "\"peerRole\": \"squid\"", 15, "\"squid\"", "unknown peer role 'squid' (declared in 'peerRoles': cucm, proxy)")]
    [DataRow(15, "\"ports\": \"3128\", ", "", 15, "{", "'proxy' is missing required field 'ports'")]
    [DataRow(16, "\"5060-5071\"", "\"5060-70000\"", 16, "\"5060-70000\"", "port 70000 in 'sipPorts' is out of range 1-65535")]
    [DataRow(16, "\"5060-5071\"", "\"any\"", 16, "\"any\"", "'sipPorts' must list ports")]
    [DataRow(17, "\"sip\": 80", "\"sip\": 0", 17, "0", "'sip' = 0 is out of range 1-10000")]
    [DataRow(17, "\"media\"", "\"rtcp\"", 17, "\"rtcp\"", "unknown field 'rtcp' in 'defaultRttMs' (valid: sip, media, betweenNodes)")]
    [DataRow(18, "\"rtp-a\"", "\"rtp-b\"", 18, "\"rtp-b\"", "'mediaRule' names no entry: 'rtp-b'")]
    [DataRow(19, "[\"sip\"]", "[\"sip\", \"sips\"]", 19, "\"sips\"", "no entry has service 'sips'")]
    [DataRow(6, "[\"digital-fax\"]", "[\"fax\"]", 6, "\"fax\"", "unknown application id 'fax' (declared in 'applications': digital-fax; or all)")]
    [DataRow(3, "\"digital-fax\"", "\"all\"", 3, "\"all\"", "'all' is built in")]
    [DataRow(4, "\"calling-platform\"", "\"platform\"", 6, "\"calling-platform\"", "unknown section 'calling-platform' (declared in 'sections': platform)")]
    public void LoadFile_MistakeInANewSection_NamesFileLineAndColumn(int line, string find, string replace, int errorLine, string token, string problem)
    {
        var lines = (string[])Full.Clone();
        Assert.Contains(find, lines[line - 1], "test line");
        lines[line - 1] = lines[line - 1].Replace(find, replace, StringComparison.Ordinal);
        var path = Write(lines);
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        int column = lines[errorLine - 1].IndexOf(token, StringComparison.Ordinal) + 1;
        Assert.IsGreaterThan(0, column, "token in the line");
        Assert.AreEqual((path, errorLine, column), (ex.File, ex.Line, ex.Column), ex.Message);
        StringAssert.StartsWith(ex.Message, $"{path}:{errorLine}:{column}: ");
        StringAssert.Contains(ex.Problem, problem);
    }

    [TestMethod]
    public void LoadFile_PeerRoleOfARow_WithoutPeerRolesSection_SaysSo()
    {
        var lines = Full.Where((_, i) => i != 12).ToArray(); // drop "peerRoles" (line 13)
        lines[13] = "  \"proxy\": { \"ports\": \"3128\" },";
        var path = Write(lines);
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        Assert.AreEqual((7, lines[6].IndexOf("\"cucm\"", StringComparison.Ordinal) + 1), (ex.Line, ex.Column));
        StringAssert.Contains(ex.Problem, "the catalogue has no 'peerRoles'");
    }

    [TestMethod]
    public void Anonymizer_KeepsTheServerNamesOfTheCatalogueInUse()
    {
        var lines = (string[])Full.Clone();
        lines[9] = "      \"peerRole\": \"any\", \"description\": \"d\", \"serverNames\": [\"*.vendor.test\"],";
        var custom = PortCatalogue.LoadFile(Write(lines));
        string withCustom = TrafficAudit.Outputs.Anonymizer.Create("k", custom).Host("acme.vendor.test");
        string builtIn = TrafficAudit.Outputs.Anonymizer.Create("k").Host("acme.vendor.test");
        StringAssert.EndsWith(withCustom, ".vendor.test", "the custom catalogue's domain is public");
        Assert.DoesNotContain("acme", withCustom);
        Assert.DoesNotContain("vendor", builtIn, "unknown to the built-in catalogue: a pseudonym");
        StringAssert.EndsWith(TrafficAudit.Outputs.Anonymizer.Create("k").Host("x.imagicle.cloud"), ".imagicle.cloud");
        Assert.DoesNotContain("imagicle", TrafficAudit.Outputs.Anonymizer.Create("k", custom).Host("x.imagicle.cloud"), "not a name of the custom catalogue");
    }

    // ------------------------------------------------------------------ the built-in catalogue

    private static readonly PortCatalogue Embedded = PortCatalogue.LoadEmbedded();

    [TestMethod]
    public void BuiltIn_MatrixKnowledge_AsTheVendorTableSays()
    {
        // Each group joins alternatives: at least two rows, one role family.
        Assert.HasCount(7, Embedded.MatrixGroups);
        foreach (var g in Embedded.MatrixGroups)
            Assert.IsGreaterThanOrEqualTo(2, Embedded.Entries.Count(e => e.Group == g.Id), g.Id);
        CollectionAssert.AreEquivalent(new[] { "imap4-out", "pop3-out", "ews-out" }, Embedded.Entries.Where(e => e.Group == "mail-to-fax").Select(e => e.Id).ToArray());
        CollectionAssert.AreEquivalent(new[] { "rdp-cluster", "http-80-web-access", "https-443-web-access", "h323-1720", "h323-1721" },
            Embedded.Entries.Where(e => e.OnDemand).Select(e => e.Id).ToArray());
        CollectionAssert.AreEqual(new[] { "cucm", "mail", "ldap", "exchange", "file-share", "pms", "proxy", "consoles" }, Embedded.PeerRoleIds.ToArray());
        // Every cluster row is between nodes, every payload-only (media) row with any peer.
        Assert.IsTrue(Embedded.Entries.Where(e => e.Section == "cluster").All(e => e.PeerRole == PeerRoleInfo.Nodes));
        Assert.IsTrue(Embedded.Entries.Where(e => e.Bindings.Any(b => b.PayloadOnly)).All(e => e.PeerRole == PeerRoleInfo.Any));
        Assert.IsTrue(Embedded.Entries.Where(e => e.Infrastructure).All(e => e.PeerRole is null));
        Assert.HasCount(14, Embedded.ApplicationIds);
        Assert.HasCount(10, Embedded.Sections);
    }

    [TestMethod]
    public void BuiltIn_PolicyKnowledge_AsBefore()
    {
        for (int p = 5060; p <= 5071; p++) Assert.IsTrue(Embedded.IsSipPort((ushort)p), p.ToString());
        Assert.IsFalse(Embedded.IsSipPort(5059) || Embedded.IsSipPort(5072) || Embedded.IsSipPort(5080));
        Assert.AreEqual("3128,8118,8888", Embedded.ProxyPorts.ToString());
        Assert.IsFalse(Embedded.ProxyPorts.Contains(8080), "AXL uses 8080");
        Assert.AreEqual("proxy", Embedded.ProxyRole);
        Assert.AreEqual(new DefaultRttBudgets(80, 80, 100), Embedded.DefaultRtt);
        var media = Embedded.Find(Embedded.MediaRule!)!;
        Assert.IsTrue(media.Bindings.All(b => b.PayloadOnly));
        Assert.AreEqual(80, media.MaxRttMs, "the media rule's own budget is the media default");
        CollectionAssert.AreEquivalent(new[] { "sip", "dns", "ntp", "ldap", "sql-browser" }, Embedded.UdpRequestResponseServices.ToArray());
    }

    [TestMethod]
    public void Readme_BuiltInCatalogueSize_IsMeasured()
    {
        long bytes = new FileInfo(Path.Combine(TestPaths.RepoRoot, "src", "TrafficAudit.Core", "Catalogue", "imagicle-catalogue.json")).Length;
        var m = Regex.Match(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")), @"under 1 KB and about (\d+) KB");
        Assert.IsTrue(m.Success, "the README gives the bundled catalogue's size");
        Assert.AreEqual(Math.Round(bytes / 1000.0), double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), $"{bytes} bytes");
    }

    /// <summary>
    /// No vendor table is left in C#: outside Catalogue/, no code line (comments stripped) quotes a
    /// catalogue row id (one that is not also a service id), a matrix group, an application, a section
    /// (of more than one word) or a peer role. A new table in code would make --catalogue change only part of the product.
    /// </summary>
    [TestMethod]
    public void Source_HoldsNoVendorIds()
    {
        var services = Embedded.Entries.SelectMany(e => e.Bindings.Select(b => b.Service)).ToHashSet();
        var ids = Embedded.Entries.Select(e => e.Id).Where(id => !services.Contains(id))
            .Concat(Embedded.MatrixGroups.Select(g => g.Id))
            .Concat(Embedded.ApplicationIds)
            .Concat(Embedded.Sections.Select(s => s.Id).Where(id => id.Contains('-'))) // "other", "cluster": plain words
            .Concat(Embedded.PeerRoleIds.Where(id => !services.Contains(id)))
            .ToHashSet();
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}Catalogue{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            int n = 0;
            foreach (var raw in File.ReadLines(file))
            {
                n++;
                string line = raw.TrimStart();
                if (line.StartsWith("//", StringComparison.Ordinal)) continue;
                foreach (Match m in Quoted().Matches(line))
                    if (ids.Contains(m.Groups[1].Value)) found.Add($"{Path.GetRelativePath(TestPaths.RepoRoot, file)}:{n}: \"{m.Groups[1].Value}\"");
            }
        }
        Assert.IsEmpty(found, string.Join("\n", found));
    }

    [GeneratedRegex("\"([a-z0-9][a-z0-9-]*)\"")]
    private static partial Regex Quoted();
}
