using System.Text;
using TrafficAudit.Analyzers;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline;

/// <summary>
/// One engine for every source (files or a live interface): frames in, decoded packets through
/// the flow table and payload analyzers; <see cref="Complete"/> classifies the flows.
/// <see cref="Process"/> is the hot path and allocates only when a flow starts.
/// </summary>
public sealed class AuditEngine : IDisposable
{
    private readonly PortCatalogue _catalogue;
    private readonly AuditOptions _options;
    private readonly PacketDecoder _decoder;
    private readonly FlowTable _flows;
    private readonly VoipTracker _voip;
    private readonly VoipPipeline _voipStage;
    // VoIP records the stage ended, gathered for the batch result (no sink given).
    private readonly VoipRecordCollector _voipRecords;
    private long _nextVoipTakeNs = long.MinValue;
    /// <summary>Addresses whose DNS name is remembered (to name servers in flows.csv); further answers are counted in <c>dns_names_limit</c>.</summary>
    public const int MaxDnsNames = DnsNamesAnalyzer.MaxNames;
    private readonly DnsNamesAnalyzer _dns;
    private readonly FlowAnalyzerRegistry _analyzers;
    private DecodedPacket _packet;
    private long _lastTs = long.MinValue;

    public AuditEngine(PortCatalogue catalogue, AuditOptions options)
    {
        _catalogue = catalogue;
        _options = options;
        _decoder = new PacketDecoder(Anomalies);
        _flows = new FlowTable(options.Timeouts);
        _voip = new VoipTracker(new AnomalyCounters(), options.Voip ?? new VoipTrackerOptions { StreamIdleNs = options.Timeouts.UdpIdleNs });
        _voipRecords = new VoipRecordCollector(Anomalies, new SipAnalyzerOptions().MaxTransactionsKept);
        _voipStage = new VoipPipeline(_voip, options.ParallelVoip ?? Environment.ProcessorCount > 1);
        // Payload analyzers, in the order they see each packet (see FlowAnalyzerRegistry).
        _dns = new DnsNamesAnalyzer(Anomalies);
        _analyzers = new FlowAnalyzerRegistry(_dns, new RtpProbeAnalyzer(Anomalies), new SipHintAnalyzer(), new HttpAnalyzer(), new TlsAnalyzer(),
            new VoipStageAnalyzer(_voipStage, IsSipPort));
        _flows.FlowEnded = _analyzers.End;
    }

    /// <summary>The payload analyzers the engine runs.</summary>
    public FlowAnalyzerRegistry Analyzers => _analyzers;

    public AnomalyCounters Anomalies { get; } = new();

    /// <summary>Stops the VoIP worker thread, if any.</summary>
    public void Dispose() => _voipStage.Dispose();
    public CaptureStatistics Statistics { get; } = new();
    public FlowTable Flows => _flows;
    /// <summary>The VoIP stage (tests look at its open state; the engine takes its ended records).</summary>
    internal VoipPipeline VoipStage => _voipStage;

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

        switch (_decoder.Decode(header.LinkType, frame, ts, ref _packet, out var buffer))
        {
            case DecodeStatus.Ok: break;
            case DecodeStatus.NotIp: st.NonIpFrames++; return;
            case DecodeStatus.FragmentPending: st.FragmentsHeld++; return;
            default: st.MalformedFrames++; return;
        }
        st.IpPackets++;
        ref readonly DecodedPacket p = ref _packet;
        if (p.IcmpUnreachable && !_flows.TrackUnreachable(in p, ts)) Anomalies.Increment("icmp_unreachable_unknown_flow");

        Flow flow = _flows.Track(in p, ts, out int side);
        _analyzers.Process(flow, new AnalyzerPacket(in p, buffer.Slice(p.PayloadOffset, p.PayloadLength), side, in header));
        // Every 10 s of capture time the VoIP records that ended are taken over, on this thread.
        if (ts >= _nextVoipTakeNs) { _nextVoipTakeNs = ts + 10_000_000_000L; _voipStage.TakeEnded(_voipRecords); }
    }

    /// <summary>The catalogue's SIP ports (`sipPorts`, 5060-5071 built in): TCP segments there go to SIP reassembly from the SYN on.</summary>
    private bool IsSipPort(ushort port) => _catalogue.IsSipPort(port);

    /// <summary>Ends the run: drops unfinished IP datagrams (counted), closes every flow, finds the Imagicle nodes, classifies and numbers the flows.</summary>
    public AuditResult Complete(IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        // Datagrams still waiting for fragments will never complete: counted as ip_fragment_incomplete, not lost silently.
        _decoder.FlushFragments();
        _voipStage.Drain();
        _voip.Complete(Statistics.LastNs);
        _voipStage.TakeEnded(_voipRecords);
        var result = Build(_flows.Complete(), null, interfaces, errors);
        _voipStage.Dispose();
        return result;
    }

    /// <summary>
    /// The result so far, without ending any flow, SIP transaction or call (periodic output while
    /// capturing live): processing may go on, and a later <see cref="Complete"/> gives the same
    /// result as a run that never took a snapshot.
    /// </summary>
    public AuditResult Snapshot(IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        _voipStage.Drain();
        _voipStage.TakeEnded(_voipRecords);
        foreach (var f in _flows.Active) _analyzers.Snapshot(f);
        return Build(_flows.Snapshot(), _voip.Snapshot(Statistics.LastNs), interfaces, errors);
    }

    /// <summary>SIP calls seen whose end (BYE, CANCEL, final failure) has not been seen yet; cheap enough for a per-second status line.</summary>
    public int CallsInProgress
    {
        get
        {
            _voipStage.Drain(); // the SIP analyzer may be working on another thread
            return _voip.Sip.CallsInProgress;
        }
    }

    private AuditResult Build(IReadOnlyList<Flow> flows, VoipTracker.VoipOpenSnapshot? openVoip, IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        var oriented = new List<(Flow Flow, int ClientSide, string By)>(flows.Count);
        foreach (var f in flows) oriented.Add((f, ChooseClientSide(f, out var by), by));

        IReadOnlyList<DetectedNode> nodes = DetectNodes(oriented, _options.Servers, _options.ServersSource, _catalogue.NodeEvidence);
        var nodeSet = nodes.Select(n => n.Address).ToHashSet();

        var classifier = new FlowClassifier(_catalogue);
        var records = new List<FlowRecord>(flows.Count);
        foreach (var (f, c, by) in oriented)
        {
            int s = 1 - c;
            var clientIp = f.Address(c);
            var serverIp = f.Address(s);
            string? serverName = f.ServerName ?? (_dns.TryGetName(serverIp, out var n) ? n : null);
            var facts = new FlowFacts(f.Key.Protocol, clientIp, f.Port(c), serverIp, f.Port(s),
                f.Rtp.IsRtp, f.Rtp.IsRtcp, f.T38Packets > 0, f.IsSip, f.IsTls, serverName,
                nodeSet.Contains(clientIp), nodeSet.Contains(serverIp));
            var cls = classifier.Classify(in facts);
            // HTTP on a port the catalogue does not know (a proxy on 3128, say) is still HTTP.
            string service = cls.Service == "unknown" && f.IsHttp ? "http" : cls.Service;
            bool handshake = f.SynSide >= 0;
            records.Add(new FlowRecord
            {
                FlowId = records.Count + 1,
                FirstSeenNs = f.FirstSeenNs,
                LastSeenNs = f.LastSeenNs,
                Transport = f.Key.Protocol,
                ClientIp = clientIp,
                ClientPort = f.Port(c),
                ServerIp = serverIp,
                ServerPort = f.Port(s),
                Vlan = f.Key.Vlan,
                Service = service,
                Applications = cls.Applications,
                Direction = cls.Direction,
                PacketsC2S = f.Packets[c],
                PacketsS2C = f.Packets[s],
                BytesC2S = f.Bytes[c],
                BytesS2C = f.Bytes[s],
                TcpState = f.HandshakeState,
                SynRetries = f.SynRetries,
                HandshakeRttNs = f.FirstAckNs != 0 && f.LastSynNs != 0 ? f.FirstAckNs - f.LastSynNs : -1,
                // SYN to the server's answer: its SYN/ACK, or the RST that refused the connection.
                ServerRttNs = !handshake ? -1 : f.SynAckNs != 0 ? f.SynAckNs - f.LastSynNs : f.RefusingRstNs != 0 ? f.RefusingRstNs - f.LastSynNs : -1,
                ClientRttNs = f.HandshakeAckNs != 0 && f.SynAckNs != 0 ? f.HandshakeAckNs - f.SynAckNs : -1,
                MatchedRule = cls.MatchedRule,
                Infrastructure = cls.Infrastructure,
                IcmpUnreachable = f.IcmpUnreachable,
                ServerName = serverName,
                EndReason = f.EndReason,
                ClientBy = by,
                Source = f,
            });
        }
        var (streams, calls, voip) = VoipResultBuilder.Build(_voip, _voipRecords, openVoip, records, new SipAnalyzerOptions().MaxTransactionsKept);
        Anomalies.Merge(_voip.Anomalies);
        return new AuditResult
        {
            Flows = records,
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
    /// The client is the side that sent the SYN; without one, the side on the ephemeral port
    /// according to the catalogue; else the first sender.
    /// </summary>
    private int ChooseClientSide(Flow f, out string by)
    {
        if (f.SynSide >= 0) { by = "syn"; return f.SynSide; }
        if (f.SynAckSide >= 0) { by = "synack"; return 1 - f.SynAckSide; }
        if (f.Key.Protocol is IpProtocol.Tcp or IpProtocol.Udp)
        {
            bool s0 = _catalogue.IsServicePort(f.Key.Protocol, f.Port(0));
            bool s1 = _catalogue.IsServicePort(f.Key.Protocol, f.Port(1));
            if (s0 != s1) { by = "catalogue"; return s0 ? 1 : 0; }
        }
        by = "first_sender";
        return 0;
    }

    private static IReadOnlyList<DetectedNode> DetectNodes(List<(Flow Flow, int ClientSide, string By)> flows, IReadOnlyList<IpAddress> explicitServers,
        NodeSource source, NodeEvidenceRules rules)
    {
        var observed = new List<ObservedFlow>(flows.Count);
        foreach (var (f, c, _) in flows)
        {
            int s = 1 - c;
            bool answered = f.IsTcp ? f.HandshakeState is TcpHandshakeState.Established or TcpHandshakeState.Midstream : f.Packets[s] > 0;
            observed.Add(new ObservedFlow(f.Key.Protocol, f.Address(c), f.Port(c), f.Address(s), f.Port(s), answered, f.Packets[c], f.Packets[s], f.Rtp.IsRtp));
        }
        return NodeDetector.Detect(observed, explicitServers.Count > 0 ? explicitServers.ToList() : null, source, rules);
    }
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
