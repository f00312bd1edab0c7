using System.Buffers.Binary;
using System.Text;
using TrafficAudit.Analyzers;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Capture;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;
using TrafficAudit.Policy;

namespace TrafficAudit.Fuzz;

/// <summary>
/// The fuzz targets: each takes one input (the bytes AFL++ mutated, or a file of the regression corpus)
/// through the real code, as the audit would run it. Bad input must end as a counted anomaly, a
/// <see cref="CaptureFormatException"/> or a <see cref="ConfigurationFileException"/> with a line and a
/// column; anything else that escapes is a bug (AFL++ records it as a crash). The return value is the
/// number of packets (frames, datagrams, segments) the input fed to the code, for the campaign's figures.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Target names, in the order tools/fuzz.sh lists them.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["pcap", "pcapng", "gzip", "decoder", "sip", "sdp", "sip-tcp", "rtp", "dns", "tls", "profile", "catalogue"];

    /// <summary>Frames one capture input may feed: keeps a small gzip bomb from turning one input into minutes.</summary>
    public const int MaxFramesPerInput = 200_000;

    // Built on first use, not in a static constructor: instrumented code must not run before
    // SharpFuzz's Fuzzer.Run has attached the coverage map.
    private static PortCatalogue? _catalogue;
    private static DeploymentProfile? _profile;
    private static PortCatalogue Catalogue => _catalogue ??= PortCatalogue.LoadEmbedded();
    private static DeploymentProfile Profile => _profile ??= ProfileLoader.Parse(ProfileJson, "fuzz-profile.json");

    /// <summary>A profile naming nodes, peers and allow rules, so the expected-flow matrix and every finding rule run.</summary>
    private static ReadOnlySpan<byte> ProfileJson => """
        {"nodes": ["10.0.0.10", "10.0.0.11"],
         "applications": ["advanced-queuing", "attendant-console", "call-recording", "digital-fax"],
         "peers": {"cucm": ["10.0.1.5"], "mail": ["10.0.2.6"], "ldap": ["10.0.2.5"]},
         "allow": [{"transport": "tcp", "port": 3389, "peer": "10.50.0.0/24"}],
         "thresholds": {"call_kbps": 80, "jitter_ms": 30, "loss_pct": 1}}
        """u8;

    private static readonly LinkType[] LinkTypes =
        [LinkType.Ethernet, LinkType.Raw, LinkType.Ipv4, LinkType.Ipv6, LinkType.LinuxSll, LinkType.LinuxSll2, LinkType.Null, LinkType.Loop, LinkType.Ppp];

    public static long Run(string target, byte[] data) => target switch
    {
        "pcap" or "pcapng" or "gzip" or "capture" => Capture(data),
        "decoder" => Decoder(data),
        "sip" => Sip(data),
        "sdp" => Sdp(data),
        "sip-tcp" => SipTcp(data),
        "rtp" => Rtp(data),
        "dns" => Dns(data),
        "tls" => Tls(data),
        "profile" => ProfileText(data),
        "catalogue" => CatalogueText(data),
        _ => throw new ArgumentException($"unknown target '{target}' (targets: {string.Join(", ", Names)})"),
    };

    /// <summary>Capture readers (pcap, pcapng, gzip; chosen from the bytes) into the whole engine, then the policy.</summary>
    private static long Capture(byte[] data)
    {
        using var engine = new AuditEngine(Catalogue, new AuditOptions { ParallelVoip = false });
        IFrameSource source;
        try
        {
            source = CaptureFile.Open(new MemoryStream(data, writable: false), "fuzz", 0, engine.Anomalies);
        }
        catch (CaptureFormatException)
        {
            return 0;   // not a capture: one sentence, exit 3
        }
        long frames = 0;
        using (source)
        {
            while (frames < MaxFramesPerInput && source.MoveNext())
            {
                engine.Process(source.Header, source.Data);
                frames++;
            }
            foreach (var e in source.Errors)
                if (e.ByteOffset < 0 || e.Message.Contains('\n')) throw new InvalidOperationException("bad read error: " + e);
            Finish(engine, source.Interfaces, source.Errors);
        }
        return frames;
    }

    /// <summary>
    /// Frames without a capture file around them: records of [length: 2 bytes LE, 11 bits][link type index
    /// and time step: 1 byte][frame], straight into the engine (decoder, IP reassembly, flow table, VoIP).
    /// </summary>
    private static long Decoder(byte[] data)
    {
        using var engine = new AuditEngine(Catalogue, new AuditOptions { ParallelVoip = false });
        long frames = 0, ts = 1_700_000_000_000_000_000;
        int i = 0;
        while (i + 3 <= data.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i)) & 0x7FF;
            byte control = data[i + 2];
            i += 3;
            length = Math.Min(length, data.Length - i);
            ts += (control >> 4) * 7_000_000L;   // 0-105 ms steps: some frames share a timestamp
            var header = new FrameHeader(ts, LinkTypes[(control & 0x0F) % LinkTypes.Length], length, length, 0, frames + 1, 0);
            engine.Process(header, data.AsSpan(i, length));
            i += length;
            frames++;
        }
        Finish(engine, [], []);
        return frames;
    }

    private static void Finish(AuditEngine engine, IReadOnlyList<CaptureInterface> interfaces, IReadOnlyList<CaptureReadError> errors)
    {
        var result = engine.Complete(interfaces, errors);
        Verdict.Evaluate(result, Catalogue, Profile);
        Verdict.Evaluate(result, Catalogue, null);
    }

    private static IpAddress A => IpAddress.FromV4(0x0A000105);
    private static IpAddress B => IpAddress.FromV4(0x0A00000A);

    /// <summary>SIP over UDP with its SDP: datagrams separated by NUL bytes, alternately A→B and B→A.</summary>
    private static long Sip(byte[] data)
    {
        var sip = new SipAnalyzer(new AnomalyCounters());
        long n = 0, ts = 1_700_000_000_000_000_000;
        foreach (var range in Split(data, 0))
        {
            bool fromA = (n & 1) == 0;
            sip.OnUdp(ts, fromA ? A : B, 5060, fromA ? B : A, 5060, data.AsSpan(range), n + 1);
            ts += 10_000_000;
            n++;
        }
        sip.Complete();
        return n;
    }

    private static long Sdp(byte[] data)
    {
        SdpParser.Parse(data, new AnomalyCounters());
        return 1;
    }

    /// <summary>
    /// SIP over TCP: segments separated by NUL bytes, one direction, after a SYN. A segment whose first byte
    /// is 0x01-0x07 is sent with its sequence number moved (retransmission, overlap, gap, reordering).
    /// </summary>
    private static long SipTcp(byte[] data)
    {
        var sip = new SipAnalyzer(new AnomalyCounters());
        long n = 1, ts = 1_700_000_000_000_000_000;
        uint seq = 1000;
        sip.OnTcp(ts, A, 40000, B, 5060, seq - 1, TcpFlags.Syn, [], n);
        foreach (var range in Split(data, 0))
        {
            var seg = data.AsSpan(range);
            uint at = seq;
            if (seg.Length > 1 && seg[0] is >= 1 and <= 7)
            {
                int shift = seg[0] switch { 1 => -seg.Length, 2 => -1, 3 => 1, 4 => seg.Length, 5 => 65536, 6 => -1_000_000, _ => 7 };
                at = unchecked((uint)(seq + shift));
                seg = seg[1..];
            }
            ts += 5_000_000;
            sip.OnTcp(ts, A, 40000, B, 5060, at, TcpFlags.Ack | TcpFlags.Psh, seg, ++n);
            seq = unchecked(at + (uint)seg.Length);
        }
        sip.OnTcp(ts, A, 40000, B, 5060, seq, TcpFlags.Fin | TcpFlags.Ack, [], ++n);
        sip.Complete();
        return n;
    }

    /// <summary>RTP and RTCP datagrams, each [length: 2 bytes LE, 11 bits][bytes]: RTP probe, stream statistics, RTCP walk.</summary>
    private static long Rtp(byte[] data)
    {
        var probe = new RtpProbe();
        var stats = new RtpStreamStatistics();
        long n = 0, ts = 1_700_000_000_000_000_000;
        int i = 0;
        while (i + 2 <= data.Length)
        {
            int length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i)) & 0x7FF, data.Length - i - 2);
            var p = data.AsSpan(i + 2, length);
            i += 2 + length;
            ts += 20_000_000 + (length & 7) * 1_000_000;
            probe.Inspect(p, (int)(n & 1));
            if (RtpProbe.TryReadRtpHeader(p, out _, out ushort seqNo, out byte pt) && p.Length >= 12)
                stats.Add(ts, new RtpPacketInfo(seqNo, BinaryPrimitives.ReadUInt32BigEndian(p[4..]), (p[1] & 0x80) != 0, pt, p.Length, false, RtpClock.ForStaticPayloadType(pt), n + 1));
            if (RtpProbe.LooksLikeRtcp(p))
            {
                var reader = new RtcpReader(p);
                while (reader.TryNext(out _, out uint sender, out _, out var blocks, out int count))
                    for (int b = 0; b < count; b++) RtcpReader.ReadBlock(sender, blocks, b);
            }
            n++;
        }
        stats.GetLossBursts();
        return n;
    }

    private static long Dns(byte[] data)
    {
        DnsMessage.TryReadAnswers(data, []);
        return 1;
    }

    private static long Tls(byte[] data)
    {
        TlsClientHello.TryGetServerName(data, out _);
        return 1;
    }

    private static long ProfileText(byte[] data)
    {
        try
        {
            ProfileLoader.Parse(data, "fuzz.json");
        }
        catch (ProfileException e)
        {
            CheckMessage(e);
        }
        return 1;
    }

    private static long CatalogueText(byte[] data)
    {
        try
        {
            PortCatalogue.Parse(data, "fuzz.json");
        }
        catch (CatalogueException e)
        {
            CheckMessage(e);
        }
        return 1;
    }

    /// <summary>A configuration error names file, line and column in one line of our own words.</summary>
    public static void CheckMessage(ConfigurationFileException e)
    {
        if (e.Line < 1 || e.Column < 1) throw new InvalidOperationException("configuration error without line and column: " + e.Message);
        if (!e.Message.StartsWith($"{e.File}:{e.Line}:{e.Column}: ", StringComparison.Ordinal)) throw new InvalidOperationException("message does not start with file:line:column: " + e.Message);
        foreach (char c in e.Message)
            if (char.IsControl(c)) throw new InvalidOperationException("control character in a configuration error: " + e.Message);
        foreach (var leak in DotNetPhrases)
            if (e.Message.Contains(leak, StringComparison.Ordinal)) throw new InvalidOperationException("a .NET message leaks into a configuration error: " + e.Message);
    }

    /// <summary>Phrases of System.Text.Json and System.IO messages that must never reach a user.</summary>
    public static readonly string[] DotNetPhrases =
        ["reader options", "LineNumber", "BytePositionInLine", "JSON payload", "JsonTokenType", "isFinalBlock", "Cannot transcode", "Access to the path", "System."];

    /// <summary>Ranges between separator bytes.</summary>
    private static List<Range> Split(byte[] data, byte separator)
    {
        var list = new List<Range>();
        int start = 0;
        for (int i = 0; i <= data.Length; i++)
        {
            if (i < data.Length && data[i] != separator) continue;
            if (i > start) list.Add(start..i);
            start = i + 1;
        }
        return list;
    }
}
