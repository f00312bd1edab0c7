#!/usr/bin/env bash
# What the second thread buys: one build run alternately with `--threads 1` and with the default on one capture,
# RUNS times each, and the medians of loop_s (--stats: the read/decode/flow/analysis loop) and their ratio (issue
# 12's target: the default at least 1.8x `--threads 1` on the loop); then the median of the ratios round by round
# and the ratio of the best runs.
# The third line gives the default runs' medians of hold_s, voip_sleep_s and voip_sleep_hold_s (--stats): how long the
# flows were held for node detection and how long the second thread slept, in all and during the hold.
# The last line is the machine's own ceiling in the same minutes: each round also runs two `--threads 1` audits at
# once, and twice their loop against one alone (the median round's) is what two cores give two independent copies of
# the same work. This VM's second core is not always a whole core (its slow state: the pair's loops 15-25 % longer
# than one alone); a ratio is only read against the target when this ceiling is near 2x. --no-ceiling skips it.
# With a C compiler each round also measures how far apart the two cores are (tools/core-latency.c: the one-way
# latency of a cache line between cores 0 and 1); the machine line gives its median and range over the set.
# --rounds FILE appends each round's loop seconds, `--threads 1` then the default, and that round's latency in ns (empty
# without a compiler): this VM changes state within a set, and its rounds can then be sorted by it.
# Usage: tools/bench-ratio.sh [--runs N] [--no-ceiling] [--rounds FILE] BUILD CAPTURE [audit options]
#   e.g. tools/bench-ratio.sh --runs 9 /tmp/trafficaudit-bench/bin/trafficaudit /tmp/trafficaudit-bench/busy-60m.pcap \
#          --profile /tmp/trafficaudit-bench/busy-60m.profile.json
# Put the capture in a known page-cache state first (tools/page-cache.sh CAPTURE). Not a test: run it by hand,
# in the bench lock on a shared machine (flock -x /tmp/ta-bench.lock tools/bench-ratio.sh ...).
set -euo pipefail
runs=9 ceiling=1 rounds=""
while :; do
  case "${1:-}" in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-ceiling) ceiling=0; shift ;;
    *) break ;;
  esac
done
bin=${1:?usage: tools/bench-ratio.sh [--runs N] [--no-ceiling] [--rounds FILE] BUILD CAPTURE [audit options]}
cap=${2:?capture}
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
latency=""
if [ $ceiling = 1 ] && command -v cc >/dev/null && cc -O2 -pthread -o "$work/core-latency" "$(dirname "$0")/core-latency.c" 2>/dev/null; then
  latency="$work/core-latency"
fi
for _ in $(seq "$runs"); do
  for th in "--threads 1" "default"; do
    opt=()
    [ "$th" != default ] && opt=(--threads 1)
    rm -rf "$work/out"
    # The exit code says the verdict (1 when a finding fails the audit): not a failure of the run.
    out=$("$bin" audit "$cap" --out "$work/out" --quiet --stats "${opt[@]}" "$@" 2>&1 >/dev/null) || true
    loop=$(grep -o " loop_s=[0-9.]*" <<< "$out" | cut -d= -f2)
    [ -n "$loop" ] || { echo "bench-ratio: no loop_s from the audit: $out" >&2; exit 1; }
    echo "$th $loop" >> "$work/runs"
    # Where the default run's second thread had nothing to do: the hold of node detection, and its sleep in and out of it.
    if [ "$th" = default ]; then
      echo "$(grep -o " hold_s=[0-9.]*" <<< "$out" | cut -d= -f2) $(grep -o " voip_sleep_s=[0-9.]*" <<< "$out" | cut -d= -f2) $(grep -o " voip_sleep_hold_s=[0-9.]*" <<< "$out" | cut -d= -f2)" >> "$work/idle"
    fi
  done
  if [ $ceiling = 1 ]; then
    # Two independent `--threads 1` audits at once: their loops against the one alone just before.
    rm -rf "$work/out-a" "$work/out-b"
    ("$bin" audit "$cap" --out "$work/out-a" --quiet --stats --threads 1 "$@" 2>&1 >/dev/null || true) > "$work/pair-a" &
    ("$bin" audit "$cap" --out "$work/out-b" --quiet --stats --threads 1 "$@" 2>&1 >/dev/null || true) > "$work/pair-b"
    wait
    a=$(grep -o " loop_s=[0-9.]*" "$work/pair-a" | cut -d= -f2); b=$(grep -o " loop_s=[0-9.]*" "$work/pair-b" | cut -d= -f2)
    [ -n "$a" ] && [ -n "$b" ] || { echo "bench-ratio: no loop_s from the pair of audits" >&2; exit 1; }
    [ -n "$latency" ] && "$latency" | grep -o "one_way_ns=[0-9]*" | cut -d= -f2 >> "$work/latency"
    alone=$(grep "^--threads " "$work/runs" | tail -1 | awk '{ print $NF }')
    echo "$alone $a $b" | awk '{ printf "%.4f %.4f\n", 2 * $1 / ($2 > $3 ? $2 : $3), ($2 + $3) / 2 }' >> "$work/pairs"
  fi
done
if [ -n "$rounds" ]; then
  paste -d' ' <(grep "^--threads " "$work/runs" | awk '{ print $NF }') <(grep "^default " "$work/runs" | awk '{ print $NF }') \
    <(if [ -s "$work/latency" ]; then cat "$work/latency"; else yes "" | head -n "$runs"; fi) >> "$rounds"
fi
# Median, and range, of one setting's loop seconds.
stats() { grep "^$1 " "$work/runs" | awk '{ print $NF }' | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f %d\n", m, v[1], v[NR], NR }'; }
read -r t tlo thi n <<< "$(stats --threads)"
read -r d dlo dhi _ <<< "$(stats default)"
awk -v t="$t" -v d="$d" -v n="$n" -v tlo="$tlo" -v thi="$thi" -v dlo="$dlo" -v dhi="$dhi" 'BEGIN {
  printf "loop, medians of %d runs each: --threads 1 %.3f s (%.3f-%.3f), default %.3f s (%.3f-%.3f): %.2fx\n", n, t, tlo, thi, d, dlo, dhi, t / d }'
# The VM's slow minutes hit single runs: the ratio of each round's two runs (one after the other), its median, and
# the ratio of the best runs, say the same thing more steadily than the ratio of the medians when they differ.
paste <(grep "^--threads " "$work/runs" | awk '{ print $NF }') <(grep "^default " "$work/runs" | awk '{ print $NF }') |
  awk '{ printf "%.4f\n", $1 / $2 }' | sort -n | awk -v tlo="$tlo" -v dlo="$dlo" '{ r[NR] = $1 } END {
  m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
  printf "loop ratio per round: median %.2fx (%.2f-%.2fx); best runs %.3f / %.3f s: %.2fx\n", m, r[1], r[NR], tlo, dlo, tlo / dlo }'
# The default runs' hold (hold_s) and the VoIP stage's sleep over the loop (voip_sleep_s), and during the hold
# (voip_sleep_hold_s): medians (a build before these counters prints none).
if grep -q '^[0-9]' "$work/idle" 2>/dev/null; then
  med() { awk -v c="$1" '{ print $c }' "$work/idle" | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  echo "default, medians: hold_s $(med 1) s, VoIP stage asleep $(med 2) s of the loop, $(med 3) s of it during the hold"
fi
# The machine's ceiling: two cores' worth of two independent copies, round by round (the slower of the pair counts).
if [ $ceiling = 1 ]; then
  sort -n "$work/pairs" | awk -v t="$t" -v d="$d" '{ c[NR] = $1; l[NR] = $2 } END {
    m = NR % 2 ? c[(NR + 1) / 2] : (c[NR / 2] + c[NR / 2 + 1]) / 2
    printf "machine: two --threads 1 audits at once, 2 x alone / the slower: median %.2fx (%.2f-%.2fx); the ratio %.2fx is %.0f %% of it\n", m, c[1], c[NR], t / d, 100 * t / d / m }'
  if [ -s "$work/latency" ]; then
    sort -n "$work/latency" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "machine: cores 0 and 1 one-way %d ns, median of %d rounds (%d-%d ns)\n", m, NR, v[1], v[NR] }'
  fi
fi
