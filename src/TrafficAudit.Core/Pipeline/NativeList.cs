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
            nint spare = Interlocked.Exchange(ref _spare, 0);
            _blocks[_blockCount++] = spare != 0 ? spare : (nint)NativeMemory.Alloc(BlockItems, (nuint)sizeof(T));
        }
        ref T slot = ref ((T*)_blocks[block])[Count & (BlockItems - 1)];
        Count++;
        slot = default;
        return ref slot;
    }

    /// <summary>The next block, made ahead by <see cref="PrepareBlock"/>, or 0.</summary>
    private nint _spare;
    private int _closed;

    /// <summary>
    /// Makes the list's next block ahead, from any thread, and touches each of its pages, so that the thread that adds
    /// items does not stop for the kernel to map them (a block is some 85 pages; the held flows' facts fill ten blocks
    /// while the VoIP stage's thread has nothing to do). True when it made one; false when one waits already or the
    /// list is freed. Holds one block more at most.
    /// </summary>
    public bool PrepareBlock()
    {
        if (Volatile.Read(ref _spare) != 0 || Volatile.Read(ref _closed) != 0) return false;
        nuint bytes = BlockItems * (nuint)sizeof(T);
        byte* block = (byte*)NativeMemory.Alloc(bytes);
        for (nuint offset = 0; offset < bytes; offset += PageBytes) block[offset] = 0;
        if (Interlocked.CompareExchange(ref _spare, (nint)block, 0) != 0)
        {
            NativeMemory.Free(block);
            return false;
        }
        // Freed meanwhile: nobody takes it.
        if (Volatile.Read(ref _closed) != 0 && Interlocked.Exchange(ref _spare, 0) is var orphan and not 0) NativeMemory.Free((void*)orphan);
        return true;
    }

    private const int PageBytes = 4096;

    /// <summary>Empties the list and gives its memory back.</summary>
    public void Clear()
    {
        Count = 0;
        Free();
    }

    private void Free()
    {
        if (Interlocked.Exchange(ref _spare, 0) is var spare and not 0) NativeMemory.Free((void*)spare);
        for (int i = 0; i < _blockCount; i++)
        {
            NativeMemory.Free((void*)_blocks[i]);
            _blocks[i] = 0;
        }
        _blockCount = 0;
    }

    public void Dispose()
    {
        Volatile.Write(ref _closed, 1);
        Clear();
        GC.SuppressFinalize(this);
    }

    ~NativeList()
    {
        _closed = 1;
        Free();
    }
}
