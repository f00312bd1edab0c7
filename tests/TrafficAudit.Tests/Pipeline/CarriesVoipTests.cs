using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// <see cref="FlowRecord.CarriesVoip"/>: the policy's join index keeps only the UDP flows it marks, so every RTP stream
/// and every SIP transaction over UDP must find the flow of its ends marked, at one thread and at two; DNS lookups are not.
/// </summary>
[TestClass]
public sealed class CarriesVoipTests
{
    private sealed class Sink : IAuditRecordSink
    {
        public readonly List<FlowRecord> Flows = [];
        public readonly List<RtpStreamRecord> Streams = [];
        public readonly List<SipTransactionStat> Transactions = [];
        public void OnFlow(FlowRecord flow) => Flows.Add(flow);
        public void OnStream(RtpStreamRecord stream) => Streams.Add(stream);
        public void OnCall(CallRecord call) { }
        public void OnTransaction(SipTransactionStat transaction) => Transactions.Add(transaction);
    }

    public static IEnumerable<object[]> Captures()
    {
        yield return [Path.Combine(TestPaths.Captures, "imagicle-site.pcap")];
        foreach (var f in new[] { "wireshark-wiki/SIP_CALL_RTP_G711", "wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", "heplify/sip_ipv4_tcp.pcap" })
            yield return [Path.Combine(TestPaths.PublicCaptures, f)];
    }

    private static Sink Audit(string path, bool parallel)
    {
        var sink = new Sink();
        using var engine = new AuditEngine(PortCatalogue.LoadEmbedded(), new AuditOptions { ParallelVoip = parallel }, sink);
        using var source = CaptureFile.Open(path, 0, engine.Anomalies);
        while (source.MoveNext()) engine.Process(source.Header, source.Data);
        engine.Complete(source.Interfaces, source.Errors);
        return sink;
    }

    private static bool Between(FlowRecord f, IpAddress a, ushort pa, IpAddress b, ushort pb) =>
        (f.ClientIp == a && f.ClientPort == pa && f.ServerIp == b && f.ServerPort == pb) || (f.ClientIp == b && f.ClientPort == pb && f.ServerIp == a && f.ServerPort == pa);

    [TestMethod]
    [DynamicData(nameof(Captures))]
    public void EveryStreamAndUdpTransaction_FindsTheFlowOfItsEndsMarked_DnsIsNot(string path)
    {
        if (!File.Exists(path)) Assert.Inconclusive($"capture not available: {path}");
        foreach (bool parallel in new[] { false, true })
        {
            var r = Audit(path, parallel);
            var udp = r.Flows.Where(f => f.Transport == IpProtocol.Udp).ToList();
            foreach (var s in r.Streams)
                Assert.IsTrue(udp.Any(f => f.CarriesVoip && Between(f, s.SrcIp, s.SrcPort, s.DstIp, s.DstPort)),
                    $"{Path.GetFileName(path)} (parallel {parallel}): stream {s.StreamId} {s.SrcIp}:{s.SrcPort} -> {s.DstIp}:{s.DstPort} has no marked flow");
            foreach (var t in r.Transactions.Where(t => t.Transport == SipTransport.Udp))
                Assert.IsTrue(udp.Any(f => f.CarriesVoip && Between(f, t.RequesterIp, t.RequesterPort, t.ResponderIp, t.ResponderPort)),
                    $"{Path.GetFileName(path)} (parallel {parallel}): {t.Method} {t.CallId} has no marked flow");
            Assert.IsFalse(udp.Any(f => f.CarriesVoip && (f.ServerPort == 53 || f.ClientPort == 53)), "a DNS lookup is no VoIP flow");
            if (path.EndsWith("imagicle-site.pcap"))
            {
                Assert.IsNotEmpty(r.Streams);
                Assert.IsTrue(udp.Any(f => !f.CarriesVoip), "the site has UDP flows that carry no VoIP");
            }
        }
    }
}
