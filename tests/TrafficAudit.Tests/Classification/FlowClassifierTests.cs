using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Classification;

[TestClass]
public sealed class FlowClassifierTests
{
    private static readonly FlowClassifier Classifier = new(PortCatalogue.LoadEmbedded());

    // Roles used in the cases: N1/N2 Imagicle nodes, R a remote server (CUCM, mail, LDAP...), P a PC or phone.
    private const string N1 = "10.0.0.10", N2 = "10.0.0.11", R = "10.1.1.5", P = "10.2.2.20";

    private static bool IsNode(string ip) => ip is N1 or N2;

    private static FlowClassification Classify(string transport, string client, int clientPort, string server, int serverPort,
        bool rtp = false, bool rtcp = false, bool t38 = false, bool sip = false, string? sni = null, bool nodesKnown = true)
    {
        var t = transport switch { "tcp" => IpProtocol.Tcp, "udp" => IpProtocol.Udp, "icmp" => IpProtocol.Icmp, _ => IpProtocol.Sctp };
        var f = new FlowFacts(t, IpAddress.Parse(client), (ushort)clientPort, IpAddress.Parse(server), (ushort)serverPort,
            rtp, rtcp, t38, sip, sni is not null, sni, nodesKnown && IsNode(client), nodesKnown && IsNode(server));
        return Classifier.Classify(f);
    }

    private static void Expect(FlowClassification c, string service, string rule, string direction, string? apps = null)
    {
        Assert.AreEqual(service, c.Service, "service");
        Assert.AreEqual(rule, c.MatchedRule, "rule");
        Assert.AreEqual(direction, c.Direction, "direction");
        if (apps is not null) Assert.AreEqual(apps, c.Applications, "applications");
        Assert.AreEqual(rule == "" ? null : rule, c.Entry?.Id);
    }

    // Outbound rows: the node is the client, the remote port is listed.
    [TestMethod]
    [DataRow(389, "ldap", "ldap-out", "all")]
    [DataRow(25, "smtp", "smtp-out", "all")]
    [DataRow(465, "smtps", "smtp-out", "all")]
    [DataRow(143, "imap", "imap4-out", "digital-fax")]
    [DataRow(993, "imaps", "imap4-out", "digital-fax")]
    [DataRow(110, "pop3", "pop3-out", "digital-fax")]
    [DataRow(995, "pop3s", "pop3-out", "digital-fax")]
    [DataRow(445, "smb", "smb-share", "all")]
    [DataRow(139, "netbios-ssn", "smb-share", "all")]
    [DataRow(8443, "axl", "axl-out", "all")]
    [DataRow(8080, "axl", "axl-out", "all")] // AXL and the internet row both list 8080: the earlier row wins, same applications
    [DataRow(2748, "tapi", "tapi-2748", "all")]
    [DataRow(80, "http", "http-80-phone-notifications", "contact-manager;phone-lock")]
    [DataRow(443, "https", "https-internet", "all")]
    [DataRow(1720, "h323", "h323-1720", "digital-fax;voicemail")]
    [DataRow(1721, "h323", "h323-1721", "digital-fax")]
    public void Classify_NodeClientTcp_MatchesOutboundRow(int serverPort, string service, string rule, string apps)
        => Expect(Classify("tcp", N1, 50123, R, serverPort), service, rule, "OUT", apps);

    // Inbound rows: the node is the server on its listed port.
    [TestMethod]
    [DataRow(51234, "cti", "cti-51234-console")]
    [DataRow(51235, "cti-tls", "cti-tls-51235-console")]
    [DataRow(51236, "cti-tls", "cti-tls-51236-console-teams")]
    [DataRow(21050, "mondago-goconnect", "mondago-21050-console")]
    public void Classify_ConsoleToNode_IsInboundCti(int port, string service, string rule)
        => Expect(Classify("tcp", P, 50123, N1, port), service, rule, "IN", "attendant-console");

    [TestMethod]
    public void Classify_HttpToNode_ListsEveryInboundHttpRowsApplications()
        => Expect(Classify("tcp", P, 50123, N1, 80), "http", "http-80-console-live-update", "IN",
            "attendant-console;contact-manager;phone-lock;ivr-manager;all");

    [TestMethod]
    [DataRow(443, "https", "https-443-web-access")]
    [DataRow(21, "ftp", "ftp-cdr-upload")]
    [DataRow(22, "sftp", "ftp-cdr-upload")]
    public void Classify_InboundToNode_MatchesInboundRow(int port, string service, string rule)
        => Expect(Classify("tcp", R, 40000, N1, port), service, rule, "IN");

    [TestMethod]
    public void Classify_CtiPortButNodeIsClient_NamesServiceWithoutRule()
        => Expect(Classify("tcp", N1, 50123, P, 51234), "cti", "", "OUT", "");

    [TestMethod]
    public void Classify_LdapServedByNode_HasNoInboundRule()
        => Expect(Classify("tcp", R, 50123, N1, 389), "ldap", "", "IN", "");

    [TestMethod]
    public void Classify_UnlistedPortToNode_IsUnknown()
        => Expect(Classify("tcp", P, 50123, N1, 8888), "unknown", "", "IN", "");

    // SIP: either side may be the client; the node's port identifies the Imagicle service.
    [TestMethod]
    [DataRow("udp", 5062, "sip", "sip-5062-advanced-queuing", "advanced-queuing")]
    [DataRow("tcp", 5062, "sip", "sip-5062-advanced-queuing", "advanced-queuing")]
    [DataRow("tcp", 5063, "sip-tls", "sip-tls-5063-advanced-queuing", "advanced-queuing")]
    [DataRow("udp", 5064, "sip", "sip-5064-presence", "advanced-queuing;attendant-console")]
    [DataRow("udp", 5066, "sip", "sip-5066-hotel-link", "hotel-link")]
    [DataRow("udp", 5070, "sip", "sip-5070-call-recording", "call-recording")]
    [DataRow("tcp", 5070, "sip", "sip-5070-call-recording", "call-recording")]
    [DataRow("tcp", 5071, "sip-tls", "sip-tls-5071-call-recording", "call-recording")]
    [DataRow("tcp", 5061, "sip-tls", "sip-tls-5061-manager-assistant", "manager-assistant")]
    [DataRow("udp", 5060, "sip", "sip-5060-digital-fax", "digital-fax;manager-assistant")]
    public void Classify_SipBothWays(string transport, int port, string service, string rule, string apps)
    {
        // CUCM calls the node on its port, from CUCM's own 5060 (UDP) or an ephemeral port (TCP).
        Expect(Classify(transport, R, transport == "udp" ? 5060 : 40001, N1, port), service, rule, "IN", apps);
        // The node calls CUCM from its port.
        Expect(Classify(transport, N1, port, R, 5060), service, rule, "OUT", apps);
        // The node calls a peer listening on the same port.
        Expect(Classify(transport, N1, 40002, R, port), service, rule, "OUT", apps);
    }

    [TestMethod]
    public void Classify_SipWithoutAnyKnownNode_StillSip()
        => Expect(Classify("udp", R, 5060, P, 5060, nodesKnown: false), "sip", "sip-5060-digital-fax", "NONE");

    [TestMethod]
    public void Classify_ValidatedSipOnOddPort_IsSipWithoutRule()
        => Expect(Classify("udp", R, 40000, N1, 5999, sip: true), "sip", "", "IN", "");

    [TestMethod]
    public void Classify_PeerUsesListedSipPort_MatchesEvenIfNodePortIsNot()
        // The vendor's SIP rows give the port on both sides; the peer's 5060 is enough (brief: "node port or remote port").
        => Expect(Classify("udp", R, 5060, N1, 5999, sip: true), "sip", "sip-5060-digital-fax", "IN");

    [TestMethod]
    public void Classify_SipFlagOnHttpPort_DoesNotBecomeHttp()
        => Expect(Classify("tcp", R, 40000, N1, 80, sip: true), "sip", "", "IN");

    // RTP / RTCP / T.38 only from payload evidence.
    [TestMethod]
    public void Classify_UdpHighPortsWithoutRtpEvidence_IsUnknown()
    {
        Expect(Classify("udp", R, 20000, N1, 30000), "unknown", "", "IN");
        Expect(Classify("udp", P, 20000, R, 30000, nodesKnown: false), "unknown", "", "NONE");
    }

    [TestMethod]
    public void Classify_ValidatedRtp_MatchesRtpRow()
    {
        const string apps = "digital-fax;advanced-queuing;voicemail;call-recording;hotel-link";
        Expect(Classify("udp", R, 16384, N1, 30000, rtp: true), "rtp", "rtp-t38-calling-platform", "IN", apps);
        Expect(Classify("udp", N1, 30000, R, 16384, rtp: true), "rtp", "rtp-t38-calling-platform", "OUT", apps);
        Expect(Classify("udp", R, 16384, P, 30000, rtp: true, nodesKnown: false), "rtp", "rtp-t38-calling-platform", "NONE", apps);
        Expect(Classify("udp", R, 16384, N1, 30001, rtcp: true), "rtcp", "rtp-t38-calling-platform", "IN");
        Expect(Classify("udp", R, 16384, N1, 30000, t38: true), "t38", "rtp-t38-calling-platform", "IN");
    }

    [TestMethod]
    public void Classify_RtpToNodePortBelow5000_IsRtpOutsideTheTable()
        => Expect(Classify("udp", R, 16384, N1, 4000, rtp: true), "rtp", "", "IN", "");

    [TestMethod]
    public void Classify_RtpFromPeerPortBelow1025_IsRtpOutsideTheTable()
        => Expect(Classify("udp", R, 1000, N1, 20000, rtp: true), "rtp", "", "IN", "");

    // Cluster rows only between two nodes.
    [TestMethod]
    [DataRow("tcp", 52000, "ipc", "ipc-cluster")]
    [DataRow("tcp", 52999, "ipc", "ipc-cluster")]
    [DataRow("tcp", 5672, "ipc", "ipc-cluster")]
    [DataRow("tcp", 25672, "ipc", "ipc-cluster")]
    [DataRow("tcp", 1433, "sql", "sql-cluster")]
    [DataRow("udp", 1434, "sql-browser", "sql-cluster")]
    [DataRow("tcp", 3389, "rdp", "rdp-cluster")]
    [DataRow("tcp", 443, "https", "http-cluster")]
    [DataRow("tcp", 80, "http", "http-cluster")]
    [DataRow("tcp", 445, "smb", "smb-cluster")]
    [DataRow("udp", 138, "netbios-dgm", "smb-cluster")]
    public void Classify_BetweenNodes_MatchesClusterRow(string transport, int port, string service, string rule)
        => Expect(Classify(transport, N1, 50123, N2, port), service, rule, "NODE", "all");

    [TestMethod]
    public void Classify_BetweenNodesOnUnlistedPort_IsHaFullConnectivity()
    {
        Expect(Classify("tcp", N1, 50123, N2, 9999), "any-node", "any-ha-nodes", "NODE");
        Expect(Classify("udp", N1, 50123, N2, 9999), "any-node", "any-ha-nodes", "NODE");
    }

    [TestMethod]
    public void Classify_SipBetweenNodes_IsSipNotHaCatchAll()
        => Expect(Classify("udp", N1, 5062, N2, 5062), "sip", "sip-5062-advanced-queuing", "NODE");

    [TestMethod]
    public void Classify_ClusterPortFromWorkstation_NamesServiceWithoutRule()
        => Expect(Classify("tcp", P, 50123, N1, 3389), "rdp", "", "IN", "");

    [TestMethod]
    public void Classify_UnlistedPortWithoutNodes_IsNotHaCatchAll()
        => Expect(Classify("tcp", P, 50123, R, 9999, nodesKnown: false), "unknown", "", "NONE");

    [TestMethod]
    public void Classify_EphemeralClientPortInIpcRange_IsNotIpc()
        => Expect(Classify("tcp", P, 52100, R, 9999, nodesKnown: false), "unknown", "", "NONE");

    // Infrastructure.
    [TestMethod]
    [DataRow("udp", 53, "dns")]
    [DataRow("tcp", 53, "dns")]
    [DataRow("udp", 123, "ntp")]
    [DataRow("udp", 137, "netbios-ns")]
    public void Classify_Infrastructure_ByPort(string transport, int port, string service)
    {
        var c = Classify(transport, N1, 50123, R, port);
        Expect(c, service, service, "OUT", "all");
        Assert.IsTrue(c.Infrastructure);
        var none = Classify(transport, P, 50123, R, port, nodesKnown: false);
        Assert.AreEqual(service, none.Service);
        Assert.AreEqual("NONE", none.Direction);
        Assert.IsTrue(none.Infrastructure);
    }

    [TestMethod]
    public void Classify_Dhcp_ClientPort68ToServer67()
    {
        var c = Classify("udp", N1, 68, "255.255.255.255", 67);
        Expect(c, "dhcp", "dhcp", "OUT");
        Assert.IsTrue(c.Infrastructure);
    }

    [TestMethod]
    public void Classify_Icmp_IsInfrastructure()
    {
        var c = Classify("icmp", N1, 0, R, 0);
        Expect(c, "icmp", "icmp", "OUT");
        Assert.IsTrue(c.Infrastructure);
        Assert.IsFalse(Classify("tcp", N1, 50123, R, 389).Infrastructure);
    }

    [TestMethod]
    public void Classify_OtherIpProtocol_IsUnknown()
        => Expect(Classify("sctp", N1, 1, R, 2), "unknown", "", "OUT");

    // Teams and cloud.
    [TestMethod]
    public void Classify_TeamsMediaRanges_ByAddressAndPort()
    {
        Expect(Classify("udp", P, 50000, "52.113.10.1", 3478, nodesKnown: false), "teams-media", "teams-media", "NONE", "attendant-console");
        Expect(Classify("udp", "20.202.1.1", 3481, P, 50000, nodesKnown: false), "teams-media", "teams-media", "NONE");
        Expect(Classify("tcp", P, 50000, "52.123.255.1", 443, nodesKnown: false), "teams-media", "teams-media", "NONE");
        // Outside the ranges (52.116.0.0 is past 52.112.0.0/14) or on another port: not Teams media.
        Assert.AreNotEqual("teams-media", Classify("udp", P, 50000, "52.116.0.1", 3478, nodesKnown: false).Service);
        Assert.AreNotEqual("teams-media", Classify("udp", P, 50000, "52.113.10.1", 3482, nodesKnown: false).Service);
    }

    [TestMethod]
    public void Classify_TeamsSignallingByServerName()
        => Expect(Classify("tcp", P, 50000, "13.107.1.1", 443, sni: "teams.microsoft.com", nodesKnown: false), "teams-signalling", "teams-signalling", "NONE");

    [TestMethod]
    public void Classify_ImagicleCloudWildcard_ListsEveryCloudApplication()
        => Expect(Classify("tcp", N1, 50000, "3.3.3.3", 443, sni: "eu-west.imagicle.cloud"), "imagicle-cloud", "imagicle-cloud-licensing", "OUT",
            "all;voice-analytics;virtual-agents;virtual-receptionist");

    [TestMethod]
    public void Classify_ImagicleCloudExactName_BeatsWildcards()
        => Expect(Classify("tcp", N1, 50000, "3.3.3.3", 443, sni: "API.Imagicle.com."), "imagicle-cloud", "imagicle-cloud-licensing", "OUT", "all");

    [TestMethod]
    public void Classify_AwsOn8443_IsVirtualAgentsAndReceptionist()
        => Expect(Classify("tcp", N1, 50000, "3.3.3.3", 8443, sni: "cognito-idp.eu-west-1.amazoncognito.com"), "imagicle-cloud",
            "imagicle-cloud-virtual-agents", "OUT", "virtual-agents;virtual-receptionist");

    [TestMethod]
    [DataRow("imagicle.cloud")]        // the apex is not below *.imagicle.cloud
    [DataRow("evilimagicle.cloud")]
    [DataRow("www.example.com")]
    public void Classify_NonMatchingServerName_FallsBackToPort(string sni)
        => Expect(Classify("tcp", N1, 50000, "3.3.3.3", 443, sni: sni), "https", "https-internet", "OUT");

    [TestMethod]
    public void Classify_PmsLink_IsNeverMatchedByPort()
    {
        foreach (var port in new[] { 1, 80, 5000, 9999, 65535 })
            Assert.AreNotEqual("pms-link", Classify("tcp", N1, 50000, R, port).MatchedRule);
    }

    [TestMethod]
    public void Classify_SameVerdict_IsSharedInstance()
        => Assert.AreSame(Classify("tcp", N1, 50000, R, 389), Classify("tcp", N1, 50999, "10.9.9.9", 389));

    [TestMethod]
    public void Classify_MillionFlows_IsFast()
    {
        var facts = new FlowFacts[1024];
        var rnd = new Random(7);
        for (int i = 0; i < facts.Length; i++)
        {
            bool udp = (i & 1) == 0;
            facts[i] = new FlowFacts(udp ? IpProtocol.Udp : IpProtocol.Tcp, IpAddress.Parse(R), (ushort)rnd.Next(1024, 65535),
                IpAddress.Parse(N1), (ushort)rnd.Next(1, 65535), udp && (i % 4 == 0), false, false, false, false, null, false, true);
        }
        // Warm up the verdict cache, then time a million classifications.
        foreach (var f in facts) Classifier.Classify(f);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1_000_000; i++) Classifier.Classify(facts[i & 1023]);
        sw.Stop();
        Console.WriteLine($"1M classifications: {sw.ElapsedMilliseconds} ms");
        Assert.IsTrue(sw.ElapsedMilliseconds < 5000, $"{sw.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// A remembered verdict is the one the rules give: flows drawn from every port at and beside a bound of the
    /// catalogue's ranges (so most share a port class with a flow seen before), both transports, every node
    /// direction, the payload hints, server names the name rules read or not, and ends inside and outside the address
    /// rules' networks, each classified through the memory and by walking the rules. A key that left out any of these
    /// would hand a flow the verdict of another.
    /// </summary>
    [TestMethod]
    public void Classify_RememberedVerdicts_AreTheRulesVerdicts()
    {
        var catalogue = PortCatalogue.LoadEmbedded();
        var classifier = new FlowClassifier(catalogue);
        var ports = new SortedSet<int> { 0, 1, 1023, 1024, 1025, 49152, 50123, 65535 };
        var names = new List<string?> { null, "", "unknown.example.org", "www.example.com." };
        var networks = new List<IpAddress> { IpAddress.Parse(P), IpAddress.Parse(R) };
        foreach (var e in catalogue.Entries)
        {
            foreach (var b in e.Bindings)
                foreach (var set in new[] { b.ImagiclePorts, b.RemotePorts })
                    foreach (var r in set.Ranges)
                        foreach (int p in new[] { r.First - 1, r.First, r.First + 1, r.Last - 1, r.Last, r.Last + 1 })
                            if (p is >= 0 and <= 65535) ports.Add(p);
            foreach (var n in e.ServerNames)
            {
                names.Add(n.StartsWith("*.", StringComparison.Ordinal) ? "host" + n[1..] : n);
                names.Add(n.StartsWith("*.", StringComparison.Ordinal) ? n[2..] : n.ToUpperInvariant());
            }
            foreach (var net in e.RemoteNetworks) networks.Add(net.Network);
        }
        var portList = ports.ToArray();
        var random = new Random(20261201);
        int remembered = 0;
        for (int i = 0; i < 200_000; i++)
        {
            var client = networks[random.Next(networks.Count)];
            var server = networks[random.Next(networks.Count)];
            ushort clientPort = (ushort)portList[random.Next(portList.Length)];
            ushort serverPort = random.Next(8) == 0 ? clientPort : (ushort)portList[random.Next(portList.Length)];
            int hint = random.Next(6);
            var f = new FlowFacts(random.Next(2) == 0 ? IpProtocol.Tcp : IpProtocol.Udp, client, clientPort, server, serverPort,
                hint == 1, hint == 2, hint == 3, hint == 4, hint == 5, names[random.Next(names.Count)], random.Next(2) == 0, random.Next(2) == 0);
            var expected = classifier.Evaluate(in f);
            var got = classifier.Classify(in f);
            if (!expected.Equals(got))
                Assert.Fail($"flow {i} {f}: remembered {got}, the rules give {expected}");
            remembered = classifier.VerdictsRemembered;
        }
        // So many kinds of flow fill the memory: it stops at its cap, and counts the flows it then does not remember.
        Assert.AreEqual(FlowClassifier.MaxRemembered, remembered);
        Assert.IsTrue(classifier.VerdictsNotRemembered > 0);
    }

    /// <summary>Connections from a thousand ephemeral ports to one service share one remembered verdict.</summary>
    [TestMethod]
    public void Classify_EphemeralClientPorts_ShareOneVerdict()
    {
        var classifier = new FlowClassifier(PortCatalogue.LoadEmbedded());
        for (int port = 50_000; port < 51_000; port++)
        {
            var c = classifier.Classify(new FlowFacts(IpProtocol.Tcp, IpAddress.Parse(N1), (ushort)port, IpAddress.Parse(R), 389,
                false, false, false, false, false, null, true, false));
            Expect(c, "ldap", "ldap-out", "OUT", "all");
        }
        Assert.AreEqual(1, classifier.VerdictsRemembered);
    }
}
