using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>
/// The incremental policy as a sink of a streaming run. The engine hands over records only once the
/// Imagicle nodes are settled (given, or detected over the first flows), so the accumulator is made at the
/// first record, against the nodes known then; a run that hands over nothing makes it at the end. A
/// streaming run cuts no evidence, so its findings keep no records (<see cref="PolicyLimits.KeepSubjects"/>).
/// </summary>
public sealed class SettledPolicySink(PortCatalogue catalogue, DeploymentProfile? profile, Func<IReadOnlyList<DetectedNode>> nodes) : IAuditRecordSink
{
    private PolicyAccumulator? _accumulator;

    private PolicyAccumulator Accumulator => _accumulator ??= new PolicyAccumulator(catalogue, profile, nodes(), new PolicyLimits { KeepSubjects = false });

    public void OnFlow(FlowRecord flow) => Accumulator.OnFlow(flow);
    public void OnStream(RtpStreamRecord stream) => Accumulator.OnStream(stream);
    public void OnCall(CallRecord call) => Accumulator.OnCall(call);
    public void OnTransaction(SipTransactionStat transaction) => Accumulator.OnTransaction(transaction);

    /// <summary>The verdict over every record handed over, plus a live snapshot's still-open ones (<paramref name="open"/>, judged into this verdict only).</summary>
    public Verdict Evaluate(CaptureStatistics statistics, IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors, OpenRecords? open = null)
        => Accumulator.Evaluate(statistics, interfaces, errors, open);
}
