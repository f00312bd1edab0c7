using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Catalogue;
using TrafficAudit.Pipeline;
using TrafficAudit.Synth.Wire;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>What the churn tests (<see cref="FlowChurnTests"/>, <see cref="RtpStreamChurnTests"/>) share: the node, the MACs, the start time and a sink that keeps nothing.</summary>
internal static class ChurnKit
{
    public static readonly PortCatalogue Catalogue = PortCatalogue.LoadEmbedded();
    public static readonly uint Node = Frames.ParseIPv4("10.0.0.10");
    public static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 1], MacB = [0x02, 0, 0, 0, 0, 2];
    public const long Start = 1_772_442_000_000_000_000; // 2026-03-02 09:00 UTC

    /// <summary>Counts the records and keeps none, as the record logs do once a row is written.</summary>
    public sealed class CountingSink : IAuditRecordSink
    {
        public long Flows, Streams, Calls;
        public void OnFlow(FlowRecord flow) => Flows++;
        public void OnStream(RtpStreamRecord stream) => Streams++;
        public void OnCall(CallRecord call) => Calls++;
        public void OnTransaction(SipTransactionStat transaction) { }
    }
}
