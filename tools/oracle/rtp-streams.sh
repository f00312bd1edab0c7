#!/usr/bin/env bash
# Writes tests/TrafficAudit.Tests/TestData/tshark-rtp-streams.tsv: tshark's RTP stream statistics
# (-z rtp,streams) for every pcap/pcapng capture in the shared public captures folder. The RTP
# statistics tests compare RtpStreamStatistics with these rows.
#
# Exact tshark command run per file (tshark 4.0.17):
#   tshark -n -r FILE -q -o rtp.heuristic_rtp:TRUE -z rtp,streams
# Heuristic RTP is on so that streams without SIP/SDP in the capture are found too.
#
# Columns: the stream key (src, src_port, dst, dst_port, ssrc as 0x%08X), tshark's payload names,
# packets, lost (as printed, negative with duplicates), min/mean/max delta and min/mean/max jitter
# in ms (3 decimals, as printed; -1.000 means "none"), problem (1 when tshark printed X).
# Files tshark cannot read completely, or that hold no RTP, give no rows; non-captures are skipped.
#
# Usage: tools/oracle/rtp-streams.sh [captures-dir] > tests/TrafficAudit.Tests/TestData/tshark-rtp-streams.tsv
set -euo pipefail
dir="${1:-$(dirname "$0")/../../../shared/captures/public}"
cd "$dir"
printf '# tshark 4.0.17: tshark -n -r FILE -q -o rtp.heuristic_rtp:TRUE -z rtp,streams\n'
printf '# written by tools/oracle/rtp-streams.sh; do not edit by hand\n'
printf 'file\tsrc\tsrc_port\tdst\tdst_port\tssrc\tpayload\tpackets\tlost\tmin_delta_ms\tmean_delta_ms\tmax_delta_ms\tmin_jitter_ms\tmean_jitter_ms\tmax_jitter_ms\tproblem\n'
find . -type f ! -name '*.md' | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
  type=$( (capinfos -t -M "$f" 2>/dev/null || true) | sed -n 's/^File type: *//p')
  case "$type" in
    pcap|nsecpcap|pcapng|"pcap (gzip compressed)"|"nsecpcap (gzip compressed)"|"pcapng (gzip compressed)") ;;
    *) echo "skipping $f: $type" >&2; continue ;;
  esac
  # tshark exits non-zero on a file cut short; what it printed still counts.
  (tshark -n -r "$f" -q -o rtp.heuristic_rtp:TRUE -z rtp,streams 2>/dev/null || true) | FILE="$f" python3 -c '
import os, re, sys
row = re.compile(r"^\s*\S+\s+\S+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]{8})\s+(.*?)\s+(\d+)\s+(-?\d+) \([^)]*\)"
                 r"\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*(X?)\s*$")
rows = []
for line in sys.stdin:
    m = row.match(line)
    if m:
        g = list(m.groups())
        g[4] = "0x%08X" % int(g[4], 16)
        g[-1] = "1" if g[-1] == "X" else "0"
        rows.append(g)
for g in sorted(rows, key=lambda g: (g[0], int(g[1]), g[2], int(g[3]), g[4])):
    print(os.environ["FILE"] + "\t" + "\t".join(g))
'
done
