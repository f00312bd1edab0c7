#!/usr/bin/env bash
# Writes tshark's Community ID (Wireshark's "communityid" protocol, v1, seed 0) for every TCP and UDP
# conversation of a few public captures (IPv4, IPv6, TCP, UDP, VLAN), so tests can compare flows.csv's
# community_id without tshark installed.
# Usage: tools/oracle/community-id.sh [../shared/captures/public] > tests/TrafficAudit.Tests/TestData/tshark-community-id.tsv
# Per file, the command is:
#   tshark -r FILE --enable-protocol communityid -Y communityid -T fields -E separator=/t \
#          -e ip.proto -e ipv6.nxt -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport -e communityid
# keeping one line per distinct (5-tuple, communityid); ICMP is left out (we write no Community ID for it).
set -euo pipefail
dir=${1:-"$(dirname "$0")/../../../shared/captures/public"}
echo "# tshark $(tshark --version | head -1 | awk '{print $3}'): communityid per conversation; see tools/oracle/community-id.sh"
printf 'file\tproto\tsrc\tsrc_port\tdst\tdst_port\tcommunity_id\n'
cd "$dir"
for f in zeek/get.pcap zeek/tls1.2.pcap zeek/vlan-qinqinq.pcap heplify/sip_ipv6_udp.pcap heplify/sip_ipv4_tcp.pcap \
         wireshark-wiki/sip-rtp-g711.pcap wireshark-wiki/smtp.pcap wireshark-wiki/imap.cap; do
  tshark -r "$f" --enable-protocol communityid -Y 'communityid && (tcp || udp) && !icmp && !icmpv6' -T fields -E separator=/t -E occurrence=f \
    -e ip.proto -e ipv6.nxt -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport -e communityid 2>/dev/null \
  | awk -F'\t' -v f="$f" '{ p = ($1 != "" ? $1 : $2); s = ($3 != "" ? $3 : $4); sp = ($5 != "" ? $5 : $6); d = ($7 != "" ? $7 : $8); dp = ($9 != "" ? $9 : $10);
      line = sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", f, p, s, sp, d, dp, $11); if (!seen[line]++) print line }'
done
