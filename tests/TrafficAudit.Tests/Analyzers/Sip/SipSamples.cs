using System.Text;

namespace TrafficAudit.Tests.Analyzers.Sip;

/// <summary>Hand-written SIP messages after RFC 3261 §24.2 / RFC 3665 flows, with correct Content-Length.</summary>
internal static class SipSamples
{
    public const string CallId = "a84b4c76e66710@pc33.atlanta.example.com";
    public const string AliceTag = "1928301774";
    public const string BobTag = "a6c85cf";

    public static string AudioSdp(string ip = "192.0.2.101", int port = 49172, string codec = "0", string? extra = null) =>
        "v=0\r\no=alice 2890844526 2890844526 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n" +
        "m=audio " + port + " RTP/AVP " + codec + " 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n" + (extra ?? "");

    public static string T38Sdp(string ip, int port) =>
        "v=0\r\no=bob 1 2 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n" +
        "m=image " + port + " udptl t38\r\na=T38FaxVersion:0\r\na=T38FaxRateManagement:transferredTCF\r\n";

    public static string Request(string method, int cseq, string branch, string? toTag = null, string? sdp = null,
        string callId = CallId, string fromTag = AliceTag, string from = "sip:alice@atlanta.example.com", string to = "sip:bob@biloxi.example.com",
        string sentBy = "pc33.atlanta.example.com", string? cseqMethod = null, string userAgent = "Softphone/1.0")
    {
        var sb = new StringBuilder();
        sb.Append(method).Append(' ').Append(to).Append(" SIP/2.0\r\n");
        sb.Append("Via: SIP/2.0/UDP ").Append(sentBy).Append(";branch=").Append(branch).Append("\r\n");
        sb.Append("Max-Forwards: 70\r\n");
        sb.Append("To: Bob <").Append(to).Append('>').Append(toTag is null ? "" : ";tag=" + toTag).Append("\r\n");
        sb.Append("From: Alice <").Append(from).Append(">;tag=").Append(fromTag).Append("\r\n");
        sb.Append("Call-ID: ").Append(callId).Append("\r\n");
        sb.Append("CSeq: ").Append(cseq).Append(' ').Append(cseqMethod ?? method).Append("\r\n");
        sb.Append("User-Agent: ").Append(userAgent).Append("\r\n");
        return WithBody(sb, sdp);
    }

    public static string Response(int code, string reason, string method, int cseq, string branch, string? toTag = null, string? sdp = null,
        string callId = CallId, string fromTag = AliceTag, string sentBy = "pc33.atlanta.example.com", string server = "PBX/2.0")
    {
        var sb = new StringBuilder();
        sb.Append("SIP/2.0 ").Append(code).Append(' ').Append(reason).Append("\r\n");
        sb.Append("Via: SIP/2.0/UDP ").Append(sentBy).Append(";branch=").Append(branch).Append(";received=192.0.2.101\r\n");
        sb.Append("To: Bob <sip:bob@biloxi.example.com>").Append(toTag is null ? "" : ";tag=" + toTag).Append("\r\n");
        sb.Append("From: Alice <sip:alice@atlanta.example.com>;tag=").Append(fromTag).Append("\r\n");
        sb.Append("Call-ID: ").Append(callId).Append("\r\n");
        sb.Append("CSeq: ").Append(cseq).Append(' ').Append(method).Append("\r\n");
        sb.Append("Server: ").Append(server).Append("\r\n");
        return WithBody(sb, sdp);
    }

    private static string WithBody(StringBuilder sb, string? sdp)
    {
        if (sdp is not null) sb.Append("Content-Type: application/sdp\r\n");
        sb.Append("Content-Length: ").Append(sdp is null ? 0 : Encoding.UTF8.GetByteCount(sdp)).Append("\r\n\r\n");
        if (sdp is not null) sb.Append(sdp);
        return sb.ToString();
    }

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
