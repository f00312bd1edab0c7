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
    private readonly CsvCells _cells = new();
    private CsvCells.TextCache _transport, _service, _applications, _direction, _tcpState, _rule, _serverName, _endReason, _clientBy;

    public void Write(CsvEncoder csv, FlowRecord f)
    {
        Span<byte> id = stackalloc byte[Flows.CommunityId.Length];
        Flows.CommunityId.TryFormatUtf8(f.ClientIp, f.ClientPort, f.ServerIp, f.ServerPort, f.Transport, id, out int n);
        Write(csv, f, id[..n]);
    }

    /// <param name="communityId">The flow's Community ID as UTF-8, computed already (<see cref="Flows.CommunityId.FormatUtf8"/>: a slice of rows at a time).</param>
    public void Write(CsvEncoder csv, FlowRecord f, ReadOnlySpan<byte> communityId)
    {
        Span<byte> buffer = stackalloc byte[64];
        csv.Integer(f.FlowId);
        _cells.Time(csv, f.FirstSeenNs, buffer);
        _cells.Time(csv, f.LastSeenNs, buffer);
        _transport.Write(csv, FlowRow.TransportName(f.Transport));
        CsvCells.Address(csv, f.ClientIp, buffer);
        csv.Integer(f.ClientPort);
        CsvCells.Address(csv, f.ServerIp, buffer);
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
        CsvCells.Ms(csv, f.HandshakeRttNs, buffer);
        CsvCells.Ms(csv, f.ServerRttNs, buffer);
        CsvCells.Ms(csv, f.ClientRttNs, buffer);
        _rule.Write(csv, f.MatchedRule);
        csv.Bool(f.Infrastructure);
        csv.Integer(f.IcmpUnreachable);
        _serverName.Write(csv, f.ServerName ?? "");
        _endReason.Write(csv, FlowRow.EndReasonName(f.EndReason));
        _clientBy.Write(csv, f.ClientBy);
        csv.FormattedText(communityId);
        // duration_s: as FlowRow's ((last - first) / 1e9).ToString("F6").
        int n = CsvCells.Fixed(f.LastSeenNs - f.FirstSeenNs, 1_000_000_000, 6, "F6", buffer);
        csv.FormattedText(buffer[..n]);
        csv.EndRecord();
    }

}
