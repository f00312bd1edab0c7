#!/usr/bin/env bash
# Adversarial benchmark (issue 13): generates each hostile 1M-packet capture with the synthesizer
# (trafficaudit-synth hostile CASE) and measures `trafficaudit audit` on it, built as it ships
# (tools/publish.sh), with /usr/bin/time -v: wall time and peak memory against the targets
# (under 10 s and under 256 MB each). Prints one line per case and the anomalies the caps raised.
# Usage: tools/bench-hostile.sh [PACKETS] [CASE...]   (default 1000000 packets, every case)
# Not a test: run it by hand (nice -n 19 is fine) and put the figures in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
shift || true
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(ssrc flows useragents reinvites synscan)
work=${BENCH_DIR:-/tmp/trafficaudit-bench-hostile}
mkdir -p "$work"
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time) >/dev/null
fi
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
bash tools/publish.sh "$work/bin" >/dev/null
synth="dotnet tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll"
fail=0
printf '%-11s %9s %9s %8s %10s  %s\n' case seconds peak_MB target findings "anomalies from caps"
for c in "${cases[@]}"; do
  cap="$work/$c-$packets.pcap"
  [ -f "$cap" ] || $synth hostile "$c" --out "$cap" --packets "$packets" >/dev/null
  cat "$cap" > /dev/null   # warm the page cache
  extra=()
  # The SYN scan names the node, so that its refused flows are findings (capped per source).
  [ "$c" = synscan ] && extra=(--server 10.0.0.10)
  out="$work/out-$c"
  rm -rf "$out"
  /usr/bin/time -v -o "$work/time-$c.txt" "$work/bin/trafficaudit" audit "$cap" --out "$out" --quiet --fail-on never "${extra[@]}" || true
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time-$c.txt")
  kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time-$c.txt")
  mb=$((kb / 1024))
  ok=$(awk -v s="$secs" -v m="$mb" 'BEGIN { print (s < 10 && m < 256) ? "met" : "MISSED" }')
  [ "$ok" = met ] || fail=1
  findings=$(( $(wc -l < "$out/findings.csv") - 1 ))
  caps=$(grep -E '_limit|findings_summarised|not_kept|overflow|_full|_evicted|_forgotten' "$out/anomalies.csv" | cut -d, -f1,2 | tr '\n' ' ' || true)
  printf '%-11s %9.2f %9d %8s %10d  %s\n' "$c" "$secs" "$mb" "$ok" "$findings" "$caps"
done
exit $fail
