#!/usr/bin/env bash
# Benchmark of issue 9: a long busy site audited by the shipped build (tools/publish.sh).
# The synthesizer's `busy` capture (per simulated minute: 600 short TCP connections, some unanswered
# or refused, 300 DNS lookups, 20 SIP OPTIONS on new source ports, 30 short calls with G.711 RTP) is
# generated for MINUTES and 4 x MINUTES simulated minutes (and a simulated day with --day), then
# `trafficaudit audit --stats` runs on each, without and with the profile the capture was made for,
# under /usr/bin/time. Per run: packets, whole-process seconds and M packets/s, the packet loop's
# M packets/s, the process's CPU seconds (user + system: less sensitive than wall time to the load
# of a shared machine, and above it when the VoIP stage keeps the second core busy), peak RSS,
# after_loop_s (work after the last packet: policy and outputs) and bytes allocated per packet in
# the loop; then issue 9's targets as PASS/FAIL lines:
#   peak memory of 4x the duration <= 1.25 x that of 1x; a simulated day under 150 MB;
#   after_loop_s under 0.5 s on every run; whole-process throughput >= 1.4 M packets/s on every run.
# Not a test: run it by hand (nice -n 19 on a shared machine; timings vary with its load) and put
# the figures in the README ("Long busy site").
# Usage: tools/bench-busy.sh [MINUTES] [--day] [--runs N] [--seed S]   (default 60 minutes, 1 run, seed 1)
# BENCH_DIR (default /tmp/trafficaudit-bench-busy) holds the build, the captures (about 100 MB per
# simulated half hour; a day is about 5 GB) and the outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=60
day=0
runs=1
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --day) day=1 ;;
    --runs) runs=$2; shift ;;
    --seed) seed=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) [[ "$1" =~ ^[0-9]+$ ]] || { echo "bench-busy: unknown argument '$1' (see --help)" >&2; exit 2; }; minutes=$1 ;;
  esac
  shift
done
work=${BENCH_DIR:-/tmp/trafficaudit-bench-busy}
mkdir -p "$work"
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time) >/dev/null
fi
[ -x /usr/bin/time ] || { echo "bench-busy: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
synth_dll=tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll
bash tools/publish.sh "$work/bin" >/dev/null
ta="$work/bin/trafficaudit"

durations=("$minutes" "$((4 * minutes))")
[ "$day" = 1 ] && durations+=(1440)

# Generated once per duration and seed; again when the synthesizer was rebuilt since.
capture() {
  local m=$1 cap="$work/busy-$1m-seed$seed.pcap"
  if [ ! -f "$cap" ] || [ "$synth_dll" -nt "$cap" ]; then
    dotnet "$synth_dll" busy --out "$cap" --minutes "$m" --seed "$seed" >&2
  fi
  echo "$cap"
}

stat_of() { grep -oE "(^| )$1=[-0-9.]+" "$2" | head -1 | cut -d= -f2; }

echo "busy-site benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
printf '%-9s %-7s %4s %10s %8s %7s %8s %9s %8s %10s %9s\n' minutes profile run packets whole_s cpu_s Mpps loop_Mpps peak_MB after_s alloc/pkt
declare -A peak after mpps
for m in "${durations[@]}"; do
  cap=$(capture "$m")
  profile="${cap%.pcap}.profile.json"
  bash tools/page-cache.sh "$cap" >&2   # cached as read from disk (tools/bench.sh does the same)
  for with in no yes; do
    extra=()
    [ "$with" = yes ] && extra=(--profile "$profile")
    for run in $(seq "$runs"); do
      out="$work/out"
      rm -rf "$out"
      start=$(date +%s.%N)
      /usr/bin/time -f "peak_rss_kb=%M cpu_s=%U+%S" -o "$work/time.txt" "$ta" audit "$cap" --out "$out" --quiet --fail-on never --stats "${extra[@]}" 2> "$work/stats.txt" \
        || { echo "bench-busy: audit of $cap failed:" >&2; cat "$work/stats.txt" >&2; exit 1; }
      end=$(date +%s.%N)
      rss_kb=$(grep -oE 'peak_rss_kb=[0-9]+' "$work/time.txt" | cut -d= -f2)
      cpu_s=$(grep -oE 'cpu_s=[0-9.]+\+[0-9.]+' "$work/time.txt" | cut -d= -f2 | awk -F+ '{ printf "%.2f", $1 + $2 }')
      frames=$(stat_of frames "$work/stats.txt")
      loop_s=$(stat_of loop_s "$work/stats.txt")
      after_s=$(stat_of after_loop_s "$work/stats.txt")
      alloc=$(stat_of alloc_per_packet "$work/stats.txt")
      line=$(awk -v s="$start" -v e="$end" -v p="$frames" -v l="$loop_s" -v r="$rss_kb" \
        'BEGIN { d = e - s; printf "%.3f %.2f %.2f %.0f", d, p / d / 1e6, (l > 0 ? p / l / 1e6 : 0), r / 1024 }')
      read -r whole m_pps loop_pps peak_mb <<< "$line"
      printf '%-9s %-7s %4s %10s %8s %7s %8s %9s %8s %10s %9s\n' "$m" "$with" "$run" "$frames" "$whole" "$cpu_s" "$m_pps" "$loop_pps" "$peak_mb" "$after_s" "${alloc:-?}"
      key="$m/$with"
      # Keep the best of the runs: the least memory, the least after-loop work, the highest rate.
      [ -z "${peak[$key]:-}" ] || [ "$peak_mb" -lt "${peak[$key]}" ] && peak[$key]=$peak_mb
      [ -z "${after[$key]:-}" ] || awk -v a="$after_s" -v b="${after[$key]}" 'BEGIN { exit !(a < b) }' && after[$key]=$after_s
      [ -z "${mpps[$key]:-}" ] || awk -v a="$m_pps" -v b="${mpps[$key]}" 'BEGIN { exit !(a > b) }' && mpps[$key]=$m_pps
    done
  done
done

echo "targets (issue 9; best of $runs run(s) per line):"
verdict() { if [ "$1" = 1 ]; then echo "PASS  $2"; else echo "FAIL  $2"; fi; }
x1=$minutes x4=$((4 * minutes))
for with in no yes; do
  r=$(awk -v a="${peak[$x4/$with]}" -v b="${peak[$x1/$with]}" 'BEGIN { printf "%.2f", a / b }')
  verdict "$(awk -v r="$r" 'BEGIN { print (r <= 1.25) }')" "peak memory ${x4} min / ${x1} min, profile $with: ${peak[$x4/$with]} / ${peak[$x1/$with]} MB = ${r}x (target <= 1.25x)"
done
if [ "$day" = 1 ]; then
  for with in no yes; do
    verdict "$(awk -v p="${peak[1440/$with]}" 'BEGIN { print (p < 150) }')" "simulated day (1440 min), profile $with: peak ${peak[1440/$with]} MB (target < 150 MB)"
  done
fi
for key in "${!after[@]}"; do echo "$key"; done | sort -t/ -k1,1n -k2,2 | while read -r key; do
  verdict "$(awk -v a="${after[$key]}" 'BEGIN { print (a < 0.5) }')" "work after the last packet, ${key%/*} min, profile ${key#*/}: ${after[$key]} s (target < 0.5 s)"
done
for key in "${!mpps[@]}"; do echo "$key"; done | sort -t/ -k1,1n -k2,2 | while read -r key; do
  verdict "$(awk -v a="${mpps[$key]}" 'BEGIN { print (a >= 1.4) }')" "throughput (whole process), ${key%/*} min, profile ${key#*/}: ${mpps[$key]} M packets/s (target >= 1.4)"
done
