using System.Buffers.Text;
using System.Text;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers.Sdp;

/// <summary>Media direction attribute (RFC 4566 §6): sendrecv when none is given.</summary>
public enum SdpDirection : byte { SendRecv, SendOnly, RecvOnly, Inactive }

/// <summary>A payload format of an m= line: RTP payload type with its rtpmap, or a non-RTP format such as "t38".</summary>
/// <param name="PayloadType">RTP payload type 0..127, or -1 for a non-numeric format (udptl "t38").</param>
/// <param name="EncodingName">From a=rtpmap, or the static RFC 3551 name; "t38" for T.38; empty when unknown.</param>
/// <param name="ClockRate">RTP clock rate in Hz (a=rtpmap, or RFC 3551 for static types); 0 when unknown or not RTP.</param>
/// <param name="Channels">Encoding parameters of a=rtpmap for audio (channels), 0 when absent.</param>
public sealed record SdpPayload(int PayloadType, string EncodingName, int ClockRate, int Channels = 0);

/// <summary>One m= section: where the sender of this SDP wants to receive media and how.</summary>
public sealed record SdpMedia
{
    /// <summary>"audio", "video", "image", "application", "text" or "message".</summary>
    public required string Kind { get; init; }
    /// <summary>Connection address (media c= or the session's), <see cref="IpAddress.IsEmpty"/> when none or not an IP literal.</summary>
    public required IpAddress Address { get; init; }
    /// <summary>c= host text when it is not an IP literal (a host name), else null.</summary>
    public string? AddressHost { get; init; }
    /// <summary>Transport port; 0 means the stream is rejected/disabled (RFC 3264 §6).</summary>
    public required int Port { get; init; }
    /// <summary>"RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", "udptl", "UDP/TLS/RTP/SAVP"...</summary>
    public required string Protocol { get; init; }
    public required IReadOnlyList<SdpPayload> Payloads { get; init; }
    /// <summary>a=ptime in milliseconds, 0 when absent.</summary>
    public int PtimeMs { get; init; }
    public SdpDirection Direction { get; init; }

    public bool IsRtp => Protocol.Contains("RTP", StringComparison.OrdinalIgnoreCase);
    public bool IsT38
    {
        get
        {
            if (Kind != "image") return false;
            for (int i = 0; i < Payloads.Count; i++) if (Payloads[i].EncodingName.Equals("t38", StringComparison.OrdinalIgnoreCase)) return true;
            return false;
        }
    }

    /// <summary>The first payload that is not telephone-event, comfort noise or red/fec: the codec in use after an answer.</summary>
    public SdpPayload? PrimaryCodec
    {
        get
        {
            for (int i = 0; i < Payloads.Count; i++) if (!SdpParser.IsAuxiliary(Payloads[i].EncodingName)) return Payloads[i];
            return null;
        }
    }
}

/// <summary>A parsed session description (RFC 4566).</summary>
public sealed record SdpSession
{
    /// <summary>o= session id and version (RFC 4566 §5.2); the version grows when the session changes.</summary>
    public string? OriginSessionId { get; init; }
    public ulong OriginVersion { get; init; }
    public required IReadOnlyList<SdpMedia> Media { get; init; }
}

/// <summary>Reads SDP bodies. Bad lines are counted (<c>sdp_bad_*</c>) and skipped; never throws.</summary>
public static class SdpParser
{
    /// <summary>RFC 3551 static audio/video payload types: name and clock rate.</summary>
    public static (string Name, int Clock) StaticPayload(int pt) => pt switch
    {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        5 => ("DVI4", 8000),
        6 => ("DVI4", 16000),
        7 => ("LPC", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000), // RFC 3551 §4.5.2: 8000 despite 16 kHz sampling
        10 => ("L16", 44100),
        11 => ("L16", 44100),
        12 => ("QCELP", 8000),
        13 => ("CN", 8000),
        14 => ("MPA", 90000),
        15 => ("G728", 8000),
        16 => ("DVI4", 11025),
        17 => ("DVI4", 22050),
        18 => ("G729", 8000),
        25 => ("CelB", 90000),
        26 => ("JPEG", 90000),
        28 => ("nv", 90000),
        31 => ("H261", 90000),
        32 => ("MPV", 90000),
        33 => ("MP2T", 90000),
        34 => ("H263", 90000),
        _ => ("", 0),
    };

    public static bool IsAuxiliary(string name) =>
        name.Equals("telephone-event", StringComparison.OrdinalIgnoreCase) || name.Equals("CN", StringComparison.OrdinalIgnoreCase)
        || name.Equals("red", StringComparison.OrdinalIgnoreCase) || name.Equals("ulpfec", StringComparison.OrdinalIgnoreCase);

    private sealed class MediaBuilder
    {
        public string Kind = "";
        public int Port;
        public string Protocol = "";
        public readonly List<int> Formats = new();
        public string? NonRtpFormat;
        public IpAddress Address;
        public string? Host;
        public bool HasConnection;
        // a=rtpmap lines in order (a later line for the same payload type wins): a list, searched from its end, costs
        // less than a dictionary for the two or three an m= line has.
        public List<(int PayloadType, string Name, int Clock, int Channels)>? RtpMaps;

        public bool TryGetRtpMap(int pt, out (int PayloadType, string Name, int Clock, int Channels) map)
        {
            if (RtpMaps is { } maps)
                for (int i = maps.Count - 1; i >= 0; i--)
                    if (maps[i].PayloadType == pt) { map = maps[i]; return true; }
            map = default;
            return false;
        }
        public int Ptime;
        public SdpDirection? Direction;
    }

    /// <summary>Parses an SDP body. Null when it has no v= line or no m= line at all (counted as <c>sdp_bad_body</c> when not empty).</summary>
    public static SdpSession? Parse(ReadOnlySpan<byte> body, AnomalyCounters? anomalies)
    {
        var media = new List<MediaBuilder>();
        MediaBuilder? current = null;
        IpAddress sessionAddress = default;
        string? sessionHost = null;
        bool sessionConnection = false;
        SdpDirection sessionDirection = SdpDirection.SendRecv;
        string? originId = null;
        ulong originVersion = 0;
        bool sawVersion = false;

        while (!body.IsEmpty)
        {
            int lf = body.IndexOf((byte)'\n');
            var line = lf >= 0 ? body[..lf] : body;
            body = lf >= 0 ? body[(lf + 1)..] : default;
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (line.Length < 2 || line[1] != (byte)'=') { if (!SipSpan.Trim(line).IsEmpty) anomalies?.Increment("sdp_bad_line"); continue; }
            var v = line[2..];
            switch (line[0])
            {
                case (byte)'v': sawVersion = true; break;
                case (byte)'o':
                {
                    // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
                    var f = new Fields(v);
                    f.Next(); var id = f.Next(); var ver = f.Next();
                    originId = id.IsEmpty ? null : Encoding.ASCII.GetString(id);
                    Utf8Parser.TryParse(ver, out originVersion, out _);
                    break;
                }
                case (byte)'c':
                    if (TryReadConnection(v, out var addr, out var host))
                    {
                        if (current is null) { sessionAddress = addr; sessionHost = host; sessionConnection = true; }
                        else { current.Address = addr; current.Host = host; current.HasConnection = true; }
                    }
                    else anomalies?.Increment("sdp_bad_connection");
                    break;
                case (byte)'m':
                    current = ReadMediaLine(v);
                    if (current is null) anomalies?.Increment("sdp_bad_media_line");
                    else media.Add(current);
                    break;
                case (byte)'a':
                    ReadAttribute(v, current, ref sessionDirection, anomalies);
                    break;
            }
        }
        if (!sawVersion && media.Count == 0) { anomalies?.Increment("sdp_bad_body"); return null; }

        var list = new List<SdpMedia>(media.Count);
        foreach (var m in media)
        {
            var payloads = new List<SdpPayload>(m.Formats.Count + 1);
            foreach (int pt in m.Formats)
            {
                if (m.TryGetRtpMap(pt, out var map)) payloads.Add(new SdpPayload(pt, map.Name, map.Clock, map.Channels));
                else { var s = StaticPayload(pt); payloads.Add(new SdpPayload(pt, s.Name, s.Clock)); }
            }
            if (m.NonRtpFormat is not null) payloads.Add(new SdpPayload(-1, m.NonRtpFormat, 0));
            if (!m.HasConnection && !sessionConnection) anomalies?.Increment("sdp_missing_connection");
            list.Add(new SdpMedia
            {
                Kind = m.Kind,
                Address = m.HasConnection ? m.Address : sessionAddress,
                AddressHost = m.HasConnection ? m.Host : sessionHost,
                Port = m.Port,
                Protocol = m.Protocol,
                Payloads = payloads,
                PtimeMs = m.Ptime,
                Direction = m.Direction ?? sessionDirection,
            });
        }
        return new SdpSession { OriginSessionId = originId, OriginVersion = originVersion, Media = list };
    }

    /// <summary>c=IN IP4 192.0.2.1[/ttl[/n]] or c=IN IP6 2001:db8::1 (RFC 4566 §5.7).</summary>
    private static bool TryReadConnection(ReadOnlySpan<byte> v, out IpAddress address, out string? host)
    {
        address = default; host = null;
        var f = new Fields(v);
        var net = f.Next(); var type = f.Next(); var a = f.Next();
        if (!SipSpan.EqualsIgnoreCase(net, "IN"u8) || a.IsEmpty) return false;
        bool v4 = SipSpan.EqualsIgnoreCase(type, "IP4"u8), v6 = SipSpan.EqualsIgnoreCase(type, "IP6"u8);
        if (!v4 && !v6) return false;
        int slash = a.IndexOf((byte)'/');
        if (slash >= 0) a = a[..slash];
        if (a.Length > 64) return false;
        Span<char> chars = stackalloc char[a.Length];
        for (int i = 0; i < a.Length; i++) chars[i] = (char)a[i];
        if (System.Net.IPAddress.TryParse(chars, out var ip)
            && (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) == v4)
        {
            address = IpAddress.FromSystem(ip);
            return true;
        }
        // RFC 4566 allows a fully qualified domain name here.
        foreach (byte b in a) if (b <= 0x20 || b >= 0x7F) return false;
        host = Encoding.ASCII.GetString(a);
        return true;
    }

    /// <summary>m=&lt;media&gt; &lt;port&gt;[/&lt;number&gt;] &lt;proto&gt; &lt;fmt&gt; ... (RFC 4566 §5.14).</summary>
    private static MediaBuilder? ReadMediaLine(ReadOnlySpan<byte> v)
    {
        var f = new Fields(v);
        var kind = f.Next(); var port = f.Next(); var proto = f.Next();
        if (kind.IsEmpty || port.IsEmpty || proto.IsEmpty) return null;
        int slash = port.IndexOf((byte)'/');
        if (slash >= 0) port = port[..slash];
        if (!Utf8Parser.TryParse(port, out int p, out int used) || used != port.Length || p < 0 || p > 65535) return null;
        var m = new MediaBuilder { Kind = KnownKind(kind) ?? Encoding.ASCII.GetString(kind).ToLowerInvariant(), Port = p, Protocol = KnownProtocol(proto) ?? Encoding.ASCII.GetString(proto) };
        bool rtp = proto.IndexOf("RTP"u8) >= 0;
        while (true)
        {
            var fmt = f.Next();
            if (fmt.IsEmpty) break;
            if (rtp && Utf8Parser.TryParse(fmt, out int pt, out int n) && n == fmt.Length && pt is >= 0 and <= 127) m.Formats.Add(pt);
            else if (m.NonRtpFormat is null) m.NonRtpFormat = Encoding.ASCII.GetString(fmt).ToLowerInvariant();
        }
        return m;
    }

    private static void ReadAttribute(ReadOnlySpan<byte> v, MediaBuilder? m, ref SdpDirection sessionDirection, AnomalyCounters? anomalies)
    {
        SdpDirection? dir = null;
        if (v.SequenceEqual("sendrecv"u8)) dir = SdpDirection.SendRecv;
        else if (v.SequenceEqual("sendonly"u8)) dir = SdpDirection.SendOnly;
        else if (v.SequenceEqual("recvonly"u8)) dir = SdpDirection.RecvOnly;
        else if (v.SequenceEqual("inactive"u8)) dir = SdpDirection.Inactive;
        if (dir is { } d)
        {
            if (m is null) sessionDirection = d; else m.Direction = d;
            return;
        }
        if (v.StartsWith("rtpmap:"u8))
        {
            if (m is null) return;
            // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
            var rest = v[7..];
            int sp = rest.IndexOf((byte)' ');
            if (sp < 0 || !Utf8Parser.TryParse(rest[..sp], out int pt, out int n) || n != sp || pt is < 0 or > 127)
            { anomalies?.Increment("sdp_bad_rtpmap"); return; }
            var enc = SipSpan.Trim(rest[(sp + 1)..]);
            int s1 = enc.IndexOf((byte)'/');
            if (s1 <= 0) { anomalies?.Increment("sdp_bad_rtpmap"); return; }
            var name = enc[..s1];
            var clockPart = enc[(s1 + 1)..];
            int s2 = clockPart.IndexOf((byte)'/');
            int channels = 0;
            if (s2 >= 0) { Utf8Parser.TryParse(clockPart[(s2 + 1)..], out channels, out _); clockPart = clockPart[..s2]; }
            if (!Utf8Parser.TryParse(clockPart, out int clock, out n) || n != clockPart.Length || clock <= 0)
            { anomalies?.Increment("sdp_bad_rtpmap"); return; }
            (m.RtpMaps ??= new(4)).Add((pt, KnownName(name) ?? Encoding.ASCII.GetString(name), clock, channels));
            return;
        }
        if (v.StartsWith("ptime:"u8))
        {
            var t = SipSpan.Trim(v[6..]);
            // ptime may be fractional ("20.0"): keep whole milliseconds.
            if (Utf8Parser.TryParse(t, out double ms, out _) && ms > 0 && ms < 100000)
            {
                if (m is not null) m.Ptime = (int)Math.Round(ms);
            }
            else anomalies?.Increment("sdp_bad_ptime");
        }
    }

    private static string? KnownKind(ReadOnlySpan<byte> kind) =>
        SipSpan.EqualsIgnoreCase(kind, "audio"u8) ? "audio" : SipSpan.EqualsIgnoreCase(kind, "image"u8) ? "image" : SipSpan.EqualsIgnoreCase(kind, "video"u8) ? "video" : null;

    private static string? KnownProtocol(ReadOnlySpan<byte> proto) => proto switch
    {
        _ when proto.SequenceEqual("RTP/AVP"u8) => "RTP/AVP",
        _ when proto.SequenceEqual("RTP/SAVP"u8) => "RTP/SAVP",
        _ when proto.SequenceEqual("udptl"u8) => "udptl",
        _ => null,
    };

    /// <summary>The encoding names most SDP bodies carry, as the strings they read as (a new string for each body otherwise).</summary>
    private static string? KnownName(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("PCMU"u8) => "PCMU",
        _ when name.SequenceEqual("PCMA"u8) => "PCMA",
        _ when name.SequenceEqual("G722"u8) => "G722",
        _ when name.SequenceEqual("G729"u8) => "G729",
        _ when name.SequenceEqual("telephone-event"u8) => "telephone-event",
        _ when name.SequenceEqual("opus"u8) => "opus",
        _ when name.SequenceEqual("CN"u8) => "CN",
        _ => null,
    };

    /// <summary>Space-separated fields of an SDP line.</summary>
    private ref struct Fields(ReadOnlySpan<byte> s)
    {
        private ReadOnlySpan<byte> _s = s;

        public ReadOnlySpan<byte> Next()
        {
            int a = 0;
            while (a < _s.Length && _s[a] is (byte)' ' or (byte)'\t') a++;
            int b = a;
            while (b < _s.Length && _s[b] is not ((byte)' ' or (byte)'\t')) b++;
            var r = _s[a..b];
            _s = _s[b..];
            return r;
        }
    }
}
