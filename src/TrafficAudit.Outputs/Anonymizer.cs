using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using CsvHelper;
using TrafficAudit.Decode;

namespace TrafficAudit.Outputs;

/// <summary>
/// Replaces IP addresses and SIP user parts by stable pseudonyms so that a report or CSV can leave the
/// customer. Applied at output time (rows, report, console), never to the engine's result.
/// <para>
/// Addresses: a keyed prefix-preserving permutation (the idea of Crypto-PAn, with HMAC-SHA256 as the
/// pseudo-random function): bit i of the pseudonym is bit i of the address XOR a keyed function of the
/// address's first i bits. Two addresses that share their first k bits share exactly the first k bits
/// of their pseudonyms, so a /24 stays one /24 and a host stays inside its subnet; distinct addresses
/// never collide (each step is a bijection). Private and link-local ranges keep their range prefix
/// (10/8 stays in 10/8, 192.168/16 in 192.168/16, fe80::/10 in fe80::/10) and no other address is mapped
/// into them; addresses that identify nobody (unspecified, loopback, multicast, broadcast) are kept as
/// they are. The price: the leading bits an address shares with one of those ranges are kept too
/// (11.0.0.0/8 stays 11/8), which reveals at most the rough region of a public address.
/// </para>
/// <para>SIP user parts (extensions, phone numbers, names) become "user-" + 8 hex digits of a keyed hash.</para>
/// The same input gives the same pseudonym for the life of the instance, and for every instance made
/// with the same seed. Thread-safe.
/// </summary>
public sealed partial class Anonymizer
{
    private readonly byte[] _key;
    private readonly Lock _lock = new();
    private readonly Dictionary<IpAddress, IpAddress> _ips = new();
    private readonly Dictionary<string, string> _users = new(StringComparer.Ordinal);

    private Anonymizer(byte[] key) => _key = key;

    /// <summary>
    /// A new anonymizer. <paramref name="seed"/> null or empty: a random 256-bit key for this run only;
    /// otherwise the key is SHA-256 of the seed, so the same seed gives the same pseudonyms in another run.
    /// </summary>
    public static Anonymizer Create(string? seed = null) =>
        new(string.IsNullOrEmpty(seed) ? RandomNumberGenerator.GetBytes(32) : SHA256.HashData(Encoding.UTF8.GetBytes(seed)));

    /// <summary>Pseudonyms handed out so far (IP addresses and SIP users).</summary>
    public int Count { get { lock (_lock) return _ips.Count + _users.Count; } }

    /// <summary>The pseudonym of an address, as text.</summary>
    public string Ip(IpAddress address) => MapIp(address).ToString();

    /// <summary>The pseudonym of an address.</summary>
    public IpAddress MapIp(IpAddress address)
    {
        lock (_lock)
        {
            if (_ips.TryGetValue(address, out var p)) return p;
            p = address.IsV4 ? IpAddress.FromV4(PermuteV4(address.V4Value)) : PermuteV6(address);
            _ips.Add(address, p);
            return p;
        }
    }

    /// <summary>The pseudonym of a SIP user part ("+390212345375" → "user-3fa81c07"); empty stays empty.</summary>
    public string User(string user)
    {
        if (user.Length == 0) return user;
        lock (_lock)
        {
            if (_users.TryGetValue(user, out var p)) return p;
            Span<byte> mac = stackalloc byte[32];
            HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("sip-user\0" + user), mac);
            p = "user-" + Convert.ToHexStringLower(mac[..4]);
            _users.Add(user, p);
            return p;
        }
    }

    /// <summary>
    /// A SIP, SIPS or tel URI with its user part (or tel number) replaced and any IP address in it
    /// mapped: "sip:7000@10.0.0.10:5060" → "sip:user-1c9a34d8@10.93.4.17:5060". Other text is handled
    /// as by <see cref="Text"/>.
    /// </summary>
    public string SipUri(string uri) => Text(uri);

    /// <summary>
    /// Free text (Call-IDs, messages, Wireshark filters, console lines) with every SIP/tel user part and
    /// every IPv4 or IPv6 literal replaced, in one pass (a pseudonym is never mapped again).
    /// </summary>
    public string Text(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        return Literals().Replace(text, m =>
        {
            if (m.Groups["sipuser"].Success)
                return m.Groups["scheme"].Value + User(m.Groups["sipuser"].Value) + "@";
            if (m.Groups["tel"].Success)
                return m.Groups["telscheme"].Value + User(m.Groups["tel"].Value);
            return IpAddress.TryParse(m.Value, out var ip) ? Ip(ip) : m.Value;
        });
    }

    // One pass over the text: "sip:user@" / "tel:number", then an IPv6 candidate (at least two colons),
    // then a dotted quad. Look-arounds keep version numbers and times (09:00:12) out; whatever does
    // not parse as an address is left as it was.
    [GeneratedRegex(
        @"(?<scheme>\bsips?:)(?<sipuser>[^@\s<>""']+)@" +
        @"|(?<telscheme>\btel:)(?<tel>[^;\s<>""'@]+)" +
        @"|(?<![\w:.])(?=[0-9A-Fa-f]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]+(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)" +
        @"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Literals();

    /// <summary>A writer that passes each line through <see cref="Text"/> before writing it to <paramref name="inner"/> (for the console summary).</summary>
    public TextWriter Wrap(TextWriter inner) => new ScrubbingWriter(inner, this);

    /// <summary>Writes the mapping (kind, original, pseudonym), for the engineer only: a CSV readable by its owner alone where the OS allows.</summary>
    public void WriteMapping(string path)
    {
        List<AnonymizationMapRow> rows;
        lock (_lock)
        {
            rows = _ips.OrderBy(kv => kv.Key).Select(kv => new AnonymizationMapRow { Kind = "ip", Original = kv.Key.ToString(), Pseudonym = kv.Value.ToString() })
                .Concat(_users.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new AnonymizationMapRow { Kind = "sip_user", Original = kv.Key, Pseudonym = kv.Value }))
                .ToList();
        }
        AuditCsvWriter.WriteAtomically(path, rows);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>A range the permutation treats specially: its network bits are kept, and with KeepAll every address in it is.</summary>
    private readonly record struct KeptRange(UInt128 Network, int Length, bool KeepAll);

    private static readonly KeptRange[] V4Ranges =
    [
        new(0x00000000, 8, true),    // "this network"
        new(0x7F000000, 8, true),    // loopback
        new(0xE0000000, 3, true),    // multicast 224/4, reserved 240/4, broadcast
        new(0x0A000000, 8, false),   // RFC 1918
        new(0xAC100000, 12, false),
        new(0xC0A80000, 16, false),
        new(0x64400000, 10, false),  // shared address space (RFC 6598)
        new(0xA9FE0000, 16, false),  // link-local
    ];

    private static readonly KeptRange[] V6Ranges =
    [
        new(UInt128.Zero, 127, true),                               // :: and ::1
        new(new UInt128(0xFF00_0000_0000_0000, 0), 8, true),        // multicast
        new(new UInt128(0xFE80_0000_0000_0000, 0), 10, false),      // link-local (the interface id may carry a MAC)
        new(new UInt128(0xFC00_0000_0000_0000, 0), 7, false),       // unique local
    ];

    private uint PermuteV4(uint a) => (uint)Permute(a, 32, V4Ranges, 4);

    private IpAddress PermuteV6(IpAddress address)
    {
        UInt128 p = Permute(new UInt128(address.Hi, address.Lo), 128, V6Ranges, 6);
        return new IpAddress((ulong)(p >> 64), (ulong)p);
    }

    /// <summary>
    /// Prefix-preserving permutation of a <paramref name="bits"/>-bit address: bit i of the result is bit
    /// i of the address XOR a function of the address's first i bits. That function is a keyed HMAC bit,
    /// except that it is 0 while the prefix is still on the way to a kept range's network, and everywhere
    /// inside a KeepAll range. So the map is a bijection, preserves every common prefix, keeps kept ranges
    /// as they are (private stays private, in the same range) and never maps another address into them.
    /// </summary>
    private UInt128 Permute(UInt128 value, int bits, KeptRange[] ranges, byte family)
    {
        Span<byte> input = stackalloc byte[2 + 16];
        Span<byte> mac = stackalloc byte[32];
        input[0] = family;
        UInt128 result = value;
        for (int i = 0; i < bits; i++)
        {
            UInt128 prefix = Top(value, i, bits);
            if (Kept(prefix, i, value, bits, ranges)) continue;
            input[1] = (byte)i;
            BinaryPrimitives.WriteUInt128BigEndian(input[2..], prefix);
            HMACSHA256.HashData(_key, input, mac);
            if ((mac[0] & 1) != 0) result ^= UInt128.One << (bits - 1 - i);
        }
        return result;
    }

    private static bool Kept(UInt128 prefix, int length, UInt128 value, int bits, KeptRange[] ranges)
    {
        foreach (var r in ranges)
        {
            if (length < r.Length && Top(r.Network, length, bits) == prefix) return true;
            if (r.KeepAll && length >= r.Length && Top(value, r.Length, bits) == Top(r.Network, r.Length, bits)) return true;
        }
        return false;
    }

    /// <summary>The first <paramref name="n"/> bits of a <paramref name="bits"/>-bit value.</summary>
    private static UInt128 Top(UInt128 v, int n, int bits) => n == 0 ? UInt128.Zero : v >> (bits - n);

    private sealed class ScrubbingWriter(TextWriter inner, Anonymizer anonymizer) : TextWriter(CultureInfo.InvariantCulture)
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => inner.Encoding;
        [System.Diagnostics.CodeAnalysis.AllowNull] public override string NewLine { get => inner.NewLine; set => inner.NewLine = value; }

        public override void Write(char value)
        {
            if (value == '\n')
            {
                if (_line.Length > 0 && _line[^1] == '\r') _line.Length--;
                inner.WriteLine(anonymizer.Text(_line.ToString()));
                _line.Clear();
            }
            else _line.Append(value);
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            foreach (char c in value) Write(c);
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write('\n');
        }

        public override void WriteLine() => Write('\n');

        public override void Flush()
        {
            if (_line.Length > 0)
            {
                inner.Write(anonymizer.Text(_line.ToString()));
                _line.Clear();
            }
            inner.Flush();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Flush();
            base.Dispose(disposing);
        }
    }
}

/// <summary>A row of the anonymization mapping: kind (ip, sip_user), original, pseudonym.</summary>
[CsvRecord]
public sealed partial class AnonymizationMapRow
{
    [CsvColumn("kind")] public string Kind { get; set; } = "";
    [CsvColumn("original")] public string Original { get; set; } = "";
    [CsvColumn("pseudonym")] public string Pseudonym { get; set; } = "";
}
