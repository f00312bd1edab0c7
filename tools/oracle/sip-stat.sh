#!/usr/bin/env bash
# Writes tshark's SIP statistics of every public capture that carries SIP: the number of SIP
# messages and of resent ones ("Number of resent SIP messages", Wireshark's sip.resend flag), so the
# tests can check our retransmission counts (calls.csv retransmissions) against Wireshark's.
# Usage: tools/oracle/sip-stat.sh [../shared/captures/public] > tests/TrafficAudit.Tests/TestData/tshark-sip-stat.tsv
# Per file, the command is:
#   tshark -n -r FILE -q -z sip,stat
set -euo pipefail
dir=${1:-"$(dirname "$0")/../../../shared/captures/public"}
echo "# tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}'): tshark -n -r FILE -q -z sip,stat; written by tools/oracle/sip-stat.sh, do not edit by hand"
printf 'file\tmessages\tresent\n'
cd "$dir"
find . -type f ! -name '*.md' | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
  out=$(tshark -n -r "$f" -q -z sip,stat 2>/dev/null || true)
  messages=$(echo "$out" | sed -n 's/^Number of SIP messages: *//p')
  resent=$(echo "$out" | sed -n 's/^Number of resent SIP messages: *//p')
  if [ -n "$messages" ] && [ "$messages" != "0" ]; then printf '%s\t%s\t%s\n' "$f" "$messages" "$resent"; fi
done
