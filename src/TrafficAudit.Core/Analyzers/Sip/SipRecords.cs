using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Sip;

/// <summary>How the SIP messages travelled. Tls is set by the pipeline for encrypted SIP it cannot read (5061/5063/5071).</summary>
public enum SipTransport : byte { Udp, Tcp, Tls }

/// <summary>Which party of a call sent something: the caller (From of the first INVITE) or the callee.</summary>
public enum SipSide : byte { Caller, Callee }

/// <summary>How a call ended (or did not, within the capture).</summary>
public enum SipCallEnd : byte
{
    /// <summary>Still in setup or established when the capture ended.</summary>
    CaptureEnd,
    /// <summary>Established and closed by BYE.</summary>
    Bye,
    /// <summary>Abandoned by the caller with CANCEL before an answer.</summary>
    Cancel,
    /// <summary>Rejected with a final 3xx-6xx response.</summary>
    Failed,
}

/// <summary>
/// A media endpoint announced in an SDP of a call: RTP (or UDPTL) sent to <see cref="Address"/>:<see cref="Port"/>
/// belongs to this call. Payload types map dynamic numbers to codec names and clock rates.
/// </summary>
public sealed record SipMediaEndpoint
{
    public required IpAddress Address { get; init; }
    public required int Port { get; init; }
    /// <summary>"audio", "video", "image" (T.38)...</summary>
    public required string Kind { get; init; }
    public required string Protocol { get; init; }
    /// <summary>The party whose SDP announced it (it receives media there).</summary>
    public required SipSide Side { get; init; }
    public required IReadOnlyList<SdpPayload> Payloads { get; init; }
    public int PtimeMs { get; init; }
    public SdpDirection Direction { get; init; }
    /// <summary>Capture time (ns since the epoch) of the first SDP that announced it.</summary>
    public long FirstSeenNs { get; init; }
}

/// <summary>What the latest SDP said about one media address and port: the call, the endpoint, T.38 or not, and its payload map.</summary>
/// <remarks><see cref="Retired"/>: the call left the analyzer; media sent there is RTP by its SDP but no longer the call's.</remarks>
public sealed record SipMediaBinding(SipCall Call, SipMediaEndpoint Endpoint, bool IsT38, IReadOnlyList<SdpPayload> Payloads)
{
    public bool Retired { get; init; }
}

/// <summary>One SDP seen in a call (offer or answer), in time order: the history of media changes (re-INVITE, T.38 switch).</summary>
/// <param name="Message">Request method or status code of the message that carried it.</param>
/// <param name="IsAnswer">Carried by a response or an ACK (an answer, RFC 3264), else by a request (an offer).</param>
public sealed record SipMediaChange(long TimeNs, long Frame, SipSide Sender, string Message, bool IsAnswer, SdpSession Sdp);

/// <summary>
/// One call (INVITE dialog set), keyed by Call-ID. Times in milliseconds from capture timestamps;
/// null when the event was not seen. Columns for calls.csv are the snake_case names in the comments.
/// </summary>
public sealed class SipCall
{
    /// <summary>call_id</summary>
    public required string CallId { get; init; }
    /// <summary>from_uri / to_uri of the first INVITE.</summary>
    public required string FromUri { get; init; }
    public required string ToUri { get; init; }
    public string FromTag { get; internal set; } = "";
    public string ToTag { get; internal set; } = "";
    /// <summary>transport of the first INVITE.</summary>
    public required SipTransport Transport { get; init; }
    /// <summary>caller_ip/caller_port: sender of the first INVITE; callee_ip/callee_port: where it was sent.</summary>
    public required IpAddress CallerIp { get; init; }
    public required ushort CallerPort { get; init; }
    public required IpAddress CalleeIp { get; init; }
    public required ushort CalleePort { get; init; }
    /// <summary>start_time: first INVITE, ns since the epoch.</summary>
    public required long StartNs { get; init; }
    public required long StartFrame { get; init; }
    /// <summary>
    /// Order of the call's first INVITE in the run, from 1, given when the analyzer creates the call (as flow_id
    /// numbers flows): the report's Call #, and the order of "calls by start time". 0 for a call built elsewhere.
    /// </summary>
    public int Number { get; internal set; }
    /// <summary>answered: a 2xx to the initial INVITE was seen.</summary>
    public bool Answered => AnswerNs.HasValue;
    /// <summary>ended: BYE, CANCEL or a final failure response was seen.</summary>
    public bool Ended => EndReason != SipCallEnd.CaptureEnd;
    public SipCallEnd EndReason { get; internal set; }
    /// <summary>final_status: the 2xx that answered the call, else the last final response to an INVITE; 0 when none.</summary>
    public int FinalStatus { get; internal set; }
    public string FinalReason { get; internal set; } = "";
    /// <summary>Capture times (ns) of the first 100, first 18x, the answering 2xx, its ACK, BYE, CANCEL.</summary>
    public long? Trying100Ns { get; internal set; }
    public long? Ringing18xNs { get; internal set; }
    public long? AnswerNs { get; internal set; }
    public long? AckNs { get; internal set; }
    public long? ByeNs { get; internal set; }
    public long? CancelNs { get; internal set; }
    /// <summary>End of the call for the duration: BYE, else the capture end given to Complete.</summary>
    public long EndNs { get; internal set; }
    /// <summary>response_100_ms: first INVITE to first 100 Trying.</summary>
    public double? Response100Ms => Ms(Trying100Ns);
    /// <summary>post_dial_delay_ms: first INVITE to first 18x.</summary>
    public double? PostDialDelayMs => Ms(Ringing18xNs);
    /// <summary>answer_ms: first INVITE to the answering 2xx (an authentication challenge and the re-sent INVITE are inside).</summary>
    public double? AnswerMs => Ms(AnswerNs);
    /// <summary>duration_s: answer (2xx) to BYE, or to the capture end when there is no BYE; null when not answered.</summary>
    public double? DurationS => AnswerNs is { } a ? Math.Max(0, (ByeNs ?? EndNs) - a) / 1e9 : null;
    /// <summary>
    /// retransmissions: messages of this Call-ID that Wireshark marks as resent (<c>sip.resend</c>, the "resent"
    /// count of <c>tshark -z sip,stat</c>): a request other than ACK seen again from the same sender in the same
    /// transaction (a proxy's copy on its other leg is new the first time), or a final response (2xx-6xx) seen
    /// again from the same sender. Copies of ACK, CANCEL and provisional responses are not counted (requests
    /// and responses seen again stay in the per-transaction figures).
    /// </summary>
    public int Retransmissions { get; internal set; }
    /// <summary>reinvite_count: INVITEs inside the established dialog.</summary>
    public int ReInviteCount { get; internal set; }
    /// <summary>RTP streams the engine tied to this call so far (bounded by the VoIP stage's per-call cap).</summary>
    internal int RtpStreamCount;
    /// <summary>t38: an answer (SDP in a response or ACK) accepted m=image udptl t38 with a non-zero port: the call switched to fax.</summary>
    public bool T38 { get; internal set; }
    /// <summary>Any SDP of the call (offer or answer) proposed T.38, accepted or not.</summary>
    public bool T38Offered { get; internal set; }
    /// <summary>UDPTL (T.38) packets sent to an address and port that this call's SDP gave to T.38.</summary>
    public long T38Packets { get; set; }
    /// <summary>user_agents: distinct User-Agent and Server values, in order of appearance.</summary>
    public List<string> UserAgents { get; private set; } = new();
    /// <summary>The first SDP offer and the answer to it (null when not seen: late offer without answer, or none).</summary>
    public SdpSession? OfferedSdp { get; internal set; }
    public SdpSession? AnsweredSdp { get; internal set; }
    /// <summary>Every SDP of the call in time order.</summary>
    public List<SipMediaChange> MediaChanges { get; private set; } = new();
    /// <summary>Every distinct media endpoint (address, port, kind) announced by either side.</summary>
    public List<SipMediaEndpoint> MediaEndpoints { get; private set; } = new();
    /// <summary>codecs: the primary codec (first payload that is not telephone-event/CN) of each active m= line of every answer, e.g. "PCMA/8000", "t38"; the first offer's when nothing answered.</summary>
    public List<string> Codecs { get; private set; } = new();
    /// <summary>SIP messages of this Call-ID, retransmissions and copies of a request from another sender not included.</summary>
    public int Messages { get; internal set; }
    /// <summary>flow_id of the flow that carried the first INVITE (its <c>Flow.Sequence + 1</c>, given by the engine); 0 when unknown.</summary>
    public int FlowId { get; internal set; }
    /// <summary>Capture time of the call's latest SIP message and of the end of its latest RTP stream, for its linger and idle time.</summary>
    internal long LastSipNs;
    internal long LastMediaNs;
    /// <summary>The VoIP stage's media state of the call while it is open (its open and ended streams); null once it left.</summary>
    internal object? MediaState;

    /// <summary>
    /// A copy that later messages do not change (a live snapshot of a call still open): the lists are copied,
    /// the SDP sessions and endpoints (immutable once parsed) are shared.
    /// </summary>
    internal SipCall Copy()
    {
        var c = (SipCall)MemberwiseClone();
        c.UserAgents = new List<string>(UserAgents);
        c.MediaChanges = new List<SipMediaChange>(MediaChanges);
        c.MediaEndpoints = new List<SipMediaEndpoint>(MediaEndpoints);
        c.Codecs = new List<string>(Codecs);
        return c; // MediaState still names the open call's media: the VoIP stage reads it, then clears it on the copy

    }

    private double? Ms(long? ns) => ns is { } t ? (t - StartNs) / 1e6 : null;
}

/// <summary>
/// One SIP transaction (RFC 3261 §17), matched by top Via branch and CSeq number+method. The
/// requester sent the request; <see cref="FirstResponseNs"/> is when the first response (any, 100
/// included) came back: for requests sent by a node it is the network + peer round trip, for
/// requests that reached a node it is that node's processing time.
/// </summary>
public sealed record SipTransactionStat
{
    public required string CallId { get; init; }
    /// <summary>Request method as on the wire ("INVITE", "OPTIONS"...).</summary>
    public required string Method { get; init; }
    public required uint CSeq { get; init; }
    public required string Branch { get; init; }
    public required SipTransport Transport { get; init; }
    public required IpAddress RequesterIp { get; init; }
    public required ushort RequesterPort { get; init; }
    public required IpAddress ResponderIp { get; init; }
    public required ushort ResponderPort { get; init; }
    public required long RequestNs { get; init; }
    public required long RequestFrame { get; init; }
    public long? FirstResponseNs { get; init; }
    public int FirstStatus { get; init; }
    public long? FinalResponseNs { get; init; }
    /// <summary>Final (≥200) status, 0 when none was seen.</summary>
    public int FinalStatus { get; init; }
    /// <summary>Request copies seen again from the requester, and response copies seen again.</summary>
    public int RequestRetransmissions { get; init; }
    public int ResponseRetransmissions { get; init; }
    public double? FirstResponseMs => FirstResponseNs is { } t ? (t - RequestNs) / 1e6 : null;
    public double? FinalResponseMs => FinalResponseNs is { } t ? (t - RequestNs) / 1e6 : null;

    /// <summary>The order of transactions.csv and the findings: by request time, then frame.</summary>
    public static readonly Comparison<SipTransactionStat> ByRequest =
        (a, b) => a.RequestNs != b.RequestNs ? a.RequestNs.CompareTo(b.RequestNs) : a.RequestFrame.CompareTo(b.RequestFrame);
}

/// <summary>OPTIONS keepalives from one requester to one responder (by IP address).</summary>
public sealed record OptionsPingStat
{
    public required IpAddress RequesterIp { get; init; }
    public required IpAddress ResponderIp { get; init; }
    /// <summary>OPTIONS transactions (retransmissions not counted again).</summary>
    public required int Count { get; init; }
    public required int Answered { get; init; }
    public int Unanswered => Count - Answered;
    /// <summary>Request to first response, over the answered ones; null when none was answered.</summary>
    public double? MinResponseMs { get; init; }
    public double? MeanResponseMs { get; init; }
    public double? MaxResponseMs { get; init; }
    /// <summary>Status of the last answered ping (200 normally).</summary>
    public int LastStatus { get; init; }
    public required long FirstNs { get; init; }
    public required long LastNs { get; init; }
}

/// <summary>Everything the SIP analyzer found in a run.</summary>
public sealed class SipAnalysisResult
{
    public required IReadOnlyList<SipCall> Calls { get; init; }
    /// <summary>All transactions except ACK, in order of their first request.</summary>
    public required IReadOnlyList<SipTransactionStat> Transactions { get; init; }
    public required IReadOnlyList<OptionsPingStat> OptionsPings { get; init; }
    /// <summary>Messages parsed per request method (retransmissions included), as tshark -z sip,stat counts them.</summary>
    public required IReadOnlyDictionary<string, int> RequestCounts { get; init; }
    /// <summary>Responses parsed per status code (retransmissions included).</summary>
    public required IReadOnlyDictionary<int, int> ResponseCounts { get; init; }
    public required long Messages { get; init; }
    /// <summary>Resent messages as Wireshark counts them (see <see cref="SipCall.Retransmissions"/>): tshark -z sip,stat's "resent".</summary>
    public required long Retransmissions { get; init; }
    /// <summary>TCP segments (or parts) dropped as already delivered.</summary>
    public required long TcpDuplicateSegments { get; init; }
}
