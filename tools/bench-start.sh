#!/usr/bin/env bash
# The whole process's cost around the packet loop (issue 12): runs `trafficaudit audit CAPTURE --quiet --stats`
# RUNS times per build, the builds alternating run by run (so a change in the machine's load hits both
# alike), and prints per build the best and median wall-clock and CPU (user + system) seconds of the whole
# process, and the median of each phase --stats prints: runtime_s (process start to Main), parse_s,
# catalogue_s, setup_s, engine_s, open_s (to the first packet), complete_s, outputs_s (after the last),
# before_loop_s and after_loop_s.
# Usage: tools/bench-start.sh [--runs N] [--capture FILE] [--cpu CORE] BUILD [BUILD...]
#   BUILD: a folder holding a published trafficaudit (tools/publish.sh DIR), or the trafficaudit file.
#   Default capture: the first 4 packets of captures/imagicle-site.pcap (written to the work folder);
#   default 20 runs, pinned with taskset to core 1 (--cpu none: not pinned).
# Not a test: run it by hand (the machine's load shows in the seconds) and put the figures in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20 cap="" cpu=1 builds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --capture) cap=$2; shift ;;
    --cpu) cpu=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "bench-start: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) builds+=("$1") ;;
  esac
  shift
done
[ ${#builds[@]} -gt 0 ] || { echo "bench-start: name at least one build (see --help)" >&2; exit 2; }
work=${BENCH_DIR:-/tmp/trafficaudit-bench-start}
mkdir -p "$work"
if [ -z "$cap" ]; then
  # A classic pcap: the 24-byte file header, then per packet a 16-byte record header whose bytes 8-11 are
  # the captured length (little-endian in this file), then the bytes.
  src=captures/imagicle-site.pcap cap=$work/tiny-4.pcap off=24
  for _ in 1 2 3 4; do
    len=$(od -An -tu4 -j $((off + 8)) -N4 "$src" | tr -d ' ')
    off=$((off + 16 + len))
  done
  head -c "$off" "$src" > "$cap"
fi
cat "$cap" > /dev/null
pin=()
[ "$cpu" != none ] && pin=(taskset -c "$cpu")
phases="runtime_s parse_s catalogue_s setup_s engine_s open_s complete_s outputs_s before_loop_s after_loop_s"
echo "bench-start: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs per build, ${pin[*]:-not pinned}, $cap ($(stat -c %s "$cap") bytes)"
for i in "${!builds[@]}"; do
  b=${builds[$i]}
  [ -d "$b" ] && b=$b/trafficaudit
  [ -x "$b" ] || { echo "bench-start: $b is not an executable trafficaudit" >&2; exit 2; }
  builds[$i]=$b
  : > "$work/runs-$i.txt"
done
# Children's CPU seconds so far, from the shell's `times` (user and system of every child waited for).
# `times` runs in this shell (not in a $(...) subshell, whose children are its own).
child_cpu() { times > "$work/times.txt"; tail -1 "$work/times.txt" | awk '{ split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }'; }
for run in $(seq 1 "$runs"); do
  for i in "${!builds[@]}"; do
    rm -rf "$work/out"
    child_cpu > "$work/c0.txt"; t0=$(date +%s%N)
    "${pin[@]}" "${builds[$i]}" audit "$cap" --out "$work/out" --quiet --fail-on never --stats 2> "$work/stats.txt" > /dev/null
    t1=$(date +%s%N); child_cpu > "$work/c1.txt"; c0=$(cat "$work/c0.txt"); c1=$(cat "$work/c1.txt")
    line=$(grep '^stats:' "$work/stats.txt") || { echo "bench-start: ${builds[$i]} printed no stats:" >&2; cat "$work/stats.txt" >&2; exit 1; }
    echo "wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }') $line" >> "$work/runs-$i.txt"
  done
done
for i in "${!builds[@]}"; do
  echo "${builds[$i]}:"
  for k in wall_s cpu_s $phases; do
    { grep -oE "(^| )$k=[-0-9.]+" "$work/runs-$i.txt" || true; } | cut -d= -f2 | sort -g | awk -v k="$k" '
      { v[NR] = $1 } END { if (NR == 0) { printf "  %-14s (not printed by this build)\n", k; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "  %-14s best %.3f  median %.3f  worst %.3f\n", k, v[1], m, v[NR] }'
  done
done
