#!/usr/bin/env bash
# Where the CPU goes in `trafficaudit audit CAPTURE`: samples the whole process with perf on one core
# and prints the top frames by self time, plus the share per binary.
# Usage: tools/profile.sh CAPTURE [TOP] [-- more audit options]   (default TOP 40)
#   e.g. tools/profile.sh /tmp/trafficaudit-bench/bench-6000000-200.pcap
# Not a test: run it by hand while working on the hot path.
#
# It profiles the executable as it ships (tools/publish.sh: Native AOT): perf names its frames from
# the symbols the executable carries (TrafficAudit_Core_TrafficAudit_Flows_FlowTable__Track is
# FlowTable.Track in TrafficAudit.Core), and what it measures is the code users run, with no JIT
# compiling at start. (The ReadyToRun form shipped before could not be named by perf: its frames
# showed as offsets into the composite image.)
# taskset -c 1: one core, so the VoIP stage runs inline on the engine's thread (as with --threads 1)
# and its frames add up with the rest of the per-packet path.
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:?usage: tools/profile.sh CAPTURE [TOP] [-- audit options]}
shift
top=40
if [ $# -gt 0 ] && [ "$1" != "--" ]; then top=$1; shift; fi
[ "${1:-}" = "--" ] && shift
if [ ! -x /usr/bin/perf ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf) >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$(bash tools/publish.sh "$work/bin" | tail -1)
cat "$cap" > /dev/null # warm the page cache
taskset -c 1 perf record -q -F 4000 -g -o "$work/perf.data" \
  "$bin" audit "$cap" --out "$work/out" --quiet --stats "$@" 2>&1 | grep '^stats:' || true
echo "--- share of samples per binary"
perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -8
echo "--- top $top frames by self time (% of all samples)"
perf report -i "$work/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -n "$top" | sed -E 's/\s+-\s+-\s*$//'
