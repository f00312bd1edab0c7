using TrafficAudit.Decode;
using TrafficAudit.Flows;
using TrafficAudit.Pipeline;
using TrafficAudit.Pipeline.Sharding;

namespace TrafficAudit.Tests.Pipeline;

/// <summary>
/// The sharded engine's epochs come back written over (issue 12, round 15): the merger, the last to read an epoch, clears
/// every item, payload byte, event, VoIP packet, DNS answer and character the epoch carried before the reader and the
/// shards fill it again, so their stores land on lines another core last wrote, and no ended flow stays referenced.
/// </summary>
[TestClass]
public sealed class ShardEpochTests
{
    [TestMethod]
    public void Clear_WritesOverEverythingTheEpochCarried()
    {
        var epoch = new ShardEpoch(shards: 2, packets: 64);
        var flow = new Flow();
        var address = IpAddress.Parse("10.0.0.1");
        for (int s = 0; s < 2; s++)
        {
            var input = epoch.Inputs[s];
            var output = epoch.Outputs[s];
            for (int i = 0; i < 40; i++)
            {
                ref var item = ref input.Append();
                item.Ordinal = i + 1;
                item.Frame = i + 1;
                item.TimestampNs = 1_000 + i;
                item.PayloadStart = input.CopyPayload([1, 2, 3, 4, 5]);
                item.PayloadLength = 5;
                output.Add(i, ShardEventKind.Voip, flow, output.NextVoip());
                output.Voip[output.VoipCount - 1] = new VoipPacket { Frame = i + 1, TimestampNs = 1_000 + i, SrcPort = 5060 };
                output.CopyVoipBytes(output.VoipCount - 1, [9, 9, 9]);
            }
            output.AddDns(address, "sip.example.com", 7, 0, 7, 99, flow);
        }
        int itemBytes = 40 * 5, voipBytes = 40 * 3, chars = "sip.example.com".Length;

        epoch.Clear();

        foreach (var input in epoch.Inputs)
        {
            Assert.AreEqual(0, input.Count);
            for (int i = 0; i < 40; i++)
                if (!input.Items[i].Equals(default(ShardItem))) Assert.Fail($"input item {i} kept: frame {input.Items[i].Frame}");
            Assert.IsLessThan(0, input.Bytes.AsSpan(0, itemBytes).IndexOfAnyExcept((byte)0), "input payload bytes");
        }
        foreach (var output in epoch.Outputs)
        {
            Assert.AreEqual(0, output.EventCount);
            Assert.AreEqual(0, output.VoipCount);
            for (int i = 0; i < 41; i++)
                if (output.Events[i].Flow is not null || output.Events[i].Order != 0) Assert.Fail($"event {i} kept");
            for (int i = 0; i < 40; i++)
                if (!output.Voip[i].Equals(default(VoipPacket))) Assert.Fail($"VoIP packet {i} kept: frame {output.Voip[i].Frame}");
            CollectionAssert.AreEqual(new int[40], output.VoipStart.AsSpan(0, 40).ToArray(), "VoIP offsets");
            Assert.IsLessThan(0, output.VoipBytes.AsSpan(0, voipBytes).IndexOfAnyExcept((byte)0), "VoIP bytes");
            Assert.AreEqual(default(ShardDnsAnswer), output.Dns[0], "DNS answer");
            Assert.IsLessThan(0, output.Chars.AsSpan(0, chars).IndexOfAnyExcept('\0'), "DNS name characters");
        }
    }
}
