using TrafficAudit.Pipeline;

namespace TrafficAudit.Tests.Pipeline;

[TestClass]
public sealed class HandOffQueueTests
{
    [TestMethod]
    public void Items_ComeOutInOrder_AcrossThreads_AndTakeEndsWhenCompleted()
    {
        var q = new HandOffQueue<int>(capacity: 3);
        var got = new List<int>();
        var consumer = new Thread(() => { while (q.Take(out int i)) got.Add(i); });
        consumer.Start();
        for (int i = 0; i < 10_000; i++) q.Add(i);
        q.CompleteAdding();
        Assert.IsTrue(consumer.Join(TimeSpan.FromSeconds(30)), "the consumer ends once the queue is completed and empty");
        CollectionAssert.AreEqual(Enumerable.Range(0, 10_000).ToList(), got);
        Assert.ThrowsExactly<InvalidOperationException>(() => q.Add(1));
    }

    [TestMethod]
    public void Add_WaitsWhileFull_UntilAnItemIsTaken()
    {
        var q = new HandOffQueue<string>(capacity: 1);
        q.Add("a");
        Assert.IsTrue(q.TryTake(out var a));
        Assert.AreEqual("a", a);
        q.Add("b");
        using var added = new ManualResetEventSlim();
        var producer = new Thread(() => { q.Add("c"); added.Set(); });
        producer.Start();
        Assert.IsFalse(added.Wait(200), "the queue is full: Add waits");
        Assert.IsTrue(q.TryTake(out var first));
        Assert.AreEqual("b", first);
        Assert.IsTrue(added.Wait(TimeSpan.FromSeconds(30)), "room again: Add returns");
        Assert.IsTrue(q.Take(out var second));
        Assert.AreEqual("c", second);
        Assert.IsFalse(q.TryTake(out _), "empty");
        Assert.AreEqual(0, q.Count);
        producer.Join();
    }

    [TestMethod]
    public void TakeOrWake_EndsAWaitWithoutAnItem_OnceAWakeIsAsked_ItemsFirst()
    {
        var q = new HandOffQueue<int>();
        // A wake asked before the wait is kept for it, once.
        q.Wake();
        Assert.AreEqual(HandOffQueue<int>.Taken.Woken, q.TakeOrWake(out _));
        // An item comes before a wake.
        q.Add(7);
        q.Wake();
        Assert.AreEqual(HandOffQueue<int>.Taken.Item, q.TakeOrWake(out int item));
        Assert.AreEqual(7, item);
        Assert.AreEqual(HandOffQueue<int>.Taken.Woken, q.TakeOrWake(out _), "the wake still stands");
        // A thread asleep in the wait is woken by Wake, with no item.
        HandOffQueue<int>.Taken? got = null;
        using var entered = new ManualResetEventSlim();
        var waiter = new Thread(() => { entered.Set(); got = q.TakeOrWake(out _); });
        waiter.Start();
        Assert.IsTrue(entered.Wait(TimeSpan.FromSeconds(30)));
        Assert.IsFalse(waiter.Join(200), "no item, no wake: it waits");
        q.Wake();
        Assert.IsTrue(waiter.Join(TimeSpan.FromSeconds(30)));
        Assert.AreEqual(HandOffQueue<int>.Taken.Woken, got);
        q.CompleteAdding();
        Assert.AreEqual(HandOffQueue<int>.Taken.Completed, q.TakeOrWake(out _));
    }
}
