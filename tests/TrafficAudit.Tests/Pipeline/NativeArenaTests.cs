using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

[TestClass]
public sealed class NativeArenaTests
{
    [TestMethod]
    public void Span_WithinTheArena_ReadsWhatWasWritten()
    {
        var arena = new NativeArena(1024);
        new byte[] { 1, 2, 3 }.CopyTo(arena.Span(1000, 24));
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, arena.Span(1000, 3).ToArray());
        Assert.AreEqual(0, arena.Span(1024, 0).Length);
    }

    [TestMethod]
    public void Span_PastTheEnd_Throws()
    {
        var arena = new NativeArena(16);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => arena.Span(10, 7));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => arena.Span(17, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => arena.Span(-1, 1));
    }

    [TestMethod]
    public void Grow_MakesRoomForALargerDatagram()
    {
        var arena = new NativeArena(16);
        arena.Grow(70_000);
        Assert.AreEqual(70_000, arena.Length);
        arena.Span(69_990, 10).Fill(7);
        Assert.AreEqual(7, arena.Span(69_999, 1)[0]);
    }
}
