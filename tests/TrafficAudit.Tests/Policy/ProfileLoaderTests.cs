using System.Text;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Policy;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Policy;

[TestClass]
public sealed class ProfileLoaderTests
{
    private const string Sample = """
        {"nodes": ["10.0.0.10", "10.0.0.11"],
         "applications": ["advanced-queuing", "attendant-console", "call-recording"],
         "peers": {"cucm": ["10.0.1.5"], "mail": ["10.0.2.6"], "ldap": ["10.0.2.5"]},
         "allow": [{"transport": "tcp", "port": 3389, "peer": "10.50.0.0/24", "note": "admin RDP"}],
         "thresholds": {"call_kbps": 80, "jitter_ms": 30, "loss_pct": 1}}
        """;

    private static DeploymentProfile Parse(string json) => ProfileLoader.Parse(Encoding.UTF8.GetBytes(json), "p.json");

    private static ProfileException Fails(string json) => Assert.ThrowsExactly<ProfileException>(() => Parse(json));

    [TestMethod]
    public void Parse_IssueSample_ReadsEveryField()
    {
        var p = Parse(Sample);
        CollectionAssert.AreEqual(new[] { IpAddress.Parse("10.0.0.10"), IpAddress.Parse("10.0.0.11") }, p.Nodes.ToArray());
        CollectionAssert.AreEqual(new[] { "advanced-queuing", "attendant-console", "call-recording" }, p.Applications.ToArray());
        Assert.IsTrue(p.IsPeer("cucm", IpAddress.Parse("10.0.1.5")));
        Assert.IsFalse(p.IsPeer("cucm", IpAddress.Parse("10.0.1.6")));
        Assert.AreEqual(1, p.Allow.Count);
        Assert.IsTrue(p.Allow[0].Matches(IpProtocol.Tcp, 3389, IpAddress.Parse("10.50.0.20")));
        Assert.IsFalse(p.Allow[0].Matches(IpProtocol.Udp, 3389, IpAddress.Parse("10.50.0.20")));
        Assert.IsFalse(p.Allow[0].Matches(IpProtocol.Tcp, 3389, IpAddress.Parse("10.51.0.20")));
        Assert.AreEqual("admin RDP", p.Allow[0].Note);
        Assert.AreEqual(80, p.Thresholds.CallKbps);
    }

    [TestMethod]
    public void Parse_BundledSiteProfile_IsValid()
    {
        var p = ProfileLoader.LoadFile(Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"));
        Assert.AreEqual(2, p.Nodes.Count);
        Assert.IsTrue(p.IsPeer("consoles", IpAddress.Parse("10.2.0.31")));
    }

    [TestMethod]
    public void Parse_MissingThresholds_UsesDocumentedDefaults()
    {
        var p = Parse("""{"nodes": ["10.0.0.10"]}""");
        Assert.AreEqual(80, p.Thresholds.CallKbps);
        Assert.AreEqual(30, p.Thresholds.JitterMs);
        Assert.AreEqual(1, p.Thresholds.LossPct);
        Assert.AreEqual(0, p.Applications.Count);
    }

    [TestMethod]
    public void Parse_UnknownApplication_NamesLineColumnAndTheValidIds()
    {
        var e = Fails("{\n  \"applications\": [\"advanced-queuing\",\n    \"fax-server\"]\n}");
        Assert.AreEqual(3, e.Line);
        Assert.AreEqual(5, e.Column);
        StringAssert.Contains(e.Message, "p.json:3:5");
        StringAssert.Contains(e.Problem, "fax-server");
        StringAssert.Contains(e.Problem, "digital-fax, advanced-queuing, call-recording");
    }

    [TestMethod]
    public void Parse_UnknownRole_NamesLineColumnAndTheValidRoles()
    {
        var e = Fails("{\"peers\": {\"cucm\": [\"10.0.1.5\"],\n \"pbx\": [\"10.0.1.6\"]}}");
        Assert.AreEqual((2, 2), (e.Line, e.Column));
        StringAssert.Contains(e.Problem, "cucm, mail, ldap, exchange, file-share, pms, proxy, consoles");
    }

    [TestMethod]
    [DataRow("{\"nodes\": [\"10.0.0.300\"]}", 1, 12)]
    [DataRow("{\"nodes\": [\"10.0.0.0/24\"]}", 1, 12)]
    [DataRow("{\"peers\": {\"mail\": [\"10.0.2.1/24\"]}}", 1, 21)]
    [DataRow("{\"allow\": [{\"peer\": \"mail.corp\"}]}", 1, 21)]
    [DataRow("{\"allow\": [{\"port\": 70000}]}", 1, 21)]
    [DataRow("{\"allow\": [{\"note\": \"everything\"}]}", 1, 12)]
    [DataRow("{\"thresholds\": {\"jitter\": 30}}", 1, 17)]
    [DataRow("{\"thresholds\": {\"loss_pct\": -1}}", 1, 29)]
    [DataRow("{\"node\": []}", 1, 2)]
    [DataRow("{\"nodes\": [], \"nodes\": []}", 1, 15)]
    public void Parse_BadValue_FailsAtItsPosition(string json, int line, int column)
    {
        var e = Fails(json);
        Assert.AreEqual((line, column), (e.Line, e.Column), e.Message);
    }

    [TestMethod]
    public void Parse_MalformedJson_GivesLineAndColumn()
    {
        var e = Fails("{\n  \"nodes\": [\"10.0.0.10\",]\n}");
        Assert.AreEqual(2, e.Line);
        StringAssert.StartsWith(e.Problem, "malformed JSON");
        Assert.IsGreaterThan(0, e.Column);
    }

    [TestMethod]
    public void Parse_Empty_Fails() => Assert.AreEqual(1, Fails("").Line);

    [TestMethod]
    public void LoadFile_Missing_FailsWithTheFileName()
    {
        var e = Assert.ThrowsExactly<ProfileException>(() => ProfileLoader.LoadFile("/no/such/profile.json"));
        StringAssert.Contains(e.Message, "/no/such/profile.json");
    }

    [TestMethod]
    public void Cli_BadProfile_ExitsWith2BeforeReadingTheCapture()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ta-profile-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var profile = Path.Combine(dir, "bad.json");
            File.WriteAllText(profile, "{\"applications\": [\"fax\"]}");
            // The capture does not exist: the profile must fail first (2, not 3).
            var r = CliRunner.Audit(Path.Combine(dir, "missing.pcap"), "--profile", profile);
            Assert.AreEqual(2, r.ExitCode, r.Stderr);
            StringAssert.Contains(r.Stderr, "bad.json:1:19");
            StringAssert.Contains(r.Stderr, "digital-fax");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void Cli_NodesInProfileAndServerOption_IsAUsageError()
    {
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"),
            "--profile", Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"), "--server", "10.0.0.10");
        Assert.AreEqual(2, r.ExitCode);
        StringAssert.Contains(r.Stderr, "nodes are given twice");
    }

    [TestMethod]
    public void CatalogueErrors_StillNameLineAndColumn_AfterSharingThePositionHelper()
    {
        var e = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.Parse(Encoding.UTF8.GetBytes("\uFEFF{\n \"version\": 2}"), "c.json"));
        Assert.AreEqual((2, 13), (e.Line, e.Column));
    }
}
