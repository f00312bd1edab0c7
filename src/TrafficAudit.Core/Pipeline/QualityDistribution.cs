namespace TrafficAudit.Pipeline;

/// <summary>
/// The values of one call quality figure (MOS, jitter, loss) over a run, for nearest-rank percentiles in
/// bounded memory: every value is kept while there are at most <see cref="ExactCap"/> of them, and the
/// percentiles are exact; past that, the values move into a fixed histogram of bins
/// <see cref="Resolution"/> wide from 0 to <see cref="HistogramTop"/>, and a percentile is the lower edge of
/// the bin that holds the nearest-rank value, kept within the lowest and highest value seen: at most one
/// bin below the exact figure. Values from <see cref="HistogramTop"/> on share the top bin, which reads as
/// <see cref="HistogramTop"/> (a jitter of 2 s or more is a broken stream whatever its exact figure). The
/// lowest and highest values (the 0th and 100th percentiles) and the count are always exact. The result
/// does not depend on the order the values came in.
/// </summary>
public sealed class QualityDistribution
{
    /// <summary>Values kept one by one before the histogram takes over (800 KB of doubles).</summary>
    public const int DefaultExactCap = 100_000;

    private readonly int _binsPerUnit;
    private List<double>? _exact = new();
    private bool _sorted = true;
    private long[]? _bins;

    /// <param name="binsPerUnit">Histogram bins per unit of the figure: 100 gives bins of 0.01.</param>
    /// <param name="top">Values at or above it share the top bin.</param>
    /// <param name="exactCap">Values kept exactly; the histogram takes over at the next one.</param>
    public QualityDistribution(int binsPerUnit, double top, int exactCap = DefaultExactCap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(binsPerUnit, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(exactCap);
        _binsPerUnit = binsPerUnit;
        HistogramTop = top;
        ExactCap = exactCap;
    }

    /// <summary>MOS, 1 to 4.5 on the E-model scale: bins of 0.01 up to 5.</summary>
    public static QualityDistribution ForMos(int exactCap = DefaultExactCap) => new(100, 5, exactCap);
    /// <summary>Jitter, ms: bins of 0.1 ms up to 2,000 ms.</summary>
    public static QualityDistribution ForJitterMs(int exactCap = DefaultExactCap) => new(10, 2000, exactCap);
    /// <summary>Loss, %: bins of 0.01 % up to 100 %.</summary>
    public static QualityDistribution ForLossPct(int exactCap = DefaultExactCap) => new(100, 100, exactCap);

    public int ExactCap { get; }
    public double HistogramTop { get; }
    /// <summary>Width of a histogram bin, in the figure's unit.</summary>
    public double Resolution => 1.0 / _binsPerUnit;
    /// <summary>True while every value is kept (percentiles exact).</summary>
    public bool IsExact => _exact is not null;
    public long Count { get; private set; }
    /// <summary>Lowest value seen; NaN when none.</summary>
    public double Min { get; private set; } = double.NaN;
    /// <summary>Highest value seen; NaN when none.</summary>
    public double Max { get; private set; } = double.NaN;

    public void Add(double value)
    {
        if (Count == 0 || value < Min) Min = value;
        if (Count == 0 || value > Max) Max = value;
        Count++;
        if (_exact is not null)
        {
            if (_exact.Count < ExactCap)
            {
                if (_exact.Count > 0 && value < _exact[^1]) _sorted = false;
                _exact.Add(value);
                return;
            }
            // The cap is reached: every value so far goes into the histogram, the list is let go.
            _bins = new long[Bin(HistogramTop) + 1];
            foreach (double v in _exact) _bins[Bin(v)]++;
            _exact = null;
        }
        _bins![Bin(value)]++;
    }

    /// <summary>A copy that goes on on its own.</summary>
    public QualityDistribution Clone()
    {
        var copy = new QualityDistribution(_binsPerUnit, HistogramTop, ExactCap)
        {
            _exact = _exact is null ? null : new List<double>(_exact),
            _sorted = _sorted,
            _bins = (long[]?)_bins?.Clone(),
            Count = Count,
            Min = Min,
            Max = Max,
        };
        return copy;
    }

    /// <summary>Nearest-rank percentile (<paramref name="p"/> in 0-100); NaN when there is no value.</summary>
    public double Percentile(double p)
    {
        if (Count == 0) return double.NaN;
        long rank = Math.Clamp((long)Math.Ceiling(p / 100 * Count), 1, Count);
        if (_exact is not null)
        {
            if (!_sorted) { _exact.Sort(); _sorted = true; }
            return _exact[(int)(rank - 1)];
        }
        // The lowest and highest values are known exactly, whatever bin they fell in.
        if (rank == 1) return Min;
        if (rank == Count) return Max;
        long seen = 0;
        for (int i = 0; i < _bins!.Length; i++)
        {
            seen += _bins[i];
            if (seen >= rank) return Math.Clamp((double)i / _binsPerUnit, Min, Max);
        }
        return Max;
    }

    /// <summary>The bin of a value; the small slack keeps 4.41 in the bin of 4.41 although 4.41 × 100 is 440.99... in binary.</summary>
    private int Bin(double value)
    {
        if (!(value > 0)) return 0;   // negative, zero, NaN
        if (value >= HistogramTop) return (int)Math.Round(HistogramTop * _binsPerUnit);
        return (int)Math.Floor(value * _binsPerUnit + 1e-9);
    }
}
