using System.Buffers.Binary;
using PacketDotNet;

namespace TrafficAudit.Tests.Synth;

/// <summary>What the tests need of a frame, decoded by PacketDotNet (not by the synthesizer's code).</summary>
internal readonly record struct PacketView(string Transport, string Src, int SrcPort, string Dst, int DstPort, int Vlan, int IpLength,
    bool Syn, bool Ack, bool Rst, byte[] Payload)
{
    /// <summary>Direction-free key: the lower endpoint first.</summary>
    public string FlowKey
    {
        get
        {
            var a = $"{Src}:{SrcPort}";
            var b = $"{Dst}:{DstPort}";
            return string.CompareOrdinal(a, b) < 0 ? $"{Transport} {a} {b}" : $"{Transport} {b} {a}";
        }
    }

    public static string KeyOf(string transport, string ip1, int port1, string ip2, int port2)
        => new PacketView(transport, ip1, port1, ip2, port2, 0, 0, false, false, false, []).FlowKey;

    public static PacketView Decode(byte[] frame)
    {
        var p = Packet.ParsePacket(LinkLayers.Ethernet, frame);
        var ip = p.Extract<IPv4Packet>() ?? throw new AssertFailedException("frame without IPv4");
        var vlan = p.Extract<Ieee8021QPacket>();
        int vid = vlan is null ? 0 : vlan.VlanIdentifier;
        var src = ip.SourceAddress.ToString();
        var dst = ip.DestinationAddress.ToString();
        switch (ip.Protocol)
        {
            case ProtocolType.Tcp:
                var tcp = p.Extract<TcpPacket>();
                return new PacketView("tcp", src, tcp.SourcePort, dst, tcp.DestinationPort, vid, ip.TotalLength,
                    tcp.Synchronize, tcp.Acknowledgment, tcp.Reset, tcp.PayloadData ?? []);
            case ProtocolType.Udp:
                var udp = p.Extract<UdpPacket>();
                return new PacketView("udp", src, udp.SourcePort, dst, udp.DestinationPort, vid, ip.TotalLength, false, false, false, udp.PayloadData ?? []);
            case ProtocolType.Icmp:
                return new PacketView("icmp", src, 0, dst, 0, vid, ip.TotalLength, false, false, false, []);
            default:
                throw new AssertFailedException("unexpected protocol " + ip.Protocol);
        }
    }

    /// <summary>RTP fixed header (RFC 3550 5.1) when the payload looks like one: version 2 and at least 12 bytes.</summary>
    public bool TryRtp(out uint ssrc, out ushort seq, out bool marker, out int payloadType)
    {
        ssrc = 0; seq = 0; marker = false; payloadType = 0;
        if (Transport != "udp" || Payload.Length < 12 || Payload[0] >> 6 != 2) return false;
        payloadType = Payload[1] & 0x7F;
        if (payloadType >= 72 && payloadType <= 76) return false; // RTCP packet types 200-204 with the marker bit
        marker = (Payload[1] & 0x80) != 0;
        seq = BinaryPrimitives.ReadUInt16BigEndian(Payload.AsSpan(2));
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(8));
        return true;
    }
}
