#!/usr/bin/env bash
# Times `trafficaudit audit` on one capture, on the same capture split into a dumpcap ring
# (FILE_NNNNN_YYYYMMDDhhmmss.pcap: read one file after another) and on the same files under other
# names (merged by timestamp, one read buffer per open file). Needs editcap (apt-get install tshark).
# Usage: tools/bench-rings.sh [PACKETS] [PACKETS_PER_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-1000000}"
per_file="${2:-5000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
dotnet build src/TrafficAudit.Cli -c Release -nologo -v q >/dev/null
dotnet tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll bench --out "$work/all.pcap" --packets "$packets" --calls 200 --seed 1 >/dev/null
mkdir "$work/ring" "$work/plain"
editcap -c "$per_file" "$work/all.pcap" "$work/ring/r.pcap" 2>/dev/null
i=0
for f in "$work"/ring/*; do i=$((i+1)); ln "$f" "$work/plain/part$(printf %05d $i).pcap"; done
bin=src/TrafficAudit.Cli/bin/Release/net10.0/trafficaudit
echo "input files seconds peak_kb"
for d in "$work/all.pcap" "$work/ring" "$work/plain"; do
  n=$([ -d "$d" ] && ls "$d" | wc -l || echo 1)
  /usr/bin/time -f "$(basename "$d") $n %e %M" "$bin" audit "$d" -o "$work/out" -q --fail-on never 2>&1 >/dev/null | tail -1
done
