using TrafficAudit.Analyzers.Sip;

namespace TrafficAudit.Pipeline;

/// <summary>
/// Where records go when they leave the engine: a flow at its end (FIN/RST linger, idle timeout, port
/// reuse, a cap reached, end of input), an RTP stream when idle, a call after its end and linger, a SIP
/// transaction once answered or timed out. Each record is complete and holds no reference into live
/// engine state; the engine forgets it once handed over. Called only from the thread that drives the
/// engine (<see cref="AuditEngine.Process"/>, <see cref="AuditEngine.Complete"/>), never concurrently.
/// Record logs (CSV or JSON lines), the incremental policy and the run totals are sinks.
/// </summary>
public interface IAuditRecordSink
{
    /// <summary>A finished, classified flow; its <see cref="FlowRecord.FlowId"/> numbers flows by their first packet.</summary>
    void OnFlow(FlowRecord flow);

    /// <summary>An RTP stream that ended (idle, its flow ended, or end of input).</summary>
    void OnStream(RtpStreamRecord stream);

    /// <summary>A call that ended (BYE, CANCEL, final failure, idle) after its linger, with its streams.</summary>
    void OnCall(CallRecord call);

    /// <summary>A SIP transaction that got its final response or timed out (for the response-time findings).</summary>
    void OnTransaction(SipTransactionStat transaction);
}
