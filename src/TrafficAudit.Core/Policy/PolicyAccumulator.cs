using System.Runtime.InteropServices;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Policy;

/// <summary>The caps of the incremental policy; each has a counter in anomalies.csv when reached (README, Caps).</summary>
public sealed record PolicyLimits
{
    /// <summary>Flows remembered for the joins of later SIP transactions and RTP streams; the oldest are forgotten first (<c>policy_flows_forgotten</c>).</summary>
    public int JoinFlows { get; init; } = 100_000;
    /// <summary>Transactions and streams with a finding waiting for their flow until the end; past it the oldest is judged at once (<c>policy_joins_early</c>).</summary>
    public int PendingJoins { get; init; } = 100_000;
    /// <summary>Distinct findings (keys) kept; past it a new key's occurrences only count in its summary finding (<c>finding_keys_limit</c>).</summary>
    public int FindingKeys { get; init; } = 20_000;
    /// <summary>Flow ids (the lowest) listed per finding and per expected-flow row; counts stay whole (<c>evidence_flow_ids_cut</c>).</summary>
    public int FlowIdsPerRow { get; init; } = 10_000;
    /// <summary>
    /// Whether merged findings keep their records (<see cref="Finding.Subjects"/>), which only <c>--evidence</c>
    /// reads to cut packets; a streaming run drops them, so that a finding holds no record once it ended.
    /// </summary>
    public bool KeepSubjects { get; init; } = true;
}

/// <summary>What a SIP transaction or an RTP stream finding takes from its flow: id, service, applications, row and round-trip budget.</summary>
public sealed record JoinedFlow(int FlowId, string Service, string Applications, string MatchedRule, int? BudgetMs);

/// <summary>The records still open at a live flush, as a snapshot makes them (see <see cref="PolicyAccumulator.Evaluate"/>).</summary>
public sealed record OpenRecords(IReadOnlyList<FlowRecord> Flows, IReadOnlyList<SipTransactionStat> Transactions,
    IReadOnlyList<RtpStreamRecord> Streams, IReadOnlyList<CallRecord> Calls);

/// <summary>A per-flow counter summed over the flows that have it (TCP gaps ACKed but not captured, duplicated packets).</summary>
public sealed class FlowCounterSum(int maxIds)
{
    private Smallest<int> _ids = new(maxIds, Comparer<int>.Default, distinct: true);
    private long _worstValue;

    public long Flows { get; private set; }
    public long Total { get; private set; }
    public long FirstSeenNs { get; private set; }
    /// <summary>The flow with the highest count (the lowest flow_id among equals).</summary>
    public FlowRecord? Worst { get; private set; }
    /// <summary>The lowest flow ids of the flows counted (at most the cap).</summary>
    public IReadOnlyList<int> FlowIds => _ids.Result();
    public bool Cut => _ids.Cut;

    public FlowCounterSum Clone() => new(maxIds)
    {
        _ids = _ids.Clone(), _worstValue = _worstValue, Flows = Flows, Total = Total, FirstSeenNs = FirstSeenNs, Worst = Worst,
    };

    public void Add(FlowRecord f, long value)
    {
        if (value <= 0) return;
        FirstSeenNs = Flows == 0 ? f.FirstSeenNs : Math.Min(FirstSeenNs, f.FirstSeenNs);
        Flows++;
        Total += value;
        _ids.Add(f.FlowId);
        if (Worst is null || value > _worstValue || (value == _worstValue && f.FlowId < Worst.FlowId)) { Worst = f; _worstValue = value; }
    }
}

/// <summary>
/// The policy, record by record: a sink that judges each flow, SIP transaction, RTP stream and call as it
/// ends, merges the findings per <see cref="Finding.Key"/> and keeps the expected-flow matrix's counts, so
/// that <see cref="Evaluate"/>
/// costs what is still open (merged findings, pending joins), not what was seen. The nodes are known
/// before the first record. Joins between kinds use indexes keyed by the two ends: the first flow (by
/// flow_id) between a transaction's or a stream's ends, either way round, as the full pass had it; a
/// transaction or stream that has a finding waits until the end for it, so the result does not depend
/// on whether the flow ended before or after. The verdict does not depend on the order records arrive in.
/// </summary>
public sealed class PolicyAccumulator : IAuditRecordSink
{
    private readonly PolicyContext _ctx;
    private readonly PolicyLimits _limits;
    private readonly IReadOnlyList<DetectedNode> _nodes;
    private readonly DeploymentProfile? _profile;
    private readonly MatrixAccumulator? _matrix;
    private readonly FindingMerger _merger;
    private readonly FlowCounterSum _lossy;
    private readonly FlowCounterSum _duplicates;
    private readonly Dictionary<JoinKey, JoinSlot> _flowsByEnds = new();
    /// <summary>Insertion number of the next flow remembered, and the lowest one still remembered.</summary>
    private long _nextJoinSeq, _forgetBelow;
    private readonly Queue<Pending> _pending = new();
    private readonly List<Finding> _scratch = new(4);
    private long _flowsForgotten;
    private long _joinsEarly;

    public PolicyAccumulator(PortCatalogue catalogue, DeploymentProfile? profile, IReadOnlyList<DetectedNode> nodes, PolicyLimits? limits = null)
    {
        _limits = limits ?? new PolicyLimits();
        _ctx = new PolicyContext(catalogue, profile, nodes);
        _profile = profile;
        _nodes = nodes;
        // Requirements need to know which host is the node: without one every row would read NOT SEEN.
        if (profile is not null && _ctx.Nodes.Count > 0)
            _matrix = new MatrixAccumulator(ExpectedFlowMatrix.Build(catalogue, profile), _limits.FlowIdsPerRow);
        _merger = new FindingMerger(_limits.FlowIdsPerRow, _limits.FindingKeys, _limits.KeepSubjects);
        _lossy = new FlowCounterSum(_limits.FlowIdsPerRow);
        _duplicates = new FlowCounterSum(_limits.FlowIdsPerRow);
    }

    public PolicyContext Context => _ctx;

    /// <summary>
    /// Work done so far: index lookups and inserts, requirement checks, findings merged. It grows by a
    /// constant per record (whatever was seen before), which the scale test checks.
    /// </summary>
    public long Operations => _operations + _merger.Operations + (_matrix?.Operations ?? 0);
    private long _operations;

    /// <summary>Records waiting for their flow (transactions and streams with a finding).</summary>
    public int PendingJoins => _pending.Count;
    /// <summary>Flows remembered for joins.</summary>
    public int JoinFlows => _flowsByEnds.Count;

    public void OnFlow(FlowRecord flow)
    {
        _scratch.Clear();
        FindingRules.OnFlow(_ctx, flow, _scratch);
        var rank = FindingRank.Flow(flow.FlowId);
        foreach (var f in _scratch) _merger.Add(f, rank);
        _matrix?.OnFlow(_ctx, flow);
        _lossy.Add(flow, PolicyContext.AckedUnseen(flow));
        _duplicates.Add(flow, PolicyContext.DuplicatePackets(flow));
        // Only flows a later record may join: UDP flows the VoIP stage made an RTP stream of or read SIP in (RTP streams,
        // SIP over UDP) and SIP over TCP of a node (SIP transactions). A busy site's DNS lookups and its other TCP
        // connections (LDAP, HTTPS, SQL...) are never joined: remembered, the DNS lookups alone filled the index to
        // its cap within hours (the 4-hour busy site's peak 64 -> 48 MB without them).
        bool udp = flow.Transport == IpProtocol.Udp;
        if (udp ? flow.CarriesVoip || flow.IsSip : flow.IsSip && _ctx.TouchesNode(flow)) Remember(flow, udp);
    }

    public void OnTransaction(SipTransactionStat transaction)
    {
        _operations++;
        if (!FindingRules.TransactionNeedsFlow(_ctx, transaction)) return;
        Wait(new Pending(JoinKey.Of(transaction.RequesterIp, transaction.RequesterPort, transaction.ResponderIp, transaction.ResponderPort),
            false, transaction, FindingRank.Transaction(transaction)));
    }

    public void OnStream(RtpStreamRecord stream)
    {
        _operations++;
        if (!FindingRules.StreamHasFinding(_ctx, stream)) return;
        Wait(new Pending(JoinKey.Of(stream.SrcIp, stream.SrcPort, stream.DstIp, stream.DstPort), true, stream, FindingRank.Stream(stream)));
    }

    public void OnCall(CallRecord call)
    {
        _operations++;
        _scratch.Clear();
        FindingRules.OnCall(_ctx, call, _scratch);
        var rank = FindingRank.Call(call);
        foreach (var f in _scratch) _merger.Add(f, rank);
        _matrix?.OnCall(_ctx, call);
    }

    /// <summary>
    /// The verdict as the records so far make it, with the facts known at the end of the capture (its
    /// statistics: packets, length; pcapng interface drops; files cut short). The accumulator is not
    /// changed: a live run may ask at every flush and go on feeding records.
    /// </summary>
    /// <param name="open">
    /// Records still open at a live flush (a snapshot, not ended): judged into this verdict only, as if they
    /// had ended now, without being remembered; they come again, final, when they end. Null at the end of
    /// the input, where the engine hands the open records over as ended ones.
    /// </param>
    public Verdict Evaluate(CaptureStatistics statistics, IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors,
        OpenRecords? open = null)
    {
        _ctx.CaptureSeconds = statistics.Duration.TotalSeconds;
        var scope = statistics.Frames - statistics.MalformedFrames <= 0 ? AuditScope.NoPackets : _ctx.Nodes.Count == 0 ? AuditScope.NoNode : AuditScope.Nodes;
        var extra = new List<(Finding, FindingRank)>();
        var found = new List<Finding>(4);
        var matrixNow = _matrix;
        var lossy = _lossy;
        var duplicates = _duplicates;
        Dictionary<JoinKey, JoinSlot>? openFlows = null;
        var pending = _pending.ToList();
        if (open is not null)
        {
            // Copies of the small aggregates; the open records go into them and into the extra findings only.
            matrixNow = _matrix?.Clone();
            lossy = _lossy.Clone();
            duplicates = _duplicates.Clone();
            openFlows = new();
            foreach (var flow in open.Flows)
            {
                found.Clear();
                FindingRules.OnFlow(_ctx, flow, found);
                foreach (var f in found) extra.Add((f, FindingRank.Flow(flow.FlowId)));
                matrixNow?.OnFlow(_ctx, flow);
                lossy.Add(flow, PolicyContext.AckedUnseen(flow));
                duplicates.Add(flow, PolicyContext.DuplicatePackets(flow));
                bool udp = flow.Transport == IpProtocol.Udp;
                if (udp || _ctx.TouchesNode(flow)) Remember(openFlows, flow, udp);
            }
            foreach (var t in open.Transactions)
                if (FindingRules.TransactionNeedsFlow(_ctx, t))
                    pending.Add(new Pending(JoinKey.Of(t.RequesterIp, t.RequesterPort, t.ResponderIp, t.ResponderPort), false, t, FindingRank.Transaction(t)));
            foreach (var s in open.Streams)
                if (FindingRules.StreamHasFinding(_ctx, s))
                    pending.Add(new Pending(JoinKey.Of(s.SrcIp, s.SrcPort, s.DstIp, s.DstPort), true, s, FindingRank.Stream(s)));
            foreach (var c in open.Calls)
            {
                found.Clear();
                FindingRules.OnCall(_ctx, c, found);
                foreach (var f in found) extra.Add((f, FindingRank.Call(c)));
                matrixNow?.OnCall(_ctx, c);
            }
        }
        long rowsCut = 0;
        var matrix = _profile is null || scope != AuditScope.Nodes || matrixNow is null ? null : matrixNow.Rows(_ctx, out rowsCut);
        int end = 0;
        foreach (var f in FindingRules.MissingFlows(_ctx, matrix)) extra.Add((f, FindingRank.End(end++)));
        foreach (var f in FindingRules.CaptureLoss(interfaces, lossy, errors)) extra.Add((f, FindingRank.End(end++)));
        foreach (var f in FindingRules.DuplicatePackets(duplicates, statistics.IpPackets)) extra.Add((f, FindingRank.End(end++)));
        foreach (var p in pending)
        {
            found.Clear();
            Judge(p, found, openFlows);
            foreach (var f in found) extra.Add((f, p.Rank));
        }
        var nodes = _nodes;
        var ctx = _ctx;
        // Nodes and hedging are filled in once per merged finding (they depend only on what the key holds), not per raw one.
        var findings = _merger.Build(extra, Verdict.MaxFindingsPerKindAndSource, out long summarised, out long findingsCut,
            ctx.IsNode, f => Verdict.Hedge(Verdict.WithNodes(ctx, f), nodes));
        var counters = new List<AnomalyCounters.Entry>();
        void Count(string name, long n) { if (n > 0) counters.Add(new AnomalyCounters.Entry(name, 0, 0) { Count = n }); }
        Count(PolicyAnomalies.FindingsSummarised, summarised);
        Count(PolicyAnomalies.FlowsForgotten, _flowsForgotten);
        Count(PolicyAnomalies.JoinsEarly, _joinsEarly);
        Count(PolicyAnomalies.FindingKeysLimit, _merger.KeysOverflowed);
        Count(PolicyAnomalies.FlowIdsCut, rowsCut + findingsCut);
        return new Verdict(matrix, findings, _profile, scope, _nodes, summarised, counters) { Thresholds = _ctx.Thresholds };
    }

    private void Remember(FlowRecord f, bool udp)
    {
        _operations++;
        var key = JoinKey.Of(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort);
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_flowsByEnds, key, out bool had);
        if (!had) slot.Seq = _nextJoinSeq++;
        slot.Take(f, udp, _ctx);
        if (!had && _flowsByEnds.Count > _limits.JoinFlows) ForgetOldest();
    }

    /// <summary>
    /// The index is full: the oldest tenth is forgotten in one pass (flows are numbered as remembered and
    /// those still remembered are the newest ones), so that a pass over the index comes once every
    /// tenth of its size: constant work per flow.
    /// </summary>
    private void ForgetOldest()
    {
        int keep = _limits.JoinFlows - Math.Max(1, _limits.JoinFlows / 10);
        _forgetBelow = _nextJoinSeq - keep;
        foreach (var (key, slot) in _flowsByEnds)
        {
            _operations++;
            if (slot.Seq < _forgetBelow && _flowsByEnds.Remove(key)) _flowsForgotten++;
        }
    }

    /// <summary>An open flow of a live snapshot, in a table of its own (never in the accumulator's).</summary>
    private void Remember(Dictionary<JoinKey, JoinSlot> table, FlowRecord f, bool udp)
    {
        var key = JoinKey.Of(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort);
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(table, key, out _);
        slot.Take(f, udp, _ctx);
    }

    private void Wait(Pending p)
    {
        _pending.Enqueue(p);
        while (_pending.Count > _limits.PendingJoins && _pending.TryDequeue(out var early))
        {
            _joinsEarly++;
            _scratch.Clear();
            Judge(early, _scratch);
            foreach (var f in _scratch) _merger.Add(f, early.Rank);
        }
    }

    private void Judge(Pending p, List<Finding> found, Dictionary<JoinKey, JoinSlot>? openFlows = null)
    {
        _operations++;
        _flowsByEnds.TryGetValue(p.Key, out var slot);
        JoinSlot open = default;
        openFlows?.TryGetValue(p.Key, out open);
        if (p.Record is SipTransactionStat t) FindingRules.OnTransaction(_ctx, t, JoinSlot.First(slot.Any, open.Any), found);
        else FindingRules.OnStream(_ctx, (RtpStreamRecord)p.Record, JoinSlot.First(slot.Udp, open.Udp), found);
    }

    /// <summary>Two ends of a conversation, the lower one first, so that either direction finds the same entry.</summary>
    private readonly record struct JoinKey(IpAddress A, ushort PortA, IpAddress B, ushort PortB)
    {
        public static JoinKey Of(IpAddress a, ushort pa, IpAddress b, ushort pb)
        {
            int c = a.CompareTo(b);
            return c < 0 || (c == 0 && pa <= pb) ? new(a, pa, b, pb) : new(b, pb, a, pa);
        }
    }

    /// <summary>The first flow (by flow_id) between two ends, and the first UDP one; when it was remembered.</summary>
    private struct JoinSlot
    {
        public JoinedFlow? Any;
        public JoinedFlow? Udp;
        public long Seq;

        public void Take(FlowRecord f, bool udp, PolicyContext ctx)
        {
            if (Any is null || f.FlowId < Any.FlowId) Any = new JoinedFlow(f.FlowId, f.Service, f.Applications, f.MatchedRule, ctx.BudgetMs(f));
            if (udp && (Udp is null || f.FlowId < Udp.FlowId)) Udp = Any.FlowId == f.FlowId ? Any : new JoinedFlow(f.FlowId, f.Service, f.Applications, f.MatchedRule, ctx.BudgetMs(f));
        }

        public static JoinedFlow? First(JoinedFlow? a, JoinedFlow? b) => a is null ? b : b is null || a.FlowId < b.FlowId ? a : b;
    }

    private readonly record struct Pending(JoinKey Key, bool UdpOnly, object Record, FindingRank Rank);
}
