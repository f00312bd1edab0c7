using System.Buffers.Text;
using System.Globalization;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// A flows.csv row written straight from its <see cref="FlowRecord"/> (the record log's path for CSV without
/// --anonymize): the same cells, in the same order and bytes, as <see cref="FlowRow.From(FlowRecord)"/> through
/// <see cref="RecordSchemas.Flows"/> and CsvHelper, but every cell is formatted as UTF-8 into the row's buffer
/// (<see cref="CsvEncoder"/>): no string per cell, no CsvHelper call per field. A row allocates nothing (an IPv6
/// address excepted). Per writer it keeps what recurs from row to row: the date part of the times (one day's
/// "yyyy-MM-ddT"), and per text column the last value and its encoded bytes (services, applications, directions,
/// rules are a few shared strings). Tests write every flow of the site capture and the public captures, and
/// records made to hit each formatting edge, both ways and compare the bytes.
/// </summary>
internal sealed class FlowCsvRow
{
    private long _day = long.MinValue;
    private readonly byte[] _dayPrefix = new byte[16];
    private int _dayPrefixLength;
    private TextCache _transport, _service, _applications, _direction, _tcpState, _rule, _serverName, _endReason, _clientBy;

    public void Write(CsvEncoder csv, FlowRecord f)
    {
        Span<byte> buffer = stackalloc byte[64];
        csv.Integer(f.FlowId);
        Time(csv, f.FirstSeenNs, buffer);
        Time(csv, f.LastSeenNs, buffer);
        _transport.Write(csv, FlowRow.TransportName(f.Transport));
        Address(csv, f.ClientIp, buffer);
        csv.Integer(f.ClientPort);
        Address(csv, f.ServerIp, buffer);
        csv.Integer(f.ServerPort);
        csv.Integer(f.Vlan);
        _service.Write(csv, f.Service);
        _applications.Write(csv, f.Applications);
        _direction.Write(csv, f.Direction);
        csv.Integer(f.PacketsC2S);
        csv.Integer(f.PacketsS2C);
        csv.Integer(f.BytesC2S);
        csv.Integer(f.BytesS2C);
        _tcpState.Write(csv, FlowRow.TcpStateName(f.TcpState));
        csv.Integer(f.SynRetries);
        Ms(csv, f.HandshakeRttNs, buffer);
        Ms(csv, f.ServerRttNs, buffer);
        Ms(csv, f.ClientRttNs, buffer);
        _rule.Write(csv, f.MatchedRule);
        csv.Bool(f.Infrastructure);
        csv.Integer(f.IcmpUnreachable);
        _serverName.Write(csv, f.ServerName ?? "");
        _endReason.Write(csv, FlowRow.EndReasonName(f.EndReason));
        _clientBy.Write(csv, f.ClientBy);
        Flows.CommunityId.TryFormatUtf8(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort, f.Transport, buffer, out int n);
        csv.FormattedText(buffer[..n]);
        // duration_s: as FlowRow's ((last - first) / 1e9).ToString("F6").
        n = Fixed(f.LastSeenNs - f.FirstSeenNs, 1_000_000_000, 6, "F6", buffer);
        csv.FormattedText(buffer[..n]);
        csv.EndRecord();
    }

    /// <summary>As <see cref="NsTime.Iso"/> ("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'": the fraction is cut, not rounded, to µs).</summary>
    private void Time(CsvEncoder csv, long ns, Span<byte> buffer)
    {
        long ticks = NsTime.ToUtc(ns).Ticks;
        long day = ticks / TimeSpan.TicksPerDay;
        if (day != _day)
        {
            new DateTime(day * TimeSpan.TicksPerDay, DateTimeKind.Utc).TryFormat(_dayPrefix, out _dayPrefixLength, "yyyy-MM-dd'T'", CultureInfo.InvariantCulture);
            _day = day;
        }
        _dayPrefix.AsSpan(0, _dayPrefixLength).CopyTo(buffer);
        int n = _dayPrefixLength;
        long rest = ticks - day * TimeSpan.TicksPerDay;
        int seconds = (int)(rest / TimeSpan.TicksPerSecond);
        int micros = (int)(rest % TimeSpan.TicksPerSecond / 10);
        n = Two(buffer, n, seconds / 3600);
        buffer[n++] = (byte)':';
        n = Two(buffer, n, seconds / 60 % 60);
        buffer[n++] = (byte)':';
        n = Two(buffer, n, seconds % 60);
        buffer[n++] = (byte)'.';
        for (int i = 5; i >= 0; i--)
        {
            buffer[n + i] = (byte)('0' + micros % 10);
            micros /= 10;
        }
        n += 6;
        buffer[n++] = (byte)'Z';
        csv.FormattedText(buffer[..n]);
    }

    private static int Two(Span<byte> b, int n, int v)
    {
        b[n] = (byte)('0' + v / 10);
        b[n + 1] = (byte)('0' + v % 10);
        return n + 2;
    }

    /// <summary>As <see cref="NsTime.Ms"/>: empty when not measured.</summary>
    private static void Ms(CsvEncoder csv, long ns, Span<byte> buffer)
    {
        if (ns < 0)
        {
            csv.Empty();
            return;
        }
        int n = Fixed(ns, 1_000_000, 3, "F3", buffer);
        csv.FormattedText(buffer[..n]);
    }

    /// <summary>
    /// <c>(<paramref name="ns"/> / <paramref name="unit"/>).ToString(<paramref name="format"/>)</c> with
    /// <paramref name="decimals"/> decimals, where one unit of the last decimal is 1,000 ns. The double's text is
    /// the exact quotient rounded to the nearest last decimal, except when the quotient lies halfway (ns % 1000 ==
    /// 500: the double may fall either side) or the value is negative or huge: then the double itself is formatted.
    /// Below 1e15 ns the double is within 1e-7 of a unit of the last decimal of the exact quotient (and within half
    /// of the 15th significant digit), while a quotient not halfway is at least 1e-3 of that unit away from the
    /// rounding boundary, so both round alike; a test compares both over millions of values and the edges.
    /// </summary>
    internal static int Fixed(long ns, long unit, int decimals, string format, Span<byte> buffer)
    {
        if (ns < 0 || ns >= 1_000_000_000_000_000 || ns % 1000 == 500)
        {
            ((double)ns / unit).TryFormat(buffer, out int w, format, CultureInfo.InvariantCulture);
            return w;
        }
        long last = (ns + 500) / 1000;          // in units of the last decimal
        long scale = unit / 1000;                // last-decimal units per whole unit
        Utf8Formatter.TryFormat(last / scale, buffer, out int n);
        buffer[n++] = (byte)'.';
        long frac = last % scale;
        for (int i = decimals - 1; i >= 0; i--)
        {
            buffer[n + i] = (byte)('0' + frac % 10);
            frac /= 10;
        }
        return n + decimals;
    }

    /// <summary>As <see cref="IpAddress.ToString"/>: IPv4 as dotted decimal formatted here, IPv6 through its string.</summary>
    private static void Address(CsvEncoder csv, IpAddress ip, Span<byte> buffer)
    {
        if (!ip.IsV4)
        {
            csv.Text(SafeText.Cell(ip.ToString()));
            return;
        }
        uint v = ip.V4Value;
        int n = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            Utf8Formatter.TryFormat((v >> shift) & 0xFF, buffer[n..], out int w);
            n += w;
            if (shift > 0) buffer[n++] = (byte)'.';
        }
        csv.FormattedText(buffer[..n]);
    }

    /// <summary>
    /// A text column's last value (by reference: the same string instance) and its encoded cell, so a value that
    /// recurs row after row is copied instead of escaped, transcoded and scanned again.
    /// </summary>
    private struct TextCache
    {
        private string? _last;
        private byte[] _bytes;
        private int _length;

        /// <summary>The cell of <paramref name="value"/> as the schema writer writes free text (<see cref="SafeText.Cell"/>, then the CSV rules).</summary>
        public void Write(CsvEncoder csv, string value)
        {
            if (ReferenceEquals(value, _last))
            {
                csv.Encoded(_bytes.AsSpan(0, _length));
                return;
            }
            csv.Text(SafeText.Cell(value));
            var cell = csv.LastField;
            if (cell.Length > 256) return; // long values are not worth keeping
            if (_bytes is null || _bytes.Length < cell.Length) _bytes = new byte[Math.Max(64, cell.Length)];
            cell.CopyTo(_bytes);
            _length = cell.Length;
            _last = value;
        }
    }
}
