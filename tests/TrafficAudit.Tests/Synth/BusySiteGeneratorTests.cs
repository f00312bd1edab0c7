using System.Globalization;
using System.Text;
using PacketDotNet;
using TrafficAudit.Synth;
using TrafficAudit.Synth.Bench;
using TrafficAudit.Tests.EndToEnd;
using static TrafficAudit.Synth.Bench.BusySiteGenerator;

namespace TrafficAudit.Tests.Synth;

/// <summary>
/// The busy-site generator of tools/bench-busy.sh (issue 9): one simulated minute holds what its
/// parameters say, counted from the packets by an independent decoder (PacketDotNet), and the
/// audit of it finds those connections, lookups, pings and calls.
/// </summary>
[TestClass]
public sealed class BusySiteGeneratorTests
{
    private static byte[] Generate(int minutes, int seed, out BusySummary summary)
    {
        using var ms = new MemoryStream();
        summary = BusySiteGenerator.Generate(ms, new BusyOptions(minutes, seed));
        return ms.ToArray();
    }

    private static readonly long Start = TrafficAudit.Synth.Building.CaptureBuilder.DefaultStart.ToUnixTimeMilliseconds() * 1000;

    [TestMethod]
    public void OneMinute_PacketsPerKindMatchTheParameters()
    {
        var records = PcapRecords.ReadAll(Generate(1, 1, out var summary));
        Assert.AreEqual(summary.Packets, records.Count);
        Assert.AreEqual(records.Sum(r => (long)r.Frame.Length), summary.Bytes);

        var syns = new Dictionary<string, int>();
        var synAcks = new HashSet<string>();
        var resets = new HashSet<string>();
        var fins = new Dictionary<string, int>();
        var dnsQueries = new HashSet<string>();
        int dnsAnswers = 0, options = 0, optionsOk = 0, rtp = 0;
        var optionSources = new HashSet<string>();
        var sip = new Dictionary<string, int>();
        var rtpPerSsrc = new Dictionary<uint, int>();
        foreach (var r in records)
        {
            Assert.IsGreaterThanOrEqualTo(Start, r.UnixMicros);
            var p = PacketView.Decode(r.Frame);
            // Lengths agree: the IP total length is what follows the Ethernet header (and 802.1Q tag).
            Assert.AreEqual(r.Frame.Length - (p.Vlan == 0 ? 14 : 18), p.IpLength);
            if (p.Transport == "tcp")
            {
                var tcp = Packet.ParsePacket(LinkLayers.Ethernet, r.Frame).Extract<TcpPacket>();
                if (p.Syn && !p.Ack) syns[p.FlowKey] = syns.GetValueOrDefault(p.FlowKey) + 1;
                if (p.Syn && p.Ack) synAcks.Add(p.FlowKey);
                if (p.Rst) resets.Add(p.FlowKey);
                if (tcp.Finished) fins[p.FlowKey] = fins.GetValueOrDefault(p.FlowKey) + 1;
                continue;
            }
            Assert.AreEqual("udp", p.Transport);
            if (p.DstPort == 53)
            {
                Assert.IsTrue(dnsQueries.Add(p.FlowKey), "each lookup from a new source port");
                continue;
            }
            if (p.SrcPort == 53)
            {
                Assert.AreEqual(1, p.Payload[7], "one answer record");
                dnsAnswers++;
                continue;
            }
            if (p.SrcPort is 5060 or 5062 or 5064 || p.DstPort is 5060 or 5062 or 5064)
            {
                var text = Encoding.ASCII.GetString(p.Payload);
                var first = text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
                var cseq = text.Split("\r\n").Single(l => l.StartsWith("CSeq: ", StringComparison.Ordinal));
                if (first.StartsWith("OPTIONS ", StringComparison.Ordinal))
                {
                    options++;
                    Assert.AreEqual(5060, p.DstPort);
                    Assert.IsTrue(optionSources.Add($"{p.Src}:{p.SrcPort}"), "OPTIONS from a new source port each time");
                }
                else if (cseq.EndsWith(" OPTIONS", StringComparison.Ordinal)) { optionsOk++; StringAssert.StartsWith(first, "SIP/2.0 200 OK"); }
                else
                {
                    var key = (first.StartsWith("SIP/2.0 ", StringComparison.Ordinal) ? first[8..11] + " " : "") + cseq.Split(' ')[^1];
                    sip[key] = sip.GetValueOrDefault(key) + 1;
                    // Content-Length is the body's length.
                    int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
                    var length = text.Split("\r\n").Single(l => l.StartsWith("Content-Length: ", StringComparison.Ordinal));
                    Assert.AreEqual(text.Length - body, int.Parse(length[16..], CultureInfo.InvariantCulture));
                }
                continue;
            }
            Assert.IsTrue(p.TryRtp(out var ssrc, out _, out _, out var pt), $"unexpected UDP packet {p.Src}:{p.SrcPort} -> {p.Dst}:{p.DstPort}");
            Assert.IsTrue(pt is 0 or 8);
            Assert.AreEqual(214 + 4, r.Frame.Length, "G.711 20 ms RTP on Ethernet, voice VLAN tag");
            rtpPerSsrc[ssrc] = rtpPerSsrc.GetValueOrDefault(ssrc) + 1;
            rtp++;
        }

        // TCP: every connection starts with a SYN; the unanswered ones are sent three times.
        Assert.HasCount(TcpPerMinute, syns);
        Assert.AreEqual(UnansweredPerMinute, syns.Values.Count(n => n == 3));
        Assert.AreEqual(TcpPerMinute - UnansweredPerMinute, syns.Values.Count(n => n == 1));
        Assert.HasCount(TcpPerMinute - UnansweredPerMinute - RefusedPerMinute, synAcks);
        Assert.HasCount(RefusedPerMinute, resets);
        Assert.IsTrue(synAcks.All(k => fins.GetValueOrDefault(k) == 2), "FIN both ways on every answered connection");
        Assert.AreEqual(TcpPerMinute - UnansweredPerMinute - RefusedPerMinute, summary.TcpEstablished);
        Assert.AreEqual(UnansweredPerMinute, summary.TcpUnanswered);
        Assert.AreEqual(RefusedPerMinute, summary.TcpRefused);

        Assert.HasCount(DnsPerMinute, dnsQueries);
        Assert.AreEqual(DnsPerMinute, dnsAnswers);
        Assert.AreEqual(OptionsPerMinute, options);
        Assert.AreEqual(OptionsPerMinute, optionsOk);

        // Calls: INVITE, 100, 180, 200, ACK, BYE, 200 each; one presence SUBSCRIBE and its 200.
        Assert.AreEqual(CallsPerMinute, sip["INVITE"]);
        Assert.AreEqual(CallsPerMinute, sip["100 INVITE"]);
        Assert.AreEqual(CallsPerMinute, sip["180 INVITE"]);
        Assert.AreEqual(CallsPerMinute, sip["200 INVITE"]);
        Assert.AreEqual(CallsPerMinute, sip["ACK"]);
        Assert.AreEqual(CallsPerMinute, sip["BYE"]);
        Assert.AreEqual(CallsPerMinute, sip["200 BYE"]);
        Assert.AreEqual(1, sip["SUBSCRIBE"]);
        Assert.AreEqual(CallsPerMinute * SipMessagesPerCall + 2 + 2 * OptionsPerMinute, summary.SipPackets);

        // Media: two streams per call, 2-6 s at 50 packets/s each.
        Assert.HasCount(2 * CallsPerMinute, rtpPerSsrc);
        Assert.IsTrue(rtpPerSsrc.Values.All(n => n >= CallSecondsMin * 50 && n <= CallSecondsMax * 50));
        Assert.AreEqual(summary.RtpPackets, rtp);
        Assert.AreEqual(records.Count, syns.Values.Sum() + synAcks.Count + resets.Count + rtp + 2 * DnsPerMinute
            + summary.SipPackets + records.Count(r => IsTcpWithoutSyn(r.Frame)));
    }

    private static bool IsTcpWithoutSyn(byte[] frame)
    {
        var p = PacketView.Decode(frame);
        return p.Transport == "tcp" && !p.Syn && !p.Rst;
    }

    [TestMethod]
    public void SameSeed_IsByteIdentical_AndALongerCaptureBeginsWithTheShorter()
    {
        var one = Generate(1, 5, out _);
        CollectionAssert.AreEqual(one, Generate(1, 5, out _));
        CollectionAssert.AreNotEqual(one, Generate(1, 6, out _));
        // Minute 0's frames up to the start of minute 1 are the same in both; only calls that run past it differ in what follows.
        var a = PcapRecords.ReadAll(one).Where(r => r.UnixMicros < Start + MinuteUs).ToList();
        var b = PcapRecords.ReadAll(Generate(2, 5, out var two)).Take(a.Count).ToList();
        Assert.IsGreaterThan(15_000, a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.AreEqual(a[i].UnixMicros, b[i].UnixMicros, $"record {i}");
            CollectionAssert.AreEqual(a[i].Frame, b[i].Frame, $"record {i}");
        }
        Assert.AreEqual(2 * CallsPerMinute, two.Calls);
        Assert.IsGreaterThan(MinuteUs / 1e6, two.CaptureSeconds);
    }

    [TestMethod]
    public void Cli_OneMinute_AuditFindsEveryConnectionCallAndPing()
    {
        var dir = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var pcap = Path.Combine(dir, "busy.pcap");
            Directory.CreateDirectory(dir);
            var stdout = new StringWriter();
            Assert.AreEqual(SynthCli.ExitOk, SynthCli.Run(["busy", "--out", pcap, "--minutes", "1", "--seed", "3"], stdout, TextWriter.Null));
            StringAssert.Contains(stdout.ToString(), "30 calls");
            using (var fs = new MemoryStream())
            {
                var summary = BusySiteGenerator.Generate(fs, new BusyOptions(1, 3));
                CollectionAssert.AreEqual(fs.ToArray(), File.ReadAllBytes(pcap));

                var r = CliRunner.Audit([pcap, "--profile", Path.Combine(dir, "busy.profile.json"), "--quiet", "--fail-on", "never", "--out", Path.Combine(dir, "out")]);
                Assert.AreEqual(0, r.ExitCode, r.Stderr);
                var flows = Csv.Read(r.File("flows.csv"));
                Assert.HasCount((int)summary.Flows, flows);
                Assert.AreEqual(summary.TcpEstablished, flows.Count(f => f["tcp_state"] == "established"));
                Assert.AreEqual(UnansweredPerMinute, flows.Count(f => f["tcp_state"] == "unanswered" && f["syn_retries"] == "2"));
                Assert.AreEqual(RefusedPerMinute, flows.Count(f => f["tcp_state"] == "refused"));
                Assert.AreEqual(DnsPerMinute, flows.Count(f => f["service"] == "dns"));
                Assert.AreEqual(CallsPerMinute, flows.Count(f => f["service"] == "rtp"));
                Assert.AreEqual(summary.Packets, flows.Sum(f => long.Parse(f["packets_c2s"], CultureInfo.InvariantCulture) + long.Parse(f["packets_s2c"], CultureInfo.InvariantCulture)));

                var calls = Csv.Read(r.File("calls.csv"));
                Assert.HasCount(CallsPerMinute, calls);
                Assert.IsTrue(calls.All(c => c["final_status"] == "200" && c["streams"] == "2"), "every call answered with media both ways");
                Assert.HasCount(2 * CallsPerMinute, Csv.Read(r.File("rtp_streams.csv")));
                Assert.AreEqual(OptionsPerMinute, Csv.Read(r.File("sip_options.csv")).Sum(o => int.Parse(o["answered"], CultureInfo.InvariantCulture)));

                // Made for its profile: every required row passes but the planted mail-to-fax one (blocked and refused).
                var failing = Csv.Read(r.File("expected_flows.csv")).Where(e => e["status"].StartsWith("FAIL", StringComparison.Ordinal) || e["status"] == "NOT SEEN (required)").ToList();
                Assert.HasCount(1, failing);
                Assert.AreEqual("FAIL (blocked, refused)", failing[0]["status"]);
            }
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void BadMinutes_AreRefused()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BusySiteGenerator.Generate(Stream.Null, new BusyOptions(0)));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BusySiteGenerator.Generate(Stream.Null, new BusyOptions(BusyOptions.MaxMinutes + 1)));
        Assert.AreEqual(SynthCli.ExitUsage, SynthCli.Run(["busy", "--out", "x.pcap", "--minutes", "0"], TextWriter.Null, TextWriter.Null));
        Assert.AreEqual(SynthCli.ExitUsage, SynthCli.Run(["busy", "--minutes", "1"], TextWriter.Null, TextWriter.Null));
    }
}
