using System.Buffers.Binary;
using System.Text;

namespace TrafficAudit.Synth.Protocols;

/// <summary>Small, well-formed application payloads: enough structure for tshark's dissectors.</summary>
public static class Payloads
{
    public static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    public static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    public static byte[] Concat(params byte[][] parts)
    {
        var r = new byte[parts.Sum(p => p.Length)];
        int o = 0;
        foreach (var p in parts) { p.CopyTo(r, o); o += p.Length; }
        return r;
    }

    // ---- DNS (RFC 1035) ----

    private static void WriteName(List<byte> b, string name)
    {
        foreach (var label in name.Split('.'))
        {
            b.Add((byte)label.Length);
            b.AddRange(Encoding.ASCII.GetBytes(label));
        }
        b.Add(0);
    }

    private static void U16(List<byte> b, int v) { b.Add((byte)(v >> 8)); b.Add((byte)v); }

    /// <summary>Standard query, recursion desired, one question of type A class IN.</summary>
    public static byte[] DnsQueryA(ushort id, string name)
    {
        var b = new List<byte>();
        U16(b, id); U16(b, 0x0100); U16(b, 1); U16(b, 0); U16(b, 0); U16(b, 0);
        WriteName(b, name);
        U16(b, 1); U16(b, 1);
        return [.. b];
    }

    /// <summary>Answer to <see cref="DnsQueryA"/>: one A record pointing back at the question name (c0 0c).</summary>
    public static byte[] DnsResponseA(ushort id, string name, uint address, int ttl)
    {
        var b = new List<byte>();
        U16(b, id); U16(b, 0x8180); U16(b, 1); U16(b, 1); U16(b, 0); U16(b, 0);
        WriteName(b, name);
        U16(b, 1); U16(b, 1);
        U16(b, 0xC00C); U16(b, 1); U16(b, 1);
        U16(b, ttl >> 16); U16(b, ttl & 0xFFFF);
        U16(b, 4);
        U16(b, (int)(address >> 16)); U16(b, (int)(address & 0xFFFF));
        return [.. b];
    }

    // ---- TLS 1.2/1.3 records (RFC 8446) ----

    private static byte[] Record(byte contentType, ReadOnlySpan<byte> body)
    {
        var r = new byte[5 + body.Length];
        r[0] = contentType;
        r[1] = 0x03; r[2] = 0x03;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(3), (ushort)body.Length);
        body.CopyTo(r.AsSpan(5));
        return r;
    }

    private static byte[] Handshake(byte type, List<byte> body)
    {
        var h = new List<byte> { type, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count };
        h.AddRange(body);
        return Record(0x16, h.ToArray());
    }

    /// <summary>A TLS ClientHello (record version 3.1 as browsers send), with a server_name extension when <paramref name="sni"/> is given.</summary>
    public static byte[] TlsClientHello(Random rng, string? sni)
    {
        var b = new List<byte> { 0x03, 0x03 };
        b.AddRange(RandomBytes(rng, 32));
        b.Add(32); b.AddRange(RandomBytes(rng, 32));
        ushort[] suites = [0x1302, 0x1301, 0xC030, 0xC02F, 0xC02C, 0xC02B];
        U16(b, suites.Length * 2);
        foreach (var s in suites) U16(b, s);
        b.Add(1); b.Add(0);
        var ext = new List<byte>();
        if (sni is not null)
        {
            var n = Encoding.ASCII.GetBytes(sni);
            U16(ext, 0x0000); U16(ext, n.Length + 5); U16(ext, n.Length + 3); ext.Add(0); U16(ext, n.Length); ext.AddRange(n);
        }
        U16(ext, 0x000a); U16(ext, 6); U16(ext, 4); U16(ext, 0x001d); U16(ext, 0x0017);   // supported_groups
        U16(ext, 0x000d); U16(ext, 6); U16(ext, 4); U16(ext, 0x0804); U16(ext, 0x0403);   // signature_algorithms
        U16(ext, 0x002b); U16(ext, 5); ext.Add(4); U16(ext, 0x0304); U16(ext, 0x0303);    // supported_versions
        U16(b, ext.Count);
        b.AddRange(ext);
        var rec = Handshake(0x01, b);
        rec[2] = 0x01;
        return rec;
    }

    /// <summary>ServerHello choosing TLS 1.3 / AES-128-GCM, then a ChangeCipherSpec and an encrypted record.</summary>
    public static byte[] TlsServerFlight(Random rng, int encryptedLength)
    {
        var b = new List<byte> { 0x03, 0x03 };
        b.AddRange(RandomBytes(rng, 32));
        b.Add(32); b.AddRange(RandomBytes(rng, 32));
        U16(b, 0x1301); b.Add(0);
        U16(b, 6); U16(b, 0x002b); U16(b, 2); U16(b, 0x0304);
        return Concat(Handshake(0x02, b), TlsChangeCipherSpec(), TlsAppData(rng, encryptedLength));
    }

    public static byte[] TlsChangeCipherSpec() => Record(0x14, [0x01]);

    /// <summary>application_data record of <paramref name="length"/> opaque bytes.</summary>
    public static byte[] TlsAppData(Random rng, int length) => Record(0x17, RandomBytes(rng, length));

    // ---- NTP v4 (RFC 5905) ----

    /// <summary>Seconds between 1900-01-01 and 1970-01-01.</summary>
    private const long NtpEpochOffset = 2_208_988_800;

    private static void WriteNtpTime(Span<byte> d, long unixMicros)
    {
        ulong sec = (ulong)(unixMicros / 1_000_000 + NtpEpochOffset);
        ulong frac = (ulong)(unixMicros % 1_000_000) * (1UL << 32) / 1_000_000;
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)sec);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)frac);
    }

    /// <summary>Client request: LI 0, version 4, mode 3, transmit timestamp set.</summary>
    public static byte[] NtpClient(long unixMicros)
    {
        var p = new byte[48];
        p[0] = 0x23; p[2] = 6; p[3] = 0xE9;
        WriteNtpTime(p.AsSpan(40), unixMicros);
        return p;
    }

    /// <summary>Server reply: mode 4, stratum 2, originate = client's transmit.</summary>
    public static byte[] NtpServer(long clientUnixMicros, long serverUnixMicros, uint referenceId)
    {
        var p = new byte[48];
        p[0] = 0x24; p[1] = 2; p[2] = 6; p[3] = 0xE9;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), 0x00000200);  // root delay
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), 0x00000400);  // root dispersion
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), referenceId);
        WriteNtpTime(p.AsSpan(16), serverUnixMicros - 30_000_000);
        WriteNtpTime(p.AsSpan(24), clientUnixMicros);
        WriteNtpTime(p.AsSpan(32), serverUnixMicros - 40);
        WriteNtpTime(p.AsSpan(40), serverUnixMicros);
        return p;
    }

    // ---- BER (X.690) for LDAP ----

    public static byte[] Tlv(byte tag, params byte[][] content)
    {
        var body = Concat(content);
        byte[] len = body.Length < 0x80 ? [(byte)body.Length]
            : body.Length < 0x100 ? [0x81, (byte)body.Length]
            : [0x82, (byte)(body.Length >> 8), (byte)body.Length];
        return Concat([tag], len, body);
    }

    public static byte[] BerInt(int v) => Tlv(0x02, v < 0x80 ? [(byte)v] : [(byte)(v >> 8), (byte)v]);
    public static byte[] BerString(string s) => Tlv(0x04, Ascii(s));
    public static byte[] BerEnum(int v) => Tlv(0x0A, [(byte)v]);

    /// <summary>LDAPMessage { messageID, protocolOp }.</summary>
    public static byte[] LdapMessage(int id, byte[] op) => Tlv(0x30, BerInt(id), op);

    /// <summary>BindRequest (APPLICATION 0), version 3, simple authentication.</summary>
    public static byte[] LdapBind(string dn, string password) => Tlv(0x60, BerInt(3), BerString(dn), Tlv(0x80, Ascii(password)));

    /// <summary>LDAPResult body (resultCode success) under the given APPLICATION tag.</summary>
    public static byte[] LdapResult(byte tag) => Tlv(tag, BerEnum(0), BerString(""), BerString(""));

    /// <summary>SearchRequest (APPLICATION 3): wholeSubtree, filter (objectClass=user) as an equality match.</summary>
    public static byte[] LdapSearch(string baseDn, params string[] attributes)
        => Tlv(0x63, BerString(baseDn), BerEnum(2), BerEnum(0), BerInt(500), BerInt(30), Tlv(0x01, [0x00]),
            Tlv(0xA3, BerString("objectClass"), BerString("user")),
            Tlv(0x30, attributes.Select(BerString).ToArray()));

    /// <summary>SearchResultEntry (APPLICATION 4) with single-valued attributes.</summary>
    public static byte[] LdapEntry(string dn, params (string Name, string Value)[] attrs)
        => Tlv(0x64, BerString(dn), Tlv(0x30, attrs.Select(a => Tlv(0x30, BerString(a.Name), Tlv(0x31, BerString(a.Value)))).ToArray()));

    // ---- T.38 UDPTL (ITU-T T.38 Annex, UDPTL with redundancy) ----

    /// <summary>UDPTL packet: sequence number, primary IFP as an open type, redundancy with no secondaries.</summary>
    public static byte[] Udptl(ushort seq, ReadOnlySpan<byte> ifp)
    {
        var p = new byte[2 + 1 + ifp.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(p, seq);
        p[2] = (byte)ifp.Length;
        ifp.CopyTo(p.AsSpan(3));
        p[3 + ifp.Length] = 0x00;      // error-recovery: secondary-ifp-packets
        p[4 + ifp.Length] = 0x00;      // count 0
        return p;
    }

    /// <summary>IFP t30-indicator (e.g. 0x00 no-signal, 0x02 ced) as T.38 encodes it: 00 then indicator shifted.</summary>
    public static byte[] T38Indicator(byte indicator) => [(byte)(indicator << 1)];

    /// <summary>IFP t30-data HDLC frame (data type v21, field hdlc-data with <paramref name="hdlc"/>).</summary>
    public static byte[] T38V21Data(ReadOnlySpan<byte> hdlc)
    {
        var p = new byte[4 + hdlc.Length];
        p[0] = 0xC0;                  // t30-data, v21
        p[1] = 0x01;                  // one field
        p[2] = 0x00;                  // field type hdlc-data
        p[3] = (byte)(hdlc.Length - 1);
        hdlc.CopyTo(p.AsSpan(4));
        return p;
    }
}
