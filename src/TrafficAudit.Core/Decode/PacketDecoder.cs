using System.Buffers;
using System.Buffers.Binary;
using TrafficAudit.Capture;

namespace TrafficAudit.Decode;

/// <summary>
/// Decodes one captured frame down to its innermost IP packet and transport header, in place,
/// without allocating. Link layers, VLAN/MPLS/PPPoE shims and tunnels (IP-in-IP, GRE, ERSPAN)
/// are walked in a loop; each header's length is checked once before it is read. Malformed input
/// returns <see cref="DecodeStatus.Malformed"/> after incrementing exactly one named anomaly;
/// nothing after the first bad byte is trusted. IP fragments are reassembled across calls.
/// </summary>
/// <remarks>
/// Anomalies (snake_case, counted once per frame unless noted): unknown_link_type,
/// ethernet_truncated, vlan_truncated, vlan_too_deep, mpls_truncated, pppoe_truncated,
/// ppp_truncated, sll_truncated, sll2_truncated, loopback_truncated, ip_truncated,
/// ip_bad_version, ipv4_truncated, ipv4_bad_version, ipv4_bad_header_length,
/// ipv4_bad_total_length, ipv4_zero_total_length (kept, length taken from the capture: TSO),
/// ipv6_truncated, ipv6_bad_version, ipv6_bad_payload_length, ipv6_jumbogram (kept),
/// ipv6_extension_truncated, ipv6_too_many_extension_headers, ah_truncated, gre_truncated,
/// gre_unsupported_version, gre_unsupported_routing, erspan_truncated, tunnel_too_deep,
/// udp_truncated, udp_bad_length, tcp_truncated, tcp_bad_data_offset, icmp_truncated,
/// icmpv6_truncated, icmp_quote_truncated (kept, Inner* left empty), sctp_truncated,
/// ip_payload_truncated_by_snaplen (kept), ip_fragment_truncated, and from reassembly
/// ip_fragment_bad_length, ip_fragment_too_large, ip_fragment_header_too_long,
/// ip_fragment_inconsistent_length, ip_fragment_overlap, ip_fragment_duplicate (kept),
/// ip_fragment_evicted, ip_fragment_timeout, ip_fragment_incomplete (per datagram).
/// </remarks>
public sealed class PacketDecoder
{
    private const int EthernetHeaderLength = 14;
    private const int VlanTagLength = 4;
    private const int MplsLabelLength = 4;
    private const int PppoeHeaderLength = 8; // 6-byte PPPoE session header + 2-byte PPP protocol
    private const int SllHeaderLength = 16;
    private const int Sll2HeaderLength = 20;
    private const int LoopbackHeaderLength = 4;
    private const int Ipv4MinHeaderLength = 20;
    private const int Ipv6HeaderLength = 40;
    private const int Ipv6FragmentHeaderLength = 8;
    private const int GreBaseHeaderLength = 4;
    private const int ErspanIIHeaderLength = 8;
    private const int ErspanIIIHeaderLength = 12;
    private const int ErspanIIIPlatformSubheaderLength = 8;
    private const int UdpHeaderLength = 8;
    private const int TcpMinHeaderLength = 20;
    private const int IcmpHeaderLength = 8;
    private const int SctpCommonHeaderLength = 12;

    private const int MaxTunnelDepth = 8;
    private const int MaxVlanDepth = 8;
    private const int MaxExtensionHeaders = 16;

    private const ushort PppIpv4 = 0x0021;
    private const ushort PppIpv6 = 0x0057;
    private const byte PppAddressAllStations = 0xFF;
    private const byte PppControlUnnumbered = 0x03;

    // BSD address families: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
    private const uint AfInet = 2;
    private const uint AfInet6Bsd = 24, AfInet6FreeBsd = 28, AfInet6Darwin = 30;

    private const ushort GreChecksumPresent = 0x8000;
    private const ushort GreRoutingPresent = 0x4000;
    private const ushort GreKeyPresent = 0x2000;
    private const ushort GreSequencePresent = 0x1000;
    private const ushort GreVersionMask = 0x0007;

    private const ushort Ipv4MoreFragments = 0x2000;
    private const ushort Ipv4OffsetMask = 0x1FFF;

    private const byte IcmpDestinationUnreachable = 3;
    private const byte IcmpTimeExceeded = 11;
    private const byte Icmpv6DestinationUnreachable = 1;
    private const byte Icmpv6TimeExceeded = 3;

    private enum Step : byte { Ethernet, EtherType, IpByVersion, Ipv4, Ipv6, IpPayload }

    private readonly AnomalyCounters _anomalies;
    private readonly FragmentReassembler _reassembler;
    // Reassembled datagrams handed out by the last Decode call (outer and tunnelled inner at most).
    private byte[]? _held0, _held1;

    public PacketDecoder(AnomalyCounters anomalies, FragmentReassemblyOptions? options = null)
    {
        _anomalies = anomalies;
        _reassembler = new FragmentReassembler(anomalies, options ?? new FragmentReassemblyOptions());
    }

    /// <summary>Datagrams waiting for more fragments.</summary>
    public long PendingFragments => _reassembler.PendingCount;

    /// <summary>At end of input: drops the datagrams still waiting for fragments, counting each as ip_fragment_incomplete.</summary>
    public void FlushFragments() => _reassembler.Flush();

    /// <summary>
    /// Decodes one frame. On Ok, PayloadOffset/PayloadLength index into <paramref name="buffer"/>,
    /// which is <paramref name="frame"/> itself or the reassembly buffer (valid until the next call).
    /// On FragmentPending the IP-level fields describe the fragment just stored (no ports).
    /// A reassembled datagram has Reassembled = true and IpLength = the original datagram's size
    /// (for IPv6 without the fragment header, which the buffer keeps as an atomic fragment header).
    /// </summary>
    public DecodeStatus Decode(LinkType linkType, ReadOnlySpan<byte> frame, long timestampNs,
                               ref DecodedPacket packet, out ReadOnlySpan<byte> buffer)
    {
        packet = default;
        if (_held0 is not null) ReleaseHeld();
        if (_reassembler.PendingCount != 0) _reassembler.Expire(timestampNs);
        buffer = frame;
        if (linkType == LinkType.Ethernet && OnePass && TryDecodePlainEthernetIpv4(frame, ref packet)) return DecodeStatus.Ok;

        ReadOnlySpan<byte> data = frame;
        int off = 0;
        // Logical end of the current layer per the enclosing length fields; may pass data.Length
        // when the capture cut the packet (snaplen). Link layers end where the capture ends.
        int end = frame.Length;
        bool endFromCapture = true;
        bool snapTruncated = false;
        ushort etherType = 0;
        byte proto = 0;
        int ipVersion = 0, ipStart = 0, extensions = 0;
        Step step;

        switch (linkType)
        {
            case LinkType.Ethernet:
                step = Step.Ethernet;
                break;
            case LinkType.Raw or LinkType.RawLegacy12 or LinkType.RawLegacy14 or LinkType.Ipv4 or LinkType.Ipv6:
                step = Step.IpByVersion;
                break;
            case LinkType.Null or LinkType.Loop:
            {
                if (data.Length < LoopbackHeaderLength) return Bad("loopback_truncated");
                uint family;
                if (linkType == LinkType.Loop) family = BinaryPrimitives.ReadUInt32BigEndian(data);
                else
                {
                    // Written in the capturing host's order: a family never needs the high half.
                    family = BinaryPrimitives.ReadUInt32LittleEndian(data);
                    if (family > 0xFFFF) family = BinaryPrimitives.ReverseEndianness(family);
                }
                off = LoopbackHeaderLength;
                if (family == AfInet) step = Step.Ipv4;
                else if (family is AfInet6Bsd or AfInet6FreeBsd or AfInet6Darwin) step = Step.Ipv6;
                else return DecodeStatus.NotIp;
                break;
            }
            case LinkType.LinuxSll:
                if (data.Length < SllHeaderLength) return Bad("sll_truncated");
                etherType = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
                off = SllHeaderLength;
                step = Step.EtherType;
                break;
            case LinkType.LinuxSll2:
                if (data.Length < Sll2HeaderLength) return Bad("sll2_truncated");
                etherType = BinaryPrimitives.ReadUInt16BigEndian(data);
                off = Sll2HeaderLength;
                step = Step.EtherType;
                break;
            case LinkType.Ppp:
            {
                // RFC 1662 framing: optional FF 03, then a 2-byte protocol (1 byte when compressed: odd first byte).
                // 0xFF is never a protocol byte (the first protocol byte is even), so it always starts FF 03.
                if (data.Length >= 1 && data[0] == PppAddressAllStations)
                {
                    if (data.Length < 2) return Bad("ppp_truncated");
                    if (data[1] == PppControlUnnumbered) off = 2;
                }
                if (data.Length - off < 1) return Bad("ppp_truncated");
                ushort pppProtocol;
                if ((data[off] & 1) != 0) pppProtocol = data[off++];
                else
                {
                    if (data.Length - off < 2) return Bad("ppp_truncated");
                    pppProtocol = BinaryPrimitives.ReadUInt16BigEndian(data[off..]);
                    off += 2;
                }
                if (pppProtocol == PppIpv4) step = Step.Ipv4;
                else if (pppProtocol == PppIpv6) step = Step.Ipv6;
                else return DecodeStatus.NotIp;
                break;
            }
            default:
                return Bad("unknown_link_type");
        }

        while (true)
        {
            int avail = Math.Min(end, data.Length) - off; // captured bytes left in this layer
            switch (step)
            {
                case Step.Ethernet:
                    if (avail < EthernetHeaderLength) return Bad("ethernet_truncated");
                    etherType = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(off + 12, 2));
                    off += EthernetHeaderLength;
                    step = Step.EtherType;
                    break;

                case Step.EtherType:
                    switch ((EtherType)etherType)
                    {
                        case EtherType.Ipv4:
                            step = Step.Ipv4;
                            break;
                        case EtherType.Ipv6:
                            step = Step.Ipv6;
                            break;
                        case EtherType.Vlan or EtherType.QinQ or EtherType.QinQLegacy:
                        {
                            if (avail < VlanTagLength) return Bad("vlan_truncated");
                            if (packet.VlanDepth == MaxVlanDepth) return Bad("vlan_too_deep");
                            var tag = data.Slice(off, VlanTagLength);
                            packet.Vlan = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(tag) & 0x0FFF);
                            packet.VlanDepth++;
                            etherType = BinaryPrimitives.ReadUInt16BigEndian(tag[2..]);
                            off += VlanTagLength;
                            break;
                        }
                        case EtherType.MplsUnicast or EtherType.MplsMulticast:
                        {
                            // RFC 3032: 4-byte entries until the bottom-of-stack bit; the payload is
                            // then guessed from its first nibble, as routers do (RFC 4385 pseudowires start with 0).
                            while (true)
                            {
                                if (Math.Min(end, data.Length) - off < MplsLabelLength) return Bad("mpls_truncated");
                                bool bottom = (data[off + 2] & 0x01) != 0;
                                off += MplsLabelLength;
                                if (bottom) break;
                            }
                            if (Math.Min(end, data.Length) - off < 1) return Bad("mpls_truncated");
                            int version = data[off] >> 4;
                            if (version == 4) step = Step.Ipv4;
                            else if (version == 6) step = Step.Ipv6;
                            else return DecodeStatus.NotIp;
                            break;
                        }
                        case EtherType.PppoeSession:
                        {
                            // RFC 2516: ver/type, code, session id, length, then the PPP protocol.
                            if (avail < PppoeHeaderLength) return Bad("pppoe_truncated");
                            ushort pppProtocol = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(off + 6, 2));
                            off += PppoeHeaderLength;
                            if (pppProtocol == PppIpv4) step = Step.Ipv4;
                            else if (pppProtocol == PppIpv6) step = Step.Ipv6;
                            else return DecodeStatus.NotIp;
                            break;
                        }
                        default:
                            // ARP, LLDP, IPX, 802.3 length fields (LLC/STP)...: valid, just not IP.
                            return DecodeStatus.NotIp;
                    }
                    break;

                case Step.IpByVersion:
                    if (avail < 1) return Bad("ip_truncated");
                    switch (data[off] >> 4)
                    {
                        case 4: step = Step.Ipv4; break;
                        case 6: step = Step.Ipv6; break;
                        default: return Bad("ip_bad_version");
                    }
                    break;

                case Step.Ipv4:
                {
                    if (avail < Ipv4MinHeaderLength) return Bad("ipv4_truncated");
                    var h = data.Slice(off, Ipv4MinHeaderLength);
                    if (h[0] >> 4 != 4) return Bad("ipv4_bad_version");
                    int headerLength = (h[0] & 0x0F) * 4;
                    if (headerLength < Ipv4MinHeaderLength) return Bad("ipv4_bad_header_length");
                    if (headerLength > avail) return Bad("ipv4_truncated");
                    int total = BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
                    if (total == 0)
                    {
                        // Segmentation offload: the NIC fills the length in later; Wireshark takes the captured size.
                        _anomalies.Increment("ipv4_zero_total_length");
                        total = end - off;
                    }
                    if (total < headerLength) return Bad("ipv4_bad_total_length");
                    if (total > end - off)
                    {
                        if (!endFromCapture) return Bad("ipv4_bad_total_length");
                        snapTruncated = true;
                    }
                    end = off + total;
                    endFromCapture = false;

                    packet.IpVersion = 4;
                    packet.Ttl = h[8];
                    packet.IpId = BinaryPrimitives.ReadUInt16BigEndian(h[4..]);
                    packet.IpChecksum = BinaryPrimitives.ReadUInt16BigEndian(h[10..]);
                    proto = h[9];
                    packet.Protocol = (IpProtocol)proto;
                    packet.Src = IpAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(h[12..]));
                    packet.Dst = IpAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(h[16..]));
                    packet.IpLength = total;
                    ipVersion = 4;
                    ipStart = off;
                    extensions = 0;
                    off += headerLength;

                    ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(h[6..]);
                    if ((fragment & (Ipv4MoreFragments | Ipv4OffsetMask)) != 0)
                    {
                        if (end > data.Length) return Bad("ip_fragment_truncated");
                        var key = new FragmentKey(packet.Src, packet.Dst, BinaryPrimitives.ReadUInt16BigEndian(h[4..]), proto, 4);
                        var result = _reassembler.Add(key, data.Slice(ipStart, headerLength), (fragment & Ipv4OffsetMask) * 8,
                            (fragment & Ipv4MoreFragments) != 0, data[off..end], timestampNs,
                            out var datagram, out int newOffset, out int newLength);
                        if (result == FragmentResult.Pending) return DecodeStatus.FragmentPending;
                        if (result == FragmentResult.Dropped) return DecodeStatus.Malformed;
                        Hold(datagram!);
                        data = buffer = datagram.AsSpan(0, newLength);
                        ipStart = 0;
                        off = newOffset;
                        end = newLength;
                        packet.IpLength = newLength;
                        packet.Reassembled = true;
                    }
                    step = Step.IpPayload;
                    break;
                }

                case Step.Ipv6:
                {
                    if (avail < Ipv6HeaderLength) return Bad("ipv6_truncated");
                    var h = data.Slice(off, Ipv6HeaderLength);
                    if (h[0] >> 4 != 6) return Bad("ipv6_bad_version");
                    int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(h[4..]);
                    proto = h[6];
                    if (payloadLength == 0 && proto == (byte)IpProtocol.HopByHop)
                    {
                        // RFC 2675 jumbogram: the real length is in a hop-by-hop option; take what the layer holds.
                        _anomalies.Increment("ipv6_jumbogram");
                        payloadLength = end - off - Ipv6HeaderLength;
                    }
                    int total = Ipv6HeaderLength + payloadLength;
                    if (total > end - off)
                    {
                        if (!endFromCapture) return Bad("ipv6_bad_payload_length");
                        snapTruncated = true;
                    }
                    end = off + total;
                    endFromCapture = false;

                    packet.IpVersion = 6;
                    packet.Ttl = h[7];
                    packet.IpId = 0;
                    packet.IpChecksum = 0;
                    packet.Protocol = (IpProtocol)proto;
                    packet.Src = IpAddress.FromBytes(h.Slice(8, 16));
                    packet.Dst = IpAddress.FromBytes(h.Slice(24, 16));
                    packet.IpLength = total;
                    ipVersion = 6;
                    ipStart = off;
                    extensions = 0;
                    off += Ipv6HeaderLength;
                    step = Step.IpPayload;
                    break;
                }

                case Step.IpPayload:
                    switch ((IpProtocol)proto)
                    {
                        case IpProtocol.HopByHop or IpProtocol.Ipv6Route or IpProtocol.Ipv6Options when ipVersion == 6:
                        {
                            // RFC 8200 4.3-4.6: next header, length in 8-octet units not counting the first 8.
                            if (avail < 2) return Bad("ipv6_extension_truncated");
                            int length = (data[off + 1] + 1) * 8;
                            if (length > avail) return Bad("ipv6_extension_truncated");
                            if (++extensions > MaxExtensionHeaders) return Bad("ipv6_too_many_extension_headers");
                            proto = data[off];
                            packet.Protocol = (IpProtocol)proto;
                            off += length;
                            break;
                        }
                        case IpProtocol.Ipv6Fragment when ipVersion == 6:
                        {
                            if (avail < Ipv6FragmentHeaderLength) return Bad("ipv6_extension_truncated");
                            if (++extensions > MaxExtensionHeaders) return Bad("ipv6_too_many_extension_headers");
                            var f = data.Slice(off, Ipv6FragmentHeaderLength);
                            proto = f[0];
                            packet.Protocol = (IpProtocol)proto;
                            ushort offsetAndFlags = BinaryPrimitives.ReadUInt16BigEndian(f[2..]);
                            off += Ipv6FragmentHeaderLength;
                            int fragOffset = offsetAndFlags & 0xFFF8;
                            bool more = (offsetAndFlags & 1) != 0;
                            if (fragOffset == 0 && !more) break; // atomic fragment (RFC 6946): nothing to wait for
                            if (end > data.Length) return Bad("ip_fragment_truncated");
                            var key = new FragmentKey(packet.Src, packet.Dst, BinaryPrimitives.ReadUInt32BigEndian(f[4..]), proto, 6);
                            var result = _reassembler.Add(key, data[ipStart..off], fragOffset, more, data[off..end], timestampNs,
                                out var datagram, out int newOffset, out int newLength);
                            if (result == FragmentResult.Pending) return DecodeStatus.FragmentPending;
                            if (result == FragmentResult.Dropped) return DecodeStatus.Malformed;
                            Hold(datagram!);
                            data = buffer = datagram.AsSpan(0, newLength);
                            ipStart = 0;
                            off = newOffset;
                            end = newLength;
                            // The original packet (RFC 8200 4.5) had no fragment header; the buffer keeps an atomic one.
                            packet.IpLength = newLength - Ipv6FragmentHeaderLength;
                            packet.Reassembled = true;
                            break; // the fragmentable part may start with more extension headers
                        }
                        case IpProtocol.Ah:
                        {
                            // RFC 4302: payload length in 4-octet units minus 2.
                            if (avail < 2) return Bad("ah_truncated");
                            int length = (data[off + 1] + 2) * 4;
                            if (length > avail) return Bad("ah_truncated");
                            if (++extensions > MaxExtensionHeaders) return Bad("ipv6_too_many_extension_headers");
                            proto = data[off];
                            packet.Protocol = (IpProtocol)proto;
                            off += length;
                            break;
                        }
                        case IpProtocol.IpInIp:
                            if (++packet.TunnelDepth > MaxTunnelDepth) return Bad("tunnel_too_deep");
                            step = Step.Ipv4;
                            break;
                        case IpProtocol.Ipv6:
                            if (++packet.TunnelDepth > MaxTunnelDepth) return Bad("tunnel_too_deep");
                            step = Step.Ipv6;
                            break;
                        case IpProtocol.Gre:
                        {
                            if (++packet.TunnelDepth > MaxTunnelDepth) return Bad("tunnel_too_deep");
                            if (avail < GreBaseHeaderLength) return Bad("gre_truncated");
                            ushort flags = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(off, 2));
                            if ((flags & GreVersionMask) != 0) return Bad("gre_unsupported_version");
                            if ((flags & GreRoutingPresent) != 0) return Bad("gre_unsupported_routing");
                            // RFC 2784/2890: checksum+reserved, key and sequence number words are optional.
                            int length = GreBaseHeaderLength;
                            if ((flags & GreChecksumPresent) != 0) length += 4;
                            if ((flags & GreKeyPresent) != 0) length += 4;
                            if ((flags & GreSequencePresent) != 0) length += 4;
                            if (avail < length) return Bad("gre_truncated");
                            ushort type = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(off + 2, 2));
                            off += length;
                            avail -= length;
                            switch ((EtherType)type)
                            {
                                case EtherType.TransparentEthernetBridging:
                                    step = Step.Ethernet;
                                    break;
                                case EtherType.Erspan:
                                    // Type I has no sequence number and no ERSPAN header; type II has both.
                                    if ((flags & GreSequencePresent) != 0)
                                    {
                                        if (avail < ErspanIIHeaderLength) return Bad("erspan_truncated");
                                        off += ErspanIIHeaderLength;
                                    }
                                    step = Step.Ethernet;
                                    break;
                                case EtherType.ErspanTypeIII:
                                {
                                    // The O bit (last bit of the third word) announces an 8-byte platform-specific subheader.
                                    if (avail < ErspanIIIHeaderLength) return Bad("erspan_truncated");
                                    int erspanLength = (data[off + 11] & 0x01) != 0
                                        ? ErspanIIIHeaderLength + ErspanIIIPlatformSubheaderLength
                                        : ErspanIIIHeaderLength;
                                    if (avail < erspanLength) return Bad("erspan_truncated");
                                    off += erspanLength;
                                    step = Step.Ethernet;
                                    break;
                                }
                                default:
                                    // IPv4, IPv6, MPLS go through the EtherType switch; keepalives and others are not IP.
                                    etherType = type;
                                    step = Step.EtherType;
                                    break;
                            }
                            break;
                        }
                        default:
                            return DecodeTransport(data, off, end, ipVersion, snapTruncated, ref packet);
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// False: every frame takes the general walk (tests compare it with the one-pass decoder). True by default.
    /// </summary>
    internal bool OnePass { get; init; } = true;

    /// <summary>
    /// The common case in one pass: Ethernet, untagged or with one 802.1Q tag (a voice VLAN, as most SPAN ports
    /// deliver RTP), IPv4 without options and not a fragment, whole in the capture, carrying UDP or TCP whose
    /// header is sound. Fills exactly what the general walk below fills for such a frame; anything else (two
    /// tags, options, fragments, a cut frame, a bad length, other protocols) returns false with nothing
    /// counted, and the general walk decodes the frame and names what is wrong.
    /// </summary>
    private static bool TryDecodePlainEthernetIpv4(ReadOnlySpan<byte> frame, ref DecodedPacket packet)
    {
        if (frame.Length < EthernetHeaderLength + VlanTagLength + Ipv4MinHeaderLength) return false;
        int ipStart = EthernetHeaderLength;
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        ushort vlan = 0;
        byte vlanDepth = 0;
        if (etherType == (ushort)EtherType.Vlan)
        {
            vlan = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) & 0x0FFF);
            vlanDepth = 1;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            ipStart += VlanTagLength;
        }
        int transportStart = ipStart + Ipv4MinHeaderLength;
        if (frame.Length < transportStart + UdpHeaderLength
            || etherType != (ushort)EtherType.Ipv4
            || frame[ipStart] != 0x45) // version 4, header of 5 words
            return false;
        var h = frame.Slice(ipStart, Ipv4MinHeaderLength);
        int total = BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
        // A length of 0 (offload), shorter than the header, or longer than the capture holds: the general walk.
        if (total < Ipv4MinHeaderLength || total > frame.Length - ipStart) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(h[6..]) & (Ipv4MoreFragments | Ipv4OffsetMask)) != 0) return false;
        int end = ipStart + total;
        var proto = (IpProtocol)h[9];
        var t = frame[transportStart..end];
        if (proto == IpProtocol.Udp)
        {
            if (t.Length < UdpHeaderLength) return false;
            int length = BinaryPrimitives.ReadUInt16BigEndian(t[4..]);
            if (length < UdpHeaderLength || length > t.Length) return false;
            packet.PayloadOffset = transportStart + UdpHeaderLength;
            packet.PayloadLength = length - UdpHeaderLength;
        }
        else if (proto == IpProtocol.Tcp)
        {
            if (t.Length < TcpMinHeaderLength) return false;
            int headerLength = (t[12] >> 4) * 4;
            if (headerLength < TcpMinHeaderLength || headerLength > t.Length) return false;
            packet.TcpSeq = BinaryPrimitives.ReadUInt32BigEndian(t[4..]);
            packet.TcpAck = BinaryPrimitives.ReadUInt32BigEndian(t[8..]);
            packet.TcpFlags = (TcpFlags)t[13];
            packet.TcpWindow = BinaryPrimitives.ReadUInt16BigEndian(t[14..]);
            packet.PayloadOffset = transportStart + headerLength;
            packet.PayloadLength = end - packet.PayloadOffset;
            packet.TcpDataLength = packet.PayloadLength;
        }
        else return false;
        packet.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(t);
        packet.DstPort = BinaryPrimitives.ReadUInt16BigEndian(t[2..]);
        packet.IpVersion = 4;
        packet.Ttl = h[8];
        packet.IpId = BinaryPrimitives.ReadUInt16BigEndian(h[4..]);
        packet.IpChecksum = BinaryPrimitives.ReadUInt16BigEndian(h[10..]);
        packet.Protocol = proto;
        packet.Src = IpAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(h[12..]));
        packet.Dst = IpAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(h[16..]));
        packet.IpLength = total;
        packet.Vlan = vlan;
        packet.VlanDepth = vlanDepth;
        return true;
    }

    /// <summary>The innermost IP payload: fills ports, TCP fields or ICMP type/code and the payload range.</summary>
    private DecodeStatus DecodeTransport(ReadOnlySpan<byte> data, int off, int end, int ipVersion, bool snapTruncated, ref DecodedPacket packet)
    {
        int capEnd = Math.Min(end, data.Length);
        int avail = capEnd - off;
        switch (packet.Protocol)
        {
            case IpProtocol.Udp:
            {
                if (avail < UdpHeaderLength) return Bad("udp_truncated");
                var h = data.Slice(off, UdpHeaderLength);
                int length = BinaryPrimitives.ReadUInt16BigEndian(h[4..]);
                // RFC 768: the length covers header and data and must fit the IP payload.
                if (length < UdpHeaderLength || length > end - off) return Bad("udp_bad_length");
                packet.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(h);
                packet.DstPort = BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
                packet.PayloadOffset = off + UdpHeaderLength;
                packet.PayloadLength = Math.Min(off + length, capEnd) - packet.PayloadOffset;
                break;
            }
            case IpProtocol.Tcp:
            {
                if (avail < TcpMinHeaderLength) return Bad("tcp_truncated");
                var h = data.Slice(off, TcpMinHeaderLength);
                int headerLength = (h[12] >> 4) * 4;
                if (headerLength < TcpMinHeaderLength || headerLength > end - off) return Bad("tcp_bad_data_offset");
                if (headerLength > avail) return Bad("tcp_truncated");
                packet.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(h);
                packet.DstPort = BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
                packet.TcpSeq = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
                packet.TcpAck = BinaryPrimitives.ReadUInt32BigEndian(h[8..]);
                packet.TcpFlags = (TcpFlags)h[13];
                packet.TcpWindow = BinaryPrimitives.ReadUInt16BigEndian(h[14..]);
                packet.PayloadOffset = off + headerLength;
                packet.PayloadLength = capEnd - packet.PayloadOffset;
                packet.TcpDataLength = end - packet.PayloadOffset;
                break;
            }
            case IpProtocol.Icmp or IpProtocol.Icmpv6:
            {
                bool v6 = packet.Protocol == IpProtocol.Icmpv6;
                if (avail < IcmpHeaderLength) return Bad(v6 ? "icmpv6_truncated" : "icmp_truncated");
                byte type = data[off];
                packet.IcmpType = type;
                packet.IcmpCode = data[off + 1];
                packet.PayloadOffset = off + IcmpHeaderLength;
                packet.PayloadLength = capEnd - packet.PayloadOffset;
                // RFC 792 / RFC 4443: error messages quote the offending packet after the 8-byte header.
                bool unreachable = v6 ? type == Icmpv6DestinationUnreachable : type == IcmpDestinationUnreachable;
                bool quotes = unreachable || (v6 ? type == Icmpv6TimeExceeded : type == IcmpTimeExceeded);
                if (quotes)
                {
                    var quote = data[packet.PayloadOffset..capEnd];
                    bool decoded = v6 ? DecodeQuotedIpv6(quote, ref packet) : DecodeQuotedIpv4(quote, ref packet);
                    if (decoded) packet.IcmpUnreachable = unreachable;
                    else _anomalies.Increment("icmp_quote_truncated");
                }
                break;
            }
            case IpProtocol.Sctp:
            {
                if (avail < SctpCommonHeaderLength) return Bad("sctp_truncated");
                packet.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(off, 2));
                packet.DstPort = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(off + 2, 2));
                packet.PayloadOffset = off + SctpCommonHeaderLength;
                packet.PayloadLength = capEnd - packet.PayloadOffset;
                break;
            }
            default:
                // ESP, no-next-header, OSPF...: no transport header we read; the payload is the rest.
                packet.PayloadOffset = Math.Min(off, capEnd);
                packet.PayloadLength = capEnd - packet.PayloadOffset;
                break;
        }
        if (snapTruncated) _anomalies.Increment("ip_payload_truncated_by_snaplen");
        return DecodeStatus.Ok;
    }

    /// <summary>The IPv4 header quoted by an ICMP error, plus ports when the first transport bytes are there.</summary>
    private static bool DecodeQuotedIpv4(ReadOnlySpan<byte> q, ref DecodedPacket packet)
    {
        if (q.Length < Ipv4MinHeaderLength || q[0] >> 4 != 4) return false;
        int headerLength = (q[0] & 0x0F) * 4;
        if (headerLength < Ipv4MinHeaderLength || headerLength > q.Length) return false;
        packet.InnerProtocol = (IpProtocol)q[9];
        packet.InnerSrc = IpAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(q[12..]));
        packet.InnerDst = IpAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(q[16..]));
        bool firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(q[6..]) & Ipv4OffsetMask) == 0;
        ReadQuotedPorts(q[headerLength..], firstFragment, ref packet);
        return true;
    }

    private static bool DecodeQuotedIpv6(ReadOnlySpan<byte> q, ref DecodedPacket packet)
    {
        if (q.Length < Ipv6HeaderLength || q[0] >> 4 != 6) return false;
        packet.InnerSrc = IpAddress.FromBytes(q.Slice(8, 16));
        packet.InnerDst = IpAddress.FromBytes(q.Slice(24, 16));
        byte next = q[6];
        int off = Ipv6HeaderLength;
        bool firstFragment = true;
        for (int i = 0; i < MaxExtensionHeaders; i++)
        {
            var p = (IpProtocol)next;
            if (p is not (IpProtocol.HopByHop or IpProtocol.Ipv6Route or IpProtocol.Ipv6Options or IpProtocol.Ipv6Fragment)) break;
            int length = q.Length - off < 8 ? int.MaxValue : p == IpProtocol.Ipv6Fragment ? 8 : (q[off + 1] + 1) * 8;
            if (length > q.Length - off)
            {
                // The quote ends inside an extension header: report that header's type, no ports.
                firstFragment = false;
                break;
            }
            if (p == IpProtocol.Ipv6Fragment) firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(q[(off + 2)..]) & 0xFFF8) == 0;
            next = q[off];
            off += length;
        }
        packet.InnerProtocol = (IpProtocol)next;
        ReadQuotedPorts(q[off..], firstFragment, ref packet);
        return true;
    }

    private static void ReadQuotedPorts(ReadOnlySpan<byte> transport, bool firstFragment, ref DecodedPacket packet)
    {
        if (!firstFragment || transport.Length < 4) return;
        if (packet.InnerProtocol is not (IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp)) return;
        packet.InnerSrcPort = BinaryPrimitives.ReadUInt16BigEndian(transport);
        packet.InnerDstPort = BinaryPrimitives.ReadUInt16BigEndian(transport[2..]);
    }

    private DecodeStatus Bad(string anomaly)
    {
        _anomalies.Increment(anomaly);
        return DecodeStatus.Malformed;
    }

    private void Hold(byte[] datagram)
    {
        if (_held0 is null) _held0 = datagram;
        else
        {
            // A third reassembly in one frame (nested tunnels): the older inner buffer is no longer read.
            if (_held1 is not null) ArrayPool<byte>.Shared.Return(_held1);
            _held1 = datagram;
        }
    }

    private void ReleaseHeld()
    {
        ArrayPool<byte>.Shared.Return(_held0!);
        _held0 = null;
        if (_held1 is not null)
        {
            ArrayPool<byte>.Shared.Return(_held1);
            _held1 = null;
        }
    }
}
