using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Sip;

/// <summary>Limits of the SIP analyzer.</summary>
public sealed record SipAnalyzerOptions
{
    /// <summary>Bytes held per TCP direction (unframed + out-of-order) before <c>sip_tcp_buffer_overflow</c>.</summary>
    public int MaxTcpPendingBytes { get; init; } = 64 * 1024;
    /// <summary>TCP directions followed at once; more are ignored (<c>sip_tcp_stream_limit</c>).</summary>
    public int MaxTcpStreams { get; init; } = 100_000;
    /// <summary>
    /// A transaction is closed this long after its last message (capture time). RFC 3261 Timer B/F
    /// is 64·T1 = 32 s; twice that still catches late retransmissions.
    /// </summary>
    public long TransactionLingerNs { get; init; } = 64_000_000_000L;
    /// <summary>Transactions kept for <see cref="SipAnalysisResult.Transactions"/>; later ones still feed the OPTIONS figures.</summary>
    public int MaxTransactionsKept { get; init; } = 1_000_000;
    /// <summary>SIP-over-TCP reassembly memory (buffers and out-of-order segments) over all streams; past it a stream's pending bytes are given up (<c>sip_tcp_total_buffer_limit</c>).</summary>
    public long MaxTcpPendingTotalBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>Transactions open at once (requests not yet closed by the linger time); more are not followed (<c>sip_open_transaction_limit</c>).</summary>
    public int MaxOpenTransactions { get; init; } = 200_000;
    /// <summary>Distinct User-Agent/Server values kept per call (<c>sip_call_user_agent_limit</c>).</summary>
    public int MaxUserAgentsPerCall { get; init; } = 16;
    /// <summary>Distinct media endpoints kept per call (<c>sip_call_media_endpoint_limit</c>).</summary>
    public int MaxMediaEndpointsPerCall { get; init; } = 256;
    /// <summary>SDP bodies kept per call in <see cref="SipCall.MediaChanges"/> (<c>sip_call_media_change_limit</c>); re-INVITEs are still counted.</summary>
    public int MaxMediaChangesPerCall { get; init; } = 64;
    /// <summary>Distinct (From tag, CSeq) re-INVITE identities remembered per call; past it every further re-INVITE counts as new (<c>sip_call_reinvite_limit</c>).</summary>
    public int MaxReInviteIdsPerCall { get; init; } = 1024;
    /// <summary>Distinct responses and other senders remembered per transaction (<c>sip_transaction_copy_limit</c>).</summary>
    public int MaxCopiesPerTransaction { get; init; } = 32;
    /// <summary>Calls open at once (first INVITE seen, not yet left); a new call past it closes the oldest early (<c>sip_calls_evicted</c>), which is still written.</summary>
    public int MaxOpenCalls { get; init; } = 100_000;
    /// <summary>(requester, responder) address pairs summarised in sip_options.csv; OPTIONS of further pairs are not summarised (<c>sip_options_pairs_limit</c>).</summary>
    public int MaxOptionsPairs { get; init; } = 10_000;
    /// <summary>
    /// SDP media addresses of calls that left, remembered so media sent there later is still known as RTP (tied to no
    /// call); past it the table starts anew (<c>sdp_media_bindings_forgotten</c> counts the addresses forgotten).
    /// </summary>
    public int MaxRetiredMediaBindings { get; init; } = 20_000;
}

/// <summary>
/// SIP analyzer for one run: reads SIP over UDP and TCP, matches transactions (top Via branch +
/// CSeq number and method), follows calls by Call-ID and collects OPTIONS keepalive figures.
/// Feed it the payloads of flows that may be SIP; anything else is rejected after a few byte
/// comparisons. Malformed messages are named anomalies, never exceptions.
/// </summary>
public sealed class SipAnalyzer : ISipMessageSink
{
    private readonly AnomalyCounters _anomalies;
    private readonly SipAnalyzerOptions _options;
    private readonly Dictionary<ulong, CallState> _calls = new();
    // Open calls in order of their first INVITE (the oldest is evicted first when the cap is reached).
    private readonly LinkedList<CallState> _callOrder = new();
    // Calls that left while no CallEnded handler was set (the analyzer used alone): kept for Complete.
    private readonly List<SipCall> _left = new();
    private int _answeredOpen;
    /// <summary>Calls created so far: the next call's <see cref="SipCall.Number"/> (never reused, whatever is evicted).</summary>
    private int _callsNumbered;
    private readonly Dictionary<TxKey, TxState> _transactions = new();
    private readonly List<SipTransactionStat> _closed = new();
    private readonly Dictionary<(IpAddress, IpAddress), OptionsAccumulator> _optionsPings = new();
    private readonly Dictionary<StreamKey, SipTcpStream> _tcp = new();
    private readonly Dictionary<string, int> _requestCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, string> _methodNames = new();
    private readonly Dictionary<int, int> _responseCounts = new();
    private readonly Dictionary<(IpAddress, int), SipMediaBinding> _media = new();
    // Bindings of calls that left (Retired): media sent there later is still known as RTP by its SDP, tied to no call.
    private readonly Dictionary<(IpAddress, int), SipMediaBinding> _retired = new();
    // Stands for the call in a retired binding; never changed (the VoIP stage checks Retired first).
    private static readonly SipCall NoCall = new()
    {
        CallId = "", FromUri = "", ToUri = "", Transport = SipTransport.Udp, CallerIp = default, CallerPort = 0, CalleeIp = default, CalleePort = 0, StartNs = 0, StartFrame = 0,
    };
    private long _tcpPendingTotal;
    private long _messages, _retransmissions, _tcpDuplicates, _lastTs = long.MinValue, _nextSweepNs = long.MinValue;

    // The packet being handled (set before a message is handed to HandleMessage).
    private long _ts, _frame;
    private int _flowId;
    private IpAddress _src, _dst;
    private ushort _srcPort, _dstPort;
    private SipTransport _transport;

    public SipAnalyzer(AnomalyCounters anomalies, SipAnalyzerOptions? options = null)
    {
        _anomalies = anomalies;
        _options = options ?? new SipAnalyzerOptions();
    }

    /// <summary>Calls open now (first INVITE seen, not yet left).</summary>
    public int CallCount => _callOrder.Count;
    /// <summary>Transactions open now (request seen, not yet closed by the linger time).</summary>
    public int OpenTransactionCount => _transactions.Count;
    /// <summary>Media address/port bindings from SDP held now (those of calls still open).</summary>
    public int MediaBindingCount => _media.Count;

    /// <summary>
    /// Where a transaction goes when it closes (linger expired, or the end of the run). Without a handler
    /// closed transactions are kept (up to <see cref="SipAnalyzerOptions.MaxTransactionsKept"/>) for <see cref="Complete(long)"/>.
    /// Called on the analyzer's thread.
    /// </summary>
    public Action<SipTransactionStat>? TransactionEnded { get; set; }

    /// <summary>
    /// Where a call goes when it leaves early (<see cref="EndCalls"/>, or evicted at <see cref="SipAnalyzerOptions.MaxOpenCalls"/>);
    /// its state is freed first and the <see cref="SipCall"/> is not changed afterwards. Without a handler such calls are kept
    /// for <see cref="Complete(long)"/>. Calls still open at the end are in <see cref="Complete(long)"/>'s result either way.
    /// </summary>
    public Action<SipCall>? CallEnded { get; set; }

    /// <summary>
    /// Most answered calls at once (from the answering 2xx to the BYE, or to the call leaving or the end of
    /// the run without one), counted as the messages come, and the capture time it was first reached.
    /// </summary>
    public int PeakConcurrentCalls { get; private set; }
    public long PeakConcurrentCallsAtNs { get; private set; }

    /// <summary>SIP messages Wireshark would mark as resent, so far.</summary>
    public long RetransmissionCount => _retransmissions;

    /// <summary>Goes up whenever an SDP announces or changes a media endpoint, so callers can cache look-ups.</summary>
    public int MediaVersion { get; private set; }

    /// <summary>
    /// The call and endpoint that the latest SDP announced at <paramref name="address"/>:<paramref name="port"/>
    /// (offers count too, as Wireshark sets up media from any SDP it sees).
    /// </summary>
    public bool TryFindMedia(IpAddress address, int port, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SipMediaBinding? binding) =>
        _media.TryGetValue((address, port), out binding) || _retired.TryGetValue((address, port), out binding);
    /// <summary>SIP messages parsed so far.</summary>
    public long MessageCount => _messages;

    /// <summary>One UDP datagram. Not SIP: returns after a cheap check.</summary>
    /// <returns>True when the datagram looked like a SIP message (and was read as one).</returns>
    public bool OnUdp(long tsNs, IpAddress src, ushort srcPort, IpAddress dst, ushort dstPort, ReadOnlySpan<byte> payload, long frameNumber, int flowId = 0)
    {
        if (!SipText.LooksLikeSip(payload)) return false; // also skips CRLF keepalives
        SetPacket(tsNs, src, srcPort, dst, dstPort, SipTransport.Udp, frameNumber, flowId);
        HandleMessage(payload, datagram: true);
        return true;
    }

    /// <summary>
    /// One TCP segment (any flags; empty payloads with SYN/FIN/RST too). Segments of a direction
    /// are put back in order and cut into messages by Content-Length. A connection whose first data
    /// is not SIP is ignored from then on.
    /// </summary>
    public void OnTcp(long tsNs, IpAddress src, ushort srcPort, IpAddress dst, ushort dstPort, uint seq, TcpFlags flags, ReadOnlySpan<byte> payload, long frameNumber, int flowId = 0)
    {
        var key = new StreamKey(src, dst, srcPort, dstPort);
        bool close = (flags & (TcpFlags.Fin | TcpFlags.Rst)) != 0;
        if (!_tcp.TryGetValue(key, out var stream))
        {
            bool syn = (flags & TcpFlags.Syn) != 0;
            if (close || (!syn && !SipText.LooksLikeSip(payload))) return;
            if (_tcp.Count >= _options.MaxTcpStreams) { _anomalies.Increment("sip_tcp_stream_limit"); return; }
            stream = new SipTcpStream(_options.MaxTcpPendingBytes);
            _tcp.Add(key, stream);
        }
        SetPacket(tsNs, src, srcPort, dst, dstPort, SipTransport.Tcp, frameNumber, flowId);
        long dupBefore = stream.DuplicateSegments;
        int heldBefore = stream.HeldBytes;
        stream.Push(seq, flags, payload, this, _anomalies);
        _tcpDuplicates += stream.DuplicateSegments - dupBefore;
        _tcpPendingTotal += stream.HeldBytes - heldBefore;
        if (_tcpPendingTotal > _options.MaxTcpPendingTotalBytes && stream.HeldBytes > 0)
        {
            // Over the budget of all streams together: this stream gives up its unfinished bytes and
            // resumes at its next SIP start line, as after a per-stream overflow.
            _anomalies.Increment("sip_tcp_total_buffer_limit");
            _tcpPendingTotal -= stream.HeldBytes;
            stream.GiveUpPending();
        }
        // A connection that is not SIP stays known (without buffers) until it closes, so its
        // later segments are rejected at the dictionary lookup.
        if (close)
        {
            if (stream.HasPartialMessage) _anomalies.Increment("sip_tcp_incomplete_message");
            _tcpPendingTotal -= stream.HeldBytes;
            _tcp.Remove(key);
        }
    }

    void ISipMessageSink.OnStreamMessage(ReadOnlySpan<byte> message) => HandleMessage(message, datagram: false);

    private void SetPacket(long ts, IpAddress src, ushort srcPort, IpAddress dst, ushort dstPort, SipTransport transport, long frame, int flowId)
    {
        _ts = ts; _src = src; _srcPort = srcPort; _dst = dst; _dstPort = dstPort; _transport = transport; _frame = frame; _flowId = flowId;
        if (ts > _lastTs) _lastTs = ts;
    }

    private void HandleMessage(ReadOnlySpan<byte> data, bool datagram)
    {
        if (!SipMessageReader.TryParse(data, datagram, _anomalies, out var m)) return;
        _messages++;
        if (m.IsRequest) CollectionsMarshal.GetValueRefOrAddDefault(_requestCounts, MethodName(m.MethodName), out _)++;
        else CollectionsMarshal.GetValueRefOrAddDefault(_responseCounts, m.StatusCode, out _)++;

        if (m.CallId.IsEmpty) { _anomalies.Increment("sip_missing_call_id"); return; }
        if (!m.HasCSeq) { _anomalies.Increment("sip_missing_cseq"); return; }
        ReadOnlySpan<byte> branch = default, viaTransport, sentBy;
        if (m.TopVia.IsEmpty) _anomalies.Increment("sip_missing_via");
        else if (!SipSpan.TryReadVia(m.TopVia, out viaTransport, out sentBy, out branch)) _anomalies.Increment("sip_bad_via");

        ulong callHash = SipSpan.Hash(m.CallId);
        // A transaction is one request and its responses (RFC 3261 §17.1.3/§17.2.3): top Via
        // branch and CSeq method; CSeq number and Call-ID too, for pre-RFC 3261 branches.
        var key = new TxKey(SipSpan.Hash(branch, callHash), m.CSeqNumber, SipSpan.Hash(m.CSeqMethodName));
        _calls.TryGetValue(callHash, out var call);
        if (call is not null && _ts > call.Call.LastSipNs) call.Call.LastSipNs = _ts;

        if (m.IsRequest) { if (!HandleRequest(ref m, key, branch, ref call, callHash)) return; }
        else if (!HandleResponse(ref m, data[..Math.Min(data.Length, m.HeaderLength + m.Body.Length)], key, call)) return;

        if (call is null) { SweepIfDue(); return; }
        call.Call.Messages++;
        AddUserAgent(call, m.IsRequest ? m.UserAgent : m.Server);
        if (!m.UserAgent.IsEmpty && !m.IsRequest) AddUserAgent(call, m.UserAgent);
        if (m.HasSdpBody || (m.ContentType.IsEmpty && m.Body.StartsWith("v=0"u8))) RecordSdp(call, ref m);
        SweepIfDue();
    }

    /// <returns>False for a copy of a request already seen (nothing more to do).</returns>
    private bool HandleRequest(ref SipMessage m, TxKey key, ReadOnlySpan<byte> branch, ref CallState? call, ulong callHash)
    {
        if (_transactions.Count >= _options.MaxOpenTransactions && !_transactions.ContainsKey(key))
        {
            // Too many requests without an end in sight (a flood of unanswered requests): the request
            // still counts in the totals above but opens no transaction, call or dialog state.
            _anomalies.Increment("sip_open_transaction_limit");
            return false;
        }
        ref var tx = ref CollectionsMarshal.GetValueRefOrAddDefault(_transactions, key, out bool exists);
        if (exists)
        {
            var t = tx!;
            t.LastNs = _ts;
            bool again;
            if (t.RequesterIp == _src && t.RequesterPort == _srcPort)
            {
                t.RequestRetransmissions++;
                again = true;
            }
            else
            {
                // A proxy forwarding the request on its other leg (one branch on both legs, seen on a SPAN
                // port): a new message the first time from that sender, a resent one after that.
                var others = t.OtherRequesters ??= new List<(IpAddress, ushort)>(1);
                again = others.Contains((_src, _srcPort));
                if (!again)
                {
                    // Bounded: past the cap a sender is not remembered (its copies are not told from new ones).
                    if (others.Count < _options.MaxCopiesPerTransaction) others.Add((_src, _srcPort));
                    else _anomalies.Increment("sip_transaction_copy_limit");
                    _anomalies.Increment("sip_transaction_other_sender");
                }
            }
            // Counted as Wireshark marks resent messages (sip.resend, tshark -z sip,stat): copies of ACK and CANCEL are not.
            if (again && !t.IsAck && m.Method != SipMethod.Cancel)
            {
                _retransmissions++;
                if (call is not null) call.Call.Retransmissions++;
            }
            return false;
        }

        bool newCall = false;
        if (call is null && m.Method == SipMethod.Invite)
        {
            if (!SipSpan.NameAddrParam(m.To, "tag"u8).IsEmpty) _anomalies.Increment("sip_reinvite_unknown_call");
            else
            {
                if (_calls.Count >= _options.MaxOpenCalls && _callOrder.First is { } oldest)
                {
                    // Bounded: the oldest open call is closed early and still written.
                    _anomalies.Increment("sip_calls_evicted");
                    Leave(oldest.Value, _ts);
                }
                call = NewCall(ref m, callHash);
                _calls.Add(callHash, call);
                call.Node = _callOrder.AddLast(call);
                newCall = true;
            }
        }
        tx = new TxState
        {
            CallId = call?.Call.CallId ?? SipSpan.ToText(m.CallId),
            Method = MethodName(m.MethodName),
            CSeq = m.CSeqNumber,
            Branch = SipSpan.ToText(branch),
            Transport = _transport,
            RequesterIp = _src, RequesterPort = _srcPort, ResponderIp = _dst, ResponderPort = _dstPort,
            RequestNs = _ts, RequestFrame = _frame, LastNs = _ts,
            IsAck = m.Method == SipMethod.Ack,
            IsOptions = m.Method == SipMethod.Options,
        };
        if (call is null || newCall) return true;

        var c = call.Call;
        switch (m.Method)
        {
            case SipMethod.Invite:
                // Inside an established dialog (or carrying a To tag) an INVITE is a re-INVITE;
                // before the answer it is the same call retried (authentication) or forked on.
                // Counted once per (From tag, CSeq): proxies forward it with a new branch on each hop.
                if (c.Answered || !SipSpan.NameAddrParam(m.To, "tag"u8).IsEmpty)
                {
                    var id = (SipSpan.Hash(SipSpan.NameAddrParam(m.From, "tag"u8)), m.CSeqNumber);
                    if (call.ReInvites is { } seen && seen.Contains(id)) break;
                    c.ReInviteCount++;
                    // The identities are remembered up to a cap; past it each further re-INVITE counts (a proxy's copy may count twice).
                    if ((call.ReInvites?.Count ?? 0) < _options.MaxReInviteIdsPerCall) (call.ReInvites ??= new()).Add(id);
                    else _anomalies.Increment("sip_call_reinvite_limit");
                }
                break;
            case SipMethod.Ack:
                if (c.AnswerNs.HasValue && !c.AckNs.HasValue) c.AckNs = _ts;
                break;
            case SipMethod.Bye:
                if (!c.ByeNs.HasValue)
                {
                    c.ByeNs = _ts; c.EndNs = _ts;
                    if (c.Answered) _answeredOpen--;
                }
                c.EndReason = SipCallEnd.Bye;
                break;
            case SipMethod.Cancel:
                if (!c.Answered && !c.CancelNs.HasValue) { c.CancelNs = _ts; c.EndReason = SipCallEnd.Cancel; }
                break;
        }
        return true;
    }

    /// <returns>False for a retransmitted response (nothing more to do).</returns>
    private bool HandleResponse(ref SipMessage m, ReadOnlySpan<byte> whole, TxKey key, CallState? call)
    {
        if (_transactions.TryGetValue(key, out var t))
        {
            t.LastNs = _ts;
            // A retransmitted response is the same message again (RFC 3261 §17.2.1); two reliable
            // 18x (RFC 3262, new RSeq) or forked answers differ and are new responses.
            // The sender is part of it, as in Wireshark: a proxy forwarding the same bytes on its other leg
            // (a SPAN port sees both) is a new message, not a retransmission.
            ulong h = SipSpan.Hash(whole, (ulong)m.StatusCode ^ ((ulong)_srcPort << 16) ^ ((ulong)(uint)_src.GetHashCode() << 32));
            if (t.SeenResponse(h))
            {
                t.ResponseRetransmissions++;
                // Wireshark marks copies of final responses as resent, never copies of provisional (1xx) ones.
                if (m.StatusCode >= 200)
                {
                    _retransmissions++;
                    if (call is not null) call.Call.Retransmissions++;
                }
                return false;
            }
            // Bounded: past the cap a new response is handled as new but not remembered (a copy of it would count as new again).
            if (t.ResponseHashCount < _options.MaxCopiesPerTransaction) t.AddResponse(h);
            else _anomalies.Increment("sip_transaction_copy_limit");
            if (!t.FirstResponseNs.HasValue) { t.FirstResponseNs = _ts; t.FirstStatus = m.StatusCode; }
            if (m.StatusCode >= 200 && !t.FinalResponseNs.HasValue) { t.FinalResponseNs = _ts; t.FinalStatus = m.StatusCode; }
        }
        else _anomalies.Increment("sip_response_without_request");

        if (call is null || m.CSeqMethod != SipMethod.Invite) return true;
        var c = call.Call;
        if (c.Answered) return true; // responses to re-INVITEs do not change the call's set-up figures
        int code = m.StatusCode;
        if (code < 200)
        {
            if (code == 100) c.Trying100Ns ??= _ts;
            else if (code is >= 180 and < 190) c.Ringing18xNs ??= _ts;
        }
        else if (code < 300)
        {
            c.AnswerNs = _ts;
            if (!c.ByeNs.HasValue && ++_answeredOpen > PeakConcurrentCalls) { PeakConcurrentCalls = _answeredOpen; PeakConcurrentCallsAtNs = _ts; }
            c.FinalStatus = code;
            c.FinalReason = ReasonText(m.ReasonPhrase);
            c.ToTag = SipSpan.ToText(SipSpan.NameAddrParam(m.To, "tag"u8));
            if (c.EndReason != SipCallEnd.Bye) c.EndReason = SipCallEnd.CaptureEnd; // a CANCEL that crossed the 200 lost
        }
        else
        {
            c.FinalStatus = code;
            c.FinalReason = ReasonText(m.ReasonPhrase);
            if (c.EndReason != SipCallEnd.Cancel) c.EndReason = SipCallEnd.Failed;
        }
        return true;
    }

    private CallState NewCall(ref SipMessage m, ulong hash)
    {
        var call = new SipCall
        {
            CallId = SipSpan.ToText(m.CallId),
            FromUri = SipSpan.ToText(SipSpan.NameAddrUri(m.From)),
            ToUri = SipSpan.ToText(SipSpan.NameAddrUri(m.To)),
            Transport = _transport,
            CallerIp = _src, CallerPort = _srcPort, CalleeIp = _dst, CalleePort = _dstPort,
            StartNs = _ts, StartFrame = _frame, Number = ++_callsNumbered,
        };
        call.FromTag = SipSpan.ToText(SipSpan.NameAddrParam(m.From, "tag"u8));
        call.FlowId = _flowId;
        call.LastSipNs = _ts;
        return new CallState(call, hash);
    }

    private void RecordSdp(CallState state, ref SipMessage m)
    {
        var sdp = SdpParser.Parse(m.Body, _anomalies);
        if (sdp is null) return;
        var c = state.Call;
        // Requests from the caller carry its From tag; responses to them come from the callee.
        bool fromTagIsCaller = AsciiEquals(SipSpan.NameAddrParam(m.From, "tag"u8), c.FromTag);
        var side = m.IsRequest == fromTagIsCaller ? SipSide.Caller : SipSide.Callee;
        string what = m.IsRequest ? MethodName(m.MethodName) : StatusText(m.StatusCode);
        // Bounded: past the cap an SDP still updates the bindings below but is not kept for the call's history.
        if (c.MediaChanges.Count < _options.MaxMediaChangesPerCall) c.MediaChanges.Add(new SipMediaChange(_ts, _frame, side, what, !m.IsRequest || m.Method == SipMethod.Ack, sdp));
        else _anomalies.Increment("sip_call_media_change_limit");
        if (c.OfferedSdp is null) { c.OfferedSdp = sdp; state.OfferSide = side; }
        else if (c.AnsweredSdp is null && side != state.OfferSide) c.AnsweredSdp = sdp;

        // An SDP in a response or an ACK answers an offer (RFC 3264; ACK: late offer in the 2xx).
        bool answer = !m.IsRequest || m.Method == SipMethod.Ack;
        // Indexed: a foreach over the interface would allocate an enumerator per SDP.
        for (int mi = 0; mi < sdp.Media.Count; mi++)
        {
            var media = sdp.Media[mi];
            if (media.Port != 0 && media.IsT38)
            {
                c.T38Offered = true;
                if (answer) c.T38 = true;
            }
            if (media.Port == 0 || media.Address.IsEmpty) continue;
            // Indexed: a call's endpoints are looked up per m= line (many re-INVITEs with many m= lines stay linear).
            if (!state.TryFindEndpoint(media.Address, media.Port, media.Kind, side, out var known))
            {
                if (c.MediaEndpoints.Count >= _options.MaxMediaEndpointsPerCall)
                {
                    // No new endpoint, and no binding: media sent there is not tied to this call.
                    _anomalies.Increment("sip_call_media_endpoint_limit");
                    continue;
                }
                known = new SipMediaEndpoint
                {
                    Address = media.Address, Port = media.Port, Kind = media.Kind, Protocol = media.Protocol, Side = side,
                    Payloads = media.Payloads, PtimeMs = media.PtimeMs, Direction = media.Direction, FirstSeenNs = _ts,
                };
                state.AddEndpoint(known);
            }
            // The latest SDP for an address and port decides what arrives there from now on (audio, or T.38 after a switch).
            _media[(media.Address, media.Port)] = new SipMediaBinding(c, known, media.IsT38, media.Payloads);
            MediaVersion++;
        }
    }

    private void AddUserAgent(CallState state, ReadOnlySpan<byte> ua)
    {
        ua = SipSpan.Trim(ua);
        if (ua.IsEmpty) return;
        var c = state.Call;
        foreach (var s in c.UserAgents) if (AsciiEquals(ua, s)) return;
        // Bounded list (and CSV cell): past the cap further distinct values are only counted.
        if (c.UserAgents.Count >= _options.MaxUserAgentsPerCall) { _anomalies.Increment("sip_call_user_agent_limit"); return; }
        c.UserAgents.Add(SipSpan.ToText(ua));
    }

    private static bool AsciiEquals(ReadOnlySpan<byte> a, string b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
        return true;
    }

    private string MethodName(ReadOnlySpan<byte> name)
    {
        ulong h = SipSpan.Hash(name);
        ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(_methodNames, h, out bool exists);
        if (!exists) s = Encoding.ASCII.GetString(name);
        return s!;
    }

    // Status codes as text for a call's SDP history, made once each.
    private readonly Dictionary<int, string> _statusTexts = new();

    private string StatusText(int code)
    {
        ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(_statusTexts, code, out bool exists);
        if (!exists) s = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return s!;
    }

    /// <summary>A final response's reason phrase as text: the common ones as literals, not a new string per call.</summary>
    private static string ReasonText(ReadOnlySpan<byte> phrase)
    {
        var t = SipSpan.Trim(phrase);
        if (t.SequenceEqual("OK"u8)) return "OK";
        if (t.SequenceEqual("Busy Here"u8)) return "Busy Here";
        if (t.SequenceEqual("Request Terminated"u8)) return "Request Terminated";
        return SipSpan.ToText(phrase);
    }

    private void SweepIfDue()
    {
        if (_lastTs < _nextSweepNs) return;
        _nextSweepNs = _lastTs + _options.TransactionLingerNs / 4;
        long cutoff = _lastTs - _options.TransactionLingerNs;
        var old = _expired;
        foreach (var (k, t) in _transactions) if (t.LastNs < cutoff) old.Add(k);
        if (old.Count == 0) return;
        foreach (var k in old) { Close(_transactions[k]); _transactions.Remove(k); }
        old.Clear();
        if (old.Capacity > 4096) old.Capacity = 4096;
    }

    // Transactions found over at a sweep (reused from one sweep to the next).
    private readonly List<TxKey> _expired = new();

    /// <summary>
    /// Capture time moves on without SIP (media only): transactions whose linger expired are closed on
    /// the same schedule as when messages arrive (every quarter of the linger time).
    /// </summary>
    public void Sweep(long nowNs)
    {
        if (nowNs > _lastTs) _lastTs = nowNs;
        SweepIfDue();
    }

    private void Close(TxState t)
    {
        if (t.IsAck) return;
        if (t.IsOptions)
        {
            ref var acc = ref CollectionsMarshal.GetValueRefOrNullRef(_optionsPings, (t.RequesterIp, t.ResponderIp));
            if (Unsafe.IsNullRef(ref acc))
            {
                // Bounded: a flood of OPTIONS between ever new addresses does not grow sip_options.csv without end.
                if (_optionsPings.Count >= _options.MaxOptionsPairs) _anomalies.Increment("sip_options_pairs_limit");
                else _optionsPings.Add((t.RequesterIp, t.ResponderIp), NewAccumulator(t));
            }
            else acc.Add(t);
        }
        if (TransactionEnded is { } handler) { handler(t.ToStat()); return; }
        if (_closed.Count >= _options.MaxTransactionsKept) { _anomalies.Increment("sip_transactions_not_kept"); return; }
        _closed.Add(t.ToStat());
    }

    private static OptionsAccumulator NewAccumulator(TxState t)
    {
        var acc = new OptionsAccumulator { FirstNs = t.RequestNs };
        acc.Add(t);
        return acc;
    }

    /// <summary>
    /// Calls that are over leave: ended (BYE, CANCEL, final failure) with no SIP message for <paramref name="lingerNs"/>,
    /// or not ended with neither SIP nor media for <paramref name="idleNs"/>; either way only once
    /// <paramref name="hasOpenMedia"/> says none of its RTP streams is still open. Each goes to <see cref="CallEnded"/>
    /// (its end time set, its state and media bindings freed). Cost: one pass over the calls open now.
    /// </summary>
    public void EndCalls(long nowNs, long lingerNs, long idleNs, Func<SipCall, bool> hasOpenMedia)
    {
        var over = _over;
        foreach (var state in _callOrder)
        {
            var c = state.Call;
            bool due = c.Ended
                ? nowNs - c.LastSipNs >= lingerNs
                : nowNs - Math.Max(c.LastSipNs, c.LastMediaNs) >= idleNs;
            if (due && !hasOpenMedia(c)) over.Add(state);
        }
        if (over.Count == 0) return;
        foreach (var state in over) Leave(state, nowNs);
        over.Clear();
        if (over.Capacity > 4096) over.Capacity = 4096;
    }

    // Calls found over at a sweep (reused from one sweep to the next).
    private readonly List<CallState> _over = new();

    /// <summary>Frees a call's state and hands it over: its end is its BYE, else its latest SIP or media activity.</summary>
    private void Leave(CallState state, long nowNs)
    {
        var c = state.Call;
        _calls.Remove(state.Hash);
        _callOrder.Remove(state.Node!);
        state.Node = null;
        if (c.Answered && !c.ByeNs.HasValue) _answeredOpen--;
        if (!c.ByeNs.HasValue) c.EndNs = Math.Max(c.StartNs, Math.Max(c.LastSipNs, c.LastMediaNs));
        // Media sent later to its addresses is no longer this call's: drop the bindings that still name it.
        bool changed = false;
        foreach (var ep in c.MediaEndpoints)
            if (_media.TryGetValue((ep.Address, ep.Port), out var b) && ReferenceEquals(b.Call, c))
            {
                _media.Remove((ep.Address, ep.Port));
                if (_retired.Count >= _options.MaxRetiredMediaBindings)
                {
                    // Bounded: the oldest knowledge goes first, all at once (as the RTCP sender reports).
                    _anomalies.Add("sdp_media_bindings_forgotten", _retired.Count);
                    _retired.Clear();
                }
                // The call itself is not kept (its record has left): only the address, the endpoint and its payload map.
                _retired[(ep.Address, ep.Port)] = b with { Retired = true, Call = NoCall };
                changed = true;
            }
        if (changed) MediaVersion++;
        FillCodecs(c);
        if (CallEnded is { } handler) handler(c);
        else _left.Add(c);
    }

    /// <summary>Ends the run; the capture end is the last timestamp this analyzer saw.</summary>
    public SipAnalysisResult Complete() => Complete(_lastTs);

    /// <summary>Calls open whose end (BYE, CANCEL, final failure) has not been seen yet.</summary>
    public int CallsInProgress
    {
        get
        {
            int n = 0;
            foreach (var state in _callOrder) if (!state.Call.Ended) n++;
            return n;
        }
    }

    /// <summary>
    /// The result so far without ending anything (periodic output of a live capture): open
    /// transactions are reported as they stand but stay open, TCP reassembly keeps its buffers and
    /// no end-of-run anomaly is counted, so a later <see cref="Complete(long)"/> gives exactly what
    /// it would have given without this call. The calls are copies of the open calls (and those that left,
    /// when no <see cref="CallEnded"/> handler takes them), lasting until <paramref name="captureEndNs"/>
    /// when without BYE; the transactions are those kept and those still open.
    /// </summary>
    public SipAnalysisResult Snapshot(long captureEndNs)
    {
        var transactions = new List<SipTransactionStat>(_closed.Count + _transactions.Count);
        transactions.AddRange(_closed);
        var pings = new Dictionary<(IpAddress, IpAddress), OptionsAccumulator>(_optionsPings.Count);
        foreach (var (k, acc) in _optionsPings) pings[k] = acc.Copy();
        foreach (var t in _transactions.Values)
        {
            // The same bookkeeping as Close, on copies.
            if (t.IsAck) continue;
            if (t.IsOptions)
            {
                ref var acc = ref CollectionsMarshal.GetValueRefOrNullRef(pings, (t.RequesterIp, t.ResponderIp));
                if (!Unsafe.IsNullRef(ref acc)) acc.Add(t);
                else if (pings.Count < _options.MaxOptionsPairs) pings.Add((t.RequesterIp, t.ResponderIp), NewAccumulator(t));
            }
            if (transactions.Count < _options.MaxTransactionsKept) transactions.Add(t.ToStat());
        }
        var calls = new List<SipCall>(_left.Count + _callOrder.Count);
        calls.AddRange(_left);
        foreach (var state in _callOrder)
        {
            var c = state.Call.Copy();
            if (!c.ByeNs.HasValue) c.EndNs = Math.Max(captureEndNs, c.StartNs);
            FillCodecs(c);
            calls.Add(c);
        }
        return BuildResult(calls, transactions, pings);
    }

    /// <summary>
    /// Ends the run. Calls without BYE last until <paramref name="captureEndNs"/> (the capture's
    /// last frame, from the pipeline). Open transactions are closed as they are. The calls are those
    /// still open (in order of their first INVITE), after those that left without a <see cref="CallEnded"/> handler.
    /// </summary>
    public SipAnalysisResult Complete(long captureEndNs)
    {
        foreach (var t in _transactions.Values) Close(t);
        _transactions.Clear();
        foreach (var (_, s) in _tcp) if (s.HasPartialMessage) _anomalies.Increment("sip_tcp_incomplete_message");
        _tcp.Clear();
        _tcpPendingTotal = 0;
        var calls = new List<SipCall>(_left.Count + _callOrder.Count);
        calls.AddRange(_left);
        foreach (var state in _callOrder)
        {
            var c = state.Call;
            if (!c.ByeNs.HasValue) c.EndNs = Math.Max(captureEndNs, c.StartNs);
            FillCodecs(c);
            calls.Add(c);
        }
        return BuildResult(calls, _closed, _optionsPings);
    }

    private SipAnalysisResult BuildResult(List<SipCall> calls, List<SipTransactionStat> transactions, Dictionary<(IpAddress, IpAddress), OptionsAccumulator> optionsPings)
    {
        transactions.Sort(SipTransactionStat.ByRequest);
        var pings = optionsPings.Select(kv => kv.Value.ToStat(kv.Key.Item1, kv.Key.Item2))
            .OrderBy(p => p.RequesterIp).ThenBy(p => p.ResponderIp).ToList();
        return new SipAnalysisResult
        {
            Calls = calls,
            Transactions = transactions,
            OptionsPings = pings,
            RequestCounts = new Dictionary<string, int>(_requestCounts, StringComparer.Ordinal),
            ResponseCounts = new Dictionary<int, int>(_responseCounts),
            Messages = _messages,
            Retransmissions = _retransmissions,
            TcpDuplicateSegments = _tcpDuplicates,
        };
    }

    /// <summary>Copies of the transactions open now, as they stand (a live snapshot).</summary>
    public List<SipTransactionStat> OpenTransactions()
    {
        var list = new List<SipTransactionStat>(_transactions.Count);
        foreach (var t in _transactions.Values) if (!t.IsAck) list.Add(t.ToStat());
        return list;
    }

    /// <summary>
    /// Primary codec of each active m= line of every answer (SDP in a response or ACK), in order;
    /// with no answer at all, of the first offer.
    /// </summary>
    private static void FillCodecs(SipCall c)
    {
        c.Codecs.Clear();
        bool anyAnswer = c.MediaChanges.Exists(x => x.IsAnswer);
        foreach (var change in c.MediaChanges)
        {
            if (anyAnswer && !change.IsAnswer) continue;
            var lines = change.Sdp.Media;
            for (int mi = 0; mi < lines.Count; mi++)
            {
                var media = lines[mi];
                if (media.Port == 0 || media.PrimaryCodec is not { } p) continue;
                string name = p.ClockRate > 0 ? $"{p.EncodingName}/{p.ClockRate}" : p.EncodingName;
                if (!ContainsIgnoreCase(c.Codecs, name)) c.Codecs.Add(name);
            }
            if (!anyAnswer) break;
        }
    }

    private static bool ContainsIgnoreCase(List<string> list, string value)
    {
        foreach (var s in list) if (string.Equals(s, value, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private sealed class CallState(SipCall call, ulong hash)
    {
        public readonly SipCall Call = call;
        public readonly ulong Hash = hash;
        public LinkedListNode<CallState>? Node;
        public SipSide OfferSide;
        /// <summary>(From tag, CSeq) of the re-INVITEs counted; made at the first re-INVITE (most calls have none).</summary>
        public HashSet<(ulong FromTag, uint CSeq)>? ReInvites;
        // The call's endpoints by address, port, kind and side: looked up in the call's list while it is short (a call
        // has two to four), in an index once it is longer (many re-INVITEs with many m= lines stay linear).
        private Dictionary<(IpAddress, int, string, SipSide), SipMediaEndpoint>? _endpointIndex;
        private const int EndpointsScanned = 8;

        public bool TryFindEndpoint(IpAddress address, int port, string kind, SipSide side, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SipMediaEndpoint? endpoint)
        {
            if (_endpointIndex is not null) return _endpointIndex.TryGetValue((address, port, kind, side), out endpoint);
            foreach (var e in Call.MediaEndpoints)
                if (e.Port == port && e.Side == side && e.Address.Equals(address) && string.Equals(e.Kind, kind))
                {
                    endpoint = e;
                    return true;
                }
            endpoint = null;
            return false;
        }

        public void AddEndpoint(SipMediaEndpoint endpoint)
        {
            var list = Call.MediaEndpoints;
            list.Add(endpoint);
            if (_endpointIndex is not null) _endpointIndex.Add((endpoint.Address, endpoint.Port, endpoint.Kind, endpoint.Side), endpoint);
            else if (list.Count > EndpointsScanned)
            {
                _endpointIndex = new(list.Count * 2);
                foreach (var e in list) _endpointIndex.Add((e.Address, e.Port, e.Kind, e.Side), e);
            }
        }
    }

    private readonly record struct TxKey(ulong BranchHash, uint CSeq, ulong MethodHash);

    private readonly record struct StreamKey(IpAddress Src, IpAddress Dst, ushort SrcPort, ushort DstPort);

    private sealed class TxState
    {
        public required string CallId;
        public required string Method;
        public uint CSeq;
        public required string Branch;
        public SipTransport Transport;
        public IpAddress RequesterIp, ResponderIp;
        public ushort RequesterPort, ResponderPort;
        public long RequestNs, RequestFrame, LastNs;
        public long? FirstResponseNs, FinalResponseNs;
        public int FirstStatus, FinalStatus, RequestRetransmissions, ResponseRetransmissions;
        // Hashes of the distinct responses seen: the first two inline (a provisional and a final response need no list).
        private ulong _response0, _response1;
        private List<ulong>? _moreResponses;
        public int ResponseHashCount;
        public List<(IpAddress, ushort)>? OtherRequesters;
        public bool IsAck, IsOptions;

        public bool SeenResponse(ulong h)
        {
            if (ResponseHashCount > 0 && _response0 == h) return true;
            if (ResponseHashCount > 1 && _response1 == h) return true;
            return _moreResponses is not null && _moreResponses.Contains(h);
        }

        public void AddResponse(ulong h)
        {
            if (ResponseHashCount == 0) _response0 = h;
            else if (ResponseHashCount == 1) _response1 = h;
            else (_moreResponses ??= new List<ulong>(2)).Add(h);
            ResponseHashCount++;
        }

        public SipTransactionStat ToStat() => new()
        {
            CallId = CallId, Method = Method, CSeq = CSeq, Branch = Branch, Transport = Transport,
            RequesterIp = RequesterIp, RequesterPort = RequesterPort, ResponderIp = ResponderIp, ResponderPort = ResponderPort,
            RequestNs = RequestNs, RequestFrame = RequestFrame,
            FirstResponseNs = FirstResponseNs, FirstStatus = FirstStatus, FinalResponseNs = FinalResponseNs, FinalStatus = FinalStatus,
            RequestRetransmissions = RequestRetransmissions, ResponseRetransmissions = ResponseRetransmissions,
        };
    }

    private sealed class OptionsAccumulator
    {
        public long FirstNs, LastNs;
        public int Count, Answered, LastStatus;
        public double Min = double.MaxValue, Max, Sum;

        public OptionsAccumulator Copy() => (OptionsAccumulator)MemberwiseClone();

        public void Add(TxState t)
        {
            Count++;
            if (t.RequestNs < FirstNs) FirstNs = t.RequestNs;
            if (t.RequestNs > LastNs) LastNs = t.RequestNs;
            if (t.FirstResponseNs is not { } r) return;
            double ms = (r - t.RequestNs) / 1e6;
            Answered++;
            Sum += ms;
            if (ms < Min) Min = ms;
            if (ms > Max) Max = ms;
            LastStatus = t.FinalStatus != 0 ? t.FinalStatus : t.FirstStatus;
        }

        public OptionsPingStat ToStat(IpAddress requester, IpAddress responder) => new()
        {
            RequesterIp = requester, ResponderIp = responder, Count = Count, Answered = Answered,
            MinResponseMs = Answered > 0 ? Min : null, MeanResponseMs = Answered > 0 ? Sum / Answered : null,
            MaxResponseMs = Answered > 0 ? Max : null, LastStatus = LastStatus, FirstNs = FirstNs, LastNs = LastNs,
        };
    }
}
