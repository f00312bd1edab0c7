using TrafficAudit.Decode;

namespace TrafficAudit.Capture;

/// <summary>What the pcap and pcapng readers share: the input window, the current frame, errors and interfaces.</summary>
public abstract class FrameSourceBase : IFrameSource, IIdleReader
{
    /// <summary>Largest caplen accepted before a record is judged corrupt (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD).</summary>
    public const int MaxCaptureLength = 256 * 1024;

    private protected readonly CaptureInput Input;
    private protected readonly AnomalyCounters? Anomalies;
    private protected readonly List<CaptureReadError> ErrorList = [];
    private protected readonly List<CaptureInterface> InterfaceList = [];
    private protected FrameHeader Current;
    private protected int DataOffset;
    private protected bool Finished;
    private protected long FrameCount;

    private protected FrameSourceBase(CaptureInput input, string file, int fileIndex, AnomalyCounters? anomalies)
    {
        Input = input;
        File = file;
        FileIndex = fileIndex;
        Anomalies = anomalies;
    }

    public string File { get; }
    public int FileIndex { get; }

    public abstract bool MoveNext();

    public ref readonly FrameHeader Header => ref Current;
    public ReadOnlySpan<byte> Data => new(Input.Buffer, DataOffset, Current.CapturedLength);
    public IReadOnlyList<CaptureReadError> Errors => ErrorList;
    public IReadOnlyList<CaptureInterface> Interfaces => InterfaceList;
    public long BytesRead => Input.Position;
    /// <summary>Another thread reads the input ahead of this one (<see cref="ReadAhead"/>).</summary>
    public bool ReadsAhead => Input.ReadsAhead;
    /// <summary>The input is read ahead by idle threads (<see cref="ReadAheadMode.WhenIdle"/>), not by a thread of its own.</summary>
    public bool ReadsAheadWhenIdle => Input.ReadsAheadWhenIdle;
    /// <summary>Chunks an idle thread read ahead (<see cref="IIdleReader.ReadOneAhead"/>).</summary>
    public long ChunksReadAhead => Input.ChunksReadAhead;
    /// <summary>Times the reading thread waited for a chunk an idle thread was reading, and the seconds in all.</summary>
    public (long Waits, double Seconds) ReadWaits => Input.ReadWaits;

    /// <inheritdoc/>
    public bool ReadOneAhead() => Input.ReadOneAhead();

    /// <inheritdoc/>
    public Func<bool>? ChunkFreed
    {
        get => Input.ChunkFreed;
        set => Input.ChunkFreed = value;
    }

    /// <summary>Stops reading: records why and where, and makes every later <see cref="MoveNext"/> return false.</summary>
    private protected bool Fail(long offset, string message)
    {
        if (Input.DescribeEnd() is { } end) message += $" ({end})";
        ErrorList.Add(new CaptureReadError(File, offset, message));
        Finished = true;
        Current = default;
        return false;
    }

    private protected bool EndOfFile()
    {
        if (Input.Failed) return Fail(Input.Position, "input ended early");
        if (Input.Gzip is { } gz && gz.Cut(Input.TotalReceived) != false)
            return Fail(Input.Position, "input ended early");
        Finished = true;
        Current = default;
        return false;
    }

    /// <summary>Counts an anomaly against the frame about to be delivered (off the hot path).</summary>
    private protected void Count(string name)
    {
        if (Anomalies is null) return;
        long savedFrame = Anomalies.CurrentFrame;
        int savedFile = Anomalies.CurrentFileIndex;
        Anomalies.CurrentFrame = FrameCount + 1;
        Anomalies.CurrentFileIndex = FileIndex;
        Anomalies.Increment(name);
        Anomalies.CurrentFrame = savedFrame;
        Anomalies.CurrentFileIndex = savedFile;
    }

    public void Dispose()
    {
        Input.Dispose();
        GC.SuppressFinalize(this);
    }
}
