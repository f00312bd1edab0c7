using System.Reflection;
using TrafficAudit.Analyzers.Rtp;
using TrafficAudit.Analyzers.Sdp;
using TrafficAudit.Analyzers.Sip;
using TrafficAudit.Decode;

namespace TrafficAudit.Tests.Analyzers.Rtp;

/// <summary>
/// Issue 12: the VoIP tracker reuses the state of an ended RTP stream for a new one. A reused state must start exactly as
/// a new one (a field added to <see cref="RtpStreamState"/> and forgotten in its Start fails here), and a bandwidth ring
/// handed from one stream to the next must not change the next stream's figures.
/// </summary>
[TestClass]
public sealed class RtpStreamStateReuseTests
{
    private const long Ms = 1_000_000;
    private const long T0 = 1_700_000_000L * 1_000_000_000L;
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static RtpPacketInfo G711(int seq, int bytes = 172) => new((ushort)seq, (uint)(160 * seq), false, 0, bytes, false, 8000, seq);

    private static readonly RtpStreamKey KeyA = new(IpAddress.Parse("10.0.0.1"), 40000, IpAddress.Parse("10.0.0.2"), 50000, 0x1234);
    private static readonly RtpStreamKey KeyB = new(IpAddress.Parse("10.0.0.3"), 40002, IpAddress.Parse("10.0.0.4"), 50002, 0x5678);

    private static SipCall Call() => new()
    {
        CallId = "c1", FromUri = "sip:a@x", ToUri = "sip:b@y", Transport = SipTransport.Udp, CallerIp = default, CallerPort = 0, CalleeIp = default, CalleePort = 0,
        StartNs = 0, StartFrame = 0,
    };

    [TestMethod]
    public void Start_UsedState_EveryFieldAsANewState()
    {
        var flowA = new VoipTracker.FlowVoip(1, 10);
        var flowB = new VoipTracker.FlowVoip(2, 20);
        var used = new RtpStreamState(KeyA, flowA, 7);
        for (int i = 0; i < 200; i++) used.Stats.Add(T0 + i * 2 * Ms, G711(i)); // 500 packets a second: the ring grows
        int set = 0;
        foreach (var f in typeof(RtpStreamState).GetFields(Instance))
        {
            if (f.FieldType == typeof(RtpStreamStatistics)) continue;
            object? value = f.FieldType switch
            {
                var t when t == typeof(bool) => true,
                var t when t == typeof(byte) => (byte)0xAB,
                var t when t == typeof(int) => 0x1234567,
                var t when t == typeof(uint) => 0x89ABCDEFu,
                var t when t == typeof(long) => 0x123456789L,
                var t when t == typeof(double) => 12.5,
                var t when t == typeof(string) => "left over",
                var t when t == typeof(RtpStreamKey) => KeyA with { Ssrc = 99 },
                var t when t == typeof(VoipTracker.FlowVoip) => flowA,
                var t when t == typeof(LinkedListNode<RtpStreamState>) => new LinkedListNode<RtpStreamState>(used),
                var t when t == typeof(SipCall) => Call(),
                var t when t == typeof(SipMediaEndpoint) => new SipMediaEndpoint
                {
                    Address = default, Port = 1, Kind = "audio", Protocol = "RTP/AVP", Side = SipSide.Caller, Payloads = [],
                },
                var t when t == typeof(IReadOnlyList<SdpPayload>) => new List<SdpPayload> { new(0, "PCMU", 8000) },
                var t when t == typeof(TrafficAudit.Pipeline.RtpStreamRecord) => System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(t),
                _ => null,
            };
            Assert.IsNotNull(value, $"RtpStreamState.{f.Name} ({f.FieldType.Name}): the test does not know how to set it; teach it");
            f.SetValue(used, value);
            set++;
        }
        Assert.IsGreaterThan(20, set, "the test reached the state's fields");

        used.Start(KeyB, flowB, 8);
        var fresh = new RtpStreamState(KeyB, flowB, 8);
        foreach (var f in typeof(RtpStreamState).GetFields(Instance))
        {
            if (f.FieldType == typeof(RtpStreamStatistics)) continue;
            Assert.AreEqual(f.GetValue(fresh), f.GetValue(used), $"RtpStreamState.{f.Name} is not reset by Start");
        }
        Assert.IsFalse(used.Stats.HasPackets, "the statistics start empty");
        Assert.AreEqual(0, used.Stats.Packets);
        Assert.IsNull(used.Stats.TimeSeries);
    }

    [TestMethod]
    public void Start_RingOfAnEndedStream_NextStreamFiguresAsWithANewRing()
    {
        // The first stream leaves a ring grown to 300 entries full of its samples; the next stream's bandwidth after
        // every packet must be what a stream with a new ring computes.
        var flow = new VoipTracker.FlowVoip(1, 0);
        var reused = new RtpStreamState(KeyA, flow, 1);
        for (int i = 0; i < 3000; i++) reused.Stats.Add(T0 + i * Ms, G711(i, 40 + i % 700));
        reused.Start(KeyB, flow, 2);
        var fresh = new RtpStreamState(KeyB, flow, 2);
        var rng = new Random(5);
        long t = T0 + 10_000 * Ms;
        for (int i = 0; i < 2000; i++)
        {
            t += rng.Next(0, 40) * Ms / 4;
            var p = G711(1000 + i, 40 + rng.Next(1200));
            reused.Stats.Add(t, p);
            fresh.Stats.Add(t, p);
            Assert.AreEqual(fresh.Stats.BandwidthKbps, reused.Stats.BandwidthKbps, $"packet {i}");
        }
        Assert.AreEqual(fresh.Stats.MaxBandwidthKbps, reused.Stats.MaxBandwidthKbps);
        Assert.AreEqual(fresh.Stats.MaxJitterMs, reused.Stats.MaxJitterMs);
        Assert.AreEqual(fresh.Stats.Packets, reused.Stats.Packets);
    }
}
