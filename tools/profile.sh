#!/usr/bin/env bash
# Where the CPU goes in `trafficaudit audit CAPTURE`: samples the whole process with perf on one core
# and prints the top managed and native frames by self time, plus the share per binary.
# Usage: tools/profile.sh CAPTURE [TOP] [-- more audit options]   (default TOP 40)
#   e.g. tools/profile.sh /tmp/trafficaudit-bench/bench-6000000-200.pcap
# Not a test: run it by hand while working on the hot path.
#
# What works here (perf 6.x, .NET 10, found on 2026-11-30):
# - The shipped build (tools/publish.sh) is one composite ReadyToRun image: perf cannot name its
#   frames (they show as hex offsets into the image). So this script profiles a framework-dependent
#   Release build (dotnet build -c Release), JIT-compiled.
# - DOTNET_PerfMapEnabled=3 makes the runtime write /tmp/perf-PID.map (1 would also write a jitdump,
#   which perf inject --jit could not use here), which perf report reads to name
#   JIT-compiled frames.
# - DOTNET_EnableWriteXorExecute=0 is needed too: with W^X on (the default) the code runs from a
#   second mapping ("memfd:doublemapper") whose addresses the map does not list, and every managed
#   frame shows as a hex address.
# - DOTNET_TieredCompilation=0 compiles every method fully optimised at its first call, close to
#   what the ReadyToRun image runs (no tier-0 code, no on-stack replacement in the profile). The JIT
#   then costs about 0.3 s of start-up (libclrjit.so in the per-binary table): use a large capture
#   (bench.sh 6000000) so the per-packet frames dominate; the percentages below are of all samples.
# - taskset -c 1: one core, so the VoIP stage runs inline on the engine's thread (as with
#   Environment.ProcessorCount = 1) and its frames add up with the rest of the per-packet path.
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
dotnet build src/TrafficAudit.Cli -c Release -nologo -v q 2>&1 | grep -E " error |rror\(s\)" | grep -v " 0 Error" || true
bin=src/TrafficAudit.Cli/bin/Release/net10.0/trafficaudit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$cap" > /dev/null # warm the page cache
# The process id names its perf map; the map is removed at the end.
DOTNET_PerfMapEnabled=3 DOTNET_EnableWriteXorExecute=0 DOTNET_TieredCompilation=0 \
  taskset -c 1 perf record -q -F 4000 -g -o "$work/perf.data" \
  bash -c 'echo $$ > "$0"; exec "$@"' "$work/pid" "$bin" audit "$cap" --out "$work/out" --quiet --stats "$@" 2>&1 | grep '^stats:' || true
trap 'rm -rf "$work" "/tmp/perf-$(cat "$work/pid" 2>/dev/null).map"' EXIT
echo "--- share of samples per binary ([JIT] = managed code; libclrjit = compiling it at start)"
perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -8
echo "--- top $top frames by self time (% of all samples)"
# Managed frames read "instance void [Assembly] Namespace.Type::Method(args)[Optimized]": keep Type::Method.
perf report -i "$work/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null \
  | grep -E '^ +[0-9.]+%' | head -n "$top" \
  | perl -ne 'chomp; s/\[\.\] .*?\[[^\]]+\] ([\w.`+\[\],]+::[^(\s]+)\(.*$/$1/; s/\s+-\s+-\s*$//; print "$_\n"'
