#!/usr/bin/env bash
# Two builds of trafficaudit (or one build under two environments) timed alternately on one capture,
# RUNS times each, and their medians: wall (ms steps), user, system and CPU (user + system) seconds of the whole
# process (/usr/bin/time), loop_s and gc_pause_s of --stats (the read/decode/flow/analysis loop, the collections' pause); then the medians of the
# differences B - A paired by round (wall, loop_s, and loop_s + after_loop_s: a change that only moves work
# after the loop shows there), with how many rounds B was faster.
# Usage: tools/bench-ab.sh [--runs N] [--pin CORE] [--env-a K=V] [--env-b K=V] BUILD_A BUILD_B CAPTURE [audit options]
#   e.g. tools/bench-ab.sh /tmp/base/trafficaudit artifacts/trafficaudit-linux-x64/trafficaudit \
#          /tmp/trafficaudit-bench/bench-2000000-200.pcap --threads 1
#        tools/bench-ab.sh --pin 1 --env-a DOTNET_GCGen0MaxBudget=1000000 B B CAPTURE   (one build, two settings)
# The capture's page-cache state is part of what is timed: put it in a known one first (tools/page-cache.sh CAPTURE).
# On a shared machine wrap it in the bench lock: flock -x /tmp/ta-bench.lock tools/bench-ab.sh ...
set -euo pipefail
runs=7 pin= env_a= env_b=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --pin) pin=$2; shift 2 ;;
    --env-a) env_a=$2; shift 2 ;;
    --env-b) env_b=$2; shift 2 ;;
    *) break ;;
  esac
done
a=${1:?usage: tools/bench-ab.sh [--runs N] [--pin CORE] [--env-a K=V] [--env-b K=V] BUILD_A BUILD_B CAPTURE [audit options]}
b=${2:?build B}
cap=${3:?capture}
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=()
[ -n "$pin" ] && prefix=(taskset -c "$pin")
# The order alternates round by round (A B, then B A), so that whatever favours the first or the second run of a pair
# (the cache the run before left, the host's load rising or falling) is not charged to one build.
for round in $(seq "$runs"); do
  order="A B"
  [ $((round % 2)) = 0 ] && order="B A"
  for which in $order; do
    bin=$a envs=$env_a
    [ $which = B ] && bin=$b envs=$env_b
    rm -rf "$work/out"
    # shellcheck disable=SC2086
    # The exit code says the verdict (1 when a finding fails the audit): not a failure of the run.
    # Wall to the millisecond from the clock around the run (/usr/bin/time's %e has 10 ms steps); user and system from time.
    started=$(date +%s%N)
    out=$(env $envs /usr/bin/time -f "TIME %U %S" "${prefix[@]}" "$bin" audit "$cap" --out "$work/out" --quiet --stats "$@" 2>&1 >/dev/null) || true
    ended=$(date +%s%N)
    loop=$(grep -o " loop_s=[0-9.]*" <<< "$out" | cut -d= -f2)
    after=$(grep -o " after_loop_s=[0-9.]*" <<< "$out" | cut -d= -f2)
    pause=$(grep -o " gc_pause_s=[0-9.]*" <<< "$out" | cut -d= -f2)
    echo "$which $(( (ended - started) / 1000000 )).e-3 $(grep TIME <<< "$out" | cut -d' ' -f2-) $loop ${after:-0} ${pause:-0}" >> "$work/runs"
  done
done
python3 - "$work/runs" <<'EOF'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    p = line.split()
    rows.setdefault(p[0], []).append([float(x) for x in p[1:7]])
for build, v in sorted(rows.items()):
    col = lambda i: [x[i] for x in v]
    cpu = [x[1] + x[2] for x in v]
    print(f"{build}: {len(v)} runs, medians: wall {st.median(col(0)):.3f} s, user {st.median(col(1)):.3f} s, "
          f"sys {st.median(col(2)):.3f} s, cpu {st.median(cpu):.3f} s (min {min(cpu):.2f}, max {max(cpu):.2f}), loop_s {st.median(col(3)):.3f}, "
          f"collections' pause {st.median(col(5)):.4f} s")
# Paired by round (A and B ran one after the other, in alternating order): the VM's slow minutes move both, so the median of the
# differences shows a change the medians of each may hide.
a, b = rows.get("A", []), rows.get("B", [])
n = min(len(a), len(b))
if n:
    def paired(f):
        d = [f(b[i]) - f(a[i]) for i in range(n)]
        return f"{st.median(d):+.4f} s (B faster in {sum(1 for x in d if x < 0)} of {n})"
    print(f"B - A paired by round, medians: wall {paired(lambda x: x[0])}, loop_s {paired(lambda x: x[3])}, "
          f"loop_s + after_loop_s {paired(lambda x: x[3] + x[4])}")
EOF
