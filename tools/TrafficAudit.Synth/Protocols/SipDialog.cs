using System.Globalization;
using System.Text;
using TrafficAudit.Synth.Building;
using TrafficAudit.Synth.Model;

namespace TrafficAudit.Synth.Protocols;

/// <summary>
/// One SIP dialog over UDP (RFC 3261) carried by a SIP flow: builds requests and responses with
/// Via branches, tags, Call-ID, CSeq and Content-Length, and writes each as one datagram.
/// </summary>
public sealed class SipDialog
{
    private readonly CaptureBuilder _b;
    private readonly Flow _flow;
    private readonly bool _callerIsClient;
    private readonly string _callerUser;
    private readonly string _calleeUser;
    private readonly string _fromTag;
    private string _toTag = "";
    private int _callerCSeq;
    private int _calleeCSeq;
    private string _lastVia = "";
    private readonly CallTruth? _truth;

    public SipDialog(CaptureBuilder builder, Flow flow, bool callerIsClient, string callerUser, string calleeUser, CallTruth? truth)
    {
        _b = builder;
        _flow = flow;
        _callerIsClient = callerIsClient;
        _callerUser = callerUser;
        _calleeUser = calleeUser;
        _truth = truth;
        var rng = builder.Rng;
        CallId = $"{Hex(rng, 4)}-{Hex(rng, 4)}-{Hex(rng, 4)}-{Hex(rng, 4)}@{Caller.Host}";
        _fromTag = $"{rng.Next(10_000_000, 99_999_999)}~{Hex(rng, 2)}";
        _callerCSeq = rng.Next(101, 999);
        _calleeCSeq = rng.Next(101, 999);
        if (truth is not null) truth.CallId = CallId;
    }

    public string CallId { get; }

    private (Host Host, ushort Port) Caller => _callerIsClient ? (_flow.Client, _flow.ClientPort) : (_flow.Server, _flow.ServerPort);
    private (Host Host, ushort Port) Callee => _callerIsClient ? (_flow.Server, _flow.ServerPort) : (_flow.Client, _flow.ClientPort);

    public static string Hex(Random rng, int bytes)
    {
        var b = new byte[bytes];
        rng.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    private static string Agent(Host h) => h.IsNode ? "Imagicle UC Suite/2025.Winter.1" : "Cisco-CUCM14.0";

    /// <summary>Request from caller (fromCaller) or callee inside the dialog; returns the text written.</summary>
    public string Request(long t, bool fromCaller, string method, string? sdp = null, bool newTransaction = true)
    {
        var (me, myPort) = fromCaller ? Caller : Callee;
        var (peer, peerPort) = fromCaller ? Callee : Caller;
        int cseq;
        if (method == "ACK") cseq = fromCaller ? _callerCSeq : _calleeCSeq;
        else cseq = fromCaller ? (newTransaction ? ++_callerCSeq : _callerCSeq) : ++_calleeCSeq;
        string peerUser = fromCaller ? _calleeUser : _callerUser;
        string myUser = fromCaller ? _callerUser : _calleeUser;
        string fromTag = fromCaller ? _fromTag : _toTag;
        string toTag = fromCaller ? _toTag : _fromTag;
        var via = $"SIP/2.0/UDP {me}:{myPort};branch=z9hG4bK{Hex(_b.Rng, 6)}";
        if (method != "ACK") _lastVia = via;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{method} sip:{peerUser}@{peer}:{peerPort} SIP/2.0\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Via: {via}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"From: <sip:{myUser}@{me}>;tag={fromTag}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"To: <sip:{peerUser}@{peer}>{(toTag.Length > 0 ? ";tag=" + toTag : "")}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Call-ID: {CallId}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"CSeq: {cseq} {method}\r\n");
        sb.Append("Max-Forwards: 70\r\n");
        if (method is "INVITE")
        {
            sb.Append(CultureInfo.InvariantCulture, $"Contact: <sip:{myUser}@{me}:{myPort};transport=udp>\r\n");
            sb.Append("Allow: INVITE, OPTIONS, INFO, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY\r\n");
            sb.Append("Supported: timer,resource-priority,replaces\r\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"User-Agent: {Agent(me)}\r\n");
        AppendBody(sb, sdp);
        return Emit(t, fromCaller, sb.ToString());
    }

    /// <summary>Response to the last request sent by the other side.</summary>
    public string Response(long t, bool fromCaller, int code, string reason, string method, string? sdp = null)
    {
        var (me, myPort) = fromCaller ? Caller : Callee;
        if (!fromCaller && code > 100 && _toTag.Length == 0) _toTag = $"{_b.Rng.Next(100_000, 999_999)}-{Hex(_b.Rng, 3)}";
        int cseq = fromCaller ? _calleeCSeq : _callerCSeq;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"SIP/2.0 {code} {reason}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Via: {_lastVia}\r\n");
        // From/To keep the orientation of the request being answered.
        if (!fromCaller)
        {
            sb.Append(CultureInfo.InvariantCulture, $"From: <sip:{_callerUser}@{Caller.Host}>;tag={_fromTag}\r\n");
            sb.Append(CultureInfo.InvariantCulture, $"To: <sip:{_calleeUser}@{Callee.Host}>{(code > 100 ? ";tag=" + _toTag : "")}\r\n");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"From: <sip:{_calleeUser}@{Callee.Host}>;tag={_toTag}\r\n");
            sb.Append(CultureInfo.InvariantCulture, $"To: <sip:{_callerUser}@{Caller.Host}>;tag={_fromTag}\r\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"Call-ID: {CallId}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"CSeq: {cseq} {method}\r\n");
        if (method == "INVITE" && code is >= 180 and < 300)
            sb.Append(CultureInfo.InvariantCulture, $"Contact: <sip:{(fromCaller ? _callerUser : _calleeUser)}@{me}:{myPort};transport=udp>\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Server: {Agent(me)}\r\n");
        AppendBody(sb, sdp);
        return Emit(t, fromCaller, sb.ToString());
    }

    private static void AppendBody(StringBuilder sb, string? sdp)
    {
        if (sdp is null)
        {
            sb.Append("Content-Length: 0\r\n\r\n");
            return;
        }
        sb.Append("Content-Type: application/sdp\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Content-Length: {Encoding.ASCII.GetByteCount(sdp)}\r\n\r\n");
        sb.Append(sdp);
    }

    private string Emit(long t, bool fromCaller, string text)
    {
        bool fromClient = fromCaller == _callerIsClient;
        _b.EmitUdp(_flow, fromClient, t, Encoding.ASCII.GetBytes(text));
        if (_truth is not null) _truth.SipMessages++;
        return text;
    }

    /// <summary>SDP offer/answer for G.711 audio plus telephone-event (RFC 4566, RFC 3551).</summary>
    /// <param name="rtcpMux">Adds <c>a=rtcp-mux</c> (RFC 5761 §5.1.1): RTCP on the RTP port.</param>
    public static string AudioSdp(Host owner, long sessionId, Host media, int port, byte payloadType, string direction = "sendrecv", bool rtcpMux = false)
    {
        string codec = payloadType == RtpSender.PayloadPcmu ? "PCMU" : "PCMA";
        return "v=0\r\n"
            + $"o={(owner.IsNode ? "Imagicle" : "CiscoSystemsCCM-SIP")} {sessionId} 1 IN IP4 {owner}\r\n"
            + "s=SIP Call\r\n"
            + $"c=IN IP4 {media}\r\n"
            + "t=0 0\r\n"
            + $"m=audio {port} RTP/AVP {payloadType} 101\r\n"
            + $"a=rtpmap:{payloadType} {codec}/8000\r\n"
            + "a=ptime:20\r\n"
            + "a=rtpmap:101 telephone-event/8000\r\n"
            + "a=fmtp:101 0-15\r\n"
            + $"a={direction}\r\n"
            + (rtcpMux ? "a=rtcp-mux\r\n" : "");
    }

    /// <summary>SDP for a T.38 fax stream over UDPTL (ITU-T T.38 Annex D).</summary>
    public static string T38Sdp(Host owner, long sessionId, int version, Host media, int port)
        => "v=0\r\n"
            + $"o={(owner.IsNode ? "Imagicle" : "CiscoSystemsCCM-SIP")} {sessionId} {version} IN IP4 {owner}\r\n"
            + "s=SIP Call\r\n"
            + $"c=IN IP4 {media}\r\n"
            + "t=0 0\r\n"
            + $"m=image {port} udptl t38\r\n"
            + "a=T38FaxVersion:0\r\n"
            + "a=T38MaxBitRate:14400\r\n"
            + "a=T38FaxRateManagement:transferredTCF\r\n"
            + "a=T38FaxMaxBuffer:200\r\n"
            + "a=T38FaxMaxDatagram:72\r\n"
            + "a=T38FaxUdpEC:t38UDPRedundancy\r\n";

    /// <summary>An out-of-dialog OPTIONS keepalive and its 200 OK on <paramref name="flow"/>.</summary>
    public static void OptionsPing(CaptureBuilder b, Flow flow, bool fromClient, long t, long answerAfterUs)
    {
        var rng = b.Rng;
        var (me, myPort) = fromClient ? (flow.Client, flow.ClientPort) : (flow.Server, flow.ServerPort);
        var (peer, peerPort) = fromClient ? (flow.Server, flow.ServerPort) : (flow.Client, flow.ClientPort);
        var via = $"SIP/2.0/UDP {me}:{myPort};branch=z9hG4bK{Hex(rng, 6)}";
        var callId = $"{Hex(rng, 8)}@{me}";
        var tag = Hex(rng, 4);
        int cseq = rng.Next(100, 999);
        var req = $"OPTIONS sip:{peer}:{peerPort} SIP/2.0\r\nVia: {via}\r\nFrom: <sip:{me}>;tag={tag}\r\nTo: <sip:{peer}>\r\n"
            + $"Call-ID: {callId}\r\nCSeq: {cseq} OPTIONS\r\nMax-Forwards: 70\r\nContact: <sip:{me}:{myPort}>\r\n"
            + $"User-Agent: {Agent(me)}\r\nContent-Length: 0\r\n\r\n";
        var resp = $"SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: <sip:{me}>;tag={tag}\r\nTo: <sip:{peer}>;tag={Hex(rng, 4)}\r\n"
            + $"Call-ID: {callId}\r\nCSeq: {cseq} OPTIONS\r\nAllow: INVITE, OPTIONS, INFO, BYE, CANCEL, ACK\r\n"
            + $"Server: {Agent(peer)}\r\nContent-Length: 0\r\n\r\n";
        b.EmitUdp(flow, fromClient, t, Encoding.ASCII.GetBytes(req));
        b.EmitUdp(flow, !fromClient, t + answerAfterUs, Encoding.ASCII.GetBytes(resp));
    }
}
