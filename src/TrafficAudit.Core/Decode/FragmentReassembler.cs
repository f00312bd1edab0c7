using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TrafficAudit.Decode;

/// <summary>Limits for IP fragment reassembly. Time is capture time, never the wall clock.</summary>
public sealed class FragmentReassemblyOptions
{
    /// <summary>Datagrams waiting for fragments at once; beyond it the oldest is evicted (ip_fragment_evicted).</summary>
    public int MaxPendingDatagrams { get; init; } = 1024;

    /// <summary>Bytes held in fragment buffers at once (pool array sizes); beyond it the oldest is evicted.</summary>
    public long MaxPendingBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>A datagram still incomplete this long after its first fragment is dropped (ip_fragment_timeout). Linux uses 30 s.</summary>
    public long TimeoutNs { get; init; } = 30_000_000_000L;
}

/// <summary>Identifies one fragmented datagram: RFC 791 (src, dst, id, protocol); RFC 8200 (src, dst, id).</summary>
internal readonly struct FragmentKey(IpAddress src, IpAddress dst, uint id, byte protocol, byte version) : IEquatable<FragmentKey>
{
    public readonly IpAddress Src = src;
    public readonly IpAddress Dst = dst;
    public readonly uint Id = id;
    public readonly byte Protocol = protocol;
    public readonly byte Version = version;

    public bool Equals(FragmentKey o) => Src == o.Src && Dst == o.Dst && Id == o.Id && Protocol == o.Protocol && Version == o.Version;
    public override bool Equals(object? obj) => obj is FragmentKey k && Equals(k);
    public override int GetHashCode() => HashCode.Combine(Src.Hi, Src.Lo, Dst.Hi, Dst.Lo, Id, Protocol | (Version << 8));
}

internal enum FragmentResult : byte { Pending, Complete, Dropped }

/// <summary>
/// Rebuilds IPv4 and IPv6 datagrams from fragments. Payload bytes go into pooled arrays at their
/// fragment offset; an 8-byte-block bitmap records what has arrived, so order does not matter and
/// overlaps are seen. Pending datagrams sit in a list oldest-first, which serves both the timeout
/// and the eviction when the caps are reached. Steady state allocates nothing: arrays come from
/// <see cref="ArrayPool{T}.Shared"/> and datagram records are recycled.
/// </summary>
internal sealed class FragmentReassembler
{
    /// <summary>Largest header kept from the first fragment (IPv4 with options or the IPv6 unfragmentable part).</summary>
    private const int MaxHeaderLength = 512;
    private const int MaxIpLength = 65535;
    private const int BlockCount = (MaxIpLength + 8) / 8;
    private const int Ipv4FlagDontFragment = 0x4000;

    private sealed class Datagram
    {
        public FragmentKey Key;
        public byte[]? Data;
        public readonly byte[] Header = new byte[MaxHeaderLength];
        public int HeaderLength;
        /// <summary>Payload bytes of the whole datagram, known once the last fragment (MF = 0) arrived; -1 before.</summary>
        public int Total;
        public int MaxEnd;
        public int BlocksSet;
        public readonly ulong[] Blocks = new ulong[(BlockCount + 63) / 64];
        public long CreatedNs;
        public Datagram? Prev, Next;
    }

    private readonly AnomalyCounters _anomalies;
    private readonly FragmentReassemblyOptions _options;
    private readonly Dictionary<FragmentKey, Datagram> _pending = new();
    private readonly Stack<Datagram> _free = new();
    private Datagram? _oldest, _newest;
    private long _bytes;

    public FragmentReassembler(AnomalyCounters anomalies, FragmentReassemblyOptions options)
    {
        _anomalies = anomalies;
        _options = options;
    }

    public int PendingCount => _pending.Count;

    /// <summary>Drops datagrams whose first fragment is older than the timeout.</summary>
    public void Expire(long nowNs)
    {
        while (_oldest is { } d && nowNs - d.CreatedNs > _options.TimeoutNs)
        {
            Remove(d);
            _anomalies.Increment("ip_fragment_timeout");
        }
    }

    /// <summary>Drops every pending datagram (end of input), counting each as ip_fragment_incomplete.</summary>
    public void Flush()
    {
        while (_oldest is { } d)
        {
            Remove(d);
            _anomalies.Increment("ip_fragment_incomplete");
        }
    }

    /// <summary>
    /// Stores one fragment. <paramref name="header"/> is the IP header up to the payload (for IPv6
    /// including the fragment header) and is kept from the fragment at offset 0. On Complete,
    /// <paramref name="datagram"/> is a pool array the caller must return, holding the header with
    /// its length fields patched (IPv6 keeps an atomic fragment header, RFC 6946) then the payload.
    /// </summary>
    public FragmentResult Add(in FragmentKey key, ReadOnlySpan<byte> header, int fragOffset, bool more,
        ReadOnlySpan<byte> payload, long timestampNs, out byte[]? datagram, out int headerLength, out int datagramLength)
    {
        datagram = null;
        headerLength = 0;
        datagramLength = 0;
        int end = fragOffset + payload.Length;
        // RFC 791 / 8200: every fragment but the last carries a multiple of 8 bytes.
        if (payload.Length == 0 || (more && (payload.Length & 7) != 0))
        {
            _anomalies.Increment("ip_fragment_bad_length");
            return FragmentResult.Dropped;
        }
        if (end > MaxIpLength - (key.Version == 4 ? 20 : 0))
        {
            _anomalies.Increment("ip_fragment_too_large");
            return FragmentResult.Dropped;
        }
        if (fragOffset == 0 && header.Length > MaxHeaderLength)
        {
            _anomalies.Increment("ip_fragment_header_too_long");
            return FragmentResult.Dropped;
        }

        ref Datagram? slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending, key, out bool exists);
        Datagram d;
        if (!exists)
        {
            d = _free.Count > 0 ? _free.Pop() : new Datagram();
            d.Key = key;
            d.HeaderLength = -1;
            d.Total = -1;
            d.MaxEnd = 0;
            d.BlocksSet = 0;
            Array.Clear(d.Blocks);
            d.CreatedNs = timestampNs;
            d.Prev = _newest;
            d.Next = null;
            if (_newest is null) _oldest = d; else _newest.Next = d;
            _newest = d;
            slot = d;
        }
        else
        {
            d = slot!;
            // The last fragment fixes the size; later pieces must agree with it.
            if ((!more && ((d.Total >= 0 && d.Total != end) || d.MaxEnd > end)) || (more && d.Total >= 0 && end > d.Total))
            {
                _anomalies.Increment("ip_fragment_inconsistent_length");
                return FragmentResult.Dropped;
            }
        }

        if (d.Data is null || d.Data.Length < end)
        {
            var grown = ArrayPool<byte>.Shared.Rent(more ? Math.Max(end, 2048) : end);
            if (d.Data is not null)
            {
                d.Data.AsSpan(0, d.MaxEnd).CopyTo(grown);
                _bytes -= d.Data.Length;
                ArrayPool<byte>.Shared.Return(d.Data);
            }
            d.Data = grown;
            _bytes += grown.Length;
        }

        int firstBlock = fragOffset >> 3, lastBlock = (end + 7) >> 3;
        int alreadySet = 0;
        for (int b = firstBlock; b < lastBlock; b++)
        {
            ulong bit = 1UL << (b & 63);
            ref ulong word = ref d.Blocks[b >> 6];
            if ((word & bit) != 0) alreadySet++;
            else word |= bit;
        }
        if (alreadySet != 0)
        {
            // A retransmitted copy is a duplicate; anything else overlapping may be an evasion
            // attempt (RFC 5722), counted. The later bytes win.
            bool duplicate = alreadySet == lastBlock - firstBlock && end <= d.MaxEnd
                && payload.SequenceEqual(d.Data.AsSpan(fragOffset, payload.Length));
            _anomalies.Increment(duplicate ? "ip_fragment_duplicate" : "ip_fragment_overlap");
        }
        d.BlocksSet += lastBlock - firstBlock - alreadySet;
        payload.CopyTo(d.Data.AsSpan(fragOffset));
        if (end > d.MaxEnd) d.MaxEnd = end;
        if (!more) d.Total = end;
        if (fragOffset == 0)
        {
            header.CopyTo(d.Header);
            d.HeaderLength = header.Length;
        }

        EnforceLimits(d);

        if (d.Total < 0 || d.HeaderLength < 0 || d.BlocksSet != (d.Total + 7) >> 3)
            return FragmentResult.Pending;

        int hl = d.HeaderLength, total = hl + d.Total;
        if (total > MaxIpLength + (key.Version == 6 ? 40 : 0))
        {
            Remove(d);
            _anomalies.Increment("ip_fragment_too_large");
            return FragmentResult.Dropped;
        }
        var output = ArrayPool<byte>.Shared.Rent(total);
        d.Header.AsSpan(0, hl).CopyTo(output);
        d.Data.AsSpan(0, d.Total).CopyTo(output.AsSpan(hl));
        if (key.Version == 4) PatchIpv4Header(output.AsSpan(0, hl), total);
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(4), (ushort)(total - 40));
            // Offset 0, M = 0: the fragment header is now an atomic fragment.
            BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(hl - 6), 0);
        }
        Remove(d);
        datagram = output;
        headerLength = hl;
        datagramLength = total;
        return FragmentResult.Complete;
    }

    private static void PatchIpv4Header(Span<byte> h, int total)
    {
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)total);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(h[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)(flags & Ipv4FlagDontFragment));
        // RFC 1071 one's-complement sum over the header with the checksum field zeroed.
        h[10] = 0;
        h[11] = 0;
        uint sum = 0;
        for (int i = 0; i + 1 < h.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(h[i..]);
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], (ushort)~sum);
    }

    private void EnforceLimits(Datagram keep)
    {
        while (_pending.Count > _options.MaxPendingDatagrams || _bytes > _options.MaxPendingBytes)
        {
            var victim = _oldest == keep ? keep.Next : _oldest;
            if (victim is null) break;
            Remove(victim);
            _anomalies.Increment("ip_fragment_evicted");
        }
    }

    private void Remove(Datagram d)
    {
        _pending.Remove(d.Key);
        if (d.Prev is null) _oldest = d.Next; else d.Prev.Next = d.Next;
        if (d.Next is null) _newest = d.Prev; else d.Next.Prev = d.Prev;
        d.Prev = d.Next = null;
        if (d.Data is not null)
        {
            _bytes -= d.Data.Length;
            ArrayPool<byte>.Shared.Return(d.Data);
            d.Data = null;
        }
        _free.Push(d);
    }
}
