using TrafficAudit.Capture;
using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Evidence;

/// <summary>Receives the frames picked for evidence file <c>target</c>, in capture order, as read (link type and timestamp kept).</summary>
public interface IEvidenceSink
{
    void Write(int target, in FrameHeader header, ReadOnlySpan<byte> frame, CaptureInterface? sourceInterface);
}

/// <summary>
/// The second pass of --evidence: reads the capture files again, decodes every frame as the audit
/// did (same decoder, own anomaly counters that nobody reads) and hands each frame an
/// <see cref="EvidencePlan"/> selects to the sink, once per evidence file even when several
/// selectors of that file pick it. IP fragments are kept aside until their datagram is complete: when
/// the datagram is picked, all its fragments go to the file with it. Runs after the audit, so the
/// audit's hot path is untouched; this pass allocates freely.
/// </summary>
public static class EvidenceExtractor
{
    /// <summary>Fragments older than this are dropped from the side buffer (reassembly gives up by then too).</summary>
    private const long FragmentHoldNs = 60_000_000_000;

    private sealed record HeldFragment(FrameHeader Header, byte[] Data, IpAddress Src, IpAddress Dst, ushort IpId, CaptureInterface? Interface);

    /// <returns>Frames read.</returns>
    public static long Run(EvidencePlan plan, IFrameSource source, IEvidenceSink sink)
    {
        var bySelectorKey = new Dictionary<FlowKey, List<EvidenceSelector>>();
        var byQuotedKey = new Dictionary<FlowKey, List<EvidenceSelector>>();
        foreach (var t in plan.Targets)
        {
            foreach (var s in t.Selectors)
            {
                Add(bySelectorKey, s.Key, s);
                if (s.QuotedUnreachables) Add(byQuotedKey, s.Key, s);
            }
        }
        var decoder = new PacketDecoder(new AnomalyCounters());
        var interfaces = new Dictionary<(int File, int Index), CaptureInterface?>();
        var held = new List<HeldFragment>();
        var picked = new HashSet<int>();
        DecodedPacket p = default;
        long frames = 0;
        while (source.MoveNext())
        {
            frames++;
            var h = source.Header;
            var frame = source.Data;
            var status = decoder.Decode(h.LinkType, frame, h.TimestampNs, ref p, out var buffer);
            if (status == DecodeStatus.FragmentPending)
            {
                held.RemoveAll(x => h.TimestampNs - x.Header.TimestampNs > FragmentHoldNs);
                held.Add(new HeldFragment(h, frame.ToArray(), p.Src, p.Dst, p.IpId, InterfaceOf(source, interfaces, in h)));
                continue;
            }
            if (status != DecodeStatus.Ok) continue;

            picked.Clear();
            if (bySelectorKey.Count > 0)
            {
                var key = FlowKey.Create(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Protocol, p.Vlan, out _);
                if (bySelectorKey.TryGetValue(key, out var candidates))
                {
                    var payload = buffer.Slice(p.PayloadOffset, p.PayloadLength);
                    foreach (var s in candidates)
                    {
                        if (!s.Covers(h.TimestampNs) || (s.MaxPackets > 0 && s.Taken >= s.MaxPackets)) continue;
                        if (s.PayloadMustContain is { } needle && payload.IndexOf(needle) < 0) continue;
                        s.Taken++;
                        picked.Add(s.Target);
                    }
                }
            }
            if (p.IcmpUnreachable && byQuotedKey.Count > 0)
            {
                var inner = FlowKey.Create(p.InnerSrc, p.InnerSrcPort, p.InnerDst, p.InnerDstPort, p.InnerProtocol, p.Vlan, out _);
                if (byQuotedKey.TryGetValue(inner, out var quoted))
                    foreach (var s in quoted)
                        if (s.Covers(h.TimestampNs)) picked.Add(s.Target);
            }
            if (picked.Count == 0) continue;

            var iface = InterfaceOf(source, interfaces, in h);
            foreach (int target in picked.Order())
            {
                if (p.Reassembled)
                {
                    // The fragments before the last one, in capture order, then the one that completed the datagram.
                    foreach (var f in held)
                    {
                        if (f.Src != p.Src || f.Dst != p.Dst || f.IpId != p.IpId) continue;
                        sink.Write(target, f.Header, f.Data, f.Interface);
                        plan.Targets[target].Packets++;
                    }
                }
                sink.Write(target, in h, frame, iface);
                plan.Targets[target].Packets++;
            }
            if (p.Reassembled) held.RemoveAll(f => f.Src == p.Src && f.Dst == p.Dst && f.IpId == p.IpId);
        }
        return frames;
    }

    private static CaptureInterface? InterfaceOf(IFrameSource source, Dictionary<(int, int), CaptureInterface?> cache, in FrameHeader h)
    {
        if (cache.TryGetValue((h.FileIndex, h.InterfaceIndex), out var i)) return i;
        CaptureInterface? found = null;
        foreach (var c in source.Interfaces)
            if (c.FileIndex == h.FileIndex && c.Index == h.InterfaceIndex) found = c;
        cache[(h.FileIndex, h.InterfaceIndex)] = found;
        return found;
    }

    private static void Add(Dictionary<FlowKey, List<EvidenceSelector>> map, FlowKey key, EvidenceSelector s)
    {
        if (!map.TryGetValue(key, out var l)) map[key] = l = [];
        l.Add(s);
    }
}
