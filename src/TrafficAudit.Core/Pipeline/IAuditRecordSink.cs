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

    /// <summary>
    /// Flows that leave at once, in order (the flows held until the nodes were decided: 20,000 on a busy site), their
    /// records made as they are read (<see cref="IFlowRecordBatch"/>). A sink that reads them does as <see cref="OnFlow"/>
    /// with each, here or later on another thread, in order; one that does not read them (or passes them on) overrides
    /// this. The default reads them all now.
    /// </summary>
    void OnFlows(IFlowRecordBatch flows)
    {
        for (int i = 0; i < flows.Count; i++) OnFlow(flows.Make(i));
    }

    /// <summary>An RTP stream that ended (idle, its flow ended, or end of input).</summary>
    void OnStream(RtpStreamRecord stream);

    /// <summary>A call that ended (BYE, CANCEL, final failure, idle) after its linger, with its streams.</summary>
    void OnCall(CallRecord call);

    /// <summary>A SIP transaction that got its final response or timed out (for the response-time findings).</summary>
    void OnTransaction(SipTransactionStat transaction);
}

/// <summary>
/// Flows that leave the engine together, whose records are made and classified only as a sink reads them, so that the
/// work is done by whichever thread writes them rather than by the engine's while its packets wait. Immutable once
/// handed over; <see cref="Make"/> may run on any thread, one call at a time.
/// </summary>
public interface IFlowRecordBatch
{
    /// <summary>Flows in the batch.</summary>
    int Count { get; }

    /// <summary>The classified record of flow <paramref name="index"/> (0 to Count - 1): each index once, in order.</summary>
    FlowRecord Make(int index);
}
