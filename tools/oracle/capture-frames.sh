#!/usr/bin/env bash
# Writes tests/TrafficAudit.Tests/TestData/capture-frames.tsv: tshark's frame count, first and last
# timestamp (ns since the epoch) and per-frame link types for every pcap/pcapng capture in the
# shared public captures folder. The capture reader tests compare our reader with these figures.
#
# Exact tshark command run per file (tshark 4.0.17):
#   tshark -n -r FILE -T fields -E separator=/t -e frame.time_epoch -e frame.time_relative -e frame.encap_type
# File types come from: capinfos -t -M FILE  (only "pcap", "nsecpcap", "pcapng", optionally "(gzip compressed)").
#
# How the figures are derived from tshark's text (no floating point):
#  * first_ns = seconds*1e9 + sub-second of frame 1's frame.time_epoch. tshark 4.0 prints an
#    unnormalised sub-second field as is ("1418145370.1000000000"), so a fraction longer than
#    9 digits is a raw nanosecond count and is added (carried) rather than scaled.
#  * last_ns = first_ns + the last frame's frame.time_relative (same parsing). Relative times are
#    used because tshark 4.0 prints epoch times whose ns field is >= 2^31 with a bogus minus sign.
#  * A value beyond signed 64-bit ns is written exactly (the reader saturates it).
#  * link_types: run-length list of LINKTYPE_ values, "1*62,0*2,1*1", mapped from Wireshark's
#    WTAP_ENCAP numbers (frame.encap_type) by the table below; an unknown encap stops the script.
#  * note: "cut_short" when tshark reports the file cut short (the figures cover what it read).
#
# Usage: tools/oracle/capture-frames.sh [captures-dir] > tests/TrafficAudit.Tests/TestData/capture-frames.tsv
set -euo pipefail
dir="${1:-$(dirname "$0")/../../../shared/captures/public}"
cd "$dir"
printf '# tshark 4.0.17: tshark -n -r FILE -T fields -E separator=/t -e frame.time_epoch -e frame.time_relative -e frame.encap_type\n'
printf '# written by tools/oracle/capture-frames.sh; do not edit by hand\n'
printf 'file\tframes\tfirst_ns\tlast_ns\tlink_types\tnote\n'
find . -type f ! -name '*.md' | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
  type=$( (capinfos -t -M "$f" 2>/dev/null || true) | sed -n 's/^File type: *//p')
  case "$type" in
    pcap|nsecpcap|pcapng|"pcap (gzip compressed)"|"nsecpcap (gzip compressed)"|"pcapng (gzip compressed)") ;;
    *) echo "skipping $f: $type" >&2; continue ;;
  esac
  err=$(mktemp); out=$(mktemp)
  # tshark exits non-zero on a file cut short; what it printed before still counts.
  tshark -n -r "$f" -T fields -E separator=/t -e frame.time_epoch -e frame.time_relative -e frame.encap_type >"$out" 2>"$err" || true
  python3 -c '
import sys
WTAP_TO_LINKTYPE = {"1": 1, "15": 0, "25": 113, "210": 276, "7": 101}
def ns(text):
    neg = text.startswith("-")
    s, _, frac = text.lstrip("-").partition(".")
    v = int(s) * 10**9 + (int(frac) if len(frac) > 9 else int(frac.ljust(9, "0")))
    return -v if neg else v
name, note = sys.argv[1], sys.argv[2]
n = 0; first = last = None; runs = []
for line in sys.stdin:
    epoch, rel, encap = line.rstrip("\n").split("\t")
    n += 1
    if first is None: first = ns(epoch)
    last = first + ns(rel)
    lt = WTAP_TO_LINKTYPE[encap]
    if runs and runs[-1][0] == lt: runs[-1][1] += 1
    else: runs.append([lt, 1])
rl = ",".join(f"{a}*{b}" for a, b in runs)
opt = lambda v: "" if v is None else str(v)
print("\t".join([name, str(n), opt(first), opt(last), rl, note]))
' "$f" "$(grep -q 'cut short' "$err" && echo cut_short || true)" <"$out"
  rm -f "$err" "$out"
done
