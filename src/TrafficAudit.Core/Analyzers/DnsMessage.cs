using System.Buffers.Binary;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers;

/// <summary>
/// Reads the A and AAAA answers of a DNS response (RFC 1035 section 4), following name compression
/// (section 4.1.4) with a loop guard. Allocates the names (one call per DNS response, not per packet).
/// Never throws.
/// </summary>
public static class DnsMessage
{
    private const int HeaderLength = 12;
    /// <summary>QR bit in the flags word: set in responses.</summary>
    private const ushort FlagResponse = 0x8000;
    private const ushort TypeA = 1;
    private const ushort TypeCname = 5;
    private const ushort TypeAaaa = 28;
    private const ushort ClassIn = 1;
    /// <summary>Top two bits 11 in a length byte: a compression pointer.</summary>
    private const byte PointerMask = 0xC0;
    /// <summary>RFC 1035 2.3.4: at most 255 bytes in a name on the wire.</summary>
    private const int MaxNameWireLength = 255;
    /// <summary>More pointers than this in one name means a loop (a valid name has at most 127 labels).</summary>
    private const int MaxPointerHops = 128;

    /// <summary>
    /// Adds one (name, address) per A/AAAA answer of class IN to <paramref name="into"/>. The name is the one
    /// the client asked for when the answer's owner is that name or reached from it through CNAME answers
    /// (so a query for x.imagicle.cloud answered by a CNAME to a load balancer still yields x.imagicle.cloud);
    /// otherwise the answer's own owner name. Names are lower-case, without the trailing dot.
    /// Returns false (and leaves <paramref name="into"/> as it was) for a query, a truncated or malformed message.
    /// </summary>
    public static bool TryReadAnswers(ReadOnlySpan<byte> udpPayload, List<(string name, IpAddress address)> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        int start = into.Count;
        if (!TryRead(udpPayload, into))
        {
            into.RemoveRange(start, into.Count - start);
            return false;
        }
        return true;
    }

    private static bool TryRead(ReadOnlySpan<byte> msg, List<(string, IpAddress)> into)
    {
        if (msg.Length < HeaderLength) return false;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(msg[2..]);
        if ((flags & FlagResponse) == 0) return false;
        int questions = BinaryPrimitives.ReadUInt16BigEndian(msg[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(msg[6..]);
        int pos = HeaderLength;

        string? asked = null;
        for (int q = 0; q < questions; q++)
        {
            if (!TryReadName(msg, ref pos, out string? qname)) return false;
            if (msg.Length - pos < 4) return false; // QTYPE, QCLASS
            pos += 4;
            asked ??= qname;
        }

        // Names that stand for the asked name: the name itself and every CNAME target reached from it.
        var aliases = asked is null ? null : new HashSet<string>(StringComparer.Ordinal) { asked };
        for (int a = 0; a < answers; a++)
        {
            if (!TryReadName(msg, ref pos, out string? owner)) return false;
            if (msg.Length - pos < 10) return false; // TYPE, CLASS, TTL, RDLENGTH
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(msg[pos..]);
            ushort cls = BinaryPrimitives.ReadUInt16BigEndian(msg[(pos + 2)..]);
            int rdLength = BinaryPrimitives.ReadUInt16BigEndian(msg[(pos + 8)..]);
            pos += 10;
            if (msg.Length - pos < rdLength) return false;
            var rdata = msg.Slice(pos, rdLength);
            if ((cls & 0x7FFF) == ClassIn)
            {
                if (type == TypeCname)
                {
                    int p = pos;
                    if (!TryReadName(msg, ref p, out string? target) || p > pos + rdLength) return false;
                    if (aliases is not null && aliases.Contains(owner!)) aliases.Add(target!);
                }
                else if ((type == TypeA && rdLength == 4) || (type == TypeAaaa && rdLength == 16))
                {
                    string name = aliases is not null && aliases.Contains(owner!) ? asked! : owner!;
                    into.Add((name, IpAddress.FromBytes(rdata)));
                }
            }
            pos += rdLength;
        }
        return true;
    }

    /// <summary>Reads a possibly compressed name at <paramref name="pos"/>; pos moves past the name as it is stored here.</summary>
    private static bool TryReadName(ReadOnlySpan<byte> msg, ref int pos, out string? name)
    {
        name = null;
        Span<char> buffer = stackalloc char[MaxNameWireLength];
        int length = 0;
        int wireLength = 0;
        int cursor = pos;
        int resume = -1; // where the caller continues: after the first pointer
        int hops = 0;
        while (true)
        {
            if ((uint)cursor >= (uint)msg.Length) return false;
            byte len = msg[cursor];
            if ((len & PointerMask) == PointerMask)
            {
                if (msg.Length - cursor < 2) return false;
                int target = ((len & 0x3F) << 8) | msg[cursor + 1];
                if (resume < 0) resume = cursor + 2;
                if (++hops > MaxPointerHops || target >= msg.Length) return false;
                cursor = target;
                continue;
            }
            if ((len & PointerMask) != 0) return false; // 01 and 10 label types are not in use
            cursor++;
            if (len == 0) break;
            wireLength += len + 1;
            if (wireLength + 1 > MaxNameWireLength) return false;
            if (msg.Length - cursor < len) return false;
            if (length > 0) buffer[length++] = '.';
            foreach (byte b in msg.Slice(cursor, len))
            {
                // Keep printable ASCII; anything else would make a misleading name.
                if (b is < 0x21 or > 0x7E) return false;
                buffer[length++] = char.ToLowerInvariant((char)b);
            }
            cursor += len;
        }
        pos = resume >= 0 ? resume : cursor;
        name = new string(buffer[..length]);
        return true;
    }
}
