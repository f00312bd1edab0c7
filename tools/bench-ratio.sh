#!/usr/bin/env bash
# What the second thread buys: one build run alternately with `--threads 1` and with the default on one capture,
# RUNS times each, and the medians of loop_s (--stats: the read/decode/flow/analysis loop) and their ratio (issue
# 12's target: the default at least 1.8x `--threads 1` on the loop); then the median of the ratios round by round
# and the ratio of the best runs.
# The third line gives the default runs' medians of hold_s, voip_sleep_s and voip_sleep_hold_s (--stats): how long the
# flows were held for node detection and how long the second thread slept, in all and during the hold.
# Usage: tools/bench-ratio.sh [--runs N] BUILD CAPTURE [audit options]
#   e.g. tools/bench-ratio.sh --runs 9 /tmp/trafficaudit-bench/bin/trafficaudit /tmp/trafficaudit-bench/busy-60m.pcap \
#          --profile /tmp/trafficaudit-bench/busy-60m.profile.json
# Put the capture in a known page-cache state first (tools/page-cache.sh CAPTURE). Not a test: run it by hand,
# in the bench lock on a shared machine (flock -x /tmp/ta-bench.lock tools/bench-ratio.sh ...).
set -euo pipefail
runs=9
if [ "${1:-}" = --runs ]; then runs=$2; shift 2; fi
bin=${1:?usage: tools/bench-ratio.sh [--runs N] BUILD CAPTURE [audit options]}
cap=${2:?capture}
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
done
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
