using TrafficAudit.Capture;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Analyzers;

/// <summary>An analyzer's answer about one flow, at its first packet or at one of its first payloads.</summary>
public enum ProbeVerdict : byte
{
    /// <summary>Not decided yet: show me the flow's next payload (within the probe window).</summary>
    Undecided,
    /// <summary>The flow is mine: give me every packet of it from this one on, and tell me when it ends.</summary>
    Accept,
    /// <summary>Not mine: never call me again for this flow (whatever I kept for it is freed already).</summary>
    Reject,
}

/// <summary>
/// One packet as an analyzer sees it: the decoded headers, the payload (valid only during the call:
/// copy what you keep), the side of the flow that sent it (0 = first sender) and the frame it came in.
/// A ref struct on the stack: handing it to every analyzer allocates nothing.
/// </summary>
public readonly ref struct AnalyzerPacket
{
    public AnalyzerPacket(ref readonly DecodedPacket ip, ReadOnlySpan<byte> payload, int side, in FrameHeader frame)
    {
        Ip = ref ip;
        Payload = payload;
        Side = side;
        TimestampNs = frame.TimestampNs;
        Frame = frame.FrameNumber;
        FileIndex = frame.FileIndex;
    }

    public readonly ref readonly DecodedPacket Ip;
    public readonly ReadOnlySpan<byte> Payload;
    public readonly int Side;
    public readonly long TimestampNs;
    /// <summary>1-based frame number within its file.</summary>
    public readonly long Frame;
    public readonly int FileIndex;
}

/// <summary>
/// A payload analyzer, plugged into the engine through a <see cref="FlowAnalyzerRegistry"/>
/// (Zeek's dynamic protocol detection in small): at a flow's first packet it says whether the flow
/// may be its protocol (<see cref="Start"/>, by transport or port), then it probes the flow's first
/// payloads (<see cref="Probe"/>, at most <see cref="FlowAnalyzerRegistry.MaxProbePayloads"/>)
/// until it accepts or rejects it; an accepted flow's packets all go to <see cref="Packet"/>; the
/// flow's end to <see cref="End"/>.
/// <para>
/// An analyzer records facts, not findings: what the classifier needs goes into the flow's
/// <see cref="Flow.Hints"/> as soon as it is known (so a snapshot reads it without asking the
/// analyzer), run-wide facts through the analyzer's own typed accessors. Per-flow working state is
/// the analyzer's own (a table keyed by <see cref="Flow.Sequence"/>, bounded, with a named counter
/// when full), created only for the flows it started on, and freed at <see cref="End"/> or when it
/// rejects. Calls come on the engine's thread, in registry order, and must not allocate per packet.
/// </para>
/// </summary>
public abstract class FlowAnalyzer
{
    /// <summary>Short stable name (one lower-case word, e.g. "sip"), for documentation and diagnostics.</summary>
    public abstract string Name { get; }

    /// <summary>True when <see cref="Packet"/> is overridden: the registry calls it for the flows this analyzer accepted.</summary>
    public virtual bool TakesPackets => false;

    /// <summary>True when the analyzer keeps per-flow state: the registry calls <see cref="End"/> for the flows it did not reject.</summary>
    public virtual bool KeepsFlowState => false;

    /// <summary>
    /// The flow's first packet (with or without payload): <see cref="ProbeVerdict.Reject"/> when the
    /// flow cannot be this protocol (transport, ports), <see cref="ProbeVerdict.Accept"/> when the
    /// ports alone decide, else <see cref="ProbeVerdict.Undecided"/> to probe its payloads.
    /// </summary>
    public abstract ProbeVerdict Start(Flow flow, in AnalyzerPacket packet);

    /// <summary>One of the flow's first payloads (never empty), while undecided. Writes facts into <see cref="Flow.Hints"/>.</summary>
    public virtual ProbeVerdict Probe(Flow flow, in AnalyzerPacket packet) => ProbeVerdict.Undecided;

    /// <summary>Every packet (with or without payload) of a flow this analyzer accepted, from the one it accepted at on.</summary>
    public virtual void Packet(Flow flow, in AnalyzerPacket packet) { }

    /// <summary>
    /// The flow ended (FIN/RST, idle timeout, port reuse, end of input) or left the probe window
    /// undecided: the last chance to write facts; frees the flow's state. Called once per flow.
    /// </summary>
    public virtual void End(Flow flow) { }

    /// <summary>A snapshot while the flow goes on (live output): write the facts so far into <see cref="Flow.Hints"/>, free nothing.</summary>
    public virtual void Snapshot(Flow flow) { }
}
