#!/usr/bin/env bash
# Writes tshark's view of every SIP message in the public captures that carry SIP, so the SIP
# analyzer tests can compare calls (Call-IDs, final status, INVITE->2xx time) without tshark.
# Usage: tools/oracle/sip-messages.sh [../shared/captures/public] > tests/TrafficAudit.Tests/TestData/tshark-sip-messages.tsv
# Per file, the command is:
#   tshark -r FILE -Y sip -T fields -E separator=/t -E occurrence=f \
#          -e frame.number -e frame.time_epoch -e sip.Call-ID -e sip.Method -e sip.Status-Code -e sip.CSeq
# (occurrence=f: one SIP message per frame in these files; the script checks that with sip.Call-ID
# occurrence=a and fails on a frame that carries two messages).
set -euo pipefail
dir=${1:-"$(dirname "$0")/../../../shared/captures/public"}
files=(
  wireshark-wiki/SIP_CALL_RTP_G711 wireshark-wiki/sip-rtp-g711.pcap wireshark-wiki/sip-rtp-g722.pcap
  wireshark-wiki/sip-rtp-g729a.pcap wireshark-wiki/SIP_DTMF2.cap wireshark-wiki/MagicJack-_short_call.pcap
  wireshark-wiki/aaa.pcap wireshark-wiki/T38.pcap wireshark-wiki/LtoZ_rtpFilter_fail_2.pcap
  wireshark-wiki/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap sngrep/ipv6frag.pcap sngrep/ipip.pcap
  heplify/sip_ipv4_tcp.pcap heplify/sip_ipv6_udp.pcap wireshark-wiki/nb6-telephone.pcap
  wireshark-wiki/Asterisk_ZFONE_XLITE.pcap
)
echo "# tshark $(tshark --version | head -1 | awk '{print $3}'): one row per SIP message; see tools/oracle/sip-messages.sh"
printf 'file\tframe\ttime_epoch\tcall_id\tmethod\tstatus\tcseq\n'
cd "$dir"
for f in "${files[@]}"; do
  if tshark -r "$f" -Y sip -T fields -E occurrence=a -E aggregator='|' -e sip.Call-ID 2>/dev/null | grep -q '|'; then
    echo "two SIP messages in one frame of $f: extend this script" >&2; exit 1
  fi
  tshark -r "$f" -Y sip -T fields -E separator=/t -E occurrence=f \
    -e frame.number -e frame.time_epoch -e sip.Call-ID -e sip.Method -e sip.Status-Code -e sip.CSeq 2>/dev/null \
  | awk -F'\t' -v f="$f" '{ printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f, $1, $2, $3, $4, $5, $6 }'
done
