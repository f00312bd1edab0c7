using TrafficAudit.Decode;
using TrafficAudit.Flows;

namespace TrafficAudit.Tests.Flows;

/// <summary>
/// The flow table's index against the <see cref="Dictionary{TKey,TValue}"/> it replaced: the same flows
/// found, and the same order of enumeration (the idle sweep and the eviction's choice among flows last
/// seen at the same moment follow it, so outputs depend on it).
/// </summary>
[TestClass]
public sealed class FlowIndexTests
{
    private static FlowKey Key(int n, IpProtocol protocol = IpProtocol.Udp, ushort vlan = 0) =>
        FlowKey.Create(IpAddress.FromV4(0x0A000000u + (uint)(n % 5000)), (ushort)(n / 5000 + 1), IpAddress.FromV4(0xC0A80001u), 5060, protocol, vlan, out _);

    private static Flow NewFlow(FlowKey key, long sequence)
    {
        var f = new Flow();
        f.Start(key, true, sequence, 0);
        return f;
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void RandomAddsAndRemoves_FindAndOrderAsADictionary(int seed)
    {
        var rng = new Random(seed);
        var index = new FlowIndex(16);
        var oracle = new Dictionary<FlowKey, Flow>();
        var live = new List<FlowKey>();
        long sequence = 0;
        int removes = 0, grows = 0, lastCapacityProbe = 16;
        for (int step = 0; step < 40_000; step++)
        {
            int op = rng.Next(100);
            if (op < 55 || live.Count == 0)
            {
                // Half the time the flow just found again (a run of one flow's packets, served by the last-found entry).
                if (live.Count > 0 && rng.Next(2) == 0)
                {
                    var again = live[^1];
                    Assert.AreSame(oracle[again], index.FlowAt(index.Find(in again, again.Hash)), $"step {step}: found again");
                }
                var key = Key(rng.Next(30_000), rng.Next(4) == 0 ? IpProtocol.Tcp : IpProtocol.Udp, (ushort)rng.Next(3));
                int found = index.Find(in key, key.Hash);
                Assert.AreEqual(oracle.ContainsKey(key), found >= 0, $"step {step}: found {key}");
                if (found >= 0) { Assert.AreSame(oracle[key], index.FlowAt(found)); continue; }
                var f = NewFlow(key, sequence++);
                oracle.Add(key, f);
                index.Add(in key, key.Hash, f);
                live.Add(key);
                if (index.Count > lastCapacityProbe) { grows++; lastCapacityProbe *= 2; }
            }
            else if (op < 95)
            {
                // Removes in bursts of entries next to each other, as a sweep does (the free list then matters).
                int burst = 1 + rng.Next(8);
                for (int b = 0; b < burst && live.Count > 0; b++)
                {
                    int at = rng.Next(live.Count);
                    var key = live[at];
                    live[at] = live[^1];
                    live.RemoveAt(live.Count - 1);
                    int i = index.Find(in key, key.Hash);
                    Assert.IsGreaterThanOrEqualTo(0, i, $"step {step}: {key} is in the index");
                    Assert.AreSame(oracle[key], index.RemoveAt(i));
                    oracle.Remove(key);
                    Assert.IsLessThan(0, index.Find(in key, key.Hash), "removed");
                    removes++;
                }
            }
            else if (op < 96)
            {
                index.Clear();
                oracle.Clear();
                live.Clear();
            }
            else
            {
                CollectionAssert.AreEqual(oracle.Values.ToList(), index.Flows(), $"step {step}: enumeration order");
            }
            Assert.AreEqual(oracle.Count, index.Count);
        }
        CollectionAssert.AreEqual(oracle.Values.ToList(), index.Flows(), "final enumeration order");
        Assert.IsGreaterThan(1000, removes, "the free list was exercised");
        Assert.IsGreaterThan(0, grows, "the index grew");
    }

    [TestMethod]
    public void SameAddressesAndPorts_OtherProtocolOrVlan_AreOtherFlows()
    {
        var index = new FlowIndex(16);
        var keys = new[] { Key(7), Key(7, IpProtocol.Tcp), Key(7, vlan: 12), Key(7, IpProtocol.Tcp, 12), Key(5007) };
        var flows = keys.Select((k, i) => NewFlow(k, i)).ToList();
        for (int i = 0; i < keys.Length; i++) index.Add(in keys[i], keys[i].Hash, flows[i]);
        for (int i = 0; i < keys.Length; i++) Assert.AreSame(flows[i], index.FlowAt(index.Find(in keys[i], keys[i].Hash)), keys[i].ToString());
    }

    [TestMethod]
    public void FlowKey_PackedFields_ReadBackAndHashAlike()
    {
        var a = IpAddress.Parse("2001:db8::1");
        var b = IpAddress.Parse("10.1.2.3");
        var k1 = FlowKey.Create(a, 65535, b, 1, IpProtocol.Tcp, 4095, out bool aFirst);
        var k2 = FlowKey.Create(b, 1, a, 65535, IpProtocol.Tcp, 4095, out bool bFirst);
        Assert.AreNotEqual(aFirst, bFirst);
        Assert.AreEqual(k1, k2);
        Assert.AreEqual(k1.Hash, k2.Hash);
        Assert.AreEqual(b, k1.A, "the IPv4-mapped address sorts before 2001:db8::");
        Assert.AreEqual((ushort)1, k1.PortA);
        Assert.AreEqual((ushort)65535, k1.PortB);
        Assert.AreEqual(IpProtocol.Tcp, k1.Protocol);
        Assert.AreEqual((ushort)4095, k1.Vlan);
        Assert.AreNotEqual(k1, FlowKey.Create(a, 65535, b, 1, IpProtocol.Udp, 4095, out _));
        Assert.AreNotEqual(k1, FlowKey.Create(a, 65535, b, 1, IpProtocol.Tcp, 4094, out _));
        Assert.AreNotEqual(k1, FlowKey.Create(a, 65534, b, 1, IpProtocol.Tcp, 4095, out _));
    }

    [TestMethod]
    public void FlowKey_Hash_SpreadsSequentialIpv4Flows()
    {
        // 65,536 flows of one client network to one server, ports counting up: the low 16 bits (a table's
        // bucket index) take most of their values; a hash that ignored a field would collapse them.
        var buckets = new HashSet<int>();
        for (int i = 0; i < 65_536; i++)
        {
            var k = FlowKey.Create(IpAddress.FromV4(0x0A000000u + (uint)(i >> 4)), (ushort)(40000 + (i & 15)), IpAddress.FromV4(0x0A000105u), 443, IpProtocol.Tcp, 0, out _);
            buckets.Add(k.Hash & 0xFFFF);
        }
        Assert.IsGreaterThan(40_000, buckets.Count, $"{buckets.Count} of 65,536 buckets used");
    }
}
