using TrafficAudit.Analyzers.Sip;

namespace TrafficAudit.Pipeline;

/// <summary>Hands each record to several sinks in turn (record logs, run totals, the incremental policy).</summary>
public sealed class FanOutSink(params IAuditRecordSink[] sinks) : IAuditRecordSink
{
    private readonly IAuditRecordSink[] _sinks = sinks;

    public void OnFlow(FlowRecord flow) { foreach (var s in _sinks) s.OnFlow(flow); }
    /// <summary>Each sink takes the batch in turn. Its records are made once per index: at most one of the sinks may read them (the others only note the hand-over).</summary>
    public void OnFlows(IFlowRecordBatch flows) { foreach (var s in _sinks) s.OnFlows(flows); }
    public void OnStream(RtpStreamRecord stream) { foreach (var s in _sinks) s.OnStream(stream); }
    public void OnCall(CallRecord call) { foreach (var s in _sinks) s.OnCall(call); }
    public void OnTransaction(SipTransactionStat transaction) { foreach (var s in _sinks) s.OnTransaction(transaction); }
}
