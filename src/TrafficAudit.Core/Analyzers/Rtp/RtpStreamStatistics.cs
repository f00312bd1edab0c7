using System.Runtime.CompilerServices;

namespace TrafficAudit.Analyzers.Rtp;

/// <summary>
/// Statistics of one RTP stream (one SSRC from one source address/port to one destination), fed one
/// packet at a time in capture order. It has two layers:
/// <list type="bullet">
/// <item>Wireshark's figures, computed the way tshark 4.0's RTP Stream Analysis computes them
/// (ui/tap-rtp-analysis.c, <c>-z rtp,streams</c>), including its quirks, so they can be checked
/// against tshark: packets, expected, lost (negative with duplicates), sequence errors, min/mean/max
/// delta, min/mean/max jitter, skew, the problem flag, bandwidth over a 1-second window.</item>
/// <item>Our own figures on top: duplicates, distinct loss (never negative), out-of-order packets,
/// loss bursts, mean and peak bandwidth at the IP and Ethernet layers, a per-second time series, and the
/// packets three simulated jitter buffers could not play in time (<see cref="JitterBufferModel"/>), with
/// their loss runs.</item>
/// </list>
/// A mutable struct: keep it in a dictionary value and update it by reference
/// (<c>CollectionsMarshal.GetValueRefOrAddDefault</c>). No allocation per packet; per stream, one
/// 64-entry bandwidth ring (grown to 128 and 300 entries only by streams with more packets a second)
/// and one time series are allocated on the first packet.
/// </summary>
public struct RtpStreamStatistics
{
    /// <summary>Entries in Wireshark's bandwidth history ring (BUFF_BW); packets beyond it within one second overwrite old entries, as in Wireshark.</summary>
    public const int BandwidthRingSize = 300;
    /// <summary>
    /// Entries the ring starts with: the samples of one second of a 20 ms stream (51) fit. It grows (to 128, then
    /// <see cref="BandwidthRingSize"/>) only when a second holds more packets, so a stream keeps about 1 KB, not 4.8 KB.
    /// </summary>
    internal const int BandwidthRingInitial = 64;
    /// <summary>Sequence numbers remembered for duplicate and reordering detection.</summary>
    public const int SequenceWindow = 1024;
    /// <summary>Ethernet II header (14) and FCS (4) added to an IP packet: 80 kbit/s of G.711 at 20 ms is 87.2 kbit/s on the wire.</summary>
    public const int EthernetOverhead = 18;

    private const double BandwidthWindowMs = 1000;
    private const long OneSecondNs = 1_000_000_000;

    // ---------------- Wireshark's state (names follow its meaning, not its spelling) ----------------
    private bool _started;
    private ushort _startSeq;        // first sequence number
    private ushort _stopSeq;         // sequence number of the latest packet (not the highest)
    private ushort _lastSeq;         // last sequence number accepted as "in order"
    private bool _underStart;        // a wrap has been counted and we are still below the start sequence
    private int _seqCycles;
    private uint _firstTimestamp;
    private double _timeMs;          // arrival of the last packet that was in time sequence
    private double _startMs;
    private double _lastNominalMs;
    private byte _lastPayloadType;
    private int _regularPayloadType; // last non-comfort-noise payload type
    private uint _totalNr;
    private uint _sequenceErrors;
    private double _deltaMs, _jitterMs, _diffMs, _skewMs, _maxSkewMs;
    private double _maxDeltaMs, _minDeltaMs, _meanDeltaMs;
    private double _maxJitterMs, _minJitterMs, _meanJitterMs;
    private bool _problem;
    private RtpPacketFlags _flags;
    private BandwidthSample[]? _bwRing;
    private int _bwStart, _bwIndex;  // positions in the ring as allocated: the oldest sample still in the window, the next to write
    private int _bwCapacity;         // the ring's length (kept here: reading the array's length is another cache line)
    // The bandwidth figures are kbit/s of these byte counts, made when read: kbit/s grow with the bytes, so the largest
    // figure is the figure of the largest count (the same double), and a packet needs no division for them.
    private uint _bwBytes, _maxBwBytes;

    // ---------------- our state ----------------
    private long _firstNs, _lastNs;
    private long _ipBytes;
    private int _firstIpBytes;
    private long _maxExt;            // extended sequence numbers (RFC 3550 A.1 style, nearest to the highest; the lowest is _cold.MinExt)
    private long _scanFrom;          // positions below this have left the window and are in _bursts
    private long _openRun;           // missing positions counted at the window's lower edge, run still open
    // Fields of value types come after the primitive ones (the runtime's layout), in declaration order: the two
    // every packet touches first, then those touched on loss, lateness or at the end (a stream's statistics
    // span about 1.2 KB; a packet should touch as few of its cache lines as it can).
    private SequenceBits _seen;      // bit (ext & 1023) set when that extended sequence number was received
    private JitterBufferModel _jitterBuffer;
    private RtpLossBursts _bursts;
    private ColdFields _cold;
    private LateBits _late;          // per jitter-buffer model, bit (ext & 1023) set when that packet came too late to play
    private PlayoutRuns _playout;    // per model: loss runs counting late packets as lost, closed at the window's lower edge
    private ModelCounts _lateCount;  // per model: distinct packets that came too late
    private bool _anyLate;           // until the first late packet the playout runs are the network's: not tracked apart
    private long _second;            // current 1-second bucket for the peak bandwidth
    private long _secondIpBytes, _secondPackets;
    private RtpTimeSeries? _series;
    // The series bucket the latest packets fell in, kept here while packets keep falling in it (one second at
    // 50 packets/s): a packet then touches no line of the series object or its array. It holds the bucket's
    // whole content and is written back (idempotent) before the series changes elsewhere or is read.
    private int _bucketPackets, _bucketHighestSequence, _bucketIndex;
    private long _bucketIpBytes;
    private double _bucketMaxJitterMs;
    private long _bucketStartNs, _bucketEndNs; // capture-time range of the kept bucket; empty before the first packet

    /// <summary>One packet in Wireshark's bandwidth window (a ring of them can pass from an ended stream to a new one).</summary>
    internal struct BandwidthSample
    {
        public double TimeMs;
        public int Bytes;
    }

    /// <summary>Counters and marks a packet rarely touches (frames, out-of-order and duplicate counts, the per-second peaks), kept apart from the hot fields.</summary>
    private struct ColdFields
    {
        public long FirstFrame, MaxDeltaFrame;
        public long MinExt;
        public long Duplicates, OutOfOrder, LateBeyondWindow;
        public long PeakSecondIpBytes, PeakSecondEthernetBytes;
    }

    /// <summary>Number of simulated jitter buffers (<see cref="JitterBufferModel"/>): fixed 1, fixed 2, adaptive.</summary>
    public const int JitterBufferModels = 3;

    [System.Runtime.CompilerServices.InlineArray(JitterBufferModels)]
    private struct ModelCounts { private long _e; }

    [System.Runtime.CompilerServices.InlineArray(JitterBufferModels)]
    private struct PlayoutRuns { private PlayoutRun _e; }

    private struct PlayoutRun
    {
        public long Open;            // positions not played, run still open at the window's lower edge
        public RtpLossBursts Closed;
    }

    /// <summary>One window of bits per jitter-buffer model, inline in the struct.</summary>
    private unsafe struct LateBits
    {
        private fixed ulong _words[JitterBufferModels * SequenceWindow / 64];

        [System.Diagnostics.CodeAnalysis.UnscopedRef]
        public ref ulong Word(int model, int i) => ref _words[model * (SequenceWindow / 64) + i];

        /// <summary>Reads a word without copying the struct (callable from readonly members).</summary>
        public readonly ulong Read(int model, int i) => _words[model * (SequenceWindow / 64) + i];
    }

    /// <summary>The window's bits, inline in the struct (a fixed buffer: indexing it needs no generic helper).</summary>
    private unsafe struct SequenceBits
    {
        private fixed ulong _words[SequenceWindow / 64];

        [System.Diagnostics.CodeAnalysis.UnscopedRef]
        public ref ulong this[int i] => ref _words[i];

        /// <summary>Reads a word without copying the struct (callable from readonly members).</summary>
        public readonly ulong Read(int i) => _words[i];
    }

    /// <summary>
    /// Adds one packet of this stream. <paramref name="timestampNs"/> is the capture time
    /// (ns since the Unix epoch); packets must come in capture order.
    /// </summary>
    public void Add(long timestampNs, in RtpPacketInfo p)
    {
        if (!_started)
        {
            AddFirst(timestampNs, p);
            return;
        }
        double now = (timestampNs - _firstNs) / 1e6; // ms since the stream's first packet
        AnalyseLikeWireshark(now, p);
        long position = TrackSequence(p.SequenceNumber);
        var drops = _jitterBuffer.Add(now, p.Timestamp, p.ClockRate);
        if (position >= 0 && drops != JitterBufferDrops.None) MarkLate(position, drops);
        TrackBandwidth(timestampNs, p.IpLength);
        double jitter = CountsForJitter(p.ClockRate) ? _jitterMs : -1;
        if (timestampNs >= _bucketStartNs && timestampNs < _bucketEndNs)
        {
            // The same as RtpTimeSeries.Add on the bucket, without touching the series.
            _bucketPackets++;
            _bucketIpBytes += p.IpLength;
            if (jitter > _bucketMaxJitterMs) _bucketMaxJitterMs = jitter;
            if (_maxExt > _bucketHighestSequence) _bucketHighestSequence = (int)_maxExt;
        }
        else AddToSeries(timestampNs, p.IpLength, jitter);
        _lastNs = timestampNs;
    }

    private readonly RtpSeriesBucket KeptBucket => new()
    {
        Packets = _bucketPackets, HighestSequence = _bucketHighestSequence, IpBytes = _bucketIpBytes, MaxJitterMs = _bucketMaxJitterMs,
    };

    /// <summary>A packet outside the kept bucket: the kept bucket goes back to the series, the packet is added there, and its bucket is kept.</summary>
    private void AddToSeries(long timestampNs, int ipBytes, double jitterMs)
    {
        var series = _series!;
        if (_bucketEndNs > _bucketStartNs) series.Set(_bucketIndex, KeptBucket);
        int i = series.AddAt(timestampNs, ipBytes, jitterMs, _maxExt);
        _bucketIndex = i;
        ref readonly var b = ref series.At(i);
        _bucketPackets = b.Packets;
        _bucketHighestSequence = b.HighestSequence;
        _bucketIpBytes = b.IpBytes;
        _bucketMaxJitterMs = b.MaxJitterMs;
        long width = series.BucketWidthNs;
        _bucketStartNs = series.OriginNs + i * width;
        _bucketEndNs = _bucketStartNs + width;
        if (_bucketEndNs < _bucketStartNs) _bucketEndNs = _bucketStartNs; // overflow: no range, every packet takes this path
    }

    private void AddFirst(long timestampNs, in RtpPacketInfo p)
    {
        _started = true;
        _firstNs = _lastNs = timestampNs;
        _startSeq = _stopSeq = _lastSeq = p.SequenceNumber;
        _firstTimestamp = p.Timestamp;
        _timeMs = _startMs = 0;
        _lastNominalMs = 0;
        _lastPayloadType = p.PayloadType;
        _regularPayloadType = p.PayloadType;
        _minDeltaMs = -1; // Wireshark's "none yet", printed as -1.000
        _minJitterMs = -1;
        _totalNr = 1;
        _cold.FirstFrame = p.FrameNumber;
        _flags = RtpPacketFlags.First | (p.Marker ? RtpPacketFlags.Marker : 0);

        _bwRing ??= new BandwidthSample[BandwidthRingInitial];
        _bwCapacity = _bwRing.Length;
        _bwRing[0] = new BandwidthSample { TimeMs = 0, Bytes = p.IpLength };
        _bwIndex = 1;
        _bwBytes = (uint)p.IpLength;
        _maxBwBytes = _bwBytes;

        _maxExt = _cold.MinExt = _scanFrom = 0x10000L + p.SequenceNumber; // room below for packets older than the first
        SetSeen(_maxExt);
        _jitterBuffer.Add(0, p.Timestamp, p.ClockRate); // the anchor: never late

        _ipBytes = _firstIpBytes = p.IpLength;
        _second = 0;
        _secondIpBytes = p.IpLength;
        _secondPackets = 1;
        _series = new RtpTimeSeries(timestampNs) { FirstSequence = _maxExt };
        AddToSeries(timestampNs, p.IpLength, -1);
    }

    // ============================== Wireshark's analysis ==============================

    private void AnalyseLikeWireshark(double now, in RtpPacketInfo p)
    {
        RtpPacketFlags flags = RtpPacketFlags.None;
        ushort seq = p.SequenceNumber;

        // Wireshark 4.0 judges the RTP timestamp against the stream's FIRST timestamp, not the previous
        // one: a packet is "in time sequence" when it lies less than 2^31 ticks after the first (modulo
        // 2^32). Its two-branch test is off by one on the wrapped side; (ts - first) mod 2^32 <= 2^31 there.
        uint ahead = p.Timestamp - _firstTimestamp;
        bool inTimeSequence = p.Timestamp >= _firstTimestamp ? ahead < 0x8000_0000u : ahead - 1 < 0x8000_0000u;
        if (!inTimeSequence) flags |= RtpPacketFlags.WrongTimestamp;

        // Sequence cycles for "expected": a number below the start one means one more wrap, counted
        // once until the numbers climb above the start again.
        if (inTimeSequence)
        {
            if (!_underStart && (seq < _startSeq || (seq == 0 && _stopSeq == 65535)))
            {
                _seqCycles++;
                _underStart = true;
            }
            else if (_underStart && seq > _startSeq)
            {
                _underStart = false;
            }
        }

        // Sequence errors: anything but "previous + 1" (with 65535 -> 0 allowed). A forward jump, or a
        // backward one of more than 0xFF00 (taken as a wrap whose packets were lost, Wireshark issue 5958),
        // moves the reference on; a late or repeated packet leaves it.
        if (inTimeSequence && (seq == _lastSeq + 1 || (_lastSeq == 65535 && seq == 0)))
        {
            _lastSeq = seq;
        }
        else if (inTimeSequence && (seq > _lastSeq + 1 || _lastSeq - seq > 0xFF00))
        {
            _lastSeq = seq;
            _sequenceErrors++;
            flags |= RtpPacketFlags.WrongSequence;
        }
        else if (seq < _lastSeq + 1)
        {
            _sequenceErrors++;
            flags |= RtpPacketFlags.WrongSequence;
        }

        if (RtpClock.IsComfortNoise(p.PayloadType)) flags |= RtpPacketFlags.ComfortNoise;
        if (RtpClock.IsComfortNoise(_lastPayloadType)) flags |= RtpPacketFlags.FollowsComfortNoise;
        if (p.PayloadType != _lastPayloadType) flags |= RtpPacketFlags.PayloadChange;
        _lastPayloadType = p.PayloadType;

        // Clocks below 1000 Hz would make Wireshark divide by zero; none of its tables has one.
        uint clock = p.ClockRate >= 1000 ? p.ClockRate : 0;
        double currentJitter = 0;
        if (inTimeSequence)
        {
            _deltaMs = now - _timeMs;
            if (clock != 0)
            {
                // Ticks since the first packet (mod 2^32), in ms. Wireshark divides by the clock in whole
                // kHz (integer division), so a 44100 Hz clock counts as 44 ticks per ms.
                double nominalMs = (double)(p.Timestamp - _firstTimestamp) / (clock / 1000);
                // RFC 3550 A.8: D = (arrival - previous arrival) - (nominal - previous nominal); J += (|D| - J) / 16
                double expectedMs = _timeMs + (nominalMs - _lastNominalMs);
                _diffMs = Math.Abs(now - expectedMs);
                currentJitter = (15 * _jitterMs + _diffMs) / 16;
                _jitterMs = currentJitter;
                _lastNominalMs = nominalMs;
                // Skew: how far the RTP clock has run ahead of the arrivals since the first packet.
                _skewMs = nominalMs - (now - _startMs);
                if (Math.Abs(_skewMs) > Math.Abs(_maxSkewMs)) _maxSkewMs = _skewMs;
            }
        }

        if (p.Marker) flags |= RtpPacketFlags.Marker;

        const RtpPacketFlags notRegular = RtpPacketFlags.Marker | RtpPacketFlags.ComfortNoise
            | RtpPacketFlags.WrongTimestamp | RtpPacketFlags.FollowsComfortNoise;
        if ((flags & notRegular) == 0)
        {
            if (_deltaMs > _maxDeltaMs)
            {
                _maxDeltaMs = _deltaMs;
                _cold.MaxDeltaFrame = p.FrameNumber;
            }
            if (_minDeltaMs == -1 || _deltaMs < _minDeltaMs) _minDeltaMs = _deltaMs;
            // Wireshark's running mean weighs by the packets seen so far (all of them, skipped ones too),
            // not by the packets that counted: mean = (mean * (n - 1) + x) / n with n = packets before this one.
            _meanDeltaMs = (_meanDeltaMs * (_totalNr - 1) + _deltaMs) / _totalNr;
            if (clock != 0)
            {
                if (_jitterMs > _maxJitterMs) _maxJitterMs = _jitterMs;
                _meanJitterMs = (_meanJitterMs * (_totalNr - 1) + currentJitter) / _totalNr;
                if (_minJitterMs == -1 || _jitterMs < _minJitterMs) _minJitterMs = _jitterMs;
            }
        }

        if ((flags & RtpPacketFlags.ComfortNoise) == 0)
        {
            if (p.PayloadType != _regularPayloadType) flags |= RtpPacketFlags.RegularPayloadChange;
            _regularPayloadType = p.PayloadType;
        }

        if ((flags & (RtpPacketFlags.WrongTimestamp | RtpPacketFlags.WrongSequence)) != 0) _problem = true;
        if (inTimeSequence) _timeMs = now;
        _stopSeq = seq;
        _totalNr++;
        _flags = flags;

        // Bandwidth over the last second: RTP + IP/UDP bytes of the packets no more than 1000 ms older.
        // The samples in the window run from _bwStart up to the one before _bwIndex (at least one: the latest packet's).
        // A full ring smaller than Wireshark's grows first, so the samples behave as in its 300-entry ring; at 300 a
        // packet overwrites the oldest sample, as in Wireshark (its bytes stay counted).
        if (_bwIndex == _bwStart && _bwCapacity < BandwidthRingSize) GrowBandwidthRing();
        // _bwIndex and _bwStart stay in [0, _bwCapacity): read without bounds checks, which would also load
        // the array's length from another cache line on every packet.
        ref BandwidthSample ring = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_bwRing!);
        Unsafe.Add(ref ring, _bwIndex) = new BandwidthSample { TimeMs = now, Bytes = p.IpLength };
        while (Unsafe.Add(ref ring, _bwStart).TimeMs + BandwidthWindowMs < now)
        {
            _bwBytes -= (uint)Unsafe.Add(ref ring, _bwStart).Bytes;
            if (++_bwStart == _bwCapacity) _bwStart = 0;
        }
        _bwBytes += (uint)p.IpLength;
        if (_bwBytes > _maxBwBytes) _maxBwBytes = _bwBytes;
        if (++_bwIndex == _bwCapacity) _bwIndex = 0;
    }

    /// <summary>
    /// Before the first packet: the bandwidth ring to use instead of a new one (one an ended stream gave up, of 1 to
    /// <see cref="BandwidthRingSize"/> entries; what it holds is overwritten before it is read).
    /// </summary>
    internal void UseBandwidthRing(BandwidthSample[] ring)
    {
        if (_started || ring.Length is 0 or > BandwidthRingSize) throw new InvalidOperationException("a bandwidth ring is given before the first packet, and no larger than Wireshark's");
        _bwRing = ring;
    }

    /// <summary>
    /// The stream is over: its bandwidth ring, for another stream (<see cref="UseBandwidthRing"/>). Every figure stays
    /// readable, but no packet may be added after this.
    /// </summary>
    internal BandwidthSample[]? ReleaseBandwidthRing()
    {
        var ring = _bwRing;
        _bwRing = null;
        return ring;
    }

    /// <summary>
    /// The ring is full (every sample still in the window): the samples move, oldest first, to the start of a larger one.
    /// Only their order matters to the window (and to Wireshark's overwriting at 300), not where they sit.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowBandwidthRing()
    {
        var old = _bwRing!;
        int n = _bwCapacity;
        var ring = new BandwidthSample[n < 128 ? 128 : BandwidthRingSize];
        for (int i = 0; i < n; i++) ring[i] = old[(_bwStart + i) % n];
        _bwRing = ring;
        _bwCapacity = ring.Length;
        _bwStart = 0;
        _bwIndex = n;
    }

    private readonly bool CountsForJitter(uint clockRate) =>
        clockRate >= 1000 && (_flags & (RtpPacketFlags.Marker | RtpPacketFlags.ComfortNoise
            | RtpPacketFlags.WrongTimestamp | RtpPacketFlags.FollowsComfortNoise)) == 0;

    // ============================== our sequence bookkeeping ==============================

    /// <returns>The extended sequence number when the packet is the first copy of its position in the window, else -1.</returns>
    private long TrackSequence(ushort seq)
    {
        // Extend the 16-bit number to the one nearest the highest seen so far.
        long ext = _maxExt + (short)(ushort)(seq - (ushort)_maxExt);
        if (ext > _maxExt)
        {
            AccountUpTo(ext - SequenceWindow);
            if (ext - _maxExt >= SequenceWindow)
            {
                _seen = default;
                if (_anyLate) _late = default;
            }
            else for (long q = _maxExt + 1; q <= ext; q++) ClearSeen(q);
            _maxExt = ext;
            SetSeen(ext);
            return ext;
        }
        if (ext <= _maxExt - SequenceWindow)
        {
            _cold.LateBeyondWindow++; // too old to tell a late packet from a duplicate
            return -1;
        }
        if (ext < _cold.MinExt)
        {
            // Older than the first packet: the stream really started earlier.
            _cold.MinExt = ext;
            if (ext < _scanFrom) _scanFrom = ext;
            SetSeen(ext);
            _cold.OutOfOrder++;
            return ext;
        }
        if (IsSeen(ext))
        {
            _cold.Duplicates++;
            return -1;
        }
        SetSeen(ext);
        _cold.OutOfOrder++;
        return ext;
    }

    private void MarkLate(long ext, JitterBufferDrops drops)
    {
        if (!_anyLate)
        {
            // Up to now every buffer played what arrived: their runs so far are the network's runs.
            _anyLate = true;
            for (int m = 0; m < JitterBufferModels; m++) _playout[m] = new PlayoutRun { Open = _openRun, Closed = _bursts };
        }
        int word = (int)((ext >> 6) & (SequenceWindow / 64 - 1));
        ulong bit = 1UL << (int)(ext & 63);
        for (int m = 0; m < JitterBufferModels; m++)
        {
            if (((int)drops & (1 << m)) == 0) continue;
            _late.Word(m, word) |= bit;
            _lateCount[m]++;
        }
    }

    private readonly bool IsPlayed(long ext, int model)
    {
        int word = (int)((ext >> 6) & (SequenceWindow / 64 - 1));
        ulong bit = 1UL << (int)(ext & 63);
        return (_seen.Read(word) & bit) != 0 && (_late.Read(model, word) & bit) == 0;
    }

    /// <summary>Moves the window's lower edge past <paramref name="upTo"/>, closing loss runs.</summary>
    private void AccountUpTo(long upTo)
    {
        if (upTo < _scanFrom) return;
        long inBitmap = Math.Min(upTo, _maxExt);
        for (long q = _scanFrom; q <= inBitmap; q++)
        {
            if (IsSeen(q))
            {
                // WithRun(0) changes nothing: skip copying the 48-byte record on every packet.
                if (_openRun > 0) _bursts = _bursts.WithRun(_openRun);
                _openRun = 0;
            }
            else
            {
                _openRun++;
            }
            for (int m = 0; _anyLate && m < JitterBufferModels; m++)
            {
                ref var run = ref _playout[m];
                if (IsPlayed(q, m))
                {
                    if (run.Open > 0) run.Closed = run.Closed.WithRun(run.Open);
                    run.Open = 0;
                }
                else run.Open++;
            }
        }
        long never = upTo - Math.Max(_scanFrom, _maxExt + 1) + 1; // beyond the old highest: never received
        if (never > 0)
        {
            _openRun += never;
            for (int m = 0; _anyLate && m < JitterBufferModels; m++) _playout[m].Open += never;
        }
        _scanFrom = upTo + 1;
    }

    private readonly bool IsSeen(long ext) => (_seen.Read((int)((ext >> 6) & (SequenceWindow / 64 - 1))) & (1UL << (int)(ext & 63))) != 0;
    private void SetSeen(long ext) => _seen[(int)((ext >> 6) & (SequenceWindow / 64 - 1))] |= 1UL << (int)(ext & 63);
    private void ClearSeen(long ext)
    {
        int word = (int)((ext >> 6) & (SequenceWindow / 64 - 1));
        ulong keep = ~(1UL << (int)(ext & 63));
        _seen[word] &= keep;
        // Before the first late packet every late bit is 0: three cache lines a packet need not be touched.
        if (!_anyLate) return;
        for (int m = 0; m < JitterBufferModels; m++) _late.Word(m, word) &= keep;
    }

    private void TrackBandwidth(long timestampNs, int ipBytes)
    {
        _ipBytes += ipBytes;
        long second = Math.Max(0, (timestampNs - _firstNs) / OneSecondNs);
        if (second > _second)
        {
            ClosePeakSecond();
            _second = second;
            _secondIpBytes = 0;
            _secondPackets = 0;
        }
        _secondIpBytes += ipBytes; // a packet stamped earlier than the current second is charged to it
        _secondPackets++;
    }

    private void ClosePeakSecond()
    {
        _cold.PeakSecondIpBytes = Math.Max(_cold.PeakSecondIpBytes, _secondIpBytes);
        _cold.PeakSecondEthernetBytes = Math.Max(_cold.PeakSecondEthernetBytes, _secondIpBytes + EthernetOverhead * _secondPackets);
    }

    // ============================== Wireshark's figures ==============================

    /// <summary>True once a packet was added.</summary>
    public readonly bool HasPackets => _started;
    /// <summary>Packets received, duplicates included (tshark's "Pkts").</summary>
    public readonly long Packets => _totalNr;
    /// <summary>Wireshark's expected count: latest sequence number + 65536 × wraps − first + 1. It uses the latest packet, not the highest, so a late last packet lowers it.</summary>
    public readonly long ExpectedPackets => _started ? _stopSeq + _seqCycles * 0x10000L - _startSeq + 1 : 0;
    /// <summary>Wireshark's lost = expected − received; negative when duplicates outnumber losses (tshark's "Lost").</summary>
    public readonly long Lost => ExpectedPackets - _totalNr;
    /// <summary>Wireshark's loss percentage (lost × 100 / expected), 0 when nothing is expected.</summary>
    public readonly double LostPercent => ExpectedPackets == 0 ? 0 : Lost * 100.0 / ExpectedPackets;
    /// <summary>Packets whose sequence number was not the previous one plus one.</summary>
    public readonly long SequenceErrors => _sequenceErrors;
    /// <summary>tshark's "Problems?" mark: some packet had a wrong sequence number or timestamp.</summary>
    public readonly bool Problem => _problem;
    /// <summary>What the last packet was flagged with.</summary>
    public readonly RtpPacketFlags LastFlags => _flags;
    /// <summary>Frame number of the first packet.</summary>
    public readonly long FirstFrame => _cold.FirstFrame;
    /// <summary>Largest gap (ms) between a regular packet and the packet before it that was in time sequence; 0 when none.</summary>
    public readonly double MaxDeltaMs => _maxDeltaMs;
    /// <summary>Frame number of the packet that ended the largest gap (0 when none).</summary>
    public readonly long MaxDeltaFrame => _cold.MaxDeltaFrame;
    /// <summary>Smallest such gap in ms, or −1 when no packet counted.</summary>
    public readonly double MinDeltaMs => _minDeltaMs;
    /// <summary>Wireshark's running mean of the gaps (see the comment at its formula), ms.</summary>
    public readonly double MeanDeltaMs => _meanDeltaMs;
    /// <summary>Jitter (RFC 3550 A.8, ms) after the last packet.</summary>
    public readonly double JitterMs => _jitterMs;
    /// <summary>Highest jitter (ms) over the packets that count; 0 when none.</summary>
    public readonly double MaxJitterMs => _maxJitterMs;
    /// <summary>Lowest jitter (ms), or −1 when no packet counted (no clock).</summary>
    public readonly double MinJitterMs => _minJitterMs;
    /// <summary>Wireshark's running mean of the smoothed jitter J, ms (same weighting as <see cref="MeanDeltaMs"/>).</summary>
    public readonly double MeanJitterMs => _meanJitterMs;
    /// <summary>|D| of the last packet that had a clock: arrival minus expected arrival, ms.</summary>
    public readonly double LastDifferenceMs => _diffMs;
    /// <summary>Skew after the last packet: RTP time elapsed minus arrival time elapsed since the first packet, ms.</summary>
    public readonly double SkewMs => _skewMs;
    /// <summary>Skew with the largest magnitude seen (signed), ms.</summary>
    public readonly double MaxSkewMs => _maxSkewMs;
    /// <summary>Wireshark's bandwidth after the last packet: IP-layer bits of the packets in the last 1000 ms, kbit/s.</summary>
    public readonly double BandwidthKbps => Kbps(_bwBytes);
    /// <summary>Highest value <see cref="BandwidthKbps"/> took.</summary>
    public readonly double MaxBandwidthKbps => Kbps(_maxBwBytes);

    /// <summary>Wireshark's kbit/s of a byte count over its one-second window.</summary>
    private static double Kbps(uint bytes) => bytes * 8 / 1000.0;

    // ============================== our figures ==============================

    /// <summary>Capture time of the first packet, ns since the Unix epoch.</summary>
    public readonly long FirstArrivalNs => _firstNs;
    /// <summary>Capture time of the last packet, ns since the Unix epoch.</summary>
    public readonly long LastArrivalNs => _lastNs;
    /// <summary>Last minus first arrival, ns.</summary>
    public readonly long DurationNs => _lastNs - _firstNs;
    /// <summary>Packets whose sequence number had already been received (within the window).</summary>
    public readonly long Duplicates => _cold.Duplicates;
    /// <summary>Packets that arrived after a higher sequence number, first copies only.</summary>
    public readonly long OutOfOrder => _cold.OutOfOrder;
    /// <summary>Packets older than the window (more than <see cref="SequenceWindow"/> behind the highest): neither distinct nor duplicate.</summary>
    public readonly long LateBeyondWindow => _cold.LateBeyondWindow;
    /// <summary>Different sequence numbers received.</summary>
    public readonly long DistinctPackets => _totalNr - _cold.Duplicates - _cold.LateBeyondWindow;
    /// <summary>Highest minus lowest extended sequence number, plus one.</summary>
    public readonly long ExpectedDistinct => _started ? _maxExt - _cold.MinExt + 1 : 0;
    /// <summary>Sequence numbers never received: <see cref="ExpectedDistinct"/> − <see cref="DistinctPackets"/>, never negative.</summary>
    public readonly long LostDistinct => Math.Max(0, ExpectedDistinct - DistinctPackets);
    /// <summary>Share of expected packets lost, 0..1.</summary>
    public readonly double LossRatio => ExpectedDistinct == 0 ? 0 : (double)LostDistinct / ExpectedDistinct;
    /// <summary>IP-layer bytes of all packets (RTP + 28 or 48).</summary>
    public readonly long IpBytes => _ipBytes;
    /// <summary>Ethernet-layer bytes of all packets (IP + <see cref="EthernetOverhead"/>).</summary>
    public readonly long EthernetBytes => _ipBytes + EthernetOverhead * _totalNr;
    /// <summary>
    /// Mean IP-layer bandwidth, kbit/s: the bytes that arrived after the first packet over the time from the
    /// first packet to the last, so a constant stream gives its exact rate (G.711 at 20 ms: 80.0). 0 for one packet.
    /// </summary>
    public readonly double MeanIpKbps => DurationNs <= 0 ? 0 : (_ipBytes - _firstIpBytes) * 8e6 / DurationNs;
    /// <summary>Mean Ethernet-layer bandwidth, kbit/s, measured like <see cref="MeanIpKbps"/> (G.711 at 20 ms: 87.2).</summary>
    public readonly double MeanEthernetKbps => DurationNs <= 0 ? 0 : (EthernetBytes - _firstIpBytes - EthernetOverhead) * 8e6 / DurationNs;
    /// <summary>
    /// Busiest second at the IP layer, kbit/s: the most bytes that arrived in one 1-second bucket of the
    /// stream's own time (bucket k holds arrivals from first + k s up to first + (k + 1) s), and never less
    /// than <see cref="MeanIpKbps"/>. A stream shorter than a second has only a partial bucket, whose bytes
    /// understate the rate it was sent at; its peak is then its mean (0 for a single packet).
    /// </summary>
    public readonly double PeakIpKbps => Math.Max(Math.Max(_cold.PeakSecondIpBytes, _secondIpBytes) * 8 / 1000.0, MeanIpKbps);
    /// <summary>Busiest second at the Ethernet layer, kbit/s, defined like <see cref="PeakIpKbps"/>.</summary>
    public readonly double PeakEthernetKbps => Math.Max(Math.Max(_cold.PeakSecondEthernetBytes, _secondIpBytes + EthernetOverhead * _secondPackets) * 8 / 1000.0, MeanEthernetKbps);
    /// <summary>Per-second packets, IP bytes and jitter maximum, for charts; null before the first packet.</summary>
    public readonly RtpTimeSeries? TimeSeries
    {
        get
        {
            // The kept bucket is written back first (writing it again later changes nothing).
            if (_series is { } series && _bucketEndNs > _bucketStartNs) series.Set(_bucketIndex, KeptBucket);
            return _series;
        }
    }

    /// <summary>
    /// Loss bursts up to now: the runs already closed, plus those inside the current window (scanned
    /// without changing the state). The highest sequence number is always received, so every run is closed.
    /// </summary>
    public readonly RtpLossBursts GetLossBursts() => ScanRuns(_bursts, _openRun, model: -1);

    /// <summary>
    /// <paramref name="closed"/> and <paramref name="open"/> with the runs of missing positions inside the current window
    /// added: never received (<paramref name="model"/> -1), or also too late for jitter-buffer model <paramref name="model"/>.
    /// A word of 64 positions at a time: a window without loss costs 16 steps, not 1,024 (every stream's record scans it
    /// four times, for its loss bursts and MOS figures).
    /// </summary>
    private readonly RtpLossBursts ScanRuns(RtpLossBursts closed, long open, int model)
    {
        var result = closed;
        long run = open;
        long q = _scanFrom;
        while (_started && q <= _maxExt)
        {
            int word = (int)((q >> 6) & (SequenceWindow / 64 - 1));
            int first = (int)(q & 63);
            int last = (int)Math.Min(63, first + (_maxExt - q));
            ulong present = _seen.Read(word);
            if (model >= 0) present &= ~_late.Read(model, word);
            ulong range = (last == 63 ? ulong.MaxValue : (1UL << (last + 1)) - 1) & ~((1UL << first) - 1);
            if ((present & range) == range)
            {
                // Every position here was received (and played): an open run ends at the first.
                if (run > 0) { result = result.WithRun(run); run = 0; }
            }
            else
            {
                for (int b = first; b <= last; b++)
                {
                    if ((present & (1UL << b)) != 0)
                    {
                        if (run > 0) { result = result.WithRun(run); run = 0; }
                    }
                    else run++;
                }
            }
            q += last - first + 1;
        }
        return result.WithRun(run);
    }

    /// <summary>Distinct packets that arrived too late for jitter-buffer model <paramref name="model"/> (0 fixed 1, 1 fixed 2, 2 adaptive).</summary>
    public readonly long LateForBuffer(int model) => _lateCount[model];

    /// <summary>
    /// Loss runs as the listener behind jitter-buffer model <paramref name="model"/> hears them: a position
    /// counts as missing when it was never received or arrived too late to be played.
    /// </summary>
    public readonly RtpLossBursts GetPlayoutLossBursts(int model) =>
        _anyLate ? ScanRuns(_playout[model].Closed, _playout[model].Open, model) : GetLossBursts();

    /// <summary>Share of expected packets that jitter-buffer model <paramref name="model"/> could not play (lost or late), 0..1.</summary>
    public readonly double PlayoutLossRatio(int model) =>
        ExpectedDistinct == 0 ? 0 : Math.Min(1, (double)(LostDistinct + _lateCount[model]) / ExpectedDistinct);

    /// <summary>Depth of the adaptive jitter buffer after the last packet, ms.</summary>
    public readonly double AdaptiveJitterBufferMs => _jitterBuffer.AdaptiveDepthMs;
}
