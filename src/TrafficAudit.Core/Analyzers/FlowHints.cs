namespace TrafficAudit.Analyzers;

/// <summary>
/// What the payload analyzers found in one flow, for classification and the flow's record. Each
/// is validated from the bytes, never guessed from a port. Written by the analyzer that owns it
/// (<see cref="SipHintAnalyzer"/>, <see cref="TlsAnalyzer"/>, <see cref="HttpAnalyzer"/>,
/// <see cref="RtpProbeAnalyzer"/>), read by everything downstream; lives inline in the flow.
/// </summary>
public struct FlowHints
{
    /// <summary>A payload started with a SIP request or status line.</summary>
    public bool IsSip;
    /// <summary>A payload started with a TLS handshake record.</summary>
    public bool IsTls;
    /// <summary>The client sent an HTTP/1.x request line.</summary>
    public bool IsHttp;
    /// <summary>Server name of the TLS ClientHello (SNI), e.g. "api.imagicle.com"; null when none.</summary>
    public string? ServerName;
    /// <summary>Authority of an HTTP CONNECT request (the flow goes through a proxy), e.g. "api.imagicle.com:443".</summary>
    public string? HttpConnectTarget;
    /// <summary>The RTP probe's verdict on a UDP flow.</summary>
    public RtpVerdict Rtp;
}

/// <summary>The RTP probe's verdict on a flow (see <see cref="RtpProbe"/>): decided once per flow.</summary>
public struct RtpVerdict
{
    public bool IsRtp;
    public bool IsRtcp;
    /// <summary>RTP or RTCP was recognised, or the probe gave up (its payloads were looked at and were neither).</summary>
    public bool Decided;
    /// <summary>SSRC that confirmed RTP (first direction to reach the threshold).</summary>
    public uint Ssrc;
    public byte PayloadType;
}

/// <summary>
/// The registry's bookkeeping for one flow, inline in it: which analyzers still probe it, which
/// accepted it (one bit each, by registry position) and how many payloads were probed.
/// </summary>
public struct FlowAnalysis
{
    public bool Started;
    public byte PayloadsProbed;
    public uint Probing;
    public uint Accepted;
}
