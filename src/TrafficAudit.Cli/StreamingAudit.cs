using TrafficAudit.Capture;
using TrafficAudit.Outputs;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Cli;

/// <summary>
/// A run whose records leave the engine as they end (issue 9): each flow, RTP stream, call and SIP
/// transaction goes at once to the record logs (appended by a writer thread, --format, --rotate), to the
/// run totals the console and the report read, and to the incremental policy; the engine then forgets
/// it. Memory follows what is open, not what was seen, and the work after the last packet is what is
/// still open. <see cref="AuditSetup.Streams"/> says when a run streams.
/// </summary>
internal sealed class StreamingAudit : IDisposable
{
    private readonly AuditSetup _setup;
    private readonly SettledPolicySink _policy;
    private bool _logClosed;

    public StreamingAudit(AuditSetup setup)
    {
        _setup = setup;
        Log = setup.CreateRecordLog();
        Totals = setup.NewRunTotals();
        AuditEngine? engine = null;
        var settled = new NodesAtFirstRecord(() => engine!.Nodes);
        _policy = new SettledPolicySink(setup.Catalogue, setup.Profile, () => settled.Nodes ?? engine!.Nodes);
        // The totals and the policy run on the record log's writer thread, after each row: the engine's thread only
        // queues the record (with --threads 1 there is no writer thread, and the one thread does both). They read the nodes the engine had settled when it handed over its first record.
        Log.Then(new FanOutSink(Totals, _policy));
        Engine = engine = setup.CreateEngine(new FanOutSink(settled, Log));
    }

    /// <summary>
    /// On the engine's thread: the nodes when the first record is handed over, the ones the policy judges against (the
    /// policy, on the writer thread, meets that record later, when the engine may have decided more nodes).
    /// </summary>
    private sealed class NodesAtFirstRecord(Func<IReadOnlyList<TrafficAudit.Classification.DetectedNode>> nodes) : IAuditRecordSink
    {
        public IReadOnlyList<TrafficAudit.Classification.DetectedNode>? Nodes { get; private set; }

        private void Take() => Nodes ??= nodes();
        public void OnFlow(FlowRecord flow) => Take();
        /// <summary>Takes the nodes; the records are the record log's to make.</summary>
        public void OnFlows(IFlowRecordBatch flows) => Take();
        public void OnStream(RtpStreamRecord stream) => Take();
        public void OnCall(CallRecord call) => Take();
        public void OnTransaction(TrafficAudit.Analyzers.Sip.SipTransactionStat transaction) => Take();
    }

    /// <summary>
    /// The streaming run of <paramref name="setup"/>, or null when it collects (<see cref="AuditSetup.Streams"/>).
    /// False, with the reason on <paramref name="stderr"/>, when the output folder cannot be written: before the first packet.
    /// </summary>
    public static bool TryOpen(AuditSetup setup, TextWriter stderr, out StreamingAudit? streaming)
    {
        streaming = null;
        try
        {
            if (setup.Streams) streaming = new StreamingAudit(setup);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"trafficaudit: cannot write to {setup.OutDir}: {TrafficAudit.Capture.IoErrors.Describe(e)}; choose another folder with --out");
            return false;
        }
    }

    /// <summary>
    /// Ends the run of <paramref name="engine"/>: a streaming run closes its logs and judges (<paramref name="verdict"/>
    /// set); a collecting one returns its full result (verdict null: judged with the outputs). False, with the
    /// reason on <paramref name="stderr"/>, when the record files could not be written.
    /// </summary>
    public static bool TryComplete(StreamingAudit? streaming, AuditEngine engine, IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors,
        string outDir, TextWriter stderr, out AuditResult result, out Verdict? verdict)
    {
        verdict = null;
        if (streaming is null)
        {
            result = engine.Complete(interfaces, errors);
            return true;
        }
        try
        {
            (result, verdict) = streaming.Complete(interfaces, errors);
            return true;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"trafficaudit: cannot write to {outDir}: {e.Message}; choose another folder with --out");
            result = null!;
            return false;
        }
    }

    public AuditEngine Engine { get; }
    public RecordLog Log { get; }
    public RunTotals Totals { get; }

    /// <summary>
    /// The end of input: every record still open leaves, the record logs are closed (all rows on disk),
    /// and the verdict is judged. The result's record lists are empty (the records are in the logs).
    /// </summary>
    public (AuditResult Result, Verdict Verdict) Complete(IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        var result = Engine.Complete(interfaces, errors);
        CloseLog();
        ThrowIfPolicyFailed();
        return (result, _policy.Evaluate(result.Statistics, result.Interfaces, result.Errors));
    }

    /// <summary>
    /// A live flush, on the capture thread and ending nothing: the records still open (a snapshot) are
    /// judged into this verdict only and counted into a copy of the totals, so that they count once when
    /// they really end. The rows handed to the logs so far are written out (<see cref="RecordLog.Flush"/>).
    /// </summary>
    public (AuditResult Open, Verdict Verdict, RunTotals Totals) Snapshot(IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        var snapshot = Engine.Snapshot(interfaces, errors);
        // The policy and the totals are the writer thread's until it has taken every record handed over so far.
        Log.Sync();
        ThrowIfPolicyFailed();
        // Outputs are written on another thread while the capture goes on: they get copies of what keeps changing.
        var open = new AuditResult
        {
            Flows = snapshot.Flows, Streams = snapshot.Streams, Calls = snapshot.Calls, Voip = snapshot.Voip, Nodes = snapshot.Nodes,
            Statistics = snapshot.Statistics.Copy(), Anomalies = snapshot.Anomalies, Interfaces = snapshot.Interfaces.ToList(), Errors = snapshot.Errors.ToList(),
        };
        var verdict = _policy.Evaluate(open.Statistics, open.Interfaces, open.Errors,
            new OpenRecords(open.Flows, open.Voip.Transactions, open.Streams, open.Calls));
        var totals = Totals.Clone();
        foreach (var f in open.Flows) totals.OnFlow(f);
        foreach (var s in open.Streams) totals.OnStream(s);
        foreach (var c in open.Calls) totals.OnCall(c);
        return (open, verdict, totals);
    }

    /// <summary>A bug in the policy or the totals, met on the writer thread, surfaces on the engine's thread.</summary>
    private void ThrowIfPolicyFailed()
    {
        if (Log.ThenFailure is { } e) throw new InvalidOperationException("judging the records failed: " + e.Message, e);
    }

    /// <summary>Writes what the logs were handed to their files (whole rows), waiting for the writer thread.</summary>
    public void FlushLog() => Log.Flush();

    private void CloseLog()
    {
        if (_logClosed) return;
        _logClosed = true;
        Log.Dispose();
        if (Log.Failure is { } e) throw new IOException($"writing the record files failed: {e.Message}", e);
    }

    /// <summary>A run that ends before any packet was audited (no decodable packet): the record files it opened are removed, as a batch run writes none.</summary>
    public void Abandon()
    {
        if (_logClosed) return;
        _logClosed = true;
        Log.Dispose();
        foreach (var f in Log.FilesOpened)
        {
            try { File.Delete(f); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    public void Dispose()
    {
        if (!_logClosed) { _logClosed = true; Log.Dispose(); }
        Engine.Dispose();
    }
}
