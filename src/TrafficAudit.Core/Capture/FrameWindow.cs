using System.Globalization;

namespace TrafficAudit.Capture;

/// <summary>
/// A point in capture time for --from/--to: absolute (UTC) or relative to the first packet read.
/// </summary>
public readonly record struct CaptureTime(long Nanoseconds, bool Relative)
{
    /// <summary>The instant in ns since the Unix epoch, given the first packet's time.</summary>
    public long Resolve(long firstNs) => Relative ? firstNs + Nanoseconds : Nanoseconds;

    /// <summary>
    /// "+30s", "+5m", "+1h", "+250ms", "+90" (seconds, decimals allowed) relative to the first packet;
    /// or ISO 8601 in UTC: "2024-05-02T10:15:00Z", "2024-05-02T10:15:00.5" (no offset: UTC),
    /// "2024-05-02T12:15:00+02:00".
    /// </summary>
    public static bool TryParse(string text, out CaptureTime time)
    {
        time = default;
        text = text.Trim();
        if (text.StartsWith('+'))
        {
            string body = text[1..];
            double unitNs = 1e9;
            foreach (var (suffix, ns) in (ReadOnlySpan<(string, double)>)[("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)])
            {
                if (body.EndsWith(suffix, StringComparison.Ordinal) && !(suffix == "s" && body.EndsWith("ms", StringComparison.Ordinal)))
                {
                    body = body[..^suffix.Length];
                    unitNs = ns;
                    break;
                }
            }
            if (!double.TryParse(body, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) || v * unitNs > 100 * 365.25 * 86400e9)
                return false;
            time = new CaptureTime((long)Math.Round(v * unitNs), Relative: true);
            return true;
        }
        if (text.Length < 10 || !char.IsAsciiDigit(text[0])) return false;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            return false;
        time = new CaptureTime((at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100, Relative: false);
        return true;
    }
}

/// <summary>
/// Reads only part of a capture, as tshark's -c (packet count) and -a duration do: frames before
/// <see cref="From"/> are skipped, reading stops at the first frame after <see cref="To"/> or after
/// <see cref="MaxFrames"/> frames. Relative times count from the first frame read (of the merged
/// inputs). Costs one comparison per frame; nothing is allocated.
/// </summary>
public sealed class WindowedFrameSource(IFrameSource inner, CaptureTime? from, CaptureTime? to, long maxFrames) : IFrameSource, IIdleReader
{
    /// <summary>The inner source read one chunk ahead, when it can be (<see cref="ReadAheadMode.WhenIdle"/>).</summary>
    public bool ReadOneAhead() => inner is IIdleReader reader && reader.ReadOneAhead();

    /// <inheritdoc/>
    public Func<bool>? ChunkFreed
    {
        get => (inner as IIdleReader)?.ChunkFreed;
        set
        {
            if (inner is IIdleReader reader) reader.ChunkFreed = value;
        }
    }

    private long _fromNs = long.MinValue, _toNs = long.MaxValue;
    private bool _started;

    public CaptureTime? From { get; } = from;
    public CaptureTime? To { get; } = to;
    public long MaxFrames { get; } = maxFrames <= 0 ? long.MaxValue : maxFrames;
    /// <summary>Frames read and skipped because they came before --from.</summary>
    public long SkippedBefore { get; private set; }
    /// <summary>Frames handed on.</summary>
    public long Delivered { get; private set; }
    /// <summary>Why reading ended early: "--to", "-c", or null (the input ended).</summary>
    public string? StoppedBy { get; private set; }
    /// <summary>The window in ns since the epoch, once the first frame was read.</summary>
    public (long FromNs, long ToNs) Resolved => (_fromNs, _toNs);

    public bool MoveNext()
    {
        if (Delivered >= MaxFrames)
        {
            StoppedBy ??= "-c";
            return false;
        }
        while (inner.MoveNext())
        {
            long ts = inner.Header.TimestampNs;
            if (!_started)
            {
                _started = true;
                if (From is { } f) _fromNs = f.Resolve(ts);
                if (To is { } t) _toNs = t.Resolve(ts);
            }
            if (ts > _toNs)
            {
                StoppedBy = "--to";
                return false;
            }
            if (ts < _fromNs)
            {
                SkippedBefore++;
                continue;
            }
            Delivered++;
            return true;
        }
        return false;
    }

    public ref readonly FrameHeader Header => ref inner.Header;
    public ReadOnlySpan<byte> Data => inner.Data;
    public IReadOnlyList<CaptureReadError> Errors => inner.Errors;
    public IReadOnlyList<CaptureInterface> Interfaces => inner.Interfaces;
    public long BytesRead => inner.BytesRead;
    public void Dispose() => inner.Dispose();
}
