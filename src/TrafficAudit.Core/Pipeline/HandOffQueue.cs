namespace TrafficAudit.Pipeline;

/// <summary>
/// A first-in first-out queue between pipeline threads (batches to a worker, batches back) whose waits block at once,
/// without spinning. <see cref="System.Collections.Concurrent.BlockingCollection{T}"/> spins and yields before it
/// blocks: a VoIP worker waiting for its next batch spent about a sixth of the bulk capture's CPU samples in
/// <c>RhSpinWait</c>, <c>sched_yield</c> and the scheduler, on a machine of two cores where that time belonged to the
/// thread that reads the capture. Items here are batches of thousands of packets, so a wake-up per item costs nothing
/// that shows. Bounded: <see cref="Add"/> waits while <see cref="Capacity"/> items are queued.
/// </summary>
public sealed class HandOffQueue<T>
{
    private readonly Queue<T> _items = new();
    private readonly object _gate = new();
    private bool _completed;
    private bool _woken;

    public HandOffQueue(int capacity = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Count
    {
        get { lock (_gate) return _items.Count; }
    }

    /// <summary>Queues <paramref name="item"/>, waiting while the queue is full.</summary>
    public void Add(T item)
    {
        lock (_gate)
        {
            if (_completed) throw new InvalidOperationException("the queue was completed: nothing more is added");
            while (_items.Count >= Capacity) Monitor.Wait(_gate);
            _items.Enqueue(item);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The oldest item without waiting; false when the queue is empty.</summary>
    public bool TryTake(out T item)
    {
        lock (_gate)
        {
            if (!_items.TryDequeue(out item!)) return false;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>The oldest item, waiting for one; false once the queue is completed and empty.</summary>
    public bool Take(out T item)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_items.TryDequeue(out item!))
                {
                    Monitor.PulseAll(_gate);
                    return true;
                }
                if (_completed) return false;
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>
    /// The oldest item, waiting for one or for <see cref="Wake"/>: <see cref="Taken.Item"/>, <see cref="Taken.Woken"/> (no
    /// item: a wake-up was asked for since the last call, which it uses up) or <see cref="Taken.Completed"/> (completed
    /// and empty).
    /// </summary>
    public Taken TakeOrWake(out T item)
    {
        lock (_gate)
        {
            while (true)
            {
                if (_items.TryDequeue(out item!))
                {
                    Monitor.PulseAll(_gate);
                    return Taken.Item;
                }
                if (_completed) return Taken.Completed;
                if (_woken)
                {
                    _woken = false;
                    return Taken.Woken;
                }
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>Ends a wait in <see cref="TakeOrWake"/> without an item (or the next one, when none waits now).</summary>
    public void Wake()
    {
        lock (_gate)
        {
            _woken = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>What <see cref="TakeOrWake"/> returned.</summary>
    public enum Taken { Item, Woken, Completed }

    /// <summary>No more items: <see cref="Take"/> returns false once the queued ones are taken.</summary>
    public void CompleteAdding()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
