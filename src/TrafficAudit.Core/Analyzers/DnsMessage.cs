using System.Buffers.Binary;
using TrafficAudit.Decode;

namespace TrafficAudit.Analyzers;

/// <summary>
/// Reads the A and AAAA answers of a DNS response (RFC 1035 section 4), following name compression
/// (section 4.1.4) with a loop guard. <see cref="DnsAnswerReader"/> reads them into a reused buffer
/// (nothing allocated per response); <see cref="TryReadAnswers"/> gives them as strings. Never throws.
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
    /// Names followed through CNAME answers from the asked one: a real chain has a handful; the bound keeps a
    /// hostile response of thousands of CNAMEs linear (each answer's owner is compared with every alias).
    /// </summary>
    private const int MaxAliases = 64;

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
        var reader = new DnsAnswerReader();
        if (!reader.TryRead(udpPayload)) return false;
        foreach (var a in reader.Answers) into.Add((new string(reader.Name(a)), a.Address));
        return true;
    }

    internal static bool TryRead(ReadOnlySpan<byte> msg, DnsAnswerReader r)
    {
        if (msg.Length < HeaderLength) return false;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(msg[2..]);
        if ((flags & FlagResponse) == 0) return false;
        int questions = BinaryPrimitives.ReadUInt16BigEndian(msg[4..]);
        int answers = BinaryPrimitives.ReadUInt16BigEndian(msg[6..]);
        int pos = HeaderLength;

        DnsName asked = default;
        bool haveAsked = false;
        for (int q = 0; q < questions; q++)
        {
            if (!TryReadName(msg, ref pos, r, out var qname)) return false;
            if (msg.Length - pos < 4) return false; // QTYPE, QCLASS
            pos += 4;
            if (!haveAsked) { asked = qname; haveAsked = true; }
        }

        // Names that stand for the asked name: the name itself and every CNAME target reached from it.
        if (haveAsked) r.Aliases.Add(asked);
        for (int a = 0; a < answers; a++)
        {
            if (!TryReadName(msg, ref pos, r, out var owner)) return false;
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
                    if (!TryReadName(msg, ref p, r, out var target) || p > pos + rdLength) return false;
                    if (haveAsked && r.Aliases.Count < MaxAliases && r.IsAlias(owner) && !r.IsAlias(target)) r.Aliases.Add(target);
                }
                else if ((type == TypeA && rdLength == 4) || (type == TypeAaaa && rdLength == 16))
                {
                    var name = haveAsked && r.IsAlias(owner) ? asked : owner;
                    r.Answers.Add(new DnsAnswer(name.Start, name.Length, IpAddress.FromBytes(rdata)));
                }
            }
            pos += rdLength;
        }
        return true;
    }

    private static bool TryReadName(ReadOnlySpan<byte> msg, ref int pos, DnsAnswerReader r, out DnsName name)
    {
        name = default;
        Span<char> buffer = r.Reserve(MaxNameWireLength);
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
        name = r.Commit(length);
        return true;
    }
}

/// <summary>Where a name read by <see cref="DnsAnswerReader"/> lies in its buffer.</summary>
public readonly record struct DnsName(int Start, int Length);

/// <summary>One A/AAAA answer: its name (in the reader's buffer, see <see cref="DnsAnswerReader.Name"/>) and address.</summary>
public readonly record struct DnsAnswer(int NameStart, int NameLength, IpAddress Address);

/// <summary>
/// Reads the answers of DNS responses one after another into buffers it keeps: after the first responses
/// nothing is allocated per response (the buffer grows only for a response with more or longer names than
/// any before). The answers and names of a response are valid until the next <see cref="TryRead"/>.
/// </summary>
public sealed class DnsAnswerReader
{
    private char[] _chars = new char[1024];
    private int _used;

    /// <summary>The A/AAAA answers of the last response read, as <see cref="DnsMessage.TryReadAnswers"/> describes them.</summary>
    public List<DnsAnswer> Answers { get; } = new();
    internal List<DnsName> Aliases { get; } = new();

    /// <summary>Reads one response; false (no answers) for a query, a truncated or malformed message.</summary>
    public bool TryRead(ReadOnlySpan<byte> udpPayload)
    {
        _used = 0;
        Answers.Clear();
        Aliases.Clear();
        if (DnsMessage.TryRead(udpPayload, this)) return true;
        Answers.Clear();
        return false;
    }

    /// <summary>The name of an answer of the last response read.</summary>
    public ReadOnlySpan<char> Name(in DnsAnswer answer) => _chars.AsSpan(answer.NameStart, answer.NameLength);

    internal ReadOnlySpan<char> Text(DnsName name) => _chars.AsSpan(name.Start, name.Length);

    internal bool IsAlias(DnsName name)
    {
        var text = Text(name);
        foreach (var a in Aliases)
            if (Text(a).SequenceEqual(text)) return true;
        return false;
    }

    /// <summary>Room for a name of up to <paramref name="length"/> characters after the names read so far.</summary>
    internal Span<char> Reserve(int length)
    {
        if (_chars.Length - _used < length) Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _used + length));
        return _chars.AsSpan(_used, length);
    }

    /// <summary>Keeps the <paramref name="length"/> characters written at the last <see cref="Reserve"/>.</summary>
    internal DnsName Commit(int length)
    {
        var name = new DnsName(_used, length);
        _used += length;
        return name;
    }
}
