namespace TrafficAudit.Decode;

/// <summary>
/// EtherType values (IEEE registry) the decoder dispatches on; the same values name the payload of
/// GRE (RFC 2784), Linux cooked captures and VLAN tags. Example on the wire: Ethernet bytes 12..13
/// = 08 00 is IPv4. Values below 0x0600 are 802.3 length fields, not types.
/// </summary>
public enum EtherType : ushort
{
    /// <summary>Smallest EtherType; anything below is an 802.3 length field (LLC/SNAP frame follows).</summary>
    MinimumType = 0x0600,
    Ipv4 = 0x0800,
    Arp = 0x0806,
    /// <summary>ERSPAN type III carried in GRE (Cisco).</summary>
    ErspanTypeIII = 0x22EB,
    /// <summary>Transparent Ethernet bridging: an Ethernet frame follows the GRE header (NVGRE, EoGRE).</summary>
    TransparentEthernetBridging = 0x6558,
    Vlan = 0x8100,
    Ipv6 = 0x86DD,
    MplsUnicast = 0x8847,
    MplsMulticast = 0x8848,
    PppoeDiscovery = 0x8863,
    PppoeSession = 0x8864,
    /// <summary>802.1ad service tag (outer tag of Q-in-Q).</summary>
    QinQ = 0x88A8,
    /// <summary>ERSPAN type I (no GRE sequence bit) and type II (sequence bit set) in GRE.</summary>
    Erspan = 0x88BE,
    /// <summary>Pre-standard Q-in-Q outer tag still used by some switches.</summary>
    QinQLegacy = 0x9100,
}
