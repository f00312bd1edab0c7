namespace TrafficAudit.Pipeline;

/// <summary>
/// The first <see cref="Capacity"/> items of a stream of items in an order, kept as they arrive: a heap
/// whose root is the kept item that sorts last, evicted when a better one arrives. Memory is the
/// capacity, whatever the number of items; the result is the same whatever order they come in, as long
/// as the comparer is a total order (the callers end theirs with a number unique per item).
/// </summary>
public sealed class BoundedSelection<T>
{
    private readonly IComparer<T> _order;
    // A max-heap by _order: the root is the kept item that sorts last.
    private readonly PriorityQueue<T, T> _heap;

    /// <param name="order">The order of the selection: the items that sort first are kept.</param>
    public BoundedSelection(int capacity, IComparer<T> order)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        _order = order;
        _heap = new PriorityQueue<T, T>(Math.Min(capacity, 1024), Comparer<T>.Create((a, b) => order.Compare(b, a)));
    }

    public int Capacity { get; }

    /// <summary>Items kept now (at most <see cref="Capacity"/>).</summary>
    public int Count => _heap.Count;

    /// <summary>
    /// Whether <paramref name="item"/> would be kept: true while the selection is not full or when it sorts
    /// before the last kept item. Lets a caller avoid building what would be thrown away.
    /// </summary>
    public bool WouldKeep(T item) =>
        Capacity > 0 && (_heap.Count < Capacity || _order.Compare(item, _heap.Peek()) < 0);

    /// <summary>Offers an item; returns the item it displaced (or <paramref name="item"/> itself when not kept), default when nothing left.</summary>
    public bool Offer(T item, out T? dropped)
    {
        dropped = default;
        if (Capacity == 0) { dropped = item; return false; }
        if (_heap.Count < Capacity)
        {
            _heap.Enqueue(item, item);
            return true;
        }
        if (_order.Compare(item, _heap.Peek()) >= 0) { dropped = item; return false; }
        dropped = _heap.EnqueueDequeue(item, item);
        return true;
    }

    /// <summary>A copy that goes on on its own (the items themselves are shared: keep them immutable).</summary>
    public BoundedSelection<T> Clone()
    {
        var copy = new BoundedSelection<T>(Capacity, _order);
        foreach (var (item, priority) in _heap.UnorderedItems) copy._heap.Enqueue(item, priority);
        return copy;
    }

    /// <summary>The kept items, first in the order first.</summary>
    public List<T> ToSortedList()
    {
        var list = _heap.UnorderedItems.Select(x => x.Element).ToList();
        list.Sort(_order);
        return list;
    }
}
