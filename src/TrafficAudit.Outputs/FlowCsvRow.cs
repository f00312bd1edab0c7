using System.Globalization;
using CsvHelper;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// A flows.csv row written straight from its <see cref="FlowRecord"/> (the record log's path for CSV without
/// --anonymize): the same cells, in the same order and text, as <see cref="FlowRow.From(FlowRecord)"/> through
/// <see cref="RecordSchemas.Flows"/>, but the times, addresses, durations and Community ID are formatted into a
/// buffer on the stack instead of a string each, so a row allocates nothing (an IPv6 address excepted). A test
/// writes every flow of the site capture and the public captures both ways and compares the bytes.
/// </summary>
internal static class FlowCsvRow
{
    private const string IsoFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public static void Write(CsvWriter csv, FlowRecord f)
    {
        Span<char> buffer = stackalloc char[64];
        csv.WriteField((long)f.FlowId, default);
        Time(csv, f.FirstSeenNs, buffer);
        Time(csv, f.LastSeenNs, buffer);
        Text(csv, FlowRow.TransportName(f.Transport));
        Address(csv, f.ClientIp, buffer);
        csv.WriteField((long)f.ClientPort, default);
        Address(csv, f.ServerIp, buffer);
        csv.WriteField((long)f.ServerPort, default);
        csv.WriteField((long)f.Vlan, default);
        Text(csv, f.Service);
        Text(csv, f.Applications);
        Text(csv, f.Direction);
        csv.WriteField(f.PacketsC2S, default);
        csv.WriteField(f.PacketsS2C, default);
        csv.WriteField(f.BytesC2S, default);
        csv.WriteField(f.BytesS2C, default);
        Text(csv, FlowRow.TcpStateName(f.TcpState));
        csv.WriteField((long)f.SynRetries, default);
        Ms(csv, f.HandshakeRttNs, buffer);
        Ms(csv, f.ServerRttNs, buffer);
        Ms(csv, f.ClientRttNs, buffer);
        Text(csv, f.MatchedRule);
        csv.WriteField(f.Infrastructure);
        csv.WriteField((long)f.IcmpUnreachable, default);
        Text(csv, f.ServerName ?? "");
        Text(csv, FlowRow.EndReasonName(f.EndReason));
        Text(csv, f.ClientBy);
        Flows.CommunityId.TryFormat(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort, f.Transport, buffer, out int n);
        Cell(csv, buffer[..n]);
        // duration_s: as FlowRow's ((last - first) / 1e9).ToString("F6").
        ((f.LastSeenNs - f.FirstSeenNs) / 1e9).TryFormat(buffer, out n, "F6", CultureInfo.InvariantCulture);
        Cell(csv, buffer[..n]);
        csv.EndRecord();
    }

    /// <summary>Free text, as the schema writer writes it (the safety rule of <see cref="SafeText.Cell"/>; no copy when nothing is escaped).</summary>
    private static void Text(CsvWriter csv, string text) => csv.WriteField(SafeText.Cell(text));

    /// <summary>A cell formatted here: digits, '.', ':', '-', 'T', 'Z', base64 characters, never a character SafeText escapes.</summary>
    private static void Cell(CsvWriter csv, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) csv.WriteField("");
        else csv.WriteField(text);
    }

    /// <summary>As <see cref="NsTime.Iso"/>.</summary>
    private static void Time(CsvWriter csv, long ns, Span<char> buffer)
    {
        NsTime.ToUtc(ns).TryFormat(buffer, out int n, IsoFormat, CultureInfo.InvariantCulture);
        Cell(csv, buffer[..n]);
    }

    /// <summary>As <see cref="NsTime.Ms"/>: empty when not measured.</summary>
    private static void Ms(CsvWriter csv, long ns, Span<char> buffer)
    {
        if (ns < 0)
        {
            csv.WriteField("");
            return;
        }
        (ns / 1e6).TryFormat(buffer, out int n, "F3", CultureInfo.InvariantCulture);
        Cell(csv, buffer[..n]);
    }

    /// <summary>As <see cref="IpAddress.ToString"/>: IPv4 as dotted decimal formatted here, IPv6 through its string.</summary>
    private static void Address(CsvWriter csv, IpAddress ip, Span<char> buffer)
    {
        if (!ip.IsV4)
        {
            Text(csv, ip.ToString());
            return;
        }
        uint v = ip.V4Value;
        int n = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            ((v >> shift) & 0xFF).TryFormat(buffer[n..], out int w, default, CultureInfo.InvariantCulture);
            n += w;
            if (shift > 0) buffer[n++] = '.';
        }
        Cell(csv, buffer[..n]);
    }
}
