#!/usr/bin/env bash
# Throughput benchmark of the whole `trafficaudit audit` process, built as it ships (tools/publish.sh),
# on two generated captures, each against tshark on the same file in the same run:
#   bulk  200 concurrent G.711 calls (90 % RTP, plus SIP, TCP and DNS), PACKETS packets (default 2 M);
#   busy  the synthesizer's busy site (short TCP connections, DNS, OPTIONS, short calls), BUSY_MINUTES
#         simulated minutes (default 60: 1.1 M packets, 57,000 flows).
# Per run: whole-process seconds and M packets/s, the read/decode/flow loop's M packets/s, CPU seconds
# (user + system), bytes allocated per packet in the loop and peak RSS; per capture the best of RUNS
# runs, then `tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams` once (seconds, peak RSS) and the ratio.
# When the audit offers --threads, each capture runs with --threads 1, with the default (2 on 2 cores or
# more) and, when it has the sharded engine, with --threads 4 (reader; merger; VoIP stage; 1 flow shard).
# Before each capture's runs, tools/page-cache.sh puts it in the page cache as a capture read from disk is
# (--page-cache as-is: leaves the cache as it is); tshark reads it in the same state.
# Usage: tools/bench.sh [PACKETS] [CALLS] [--busy-minutes M] [--runs N] [--no-tshark] [--only bulk|busy] [--page-cache disk|as-is]
# Not a test: run it by hand (the machine's load shows in the seconds) and put the figures in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=2000000 calls=200 busy_minutes=60 runs=3 tshark=1 only="" page_cache=disk
positional=0
while [ $# -gt 0 ]; do
  case "$1" in
    --busy-minutes) busy_minutes=$2; shift ;;
    --runs) runs=$2; shift ;;
    --no-tshark) tshark=0 ;;
    --only) only=$2; shift ;;
    --page-cache) page_cache=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) [[ "$1" =~ ^[0-9]+$ ]] || { echo "bench: unknown argument '$1' (see --help)" >&2; exit 2; }
       if [ $positional = 0 ]; then packets=$1; else calls=$1; fi; positional=$((positional + 1)) ;;
  esac
  shift
done
work=${BENCH_DIR:-/tmp/trafficaudit-bench}
mkdir -p "$work"
if [ "$(id -u)" = 0 ]; then
  need=()
  [ -x /usr/bin/time ] || need+=(time)
  [ $tshark = 1 ] && ! command -v tshark >/dev/null && need+=(tshark)
  if [ ${#need[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
  fi
fi
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
if [ $tshark = 1 ] && ! command -v tshark >/dev/null; then echo "bench: tshark missing, its columns stay empty" >&2; tshark=0; fi
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
synth=tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll
# The shipped form (tools/publish.sh): one native executable (Native AOT), so nothing is JIT-compiled
# (a plain build's loop starts in the unoptimised JIT tier and takes about twice as long).
bash tools/publish.sh "$work/bin" >/dev/null
ta="$work/bin/trafficaudit"
threads_runs=("")
if "$ta" audit --help 2>/dev/null | grep -q -- '--threads'; then threads_runs=("--threads 1" ""); fi
# The sharded engine (reader; merger; VoIP stage; 1 flow shard) when the audit has it (--threads 3 and more).
if "$ta" audit --help 2>/dev/null | tr -s ' \n' '  ' | grep -q -- 'share out the flows'; then threads_runs+=("--threads 4"); fi

bulk="$work/bench-$packets-$calls.pcap"
busy="$work/busy-${busy_minutes}m.pcap"
cases=()
if [ "$only" != busy ]; then
  [ -f "$bulk" ] || dotnet "$synth" bench --out "$bulk" --packets "$packets" --calls "$calls" --seed 1 >/dev/null
  cases+=("bulk:$bulk")
fi
if [ "$only" != bulk ]; then
  if [ ! -f "$busy" ] || [ "$synth" -nt "$busy" ]; then dotnet "$synth" busy --out "$busy" --minutes "$busy_minutes" --seed 1 >/dev/null; fi
  cases+=("busy:$busy")
fi

stat_of() { grep -oE "(^| )$1=[-0-9.]+" "$2" | head -1 | cut -d= -f2; }
echo "benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
for c in "${cases[@]}"; do
  name=${c%%:*} cap=${c#*:}
  echo "$name: $cap ($(( $(stat -c %s "$cap") / 1048576 )) MiB)"
  echo "  $(bash tools/page-cache.sh "$cap" "$page_cache")"
  for th in "${threads_runs[@]}"; do
    best=""
    for run in $(seq 1 "$runs"); do
      rm -rf "$work/out"
      # shellcheck disable=SC2086
      /usr/bin/time -f "wall=%e user=%U sys=%S peak_rss_kb=%M" -o "$work/time.txt" "$ta" audit "$cap" --out "$work/out" --quiet --fail-on never --stats $th 2> "$work/stats.txt"
      wall=$(stat_of wall "$work/time.txt"); user=$(stat_of user "$work/time.txt"); sys=$(stat_of sys "$work/time.txt")
      rss=$(( $(stat_of peak_rss_kb "$work/time.txt") / 1024 ))
      n=$(stat_of frames "$work/stats.txt"); loop=$(stat_of loop_mpps "$work/stats.txt"); alloc=$(stat_of alloc_per_packet "$work/stats.txt")
      printf '  %-12s run %d: whole process %6.3f s, %5.2f M packets/s, loop %5.2f M packets/s, CPU %5.2f s, %6.1f B/packet, peak %d MB\n' \
        "${th:-default}" "$run" "$wall" "$(awk -v n="$n" -v w="$wall" 'BEGIN { print n / w / 1e6 }')" "$loop" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$alloc" "$rss"
      if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$wall; fi
    done
    eval "best_${name}_$( [ -n "$th" ] && echo "t${th##* }" || echo default )=$best"
  done
  if [ $tshark = 1 ]; then
    /usr/bin/time -f "wall=%e peak_rss_kb=%M" -o "$work/tshark-time.txt" tshark -n -q -o rtp.heuristic_rtp:TRUE -z rtp,streams -r "$cap" > "$work/tshark-$name.txt" 2>/dev/null || true
    tw=$(stat_of wall "$work/tshark-time.txt"); trss=$(( $(stat_of peak_rss_kb "$work/tshark-time.txt") / 1024 ))
    best=$(eval echo "\$best_${name}_default")
    printf '  tshark -z rtp,streams: %.2f s, peak %d MB; trafficaudit (best of %d) %.3f s: %.1fx tshark\n' "$tw" "$trss" "$runs" "$best" \
      "$(awk -v t="$tw" -v b="$best" 'BEGIN { print t / b }')"
  fi
done
