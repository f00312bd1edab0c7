using System.Numerics;
using TrafficAudit.Flows;

namespace TrafficAudit.Analyzers;

/// <summary>
/// The analyzers the engine runs, in order, and their dispatch: the engine calls
/// <see cref="Process"/> for every packet and <see cref="End"/> when a flow ends. Per packet it
/// costs two mask tests; an analyzer is called only while it probes a flow (its first payloads) or
/// for the flows it accepted, and only if it takes packets. Order matters: an analyzer may read
/// the hints written by those before it on the same packet (HTTP stands back for SIP; the VoIP
/// stage takes a TCP flow once SIP was recognised in it).
/// </summary>
public sealed class FlowAnalyzerRegistry
{
    /// <summary>Payload packets per flow shown to the analyzers that have not decided yet.</summary>
    public const int MaxProbePayloads = 32;
    /// <summary>One bit per analyzer in <see cref="FlowAnalysis"/>.</summary>
    public const int MaxAnalyzers = 32;

    private readonly FlowAnalyzer[] _analyzers;
    private readonly uint _takesPackets;
    private readonly uint _keepsState;

    public FlowAnalyzerRegistry(params FlowAnalyzer[] analyzers)
    {
        if (analyzers.Length > MaxAnalyzers) throw new ArgumentException($"at most {MaxAnalyzers} analyzers", nameof(analyzers));
        _analyzers = analyzers;
        for (int i = 0; i < analyzers.Length; i++)
        {
            if (analyzers[i].TakesPackets) _takesPackets |= 1u << i;
            if (analyzers[i].KeepsFlowState) _keepsState |= 1u << i;
        }
    }

    public IReadOnlyList<FlowAnalyzer> Analyzers => _analyzers;

    /// <summary>One packet of <paramref name="flow"/> (with or without payload). Allocates nothing.</summary>
    public void Process(Flow flow, in AnalyzerPacket packet)
    {
        ref FlowAnalysis a = ref flow.Analysis;
        if (!a.Started) Start(flow, ref a, in packet);
        if (a.Probing != 0 && !packet.Payload.IsEmpty) Probe(flow, ref a, in packet);
        uint take = a.Accepted & _takesPackets;
        while (take != 0)
        {
            int i = BitOperations.TrailingZeroCount(take);
            take &= take - 1;
            _analyzers[i].Packet(flow, in packet);
        }
    }

    private void Start(Flow flow, ref FlowAnalysis a, in AnalyzerPacket packet)
    {
        a.Started = true;
        for (int i = 0; i < _analyzers.Length; i++)
        {
            switch (_analyzers[i].Start(flow, in packet))
            {
                case ProbeVerdict.Undecided: a.Probing |= 1u << i; break;
                case ProbeVerdict.Accept: a.Accepted |= 1u << i; break;
            }
        }
    }

    private void Probe(Flow flow, ref FlowAnalysis a, in AnalyzerPacket packet)
    {
        uint bits = a.Probing;
        while (bits != 0)
        {
            int i = BitOperations.TrailingZeroCount(bits);
            bits &= bits - 1;
            switch (_analyzers[i].Probe(flow, in packet))
            {
                case ProbeVerdict.Accept:
                    a.Probing &= ~(1u << i);
                    a.Accepted |= 1u << i;
                    break;
                case ProbeVerdict.Reject:
                    a.Probing &= ~(1u << i);
                    break;
            }
        }
        if (++a.PayloadsProbed < MaxProbePayloads) return;
        // The probe window is closed: whoever has not decided lets the flow go.
        uint undecided = a.Probing & _keepsState;
        a.Probing = 0;
        EndEach(flow, undecided);
    }

    /// <summary>The flow ended: every analyzer that keeps state for it and did not reject it frees it. Call once per flow.</summary>
    public void End(Flow flow)
    {
        ref FlowAnalysis a = ref flow.Analysis;
        uint bits = (a.Probing | a.Accepted) & _keepsState;
        a.Probing = 0;
        a.Accepted = 0;
        EndEach(flow, bits);
    }

    /// <summary>A live snapshot: the analyzers following the flow write their facts so far.</summary>
    public void Snapshot(Flow flow)
    {
        uint bits = (flow.Analysis.Probing | flow.Analysis.Accepted) & _keepsState;
        while (bits != 0)
        {
            int i = BitOperations.TrailingZeroCount(bits);
            bits &= bits - 1;
            _analyzers[i].Snapshot(flow);
        }
    }

    private void EndEach(Flow flow, uint bits)
    {
        while (bits != 0)
        {
            int i = BitOperations.TrailingZeroCount(bits);
            bits &= bits - 1;
            _analyzers[i].End(flow);
        }
    }
}
