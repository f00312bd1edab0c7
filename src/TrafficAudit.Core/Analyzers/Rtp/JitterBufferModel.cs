namespace TrafficAudit.Analyzers.Rtp;

/// <summary>Which simulated jitter buffers dropped a packet because it came too late to be played.</summary>
[Flags]
public enum JitterBufferDrops : byte
{
    None = 0,
    /// <summary>Too late for the fixed buffer of <see cref="JitterBufferModel.Fixed1Ms"/>.</summary>
    Fixed1 = 1,
    /// <summary>Too late for the fixed buffer of <see cref="JitterBufferModel.Fixed2Ms"/>.</summary>
    Fixed2 = 2,
    /// <summary>Too late for the adaptive buffer.</summary>
    Adaptive = 4,
}

/// <summary>
/// Three simulated receive jitter buffers fed with the arrivals of one RTP stream, in the spirit of
/// VoIPmonitor's mos_f1, mos_f2 and mos_adapt: a packet that arrives after the moment a buffer would
/// have played it is as good as lost, so the E-model counts it as lost (<see cref="RtpQuality"/>).
/// O(1) per packet, no allocation: a mutable struct kept inside <see cref="RtpStreamStatistics"/>.
/// <para>
/// The playout rule. Each packet's transit is its arrival time minus its RTP timestamp converted to ms
/// (both relative to an anchor packet): a constant transit means the packet came exactly on the
/// sender's clock. A buffer plays a packet at <c>reference + depth</c> on the sender's clock, where
/// <c>reference</c> is the transit of the stream's first packet (playout starts <c>depth</c> after it
/// arrived; packets that come earlier than the schedule wait longer) and <c>depth</c> is how long the
/// buffer holds audio. A packet is late, and dropped, when <c>transit − reference &gt; depth</c>. After
/// <see cref="ResyncAfterLate"/> late packets in a row a buffer re-synchronises on the current packet
/// (reference = its transit), as a real buffer does after the network delay stepped up for good or the
/// sender restarted its timestamps; the packet that triggers it is still counted late. A packet more
/// than <see cref="EarlyResyncMs"/> early (timestamps that jumped forward) re-synchronises it too.
/// </para>
/// <para>
/// Fixed buffers: depth <see cref="Fixed1Ms"/> (50 ms) and <see cref="Fixed2Ms"/> (200 ms).
/// Adaptive buffer: depth follows the spread of the relative transit r = max(0, transit − reference) with
/// RFC 3550-style smoothing: m += (r − m)/16 and v += (|r − m| − v)/16 after each packet; the
/// target is m + 4v (the rule of Ramjee et al., 1994, "Adaptive playout mechanisms for packetized
/// audio applications", with faster smoothing) held within [<see cref="AdaptiveMinMs"/>,
/// <see cref="AdaptiveMaxMs"/>] (50-500 ms; it starts at 50 ms). The depth jumps up to the target at once and shrinks
/// towards it by 1/<see cref="AdaptiveShrinkDivisor"/> of the difference per packet (seconds at
/// 50 packets/s), so one spike is lost but the buffer is ready for the next. Whether a packet is late
/// is judged with the depth as it stood when the packet arrived.
/// </para>
/// <para>
/// Packets without a clock (telephone-event, unknown dynamic payloads: clock 0) are never judged late.
/// When the clock changes (payload switch), the anchor is taken again from that packet. The delay the
/// buffer adds is not charged in the E-model: the figures rate loss only, like the network MOS.
/// </para>
/// </summary>
public struct JitterBufferModel
{
    /// <summary>Depth of the first fixed buffer (VoIPmonitor's f1 default), ms.</summary>
    public const double Fixed1Ms = 50;
    /// <summary>Depth of the second fixed buffer (VoIPmonitor's f2 default), ms.</summary>
    public const double Fixed2Ms = 200;
    /// <summary>Smallest (and starting) depth of the adaptive buffer, ms: never shallower than the first fixed buffer.</summary>
    public const double AdaptiveMinMs = 50;
    /// <summary>Largest depth of the adaptive buffer, ms.</summary>
    public const double AdaptiveMaxMs = 500;
    /// <summary>The adaptive depth closes 1/256 of its gap to a lower target per packet.</summary>
    public const double AdaptiveShrinkDivisor = 256;
    /// <summary>Consecutive late packets after which a buffer re-synchronises on the current packet.</summary>
    public const int ResyncAfterLate = 10;
    /// <summary>A packet this much earlier than the schedule (ms) re-synchronises the buffer on it (a timestamp jump forward).</summary>
    public const double EarlyResyncMs = 1000;

    // Widest fields first: this struct has sequential layout, and this order leaves no padding (96 bytes, not 120).
    private double _anchorMs;
    private double _mean, _deviation;
    private Buffer _f1, _f2, _adaptive;
    private uint _clock;
    private uint _anchorTimestamp;
    private bool _anchored;

    private struct Buffer
    {
        public double Reference;
        public int LateRun;
        public bool Started;

        /// <summary>Judges one packet of relative transit <paramref name="transitMs"/> against <paramref name="depthMs"/>; true when late.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // three times per RTP packet
        public bool IsLate(double transitMs, double depthMs)
        {
            if (!Started || transitMs < Reference - EarlyResyncMs)
            {
                // The first packet sets the schedule; one that comes more than a second early means the
                // sender's clock jumped forward: follow it. Early packets otherwise just wait longer.
                Started = true;
                Reference = transitMs;
            }
            if (transitMs - Reference <= depthMs)
            {
                LateRun = 0;
                return false;
            }
            if (++LateRun >= ResyncAfterLate)
            {
                Reference = transitMs;
                LateRun = 0;
            }
            return true;
        }
    }

    /// <summary>Current depth of the adaptive buffer, ms.</summary>
    public double AdaptiveDepthMs { readonly get; private set; }

    /// <summary>
    /// One packet: arrival <paramref name="arrivalMs"/> (ms on any fixed origin, capture order),
    /// RTP <paramref name="timestamp"/> and the payload's <paramref name="clockRate"/> (0: not judged).
    /// Returns the buffers that would have dropped it.
    /// </summary>
    public JitterBufferDrops Add(double arrivalMs, uint timestamp, uint clockRate)
    {
        if (clockRate == 0) return JitterBufferDrops.None;
        if (!_anchored || clockRate != _clock)
        {
            // A new anchor: transits before and after it are not comparable, so the buffers restart.
            _anchored = true;
            _clock = clockRate;
            _anchorTimestamp = timestamp;
            _anchorMs = arrivalMs;
            _f1 = _f2 = _adaptive = default;
            _mean = _deviation = 0;
            if (AdaptiveDepthMs < AdaptiveMinMs) AdaptiveDepthMs = AdaptiveMinMs;
        }
        // Signed tick difference: timestamps wrap at 2^32 and may step back a little.
        double mediaMs = (int)(timestamp - _anchorTimestamp) * 1000.0 / clockRate;
        double transit = (arrivalMs - _anchorMs) - mediaMs;

        var drops = JitterBufferDrops.None;
        if (_f1.IsLate(transit, Fixed1Ms)) drops |= JitterBufferDrops.Fixed1;
        if (_f2.IsLate(transit, Fixed2Ms)) drops |= JitterBufferDrops.Fixed2;
        if (_adaptive.IsLate(transit, AdaptiveDepthMs)) drops |= JitterBufferDrops.Adaptive;

        // Adaptation after the verdict: smoothed relative transit and its mean deviation (1/16, as RFC 3550 A.8).
        // Plain comparisons instead of Math.Max and Math.Clamp, whose NaN and signed-zero rules cost a dozen instructions
        // per packet here: the values are finite, and a relative transit of -0 becomes +0 either way.
        double r = transit - _adaptive.Reference;
        if (!(r > 0)) r = 0; // an early packet is on time for the buffer
        double mean = _mean + (r - _mean) / 16;
        double deviation = _deviation + (Math.Abs(r - mean) - _deviation) / 16;
        _mean = mean;
        _deviation = deviation;
        double target = mean + 4 * deviation;
        if (target < AdaptiveMinMs) target = AdaptiveMinMs;
        else if (target > AdaptiveMaxMs) target = AdaptiveMaxMs;
        double depth = AdaptiveDepthMs;
        AdaptiveDepthMs = target >= depth ? target : depth - (depth - target) / AdaptiveShrinkDivisor;
        return drops;
    }
}
