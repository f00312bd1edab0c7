using System.Globalization;
using System.Security.Cryptography;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Scenarios;

namespace TrafficAudit.Tests.Synth;

/// <summary>
/// The site capture and its truth file, checked against an independent re-read of the written
/// pcap (own record walker + PacketDotNet) and against tshark figures recorded in TestData/Synth.
/// </summary>
[TestClass]
public sealed class SiteScenarioTests
{
    private static readonly Lazy<SyntheticCapture> Site = new(() => new SiteScenario().Build(1));
    private static readonly Lazy<byte[]> SiteBytes = new(() => Site.Value.ToPcapBytes());
    private static readonly Lazy<List<PacketView>> SitePackets = new(() =>
        PcapRecords.ReadAll(SiteBytes.Value).Select(r => PacketView.Decode(r.Frame)).ToList());

    private static GroundTruth Truth => Site.Value.Truth;

    private static string CommittedPcap => Path.Combine(TestPaths.Captures, "imagicle-site.pcap");

    [TestMethod]
    public void Build_SameSeedTwice_IsByteIdentical()
    {
        var again = new SiteScenario().Build(1);
        CollectionAssert.AreEqual(SiteBytes.Value, again.ToPcapBytes());
        Assert.AreEqual(Truth.ToJson(), again.Truth.ToJson());
    }

    [TestMethod]
    public void Build_OtherSeed_ChangesBytesButNotTheFlowPlan()
    {
        var other = new SiteScenario().Build(2);
        CollectionAssert.AreNotEqual(SiteBytes.Value, other.ToPcapBytes());
        Assert.AreEqual(Truth.Flows.Count, other.Truth.Flows.Count);
        Assert.AreEqual("trafficaudit-synth site --seed 2", other.Truth.Generator);
    }

    [TestMethod]
    public void CommittedCapture_EqualsAFreshBuildWithSeed1()
    {
        if (!File.Exists(CommittedPcap)) Assert.Fail("captures/imagicle-site.pcap is missing: run trafficaudit-synth site --out captures/imagicle-site.pcap");
        CollectionAssert.AreEqual(SiteBytes.Value, File.ReadAllBytes(CommittedPcap),
            "captures/imagicle-site.pcap is stale: regenerate it (and the tshark figures in TestData/Synth)");
        Assert.AreEqual(Truth.ToJson(), File.ReadAllText(Path.Combine(TestPaths.Captures, "imagicle-site.truth.json")));
    }

    [TestMethod]
    public void Pcap_IsWellFormedSmallAndTwoToThreeMinutesLong()
    {
        var records = PcapRecords.ReadAll(SiteBytes.Value);
        Assert.AreEqual(Truth.Packets, records.Count);
        Assert.IsLessThan(2_000_000, SiteBytes.Value.Length, "the site capture must stay small enough to commit");
        double span = (records[^1].UnixMicros - records[0].UnixMicros) / 1e6;
        Assert.IsTrue(span is >= 120 and <= 180, $"span {span} s");
        Assert.AreEqual(span, Truth.DurationSeconds, 1e-9);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(records[0].UnixMicros / 1000);
        Assert.AreEqual(start.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), Truth.CaptureStart);
        Assert.AreEqual(new DateTime(2026, 3, 2), start.UtcDateTime.Date);
    }

    [TestMethod]
    public void Truth_FlowCounts_EqualARecountOfThePcap()
    {
        var byKey = SitePackets.Value.GroupBy(p => p.FlowKey).ToDictionary(g => g.Key, g => g.ToList());
        Assert.AreEqual(byKey.Count, Truth.Flows.Count, "every 5-tuple in the pcap is one truth flow");
        foreach (var f in Truth.Flows)
        {
            var key = PacketView.KeyOf(f.Transport, f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort);
            Assert.IsTrue(byKey.TryGetValue(key, out var pkts), $"no packets for {key}");
            var c2s = pkts.Where(p => p.Src == f.ClientIp && p.SrcPort == f.ClientPort).ToList();
            var s2c = pkts.Where(p => p.Src == f.ServerIp && p.SrcPort == f.ServerPort).ToList();
            Assert.AreEqual(f.PacketsC2s, c2s.Count, $"{key} packets_c2s");
            Assert.AreEqual(f.PacketsS2c, s2c.Count, $"{key} packets_s2c");
            Assert.AreEqual(f.BytesC2s, c2s.Sum(p => (long)p.IpLength), $"{key} bytes_c2s");
            Assert.AreEqual(f.BytesS2c, s2c.Sum(p => (long)p.IpLength), $"{key} bytes_s2c");
            Assert.IsTrue(pkts.All(p => p.Vlan == (f.Vlan ?? 0)), $"{key} vlan");
        }
        Assert.AreEqual(SitePackets.Value.Count, Truth.Flows.Sum(f => f.PacketsC2s + f.PacketsS2c));
    }

    [TestMethod]
    public void Truth_FirstPacketOfEachFlow_IsFromTheClientUnlessMidstream()
    {
        foreach (var f in Truth.Flows)
        {
            var key = PacketView.KeyOf(f.Transport, f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort);
            var first = SitePackets.Value.First(p => p.FlowKey == key);
            bool fromClient = first.Src == f.ClientIp && first.SrcPort == f.ClientPort;
            if (f.TcpState == "midstream") Assert.IsFalse(fromClient, $"{key}: the midstream flow starts with the server's data");
            else Assert.IsTrue(fromClient, $"{key}: first packet from the server");
            if (f.Transport == "tcp" && f.TcpState != "midstream") Assert.IsTrue(first.Syn && !first.Ack, $"{key} starts with a SYN");
        }
    }

    [TestMethod]
    public void Truth_RtpStreams_EqualARecountOfTheRtpHeaders()
    {
        var streams = new Dictionary<(string, uint), (int Packets, ushort First, ushort Last, bool MarkerFirst, int Pt)>();
        foreach (var p in SitePackets.Value)
        {
            if (!p.TryRtp(out var ssrc, out var seq, out var marker, out var pt)) continue;
            var k = ($"{p.Src}:{p.SrcPort}", ssrc);
            streams[k] = streams.TryGetValue(k, out var s) ? (s.Packets + 1, s.First, seq, s.MarkerFirst, s.Pt) : (1, seq, seq, marker, pt);
        }
        var truthStreams = Truth.Calls.SelectMany(c => c.RtpStreams).ToList();
        Assert.AreEqual(9, truthStreams.Count);
        foreach (var t in truthStreams)
        {
            uint ssrc = uint.Parse(t.Ssrc[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            Assert.IsTrue(streams.TryGetValue((t.Src, ssrc), out var s), $"stream {t.Ssrc} from {t.Src} not found");
            Assert.AreEqual(t.Packets, s.Packets, $"{t.Ssrc} packets");
            int expected = (ushort)(s.Last - s.First) + 1;
            Assert.AreEqual(t.Lost, expected - s.Packets, $"{t.Ssrc} lost");
            Assert.AreEqual(t.MarkerFirst, s.MarkerFirst, $"{t.Ssrc} marker");
            Assert.AreEqual(t.PayloadType, s.Pt, $"{t.Ssrc} payload type");
        }
    }

    [TestMethod]
    public void Truth_HasEveryRequiredFlowKind()
    {
        FlowTruth One(Func<FlowTruth, bool> where, string what)
        {
            var m = Truth.Flows.Where(where).ToList();
            Assert.HasCount(1, m, what);
            return m[0];
        }
        var unanswered = One(f => f.TcpState == "unanswered", "unanswered");
        Assert.AreEqual((993, 2, "imaps"), (unanswered.ServerPort, unanswered.SynRetries, unanswered.ExpectedService));
        Assert.AreEqual(3, unanswered.PacketsC2s);
        Assert.AreEqual(0, unanswered.PacketsS2c);
        Assert.AreEqual(3.0, unanswered.LastSeconds - unanswered.FirstSeconds, 1e-9, "SYN retransmissions at +1 s and +3 s");
        Assert.AreEqual((995, "pop3s", 1), (One(f => f.TcpState == "refused", "refused").ServerPort, "pop3s", 1));
        Assert.AreEqual(2748, One(f => f.TcpState == "midstream", "midstream").ServerPort);
        Assert.AreEqual(("unknown", "IN"), (One(f => f.ServerPort == 23, "telnet").ExpectedService, "IN"));
        Assert.IsGreaterThan(150.0, One(f => f.ServerPort == 8443, "axl").HandshakeRttMs!.Value);
        Assert.AreEqual("imagicle-cloud", One(f => f.ServerIp == "203.0.113.10", "licensing").ExpectedService);
        Assert.AreEqual(3128, One(f => f.ServerIp == "10.0.2.8", "proxy").ServerPort);
        var icmp = One(f => f.Transport == "icmp", "icmp");
        Assert.AreEqual(One(f => f.ServerPort == 5064, "presence").PacketsC2s, icmp.PacketsC2s, "one ICMP error per datagram");
        Assert.AreEqual("NONE", One(f => f.ClientIp == "10.50.0.20" && f.ServerPort == 53, "admin dns").Direction);
        Assert.IsTrue(Truth.Flows.Any(f => f.Direction == "NODE"));
        Assert.IsTrue(Truth.Flows.Where(f => f.Vlan == 100).All(f => f.ClientIp.StartsWith("10.1.0.", StringComparison.Ordinal) || f.ServerIp.StartsWith("10.1.0.", StringComparison.Ordinal)));
        string[] services = ["sip", "rtp", "rtcp", "t38", "tapi", "cti", "cti-tls", "axl", "ldap", "smtp", "imap", "imaps", "pop3s", "sql", "ipc", "rdp", "http", "dns", "ntp", "icmp", "imagicle-cloud", "unknown"];
        foreach (var s in services) Assert.IsTrue(Truth.Flows.Any(f => f.ExpectedService == s), "missing service " + s);
        Assert.IsTrue(Truth.Calls.Any(c => c.Codec.Contains("T.38", StringComparison.Ordinal) && c.SipPort == 5060));
        Assert.IsTrue(Truth.Calls.Any(c => c.SipPort == 5070));
        Assert.IsTrue(Truth.Calls.SelectMany(c => c.RtpStreams).Any(s => s.Lost > 0));
        Assert.IsTrue(Truth.Calls.SelectMany(c => c.RtpStreams).Any(s => s.MaxAddedJitterMs > 0));
    }

    [TestMethod]
    public void Truth_HandshakeRtts_AreTheSumOfServerAndClientRtt()
    {
        foreach (var f in Truth.Flows.Where(f => f.TcpState == "established" && f.HandshakeRttMs is not null))
            Assert.AreEqual(f.HandshakeRttMs!.Value, f.ServerRttMs!.Value + f.ClientRttMs!.Value, 1e-9, $"{f.ClientIp}:{f.ClientPort}");
        Assert.IsTrue(Truth.Flows.Where(f => f.Transport == "tcp" && f.TcpState is "established").All(f => f.HandshakeRttMs is not null));
        Assert.IsTrue(Truth.Flows.Where(f => f.TcpState is "unanswered" or "midstream").All(f => f.HandshakeRttMs is null));
        Assert.IsTrue(Truth.Flows.Where(f => f.TcpState is "refused").All(f => f.HandshakeRttMs == f.ServerRttMs));
    }

    /// <summary>tshark's tcp.analysis.initial_rtt for each stream (TestData/Synth/imagicle-site.tshark-initial-rtt.txt).</summary>
    [TestMethod]
    public void Truth_HandshakeRtt_EqualsTsharkInitialRtt()
    {
        var lines = ReadTsharkFile("imagicle-site.tshark-initial-rtt.txt");
        var tshark = new Dictionary<string, double>();
        foreach (var l in lines)
        {
            var c = l.Split('\t');
            Assert.HasCount(6, c, l);
            tshark[PacketView.KeyOf("tcp", c[1], int.Parse(c[2], CultureInfo.InvariantCulture), c[3], int.Parse(c[4], CultureInfo.InvariantCulture))]
                = double.Parse(c[5], CultureInfo.InvariantCulture) * 1000.0;
        }
        int compared = 0;
        foreach (var f in Truth.Flows.Where(f => f.Transport == "tcp"))
        {
            var key = PacketView.KeyOf("tcp", f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort);
            bool has = tshark.TryGetValue(key, out var ms);
            switch (f.TcpState)
            {
                case "established":
                    Assert.IsTrue(has, $"tshark has no initial_rtt for {key}");
                    Assert.AreEqual(f.HandshakeRttMs!.Value, ms, 1e-6, key);
                    compared++;
                    break;
                case "refused":
                    // Wireshark takes the RST/ACK as the first ACK after the SYN.
                    Assert.IsTrue(has, $"tshark has no initial_rtt for refused {key}");
                    Assert.AreEqual(f.HandshakeRttMs!.Value, ms, 1e-6, key);
                    break;
                default:
                    Assert.IsFalse(has, $"tshark found an initial_rtt for {f.TcpState} flow {key}");
                    break;
            }
        }
        Assert.AreEqual(tshark.Count, Truth.Flows.Count(f => f.TcpState is "established" or "refused"));
        Assert.IsGreaterThanOrEqualTo(15, compared);
    }

    /// <summary>tshark -z rtp,streams (TestData/Synth/imagicle-site.tshark-rtp-streams.txt): packets and loss per SSRC.</summary>
    [TestMethod]
    public void Truth_RtpStreams_EqualTsharkRtpStreams()
    {
        var rows = ReadTsharkFile("imagicle-site.tshark-rtp-streams.txt")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(c => c.Length > 10 && c[6].StartsWith("0x", StringComparison.Ordinal))
            .ToDictionary(c => c[6].ToLowerInvariant(), c => (Src: $"{c[2]}:{c[3]}", Dst: $"{c[4]}:{c[5]}", Packets: int.Parse(c[8], CultureInfo.InvariantCulture), Lost: int.Parse(c[9], CultureInfo.InvariantCulture)));
        var truth = Truth.Calls.SelectMany(c => c.RtpStreams).ToList();
        Assert.HasCount(truth.Count, rows);
        foreach (var t in truth)
        {
            Assert.IsTrue(rows.TryGetValue(t.Ssrc, out var r), "tshark did not see " + t.Ssrc);
            Assert.AreEqual((t.Src, t.Dst, t.Packets, t.Lost), r, t.Ssrc);
        }
    }

    /// <summary>Data lines of a recorded tshark output; the file must name the committed capture's hash.</summary>
    private static List<string> ReadTsharkFile(string name)
    {
        var text = File.ReadAllLines(Path.Combine(TestPaths.TestData, "Synth", name));
        var hashLine = text.Single(l => l.StartsWith("# capture sha256: ", StringComparison.Ordinal));
        var hash = Convert.ToHexStringLower(SHA256.HashData(SiteBytes.Value));
        Assert.AreEqual(hashLine["# capture sha256: ".Length..], hash, $"{name} was recorded from another capture: re-run the command in its header");
        return text.Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
    }
}
