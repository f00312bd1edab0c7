#!/usr/bin/env bash
# Writes tshark's TCP initial RTT (tcp.analysis.initial_rtt) for every TCP stream of every public
# capture, so tests can compare our handshake_rtt_ms without tshark installed.
# Usage: tools/oracle/tcp-initial-rtt.sh [../shared/captures/public] > tests/TrafficAudit.Tests/TestData/tshark-initial-rtt.tsv
# Per file, the command is:
#   tshark -r FILE -Y tcp.analysis.initial_rtt -T fields -E separator=/t -E occurrence=l \
#          -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.analysis.initial_rtt
# and the first line of each tcp.stream is kept (the value is the same on every later packet).
set -euo pipefail
dir=${1:-"$(dirname "$0")/../../../shared/captures/public"}
echo "# tshark $(tshark --version | head -1 | awk '{print $3}'): tcp.analysis.initial_rtt per tcp.stream; see tools/oracle/tcp-initial-rtt.sh"
printf 'file\tstream\tsrc\tsrc_port\tdst\tdst_port\tinitial_rtt_s\n'
cd "$dir"
find . -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.raw' -o -name '*.gz' -o -name 'SIP_CALL_RTP_G711' \) | sed 's|^\./||' | sort | while read -r f; do
  tshark -r "$f" -Y tcp.analysis.initial_rtt -T fields -E separator=/t -E occurrence=l \
    -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.analysis.initial_rtt 2>/dev/null \
  | awk -F'\t' -v f="$f" '!seen[$1]++ { src = ($2 != "" ? $2 : $3); dst = ($5 != "" ? $5 : $6); printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f, $1, src, $4, dst, $7, $8 }' || true
done
