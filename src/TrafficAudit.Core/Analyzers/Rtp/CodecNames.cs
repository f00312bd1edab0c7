namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// One spelling per codec in the outputs. SDP encoding names are case-insensitive (RFC 4566 §6, rtpmap)
/// and endpoints write them as they like (<c>PCMA</c>, <c>pcma</c>); the outputs use the spelling of
/// IANA's RTP payload format registry, which Wireshark's SDP dissector shows too (PCMU, PCMA, G722,
/// G729, opus, telephone-event...). A name the table does not know keeps the sender's spelling.
/// The clock rate is never part of the name: <c>PCMA/8000</c> is PCMA with a clock of 8000 Hz.
/// </summary>
public static class CodecNames
{
    private static readonly string[] Known =
    [
        "PCMU", "PCMA", "G722", "G723", "G728", "G729", "G729D", "G729E", "G7221", "G719",
        "G726-16", "G726-24", "G726-32", "G726-40", "GSM", "GSM-EFR", "CN", "L8", "L16", "L24", "DVI4",
        "LPC", "QCELP", "MPA", "AMR", "AMR-WB", "EVS", "EVRC", "iLBC", "speex", "SILK", "opus",
        "telephone-event", "red", "t140", "t38", "H261", "H263", "H263-1998", "H263-2000", "H264", "H265",
        "VP8", "VP9", "AV1", "JPEG", "MPV", "MP2T", "rtx", "ulpfec", "flexfec",
    ];

    /// <summary>The registry spelling of <paramref name="encodingName"/> (without any <c>/rate</c> part), or the name as given.</summary>
    public static string Normalise(string encodingName)
    {
        var name = encodingName.AsSpan().Trim();
        int slash = name.IndexOf('/');
        if (slash >= 0) name = name[..slash];
        // Annex A/B variants are G.729 on the wire (RTP payload type 18 covers them all, RFC 3551 §4.5.6).
        if (name.Equals("G729a", StringComparison.OrdinalIgnoreCase) || name.Equals("G729ab", StringComparison.OrdinalIgnoreCase)) return "G729";
        foreach (var k in Known)
            if (name.Equals(k, StringComparison.OrdinalIgnoreCase)) return k;
        return name.Length == encodingName.Length ? encodingName : name.ToString();
    }

    /// <summary>
    /// Splits an SDP-style <c>NAME/RATE[/CHANNELS]</c> label into the normalised name and the rate
    /// (0 when absent or unreadable).
    /// </summary>
    public static (string Name, uint ClockRate) Split(string label)
    {
        string name = Normalise(label);
        int slash = label.IndexOf('/');
        if (slash < 0) return (name, 0);
        var rest = label.AsSpan(slash + 1);
        int next = rest.IndexOf('/');
        if (next >= 0) rest = rest[..next];
        return (name, uint.TryParse(rest, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint rate) ? rate : 0);
    }

    /// <summary>The nominal clock of a codec name when SDP gave none: the static payload types' rates (RFC 3551), 8000 for telephone-event, 48000 for opus (RFC 7587), else 0.</summary>
    public static uint NominalClockRate(string normalisedName) => normalisedName switch
    {
        "PCMU" or "PCMA" or "G722" or "G723" or "G728" or "G729" or "GSM" or "CN" or "LPC" or "QCELP" or "telephone-event" or "AMR" => 8000,
        "AMR-WB" or "G7221" or "EVS" => 16000,
        "opus" => 48000,
        "H261" or "H263" or "H264" or "H265" or "VP8" or "VP9" or "AV1" or "JPEG" or "MPV" or "MP2T" or "MPA" => 90000,
        _ => 0,
    };
}
