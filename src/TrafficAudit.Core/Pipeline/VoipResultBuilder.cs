using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Pipeline;

/// <summary>Turns the VoIP tracker's state into stream and call records at the end of a run (or a live flush).</summary>
internal static class VoipResultBuilder
{
    public static (IReadOnlyList<RtpStreamRecord> Streams, IReadOnlyList<CallRecord> Calls, VoipSummary Summary) Build(
        VoipTracker voip, SipAnalysisResult sip, IReadOnlyList<FlowRecord> flows, long captureEndNs)
    {
        // Keep a stream when its flow proved to be RTP or an SDP announced it: stray datagrams that
        // merely start with version 2 bits are not streams.
        var kept = voip.Streams
            .Where(s => s.Stats.HasPackets && (s.Flow.Rtp.IsRtp || s.Call is not null))
            .OrderBy(s => s.Stats.FirstArrivalNs).ThenBy(s => s.Sequence)
            .ToList();
        // A stream's flow id is its flow's creation number plus one (flow_id numbers flows by their first packet).
        var streams = new List<RtpStreamRecord>(kept.Count);
        foreach (var s in kept) streams.Add(ToRecord(s, streams.Count + 1) with { FlowId = checked((int)(s.Flow.Sequence + 1)) });

        // The signalling flow of each call: only the calls' own ends are indexed (not every flow twice),
        // the first flow in order either way round wins.
        var flowIndex = new Dictionary<(IpAddress, ushort, IpAddress, ushort), FlowRecord?>();
        foreach (var c in sip.Calls) flowIndex.TryAdd((c.CallerIp, c.CallerPort, c.CalleeIp, c.CalleePort), null);
        if (flowIndex.Count > 0)
            foreach (var f in flows)
            {
                if (flowIndex.TryGetValue((f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort), out var a) && a is null)
                    flowIndex[(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort)] = f;
                if (flowIndex.TryGetValue((f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort), out var b) && b is null)
                    flowIndex[(f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort)] = f;
            }
        // Every flow between a call's two ends, for the flow that carried its first INVITE (a port reused later is another flow).
        var flowsByTuple = new Dictionary<(IpAddress, ushort, IpAddress, ushort), List<FlowRecord>>();
        foreach (var c in sip.Calls) flowsByTuple.TryAdd((c.CallerIp, c.CallerPort, c.CalleeIp, c.CalleePort), []);
        if (flowsByTuple.Count > 0)
            foreach (var f in flows)
            {
                if (f.Transport is not (IpProtocol.Udp or IpProtocol.Tcp)) continue;
                if (flowsByTuple.TryGetValue((f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort), out var a)) a.Add(f);
                if (flowsByTuple.TryGetValue((f.ServerIp, f.ServerPort, f.ClientIp, f.ClientPort), out var b) && !ReferenceEquals(a, b)) b.Add(f);
            }

        var byCall = streams.Where(s => s.CallId.Length > 0).GroupBy(s => s.CallId).ToDictionary(g => g.Key, g => g.ToList());
        var calls = new List<CallRecord>(sip.Calls.Count);
        foreach (var c in sip.Calls)
        {
            var media = byCall.TryGetValue(c.CallId, out var l) ? l : [];
            flowIndex.TryGetValue((c.CallerIp, c.CallerPort, c.CalleeIp, c.CalleePort), out var signalling);
            var outStreams = media.Where(m => m.CallDirection == "out").ToList();
            var inStreams = media.Where(m => m.CallDirection == "in").ToList();
            var (codec, clockRates) = CallCodecs(media, c);
            double lostOut = LostPct(outStreams), lostIn = LostPct(inStreams);
            calls.Add(new CallRecord
            {
                Sip = c,
                Service = signalling?.Service ?? (c.Transport == SipTransport.Tls ? "sip-tls" : "sip"),
                Applications = signalling?.Applications ?? "",
                Codec = codec,
                CodecClockRate = clockRates,
                Streams = media,
                MediaIpKbpsOut = MeanKbps(outStreams, ip: true),
                MediaIpKbpsIn = MeanKbps(inStreams, ip: true),
                MediaEthKbpsOut = MeanKbps(outStreams, ip: false),
                MediaEthKbpsIn = MeanKbps(inStreams, ip: false),
                PeakIpKbpsOut = outStreams.Count == 0 ? -1 : outStreams.Max(m => m.PeakIpKbps),
                PeakIpKbpsIn = inStreams.Count == 0 ? -1 : inStreams.Max(m => m.PeakIpKbps),
                MaxJitterMs = media.Count == 0 ? -1 : media.Max(m => m.MaxJitterMs),
                // The call's figure is its worse direction: averaging the two would halve a one-sided loss.
                LostPct = Math.Max(0, Math.Max(lostOut, lostIn)),
                LostPctOut = lostOut,
                LostPctIn = lostIn,
                Mos = media.Count == 0 ? -1 : media.Min(m => m.Mos),
                MosNetwork = media.Count == 0 ? -1 : media.Min(m => m.MosNetwork),
                // One way only when no stream runs back between the same two hosts: when a call loops through a
                // proxy every SDP may name one host, and both streams then read as 'out' by their SDP endpoint.
                OneWay = (outStreams.Count > 0) != (inStreams.Count > 0) && !HasReverseStream(media),
                FlowId = InviteFlow(flowsByTuple, c)?.FlowId ?? 0,
            });
        }

        return (streams, calls, Summarise(calls, streams, flows, sip, captureEndNs));
    }

    /// <summary>Some stream of the call is answered by another from its destination host back to its source host.</summary>
    private static bool HasReverseStream(List<RtpStreamRecord> media)
    {
        if (media.Count < 2) return false;
        var pairs = new HashSet<(IpAddress, IpAddress)>();
        foreach (var m in media) pairs.Add((m.SrcIp, m.DstIp));
        foreach (var m in media)
            if (pairs.Contains((m.DstIp, m.SrcIp))) return true;
        return false;
    }

    /// <summary>Lost over expected packets of one direction's streams, percent; -1 without streams that way.</summary>
    private static double LostPct(List<RtpStreamRecord> streams)
    {
        if (streams.Count == 0) return -1;
        long expected = streams.Sum(m => m.Expected);
        return expected == 0 ? 0 : streams.Sum(m => m.Lost) * 100.0 / expected;
    }

    /// <summary>
    /// The call's codecs, one normalised name each (<see cref="CodecNames"/>), in order of first use, and
    /// their clock rates in the same order: from the streams when there are any, else from the SDP answer.
    /// </summary>
    private static (string Names, string ClockRates) CallCodecs(List<RtpStreamRecord> media, SipCall c)
    {
        var names = new List<string>();
        var rates = new List<uint>();
        void Add(string name, uint rate)
        {
            if (name.Length == 0) return;
            int i = names.IndexOf(name);
            if (i < 0) { names.Add(name); rates.Add(rate); }
            else if (rates[i] == 0) rates[i] = rate;
        }
        if (media.Count > 0)
            foreach (var m in media) Add(CodecNames.Normalise(m.Codec), m.ClockRate);
        else
            foreach (var label in c.Codecs) { var (n, r) = CodecNames.Split(label); Add(n, r); }
        for (int i = 0; i < rates.Count; i++)
            if (rates[i] == 0) rates[i] = CodecNames.NominalClockRate(names[i]);
        return (string.Join(";", names), string.Join(";", rates.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    /// <summary>The flow that carried the call's first INVITE: its transport and endpoints, and the one whose time span holds the INVITE (a port reused later is another flow).</summary>
    private static FlowRecord? InviteFlow(Dictionary<(IpAddress, ushort, IpAddress, ushort), List<FlowRecord>> byTuple, SipCall c)
    {
        if (!byTuple.TryGetValue((c.CallerIp, c.CallerPort, c.CalleeIp, c.CalleePort), out var candidates)) return null;
        var transport = c.Transport == SipTransport.Udp ? IpProtocol.Udp : IpProtocol.Tcp;
        FlowRecord? best = null;
        foreach (var f in candidates)
        {
            if (f.Transport != transport) continue;
            if (f.FirstSeenNs <= c.StartNs && c.StartNs <= f.LastSeenNs) return f;
            best ??= f;
        }
        return best;
    }

    /// <summary>Mean over a direction: bytes after each stream's first packet over the time the direction was active.</summary>
    private static double MeanKbps(List<RtpStreamRecord> streams, bool ip)
    {
        if (streams.Count == 0) return -1;
        long first = streams.Min(s => s.FirstSeenNs), last = streams.Max(s => s.LastSeenNs);
        if (last <= first) return 0;
        double bytes = streams.Sum(s => ip ? s.IpBytesAfterFirst : s.IpBytesAfterFirst + (s.Packets - 1) * (double)RtpStreamStatistics.EthernetOverhead);
        return bytes * 8e6 / (last - first);
    }

    private static RtpStreamRecord ToRecord(RtpStreamState s, int id)
    {
        ref readonly var st = ref s.Stats;
        string codec = s.Codec ?? "";
        var impairment = codec.Length > 0 ? CodecImpairment.ForEncodingName(codec) : CodecImpairment.ForPayloadType(s.FirstPayloadType);
        double? oneWay = s.RttSamples > 0 ? s.RttSumMs / s.RttSamples / 2 : null;
        double mosAdapt = RtpQuality.EstimatePlayoutMos(in st, 2, impairment, oneWay);
        var call = s.Call;
        string direction = "";
        if (call is not null && s.Endpoint is { } ep)
        {
            bool endpointIsDestination = ep.Address == s.Key.Dst && ep.Port == s.Key.DstPort;
            bool towardCallee = endpointIsDestination ? ep.Side == SipSide.Callee : ep.Side == SipSide.Caller;
            direction = towardCallee ? "out" : "in";
        }
        return new RtpStreamRecord
        {
            StreamId = id,
            CallId = call?.CallId ?? "",
            Ssrc = s.Key.Ssrc,
            SrcIp = s.Key.Src,
            SrcPort = s.Key.SrcPort,
            DstIp = s.Key.Dst,
            DstPort = s.Key.DstPort,
            Vlan = s.Flow.Key.Vlan,
            PayloadType = s.FirstPayloadType,
            Codec = codec,
            ClockRate = s.ClockRate,
            FirstSeenNs = st.FirstArrivalNs,
            LastSeenNs = st.LastArrivalNs,
            Packets = st.Packets,
            Expected = st.ExpectedDistinct,
            Lost = st.LostDistinct,
            LostPct = st.LossRatio * 100,
            Duplicates = st.Duplicates,
            OutOfOrder = st.OutOfOrder,
            MaxDeltaMs = st.MaxDeltaMs,
            MeanDeltaMs = st.MeanDeltaMs,
            MaxJitterMs = st.MaxJitterMs,
            MeanJitterMs = st.MeanJitterMs,
            IpKbps = st.MeanIpKbps,
            EthKbps = st.MeanEthernetKbps,
            PeakIpKbps = st.PeakIpKbps,
            Mos = mosAdapt,
            MosNetwork = RtpQuality.EstimateMos(in st, impairment, oneWay),
            MosF1 = RtpQuality.EstimatePlayoutMos(in st, 0, impairment, oneWay),
            MosF2 = RtpQuality.EstimatePlayoutMos(in st, 1, impairment, oneWay),
            MosAdapt = mosAdapt,
            LateF1 = st.LateForBuffer(0),
            LateF2 = st.LateForBuffer(1),
            LateAdapt = st.LateForBuffer(2),
            RtcpMuxPackets = s.Flow.RtcpPackets,
            SdpMatched = call is not null,
            WiresharkExpected = st.ExpectedPackets,
            WiresharkLost = st.Lost,
            SequenceErrors = st.SequenceErrors,
            LossBursts = st.GetLossBursts(),
            CallDirection = direction,
            RtcpReports = s.RtcpReports,
            RtcpJitterMs = s.RtcpMaxJitterMs,
            RtcpCumulativeLost = s.RtcpCumulativeLost,
            RtcpMaxFractionLostPct = s.RtcpMaxFractionLostPct,
            RtcpRttMs = s.RttSamples > 0 ? s.RttSumMs / s.RttSamples : -1,
            RtcpRttMaxMs = s.RttMaxMs,
            IpBytesAfterFirst = (long)Math.Round(st.MeanIpKbps * st.DurationNs / 8e6),
            TimeSeries = st.TimeSeries,
        };
    }

    private static VoipSummary Summarise(List<CallRecord> calls, List<RtpStreamRecord> streams, IReadOnlyList<FlowRecord> flows, SipAnalysisResult sip, long captureEndNs)
    {
        // Simultaneous calls: answered calls from their 2xx to their end (BYE or capture end).
        var events = new List<(long T, int D)>();
        foreach (var c in calls)
        {
            if (c.Sip.AnswerNs is not { } a) continue;
            events.Add((a, +1));
            events.Add((c.Sip.ByeNs ?? c.Sip.EndNs, -1));
        }
        int current = 0, peak = 0;
        long peakAt = 0;
        foreach (var (t, d) in events.OrderBy(e => e.T).ThenBy(e => e.D))
        {
            current += d;
            if (current > peak) { peak = current; peakAt = t; }
        }

        // Aggregate media bandwidth: every stream's 1-second buckets summed by the second they start in.
        var perSecond = new Dictionary<long, long>();
        foreach (var s in streams)
        {
            if (s.TimeSeries is not { } series) continue;
            var buckets = series.Buckets;
            for (int i = 0; i < buckets.Length; i++)
            {
                long second = (series.OriginNs + i * series.BucketWidthNs) / 1_000_000_000;
                perSecond[second] = perSecond.GetValueOrDefault(second) + buckets[i].IpBytes * 1_000_000_000 / series.BucketWidthNs;
            }
        }
        var top = perSecond.Count == 0 ? default : perSecond.MaxBy(kv => kv.Value);
        return new VoipSummary
        {
            PeakConcurrentCalls = peak,
            PeakConcurrentCallsAtNs = peakAt,
            PeakMediaIpKbps = top.Value * 8 / 1000.0,
            PeakMediaIpKbpsAtNs = top.Key * 1_000_000_000,
            SipTlsFlows = flows.Count(f => f.Service == "sip-tls"),
            OptionsPings = sip.OptionsPings,
            Transactions = sip.Transactions,
            SipMessages = sip.Messages,
            SipRetransmissions = sip.Retransmissions,
        };
    }
}
