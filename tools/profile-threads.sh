#!/usr/bin/env bash
# Where the CPU goes per thread in `trafficaudit audit CAPTURE [options]`: samples the whole process with
# perf on every core it may use and prints each thread's share of all samples (threads by name:
# trafficaudit = the reader, and the merger with shards; trafficaudit-vo = the VoIP stage;
# trafficaudit-sh = the flow shards together; trafficaudit re = the record log's writer), then each
# thread's top frames by self time. The longest thread bounds the wall time however many cores there are.
# Usage: tools/profile-threads.sh CAPTURE [TOP] [-- audit options]   (default TOP 12)
#   e.g. tools/profile-threads.sh /tmp/trafficaudit-bench/bench-2000000-200.pcap -- --threads 4
# Not a test: run it by hand. It profiles the executable as it ships (tools/publish.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:?usage: tools/profile-threads.sh CAPTURE [TOP] [-- audit options]}
shift
top=12
if [ $# -gt 0 ] && [ "$1" != "--" ]; then top=$1; shift; fi
[ "${1:-}" = "--" ] && shift
if [ ! -x /usr/bin/perf ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf) >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$(bash tools/publish.sh "$work/bin" | tail -1)
cat "$cap" > /dev/null # warm the page cache
perf record -q -F 4000 -o "$work/perf.data" \
  "$bin" audit "$cap" --out "$work/out" --quiet --fail-on never --stats "$@" 2>&1 | grep '^stats:' || true
echo "--- share of all samples per thread"
perf report -i "$work/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9.]+%'
for comm in $(perf report -i "$work/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | awk '{ $1 = ""; sub(/^ /, ""); print }' | tr ' ' '#'); do
  name=${comm//#/ }
  echo "--- $name: top $top frames (% of all samples)"
  perf report -i "$work/perf.data" --no-children --comm "$name" --sort symbol -g none --stdio 2>/dev/null \
    | grep -E '^ +[0-9.]+%' | head -n "$top" | sed -E 's/\s+-\s+-\s*$//; s/ {2,}/  /g' || true
done
