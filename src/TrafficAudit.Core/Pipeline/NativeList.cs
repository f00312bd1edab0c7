using System.Runtime.InteropServices;

namespace TrafficAudit.Pipeline;

/// <summary>
/// A growable list of plain values (no references) outside the GC heap: what it holds is never marked, copied or
/// promoted by a collection. For state that lives through several collections and dies all at once (the flows held
/// for node detection). Not thread-safe. <see cref="Dispose"/> (or the finalizer) frees the memory.
/// </summary>
internal sealed unsafe class NativeList<T> : IDisposable where T : unmanaged
{
    private T* _items;
    private int _capacity;

    public int Count { get; private set; }

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return ref _items[index];
        }
    }

    /// <summary>A new entry at the end, zeroed, to fill in place.</summary>
    public ref T Add()
    {
        if (Count == _capacity) Grow();
        ref T slot = ref _items[Count++];
        slot = default;
        return ref slot;
    }

    private void Grow()
    {
        int capacity = _capacity == 0 ? 1024 : checked(_capacity * 2);
        _items = (T*)NativeMemory.Realloc(_items, (nuint)capacity * (nuint)sizeof(T));
        _capacity = capacity;
    }

    /// <summary>Empties the list and gives its memory back.</summary>
    public void Clear()
    {
        Count = 0;
        Free();
    }

    private void Free()
    {
        if (_items is null) return;
        NativeMemory.Free(_items);
        _items = null;
        _capacity = 0;
    }

    public void Dispose()
    {
        Clear();
        GC.SuppressFinalize(this);
    }

    ~NativeList() => Free();
}
