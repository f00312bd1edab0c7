namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// RTP clock rates, with the same tables and the same rules as Wireshark 4.0's RTP stream analysis
/// (ui/tap-rtp-analysis.c), so that jitter matches tshark. A rate of 0 means "unknown": the
/// statistics then count packets, loss and deltas but no jitter.
/// </summary>
public static class RtpClock
{
    /// <summary>Dynamic payload types start here (RFC 3551 §6).</summary>
    public const byte FirstDynamicPayloadType = 96;
    /// <summary>Comfort noise (RFC 3389), static payload type 13.</summary>
    public const byte ComfortNoise = 13;
    /// <summary>The old, pre-RFC 3389 comfort-noise payload type 19.</summary>
    public const byte ComfortNoiseOld = 19;

    // Static payload types with a clock (IANA RTP parameters; RFC 3551 tables 4 and 5). G.722 keeps
    // an 8000 Hz RTP clock for historic reasons although it samples at 16 kHz. Index = payload type.
    private static readonly uint[] StaticRates = BuildStaticRates();

    private static uint[] BuildStaticRates()
    {
        var r = new uint[FirstDynamicPayloadType];
        foreach (int pt in new[] { 0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 18, 19 }) r[pt] = 8000; // PCMU, 1016, G721, GSM, G723, DVI4/8000, LPC, PCMA, G722, QCELP, CN, G728, G729, CN(old)
        r[6] = 16000;  // DVI4/16000
        r[10] = 44100; // L16 stereo
        r[11] = 44100; // L16 mono
        r[16] = 11025; // DVI4/11025
        r[17] = 22050; // DVI4/22050
        foreach (int pt in new[] { 14, 25, 26, 28, 31, 32, 33, 34 }) r[pt] = 90000; // MPA, CelB, JPEG, nv, H261, MPV, MP2T, H263
        return r;
    }

    // Encoding names of dynamic payload formats (IANA media subtypes), in the order Wireshark 4.0
    // searches them: the last entry whose name is a case-insensitive prefix of the SDP name wins,
    // so "AMR-WB" is found before "AMR". telephone-event is listed by Wireshark with 8000 Hz but its
    // analysis then forces 0, because event packets repeat the timestamp of the event start (RFC 4733 §2.2.1).
    private static readonly (string Name, uint Rate)[] DynamicRates =
    [
        ("AMR", 8000), ("AMR-WB", 16000), ("BMPEG", 90000), ("BT656", 90000), ("DV", 90000),
        ("EVRC", 8000), ("EVRC0", 8000), ("EVRC1", 8000), ("EVRCB", 8000), ("EVRCB0", 8000), ("EVRCB1", 8000),
        ("EVRCWB", 16000), ("EVRCWB0", 16000), ("EVRCWB1", 16000), ("EVS", 16000), ("G7221", 16000),
        ("G726-16", 8000), ("G726-24", 8000), ("G726-32", 8000), ("G726-40", 8000), ("G729D", 8000), ("G729E", 8000),
        ("GSM-EFR", 8000), ("H263-1998", 90000), ("H263-2000", 90000), ("H264", 90000), ("MP1S", 90000),
        ("MP2P", 90000), ("MP4V-ES", 90000), ("mpa-robust", 90000), ("pointer", 90000), ("raw", 90000),
        ("red", 1000), ("SMV", 8000), ("SMV0", 8000), ("t140", 1000), ("telephone-event", 8000),
    ];

    private const string TelephoneEvent = "telephone-event";

    /// <summary>Clock of a static payload type (0..95); 0 for unassigned ones and for 96..127.</summary>
    public static uint ForStaticPayloadType(int payloadType) =>
        (uint)payloadType < FirstDynamicPayloadType ? StaticRates[payloadType] : 0;

    /// <summary>
    /// Clock Wireshark would use for a dynamic payload type known only by its SDP encoding name
    /// (e.g. "AMR-WB"): 0 for telephone-event and for names not in its table (opus, for one, is not in 4.0's table).
    /// </summary>
    public static uint ForEncodingName(ReadOnlySpan<char> encodingName)
    {
        if (IsTelephoneEvent(encodingName)) return 0;
        for (int i = DynamicRates.Length - 1; i >= 0; i--)
            if (encodingName.StartsWith(DynamicRates[i].Name, StringComparison.OrdinalIgnoreCase)) return DynamicRates[i].Rate;
        return 0;
    }

    /// <summary>
    /// The clock for one packet, resolved as Wireshark does: a static type (below 96) always uses the
    /// static table, whatever SDP says; a dynamic type with no rtpmap has no clock; telephone-event has
    /// no clock; otherwise the rtpmap rate, or failing that the encoding-name table.
    /// </summary>
    /// <param name="payloadType">RTP payload type.</param>
    /// <param name="encodingName">rtpmap encoding name from SDP, or null/empty when there was none.</param>
    /// <param name="sdpClockRate">rtpmap clock rate, or 0.</param>
    public static uint Resolve(byte payloadType, ReadOnlySpan<char> encodingName, uint sdpClockRate)
    {
        if (payloadType < FirstDynamicPayloadType) return ForStaticPayloadType(payloadType);
        if (encodingName.IsEmpty || IsTelephoneEvent(encodingName)) return 0;
        return sdpClockRate != 0 ? sdpClockRate : ForEncodingName(encodingName);
    }

    /// <summary>True for "telephone-event" and anything it prefixes (the test Wireshark applies).</summary>
    public static bool IsTelephoneEvent(ReadOnlySpan<char> encodingName) =>
        encodingName.StartsWith(TelephoneEvent, StringComparison.OrdinalIgnoreCase);

    /// <summary>Comfort noise, PT 13 or the older 19: Wireshark leaves these out of delta and jitter figures.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // twice per RTP packet; the JIT left it a call (the class has a static constructor)
    public static bool IsComfortNoise(int payloadType) => payloadType is ComfortNoise or ComfortNoiseOld;
}
