using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

[TestClass]
public sealed class NativeListTests
{
    private struct Item
    {
        public long A;
        public int B;
        public bool C;
    }

    [TestMethod]
    public void Add_AcrossBlocks_KeepsEveryItemInOrder()
    {
        using var list = new NativeList<Item>();
        int n = 2 * NativeList<Item>.BlockItems + 17;
        for (int i = 0; i < n; i++)
        {
            ref var item = ref list.Add();
            item.A = i * 1_000_000_007L;
            item.B = -i;
            item.C = i % 3 == 0;
        }
        Assert.AreEqual(n, list.Count);
        for (int i = 0; i < n; i++)
        {
            Assert.AreEqual(i * 1_000_000_007L, list[i].A);
            Assert.AreEqual(-i, list[i].B);
            Assert.AreEqual(i % 3 == 0, list[i].C);
        }
    }

    [TestMethod]
    public void Index_OutsideTheItems_Throws()
    {
        using var list = new NativeList<Item>();
        list.Add();
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => list[1].A = 1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => list[-1].A = 1);
    }

    [TestMethod]
    public void Clear_ThenAdd_StartsOverWithZeroedItems()
    {
        using var list = new NativeList<Item>();
        for (int i = 0; i < NativeList<Item>.BlockItems + 1; i++) list.Add() = new Item { A = 7, B = 7, C = true };
        list.Clear();
        Assert.AreEqual(0, list.Count);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => list[0].A = 1);
        ref var fresh = ref list.Add();
        Assert.AreEqual(0, fresh.A);
        Assert.AreEqual(0, fresh.B);
        Assert.IsFalse(fresh.C);
        Assert.AreEqual(1, list.Count);
    }

    [TestMethod]
    public void PrepareBlock_OneAhead_TakenByTheNextBlockAndNotTwice()
    {
        using var list = new NativeList<Item>();
        Assert.IsTrue(list.PrepareBlock(), "the first block made ahead");
        Assert.IsFalse(list.PrepareBlock(), "one waits already");
        list.Add().A = 1; // takes it
        Assert.IsTrue(list.PrepareBlock(), "the next one");
        for (int i = 1; i < NativeList<Item>.BlockItems; i++) list.Add().A = i + 1;
        Assert.IsFalse(list.PrepareBlock(), "still waiting: the first block is not full until now");
        list.Add().A = NativeList<Item>.BlockItems + 1; // the second block: the one made ahead
        Assert.IsTrue(list.PrepareBlock());
        for (int i = 0; i <= NativeList<Item>.BlockItems; i++) Assert.AreEqual(i + 1, list[i].A, $"item {i}");
        Assert.AreEqual(0, list[NativeList<Item>.BlockItems].B, "items in a block made ahead are zeroed too");
        list.Dispose();
        Assert.IsFalse(list.PrepareBlock(), "a freed list takes no more");
    }

    [TestMethod]
    public void PrepareBlock_FromAnotherThread_WhileAdding_KeepsEveryItem()
    {
        using var list = new NativeList<Item>();
        int n = 20 * NativeList<Item>.BlockItems + 5;
        using var stop = new CancellationTokenSource();
        int made = 0;
        var helper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                if (list.PrepareBlock()) made++;
        });
        for (int i = 0; i < n; i++)
        {
            ref var item = ref list.Add();
            Assert.AreEqual(0, item.A, $"item {i} starts zeroed");
            item.A = i;
            item.B = i ^ 0x5A5A;
        }
        stop.Cancel();
        helper.Wait();
        for (int i = 0; i < n; i++)
        {
            Assert.AreEqual(i, list[i].A);
            Assert.AreEqual(i ^ 0x5A5A, list[i].B);
        }
        Assert.IsGreaterThan(0, made, "the helper made blocks ahead");
    }
}
