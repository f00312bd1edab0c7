namespace TrafficAudit.Policy;

/// <summary>
/// The state of one requirement of the expected-flow matrix. One vocabulary for every writer (console,
/// report banner, requirements table and matrix cells, expected_flows.csv): its text is
/// <see cref="RequirementStatus.Label"/>, its colour <see cref="RequirementStatus.Tone"/>.
/// </summary>
public enum RequirementState : byte
{
    /// <summary>Seen, and every matching flow worked within its budget.</summary>
    Pass,
    /// <summary>Seen, but some matching flow was blocked, refused, over its round-trip budget, or carried one-way media.</summary>
    Fail,
    /// <summary>Required and not seen in the capture: a missing_flow error, always.</summary>
    NotSeenRequired,
    /// <summary>Optional or on demand (LDAP, SMB, console live update, RDP, web access) and not seen: never a finding.</summary>
    NotSeenOptional,
    /// <summary>Not expected in this capture: media when the capture holds no answered call.</summary>
    NotExpected,
}

/// <summary>Why a requirement failed; several can hold at once.</summary>
[Flags]
public enum RequirementFailure : byte
{
    None = 0,
    /// <summary>TCP SYNs never answered, or a node's UDP request never answered.</summary>
    Blocked = 1,
    /// <summary>RST in answer to a SYN, or an ICMP unreachable.</summary>
    Refused = 2,
    /// <summary>Answered (the connection worked) but above the vendor's round-trip budget: never "blocked".</summary>
    OverBudget = 4,
    /// <summary>Media of an answered call flowed one way although its SDP asked for both.</summary>
    OneWay = 8,
}

/// <summary>How a writer colours a state: good (green), bad (red), neutral (grey). Optional rows are never red.</summary>
public enum RequirementTone : byte { Good, Bad, Neutral }

/// <summary>A requirement's state with its failure reasons; the only place that names and colours it.</summary>
public readonly record struct RequirementStatus(RequirementState State, RequirementFailure Failures = RequirementFailure.None)
{
    public static RequirementStatus Pass => new(RequirementState.Pass);
    public static RequirementStatus NotSeenRequired => new(RequirementState.NotSeenRequired);
    public static RequirementStatus NotSeenOptional => new(RequirementState.NotSeenOptional);
    public static RequirementStatus NotExpected => new(RequirementState.NotExpected);
    public static RequirementStatus Fail(RequirementFailure failures) => new(RequirementState.Fail, failures);

    /// <summary>Worst-first order for every list of requirements: FAIL, NOT SEEN (required), NOT SEEN (optional), PASS, NOT EXPECTED.</summary>
    public int WorstFirstRank => State switch
    {
        RequirementState.Fail => 0,
        RequirementState.NotSeenRequired => 1,
        RequirementState.NotSeenOptional => 2,
        RequirementState.Pass => 3,
        _ => 4,
    };

    /// <summary>The words every writer shows: PASS, FAIL (blocked, over budget), NOT SEEN (required), NOT SEEN (optional), NOT EXPECTED.</summary>
    public string Label => State switch
    {
        RequirementState.Pass => "PASS",
        RequirementState.Fail => $"FAIL ({FailureText(Failures)})",
        RequirementState.NotSeenRequired => "NOT SEEN (required)",
        RequirementState.NotSeenOptional => "NOT SEEN (optional)",
        _ => "NOT EXPECTED",
    };

    /// <summary>The state's word without the reason (PASS, FAIL, NOT SEEN, NOT EXPECTED), for narrow columns that show the label in full on hover.</summary>
    public string Word => State switch
    {
        RequirementState.Pass => "PASS",
        RequirementState.Fail => "FAIL",
        RequirementState.NotSeenRequired or RequirementState.NotSeenOptional => "NOT SEEN",
        _ => "NOT EXPECTED",
    };

    /// <summary>Green for PASS; red for FAIL and for a required row not seen (it is a missing_flow error); grey otherwise.</summary>
    public RequirementTone Tone => State switch
    {
        RequirementState.Pass => RequirementTone.Good,
        RequirementState.Fail or RequirementState.NotSeenRequired => RequirementTone.Bad,
        _ => RequirementTone.Neutral,
    };

    /// <summary>True when the requirement raises a missing_flow finding: exactly the NOT SEEN (required) rows.</summary>
    public bool IsMissing => State == RequirementState.NotSeenRequired;

    /// <summary>"blocked, refused, over budget, one-way" in that order.</summary>
    public static string FailureText(RequirementFailure f)
    {
        var parts = new List<string>(4);
        if (f.HasFlag(RequirementFailure.Blocked)) parts.Add("blocked");
        if (f.HasFlag(RequirementFailure.Refused)) parts.Add("refused");
        if (f.HasFlag(RequirementFailure.OverBudget)) parts.Add("over budget");
        if (f.HasFlag(RequirementFailure.OneWay)) parts.Add("one-way");
        return string.Join(", ", parts);
    }

    public override string ToString() => Label;
}
