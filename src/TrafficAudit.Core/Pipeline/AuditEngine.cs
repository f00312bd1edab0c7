using System.Text;
using TrafficAudit.Analyzers;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Analyzers.Rtp;

namespace TrafficAudit.Pipeline;

/// <summary>
/// One engine for every source (files or a live interface): frames in, decoded packets through
/// the flow table and payload analyzers. Flows leave as they end: each ended flow becomes a
/// <see cref="FlowRecord"/> (client side, facts), is classified against the Imagicle nodes and goes to
/// the <see cref="IAuditRecordSink"/>; the engine then forgets it. With the nodes given (--server,
/// profile) every flow is classified as it ends. With the nodes detected, ended flows are held
/// (unclassified) until <see cref="AuditOptions.MaxHeldFlows"/> of them or the end of input, then the
/// nodes are decided over them; flows ending later are classified at once, against the nodes decided
/// again at each sweep. <see cref="Process"/> is the hot path and allocates only when a flow starts.
/// </summary>
public sealed partial class AuditEngine : IDisposable
{
    /// <summary>Ended flows waiting for the next sweep before they are handed over even without one (a capture whose clock stands still).</summary>
    private const int MaxEndedWaiting = 4096;

    private readonly PortCatalogue _catalogue;
    private readonly AuditOptions _options;
    private readonly PacketDecoder _decoder;
    private readonly FlowTable _flows;
    private readonly VoipTracker _voip;
    private readonly VoipPipeline _voipStage;
    /// <summary>Addresses whose DNS name is remembered (to name servers in flows.csv); further answers are counted in <c>dns_names_limit</c>.</summary>
    public const int MaxDnsNames = DnsNamesAnalyzer.MaxNames;
    private readonly DnsNamesAnalyzer _dns;
    private readonly FlowAnalyzerRegistry _analyzers;
    // VoIP records the stage ended, gathered for the batch result (no sink given).
    private readonly VoipRecordCollector _voipRecords;
    /// <summary>
    /// VoIP records that ended before the nodes were settled (a sink given, nodes detected): they wait, as
    /// the held flows do, so that every sink sees records judged against one node set; they leave right
    /// after the held flows. Bounded: <see cref="AuditOptions.MaxHeldFlows"/> records settle the nodes early.
    /// </summary>
    private readonly VoipRecordCollector? _voipHold;
    private long _nextVoipTakeNs = long.MinValue;
    /// <summary>The VoIP stage's packet counts at the last <see cref="EndedFlowGroups.ChecksLate"/> takes, oldest first: the next take hands over the records ended by the oldest.</summary>
    private readonly long[] _voipTakeTickets = new long[EndedFlowGroups.ChecksLate];
    private DecodedPacket _packet;
    private long _lastTs = long.MinValue;

    // --- flows leaving the engine ---
    private readonly IAuditRecordSink _sink;
    /// <summary>The internal sink when the caller gave none: <see cref="Complete"/> returns every flow, as before streaming.</summary>
    private readonly CollectingSink? _collected;
    private readonly FlowClassifier _classifier;
    /// <summary>Flows ended since the last hand-over check (a sweep, or <see cref="MaxEndedWaiting"/> of them); a group of <see cref="_waiting"/> from there.</summary>
    private readonly List<Flow> _ended = new();
    /// <summary>Ended flows waiting, in groups, for the VoIP stage to finish their packets before they become records.</summary>
    private readonly EndedFlowGroups _waiting = new();
    private long _sweepsHandled;
    private readonly NodeDetector? _detector;
    private long _detectorVersionDecided = -1;
    private IReadOnlyList<DetectedNode> _nodes = [];
    private HashSet<IpAddress> _nodeSet = [];
    /// <summary>True once the node set is used to classify flows as they end: at once when nodes are given, else when the hold is full.</summary>
    private bool _settled;
    /// <summary>
    /// Ended flows held, unclassified, until the nodes are decided (detection only): their facts as plain values outside
    /// the GC heap (some 20,000 flows live through the hold's collections, and no collection need copy them), their
    /// names aside in <see cref="_heldNames"/>. Records are made of them when they leave.
    /// </summary>
    private NativeList<HeldFacts> _held = new();
    /// <summary>The SNI and HTTP CONNECT target of held flows that have either (<see cref="HeldFacts.Names"/>).</summary>
    private List<(string? Sni, string? ConnectTarget)> _heldNames = new();

    /// <summary>
    /// An ended flow's facts as plain values: the columns of its record before classification, and the payload hints
    /// the classifier needs. <see cref="Record"/> makes the record of them.
    /// </summary>
    private struct HeldFacts
    {
        public long FirstSeenNs, LastSeenNs, PacketsC2S, PacketsS2C, BytesC2S, BytesS2C, HandshakeRttNs, ServerRttNs, ClientRttNs, FirstAckNs;
        public IpAddress ClientIp, ServerIp;
        public int FlowId, SynRetries, IcmpUnreachable, AckedUnseen, DuplicatePackets;
        /// <summary>Index of the flow's SNI and HTTP CONNECT target in <see cref="_heldNames"/>, -1 when it has neither.</summary>
        public int Names;
        public ushort ClientPort, ServerPort, Vlan;
        public IpProtocol Transport;
        public TcpHandshakeState TcpState;
        public FlowEndReason EndReason;
        public ClientChoice ClientBy;
        public bool IsSip, CarriesVoip, IsHttp, Rtp, Rtcp, T38, Tls;
    }

    /// <summary>How the client side of a flow was chosen (<see cref="ChooseClientSide"/>): the record's client_by column.</summary>
    private enum ClientChoice : byte { Syn, SynAck, Catalogue, FirstSender }
    private static readonly string[] ClientChoiceNames = ["syn", "synack", "catalogue", "first_sender"];

    /// <summary>Payload hints of a flow that the record does not carry as columns.</summary>
    private readonly record struct HeldHints(bool Rtp, bool Rtcp, bool T38, bool Tls, string? Sni);

    /// <param name="catalogue">The port catalogue.</param>
    /// <param name="options">Nodes, timeouts, caps.</param>
    /// <param name="sink">Where records go as they end; null: they are collected and <see cref="Complete"/> returns them all (as before streaming).</param>
    public AuditEngine(PortCatalogue catalogue, AuditOptions options, IAuditRecordSink? sink = null)
    {
        _catalogue = catalogue;
        _options = options;
        // With shards, the merger's thread hands flows over and feeds the VoIP stage: what it counts, it counts apart (merged at the end).
        var handOver = options.Shards > 0 ? _mergerAnomalies = new AnomalyCounters() : Anomalies;
        _decoder = new PacketDecoder(Anomalies);
        _flows = new FlowTable(options.Timeouts, _ended.Add, options.MaxActiveFlows, Anomalies);
        _voip = new VoipTracker(new AnomalyCounters(), options.Voip ?? new VoipTrackerOptions { StreamIdleNs = options.Timeouts.UdpIdleNs, ClassifyCall = ClassifyCall });
        _voipRecords = new VoipRecordCollector(handOver, new SipAnalyzerOptions().MaxTransactionsKept);
        // The VoIP stage on a thread of its own: beside the engine's thread, or in the sharded engine beside the merger
        // (which hands it the packets in capture order); else inline on that thread.
        bool parallelVoip = options.ParallelVoip ?? Environment.ProcessorCount > 1;
        _voipStage = new VoipPipeline(_voip, parallelVoip);
        _shards = CreateShards(options, IsSipPort);
        if (_shards is not null)
        {
            // The streams' statistics run on the shards' threads, between their epochs.
            var statistics = new Sharding.ShardedRtpStatistics(_shards);
            foreach (var s in _shards) s.Statistics = statistics;
            _voip.StatisticsRunner = statistics;
        }
        Threads = (options.Shards > 0 ? options.Shards + 2 : 1) + (parallelVoip ? 1 : 0);
        // Payload analyzers, in the order they see each packet (see FlowAnalyzerRegistry).
        _dns = new DnsNamesAnalyzer(handOver);
        _analyzers = new FlowAnalyzerRegistry(_dns, new RtpProbeAnalyzer(Anomalies), new SipHintAnalyzer(), new HttpAnalyzer(), new TlsAnalyzer(),
            new VoipStageAnalyzer(_voipStage, IsSipPort));
        // The analyzers see each flow's end before its record is made (their hints are final then).
        _flows.FlowEnded = _analyzers.End;
        _sink = sink ?? (_collected = new CollectingSink());
        _classifier = new FlowClassifier(catalogue);
        if (options.Servers.Count > 0)
        {
            _nodes = NodeDetector.Detect([], options.Servers, options.ServersSource, catalogue.NodeEvidence);
            _nodeSet = AddressesOf(_nodes);
            _settled = true;
        }
        else
        {
            _detector = new NodeDetector(catalogue.NodeEvidence);
            if (sink is not null) _voipHold = new VoipRecordCollector(handOver, int.MaxValue);
        }
        if (_shards is not null) StartMerger();
    }

    /// <summary>Threads the engine runs on: 1 (with shards, the reader and the merger: 2), plus the VoIP stage's own (<see cref="AuditOptions.ParallelVoip"/>), plus its shards (<see cref="AuditOptions.Shards"/>).</summary>
    public int Threads { get; }

    /// <summary>
    /// How often and how long the engine's thread (the merger's, with shards) waited for the VoIP stage's thread: before
    /// flows that ended are handed over, a snapshot, the end. Zero when the stage runs inline (`--threads 1` and 3).
    /// </summary>
    public (int Waits, double Seconds) VoipStageWaits => (_voipStage.Waits, _voipStage.WaitSeconds);

    /// <summary>
    /// Work for the VoIP stage's thread when it has no packets to analyse (see <see cref="VoipPipeline.IdleWork"/>): the
    /// CLI gives it the capture's <see cref="Capture.IIdleReader.ReadOneAhead"/> (<see cref="Capture.ReadAheadMode.WhenIdle"/>).
    /// Never called when the stage runs inline. Results do not depend on it.
    /// </summary>
    public Func<bool>? VoipIdleWork
    {
        get => _voipIdleWork;
        set
        {
            _voipIdleWork = value;
            // While flows are held, the stage's idle thread first makes the held facts' next block (see NativeList.PrepareBlock).
            _voipStage.IdleWork = value is null || _detector is null ? value : () => PrepareHeldBlock() || value();
        }
    }

    private Func<bool>? _voipIdleWork;

    /// <summary>The held facts' next block made ahead, while the nodes are not settled (the VoIP stage's idle thread).</summary>
    private bool PrepareHeldBlock() => !Volatile.Read(ref _settled) && Volatile.Read(ref _held).PrepareBlock();

    /// <summary>
    /// Work for the engine's thread when the VoIP stage is behind (see <see cref="VoipPipeline.BehindWork"/>): the CLI gives
    /// it the shared record log's <c>WriteSome</c>, the work the stage's thread does when idle. Never called when the
    /// stage runs inline. Results do not depend on it.
    /// </summary>
    public Func<bool>? VoipBehindWork
    {
        get => _voipStage.BehindWork;
        set => _voipStage.BehindWork = value;
    }

    /// <summary>
    /// Called with their number when the held flows (and the VoIP records held with them) are about to leave at once, the nodes decided (the CLI gives the shared
    /// record log's <c>ExpectBurst</c>: they were in memory already, and may wait for a thread that has time). Results
    /// do not depend on it.
    /// </summary>
    public Action<int>? HeldFlowsLeaving { get; set; }

    /// <summary>Wakes the VoIP stage's thread to its idle work when it sleeps waiting for packets, and says whether it is free for it (see <see cref="VoipPipeline.WakeIdle"/>); any thread.</summary>
    public bool WakeVoipIdle() => _voipStage.WakeIdle();

    /// <summary>Times <see cref="WakeVoipIdle"/> woke the VoIP stage's thread.</summary>
    public int VoipIdleWakes => _voipStage.IdleWakes;

    /// <summary>Classifier verdicts remembered (capped at <see cref="FlowClassifier.MaxRemembered"/>), and flows classified without remembering theirs once full, for `--stats`.</summary>
    public (int Remembered, long NotRemembered) Verdicts => (_classifier.VerdictsRemembered, _classifier.VerdictsNotRemembered);

    /// <summary>Seconds the VoIP stage's thread slept, in all and before the nodes were decided (0 on one thread), for `--stats`.</summary>
    public (double Seconds, double BeforeSettled) VoipSleep =>
        (_voipStage.SleepSeconds, _settledAt != 0 ? _voipSleepBeforeSettled : HoldsFlows ? _voipStage.SleepSeconds : 0);

    /// <summary>True when the nodes are detected from the capture: ended flows are held, unclassified, until they are decided.</summary>
    public bool HoldsFlows => _detector is not null;

    /// <summary>True once records are classified against the nodes (given, or decided): before, no record leaves the engine.</summary>
    public bool NodesSettled => _settled;

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> time the nodes were decided while the input was read (the hold ended), 0 if not (given up front, or decided at the end).</summary>
    public long SettledAtTimestamp => _settledAt;
    private long _settledAt;
    private double _voipSleepBeforeSettled;

    /// <summary>Pieces of <see cref="VoipBehindWork"/> the engine's thread did.</summary>
    public int VoipBehindWorkDone => _voipStage.BehindWorkDone;

    /// <summary>The Imagicle nodes records are classified against now: given, or detected once settled (empty before).</summary>
    public IReadOnlyList<DetectedNode> Nodes => _nodes;

    /// <summary>Where the VoIP stage's ended records go: collected for the batch result (no sink given), held until the nodes are settled, else the sink.</summary>
    private IAuditRecordSink VoipSink => _collected is not null ? _voipRecords : _settled ? _sink : _voipHold!;

    /// <summary>The payload analyzers the engine runs.</summary>
    public FlowAnalyzerRegistry Analyzers => _analyzers;

    /// <summary>The VoIP stage (tests read its tracker's state counts).</summary>
    internal VoipPipeline VoipStage => _voipStage;

    public AnomalyCounters Anomalies { get; } = new();

    /// <summary>Stops the VoIP worker thread, the merger's and the shards' threads, if any.</summary>
    public void Dispose()
    {
        _voipStage.Dispose();
        DisposeShards();
        _held.Dispose();
    }
    public CaptureStatistics Statistics { get; } = new();
    public FlowTable Flows => _flows;

    public void Process(in FrameHeader header, ReadOnlySpan<byte> frame)
    {
        var st = Statistics;
        st.Frames++;
        st.CapturedBytes += frame.Length;
        long ts = header.TimestampNs;
        if (ts < _lastTs) st.OutOfOrderTimestamps++; else _lastTs = ts;
        if (ts < st.FirstNs) st.FirstNs = ts;
        if (ts > st.LastNs) st.LastNs = ts;
        Anomalies.CurrentFrame = header.FrameNumber;
        Anomalies.CurrentFileIndex = header.FileIndex;
        Anomalies.CurrentOrdinal = st.Frames;

        switch (_decoder.Decode(header.LinkType, frame, ts, ref _packet, out var buffer))
        {
            case DecodeStatus.Ok: break;
            case DecodeStatus.NotIp: st.NonIpFrames++; return;
            case DecodeStatus.FragmentPending: st.FragmentsHeld++; return;
            default: st.MalformedFrames++; return;
        }
        st.IpPackets++;
        if (_shards is not null)
        {
            Dispatch(in header, buffer);
            return;
        }
        ref readonly DecodedPacket p = ref _packet;
        if (p.IcmpUnreachable && !_flows.TrackUnreachable(in p, ts)) Anomalies.Increment("icmp_unreachable_unknown_flow");

        Flow flow = _flows.Track(in p, ts, out int side);
        if ((_ended.Count | _waiting.Flows) > 0 && (_flows.Sweeps != _sweepsHandled || _ended.Count >= MaxEndedWaiting)) HandOverEnded(endOfInput: false, handed: null);
        _analyzers.Process(flow, new AnalyzerPacket(in p, buffer.Slice(p.PayloadOffset, p.PayloadLength), side, in header));
        // Every 10 s of capture time the VoIP records that ended are taken over, on this thread.
        if (ts >= _nextVoipTakeNs)
        {
            _nextVoipTakeNs = ts + 10_000_000_000L;
            TakeVoipRecords();
        }
    }

    /// <summary>
    /// Takes over the VoIP records the stage ended by the take <see cref="EndedFlowGroups.ChecksLate"/> takes ago (as late as
    /// ended flows are: see <see cref="EndedFlowGroups"/>): the stage on its own thread has had the time since to get there, and the
    /// records taken, classified against the nodes known now, are the same whatever the thread count. VoIP records
    /// waiting for the nodes are bounded as the held flows are.
    /// </summary>
    private void TakeVoipRecords()
    {
        _voipStage.TakeEnded(VoipSink, _voipTakeTickets[0]);
        Array.Copy(_voipTakeTickets, 1, _voipTakeTickets, 0, _voipTakeTickets.Length - 1);
        _voipTakeTickets[^1] = _voipStage.Submit();
        if (!_settled && _voipHold is not null && _voipHold.Count >= _options.MaxHeldFlows) Settle(endOfInput: false);
    }

    /// <summary>The catalogue's SIP ports (`sipPorts`, 5060-5071 built in): TCP segments there go to SIP reassembly from the SYN on.</summary>
    private bool IsSipPort(ushort port) => _catalogue.IsSipPort(port);

    /// <summary>
    /// A call's service and applications when it leaves before the end of input (its signalling flow may
    /// still be open): its signalling endpoints classified as a SIP flow from caller to callee, against the nodes known now.
    /// </summary>
    private (string Service, string Applications)? ClassifyCall(SipCall c)
    {
        var transport = c.Transport == SipTransport.Udp ? IpProtocol.Udp : IpProtocol.Tcp;
        var ff = new FlowFacts(transport, c.CallerIp, c.CallerPort, c.CalleeIp, c.CalleePort, false, false, false, true,
            c.Transport == SipTransport.Tls, null, _nodeSet.Contains(c.CallerIp), _nodeSet.Contains(c.CalleeIp));
        var cls = _classifier.Classify(in ff);
        return (cls.Service, cls.Applications);
    }

    /// <summary>
    /// Ends the run: drops unfinished IP datagrams (counted), ends every flow still open and hands it
    /// over (with the nodes detected and the hold never full: the nodes are decided over all flows and
    /// the held flows leave in flow_id order, exactly as a batch run). Without a sink given, the result
    /// lists every flow in flow_id order; with one, its <see cref="AuditResult.Flows"/> is empty (every
    /// record went to the sink).
    /// </summary>
    public AuditResult Complete(IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        // Datagrams still waiting for fragments will never complete: counted as ip_fragment_incomplete, not lost silently.
        _decoder.FlushFragments();
        if (_shards is not null) QuiesceShards();
        _voipStage.Drain();
        if (_shards is not null) CompleteShards();
        else _flows.Complete();
        var lastRecords = new List<FlowRecord>();
        HandOverEnded(endOfInput: true, lastRecords);
        if (!_settled) lastRecords = Settle(endOfInput: true);
        else if (_detector is not null && _detector.Version != _detectorVersionDecided) Decide();
        // The VoIP items still open leave after the flows, once the nodes are settled (calls are classified against them).
        _voip.Complete(Statistics.LastNs);
        _voipStage.TakeEnded(VoipSink);
        IReadOnlyList<FlowRecord> flows = _collected is not null ? _collected.Sorted() : [];
        var result = Build(flows, _collected is not null ? flows : lastRecords, _nodes, null, interfaces, errors);
        _voipStage.Dispose();
        return result;
    }

    /// <summary>
    /// The result so far, without ending any flow, SIP transaction or call (periodic output while
    /// capturing live): processing may go on, and a later <see cref="Complete"/> gives the same
    /// result as a run that never took a snapshot. Flows still in the engine (open, ended since the last
    /// sweep, held) are listed as records classified with the nodes known now, without leaving; with a
    /// sink given, only they are listed (the rest went to the sink).
    /// </summary>
    public AuditResult Snapshot(IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        if (_shards is not null) QuiesceShards();
        _voipStage.Drain();
        _voipStage.TakeEnded(VoipSink);
        List<Flow> active;
        if (_shards is not null) active = SnapshotShards();
        else
        {
            active = _flows.Snapshot();
            foreach (var f in active) _analyzers.Snapshot(f);
        }
        IReadOnlyList<DetectedNode> nodes = _nodes;
        if (!_settled)
        {
            // Nothing decided yet: every flow seen so far is here, so decide over all of them (as a batch run) without touching the run's detector.
            var d = new NodeDetector(_catalogue.NodeEvidence);
            for (int i = 0; i < _held.Count; i++) d.Observe(Observed(in _held[i]));
            foreach (var f in _waiting.All())
            {
                var (facts, hints) = Facts(f);
                d.Observe(Observed(facts, hints));
            }
            foreach (var f in _ended)
            {
                var (facts, hints) = Facts(f);
                d.Observe(Observed(facts, hints));
            }
            foreach (var f in active)
            {
                var (facts, hints) = SnapshotFacts(f);
                d.Observe(Observed(facts, hints));
            }
            nodes = d.Decide();
        }
        else if (_detector is not null) nodes = _detector.Decide();
        var nodeSet = AddressesOf(nodes);
        // The same nodes as at the last snapshot: the records classified then still hold.
        if (_snapshotNodeSet is { } previous && previous.SetEquals(nodeSet)) nodeSet = previous;
        else
        {
            _snapshotNodeSet = nodeSet;
            _snapshotNodesVersion++;
        }
        var records = new List<FlowRecord>(_held.Count + _waiting.Flows + _ended.Count + active.Count + (_collected?.Count ?? 0));
        if (_collected is not null) records.AddRange(_collected.Records);
        for (int i = 0; i < _held.Count; i++) records.Add(Classify(Record(in _held[i]), HintsOf(in _held[i]), nodeSet));
        foreach (var f in _waiting.All())
        {
            var (facts, hints) = Facts(f);
            records.Add(Classify(facts, hints, nodeSet));
        }
        foreach (var f in _ended)
        {
            var (facts, hints) = Facts(f);
            records.Add(Classify(facts, hints, nodeSet));
        }
        foreach (var f in active)
        {
            var (facts, hints) = SnapshotFacts(f);
            records.Add(SnapshotRecord(f, facts, hints, nodeSet));
        }
        records.Sort((x, y) => x.FlowId.CompareTo(y.FlowId));
        return Build(records, records, nodes, _voip.Snapshot(Statistics.LastNs), interfaces, errors);
    }

    /// <summary>Snapshots reuse the record of an open flow unchanged since the last one (false: every record made again; tests compare both).</summary>
    internal bool ReuseSnapshotRecords
    {
        get => _reuseSnapshotRecords;
        set => _reuseSnapshotRecords = _voip.ReuseSnapshotRecords = value;
    }
    private bool _reuseSnapshotRecords = true;
    private HashSet<IpAddress>? _snapshotNodeSet;
    /// <summary>Records of open flows and streams that snapshots took over from the snapshot before (tests).</summary>
    internal long SnapshotRecordsReused { get; private set; }
    internal long SnapshotStreamRecordsReused => _voip.SnapshotRecordsReused;
    private int _snapshotNodesVersion;

    /// <summary>The record the last snapshot made of <paramref name="f"/> when no packet and no ICMP error reached the flow since (its VoIP counts then did not change either: the stage is drained); else null.</summary>
    private FlowRecord? UnchangedSince(Flow f) =>
        _reuseSnapshotRecords && f.SnapshotMemo is { Record: { } r } m && m.Packets == f.Packets[0] + f.Packets[1] && m.IcmpUnreachable == f.IcmpUnreachable ? r : null;

    /// <summary>An open flow's facts for a snapshot: the last snapshot's record when the flow did not change since (it holds the facts), else made now.</summary>
    private (FlowRecord Facts, HeldHints Hints) SnapshotFacts(Flow f) => UnchangedSince(f) is { } last ? (last, HintsOf(f)) : Facts(f);

    /// <summary>
    /// An open flow's record for a snapshot: the last snapshot's when the flow, the nodes and the server's name did not
    /// change since (a flow closed by FIN and waiting for the sweep, say), else classified again and kept for the next.
    /// </summary>
    private FlowRecord SnapshotRecord(Flow f, FlowRecord facts, HeldHints hints, HashSet<IpAddress> nodeSet)
    {
        string? serverName = hints.Sni ?? (_dns.TryGetName(facts.ServerIp, out var n) ? n : null);
        if (UnchangedSince(f) is { } last && f.SnapshotMemo!.NodesVersion == _snapshotNodesVersion && string.Equals(last.ServerName, serverName, StringComparison.Ordinal))
        {
            SnapshotRecordsReused++;
            return last;
        }
        var record = Classify(facts with { }, hints, nodeSet);
        var memo = f.SnapshotMemo ??= new FlowSnapshotMemo();
        memo.Packets = f.Packets[0] + f.Packets[1];
        memo.IcmpUnreachable = f.IcmpUnreachable;
        memo.NodesVersion = _snapshotNodesVersion;
        memo.Record = record;
        return record;
    }

    /// <summary>
    /// A hand-over check: the flows ended since the last check join <see cref="_waiting"/> as a group, and the group
    /// <see cref="EndedFlowGroups.ChecksLate"/> checks old becomes records (the VoIP stage has finished its packets by then;
    /// if not, the engine waits here). At the end of input every group leaves, oldest first, then the last flows.
    /// </summary>
    private void HandOverEnded(bool endOfInput, List<FlowRecord>? handed)
    {
        _sweepsHandled = SweepsSoFar;
        if (!endOfInput)
        {
            // The stage gets what it was given so far now, and works through it while the engine reads on.
            _waiting.Push(_ended, _voipStage.Submit());
            while (_waiting.Count > EndedFlowGroups.ChecksLate) HandOverOldest(endOfInput, handed);
            return;
        }
        while (_waiting.Count > 0) HandOverOldest(endOfInput, handed);
        if (_ended.Count == 0) return;
        _voipStage.Drain();
        HandOver(_ended, endOfInput, handed);
    }

    private void HandOverOldest(bool endOfInput, List<FlowRecord>? handed)
    {
        var group = _waiting.Oldest(out long ticket);
        _voipStage.WaitFor(ticket);
        HandOver(group, endOfInput, handed);
        _waiting.ReleaseOldest();
    }

    /// <summary>
    /// Turns <paramref name="group"/> (flows the VoIP stage is done with) into records, in flow_id order: held while the nodes
    /// are not settled (and the nodes decided once the hold is full), else classified and handed to the sink.
    /// Each flow goes back to the flow table's pool as soon as its record is made. Adds the records handed
    /// over to <paramref name="handed"/> when given (the end of input; none at a sweep, which allocates nothing per flow but the record).
    /// </summary>
    private void HandOver(List<Flow> group, bool endOfInput, List<FlowRecord>? handed)
    {
        group.Sort(BySequence);
        if (!_settled)
        {
            foreach (var f in group)
            {
                ref var h = ref _held.Add();
                HoldFacts(f, ref h);
                _detector!.Observe(Observed(in h));
                // The facts are copied and the analyzers ended the flow: the object serves a later flow.
                ReleaseFlow(f);
            }
            group.Clear();
            // At the end of input the caller settles over every flow (none is classified early). Before it, the held
            // flows leave as a batch, their records made by the sink (so none to add to a list).
            if (!endOfInput && _held.Count >= _options.MaxHeldFlows) Settle(endOfInput: false);
            return;
        }
        foreach (var f in group)
        {
            var (facts, hints) = Facts(f);
            _detector?.Observe(Observed(facts, hints));
            _leaving.Add((facts, hints));
            ReleaseFlow(f);
        }
        group.Clear();
        // Settled: later evidence adds nodes for the flows that end from now on.
        if (_detector is not null && _detector.Version != _detectorVersionDecided) Decide();
        foreach (var (facts, hints) in _leaving)
        {
            var record = Classify(facts, hints, _nodeSet);
            if (_detector is not null && !endOfInput) HandOverAnomalies.Increment("flow_hold_full");
            _sink.OnFlow(record);
            handed?.Add(record);
        }
        _leaving.Clear();
    }

    /// <summary>A group's records between their facts and their classification (the nodes are decided again over the whole group first).</summary>
    private readonly List<(FlowRecord Facts, HeldHints Hints)> _leaving = new();

    private static readonly Comparison<Flow> BySequence = (x, y) => x.Sequence.CompareTo(y.Sequence);

    /// <summary>
    /// Decides the nodes over every flow held so far and hands the held flows over in flow_id order: as one batch whose
    /// records the sink makes (<see cref="IFlowRecordBatch"/>) before the end of input, and made here at the end of input,
    /// where they are returned for the batch result (an empty list before).
    /// </summary>
    private List<FlowRecord> Settle(bool endOfInput)
    {
        Decide();
        _settled = true;
        if (!endOfInput)
        {
            _settledAt = System.Diagnostics.Stopwatch.GetTimestamp();
            _voipSleepBeforeSettled = _voipStage.SleepSeconds;
        }
        HeldFlowsLeaving?.Invoke(_held.Count + (_voipHold?.Count ?? 0));
        // The groups that leave from now on pass through _leaving: sized now as the held list's was grown by them (no growth later, in the steady state).
        _leaving.EnsureCapacity(Math.Min(_held.Count, MaxEndedWaiting));
        var batch = new HeldRecords(_held, _heldNames, ServerNamesOf(_held, _heldNames), _nodeSet, _classifier);
        _held = new NativeList<HeldFacts>();
        _heldNames = new List<(string? Sni, string? ConnectTarget)>();
        // Classified before the end of input: the nodes were decided without the evidence still to come.
        if (!endOfInput && batch.Count > 0) HandOverAnomalies.Add("flow_hold_full", batch.Count);
        List<FlowRecord> handed;
        if (!endOfInput)
        {
            // The records are made by whoever reads them (the record log's writers), not here, while the packets wait.
            _sink.OnFlows(batch);
            handed = [];
        }
        else
        {
            // The end of input: the caller lists them for the batch result.
            handed = new List<FlowRecord>(batch.Count);
            for (int i = 0; i < batch.Count; i++) handed.Add(batch.Make(i));
            foreach (var record in handed) _sink.OnFlow(record);
        }
        // Then the VoIP records that waited for the nodes: calls classified now, against them.
        _voipHold?.ReplayTo(_sink, c => ClassifyCall(c.Sip) is { } sa ? c with { Service = sa.Service, Applications = sa.Applications } : c);
        return handed;
    }

    /// <summary>
    /// The server names of the held flows that have one (SNI, else DNS), by index, ascending: looked up now, on the
    /// engine's thread, since the DNS names change as the packets go on.
    /// </summary>
    private List<(int Index, string Name)> ServerNamesOf(NativeList<HeldFacts> held, List<(string? Sni, string? ConnectTarget)> names)
    {
        var found = new List<(int, string)>();
        for (int i = 0; i < held.Count; i++)
        {
            ref readonly var h = ref held[i];
            if (ServerNameOf(h.ServerIp, h.Names >= 0 ? names[h.Names].Sni : null) is { } name) found.Add((i, name));
        }
        return found;
    }

    /// <summary>
    /// The held flows as they leave once the nodes are decided (<see cref="IFlowRecordBatch"/>): each record made from its
    /// facts and classified against the nodes decided then, with the server name looked up then, by whichever thread reads
    /// it. It owns the facts' memory and gives it back after the last record (or when collected).
    /// </summary>
    private sealed class HeldRecords(NativeList<HeldFacts> facts, List<(string? Sni, string? ConnectTarget)> names,
        List<(int Index, string Name)> serverNames, HashSet<IpAddress> nodeSet, FlowClassifier classifier) : IFlowRecordBatch
    {
        private int _nextName;

        public int Count { get; } = facts.Count;

        public FlowRecord Make(int index)
        {
            ref readonly var h = ref facts[index];
            var (sni, connectTarget) = h.Names >= 0 ? names[h.Names] : default;
            while (_nextName < serverNames.Count && serverNames[_nextName].Index < index) _nextName++;
            string? serverName = _nextName < serverNames.Count && serverNames[_nextName].Index == index ? serverNames[_nextName].Name : null;
            var record = Classify(classifier, Record(in h, connectTarget), HintsOf(in h, sni), nodeSet, serverName);
            if (index == Count - 1) facts.Dispose();
            return record;
        }
    }

    /// <summary>The nodes' addresses (a loop: LINQ's Select over this value type has no precompiled code and was JIT-compiled at start).</summary>
    private static HashSet<IpAddress> AddressesOf(IReadOnlyList<DetectedNode> nodes)
    {
        var set = new HashSet<IpAddress>(nodes.Count);
        for (int i = 0; i < nodes.Count; i++) set.Add(nodes[i].Address);
        return set;
    }

    private void Decide()
    {
        _nodes = _detector!.Decide();
        _nodeSet = AddressesOf(_nodes);
        _detectorVersionDecided = _detector.Version;
    }

    /// <summary>Collects every record (the engine without a sink given); <see cref="Sorted"/> gives them in flow_id order.</summary>
    private sealed class CollectingSink : IAuditRecordSink
    {
        public readonly List<FlowRecord> Records = new();
        public int Count => Records.Count;
        public void OnFlow(FlowRecord flow) => Records.Add(flow);
        public void OnStream(RtpStreamRecord stream) { }
        public void OnCall(CallRecord call) { }
        public void OnTransaction(SipTransactionStat transaction) { }

        public List<FlowRecord> Sorted()
        {
            Records.Sort((x, y) => x.FlowId.CompareTo(y.FlowId));
            return Records;
        }
    }

    /// <summary>SIP calls seen whose end (BYE, CANCEL, final failure) has not been seen yet; cheap enough for a per-second status line.</summary>
    public int CallsInProgress
    {
        get
        {
            if (_shards is not null) QuiesceShards(); // the merger's thread feeds the SIP analyzer
            _voipStage.Drain(); // the SIP analyzer may be working on another thread
            return _voip.Sip.CallsInProgress;
        }
    }

    /// <param name="flows">The flows the result lists.</param>
    /// <param name="voipFlows">The flow records the VoIP results look up (signalling flows of calls).</param>
    private AuditResult Build(IReadOnlyList<FlowRecord> flows, IReadOnlyList<FlowRecord> voipFlows, IReadOnlyList<DetectedNode> nodes, VoipTracker.VoipOpenSnapshot? openVoip,
        IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        var (streams, calls, voip) = VoipResultBuilder.Build(_voip, _voipHold is { Count: > 0 } ? _voipHold : _voipRecords, openVoip, voipFlows, new SipAnalyzerOptions().MaxTransactionsKept);
        Anomalies.Merge(_voip.Anomalies);
        if (_shards is not null)
        {
            foreach (var s in _shards) Anomalies.Merge(s.Anomalies);
            Anomalies.Merge(_mergerAnomalies!);
        }
        return new AuditResult
        {
            Flows = flows,
            Streams = streams,
            Calls = calls,
            Voip = voip,
            Nodes = nodes,
            Statistics = Statistics,
            Anomalies = Anomalies.Entries,
            Interfaces = interfaces,
            Errors = errors,
        };
    }

    /// <summary>
    /// An ended (or, for a snapshot, open) flow as a record from the client's side, not yet classified
    /// (service, applications, direction, rule and server name are filled by <see cref="Classify"/>).
    /// flow_id is the flow's creation number plus one: flows are numbered by their first packet.
    /// </summary>
    private (FlowRecord Facts, HeldHints Hints) Facts(Flow f)
    {
        HeldFacts h = default;
        ReadFacts(f, ref h);
        return (Record(in h, f.HttpConnectTarget), HintsOf(in h, f.ServerName));
    }

    /// <summary>An ended (or open) flow's facts as plain values, from the client's side (its names are not among them: see <see cref="HoldFacts"/>).</summary>
    private void ReadFacts(Flow f, ref HeldFacts h)
    {
        int c = ChooseClientSide(f, out var by);
        int s = 1 - c;
        bool handshake = f.SynSide >= 0;
        h.FlowId = checked((int)f.Id);
        h.FirstSeenNs = f.FirstSeenNs;
        h.LastSeenNs = f.LastSeenNs;
        h.Transport = f.Key.Protocol;
        h.ClientIp = f.Address(c);
        h.ClientPort = f.Port(c);
        h.ServerIp = f.Address(s);
        h.ServerPort = f.Port(s);
        h.Vlan = f.Key.Vlan;
        h.PacketsC2S = f.Packets[c];
        h.PacketsS2C = f.Packets[s];
        h.BytesC2S = f.Bytes[c];
        h.BytesS2C = f.Bytes[s];
        h.TcpState = f.HandshakeState;
        h.SynRetries = f.SynRetries;
        h.HandshakeRttNs = f.FirstAckNs != 0 && f.LastSynNs != 0 ? f.FirstAckNs - f.LastSynNs : -1;
        // SYN to the server's answer: its SYN/ACK, or the RST that refused the connection.
        h.ServerRttNs = !handshake ? -1 : f.SynAckNs != 0 ? f.SynAckNs - f.LastSynNs : f.RefusingRstNs != 0 ? f.RefusingRstNs - f.LastSynNs : -1;
        h.ClientRttNs = f.HandshakeAckNs != 0 && f.SynAckNs != 0 ? f.HandshakeAckNs - f.SynAckNs : -1;
        h.IcmpUnreachable = f.IcmpUnreachable;
        h.EndReason = f.EndReason;
        h.ClientBy = by;
        h.IsSip = f.IsSip;
        h.CarriesVoip = f.CarriesVoip;
        h.IsHttp = f.IsHttp;
        h.FirstAckNs = f.FirstAckNs;
        h.AckedUnseen = f.AckedUnseen;
        h.DuplicatePackets = f.DuplicatePackets;
        h.Rtp = f.Rtp.IsRtp;
        h.Rtcp = f.Rtp.IsRtcp;
        h.T38 = f.T38Packets > 0;
        h.Tls = f.IsTls;
        h.Names = -1;
    }

    /// <summary>The facts of a flow that is held (<see cref="ReadFacts"/>), its SNI and CONNECT target, when it has either, aside in <see cref="_heldNames"/>.</summary>
    private void HoldFacts(Flow f, ref HeldFacts h)
    {
        ReadFacts(f, ref h);
        if (f.ServerName is not null || f.HttpConnectTarget is not null)
        {
            h.Names = _heldNames.Count;
            _heldNames.Add((f.ServerName, f.HttpConnectTarget));
        }
    }

    private FlowRecord Record(in HeldFacts h) => Record(in h, h.Names >= 0 ? _heldNames[h.Names].ConnectTarget : null);

    private HeldHints HintsOf(in HeldFacts h) => HintsOf(in h, h.Names >= 0 ? _heldNames[h.Names].Sni : null);

    private static HeldHints HintsOf(in HeldFacts h, string? sni) => new(h.Rtp, h.Rtcp, h.T38, h.Tls, sni);

    /// <summary>
    /// The record of a flow's facts, not yet classified (service, applications, direction, rule and server name are
    /// filled by <see cref="Classify"/>). flow_id is the flow's creation number plus one: flows are numbered by their first packet.
    /// </summary>
    private static FlowRecord Record(in HeldFacts h, string? connectTarget) => new()
    {
        FlowId = h.FlowId,
        FirstSeenNs = h.FirstSeenNs,
        LastSeenNs = h.LastSeenNs,
        Transport = h.Transport,
        ClientIp = h.ClientIp,
        ClientPort = h.ClientPort,
        ServerIp = h.ServerIp,
        ServerPort = h.ServerPort,
        Vlan = h.Vlan,
        Service = "",
        Applications = "",
        Direction = "",
        PacketsC2S = h.PacketsC2S,
        PacketsS2C = h.PacketsS2C,
        BytesC2S = h.BytesC2S,
        BytesS2C = h.BytesS2C,
        TcpState = h.TcpState,
        SynRetries = h.SynRetries,
        HandshakeRttNs = h.HandshakeRttNs,
        ServerRttNs = h.ServerRttNs,
        ClientRttNs = h.ClientRttNs,
        MatchedRule = "",
        Infrastructure = false,
        IcmpUnreachable = h.IcmpUnreachable,
        ServerName = null,
        EndReason = h.EndReason,
        ClientBy = ClientChoiceNames[(int)h.ClientBy],
        IsSip = h.IsSip,
        CarriesVoip = h.CarriesVoip,
        IsHttp = h.IsHttp,
        HttpConnectTarget = connectTarget,
        FirstAckNs = h.FirstAckNs,
        AckedUnseen = h.AckedUnseen,
        DuplicatePackets = h.DuplicatePackets,
    };

    /// <summary>What node detection needs of held facts (as <see cref="Observed(FlowRecord, HeldHints)"/>).</summary>
    private static ObservedFlow Observed(in HeldFacts h)
    {
        bool answered = h.Transport == IpProtocol.Tcp ? h.TcpState is TcpHandshakeState.Established or TcpHandshakeState.Midstream : h.PacketsS2C > 0;
        return new ObservedFlow(h.Transport, h.ClientIp, h.ClientPort, h.ServerIp, h.ServerPort, answered, h.PacketsC2S, h.PacketsS2C, h.Rtp);
    }

    private static HeldHints HintsOf(Flow f) => new(f.Rtp.IsRtp, f.Rtp.IsRtcp, f.T38Packets > 0, f.IsTls, f.ServerName);

    /// <summary>What node detection needs of a flow: a flow counts when it was answered (TCP set up, or UDP both ways).</summary>
    private static ObservedFlow Observed(FlowRecord f, HeldHints h)
    {
        bool answered = f.Transport == IpProtocol.Tcp ? f.TcpState is TcpHandshakeState.Established or TcpHandshakeState.Midstream : f.PacketsS2C > 0;
        return new ObservedFlow(f.Transport, f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort, answered, f.PacketsC2S, f.PacketsS2C, h.Rtp);
    }

    /// <summary>
    /// Classifies a record against a node set, in place (the record is made once per flow; no sink has seen
    /// it yet), and returns it; the server's name is the TLS SNI, else its DNS name known now.
    /// </summary>
    private FlowRecord Classify(FlowRecord facts, HeldHints h, HashSet<IpAddress> nodeSet)
        => Classify(_classifier, facts, h, nodeSet, ServerNameOf(facts.ServerIp, h.Sni));

    /// <summary>The server's name a record gets: the TLS SNI, else its DNS name known now.</summary>
    private string? ServerNameOf(IpAddress server, string? sni) => sni ?? (_dns.TryGetName(server, out var n) ? n : null);

    /// <summary><see cref="Classify(FlowRecord, HeldHints, HashSet{IpAddress})"/> with the server's name given: what any thread may run (the classifier is thread-safe).</summary>
    private static FlowRecord Classify(FlowClassifier classifier, FlowRecord facts, HeldHints h, HashSet<IpAddress> nodeSet, string? serverName)
    {
        var ff = new FlowFacts(facts.Transport, facts.ClientIp, facts.ClientPort, facts.ServerIp, facts.ServerPort,
            h.Rtp, h.Rtcp, h.T38, facts.IsSip, h.Tls, serverName,
            nodeSet.Contains(facts.ClientIp), nodeSet.Contains(facts.ServerIp));
        var cls = classifier.Classify(in ff);
        // HTTP on a port the catalogue does not know (a proxy on 3128, say) is still HTTP.
        facts.Service = cls.Service == "unknown" && facts.IsHttp ? "http" : cls.Service;
        facts.Applications = cls.Applications;
        facts.Direction = cls.Direction;
        facts.MatchedRule = cls.MatchedRule;
        facts.Infrastructure = cls.Infrastructure;
        facts.ServerName = serverName;
        return facts;
    }

    /// <summary>
    /// The client is the side that sent the SYN; without one, the side on the ephemeral port
    /// according to the catalogue; else the first sender.
    /// </summary>
    private int ChooseClientSide(Flow f, out ClientChoice by)
    {
        if (f.SynSide >= 0) { by = ClientChoice.Syn; return f.SynSide; }
        if (f.SynAckSide >= 0) { by = ClientChoice.SynAck; return 1 - f.SynAckSide; }
        if (f.Key.Protocol is IpProtocol.Tcp or IpProtocol.Udp)
        {
            bool s0 = _catalogue.IsServicePort(f.Key.Protocol, f.Port(0));
            bool s1 = _catalogue.IsServicePort(f.Key.Protocol, f.Port(1));
            if (s0 != s1) { by = ClientChoice.Catalogue; return s0 ? 1 : 0; }
        }
        by = ClientChoice.FirstSender;
        return 0;
    }

}

/// <summary>What the last live snapshot made of an open flow (see <see cref="AuditEngine"/>'s snapshot): its record and what it was made from.</summary>
internal sealed class FlowSnapshotMemo
{
    public long Packets;
    public int IcmpUnreachable;
    public int NodesVersion;
    public FlowRecord? Record;
}

/// <summary>Everything one run produced, for the outputs.</summary>
public sealed class AuditResult
{
    public required IReadOnlyList<FlowRecord> Flows { get; init; }
    public required IReadOnlyList<RtpStreamRecord> Streams { get; init; }
    public required IReadOnlyList<CallRecord> Calls { get; init; }
    public required VoipSummary Voip { get; init; }
    public required IReadOnlyList<DetectedNode> Nodes { get; init; }
    public required CaptureStatistics Statistics { get; init; }
    public required IReadOnlyList<AnomalyCounters.Entry> Anomalies { get; init; }
    public required IReadOnlyList<CaptureInterface> Interfaces { get; init; }
    public required IReadOnlyList<CaptureReadError> Errors { get; init; }
}
