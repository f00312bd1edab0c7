using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Classification;

[TestClass]
public sealed class NodeDetectorTests
{
    private static readonly IpAddress Node = IpAddress.Parse("10.0.0.10");
    private static readonly IpAddress Standby = IpAddress.Parse("10.0.0.11");
    private static readonly IpAddress Cucm = IpAddress.Parse("10.1.1.5");

    private static IpAddress Pc(int i) => IpAddress.Parse($"10.2.2.{i}");

    private static ObservedFlow Tcp(IpAddress c, int cp, IpAddress s, int sp, bool answered = true)
        => new(IpProtocol.Tcp, c, (ushort)cp, s, (ushort)sp, answered, 5, answered ? 5 : 0);

    private static ObservedFlow Rtp(IpAddress c, int cp, IpAddress s, int sp)
        => new(IpProtocol.Udp, c, (ushort)cp, s, (ushort)sp, false, 50, 0, Rtp: true);

    private static ObservedFlow Udp(IpAddress c, int cp, IpAddress s, int sp, long fromServer = 3)
        => new(IpProtocol.Udp, c, (ushort)cp, s, (ushort)sp, false, 3, fromServer);

    /// <summary>
    /// The detector skips the rules for a flow with neither port on one of theirs: over every port, as the server's and as
    /// the client's, TCP and UDP, a flow adds evidence exactly when a rule fits it as the loop over the rules decides.
    /// </summary>
    [TestMethod]
    public void Observe_EveryPort_AddsEvidenceExactlyWhenARuleFits()
    {
        var rules = PortCatalogue.LoadEmbedded().NodeEvidence;
        var d = new NodeDetector(rules);
        uint next = 0x0A000001;
        int matched = 0;
        foreach (var transport in new[] { IpProtocol.Tcp, IpProtocol.Udp })
            for (int port = 0; port < 65536; port++)
                foreach (bool asServer in new[] { true, false })
                {
                    ushort serverPort = asServer ? (ushort)port : (ushort)40000, clientPort = asServer ? (ushort)40001 : (ushort)port;
                    if (!asServer && port == serverPort) continue;
                    bool expected = rules.Rules.Any(r =>
                        (r.Kind is NodeEvidenceKind.Serves or NodeEvidenceKind.ServesOrSends or NodeEvidenceKind.ClusterPeer or NodeEvidenceKind.ClusterConfirm
                            && r.Fits(transport, serverPort))
                        || (r.Kind == NodeEvidenceKind.ServesOrSends && r.Fits(transport, clientPort) && clientPort != serverPort));
                    long before = d.Version;
                    // New addresses each time: evidence that fits is always new.
                    d.Observe(new ObservedFlow(transport, IpAddress.FromV4(next++), clientPort, IpAddress.FromV4(next++), serverPort, true, 3, 3));
                    Assert.AreEqual(expected, d.Version != before, $"{transport} {(asServer ? "server" : "client")} port {port}");
                    if (expected) matched++;
                }
        Assert.IsGreaterThan(1000, matched, "the catalogue's rules hold ports (HA IPC alone has 1,000)");
    }

    [TestMethod]
    public void Detect_CtiServer_IsNodeWithClientCount()
    {
        var nodes = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234), Tcp(Pc(2), 50002, Node, 51234), Tcp(Pc(3), 50003, Node, 51234), Tcp(Pc(3), 50004, Node, 51234)]);
        var n = nodes.Single();
        Assert.AreEqual(Node, n.Address);
        Assert.AreEqual("terminates CTI TCP 51234 from 3 clients", n.Reason);
        Assert.IsFalse(n.Explicit);
    }

    [TestMethod]
    public void Detect_UnansweredCtiAttempts_AreNotEvidence()
        => Assert.AreEqual(0, NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234, answered: false)]).Count);

    [TestMethod]
    public void Detect_OneImagicleSipPortAlone_IsNotANode()
    {
        // A public SIP provider answering on 5070 (MagicJack) and a B2BUA on 5062: one port is what any SIP server may use.
        var nodes = NodeDetector.Detect([Udp(Cucm, 5060, Node, 5062), Udp(Standby, 5070, Cucm, 5060), Udp(Pc(1), 5060, Pc(2), 5070)]);
        Assert.AreEqual(0, nodes.Count);
    }

    [TestMethod]
    public void Detect_SipOnTwoImagiclePorts_BothWays_IsAWeakNode()
    {
        var nodes = NodeDetector.Detect([Udp(Cucm, 5060, Node, 5062), Udp(Node, 5064, Cucm, 5060)]);
        var n = nodes.Single();
        Assert.AreEqual(Node, n.Address);
        Assert.AreEqual("terminates SIP UDP 5062 from 1 client; sends SIP from UDP 5064 to 1 peer", n.Reason);
        Assert.AreEqual(NodeConfidence.Weak, n.Confidence);
        Assert.AreEqual(2, n.Score);
        StringAssert.StartsWith(n.Evidence, "weak evidence (score 2): ");
    }

    [TestMethod]
    public void Detect_QueuePortAnsweredWithItsOwnMedia_IsAWeakNode_MediaFromAnotherHostIsNot()
    {
        var own = NodeDetector.Detect([Udp(Cucm, 5060, Node, 5062), Rtp(Node, 30000, Pc(1), 20000)]);
        Assert.AreEqual(NodeConfidence.Weak, own.Single().Confidence);
        StringAssert.Contains(own.Single().Reason, "sends RTP itself (1 flow)");
        // The provider's media comes from a media server next to it, not from the SIP host.
        var provider = NodeDetector.Detect([Udp(Pc(1), 5060, Cucm, 5070), Rtp(Pc(1), 20000, Pc(9), 30000)]);
        Assert.AreEqual(0, provider.Count);
    }

    [TestMethod]
    public void Detect_PublicAddressWithWeakEvidence_IsNotANode_PrivateOneIs()
    {
        // A provider's SBC on 5070 that sends its own media scores 2, like a weak node; on a public address it is not one.
        var provider = IpAddress.Parse("216.234.64.8");
        Assert.AreEqual(0, NodeDetector.Detect([Udp(Pc(1), 5060, provider, 5070), Rtp(provider, 30000, Pc(1), 20000)]).Count);
        var local = NodeDetector.Detect([Udp(Pc(1), 5060, Node, 5070), Rtp(Node, 30000, Pc(1), 20000)]);
        Assert.AreEqual(NodeConfidence.Weak, local.Single().Confidence);
        // Strong evidence (the CTI ports) makes a node of a public address too (a hosted suite).
        Assert.AreEqual(provider, NodeDetector.Detect([Tcp(Pc(1), 50001, provider, 51234)]).Single().Address);
    }

    [TestMethod]
    [DataRow("10.1.2.3", true), DataRow("172.16.0.1", true), DataRow("172.31.255.255", true), DataRow("172.32.0.1", false)]
    [DataRow("192.168.1.1", true), DataRow("192.169.1.1", false), DataRow("100.64.0.1", true), DataRow("100.128.0.1", false)]
    [DataRow("127.0.0.1", true), DataRow("169.254.1.1", true), DataRow("8.8.8.8", false), DataRow("216.234.64.8", false)]
    [DataRow("fd12:3456::1", true), DataRow("fc00::1", true), DataRow("fe80::1", true), DataRow("::1", true), DataRow("2001:db8::1", false)]
    public void IsPrivate_KnowsTheRangesNotRoutedOnTheInternet(string address, bool expected)
        => Assert.AreEqual(expected, IpAddress.Parse(address).IsPrivate, address);

    [TestMethod]
    public void Detect_CtiAndSip_IsStrong()
    {
        var n = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234), Udp(Cucm, 5060, Node, 5062)]).Single();
        Assert.AreEqual(NodeConfidence.Strong, n.Confidence);
        Assert.AreEqual(4, n.Score);
    }

    [TestMethod]
    public void Detect_EvidenceComesFromTheCatalogue_NotFromCode()
    {
        var rules = new NodeEvidenceRules
        {
            NodeScore = 1, StrongScore = 1,
            Rules = [new NodeEvidenceRule { Id = "x", Kind = NodeEvidenceKind.Serves, Name = "X", Transport = CatalogueTransport.Tcp, Ports = PortSet.Of(new PortRange(7000, 7000)), Score = 1, Description = "test" }],
        };
        Assert.AreEqual(Node, NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 7000)], rules: rules).Single().Address);
        Assert.AreEqual(0, NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234)], rules: rules).Count, "the CTI rule is not in this catalogue");
        Assert.AreEqual(0, NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234)], rules: NodeEvidenceRules.None).Count);
    }

    [TestMethod]
    public void Detect_OnlyStandardSipAndWeb_FindsNoNode()
    {
        var nodes = NodeDetector.Detect([Udp(Cucm, 5060, Pc(1), 5060), Tcp(Pc(1), 50000, Cucm, 443), Tcp(Pc(1), 50000, Cucm, 80)]);
        Assert.AreEqual(0, nodes.Count);
    }

    [TestMethod]
    public void Detect_SamePortBothEnds_CountsOnlyTheAnsweringServer()
    {
        var nodes = NodeDetector.Detect([Udp(Cucm, 5064, Node, 5064), Udp(Cucm, 5070, Node, 5070)]);
        Assert.AreEqual(Node, nodes.Single().Address);
        Assert.AreEqual(2, nodes.Single().Score, "CUCM's own 5064 and 5070 are not evidence");
    }

    [TestMethod]
    public void Detect_HaIpcServedToANode_PromotesTheStandby()
    {
        var nodes = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51235), Tcp(Node, 50100, Standby, 52010)]);
        CollectionAssert.AreEqual(new[] { Node, Standby }, nodes.Select(n => n.Address).ToArray());
        Assert.AreEqual("serves HA IPC TCP 52000-52999 to node 10.0.0.10", nodes[1].Reason);
    }

    [TestMethod]
    public void Detect_BrokerPortAlone_DoesNotMakeANode()
    {
        var nodes = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51235), Tcp(Node, 50100, Standby, 5672), Tcp(Pc(4), 50100, Pc(5), 52010)]);
        Assert.AreEqual(Node, nodes.Single().Address);
    }

    [TestMethod]
    public void Detect_BrokerBetweenTwoNodes_AddsToTheReason()
    {
        var nodes = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51235), Udp(Cucm, 5060, Standby, 5062), Udp(Cucm, 5060, Standby, 5070), Tcp(Node, 50100, Standby, 5672)]);
        Assert.AreEqual(2, nodes.Count);
        StringAssert.Contains(nodes[1].Reason, "terminates SIP UDP 5062 from 1 client");
        StringAssert.Contains(nodes[1].Reason, "serves message broker TCP 5672 to node 10.0.0.10");
    }

    [TestMethod]
    public void Detect_ExplicitServers_BypassDetection()
    {
        var nodes = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234)], [Cucm, Cucm]);
        var n = nodes.Single();
        Assert.AreEqual(Cucm, n.Address);
        Assert.IsTrue(n.Explicit);
        Assert.AreEqual("given with --server", n.Reason);
        Assert.AreEqual(NodeConfidence.Given, n.Confidence);
        var fromProfile = NodeDetector.Detect([], [Cucm], NodeSource.Profile).Single();
        Assert.AreEqual(NodeSource.Profile, fromProfile.Source);
        Assert.AreEqual("given in the profile's \"nodes\"", fromProfile.Evidence);
    }

    [TestMethod]
    public void Detect_CtiClientSide_IsNotANode()
    {
        var nodes = NodeDetector.Detect([Tcp(Pc(1), 50001, Node, 51234)]);
        Assert.IsFalse(nodes.Any(n => n.Address == Pc(1)));
    }
}
