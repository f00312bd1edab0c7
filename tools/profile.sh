#!/usr/bin/env bash
# Where the CPU goes in `trafficaudit audit CAPTURE`: samples the whole process with perf and prints the
# top frames by self time, plus the share per binary.
# Usage: tools/profile.sh [--by-thread] CAPTURE [TOP] [-- more audit options]   (default TOP 40)
#   e.g. tools/profile.sh /tmp/trafficaudit-bench/bench-6000000-200.pcap
#        tools/profile.sh --by-thread /tmp/trafficaudit-bench/bench-2000000-200.pcap 8 -- --threads 4
# Not a test: run it by hand while working on the hot path.
#
# It profiles the executable as it ships (tools/publish.sh: Native AOT): perf names its frames from
# the symbols the executable carries (TrafficAudit_Core_TrafficAudit_Flows_FlowTable__Track is
# FlowTable.Track in TrafficAudit.Core), and what it measures is the code users run, with no JIT
# compiling at start. (The ReadyToRun form shipped before could not be named by perf: its frames
# showed as offsets into the composite image.)
# Default: taskset -c 1, one core, so the VoIP stage runs inline on the engine's thread (as with
# --threads 1) and its frames add up with the rest of the per-packet path.
# --by-thread: every core the process may use, and each thread's share of all samples (threads by
# name: trafficaudit = the reader, and the merger's work when there are no shards; trafficaudit-vo = the
# VoIP stage; trafficaudit-me = the merger of the sharded engine; trafficaudit-sh = the flow shards
# together; trafficaudit re = the record log's writer), then each thread's top frames. The longest
# thread bounds the wall time however many cores there are.
set -euo pipefail
cd "$(dirname "$0")/.."
by_thread=0
if [ "${1:-}" = --by-thread ]; then by_thread=1; shift; fi
cap=${1:?usage: tools/profile.sh [--by-thread] CAPTURE [TOP] [-- audit options]}
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
pin=(taskset -c 1)
[ $by_thread = 1 ] && pin=()
"${pin[@]}" perf record -q -F 4000 -g -o "$work/perf.data" \
  "$bin" audit "$cap" --out "$work/out" --quiet --fail-on never --stats "$@" 2>&1 | grep '^stats:' || true
frames() { # [perf report options]: the top frames by self time
  perf report -i "$work/perf.data" --no-children "$@" --sort symbol -g none --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | head -n "$top" | sed -E 's/\s+-\s+-\s*$//' || true
}
if [ $by_thread = 1 ]; then
  echo "--- share of all samples per thread"
  threads=$(perf report -i "$work/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' || true)
  echo "$threads"
  echo "$threads" | awk '{ $1 = ""; sub(/^ /, ""); print }' | while IFS= read -r name; do
    echo "--- $name: top $top frames (% of all samples)"
    frames --comm "$name"
  done
  exit 0
fi
echo "--- share of samples per binary"
perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -8 || true
echo "--- top $top frames by self time (% of all samples)"
frames
