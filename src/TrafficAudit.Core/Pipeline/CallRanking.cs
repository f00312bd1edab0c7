using System.Globalization;
using TrafficAudit.Policy;

namespace TrafficAudit.Pipeline;

/// <summary>
/// The figures a call is held against in the report and the run totals: the profile's per-call media
/// budget and its jitter and loss thresholds (<see cref="PolicyThresholds"/>; defaults without a profile).
/// </summary>
public sealed record CallQualityBudget
{
    /// <summary>IP-layer kbit/s allowed per call and direction (the vendor's G.711 figure, 80).</summary>
    public double CallKbps { get; init; } = 80;
    /// <summary>Highest acceptable RFC 3550 jitter of a stream, ms (the profile's jitter_ms).</summary>
    public double JitterMs { get; init; } = 30;
    /// <summary>Highest acceptable loss of a stream, % (the profile's loss_pct).</summary>
    public double LossPct { get; init; } = 1;

    public static CallQualityBudget From(PolicyThresholds? t) =>
        t is null ? new CallQualityBudget() : new CallQualityBudget { CallKbps = t.CallKbps, JitterMs = t.JitterMs, LossPct = t.LossPct };
}

/// <summary>A call with its number (<see cref="Analyzers.Sip.SipCall.Number"/>, the order of its first INVITE) and what is wrong with it.</summary>
public sealed record RankedCall(CallRecord Call, int Number, IReadOnlyList<string> Problems)
{
    /// <summary>Order in which the totals received it (the last tie-break, for calls that share a number).</summary>
    internal long Arrival { get; init; }
}

/// <summary>
/// Worst first, as the report lists calls: those with a problem (one-way media, MOS below
/// <see cref="MosFloor"/>, loss or jitter over the thresholds, media over the per-call budget, a failed
/// setup) before the others; within each group by MOS (lowest first; calls without RTP last), then loss,
/// then jitter (highest first), then call number. One order for the report and the run totals' bounded selection.
/// </summary>
public static class CallRanking
{
    /// <summary>MOS below this is flagged (E-model R below 70: "some users dissatisfied", ITU-T G.107 Annex B).</summary>
    public const double MosFloor = 3.6;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>What is wrong with a call, in the report's words; empty when nothing is.</summary>
    public static List<string> Problems(CallRecord c, CallQualityBudget budget)
    {
        var p = new List<string>();
        var s = c.Sip;
        if (FindingRules.IsOneWayProblem(c)) p.Add("one-way media");
        if (c.Mos >= 0 && c.Mos < MosFloor) p.Add($"MOS {c.Mos.ToString("F2", Inv)}");
        if (c.Streams.Count > 0 && c.LostPct > budget.LossPct) p.Add($"loss {c.LostPct.ToString("F2", Inv)} %");
        if (c.MaxJitterMs > budget.JitterMs) p.Add($"jitter {c.MaxJitterMs.ToString("F1", Inv)} ms");
        if (Math.Max(c.MediaIpKbpsOut, c.MediaIpKbpsIn) > budget.CallKbps + 0.05) p.Add("over the bandwidth budget");
        if (!s.Answered && s.FinalStatus >= 300) p.Add($"failed: {s.FinalStatus} {s.FinalReason}".TrimEnd());
        return p;
    }

    /// <summary>The worst-first order (negative: <paramref name="a"/> is worse, listed first); a total order once numbers differ.</summary>
    public static readonly IComparer<RankedCall> WorstFirst = Comparer<RankedCall>.Create(Compare);

    private static int Compare(RankedCall? a, RankedCall? b)
    {
        if (ReferenceEquals(a, b)) return 0;
        if (a is null) return 1;
        if (b is null) return -1;
        int c = (a.Problems.Count == 0 ? 1 : 0).CompareTo(b.Problems.Count == 0 ? 1 : 0);
        if (c != 0) return c;
        c = MosKey(a.Call).CompareTo(MosKey(b.Call));
        if (c != 0) return c;
        c = LossKey(b.Call).CompareTo(LossKey(a.Call));          // highest first
        if (c != 0) return c;
        c = b.Call.MaxJitterMs.CompareTo(a.Call.MaxJitterMs);    // highest first
        if (c != 0) return c;
        c = a.Number.CompareTo(b.Number);
        return c != 0 ? c : a.Arrival.CompareTo(b.Arrival);
    }

    private static double MosKey(CallRecord c) => c.Mos < 0 ? double.MaxValue : c.Mos;
    private static double LossKey(CallRecord c) => c.Streams.Count == 0 ? -1 : c.LostPct;
}
