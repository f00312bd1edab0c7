#!/usr/bin/env bash
# Times `trafficaudit audit` on one capture and on the same capture split into FILES files under
# names that are not a dumpcap ring (so they are merged by timestamp, every file open at once), and
# checks that both audits wrote the same CSVs. A third case merges FILES copies of a capture of
# COPY_PACKETS packets (every file overlaps every other in time, each larger than a read buffer);
# a fourth, FILES files of one packet each.
# Prints seconds and peak memory (KB, /usr/bin/time %M).
# Needs editcap (apt-get install tshark). BIN=path/to/trafficaudit measures another build.
# Usage: tools/bench-merge.sh [PACKETS] [FILES] [COPY_PACKETS]
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-1000000}"
files="${2:-1000}"
copy_packets="${3:-5000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
bin="${BIN:-src/TrafficAudit.Cli/bin/Release/net10.0/trafficaudit}"
[ -n "${BIN:-}" ] || dotnet build src/TrafficAudit.Cli -c Release -nologo -v q >/dev/null
dotnet tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll bench --out "$work/all.pcap" --packets "$packets" --calls 200 --seed 1 >/dev/null
mkdir "$work/split"
editcap -c $(( (packets + files - 1) / files )) "$work/all.pcap" "$work/split/x.pcap" 2>/dev/null
i=0
for f in "$work"/split/*; do i=$((i+1)); mv "$f" "$work/split/part$(printf %05d $i).pcap"; done
mkdir "$work/copies"
dotnet tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll bench --out "$work/one.pcap" --packets "$copy_packets" --calls 20 --seed 2 >/dev/null
for i in $(seq -f %05g "$files"); do cp "$work/one.pcap" "$work/copies/copy$i.pcap"; done
# FILES one-packet files: a file smaller than its share of the budget costs only its size.
mkdir "$work/tiny"
editcap -r "$work/all.pcap" "$work/first.pcap" "1-$files" 2>/dev/null
editcap -c 1 "$work/first.pcap" "$work/tiny/t.pcap" 2>/dev/null
i=0
for f in "$work"/tiny/*; do i=$((i+1)); mv "$f" "$work/tiny/tiny$(printf %05d $i).pcap"; done
echo "input files seconds peak_kb"
for d in "$work/all.pcap" "$work/split" "$work/one.pcap" "$work/copies" "$work/first.pcap" "$work/tiny"; do
  n=$([ -d "$d" ] && ls "$d" | wc -l || echo 1)
  /usr/bin/time -f "$(basename "$d") $n %e %M" "$bin" audit "$d" -o "$work/out-$(basename "$d")" -q --fail-on never 2>&1 >/dev/null | tail -1
done
# Same audit either way: every CSV but run.csv (which names the inputs) must be identical.
for f in "$work/out-all.pcap"/*.csv; do
  b=$(basename "$f")
  [ "$b" = run.csv ] && continue
  cmp -s "$f" "$work/out-split/$b" || { echo "DIFFERENT: $b"; exit 1; }
done
echo "outputs identical"
