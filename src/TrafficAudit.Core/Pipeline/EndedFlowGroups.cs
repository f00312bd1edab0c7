using TrafficAudit.Flows;

namespace TrafficAudit.Pipeline;

/// <summary>
/// Flows that ended, waiting for the VoIP stage before they become records. A record needs the stage's counts of its
/// flow (T.38 pages, say), and with <c>--threads 2</c> the stage runs on its own thread, some batches behind the engine.
/// The flows that end between two hand-over checks (a sweep, or <see cref="AuditEngine"/>'s limit of ended flows) form
/// a group, stamped with the stage's ticket for every packet handed to it by then; a group leaves
/// <see cref="ChecksLate"/> checks later, once the stage has passed that ticket (usually long before: the engine then
/// never waits). Handing a group over at its own check made the engine wait for the stage at every sweep, and with
/// little VoIP traffic the two threads took turns instead of overlapping. Every thread count hands the same groups at
/// the same checks, so outputs do not depend on it.
/// </summary>
internal sealed class EndedFlowGroups
{
    /// <summary>
    /// Checks a group waits: two, so the stage has two check intervals after the group's own to catch up (the VoIP
    /// stage's takes wait as many, <see cref="AuditEngine"/>). With one, the busy site's engine waited for the stage
    /// 3-7 ms of its first 55 ms (the hold of node detection, when that thread has no rows to share and its work comes in
    /// bursts of SIP): with two it waits under 1 ms, and the loop at two threads takes 0.162 s instead of 0.170 s (12 of
    /// 15 paired runs, README "Round 12"). When the GC's pauses were 45-60 ms a run, two cost more in pauses than they
    /// saved in waits; the pauses are 13-15 ms now and do not grow with it.
    /// </summary>
    public const int ChecksLate = 2;

    private readonly List<Flow>[] _groups = new List<Flow>[ChecksLate + 1];
    private readonly long[] _tickets = new long[ChecksLate + 1];
    private readonly int[] _sizes = new int[ChecksLate + 1];
    private int _first, _count;

    public EndedFlowGroups()
    {
        for (int i = 0; i < _groups.Length; i++) _groups[i] = new List<Flow>();
    }

    /// <summary>Flows in every group.</summary>
    public int Flows { get; private set; }

    /// <summary>Groups waiting (empty ones included: a check with no flow ended still counts).</summary>
    public int Count => _count;

    /// <summary>Moves <paramref name="ended"/> into a new group stamped with <paramref name="ticket"/> and empties it.</summary>
    public void Push(List<Flow> ended, long ticket)
    {
        if (_count == _groups.Length) throw new InvalidOperationException("every group slot is taken: take the oldest first");
        int slot = (_first + _count) % _groups.Length;
        _groups[slot].AddRange(ended);
        _tickets[slot] = ticket;
        _sizes[slot] = ended.Count;
        _count++;
        Flows += ended.Count;
        ended.Clear();
    }

    /// <summary>The oldest group and its ticket; <see cref="ReleaseOldest"/> after its flows were handed over.</summary>
    public List<Flow> Oldest(out long ticket)
    {
        if (_count == 0) throw new InvalidOperationException("no group waits");
        ticket = _tickets[_first];
        return _groups[_first];
    }

    /// <summary>Forgets the oldest group (its list, emptied, serves a later one).</summary>
    public void ReleaseOldest()
    {
        if (_count == 0) throw new InvalidOperationException("no group waits");
        Flows -= _sizes[_first];
        _groups[_first].Clear();
        _first = (_first + 1) % _groups.Length;
        _count--;
    }

    /// <summary>Every waiting flow, oldest group first (snapshots).</summary>
    public IEnumerable<Flow> All()
    {
        for (int i = 0; i < _count; i++)
            foreach (var f in _groups[(_first + i) % _groups.Length]) yield return f;
    }
}
