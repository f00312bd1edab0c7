#!/usr/bin/env bash
# Builds the deployable trafficaudit: self-contained for linux-x64, ReadyToRun-compiled as one
# composite image with the .NET libraries (fastest start and steady state; about 95 MB).
# Usage: tools/publish.sh [OUTPUT_DIR] [--avx2]   (default artifacts/trafficaudit-linux-x64)
#
# By default the image's code targets the runtime's default (x86-64-v2), which every x86-64 machine
# of the last fifteen years runs, virtual machines whose hypervisor hides AVX2 included. --avx2
# targets x86-64-v3 (AVX2, BMI, FMA): the .NET libraries' vector paths are then precompiled too,
# instead of JIT-compiled when first run (a 4-packet audit JIT-compiled 161 methods at start, 122 with
# it; its CPU time fell by about a tenth, README "Speed"); but on a CPU without AVX2 the runtime refuses
# that code and JIT-compiles everything: the outputs are the same, the start takes seconds (simulated
# with DOTNET_EnableAVX2=0: 4,399 methods, 1.2 s for the 4-packet audit). The shipped form is the
# portable one: a slow start on a customer's VM costs more than 10 ms saved on a fast one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/trafficaudit-linux-x64 isa=
for arg in "$@"; do
  case "$arg" in
    --avx2) isa=x86-64-v3 ;;
    --portable) isa="" ;;
    -*) echo "publish: unknown option '$arg' (--avx2)" >&2; exit 2 ;;
    *) out=$arg ;;
  esac
done
extra=()
[ -n "$isa" ] && extra=("-p:PublishReadyToRunCrossgen2ExtraArgs=--instruction-set:$isa")
dotnet publish src/TrafficAudit.Cli -c Release -r linux-x64 --self-contained true \
  -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true "${extra[@]}" -nologo -v q -o "$out"
echo "$out/trafficaudit"
