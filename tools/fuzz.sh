#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with AFL++ and SharpFuzz (see README, "Fuzzing").
# Usage: tools/fuzz.sh TARGET SECONDS      targets: tools/fuzz.sh --list
# Installs what it needs (idempotent): Debian's afl++ (as root) and the sharpfuzz .NET tool; publishes
# tools/TrafficAudit.Fuzz, instruments TrafficAudit.Core.dll, writes the seed corpus, runs afl-fuzz for
# SECONDS at nice 19, then prints executions, packets fed, crashes and hangs, and copies every crashing
# or hanging input to artifacts/fuzz/TARGET/found/. A crash found belongs, once fixed, in
# tests/TrafficAudit.Tests/Regression/TARGET/ named after what it broke.
# Environment: FUZZ_TIMEOUT_MS (per input, default 2000), FUZZ_HEAP_MB (managed heap cap, default 512),
# FUZZ_NO_REBUILD=1 keeps the instrumented build even when sources changed,
# FUZZ_RESUME=1 continues the previous run of TARGET from its queue instead of the seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$root/artifacts/fuzz
tools_dir=${XDG_CACHE_HOME:-$HOME/.cache}/trafficaudit-fuzz/tools
sharpfuzz_version=2.3.0

if [ "${1:-}" = "--list" ]; then
  dotnet run --project tools/TrafficAudit.Fuzz -c Release -v q -- --list
  exit 0
fi
if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
  echo "usage: tools/fuzz.sh TARGET SECONDS   (tools/fuzz.sh --list for the targets)" >&2
  exit 2
fi
target=$1 seconds=$2

# 1. What it needs.
if ! command -v afl-fuzz >/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "afl-fuzz is missing: run as root, or apt-get install afl++" >&2; exit 3; fi
  echo "installing afl++"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++) >/dev/null
fi
if [ ! -x "$tools_dir/sharpfuzz" ]; then
  echo "installing the sharpfuzz tool $sharpfuzz_version into $tools_dir"
  dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tools_dir" >/dev/null
fi

# 2. Build, seeds, instrumentation (the harness and SharpFuzz itself stay uninstrumented).
bin=$work/bin
mkdir -p "$work"
if [ ! -f "$bin/.instrumented" ] || { [ "${FUZZ_NO_REBUILD:-0}" != 1 ] && [ -n "$(find src/TrafficAudit.Core tools/TrafficAudit.Fuzz -newer "$bin/.instrumented" \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' \) -print -quit)" ]; }; then
  rm -rf "$bin"
  nice -n 19 dotnet publish tools/TrafficAudit.Fuzz -c Release -o "$bin" -nologo -v q
  rm -rf "$work/seeds"
  dotnet "$bin/trafficaudit-fuzz.dll" seeds "$work/seeds"
  "$tools_dir/sharpfuzz" "$bin/TrafficAudit.Core.dll"
  touch "$bin/.instrumented"
fi
if [ ! -d "$work/seeds/$target" ]; then
  echo "unknown target '$target'; targets: $(ls "$work/seeds" | tr '\n' ' ')" >&2
  exit 2
fi

# 3. The run. SharpFuzz speaks AFL's fork server protocol itself. AFL_MAP_SIZE is the size afl-fuzz
# probes with first: with a smaller one it restarts the target after the probe, and SharpFuzz's fork
# server does not survive that restart. No CPU binding on a shared machine, no core_pattern change;
# the managed heap cap turns a memory blow-up into a crash. Inputs are not trimmed: the harness's cost
# per input (engine set-up, classification) is fixed, so whole stretches of capture are worth keeping.
out=$work/$target
stats=$out/harness-stats
input=$work/seeds/$target
execs_before=0
if [ "${FUZZ_RESUME:-0}" = 1 ] && [ -d "$out/afl/default/queue" ]; then
  # afl-fuzz carries its counters over on resume: count only this run's executions and packets.
  input=-
  execs_before=$(awk -F' *: *' '$1=="execs_done" {print $2}' "$out/afl/default/fuzzer_stats" 2>/dev/null || echo 0)
  rm -rf "$stats"
else
  rm -rf "$out"
fi
mkdir -p "$out" "$stats"
heap_mb=${FUZZ_HEAP_MB:-512}
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
  AFL_QUIET=1 AFL_DISABLE_TRIM=1 AFL_MAP_SIZE=4194304 DOTNET_GCHeapHardLimit=$(printf '0x%x' $((heap_mb * 1024 * 1024))) \
  DOTNET_TieredPGO=0 TRAFFICAUDIT_FUZZ_STATS=$stats
echo "fuzzing $target for ${seconds}s (seeds: $(ls "$work/seeds/$target" | wc -l) files, timeout ${FUZZ_TIMEOUT_MS:-2000} ms, heap cap ${heap_mb} MB)"
nice -n 19 afl-fuzz -i "$input" -o "$out/afl" -t "${FUZZ_TIMEOUT_MS:-2000}" -m none -V "$seconds" \
  -- dotnet "$bin/trafficaudit-fuzz.dll" "$target" > "$out/afl.log" 2>&1 || { tail -30 "$out/afl.log"; exit 1; }

# 4. Figures and findings.
s=$out/afl/default/fuzzer_stats
get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$s"; }
execs=$(( $(get execs_done) - ${execs_before:-0} ))
crashes=$(get saved_crashes); crashes=${crashes:-$(get unique_crashes)}
hangs=$(get saved_hangs); hangs=${hangs:-$(get unique_hangs)}
read -r inputs packets < <(cat "$stats"/* 2>/dev/null | awk '{i+=$1; p+=$2} END {print i+0, p+0}')
mkdir -p "$out/found"
for kind in crashes hangs; do
  for f in "$out/afl/default/$kind"/id:*; do [ -e "$f" ] && cp "$f" "$out/found/$kind-$(basename "$f" | tr ':,' '__')"; done
done
paths=$(get corpus_count); paths=${paths:-$(get paths_total)}
line="$target seconds=$seconds execs=$execs inputs_counted=$inputs packets=$packets corpus=$paths crashes=$crashes hangs=$hangs"
echo "$line"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $line" >> "$work/campaign.log"
if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
  echo "inputs that crashed or hung: $out/found/ (replay: dotnet $bin/trafficaudit-fuzz.dll $target FILE)"
  exit 1
fi
