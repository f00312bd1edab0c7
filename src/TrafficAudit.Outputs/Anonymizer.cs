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
/// <para>
/// Host names (TLS SNI, DNS names, SIP URI and Call-ID hosts) are pseudonymised label by label: each
/// label but the top-level one becomes "h" + 8 hex digits of a keyed hash of that label together with
/// everything to its right, so names that share a domain still share its pseudonym
/// ("imagicle.corp.local" and "cucm-pub.corp.local" end in the same "hXXXXXXXX.local"), the way
/// addresses keep their prefixes. The top-level label is kept (local, com, it). Names that the built-in
/// vendor table lists exactly (api.imagicle.com) are public and kept; under a vendor "*.domain" pattern
/// (*.imagicle.cloud, *.office.com) the domain is kept and the labels to its left become pseudonyms,
/// since they may name a tenant. MAC addresses keep their vendor prefix (OUI) and lose the rest.
/// </para>
/// The same input gives the same pseudonym for the life of the instance, and for every instance made
/// with the same seed. Thread-safe.
/// </summary>
public sealed partial class Anonymizer
{
    private readonly byte[] _key;
    private readonly Lock _lock = new();
    private readonly Dictionary<IpAddress, IpAddress> _ips = new();
    private readonly Dictionary<string, string> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _macs = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Names of the catalogue's rows (`serverNames`): exact names kept, and "*.domain" suffixes whose domain is kept.</summary>
    private readonly (HashSet<string> Exact, string[] Suffixes) _publicNames;

    private Anonymizer(byte[] key, TrafficAudit.Catalogue.PortCatalogue catalogue)
    {
        _key = key;
        _publicNames = PublicNamesOf(catalogue);
    }

    /// <summary>
    /// A new anonymizer. <paramref name="seed"/> null or empty: a random 256-bit key for this run only;
    /// otherwise the key is SHA-256 of the seed, so the same seed gives the same pseudonyms in another run.
    /// The public names kept are those of <paramref name="catalogue"/> (the built-in one when null).
    /// </summary>
    public static Anonymizer Create(string? seed = null, TrafficAudit.Catalogue.PortCatalogue? catalogue = null) =>
        new(string.IsNullOrEmpty(seed) ? RandomNumberGenerator.GetBytes(32) : SHA256.HashData(Encoding.UTF8.GetBytes(seed)),
            catalogue ?? TrafficAudit.Catalogue.PortCatalogue.Embedded);

    /// <summary>Pseudonyms handed out so far (IP addresses, SIP users, host names, MAC addresses).</summary>
    public int Count { get { lock (_lock) return _ips.Count + _users.Count + _hosts.Count + _macs.Count; } }

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
    /// The pseudonym of a host name ("imagicle.corp.local" → "h1c9a34d8.h77f0b2c1.local"; see the class
    /// remarks for what is kept). An address literal is mapped as an address; empty stays empty. Once
    /// seen here, the name is also replaced wherever it appears in <see cref="Text"/>.
    /// </summary>
    public string Host(string? name)
    {
        if (string.IsNullOrEmpty(name)) return name ?? "";
        string trimmed = name.TrimEnd('.');
        string inner = trimmed.Length > 2 && trimmed[0] == '[' && trimmed[^1] == ']' ? trimmed[1..^1] : trimmed;
        if (IpAddress.TryParse(inner, out var ip)) return inner.Length == trimmed.Length ? Ip(ip) : "[" + Ip(ip) + "]";
        lock (_lock)
        {
            if (_hosts.TryGetValue(trimmed, out var p)) return p;
            p = PseudonymOfHost(trimmed.ToLowerInvariant());
            _hosts.Add(trimmed, p);
            return p;
        }
    }

    private string PseudonymOfHost(string name)
    {
        var (exact, suffixes) = _publicNames;
        if (exact.Contains(name)) return name;
        string[] labels = name.Split('.');
        int keep = 1; // the top-level label
        foreach (var suffix in suffixes)
            if (name.EndsWith("." + suffix, StringComparison.Ordinal)) keep = Math.Max(keep, suffix.Count(c => c == '.') + 1);
        if (labels.Length == 1 || !char.IsAsciiLetter(labels[^1].FirstOrDefault())) keep = 0; // a bare host name, or not a DNS name at all
        var sb = new StringBuilder(name.Length + 16);
        Span<byte> mac = stackalloc byte[32];
        for (int i = 0; i < labels.Length; i++)
        {
            if (i > 0) sb.Append('.');
            if (i >= labels.Length - keep) { sb.Append(labels[i]); continue; }
            // Keyed by the label and everything to its right: a shared domain keeps a shared pseudonym.
            HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("host\0" + string.Join('.', labels, i, labels.Length - i)), mac);
            sb.Append('h').Append(Convert.ToHexStringLower(mac[..4]));
        }
        return sb.ToString();
    }

    /// <summary>A MAC address with its vendor prefix (OUI) kept and the rest a keyed pseudonym, in the original's notation.</summary>
    public string Mac(string mac)
    {
        lock (_lock)
        {
            if (_macs.TryGetValue(mac, out var p)) return p;
            Span<byte> h = stackalloc byte[32];
            HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("mac\0" + mac.ToLowerInvariant().Replace('-', ':')), h);
            char sep = mac[2];
            string tail = string.Join(sep, h[..3].ToArray().Select(b => b.ToString(char.IsUpper(mac.FirstOrDefault(char.IsLetter, 'a')) ? "X2" : "x2", CultureInfo.InvariantCulture)));
            p = mac[..9] + tail;
            _macs.Add(mac, p);
            return p;
        }
    }

    /// <summary>
    /// Registers the host names an audit result holds (server names of flows, hosts of the calls' URIs
    /// and Call-IDs) so that <see cref="Text"/> replaces them wherever they appear (finding messages,
    /// console lines). Call it before writing anything of that result.
    /// </summary>
    public void Learn(TrafficAudit.Pipeline.AuditResult result)
    {
        foreach (var f in result.Flows)
            if (!string.IsNullOrEmpty(f.ServerName)) Host(f.ServerName);
        foreach (var c in result.Calls)
        {
            Text(c.Sip.FromUri);
            Text(c.Sip.ToUri);
            Text(c.Sip.CallId);
        }
    }

    /// <summary>
    /// A file name to show instead of <paramref name="path"/>: the name without its folder, with every
    /// address, MAC address and known host name in it replaced ("site_10.0.0.10.pcap" → "site_10.93.4.17.pcap").
    /// </summary>
    public string FileName(string path)
    {
        string name = Path.GetFileName(path);
        if (name.Length == 0) name = path;
        return PathSegment(name);
    }

    /// <summary>One folder or file name with its addresses and known host names replaced.</summary>
    private string PathSegment(string name)
    {
        // '_' counts as a word character for the address patterns: treat it as a separator here.
        name = string.Join('_', name.Split('_').Select(Text));
        List<KeyValuePair<string, string>> hosts;
        lock (_lock) hosts = _hosts.Where(kv => kv.Key.Contains('.')).OrderByDescending(kv => kv.Key.Length).ToList();
        foreach (var (original, pseudonym) in hosts)
            name = name.Replace(original, pseudonym, StringComparison.OrdinalIgnoreCase);
        return name;
    }

    /// <summary>
    /// The command line as it may be shown in an anonymized output: file arguments reduced to their
    /// anonymized names (no local folders), the value of --anonymize-seed hidden, and every address,
    /// SIP user and known host name replaced. Accepts the shell quoting the CLI writes ('...').
    /// </summary>
    public string CommandLine(string commandLine)
    {
        var words = ShellWords(commandLine);
        var sb = new StringBuilder(commandLine.Length);
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i];
            string shown;
            if (i > 0 && words[i - 1] == "--anonymize-seed") shown = "(hidden)";
            else if (w.StartsWith("--anonymize-seed=", StringComparison.Ordinal)) shown = "--anonymize-seed=(hidden)";
            else if (w.StartsWith('-') || (!w.Contains('/') && !w.Contains('\\'))) shown = Text(w);
            else shown = FileName(w);
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(shown.Length > 0 && shown.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+[]()".Contains(c)) ? shown : "'" + shown.Replace("'", "'\\''") + "'");
        }
        return sb.ToString();
    }

    /// <summary>Splits a command line written with POSIX shell quoting (single and double quotes, backslash).</summary>
    public static List<string> ShellWords(string text)
    {
        var words = new List<string>();
        var w = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\'' )
            {
                inWord = true;
                int end = text.IndexOf('\'', i + 1);
                if (end < 0) end = text.Length;
                w.Append(text, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                inWord = true;
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$' or '`') i++;
                    w.Append(text[i]);
                }
            }
            else if (c == '\\' && i + 1 < text.Length) { inWord = true; w.Append(text[++i]); }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(w.ToString());
                w.Clear();
                inWord = false;
            }
            else { inWord = true; w.Append(c); }
        }
        if (inWord) words.Add(w.ToString());
        return words;
    }

    private static (HashSet<string>, string[]) PublicNamesOf(TrafficAudit.Catalogue.PortCatalogue catalogue)
    {
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var suffixes = new List<string>();
        foreach (var e in catalogue.Entries)
            foreach (var n in e.ServerNames)
            {
                if (n.StartsWith("*.", StringComparison.Ordinal)) suffixes.Add(n[2..].ToLowerInvariant());
                else exact.Add(n.ToLowerInvariant());
            }
        return (exact, suffixes.Distinct().ToArray());
    }

    /// <summary>
    /// A SIP, SIPS or tel URI with its user part (or tel number) replaced and its host (address or
    /// name) mapped: "sip:7000@10.0.0.10:5060" → "sip:user-1c9a34d8@10.93.4.17:5060". Other text is
    /// handled as by <see cref="Text"/>.
    /// </summary>
    public string SipUri(string uri) => Text(uri);

    /// <summary>
    /// Free text (Call-IDs, messages, Wireshark filters, user agents, console lines) with every SIP/tel
    /// user part, every IPv4 or IPv6 literal, every MAC address, every host name after an '@' (URI and
    /// Call-ID hosts) and every host name seen before (<see cref="Host"/>, <see cref="Learn"/>) replaced,
    /// in one pass (a pseudonym is never mapped again). Other dotted words (tcp.port, flows.csv) stay.
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
            if (m.Groups["mac"].Success) return Mac(m.Value);
            bool afterAt = m.Index > 0 && text[m.Index - 1] == '@';
            if (m.Groups["name"].Success || m.Groups["label"].Success)
            {
                if (afterAt) return Host(m.Value);
                lock (_lock) return _hosts.ContainsKey(m.Value.TrimEnd('.')) ? _hosts[m.Value.TrimEnd('.')] : m.Value;
            }
            return IpAddress.TryParse(m.Value, out var ip) ? Ip(ip) : m.Value;
        });
    }

    // One pass over the text: "sip:user@" / "tel:number", then a MAC address, an IPv6 candidate (at
    // least two colons), a dotted quad, a dotted name whose last label starts with a letter, and a
    // single label right after '@'. Look-arounds keep version numbers and times (09:00:12) out; whatever
    // does not parse as an address, or is a name neither after '@' nor seen before, is left as it was.
    [GeneratedRegex(
        @"(?<scheme>\bsips?:)(?<sipuser>[^@\s<>""']+)@" +
        @"|(?<telscheme>\btel:)(?<tel>[^;\s<>""'@]+)" +
        @"|(?<mac>(?<![\w:-])[0-9A-Fa-f]{2}(?<sep>[:-])[0-9A-Fa-f]{2}(?:\k<sep>[0-9A-Fa-f]{2}){4}(?![\w:-]))" +
        @"|(?<![\w:.])(?=[0-9A-Fa-f]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]+(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)" +
        @"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)" +
        @"|(?<name>(?<![\w.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?(?![\w-]|\.\w))" +
        @"|(?<label>(?<=@)[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?![\w.-]))",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Literals();

    /// <summary>
    /// A console line: words that are paths (they hold a '/' or '\') keep their folders, each folder and
    /// file name scrubbed as by <see cref="FileName"/>; the rest as by <see cref="Text"/>. One pass.
    /// </summary>
    public string Line(string line)
    {
        if (line.IndexOf('/') < 0 && line.IndexOf('\\') < 0) return Text(line);
        var sb = new StringBuilder(line.Length + 16);
        int start = 0;
        foreach (Match m in PathWord().Matches(line))
        {
            sb.Append(Text(line[start..m.Index]));
            var parts = m.Value.Split('/', '\\');
            int at = m.Index;
            for (int i = 0; i < parts.Length; i++)
            {
                if (i > 0) sb.Append(line[at - 1]);
                sb.Append(parts[i].Length == 0 ? "" : PathSegment(parts[i]));
                at += parts[i].Length + 1;
            }
            start = m.Index + m.Length;
        }
        sb.Append(Text(line[start..]));
        return sb.ToString();
    }

    [GeneratedRegex(@"[^\s'""()<>,]*[/\\][^\s'""()<>,]*")]
    private static partial Regex PathWord();

    /// <summary>A writer that passes each line through <see cref="Line"/> before writing it to <paramref name="inner"/> (for the console summary).</summary>
    public TextWriter Wrap(TextWriter inner) => new ScrubbingWriter(inner, this);

    /// <summary>Writes the mapping (kind, original, pseudonym), for the engineer only: a CSV readable by its owner alone where the OS allows.</summary>
    public void WriteMapping(string path)
    {
        List<AnonymizationMapRow> rows;
        lock (_lock)
        {
            rows = _ips.OrderBy(kv => kv.Key).Select(kv => new AnonymizationMapRow { Kind = "ip", Original = kv.Key.ToString(), Pseudonym = kv.Value.ToString() })
                .Concat(_users.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new AnonymizationMapRow { Kind = "sip_user", Original = kv.Key, Pseudonym = kv.Value }))
                .Concat(_hosts.Where(kv => !string.Equals(kv.Key, kv.Value, StringComparison.OrdinalIgnoreCase)).OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase)
                    .Select(kv => new AnonymizationMapRow { Kind = "host", Original = kv.Key, Pseudonym = kv.Value }))
                .Concat(_macs.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).Select(kv => new AnonymizationMapRow { Kind = "mac", Original = kv.Key, Pseudonym = kv.Value }))
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
                inner.WriteLine(anonymizer.Line(_line.ToString()));
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
                inner.Write(anonymizer.Line(_line.ToString()));
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

/// <summary>A row of the anonymization mapping: kind (ip, sip_user, host, mac), original, pseudonym.</summary>
[CsvRecord]
public sealed partial class AnonymizationMapRow
{
    [CsvColumn("kind")] public string Kind { get; set; } = "";
    [CsvColumn("original")] public string Original { get; set; } = "";
    [CsvColumn("pseudonym")] public string Pseudonym { get; set; } = "";
}
