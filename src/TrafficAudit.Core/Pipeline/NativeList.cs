using System.Runtime.InteropServices;

namespace TrafficAudit.Pipeline;

/// <summary>
/// A list of plain values (no references) outside the GC heap, for state that lives through several collections and is
/// dropped all at once (the flows held for node detection): no collection marks, copies or promotes it. Its memory comes
/// in blocks of <see cref="BlockItems"/> items, so it grows without copying and holds at most one block more than it
/// needs; <see cref="Clear"/> gives every block back. Not thread-safe. <see cref="Dispose"/> (or the finalizer) frees it.
/// </summary>
internal sealed unsafe class NativeList<T> : IDisposable where T : unmanaged
{
    /// <summary>Items per block (a power of two).</summary>
    public const int BlockItems = 2048;
    private const int BlockShift = 11;

    private nint[] _blocks = [];
    private int _blockCount;

    public int Count { get; private set; }

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return ref ((T*)_blocks[index >> BlockShift])[index & (BlockItems - 1)];
        }
    }

    /// <summary>A new item at the end, zeroed, to fill in place.</summary>
    public ref T Add()
    {
        int block = Count >> BlockShift;
        if (block == _blockCount)
        {
            if (_blockCount == _blocks.Length) Array.Resize(ref _blocks, Math.Max(4, 2 * _blocks.Length));
            _blocks[_blockCount++] = (nint)NativeMemory.Alloc(BlockItems, (nuint)sizeof(T));
        }
        ref T slot = ref ((T*)_blocks[block])[Count & (BlockItems - 1)];
        Count++;
        slot = default;
        return ref slot;
    }

    /// <summary>Empties the list and gives its memory back.</summary>
    public void Clear()
    {
        Count = 0;
        Free();
    }

    private void Free()
    {
        for (int i = 0; i < _blockCount; i++)
        {
            NativeMemory.Free((void*)_blocks[i]);
            _blocks[i] = 0;
        }
        _blockCount = 0;
    }

    public void Dispose()
    {
        Clear();
        GC.SuppressFinalize(this);
    }

    ~NativeList() => Free();
}
