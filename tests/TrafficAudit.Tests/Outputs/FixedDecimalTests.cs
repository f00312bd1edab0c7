using System.Globalization;
using System.Text;
using TrafficAudit.Outputs;

namespace TrafficAudit.Tests.Outputs;

/// <summary>
/// <see cref="FixedDecimal"/> against the runtime's <c>ToString("F" + decimals)</c>, which the CSV and JSON cells were
/// written with before it: the same text for random values of every magnitude, every bit pattern, exact ties (binary
/// fractions, where the runtime rounds to even), values a hair from a decimal tie, signed zeros and tiny negatives
/// ("-0.000"), subnormals, and the edges where it hands over to the runtime.
/// </summary>
[TestClass]
public sealed class FixedDecimalTests
{
    private static readonly string[] Formats = Enumerable.Range(0, 10).Select(d => "F" + d.ToString(CultureInfo.InvariantCulture)).ToArray();

    private static int _fast;

    private static void AssertSame(double value, int decimals)
    {
        string expected = value.ToString(Formats[decimals], CultureInfo.InvariantCulture);
        Span<byte> buffer = stackalloc byte[FixedDecimal.MaxLength];
        if (FixedDecimal.TryFormat(value, decimals, buffer, out int n))
        {
            _fast++;
            Assert.AreEqual(expected, Encoding.ASCII.GetString(buffer[..n]), $"{value:R} with {decimals} decimals");
        }
        Assert.AreEqual(expected, FixedDecimal.Format(value, decimals), $"{value:R} with {decimals} decimals (string)");
    }

    [TestMethod]
    public void Edges_AsTheRuntime()
    {
        double[] values =
        [
            0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 3.5, -0.5, 0.125, 0.375, 0.625, 0.0625, 1.25, 1.35, 2.675, -0.0001, 0.0005, 0.0015,
            1.0005, 9.9995, 99.995, 4.9999999999999996e-4, 1e-300, -1e-300, double.Epsilon, -double.Epsilon, 1e15, 9007199254740993,
            4611686018427387904.0, 9.2e18, 1.8e19, 1e300, 123456789.123456789, 80.0, 87.2, 4.41, double.MaxValue, double.MinValue,
        ];
        foreach (double v in values)
            for (int d = 0; d < 10; d++) AssertSame(v, d);
        Span<byte> buffer = stackalloc byte[FixedDecimal.MaxLength];
        Assert.IsFalse(FixedDecimal.TryFormat(double.NaN, 3, buffer, out _), "NaN is the runtime's");
        Assert.IsFalse(FixedDecimal.TryFormat(double.PositiveInfinity, 3, buffer, out _), "infinity is the runtime's");
        Assert.IsFalse(FixedDecimal.TryFormat(1e19, 3, buffer, out _), "2^63 and more are the runtime's");
        Assert.IsFalse(FixedDecimal.TryFormat(1.5, 10, buffer, out _), "more than 9 decimals are the runtime's");
        Assert.IsFalse(FixedDecimal.TryFormat(1.5, 3, buffer[..10], out _), "a buffer shorter than MaxLength is refused");
        Assert.AreEqual("-0.000", FixedDecimal.Format(-0.0001, 3));
        Assert.AreEqual("2", FixedDecimal.Format(2.5, 0));
    }

    [TestMethod]
    public void BinaryTies_RoundToEven_AsTheRuntime()
    {
        for (int j = 1; j <= 12; j++)
            for (int k = -3000; k <= 3000; k++)
                for (int d = 0; d < 5; d++) AssertSame(k / Math.Pow(2, j), d);
    }

    [TestMethod]
    public void RandomValues_AsTheRuntime()
    {
        var rng = new Random(20261201);
        _fast = 0;
        for (int i = 0; i < 300_000; i++)
        {
            AssertSame((rng.NextDouble() - 0.3) * Math.Pow(10, rng.Next(-12, 19)), rng.Next(0, 10));
            AssertSame(Math.Round(rng.NextDouble() * 1000, 3) + 0.0005, 3);
            AssertSame(BitConverter.Int64BitsToDouble(rng.NextInt64()), rng.Next(0, 10));
        }
        Assert.IsGreaterThan(600_000, _fast, "most values are formatted here, not by the runtime");
    }
}
