using System.Buffers.Text;
using System.Globalization;
using TrafficAudit.Decode;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// Cells formatted as UTF-8 straight into a row's buffer (<see cref="CsvEncoder"/>), with the same text the schema
/// writer gives the row objects' strings: times, milliseconds and fixed decimals, addresses, decimals of a double,
/// and free text with its last value kept per column. Shared by the rows written straight from their records
/// (<see cref="FlowCsvRow"/>, <see cref="RtpStreamCsvRow"/>). An instance keeps the date part of the last time.
/// </summary>
internal sealed class CsvCells
{
    private long _day = long.MinValue;
    private readonly byte[] _dayPrefix = new byte[16];
    private int _dayPrefixLength;

    /// <summary>"F0".."F9".</summary>
    private static readonly string[] Formats = Enumerable.Range(0, 10).Select(d => "F" + d.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>As <see cref="Fmt.F"/>: the double with <paramref name="decimals"/> (0-9) decimals, empty when not finite.</summary>
    public static void Decimal(CsvEncoder csv, double value, int decimals, Span<byte> buffer)
    {
        if (!double.IsFinite(value))
        {
            csv.Empty();
            return;
        }
        if (FixedDecimal.TryFormat(value, decimals, buffer, out int n) || value.TryFormat(buffer, out n, Formats[decimals], CultureInfo.InvariantCulture)) csv.FormattedText(buffer[..n]);
        else csv.Text(SafeText.Cell(value.ToString(Formats[decimals], CultureInfo.InvariantCulture))); // hundreds of digits

    }

    /// <summary>As <see cref="Fmt.Opt(double, int)"/>: empty for a negative ("not measured").</summary>
    public static void OptionalDecimal(CsvEncoder csv, double value, int decimals, Span<byte> buffer)
    {
        if (value < 0) csv.Empty();
        else Decimal(csv, value, decimals, buffer);
    }

    /// <summary>As <see cref="NsTime.Iso"/> ("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'": the fraction is cut, not rounded, to µs).</summary>
    public void Time(CsvEncoder csv, long ns, Span<byte> buffer)
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
    public static void Ms(CsvEncoder csv, long ns, Span<byte> buffer)
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
    public static int Fixed(long ns, long unit, int decimals, string format, Span<byte> buffer)
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
    public static void Address(CsvEncoder csv, IpAddress ip, Span<byte> buffer)
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
    public struct TextCache
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
