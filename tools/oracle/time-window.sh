#!/usr/bin/env bash
# Writes tests/TrafficAudit.Tests/TestData/tshark-time-window.tsv: how many frames of a capture lie
# in a time window relative to its first frame, and how many tshark -c N reads, for the
# --from/--to/-c tests (our own capture captures/imagicle-site.pcap, which is in time order, so
# "stop at the first frame after --to" and tshark's display filter select the same frames).
#
# Exact tshark commands run (tshark 4.0.17):
#   tshark -n -r FILE -Y "frame.time_relative >= FROM && frame.time_relative <= TO" | wc -l
#   tshark -n -r FILE -c N | wc -l
#
# Usage: tools/oracle/time-window.sh > tests/TrafficAudit.Tests/TestData/tshark-time-window.tsv
set -euo pipefail
cd "$(dirname "$0")/../.."
f=captures/imagicle-site.pcap
printf '# tshark %s: tshark -n -r FILE -Y "frame.time_relative >= FROM && frame.time_relative <= TO" | wc -l; -c N: tshark -n -r FILE -c N | wc -l\n' "$(tshark -v 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([0-9.]*\).*/\1/p')"
printf '# written by tools/oracle/time-window.sh; do not edit by hand\n'
printf 'file\tfrom_s\tto_s\tcount\tframes\n'
for w in "0 1" "1 3" "2.5 4" "0 600"; do
  set -- $w
  n=$(tshark -n -r "$f" -Y "frame.time_relative >= $1 && frame.time_relative <= $2" 2>/dev/null | wc -l)
  printf '%s\t%s\t%s\t-\t%s\n' "$(basename "$f")" "$1" "$2" "$n"
done
for c in 1 100 1000; do
  n=$(tshark -n -r "$f" -c "$c" 2>/dev/null | wc -l)
  printf '%s\t-\t-\t%s\t%s\n' "$(basename "$f")" "$c" "$n"
done
