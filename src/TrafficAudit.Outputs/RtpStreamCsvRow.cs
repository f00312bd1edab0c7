using System.Buffers.Text;
using TrafficAudit.Pipeline;

namespace TrafficAudit.Outputs;

/// <summary>
/// An rtp_streams.csv row written straight from its <see cref="RtpStreamRecord"/> (the record log's path for CSV
/// without --anonymize), as <see cref="FlowCsvRow"/> writes flows: the same cells, in the same order and bytes, as
/// <see cref="RtpStreamRow.From(RtpStreamRecord)"/> through <see cref="RecordSchemas.RtpStreams"/>, formatted as UTF-8
/// into the row's buffer instead of some twenty strings per row. Tests write every stream of the site capture and the
/// public captures, and records made to hit each formatting edge, both ways and compare the bytes.
/// </summary>
internal sealed class RtpStreamCsvRow
{
    private readonly CsvCells _cells = new();
    private CsvCells.TextCache _codec, _direction;

    public void Write(CsvEncoder csv, RtpStreamRecord s)
    {
        Span<byte> buffer = stackalloc byte[128]; // the longest cell formatted here: a burst histogram of five 10-digit counts
        csv.Integer(s.StreamId);
        csv.Text(SafeText.Cell(s.CallId));
        Ssrc(csv, s.Ssrc, buffer);
        CsvCells.Address(csv, s.SrcIp, buffer);
        csv.Integer(s.SrcPort);
        CsvCells.Address(csv, s.DstIp, buffer);
        csv.Integer(s.DstPort);
        csv.Integer(s.PayloadType);
        _codec.Write(csv, s.Codec);
        csv.Integer(s.ClockRate);
        _cells.Time(csv, s.FirstSeenNs, buffer);
        _cells.Time(csv, s.LastSeenNs, buffer);
        csv.Integer(s.Packets);
        csv.Integer(s.Expected);
        csv.Integer(s.Lost);
        CsvCells.Decimal(csv, s.LostPct, 2, buffer);
        csv.Integer(s.Duplicates);
        csv.Integer(s.OutOfOrder);
        CsvCells.Decimal(csv, s.MaxDeltaMs, 3, buffer);
        CsvCells.Decimal(csv, s.MeanDeltaMs, 3, buffer);
        CsvCells.Decimal(csv, s.MaxJitterMs, 3, buffer);
        CsvCells.Decimal(csv, s.MeanJitterMs, 3, buffer);
        CsvCells.Decimal(csv, s.IpKbps, 1, buffer);
        CsvCells.Decimal(csv, s.EthKbps, 1, buffer);
        CsvCells.Decimal(csv, s.PeakIpKbps, 1, buffer);
        CsvCells.Decimal(csv, s.Mos, 2, buffer);
        csv.Bool(s.SdpMatched);
        csv.Integer(s.WiresharkExpected);
        csv.Integer(s.WiresharkLost);
        csv.Integer(s.SequenceErrors);
        var bursts = s.LossBursts;
        csv.Integer(bursts.Bursts);
        csv.Integer(bursts.LongestBurst);
        BurstHistogram(csv, bursts, buffer);
        _direction.Write(csv, s.CallDirection);
        csv.Integer(s.Vlan);
        csv.Integer(s.RtcpReports);
        CsvCells.OptionalDecimal(csv, s.RtcpJitterMs, 3, buffer);
        csv.Integer(s.RtcpCumulativeLost);
        if (s.RtcpReports > 0) CsvCells.Decimal(csv, s.RtcpMaxFractionLostPct, 2, buffer);
        else csv.Empty();
        CsvCells.OptionalDecimal(csv, s.RtcpRttMs, 3, buffer);
        CsvCells.OptionalDecimal(csv, s.RtcpRttMaxMs, 3, buffer);
        CsvCells.Decimal(csv, s.MosNetwork, 2, buffer);
        CsvCells.Decimal(csv, s.MosF1, 2, buffer);
        CsvCells.Decimal(csv, s.MosF2, 2, buffer);
        CsvCells.Decimal(csv, s.MosAdapt, 2, buffer);
        csv.Integer(s.LateF1);
        csv.Integer(s.LateF2);
        csv.Integer(s.LateAdapt);
        csv.Integer(s.RtcpMuxPackets);
        if (s.FlowId > 0) csv.Integer(s.FlowId);
        else csv.Empty();
        csv.EndRecord();
    }

    /// <summary>As <see cref="RtpStreamRow"/>: "0x" and 8 upper-case hex digits.</summary>
    private static void Ssrc(CsvEncoder csv, uint ssrc, Span<byte> buffer)
    {
        buffer[0] = (byte)'0';
        buffer[1] = (byte)'x';
        Utf8Formatter.TryFormat(ssrc, buffer[2..], out int n, new System.Buffers.StandardFormat('X', 8));
        csv.FormattedText(buffer[..(2 + n)]);
    }

    /// <summary>As <see cref="RtpStreamRow"/>: empty without a burst, else "1:N;2:N;3-5:N;6-10:N;&gt;10:N".</summary>
    private static void BurstHistogram(CsvEncoder csv, Analyzers.Rtp.RtpLossBursts b, Span<byte> buffer)
    {
        if (b.Bursts == 0)
        {
            csv.Empty();
            return;
        }
        int n = 0;
        n = Part(buffer, n, "1:"u8, b.Length1);
        n = Part(buffer, n, ";2:"u8, b.Length2);
        n = Part(buffer, n, ";3-5:"u8, b.Length3To5);
        n = Part(buffer, n, ";6-10:"u8, b.Length6To10);
        n = Part(buffer, n, ";>10:"u8, b.LengthOver10);
        csv.FormattedText(buffer[..n]);
    }

    private static int Part(Span<byte> buffer, int n, ReadOnlySpan<byte> label, long value)
    {
        label.CopyTo(buffer[n..]);
        n += label.Length;
        Utf8Formatter.TryFormat(value, buffer[n..], out int w);
        return n + w;
    }
}
