using System.Globalization;
using System.Text.Json;
using TrafficAudit.Catalogue;
using TrafficAudit.Decode;

namespace TrafficAudit.Policy;

/// <summary>
/// Reads a deployment profile with <see cref="Utf8JsonReader"/> (not the serializer) so that every
/// problem names its line and column; unknown fields are errors, since a misspelt field would
/// otherwise be silently ignored. Comments are allowed. Format:
/// <code>
/// { "nodes": ["10.0.0.10"], "applications": ["advanced-queuing"],
///   "peers": {"cucm": ["10.0.1.5"], "mail": ["10.0.2.0/24"]},
///   "allow": [{"transport": "tcp", "port": 3389, "peer": "10.50.0.0/24", "note": "admin RDP"}],
///   "thresholds": {"call_kbps": 80, "jitter_ms": 30, "loss_pct": 1, "min_mos": 3.6} }
/// </code>
/// </summary>
public static class ProfileLoader
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = false };

    /// <summary>Largest profile read (1 MiB): a larger file is refused before parsing.</summary>
    public const int MaxBytes = ConfigurationText.MaxProfileBytes;

    /// <summary>
    /// Reads a profile file (at most <see cref="MaxBytes"/> + 1 bytes are read, so a device or a FIFO cannot
    /// take the memory). Any problem throws <see cref="ProfileException"/>: one sentence with the file, and
    /// the line and column when the problem is in the text.
    /// </summary>
    /// <param name="catalogue">Whose applications and peer roles the profile may name; the built-in catalogue when null.</param>
    public static DeploymentProfile LoadFile(string path, PortCatalogue? catalogue = null)
    {
        byte[] bytes = ConfigurationText.ReadCapped(path, "profile", MaxBytes, (problem, inner) => new ProfileException(path, 0, 0, problem, inner));
        return Parse(bytes, path, catalogue);
    }

    /// <summary>Parses profile JSON (UTF-8, comments allowed). Any problem throws <see cref="ProfileException"/> with line and column.</summary>
    public static DeploymentProfile Parse(ReadOnlySpan<byte> utf8Json, string sourceName, PortCatalogue? catalogue = null)
    {
        var json = utf8Json.Length > MaxBytes ? utf8Json[..(MaxBytes + 1)].ToArray() : utf8Json.ToArray();
        return new Reader(json, sourceName, catalogue ?? PortCatalogue.Embedded).Read();
    }

    private sealed class Reader(byte[] json, string file, PortCatalogue catalogue)
    {
        private readonly PortCatalogue _catalogue = catalogue;
        private readonly JsonTextPositions _pos = new(json);
        private readonly string _file = file;

        public DeploymentProfile Read()
        {
            _pos.CheckText(MaxBytes, "profile", Error);
            var r = new Utf8JsonReader(_pos.Text, Options);
            if (!Next(ref r)) throw Error(_pos.BomLength, "the profile is empty");
            if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "expected a JSON object at the top level");
            List<IpAddress> nodes = [];
            List<string> apps = [];
            var peers = new Dictionary<string, IReadOnlyList<IpPrefix>>(StringComparer.Ordinal);
            List<AllowEntry> allow = [];
            var thresholds = PolicyThresholds.For(_catalogue);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                Expect(ref r);
                if (r.TokenType == JsonTokenType.EndObject) break;
                long namePos = _pos.BomLength + r.TokenStartIndex;
                string name = PropertyName(ref r, seen);
                Expect(ref r);
                switch (name)
                {
                    case "nodes":
                        nodes = Array(ref r, name, (ref Utf8JsonReader rr) => Address(ref rr, "nodes"));
                        break;
                    case "applications":
                        apps = Array(ref r, name, (ref Utf8JsonReader rr) =>
                        {
                            string s = String(ref rr, name);
                            return s != PortCatalogue.AllApplications && _catalogue.IsApplication(s) ? s
                                : throw Error(ref rr, $"unknown application '{s}' (valid: {string.Join(", ", _catalogue.ApplicationIds)})");
                        });
                        break;
                    case "peers": Peers(ref r, peers); break;
                    case "allow": allow = Array(ref r, name, Allow); break;
                    case "thresholds": thresholds = Thresholds(ref r); break;
                    default: throw Error(namePos, $"unknown field '{name}' (valid: nodes, applications, peers, allow, thresholds)");
                }
            }
            if (Next(ref r)) throw Error(ref r, "unexpected content after the profile object");
            return new DeploymentProfile
            {
                SourceName = _file, Nodes = nodes, Applications = apps.Distinct().ToArray(), Peers = peers, Allow = allow, Thresholds = thresholds,
            };
        }

        private void Peers(ref Utf8JsonReader r, Dictionary<string, IReadOnlyList<IpPrefix>> peers)
        {
            if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "'peers' must be an object of role: [addresses]");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                Expect(ref r);
                if (r.TokenType == JsonTokenType.EndObject) break;
                string role = PropertyName(ref r, seen);
                if (!_catalogue.PeerRoleIds.Contains(role))
                    throw Error(ref r, _catalogue.PeerRoleIds.Count == 0
                        ? $"unknown peer role '{role}' (the catalogue {_catalogue.SourceName} declares no peerRoles)"
                        : $"unknown peer role '{role}' (valid: {string.Join(", ", _catalogue.PeerRoleIds)})");
                Expect(ref r);
                peers[role] = Array(ref r, $"peers.{role}", (ref Utf8JsonReader rr) => Network(ref rr, $"peers.{role}"));
            }
        }

        private AllowEntry Allow(ref Utf8JsonReader r)
        {
            if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "each 'allow' entry must be an object");
            long start = r.TokenStartIndex;
            IpProtocol? transport = null;
            ushort? port = null;
            IpPrefix? peer = null;
            string note = "";
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                Expect(ref r);
                if (r.TokenType == JsonTokenType.EndObject) break;
                long namePos = _pos.BomLength + r.TokenStartIndex;
                string name = PropertyName(ref r, seen);
                Expect(ref r);
                switch (name)
                {
                    case "transport":
                        string t = String(ref r, name);
                        transport = t switch
                        {
                            "tcp" => IpProtocol.Tcp,
                            "udp" => IpProtocol.Udp,
                            "any" => null,
                            _ => throw Error(ref r, $"unknown transport '{t}' (valid: tcp, udp, any)"),
                        };
                        break;
                    case "port":
                        if (r.TokenType != JsonTokenType.Number || !r.TryGetInt32(out int p) || p < 1 || p > 65535)
                            throw Error(ref r, "'port' must be an integer 1-65535");
                        port = (ushort)p;
                        break;
                    case "peer": peer = Network(ref r, "peer"); break;
                    case "note": note = String(ref r, name); break;
                    default: throw Error(namePos, $"unknown field '{name}' in an allow entry (valid: transport, port, peer, note)");
                }
            }
            if (port is null && peer is null) throw Error(_pos.BomLength + start, "an allow entry needs a 'port', a 'peer' or both (it would allow everything)");
            return new AllowEntry(transport, port, peer, note);
        }

        private PolicyThresholds Thresholds(ref Utf8JsonReader r)
        {
            if (r.TokenType != JsonTokenType.StartObject) throw Error(ref r, "'thresholds' must be an object");
            var t = PolicyThresholds.For(_catalogue);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                Expect(ref r);
                if (r.TokenType == JsonTokenType.EndObject) break;
                long namePos = _pos.BomLength + r.TokenStartIndex;
                string name = PropertyName(ref r, seen);
                Expect(ref r);
                t = name switch
                {
                    "call_kbps" => t with { CallKbps = Positive(ref r, name) },
                    "jitter_ms" => t with { JitterMs = Positive(ref r, name) },
                    "loss_pct" => t with { LossPct = Positive(ref r, name) },
                    "min_mos" => t with { MinMos = Positive(ref r, name) },
                    _ => throw Error(namePos, $"unknown threshold '{name}' (valid: call_kbps, jitter_ms, loss_pct, min_mos)"),
                };
            }
            return t;
        }

        private double Positive(ref Utf8JsonReader r, string field)
            => r.TokenType == JsonTokenType.Number && r.TryGetDouble(out double v) && v >= 0 && double.IsFinite(v) ? v
                : throw Error(ref r, $"'{field}' must be a number >= 0");

        private IpAddress Address(ref Utf8JsonReader r, string field)
        {
            string s = String(ref r, field);
            return s.Contains('/') || !IpAddress.TryParse(s, out var a) ? throw Error(ref r, $"'{s}' in '{field}' is not an IP address") : a;
        }

        /// <summary>An address (taken as a /32 or /128) or a network "a.b.c.d/n" without host bits.</summary>
        private IpPrefix Network(ref Utf8JsonReader r, string field)
        {
            string s = String(ref r, field);
            if (IpPrefix.TryParse(s, out var p)) return p;
            if (!s.Contains('/') && IpAddress.TryParse(s, out var a)) return new IpPrefix(a, a.IsV4 ? 32 : 128);
            throw Error(ref r, $"'{s}' in '{field}' is not an IP address or a network like 10.0.1.0/24");
        }

        private delegate T ItemReader<T>(ref Utf8JsonReader r);

        private List<T> Array<T>(ref Utf8JsonReader r, string field, ItemReader<T> item)
        {
            if (r.TokenType != JsonTokenType.StartArray) throw Error(ref r, $"'{field}' must be an array");
            var list = new List<T>();
            while (true)
            {
                Expect(ref r);
                if (r.TokenType == JsonTokenType.EndArray) break;
                list.Add(item(ref r));
            }
            return list;
        }

        private string PropertyName(ref Utf8JsonReader r, HashSet<string> seen)
        {
            string name = _pos.GetString(ref r, Error);
            if (!seen.Add(name)) throw Error(ref r, $"field '{name}' appears twice");
            return name;
        }

        private string String(ref Utf8JsonReader r, string field)
            => r.TokenType == JsonTokenType.String ? _pos.GetString(ref r, Error) : throw Error(ref r, $"'{field}' must be a string");

        private bool Next(ref Utf8JsonReader r) =>
            _pos.Read(ref r, (line, col, problem, ex) => new ProfileException(_file, line, col, problem, ex));

        private void Expect(ref Utf8JsonReader r)
        {
            if (!Next(ref r)) throw Error(_pos.Length, "unexpected end of the profile");
        }

        private ProfileException Error(ref Utf8JsonReader r, string problem) => Error(_pos.BomLength + r.TokenStartIndex, problem);

        private ProfileException Error(long offset, string problem)
        {
            var (line, col) = _pos.FromOffset(offset);
            return new ProfileException(_file, line, col, problem);
        }
    }
}
