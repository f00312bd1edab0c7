using TrafficAudit.Flows;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

[TestClass]
public sealed class EndedFlowGroupsTests
{
    [TestMethod]
    public void Groups_LeaveOldestFirst_WithTheirTickets_AndCountTheirFlows()
    {
        var g = new EndedFlowGroups();
        var a = new Flow();
        var b = new Flow();
        var c = new Flow();
        var ended = new List<Flow> { a, b };
        g.Push(ended, ticket: 10);
        Assert.IsEmpty(ended, "the flows moved into the group");
        Assert.AreEqual(2, g.Flows);
        Assert.AreEqual(1, g.Count);
        // A check with no flow ended still makes a group: it counts as a check.
        g.Push(ended, ticket: 20);
        Assert.AreEqual(2, g.Count);
        Assert.AreEqual(2, g.Flows);
        CollectionAssert.AreEqual(new[] { a, b }, g.Oldest(out long t1));
        Assert.AreEqual(10, t1);
        g.Oldest(out _).Clear(); // the hand-over empties the group it took
        g.ReleaseOldest();
        Assert.AreEqual(0, g.Flows, "a group's flows are counted as pushed, however the list was used");
        ended.Add(c);
        g.Push(ended, ticket: 30);
        CollectionAssert.AreEqual(new[] { c }, g.All().ToList());
        Assert.IsEmpty(g.Oldest(out long t2));
        Assert.AreEqual(20, t2);
        g.ReleaseOldest();
        CollectionAssert.AreEqual(new[] { c }, g.Oldest(out long t3));
        Assert.AreEqual(30, t3);
        g.ReleaseOldest();
        Assert.AreEqual(0, g.Count);
        Assert.ThrowsExactly<InvalidOperationException>(() => g.ReleaseOldest());
    }

    [TestMethod]
    public void Push_BeyondTheSlots_Throws()
    {
        var g = new EndedFlowGroups();
        for (int i = 0; i <= EndedFlowGroups.ChecksLate; i++) g.Push([], i);
        Assert.ThrowsExactly<InvalidOperationException>(() => g.Push([], 99));
    }
}
