using TrafficAudit.Catalogue;
using TrafficAudit.Classification;
using TrafficAudit.Decode;
using TrafficAudit.Policy;

namespace TrafficAudit.Tests.Policy;

/// <summary>
/// <see cref="PolicyContext.IsNode"/> looks through an array when a site has few nodes and through a hash set when it
/// has many: both answer as the set of nodes does, for IPv4 and IPv6 nodes and for addresses that differ from a
/// node in one half only.
/// </summary>
[TestClass]
public sealed class PolicyContextTests
{
    [TestMethod]
    [DataRow(0)]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(8)]
    [DataRow(9)]
    [DataRow(40)]
    public void IsNode_AnswersAsTheSetOfNodes(int count)
    {
        var rng = new Random(count);
        var nodes = new List<IpAddress>();
        for (int i = 0; i < count; i++)
            nodes.Add(i % 3 == 2 ? new IpAddress((ulong)rng.NextInt64(), (ulong)rng.NextInt64()) : IpAddress.FromV4((uint)rng.Next()));
        var ctx = new PolicyContext(PortCatalogue.LoadEmbedded(), null, nodes.Select(n => new DetectedNode(n, "test")).ToList());
        var set = nodes.ToHashSet();
        var probes = new List<IpAddress>(nodes);
        foreach (var n in nodes)
        {
            probes.Add(new IpAddress(n.Hi ^ 1, n.Lo));
            probes.Add(new IpAddress(n.Hi, n.Lo ^ 1));
        }
        for (int i = 0; i < 200; i++) probes.Add(IpAddress.FromV4((uint)rng.Next()));
        probes.Add(default);
        foreach (var a in probes) Assert.AreEqual(set.Contains(a), ctx.IsNode(a), $"{a} with {count} nodes");
    }
}
