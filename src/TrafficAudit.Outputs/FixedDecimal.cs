using System.Buffers.Text;
using System.Globalization;

namespace TrafficAudit.Outputs;

/// <summary>
/// A double with a fixed number of decimals, byte for byte as the runtime's <c>ToString("F" + decimals)</c> writes it
/// (invariant culture), some six times as fast: the runtime goes through its general digit generation (often its
/// arbitrary-precision path) for each cell, and a call or stream row has a dozen such cells. The value is exactly
/// m x 2^e, so m x 10^decimals is split at the binary point in 128-bit integers and rounded as the runtime rounds: to the
/// nearest, an exact tie to the even neighbour; a negative value keeps its sign even when it rounds to zero ("-0.000").
/// Values of 2^63 and more, NaN, infinities and more than 9 decimals are left to the runtime. Tests compare it with
/// the runtime on millions of values, ties and edges (<c>FixedDecimalTests</c>).
/// </summary>
internal static class FixedDecimal
{
    private static readonly ulong[] Pow10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

    /// <summary>"F0".."F9".</summary>
    private static readonly string[] Formats = Enumerable.Range(0, 10).Select(d => "F" + d.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Longest text written here: a sign, 19 digits, the point and 9 decimals.</summary>
    public const int MaxLength = 1 + 19 + 1 + 9;

    /// <summary>
    /// <paramref name="value"/> with <paramref name="decimals"/> decimals as ASCII into <paramref name="destination"/> (at
    /// least <see cref="MaxLength"/> bytes); false, with nothing written, when the value or the decimals are outside what
    /// is done here (the caller then asks the runtime).
    /// </summary>
    public static bool TryFormat(double value, int decimals, Span<byte> destination, out int written)
    {
        written = 0;
        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        int biased = (int)(bits >> 52) & 0x7FF;
        if (biased == 0x7FF || (uint)decimals >= (uint)Pow10.Length || destination.Length < MaxLength) return false;
        ulong fraction = bits & 0xF_FFFF_FFFF_FFFFUL;
        // value = m x 2^e exactly (a subnormal has no implicit bit).
        ulong m = biased == 0 ? fraction : fraction | (1UL << 52);
        int e = biased == 0 ? -1074 : biased - 1075;
        ulong scale = Pow10[decimals];
        ulong q;
        if (e >= 0)
        {
            if (e > 10) return false; // 2^63 and more
            q = m << e;
            if (q > ulong.MaxValue / scale) return false;
            q *= scale;
        }
        else
        {
            int shift = -e;
            UInt128 scaled = (UInt128)m * scale; // below 2^83
            if (shift >= 120) q = 0; // below 2^-37 once shifted: rounds to zero
            else
            {
                UInt128 whole = scaled >> shift;
                if (whole > ulong.MaxValue) return false;
                q = (ulong)whole;
                UInt128 rest = scaled - (whole << shift);
                UInt128 half = UInt128.One << (shift - 1);
                if (rest > half || (rest == half && (q & 1) != 0)) q++;
            }
        }
        int n = 0;
        if ((long)bits < 0) destination[n++] = (byte)'-';
        ulong integer = q / scale, decimalsPart = q - integer * scale;
        Utf8Formatter.TryFormat(integer, destination[n..], out int k);
        n += k;
        if (decimals > 0)
        {
            destination[n++] = (byte)'.';
            for (int i = decimals - 1; i >= 0; i--)
            {
                destination[n + i] = (byte)('0' + (int)(decimalsPart % 10));
                decimalsPart /= 10;
            }
            n += decimals;
        }
        written = n;
        return true;
    }

    /// <summary>As <c>value.ToString("F" + decimals, CultureInfo.InvariantCulture)</c>.</summary>
    public static string Format(double value, int decimals)
    {
        Span<byte> text = stackalloc byte[MaxLength];
        if (TryFormat(value, decimals, text, out int n)) return string.Create(n, text[..n], static (chars, bytes) => { for (int i = 0; i < bytes.Length; i++) chars[i] = (char)bytes[i]; });
        return value.ToString((uint)decimals < (uint)Formats.Length ? Formats[decimals] : "F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
