using System.Text;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Model;
using TrafficAudit.Synth.Protocols;
using TrafficAudit.Synth.Wire;
using static TrafficAudit.Synth.Protocols.Payloads;

namespace TrafficAudit.Synth.Scenarios;

/// <summary>
/// The flows an Imagicle site produces, one method each, played at a given time into a
/// <see cref="CaptureBuilder"/>. Scenarios are lists of calls to these methods.
/// Capture point: the access switch of the Imagicle nodes (SPAN of their ports and of the
/// uplink trunk), so a node's own reaction times are tens of µs and the network RTT of a peer
/// shows up on the peer's side of each handshake.
/// </summary>
public sealed class SiteFlows
{
    public const string CapturePoint = "SPAN on the Imagicle nodes' access switch (node ports and uplink trunk)";
    public const string LicensingName = "api.imagicle.com";

    private readonly CaptureBuilder _b;
    private readonly SiteTopology _n;
    private Flow? _trunk5062;
    private Flow? _dnsFlow;
    private ushort _nextNodeRtpPort = 5000;

    public SiteFlows(CaptureBuilder builder)
    {
        _b = builder;
        _n = new SiteTopology(builder);
    }

    public SiteTopology Net => _n;

    /// <summary>Records a finding this capture plants (see <see cref="Model.GroundTruth.ExpectedFindings"/>).</summary>
    public void Expect(string kind, Host? server, int? port, string note) => _b.ExpectFinding(kind, server, port, note);
    private Random Rng => _b.Rng;

    /// <summary>Seconds to µs.</summary>
    public static long S(double seconds) => (long)Math.Round(seconds * 1_000_000);

    // ---------------------------------------------------------------- helpers

    private Flow NewFlow(byte proto, Host client, ushort cport, Host server, ushort sport, string service, string note = "")
        => _b.NewFlow(proto, client, cport, server, sport, service, note, _n.VlanFor(client, server));

    private TcpSession Tcp(Host client, Host server, ushort serverPort, string service, long serverDelayUs, long clientDelayUs,
        string note = "", ushort clientPort = 0)
    {
        var f = NewFlow(Frames.ProtocolTcp, client, clientPort == 0 ? _b.EphemeralPort() : clientPort, server, serverPort, service, note);
        return new TcpSession(_b, f, serverDelayUs, clientDelayUs);
    }

    /// <summary>A jittered LAN delay in µs around <paramref name="baseUs"/> (±10 %), so each flow has its own figure.</summary>
    private long Around(long baseUs) => baseUs + Rng.Next(-(int)(baseUs / 10), (int)(baseUs / 10) + 1);

    private ushort NodeRtpPort()
    {
        var p = _nextNodeRtpPort;
        _nextNodeRtpPort += 2;
        return p;
    }

    private ushort PhoneRtpPort() => (ushort)(16384 + 2 * Rng.Next(0, (32766 - 16384) / 2));

    private byte[] Binary(int min, int max) => RandomBytes(Rng, Rng.Next(min, max + 1));

    // ---------------------------------------------------------------- SIP trunk (Advanced Queuing)

    /// <summary>The CUCM &lt;-&gt; node SIP trunk on UDP 5062 (one 5-tuple for all its dialogs); CUCM speaks first.</summary>
    private Flow Trunk5062 => _trunk5062 ??= NewFlow(Frames.ProtocolUdp, _n.Cucm, 5062, _n.Node1, 5062, "sip",
        "CUCM SIP trunk to Advanced Queuing: OPTIONS keepalives and the AQ calls");

    /// <summary>OPTIONS keepalive in either direction on the 5062 trunk.</summary>
    public void Options5062(long t, bool fromCucm) => SipDialog.OptionsPing(_b, Trunk5062, fromCucm, t, Around(900));

    /// <summary>OPTIONS keepalive answered after exactly <paramref name="answerAfterUs"/>.</summary>
    public void Options5062WithDelay(long t, bool fromCucm, long answerAfterUs) => SipDialog.OptionsPing(_b, Trunk5062, fromCucm, t, answerAfterUs);

    /// <summary>
    /// An Advanced Queuing call: CUCM INVITEs the node on 5062, the caller's phone sends G.711 to
    /// the node and back for <paramref name="seconds"/>. Loss and jitter are on the phone-to-node stream.
    /// </summary>
    public CallTruth AqCall(long t0, Host phone, byte payloadType, double seconds, int[]? lose = null, int jitterUs = 0,
        bool rtcp = false, string note = "", bool phoneSilent = false, int rtcpRoundTripMs = 0,
        IReadOnlyList<long>? phoneDelaysUs = null, bool rtcpMux = false)
    {
        var call = _b.AddCall(new CallTruth { SipPort = 5062, Codec = payloadType == 0 ? "PCMU" : "PCMA", Note = note });
        var d = new SipDialog(_b, Trunk5062, callerIsClient: true, "+390212345" + Rng.Next(100, 999), "7000", call);
        ushort phonePort = PhoneRtpPort(), nodePort = NodeRtpPort();
        long t = t0;
        d.Request(t, true, "INVITE", SipDialog.AudioSdp(_n.Cucm, Rng.Next(1000, 99999), phone, phonePort, payloadType, rtcpMux: rtcpMux));
        d.Response(t += Around(1200), false, 100, "Trying", "INVITE");
        d.Response(t += Around(35_000), false, 180, "Ringing", "INVITE");
        long ok = t += S(1.2);
        d.Response(ok, false, 200, "OK", "INVITE", SipDialog.AudioSdp(_n.Node1, Rng.Next(1000, 99999), _n.Node1, nodePort, payloadType, rtcpMux: rtcpMux));
        long ack = ok + Around(1100);
        d.Request(ack, true, "ACK");

        int packets = (int)(seconds * 50);
        var rtp = NewFlow(Frames.ProtocolUdp, _n.Node1, nodePort, phone, phonePort, "rtp", $"AQ call media, {call.Codec}");
        var fromNode = new RtpSender(_b, rtp, fromClient: true, payloadType);
        var fromPhone = new RtpSender(_b, rtp, fromClient: false, payloadType);
        long nodeStart = ok + S(0.02), phoneStart = ack + S(0.031);
        fromNode.Send(nodeStart, packets);
        if (!phoneSilent) fromPhone.Send(phoneStart, packets, lose is null ? null : new HashSet<int>(lose), jitterUs, phoneDelaysUs);
        if (phoneDelaysUs is not null)
        {
            // The playout rule with the least delay (0) as reference: late when the added delay exceeds the depth.
            fromPhone.Truth.LateFixed50Ms = phoneDelaysUs.Take(packets).Count(d => d > 50_000);
            fromPhone.Truth.LateFixed200Ms = phoneDelaysUs.Take(packets).Count(d => d > 200_000);
            rtp.Note += "; phone->node delay stalls";
        }
        call.RtpStreams.Add(fromNode.Truth);
        if (!phoneSilent) call.RtpStreams.Add(fromPhone.Truth);
        else rtp.Note += "; the phone's RTP never reaches the node (one-way audio although the SDP says sendrecv)";
        if (jitterUs > 0) rtp.Note += $"; phone->node packets delayed 0..{jitterUs / 1000.0} ms at random";
        if (lose is not null) rtp.Note += $"; {lose.Length} phone->node packets never sent (seq gaps)";

        if (rtcp)
        {
            var rtcpFlow = rtcpMux ? rtp : NewFlow(Frames.ProtocolUdp, _n.Node1, (ushort)(nodePort + 1), phone, (ushort)(phonePort + 1), "rtcp", "RTCP of the AQ call on rtp+1");
            if (rtcpMux)
            {
                rtp.Note += "; RTCP multiplexed on the RTP ports (a=rtcp-mux, RFC 5761)";
                call.RtcpMuxPackets = 0;
            }
            void Emit(bool fromClient, long at, byte[] payload)
            {
                _b.EmitUdp(rtcpFlow, fromClient, at, payload);
                if (rtcpMux) call.RtcpMuxPackets++;
            }
            // Every 5 s each side sends SR+SDES (both are senders); at the end the node sends RR+BYE.
            for (double s = 5; s < seconds; s += 5)
            {
                long tn = nodeStart + S(s) + 3_000, tp = phoneStart + S(s) + 7_000;
                Emit(true, tn, fromNode.SenderReport(_b.StartUnixMicros + tn, fromPhone, "imagicle@10.0.0.10"));
                if (rtcpRoundTripMs > 0)
                {
                    // The phone answers the node's SR 20 ms after receiving it, and the path from the
                    // capture point to the phone and back takes rtcpRoundTripMs: the phone's report
                    // reaches the capture point rtcpRoundTripMs + 20 ms after the node's SR passed.
                    const long held = 20_000;
                    tp = tn + rtcpRoundTripMs * 1000L + held;
                    Emit(false, tp, fromPhone.SenderReport(_b.StartUnixMicros + tp, fromNode, $"SEP0011223344{phone.Address[^2..]}@{phone}",
                        fromNode.LastSrNtpMiddle, (uint)(held * 65536 / 1_000_000)));
                }
                else Emit(false, tp, fromPhone.SenderReport(_b.StartUnixMicros + tp, fromNode, $"SEP0011223344{phone.Address[^2..]}@{phone}"));
            }
            Emit(true, nodeStart + packets * RtpSender.PacketIntervalUs + 5_000, fromNode.ReceiverReportBye(fromPhone));
        }

        long bye = phoneStart + packets * RtpSender.PacketIntervalUs + S(0.1);
        d.Request(bye, true, "BYE");
        d.Response(bye + Around(1500), false, 200, "OK", "BYE");
        return call;
    }

    /// <summary>A host outside the site plan (a public SIP provider, say).</summary>
    public Host ExtraHost(string ip, string role) => _b.AddHost(new Host(ip, role));

    /// <summary>
    /// A plain SIP call between two hosts of any kind (no Imagicle node needed): <paramref name="caller"/>
    /// INVITEs <paramref name="callee"/> on <paramref name="calleeSipPort"/>, whose answer puts the media on
    /// <paramref name="calleeMedia"/> (the callee itself, or a media server beside it). Loss and jitter are on
    /// the callee-media-to-caller stream. The BYE comes from the caller, or from the callee, answered after
    /// <paramref name="byeAnswerUs"/>.
    /// </summary>
    public CallTruth PeerCall(long t0, Host caller, ushort callerSipPort, Host callee, ushort calleeSipPort, Host calleeMedia, byte payloadType,
        double seconds, int[]? lose = null, int jitterUs = 0, string note = "", bool calleeHangsUp = false, long byeAnswerUs = 1500)
    {
        var call = _b.AddCall(new CallTruth { SipPort = calleeSipPort, Codec = payloadType == 0 ? "PCMU" : "PCMA", Note = note });
        var sip = NewFlow(Frames.ProtocolUdp, caller, callerSipPort, callee, calleeSipPort, "sip", $"SIP call {caller} -> {callee}:{calleeSipPort}");
        var d = new SipDialog(_b, sip, callerIsClient: true, "+390299" + Rng.Next(10000, 99999), "+3906" + Rng.Next(100000, 999999), call);
        ushort callerPort = PhoneRtpPort(), calleePort = (ushort)(PhoneRtpPort() + 2);
        long t = t0;
        d.Request(t, true, "INVITE", SipDialog.AudioSdp(caller, Rng.Next(1000, 99999), caller, callerPort, payloadType));
        d.Response(t += Around(1200), false, 100, "Trying", "INVITE");
        d.Response(t += Around(40_000), false, 180, "Ringing", "INVITE");
        long ok = t += S(1.5);
        d.Response(ok, false, 200, "OK", "INVITE", SipDialog.AudioSdp(callee, Rng.Next(1000, 99999), calleeMedia, calleePort, payloadType));
        long ack = ok + Around(1100);
        d.Request(ack, true, "ACK");

        int packets = (int)(seconds * 50);
        var rtp = NewFlow(Frames.ProtocolUdp, caller, callerPort, calleeMedia, calleePort, "rtp", $"call media, {call.Codec}");
        var fromCaller = new RtpSender(_b, rtp, fromClient: true, payloadType);
        var fromCallee = new RtpSender(_b, rtp, fromClient: false, payloadType);
        long callerStart = ack + S(0.02), calleeStart = ack + S(0.031);
        fromCaller.Send(callerStart, packets);
        fromCallee.Send(calleeStart, packets, lose is null ? null : new HashSet<int>(lose), jitterUs);
        call.RtpStreams.Add(fromCaller.Truth);
        call.RtpStreams.Add(fromCallee.Truth);
        if (jitterUs > 0) rtp.Note += $"; callee->caller packets delayed 0..{jitterUs / 1000.0} ms at random";
        if (lose is not null) rtp.Note += $"; {lose.Length} callee->caller packets never sent (seq gaps)";

        long bye = calleeStart + packets * RtpSender.PacketIntervalUs + S(0.2);
        d.Request(bye, !calleeHangsUp, "BYE");
        d.Response(bye + byeAnswerUs, calleeHangsUp, 200, "OK", "BYE");
        return call;
    }

    // ---------------------------------------------------------------- Digital Fax (5060, re-INVITE to T.38)

    public CallTruth FaxCall(long t0, double audioSeconds, int t38Packets)
    {
        var call = _b.AddCall(new CallTruth { SipPort = 5060, Codec = "PCMA+T.38", Note = "Digital Fax: G.711 A-law, then the node re-INVITEs to T.38 (UDPTL on new ports)" });
        var sip = NewFlow(Frames.ProtocolUdp, _n.CucmSub, 5060, _n.Node1, 5060, "sip", "SIP to Digital Fax (Stonefax) with a T.38 re-INVITE");
        var d = new SipDialog(_b, sip, callerIsClient: true, "+390298765432", "fax", call);
        ushort gwPort = PhoneRtpPort(), nodePort = NodeRtpPort();
        long t = t0;
        d.Request(t, true, "INVITE", SipDialog.AudioSdp(_n.CucmSub, 4411, _n.Gateway, gwPort, RtpSender.PayloadPcma));
        d.Response(t += Around(900), false, 100, "Trying", "INVITE");
        long ok = t += S(0.3);
        long nodeSession = Rng.Next(1000, 99999);
        d.Response(ok, false, 200, "OK", "INVITE", SipDialog.AudioSdp(_n.Node1, nodeSession, _n.Node1, nodePort, RtpSender.PayloadPcma));
        long ack = ok + Around(1000);
        d.Request(ack, true, "ACK");

        int packets = (int)(audioSeconds * 50);
        var rtp = NewFlow(Frames.ProtocolUdp, _n.Node1, nodePort, _n.Gateway, gwPort, "rtp", "fax call audio before the switch to T.38");
        var fromNode = new RtpSender(_b, rtp, true, RtpSender.PayloadPcma);
        var fromGw = new RtpSender(_b, rtp, false, RtpSender.PayloadPcma);
        fromNode.Send(ok + S(0.02), packets);
        fromGw.Send(ack + S(0.025), packets);
        call.RtpStreams.Add(fromNode.Truth);
        call.RtpStreams.Add(fromGw.Truth);

        // The node detects the fax tones and re-INVITEs to T.38 on new ports.
        ushort nodeT38 = NodeRtpPort(), gwT38 = (ushort)(gwPort + 2);
        long re = ack + S(0.025) + packets * RtpSender.PacketIntervalUs + S(0.01);
        d.Request(re, false, "INVITE", SipDialog.T38Sdp(_n.Node1, nodeSession, 2, _n.Node1, nodeT38));
        d.Response(re += Around(1000), true, 100, "Trying", "INVITE");
        d.Response(re += S(0.12), true, 200, "OK", "INVITE", SipDialog.T38Sdp(_n.CucmSub, 4411, 2, _n.Gateway, gwT38));
        d.Request(re += Around(900), false, "ACK");

        var t38 = NewFlow(Frames.ProtocolUdp, _n.Node1, nodeT38, _n.Gateway, gwT38, "t38", "T.38 UDPTL fax relay after the re-INVITE");
        ushort nodeSeq = 0, gwSeq = 0;
        long tt = re + S(0.05);
        for (int i = 0; i < t38Packets; i++)
        {
            bool fromNodeSide = i % 2 == 0;
            byte[] ifp = i < 4 ? T38Indicator((byte)(i < 2 ? 2 : 8)) : T38V21Data(RandomBytes(Rng, 6 + i % 5));
            _b.EmitUdp(t38, fromNodeSide, tt, Udptl(fromNodeSide ? nodeSeq++ : gwSeq++, ifp));
            tt += S(0.2) + Rng.Next(0, 40_000);
        }

        long bye = tt + S(0.5);
        d.Request(bye, true, "BYE");
        d.Response(bye + Around(1300), false, 200, "OK", "BYE");
        return call;
    }

    // ---------------------------------------------------------------- Call Recording (5070)

    public CallTruth RecordingCall(long t0, Host phone, double seconds)
    {
        var call = _b.AddCall(new CallTruth { SipPort = 5070, Codec = "PCMU", Note = "Call Recording: CUCM forks the phone's voice to the node (one-way, sendonly)" });
        var sip = NewFlow(Frames.ProtocolUdp, _n.Cucm, 5070, _n.Node1, 5070, "sip", "SIP to Call Recording");
        var d = new SipDialog(_b, sip, callerIsClient: true, "BIB-" + Rng.Next(1000, 9999), "rec", call);
        ushort phonePort = PhoneRtpPort(), nodePort = NodeRtpPort();
        long t = t0;
        d.Request(t, true, "INVITE", SipDialog.AudioSdp(_n.Cucm, Rng.Next(1000, 99999), phone, phonePort, RtpSender.PayloadPcmu, "sendonly"));
        d.Response(t += Around(1000), false, 100, "Trying", "INVITE");
        long ok = t += S(0.05);
        d.Response(ok, false, 200, "OK", "INVITE", SipDialog.AudioSdp(_n.Node1, Rng.Next(1000, 99999), _n.Node1, nodePort, RtpSender.PayloadPcmu, "recvonly"));
        long ack = ok + Around(1000);
        d.Request(ack, true, "ACK");
        var rtp = NewFlow(Frames.ProtocolUdp, phone, phonePort, _n.Node1, nodePort, "rtp", "recorded phone voice, one direction only");
        var fromPhone = new RtpSender(_b, rtp, true, RtpSender.PayloadPcmu);
        int packets = (int)(seconds * 50);
        fromPhone.Send(ack + S(0.02), packets);
        call.RtpStreams.Add(fromPhone.Truth);
        long bye = ack + S(0.02) + packets * RtpSender.PacketIntervalUs + S(0.2);
        d.Request(bye, true, "BYE");
        d.Response(bye + Around(1200), false, 200, "OK", "BYE");
        return call;
    }

    /// <summary>SIP presence on UDP 5064 sent to a CUCM that does not listen: each try answered by ICMP port unreachable.</summary>
    public void PresenceUnreachable(long t0, int tries)
    {
        var udp = NewFlow(Frames.ProtocolUdp, _n.Node1, 5064, _n.Cucm, 5064, "sip", "SIP presence to CUCM: every datagram answered by ICMP port unreachable");
        var icmp = NewFlow(Frames.ProtocolIcmp, _n.Cucm, 0, _n.Node1, 0, "icmp", "ICMP destination unreachable (port) for node:5064 -> CUCM:5064");
        long t = t0;
        var callId = SipDialog.Hex(Rng, 8) + "@10.0.0.10";
        var tag = SipDialog.Hex(Rng, 4);
        var branch = SipDialog.Hex(Rng, 6);
        var text = Ascii($"SUBSCRIBE sip:7000@10.0.1.5:5064 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.10:5064;branch=z9hG4bK{branch}\r\n"
            + $"From: <sip:aq@10.0.0.10>;tag={tag}\r\nTo: <sip:7000@10.0.1.5>\r\nCall-ID: {callId}\r\nCSeq: 1 SUBSCRIBE\r\n"
            + "Max-Forwards: 70\r\nEvent: presence\r\nExpires: 3600\r\nContact: <sip:aq@10.0.0.10:5064>\r\nContent-Length: 0\r\n\r\n");
        for (int i = 0; i < tries; i++)
        {
            var quote = _b.QuoteUdpDatagram(udp, true, text, udp.PeekIpId(true));
            _b.EmitUdp(udp, true, t, text);
            _b.EmitIcmp(icmp, true, t + Around(400), 3, 3, quote);
            t += S(0.5) << i; // SIP timer A: 500 ms, doubling
        }
        Expect("refused_flow", _n.Cucm, 5064, "SIP presence refused by ICMP port unreachable");
    }

    /// <summary>SIP presence on UDP 5064: the node SUBSCRIBEs, CUCM answers 200 OK after <paramref name="answerAfterUs"/>.</summary>
    public void PresenceSubscribe(long t0, long answerAfterUs)
    {
        var udp = NewFlow(Frames.ProtocolUdp, _n.Node1, 5064, _n.Cucm, 5064, "sip", "SIP presence subscription from the node, answered 200 OK");
        var callId = SipDialog.Hex(Rng, 8) + "@10.0.0.10";
        var tag = SipDialog.Hex(Rng, 4);
        var via = $"SIP/2.0/UDP 10.0.0.10:5064;branch=z9hG4bK{SipDialog.Hex(Rng, 6)}";
        _b.EmitUdp(udp, true, t0, Ascii($"SUBSCRIBE sip:7000@10.0.1.5:5064 SIP/2.0\r\nVia: {via}\r\n"
            + $"From: <sip:aq@10.0.0.10>;tag={tag}\r\nTo: <sip:7000@10.0.1.5>\r\nCall-ID: {callId}\r\nCSeq: 1 SUBSCRIBE\r\n"
            + "Max-Forwards: 70\r\nEvent: presence\r\nExpires: 3600\r\nContact: <sip:aq@10.0.0.10:5064>\r\nContent-Length: 0\r\n\r\n"));
        _b.EmitUdp(udp, false, t0 + answerAfterUs, Ascii($"SIP/2.0 200 OK\r\nVia: {via}\r\n"
            + $"From: <sip:aq@10.0.0.10>;tag={tag}\r\nTo: <sip:7000@10.0.1.5>;tag={SipDialog.Hex(Rng, 4)}\r\nCall-ID: {callId}\r\nCSeq: 1 SUBSCRIBE\r\n"
            + "Expires: 3600\r\nServer: Cisco-CUCM14.0\r\nContent-Length: 0\r\n\r\n"));
    }

    // ---------------------------------------------------------------- CUCM interfaces

    /// <summary>TAPI (Cisco CTI/QBE) from the node to CUCM on 2748: login, then periodic events until <paramref name="end"/>.</summary>
    public void Tapi(long t0, long end)
    {
        var s = Tcp(_n.Node1, _n.Cucm, 2748, "tapi", Around(600), Around(50), "TAPI/CTI provider session");
        s.Connect(t0).Wait(S(0.002)).Request(Binary(60, 90), Binary(120, 400));
        while (s.T + S(12) < end)
        {
            s.Wait(S(8) + Rng.Next(0, 4_000_000)).ServerPush(Binary(80, 300));
            s.Wait(S(0.01)).Request(Binary(40, 60), Binary(40, 60));
        }
        s.Wait(S(1)).Close();
    }

    /// <summary>An older TAPI connection already open when the capture started: its first frame is CUCM's data.</summary>
    public void TapiMidstream(long t0, long end)
    {
        var s = Tcp(_n.Node1, _n.Cucm, 2748, "tapi", Around(600), Around(50),
            "capture starts mid-connection: no handshake, first frame is CUCM's data; client is the node's ephemeral side");
        s.Midstream(t0).ServerPush(Binary(100, 200));
        while (s.T + S(15) < end)
            s.Wait(S(10) + Rng.Next(0, 3_000_000)).Request(Binary(40, 60), Binary(60, 240));
        s.Wait(S(0.5)).Close(clientFirst: false);
    }

    /// <summary>AXL over HTTPS (8443) to the CUCM publisher across a slow WAN: RTT over the vendor's 150 ms.</summary>
    public void Axl(long t0, bool slow = true)
    {
        var s = slow
            ? Tcp(_n.Node1, _n.Cucm, 8443, "axl", S(0.161) + Rng.Next(0, 900), Around(60),
                "AXL SOAP over TLS; CUCM publisher reached over a WAN: handshake RTT above the 150 ms AXL limit")
            : Tcp(_n.Node1, _n.Cucm, 8443, "axl", Around(700), Around(60), "AXL SOAP over TLS to the CUCM publisher on the LAN");
        if (slow) Expect("over_latency", _n.Cucm, 8443, "AXL handshake round trip about 162 ms, above 150 ms");
        s.Connect(t0).Wait(S(0.001))
            .Request(TlsClientHello(Rng, "cucm-pub.corp.local"), TlsServerFlight(Rng, 2600), 800)
            .Wait(S(0.004)).Request(Concat(TlsChangeCipherSpec(), TlsAppData(Rng, 53)), null)
            .Wait(S(0.001)).Request(TlsAppData(Rng, 640), TlsAppData(Rng, 5300), 35_000)
            .Wait(S(0.5)).Request(TlsAppData(Rng, 700), TlsAppData(Rng, 2100), 20_000)
            .Wait(S(2)).Close();
    }

    // ---------------------------------------------------------------- directory and mail

    public void Ldap(long t0, bool captureGap = false)
    {
        var s = Tcp(_n.Node1, _n.Ldap, 389, "ldap", Around(700), Around(45), "user synchronisation from Active Directory");
        if (captureGap)
        {
            s.Flow.Note += "; the unbind request crossed the network but not the capture point (the server ACKs bytes never captured)";
            Expect("capture_loss", null, null, "the LDAP unbind was not captured but was acknowledged");
        }
        var entries = new List<byte[]>();
        for (int i = 0; i < 12; i++)
        {
            var user = $"user{i:00}";
            entries.Add(LdapMessage(2, LdapEntry($"CN={user},OU=Users,DC=corp,DC=local", ("sAMAccountName", user),
                ("displayName", $"User {i:00}"), ("telephoneNumber", $"+39021234{5600 + i}"), ("mail", $"{user}@corp.local"))));
        }
        entries.Add(LdapMessage(2, LdapResult(0x65)));
        s.Connect(t0).Wait(S(0.001))
            .Request(LdapMessage(1, LdapBind("CN=svc-imagicle,OU=Service,DC=corp,DC=local", "S3cret!")), LdapMessage(1, LdapResult(0x61)), 2_500)
            .Wait(S(0.002))
            .Request(LdapMessage(2, LdapSearch("OU=Users,DC=corp,DC=local", "sAMAccountName", "displayName", "telephoneNumber", "mail")), Concat([.. entries]), 9_000)
            .Wait(S(0.002));
        if (captureGap) s.SentButNotCaptured(LdapMessage(3, [0x42, 0x00])).ServerAck();
        else s.Request(LdapMessage(3, [0x42, 0x00]), null);
        s.Close();
    }

    public void Smtp(long t0)
    {
        var s = Tcp(_n.Node1, _n.Mail, 25, "smtp", Around(800), Around(45), "fax-received notification e-mail");
        s.Connect(t0).ServerPush(Ascii("220 mail.corp.local ESMTP Postfix\r\n"), S(0.004))
            .Wait(S(0.001)).Request(Ascii("EHLO imagicle-node1.corp.local\r\n"),
                Ascii("250-mail.corp.local\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"))
            .Request(Ascii("MAIL FROM:<fax@corp.local>\r\n"), Ascii("250 2.1.0 Ok\r\n"))
            .Request(Ascii("RCPT TO:<jane.doe@corp.local>\r\n"), Ascii("250 2.1.5 Ok\r\n"))
            .Request(Ascii("DATA\r\n"), Ascii("354 End data with <CR><LF>.<CR><LF>\r\n"))
            .Request(Ascii("From: Imagicle Digital Fax <fax@corp.local>\r\nTo: jane.doe@corp.local\r\nSubject: Fax received from +390298765432\r\n"
                + "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nA fax of 2 pages was received.\r\n.\r\n"), Ascii("250 2.0.0 Ok: queued as 4F2A61C0\r\n"), 3_000)
            .Request(Ascii("QUIT\r\n"), Ascii("221 2.0.0 Bye\r\n"))
            .Close(clientFirst: false);
    }

    public void Imap(long t0)
    {
        var s = Tcp(_n.Node1, _n.Mail, 143, "imap", Around(800), Around(45), "mail2fax mailbox poll");
        s.Connect(t0).ServerPush(Ascii("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.\r\n"), S(0.003))
            .Request(Ascii("a1 LOGIN mail2fax ********\r\n"), Ascii("a1 OK Logged in\r\n"), 6_000)
            .Request(Ascii("a2 SELECT INBOX\r\n"), Ascii("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 0 EXISTS\r\n* 0 RECENT\r\na2 OK [READ-WRITE] Select completed\r\n"))
            .Request(Ascii("a3 LOGOUT\r\n"), Ascii("* BYE Logging out\r\na3 OK Logout completed.\r\n"))
            .Close(clientFirst: false);
    }

    /// <summary>IMAPS to a mail server that drops it: SYN then two retransmissions at +1 s and +3 s.</summary>
    public void ImapsUnanswered(long t0)
    {
        var s = Tcp(_n.Node1, _n.Mail, 993, "imaps", 0, 0, "SYN never answered (firewall drop): 2 retransmissions at +1 s and +3 s");
        s.SynUnanswered(t0, S(1), S(3));
        Expect("blocked_flow", _n.Mail, 993, "IMAPS SYN never answered");
    }

    /// <summary>POP3S to a mail server with the port closed: RST/ACK.</summary>
    public void Pop3sRefused(long t0)
    {
        var s = Tcp(_n.Node1, _n.Mail, 995, "pop3s", Around(750), 0, "SYN answered by RST/ACK (port closed)");
        s.Refused(t0);
        Expect("refused_flow", _n.Mail, 995, "POP3S refused by RST");
    }

    // ---------------------------------------------------------------- console clients

    public void CtiPlain(long t0, long end)
    {
        var s = Tcp(_n.Console1, _n.Node1, 51234, "cti", Around(70), Around(1400), "UCX console, plain CTI");
        s.Connect(t0).Wait(S(0.001)).Request(Ascii("<CtiLogin user=\"operator1\" version=\"2025.1\"/>\r\n"), Ascii("<CtiLoginResult code=\"0\"/>\r\n"), 3_000);
        while (s.T + S(15) < end)
            s.Wait(S(10)).Request(Ascii("<KeepAlive/>\r\n"), Ascii("<KeepAliveAck/>\r\n"), 150);
    }

    public void CtiTls(long t0, long end)
    {
        var s = Tcp(_n.Console2, _n.Node1, 51235, "cti-tls", Around(80), Around(1600), "UCX console, TLS 1.2 CTI");
        s.Connect(t0).Wait(S(0.001))
            .Request(TlsClientHello(Rng, null), TlsServerFlight(Rng, 1800), 900)
            .Wait(S(0.003)).Request(Concat(TlsChangeCipherSpec(), TlsAppData(Rng, 53)), TlsAppData(Rng, 120));
        while (s.T + S(20) < end)
            s.Wait(S(15)).Request(TlsAppData(Rng, 90), TlsAppData(Rng, Rng.Next(90, 900)), 200);
    }

    // ---------------------------------------------------------------- HA cluster (node <-> node)

    public void HaCluster(long t0, long end)
    {
        var sql = Tcp(_n.Node2, _n.Node1, 1433, "sql", Around(180), Around(160), "HA database replication");
        sql.Connect(t0).Request(TdsPrelogin(0x12), TdsPrelogin(0x04), 300);
        var ipc = Tcp(_n.Node1, _n.Node2, 52001, "ipc", Around(170), Around(150), "HA inter-process communication");
        ipc.Connect(t0 + S(0.4)).Request(Binary(30, 80), Binary(30, 80));

        var amqp = Tcp(_n.Node2, _n.Node1, 5672, "ipc", Around(170), Around(150), "HA message bus (AMQP)");
        amqp.Connect(t0 + S(0.8)).Request(Ascii("AMQP\0\0\u0009\u0001"), AmqpConnectionStart(), 500);

        var http = Tcp(_n.Node1, _n.Node2, 80, "http", Around(170), Around(150), "HA health check (IIS)");
        http.Connect(t0 + S(1.2))
            .Request(Ascii("GET /ImagicleServer/HaStatus.aspx HTTP/1.1\r\nHost: 10.0.0.11\r\nConnection: close\r\n\r\n"),
                Ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"role\":\"secondary\",\"ok\":1}"), 4_000)
            .Close(clientFirst: false);

        for (long t = t0 + S(7); t + S(10) < end; t += S(9))
        {
            sql.At(Math.Max(t, sql.T)).Request(TdsSqlBatch("EXEC dbo.ReplicateChanges @since = " + (t / 1000)), TdsDone(Rng.Next(0, 40)), 1_500);
            ipc.At(Math.Max(t + S(0.3), ipc.T)).Request(Binary(30, 200), Binary(20, 60));
            amqp.At(Math.Max(t + S(0.6), amqp.T)).Request(AmqpHeartbeat, AmqpHeartbeat, 100);
        }
        sql.Wait(S(0.5)).Close();
        ipc.Wait(S(0.5)).Close();
        amqp.Wait(S(0.5)).Close();
    }

    /// <summary>TDS packet (MS-TDS 2.2.3): type, status EOM, length, SPID, packet id, window, then data.</summary>
    private static byte[] Tds(byte type, byte[] data)
    {
        int len = 8 + data.Length;
        return Concat([type, 0x01, (byte)(len >> 8), (byte)len, 0x00, 0x00, 0x01, 0x00], data);
    }

    /// <summary>PRELOGIN with VERSION (6 bytes) and ENCRYPTION (1 byte, off) options.</summary>
    internal static byte[] TdsPrelogin(byte type) => Tds(type,
        [0x00, 0x00, 0x0B, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xFF, 0x0F, 0x00, 0x11, 0x9A, 0x00, 0x00, 0x00]);

    /// <summary>SQL batch: ALL_HEADERS with a transaction descriptor, then the UTF-16LE text.</summary>
    private static byte[] TdsSqlBatch(string sql) => Tds(0x01, Concat(
        [0x16, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00],
        Encoding.Unicode.GetBytes(sql)));

    /// <summary>Tabular result with just a DONE token (0xFD) carrying a row count.</summary>
    private static byte[] TdsDone(int rows) => Tds(0x04, [0xFD, 0x10, 0x00, 0xC1, 0x00, (byte)rows, 0, 0, 0, 0, 0, 0, 0]);

    /// <summary>AMQP 0-9-1 method frame Connection.Start (class 10, method 10) on channel 0.</summary>
    private static byte[] AmqpConnectionStart()
    {
        var args = Concat([0x00, 0x0A, 0x00, 0x0A, 0x00, 0x09], [0, 0, 0, 0],
            [0, 0, 0, 5], Ascii("PLAIN"), [0, 0, 0, 5], Ascii("en_US"));
        return Concat([0x01, 0x00, 0x00, 0, 0, (byte)(args.Length >> 8), (byte)args.Length], args, [0xCE]);
    }

    /// <summary>AMQP heartbeat frame: type 8, channel 0, empty payload, frame end 0xCE.</summary>
    private static readonly byte[] AmqpHeartbeat = [0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xCE];

    // ---------------------------------------------------------------- admin, phones, cloud

    public void Rdp(long t0, double seconds)
    {
        var s = Tcp(_n.Admin, _n.Node1, 3389, "rdp", Around(90), Around(2_300), "administrator's remote desktop");
        var cr = Concat([0x03, 0x00, 0x00, 0x2B, 0x26, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00], Ascii("Cookie: mstshash=admin\r\n"),
            [0x01, 0x00, 0x08, 0x00, 0x0B, 0x00, 0x00, 0x00]);
        s.Connect(t0).Wait(S(0.001))
            .Request(cr, [0x03, 0x00, 0x00, 0x13, 0x0E, 0xD0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x1F, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00])
            .Request(TlsClientHello(Rng, null), TlsServerFlight(Rng, 3200), 700)
            .Request(Concat(TlsChangeCipherSpec(), TlsAppData(Rng, 53)), TlsAppData(Rng, 200));
        long end = t0 + S(seconds);
        while (s.T < end)
            s.Wait(S(0.4) + Rng.Next(0, 800_000)).Request(TlsAppData(Rng, Rng.Next(30, 120)), TlsAppData(Rng, Rng.Next(300, 6000)), 3_000);
        s.Wait(S(0.2)).Close();
    }

    public void PhoneXmlService(long t0, Host phone)
    {
        var s = Tcp(phone, _n.Node1, 80, "http", Around(110), Around(1800), "IP phone XML service (Contact Manager directory)");
        var body = "<CiscoIPPhoneMenu><Title>Contacts</Title><MenuItem><Name>Search</Name><URL>http://10.0.0.10/imagicle/ContactManager/Search.aspx</URL></MenuItem></CiscoIPPhoneMenu>";
        s.Connect(t0).Wait(S(0.001))
            .Request(Ascii($"GET /imagicle/ContactManager/Directory.aspx?device=SEP00112233{phone.Address[^2..]} HTTP/1.1\r\nHost: 10.0.0.10\r\nUser-Agent: Allegro-Software-WebClient/5.40b1\r\nAccept: */*\r\nConnection: close\r\n\r\n"),
                Ascii($"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"), 12_000)
            .Close(clientFirst: false);
    }

    public void Ntp(long t0, int polls, double intervalSeconds, bool spanCopies = false)
    {
        var f = NewFlow(Frames.ProtocolUdp, _n.Node1, 123, _n.Dns, 123, "ntp", "time synchronisation");
        if (spanCopies)
        {
            f.SpanDuplicates = true;
            f.Note += "; every frame captured twice, 12 µs apart (SPAN of two ports)";
            Expect("duplicate_packets", null, null, "NTP frames captured twice by the SPAN");
        }
        for (int i = 0; i < polls; i++)
        {
            long t = t0 + S(i * intervalSeconds), r = t + Around(600);
            _b.EmitUdp(f, true, t, NtpClient(_b.StartUnixMicros + t));
            _b.EmitUdp(f, false, r, NtpServer(_b.StartUnixMicros + t, _b.StartUnixMicros + r, 0xC0A80001));
        }
    }

    /// <summary>DNS A lookup from <paramref name="client"/> to the resolver; returns the response time.</summary>
    public long DnsLookup(long t0, Host client, string name, uint answer, string note)
    {
        Flow f;
        if (client == _n.Node1) f = _dnsFlow ??= NewFlow(Frames.ProtocolUdp, client, _b.EphemeralPort(), _n.Dns, 53, "dns", note);
        else f = NewFlow(Frames.ProtocolUdp, client, _b.EphemeralPort(), _n.Dns, 53, "dns", note);
        var id = (ushort)Rng.Next(0, 65536);
        _b.EmitUdp(f, true, t0, DnsQueryA(id, name));
        long r = t0 + Around(1800);
        _b.EmitUdp(f, false, r, DnsResponseA(id, name, answer, 300));
        return r;
    }

    /// <summary>A DNS query from the node that nobody answers (UDP 53 dropped on the way).</summary>
    public void DnsUnanswered(long t0, string name)
    {
        var f = NewFlow(Frames.ProtocolUdp, _n.Node1, _b.EphemeralPort(), _n.Dns, 53, "dns", "DNS queries from the node never answered (UDP 53 dropped)");
        var id = (ushort)Rng.Next(0, 65536);
        _b.EmitUdp(f, true, t0, DnsQueryA(id, name));
        _b.EmitUdp(f, true, t0 + S(1), DnsQueryA(id, name));
        Expect("blocked_flow", _n.Dns, 53, "DNS query without reply");
    }

    /// <summary>Resolve api.imagicle.com then open HTTPS to it with the name in the ClientHello's SNI.</summary>
    public void CloudLicensing(long t0)
    {
        long t = DnsLookup(t0, _n.Node1, LicensingName, _n.Licensing.Ip, "node's resolver lookups (api.imagicle.com)");
        var s = Tcp(_n.Node1, _n.Licensing, 443, "imagicle-cloud", Around(24_000), Around(60), "licensing check; TLS SNI api.imagicle.com");
        s.Connect(t + S(0.0004)).Wait(S(0.0005))
            .Request(TlsClientHello(Rng, LicensingName), TlsServerFlight(Rng, 3900), 2_000)
            .Wait(S(0.003)).Request(Concat(TlsChangeCipherSpec(), TlsAppData(Rng, 53), TlsAppData(Rng, 420)), TlsAppData(Rng, 1650), 40_000)
            .Wait(S(0.2)).Close();
    }

    /// <summary>HTTPS through a proxy the vendor advises against: HTTP CONNECT to 10.0.2.8:3128, then TLS to api.imagicle.com inside.</summary>
    public void ProxyConnect(long t0)
    {
        var s = Tcp(_n.Node1, _n.Proxy, 3128, "http",
            Around(700), Around(50), "HTTP CONNECT api.imagicle.com:443 through a web proxy on 3128 (not in the vendor table; cloud traffic via proxy)");
        s.Connect(t0).Wait(S(0.0004))
            .Request(Ascii($"CONNECT {LicensingName}:443 HTTP/1.1\r\nHost: {LicensingName}:443\r\nProxy-Connection: keep-alive\r\nUser-Agent: Imagicle.LicenseClient/1.0\r\n\r\n"),
                Ascii("HTTP/1.1 200 Connection established\r\n\r\n"), 25_000)
            .Wait(S(0.0005)).Request(TlsClientHello(Rng, LicensingName), TlsServerFlight(Rng, 3900), 26_000)
            .Wait(S(0.003)).Request(Concat(TlsChangeCipherSpec(), TlsAppData(Rng, 53), TlsAppData(Rng, 420)), TlsAppData(Rng, 1650), 40_000)
            .Wait(S(0.3)).Close();
        Expect("proxy_in_use", _n.Proxy, 3128, "HTTP CONNECT through a web proxy");
    }

    /// <summary>An unexpected telnet session from 10.9.9.9 that the node accepts.</summary>
    public void Telnet(long t0)
    {
        var s = Tcp(_n.Stranger, _n.Node1, 23, "unknown", Around(90), Around(3_800), "telnet from an unexpected host accepted by the node (port not in the vendor table)");
        s.Connect(t0)
            .ServerRequest([0xFF, 0xFD, 0x18, 0xFF, 0xFD, 0x20, 0xFF, 0xFD, 0x23, 0xFF, 0xFD, 0x27], [0xFF, 0xFC, 0x18, 0xFF, 0xFC, 0x20, 0xFF, 0xFC, 0x23, 0xFF, 0xFC, 0x27])
            .ServerRequest(Ascii("\r\nWelcome to Microsoft Telnet Service\r\n\r\nlogin: "), Ascii("administrator\r\n"), 2_000_000)
            .ServerRequest(Ascii("password: "), Ascii("********\r\n"), 3_000_000)
            .ServerPush(Ascii("\r\nLogin Failed\r\n"), S(0.8))
            .Wait(S(0.5)).Close(clientFirst: false);
        Expect("unexpected_flow", _n.Node1, 23, "telnet: no row of the vendor table");
    }
}
