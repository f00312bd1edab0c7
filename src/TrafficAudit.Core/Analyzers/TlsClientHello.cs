using System.Buffers.Binary;

namespace TrafficAudit.Analyzers;

/// <summary>
/// Reads the server name (SNI, RFC 6066 section 3) from a TLS ClientHello at the start of a TCP payload.
/// Only the first TLS record is read; a ClientHello split over several records or segments, or cut by the
/// snap length, yields false. Never throws.
/// </summary>
public static class TlsClientHello
{
    /// <summary>TLS record content type "handshake" (RFC 8446 section 5.1).</summary>
    private const byte ContentTypeHandshake = 0x16;
    /// <summary>Handshake type "client_hello" (RFC 8446 section 4).</summary>
    private const byte HandshakeClientHello = 0x01;
    /// <summary>Extension type server_name (RFC 6066).</summary>
    private const ushort ExtensionServerName = 0x0000;
    /// <summary>ServerNameList entry type host_name.</summary>
    private const byte NameTypeHostName = 0x00;
    private const int RecordHeaderLength = 5;
    private const int HandshakeHeaderLength = 4;
    private const int MaxHostNameLength = 253;

    /// <summary>
    /// True when <paramref name="tcpPayload"/> starts with a TLS handshake record holding a ClientHello whose
    /// server_name extension carries a valid host name (letters, digits, '-', '_', '.'; 1-253 characters).
    /// The name is returned lower-cased.
    /// </summary>
    public static bool TryGetServerName(ReadOnlySpan<byte> tcpPayload, out string? name)
    {
        name = null;
        // Record header: type(1) version(2) length(2).
        if (tcpPayload.Length < RecordHeaderLength || tcpPayload[0] != ContentTypeHandshake) return false;
        if (tcpPayload[1] != 0x03) return false; // SSL 3.0 / TLS 1.x record versions are 0x03xx
        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(tcpPayload[3..]);
        if (recordLength < HandshakeHeaderLength || tcpPayload.Length - RecordHeaderLength < recordLength) return false;
        var record = tcpPayload.Slice(RecordHeaderLength, recordLength);

        // Handshake header: type(1) length(3).
        if (record[0] != HandshakeClientHello) return false;
        int helloLength = (record[1] << 16) | (record[2] << 8) | record[3];
        if (record.Length - HandshakeHeaderLength < helloLength) return false;
        var hello = record.Slice(HandshakeHeaderLength, helloLength);

        // client_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2> compression_methods<1..2^8-1>
        int pos = 2 + 32;
        if (!SkipVector8(hello, ref pos) || !SkipVector16(hello, ref pos) || !SkipVector8(hello, ref pos)) return false;
        if (pos == hello.Length) return false; // no extensions at all
        if (hello.Length - pos < 2) return false;
        int extensionsLength = BinaryPrimitives.ReadUInt16BigEndian(hello[pos..]);
        pos += 2;
        if (hello.Length - pos < extensionsLength) return false;
        var extensions = hello.Slice(pos, extensionsLength);

        int e = 0;
        while (extensions.Length - e >= 4)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(extensions[e..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(extensions[(e + 2)..]);
            e += 4;
            if (extensions.Length - e < length) return false;
            if (type == ExtensionServerName) return TryReadServerNameList(extensions.Slice(e, length), out name);
            e += length;
        }
        return false;
    }

    /// <summary>ServerNameList: list_length(2) then entries name_type(1) length(2) name.</summary>
    private static bool TryReadServerNameList(ReadOnlySpan<byte> ext, out string? name)
    {
        name = null;
        if (ext.Length < 2) return false;
        int listLength = BinaryPrimitives.ReadUInt16BigEndian(ext);
        if (ext.Length - 2 < listLength) return false;
        var list = ext.Slice(2, listLength);
        int pos = 0;
        while (list.Length - pos >= 3)
        {
            byte nameType = list[pos];
            int length = BinaryPrimitives.ReadUInt16BigEndian(list[(pos + 1)..]);
            pos += 3;
            if (list.Length - pos < length) return false;
            if (nameType == NameTypeHostName) return TryMakeHostName(list.Slice(pos, length), out name);
            pos += length;
        }
        return false;
    }

    private static bool TryMakeHostName(ReadOnlySpan<byte> bytes, out string? name)
    {
        name = null;
        if (bytes.Length is 0 or > MaxHostNameLength) return false;
        foreach (byte b in bytes)
        {
            bool ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'_' or (byte)'.';
            if (!ok) return false;
        }
        Span<char> chars = stackalloc char[MaxHostNameLength];
        for (int i = 0; i < bytes.Length; i++) chars[i] = char.ToLowerInvariant((char)bytes[i]);
        name = new string(chars[..bytes.Length]);
        return true;
    }

    private static bool SkipVector8(ReadOnlySpan<byte> s, ref int pos)
    {
        if (s.Length - pos < 1) return false;
        int len = s[pos];
        if (s.Length - pos - 1 < len) return false;
        pos += 1 + len;
        return true;
    }

    private static bool SkipVector16(ReadOnlySpan<byte> s, ref int pos)
    {
        if (s.Length - pos < 2) return false;
        int len = BinaryPrimitives.ReadUInt16BigEndian(s[pos..]);
        if (s.Length - pos - 2 < len) return false;
        pos += 2 + len;
        return true;
    }
}
