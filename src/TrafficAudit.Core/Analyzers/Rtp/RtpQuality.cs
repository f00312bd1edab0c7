namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// Codec impairment for the E-model: Ie (equipment impairment at zero loss) and Bpl (packet-loss
/// robustness), ITU-T G.113 Appendix I values.
/// </summary>
public readonly record struct CodecImpairment(string Name, double Ie, double Bpl)
{
    /// <summary>G.711 (PCMU/PCMA) with packet loss concealment: Ie 0, Bpl 25.1.</summary>
    public static CodecImpairment G711 { get; } = new("G.711", 0, 25.1);
    /// <summary>G.729 / G.729A (8 kbit/s CS-ACELP): Ie 11, Bpl 19.0.</summary>
    public static CodecImpairment G729 { get; } = new("G.729", 11, 19.0);
    /// <summary>
    /// G.722 judged on the narrowband scale: no narrowband Ie is defined for it (G.113 gives wideband
    /// values on a 129-point scale), so it is treated like G.711 (Ie 0, Bpl 25.1) and capped at narrowband MOS.
    /// </summary>
    public static CodecImpairment G722 { get; } = new("G.722", 0, 25.1);
    /// <summary>Any other codec: a cautious placeholder, Ie 10, Bpl 20 (between G.711 and G.729).</summary>
    public static CodecImpairment Other { get; } = new("other", 10, 20);

    /// <summary>The impairment for a static payload type: 0/8 G.711, 9 G.722, 18 G.729, anything else <see cref="Other"/>.</summary>
    public static CodecImpairment ForPayloadType(int payloadType) => payloadType switch
    {
        0 or 8 => G711,
        9 => G722,
        18 => G729,
        _ => Other,
    };

    /// <summary>The impairment for an SDP encoding name (PCMU, PCMA, G722, G729...), <see cref="Other"/> when unknown.</summary>
    public static CodecImpairment ForEncodingName(ReadOnlySpan<char> name) =>
        name.Equals("PCMU", StringComparison.OrdinalIgnoreCase) || name.Equals("PCMA", StringComparison.OrdinalIgnoreCase) ? G711
        : name.Equals("G722", StringComparison.OrdinalIgnoreCase) ? G722
        : name.StartsWith("G729", StringComparison.OrdinalIgnoreCase) ? G729
        : Other;
}

/// <summary>
/// A MOS estimate from a simplified ITU-T G.107 E-model (narrowband):
/// <code>
/// R = 93.2 - Id - Ie_eff                         (R0 - Is with all G.107 defaults = 93.2; A = 0)
/// Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)   (Cole and Rosenbluth's fit of G.107's delay impairment, d = one-way mouth-to-ear delay in ms)
/// Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)   (G.107 §3.5; Ppl = loss in percent)
/// MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)  for 0 &lt; R &lt; 100; 1 below, 4.5 above (G.107 Annex B)
/// </code>
/// Without a delay the delay term is left out (Id = 0): the figure then rates the codec and the loss only.
/// BurstR is 1 for random loss; from observed bursts it is estimated as 1 / (p + q) with
/// p = bursts / packets received (chance that a loss follows a received packet) and
/// q = bursts / packets lost (chance that a received packet follows a loss), as G.107 defines it
/// for a two-state Markov model. Jitter enters through <see cref="EstimatePlayoutMos"/>: packets a
/// simulated jitter buffer could not play in time count as lost.
/// </summary>
public static class RtpQuality
{
    /// <summary>R for a connection with default G.107 parameters and no impairment from delay, codec or loss.</summary>
    public const double DefaultR = 93.2;

    /// <summary>Delay impairment Id for a one-way delay in ms (Cole and Rosenbluth, 2001).</summary>
    public static double DelayImpairment(double oneWayDelayMs)
    {
        if (oneWayDelayMs <= 0) return 0;
        double id = 0.024 * oneWayDelayMs;
        if (oneWayDelayMs > 177.3) id += 0.11 * (oneWayDelayMs - 177.3);
        return id;
    }

    /// <summary>Effective equipment impairment for a loss ratio (0..1) and burst ratio (≥ 1 bursty, 1 random).</summary>
    public static double EffectiveEquipmentImpairment(CodecImpairment codec, double lossRatio, double burstRatio = 1)
    {
        double ppl = Math.Clamp(lossRatio, 0, 1) * 100;
        if (burstRatio < 1 || double.IsNaN(burstRatio)) burstRatio = 1;
        return codec.Ie + (95 - codec.Ie) * ppl / (ppl / burstRatio + codec.Bpl);
    }

    /// <summary>The transmission rating R.</summary>
    public static double RFactor(CodecImpairment codec, double lossRatio, double burstRatio = 1, double? oneWayDelayMs = null) =>
        DefaultR - DelayImpairment(oneWayDelayMs ?? 0) - EffectiveEquipmentImpairment(codec, lossRatio, burstRatio);

    /// <summary>MOS (conversational quality, 1..4.5) from R (G.107 Annex B).</summary>
    public static double MosFromR(double r)
    {
        if (r <= 0) return 1;
        if (r >= 100) return 4.5;
        return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
    }

    /// <summary>MOS for a codec, loss ratio, burst ratio and optional one-way delay.</summary>
    public static double EstimateMos(CodecImpairment codec, double lossRatio, double burstRatio = 1, double? oneWayDelayMs = null) =>
        MosFromR(RFactor(codec, lossRatio, burstRatio, oneWayDelayMs));

    /// <summary>G.107's burst ratio estimated from a stream's loss runs; 1 without loss.</summary>
    public static double BurstRatio(in RtpLossBursts bursts, long packetsReceived)
    {
        if (bursts.Bursts == 0 || bursts.LostPackets == 0 || packetsReceived <= 0) return 1;
        double p = (double)bursts.Bursts / packetsReceived;
        double q = (double)bursts.Bursts / bursts.LostPackets;
        return Math.Max(1, 1 / (p + q));
    }

    /// <summary>MOS of one stream from its distinct loss and loss bursts: what the network delivered (no jitter buffer).</summary>
    public static double EstimateMos(in RtpStreamStatistics stream, CodecImpairment codec, double? oneWayDelayMs = null)
    {
        var bursts = stream.GetLossBursts();
        return EstimateMos(codec, stream.LossRatio, BurstRatio(bursts, stream.DistinctPackets), oneWayDelayMs);
    }

    /// <summary>
    /// MOS of one stream as heard behind jitter-buffer model <paramref name="model"/> (see
    /// <see cref="JitterBufferModel"/>; 0 fixed 50 ms, 1 fixed 200 ms, 2 adaptive): packets lost in the network
    /// and packets that came too late to be played both count as lost, with the burst ratio of the runs
    /// the listener hears.
    /// </summary>
    public static double EstimatePlayoutMos(in RtpStreamStatistics stream, int model, CodecImpairment codec, double? oneWayDelayMs = null)
    {
        var bursts = stream.GetPlayoutLossBursts(model);
        long played = stream.ExpectedDistinct - bursts.LostPackets;
        return EstimateMos(codec, stream.PlayoutLossRatio(model), BurstRatio(bursts, played), oneWayDelayMs);
    }
}
