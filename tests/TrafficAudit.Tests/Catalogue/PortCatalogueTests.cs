using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Catalogue;

[TestClass]
public sealed class PortCatalogueTests
{
    // Rows transcribed from /work/shared/reference/imagicle-network-ports.txt, counted table by table:
    // company infrastructure 7, console clients 5, Teams 2, cloud services 4, calling platform 16,
    // phones and devices 3, cluster 5, other network communication 3, internet 1 = 46.
    private const int VendorRows = 46;
    // Our additions: dns, ntp, dhcp, icmp, netbios-ns.
    private const int InfrastructureRows = 5;

    private static readonly PortCatalogue Embedded = PortCatalogue.LoadEmbedded();

    private static CatalogueEntry Entry(string id) => Embedded.Find(id) ?? throw new AssertFailedException($"no entry '{id}'");

    [TestMethod]
    public void LoadEmbedded_HasOneEntryPerVendorRowPlusInfrastructure()
    {
        Assert.AreEqual(VendorRows, Embedded.Entries.Count(e => !e.Infrastructure));
        Assert.AreEqual(InfrastructureRows, Embedded.Entries.Count(e => e.Infrastructure));
        Assert.IsTrue(Embedded.Entries.Where(e => e.Infrastructure).All(e => e.Section == "infrastructure"));
        CollectionAssert.AreEqual(
            new[] { 7, 5, 2, 4, 16, 3, 5, 3, 1 },
            Embedded.Sections.Take(9).Select(s => Embedded.Entries.Count(e => e.Section == s.Id)).ToArray());
    }

    [TestMethod]
    public void LoadFile_RepositoryCopy_EqualsEmbedded()
    {
        var path = Path.Combine(TestPaths.RepoRoot, "src", "TrafficAudit.Core", "Catalogue", "imagicle-catalogue.json");
        var fromFile = PortCatalogue.LoadFile(path);
        Assert.AreEqual(path, fromFile.SourceName);
        CollectionAssert.AreEqual(Embedded.Entries.Select(e => e.Id).ToArray(), fromFile.Entries.Select(e => e.Id).ToArray());
    }

    [TestMethod]
    public void CtiTls51235_IsInboundAttendantConsole()
    {
        var e = Entry("cti-tls-51235-console");
        Assert.AreEqual("cti-tls", e.Service);
        Assert.AreEqual(VendorDirection.In, e.Direction);
        CollectionAssert.AreEqual(new[] { "attendant-console" }, e.Applications.ToArray());
        var b = e.Bindings.Single();
        Assert.AreEqual(CatalogueTransport.Tcp, b.Transport);
        Assert.AreEqual("51235", b.ImagiclePorts.ToString());
        Assert.IsTrue(b.RemotePorts.IsAny);
    }

    [TestMethod]
    public void Axl_IsOutboundTo8443And8080WithMaxRtt150()
    {
        var e = Entry("axl-out");
        Assert.AreEqual(VendorDirection.Out, e.Direction);
        Assert.AreEqual(150, e.MaxRttMs);
        Assert.AreEqual("8443,8080", e.Bindings.Single().RemotePorts.ToString());
        Assert.IsTrue(e.Bindings.Single().ImagiclePorts.IsAny);
        CollectionAssert.AreEqual(new[] { "all" }, e.Applications.ToArray());
    }

    [TestMethod]
    public void Ipc_IsNodeRange52000To52999WithMaxRtt100()
    {
        var e = Entry("ipc-cluster");
        Assert.AreEqual(VendorDirection.Node, e.Direction);
        Assert.AreEqual(100, e.MaxRttMs);
        var ports = e.Bindings.Single().ImagiclePorts;
        Assert.AreEqual(new PortRange(52000, 52999), ports.Ranges[0]);
        Assert.IsTrue(ports.Contains(4369) && ports.Contains(5672) && ports.Contains(15672) && ports.Contains(25672));
        Assert.IsTrue(Embedded.Entries.Where(x => x.Section == "cluster").All(x => x.MaxRttMs == 100));
    }

    [TestMethod]
    public void Rtp_NodeSideFrom5000PeerAbove1024_PayloadOnly_80Kbps()
    {
        var e = Entry("rtp-t38-calling-platform");
        Assert.AreEqual(80, e.BandwidthKbpsPerCall);
        Assert.AreEqual(80, e.MaxRttMs);
        var rtp = e.Bindings.First(b => b.Service == "rtp");
        Assert.AreEqual(new PortRange(5000, 65535), rtp.ImagiclePorts.Ranges.Single());
        Assert.AreEqual(new PortRange(1025, 65535), rtp.RemotePorts.Ranges.Single());
        Assert.IsTrue(rtp.PayloadOnly);
        Assert.IsTrue(e.Bindings.Any(b => b.Service == "t38" && b.PayloadOnly));
        CollectionAssert.AreEqual(new[] { "digital-fax", "advanced-queuing", "voicemail", "call-recording", "hotel-link" }, e.Applications.ToArray());
        Assert.IsNotNull(Embedded.Find("rtp-t38-phones"));
    }

    [TestMethod]
    public void OptionalRows_AreTheOnesTheVendorCallsOptional()
    {
        CollectionAssert.AreEquivalent(
            new[] { "ldap-out", "smb-share", "http-80-console-live-update", "smb-cluster" },
            Embedded.Entries.Where(e => e.Optional).Select(e => e.Id).ToArray());
    }

    [TestMethod]
    public void SipRows_HaveTheVendorPortsAndServices()
    {
        Assert.AreEqual("sip", Entry("sip-5062-advanced-queuing").Service);
        Assert.AreEqual(2, Entry("sip-5062-advanced-queuing").Bindings.Count);
        Assert.AreEqual(CatalogueTransport.TlsOverTcp, Entry("sip-tls-5063-advanced-queuing").Bindings.Single().Transport);
        Assert.AreEqual("sip-tls", Entry("sip-tls-5071-call-recording").Service);
        Assert.AreEqual("sip-tls", Entry("sip-tls-5061-manager-assistant").Service);
        CollectionAssert.AreEqual(new[] { "advanced-queuing", "attendant-console" }, Entry("sip-5064-presence").Applications.ToArray());
        Assert.AreEqual(80, Entry("tapi-2748").MaxRttMs);
        Assert.AreEqual(80, Entry("http-80-curri").MaxRttMs);
    }

    [TestMethod]
    public void PmsLink_HasUnspecifiedPorts()
    {
        var b = Entry("pms-link").Bindings.Single();
        Assert.IsTrue(b.ImagiclePorts.IsUnspecified);
        Assert.IsTrue(b.RemotePorts.IsUnspecified);
    }

    [TestMethod]
    public void CloudAndTeamsRows_CarryDomainsAndNetworks()
    {
        CollectionAssert.AreEqual(new[] { "*.imagicle.cloud", "api.imagicle.com" }, Entry("imagicle-cloud-licensing").ServerNames.ToArray());
        CollectionAssert.Contains(Entry("imagicle-cloud-virtual-agents").ServerNames.ToArray(), "*.amazoncognito.com");
        Assert.AreEqual("443,8443", Entry("imagicle-cloud-virtual-receptionist").Bindings.Single().RemotePorts.ToString());
        CollectionAssert.AreEqual(new[] { "20.202.0.0/16", "52.112.0.0/14", "52.120.0.0/14" },
            Entry("teams-media").RemoteNetworks.Select(n => n.ToString()).ToArray());
        Assert.AreEqual("3478-3481", Entry("teams-media").Bindings[0].RemotePorts.ToString());
    }

    [TestMethod]
    public void EveryEntry_UsesKnownApplicationsAndHasADescription()
    {
        foreach (var e in Embedded.Entries)
        {
            Assert.IsTrue(e.Applications.All(Embedded.IsApplication), e.Id);
            Assert.IsFalse(string.IsNullOrWhiteSpace(e.Description), e.Id);
            Assert.IsTrue(e.Bindings.Count > 0, e.Id);
        }
    }

    [TestMethod]
    [DataRow(IpProtocol.Tcp, (ushort)389, true)]
    [DataRow(IpProtocol.Tcp, (ushort)51234, true)]
    [DataRow(IpProtocol.Tcp, (ushort)5063, true)]
    [DataRow(IpProtocol.Udp, (ushort)5060, true)]
    [DataRow(IpProtocol.Udp, (ushort)53, true)]
    [DataRow(IpProtocol.Tcp, (ushort)52500, true)]
    [DataRow(IpProtocol.Udp, (ushort)3478, true)]
    [DataRow(IpProtocol.Udp, (ushort)389, false)]
    [DataRow(IpProtocol.Udp, (ushort)16384, false)] // RTP's >= 5000 is payload-only
    [DataRow(IpProtocol.Udp, (ushort)40000, false)]
    [DataRow(IpProtocol.Tcp, (ushort)49152, false)]
    [DataRow(IpProtocol.Icmp, (ushort)0, false)]
    public void IsServicePort_NamedPortsOnly(IpProtocol transport, ushort port, bool expected)
        => Assert.AreEqual(expected, Embedded.IsServicePort(transport, port));

    [TestMethod]
    public void Formatter_PrintsEveryRuleAndBinding()
    {
        var w = new StringWriter();
        CatalogueFormatter.Write(Embedded, w);
        string text = w.ToString();
        foreach (var e in Embedded.Entries) StringAssert.Contains(text, e.Id);
        StringAssert.Contains(text, "52000-52999,4369,5672,15672,25672");
        StringAssert.Contains(text, "tls-over-tcp");
        StringAssert.Contains(text, "payload only");
        var header = text.Split('\n').First(l => l.StartsWith("rule", StringComparison.Ordinal));
        StringAssert.Contains(header, "max rtt ms");
    }
}
