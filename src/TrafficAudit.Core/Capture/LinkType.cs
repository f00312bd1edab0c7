namespace TrafficAudit.Capture;

/// <summary>
/// LINKTYPE_ values as written in pcap and pcapng headers (tcpdump.org/linktypes.html).
/// Example on the wire: pcap global header bytes 20..23 = 01 00 00 00 (little endian) is Ethernet.
/// </summary>
public enum LinkType : ushort
{
    /// <summary>BSD loopback: 4-byte address family in host byte order, then the IP packet.</summary>
    Null = 0,
    Ethernet = 1,
    /// <summary>Raw IP (some systems write 12 or 14 for it).</summary>
    RawLegacy12 = 12,
    RawLegacy14 = 14,
    /// <summary>PPP in HDLC-like framing (RFC 1662), rarely seen; decoded as PPP.</summary>
    Ppp = 9,
    Raw = 101,
    /// <summary>OpenBSD loopback: 4-byte address family in network byte order.</summary>
    Loop = 108,
    /// <summary>Linux cooked capture v1, 16-byte header.</summary>
    LinuxSll = 113,
    Ipv4 = 228,
    Ipv6 = 229,
    /// <summary>Linux cooked capture v2, 20-byte header (tcpdump -i any since libpcap 1.10).</summary>
    LinuxSll2 = 276,
}
