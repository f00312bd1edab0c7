#!/usr/bin/env bash
# Builds the deployable trafficaudit for linux-x64.
# Usage: tools/publish.sh [OUTPUT_DIR] [--r2r] [--avx2]   (default artifacts/trafficaudit-linux-x64)
#
# Default: a native executable compiled ahead of time (.NET Native AOT): one 9 MB file with the
# runtime inside, nothing JIT-compiled when it runs, so the process starts in milliseconds and no
# second thread re-compiles hot methods while it works (README "Speed" has the figures against the
# ReadyToRun form). Native AOT links with clang: installed here with apt-get when missing (as
# root); without it the script builds the ReadyToRun form instead and says so.
#
# --r2r: the earlier shipped form, self-contained and ReadyToRun-compiled as one composite image with
# the .NET libraries (about 95 MB); its code is JIT-compiled again when hot, so it starts slower.
#
# --avx2: code for x86-64-v3 (AVX2, BMI, FMA) instead of the default x86-64-v2, which every x86-64
# machine of the last fifteen years runs, virtual machines whose hypervisor hides AVX2 included. On
# a CPU without AVX2 the native executable refuses to start; the ReadyToRun image falls back to
# JIT-compiling everything (seconds of start). The shipped form is the portable one.
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/trafficaudit-linux-x64 avx2=0 form=aot
for arg in "$@"; do
  case "$arg" in
    --avx2) avx2=1 ;;
    --portable) avx2=0 ;;
    --r2r) form=r2r ;;
    --aot) form=aot ;;
    -*) echo "publish: unknown option '$arg' (--r2r, --avx2)" >&2; exit 2 ;;
    *) out=$arg ;;
  esac
done

if [ "$form" = aot ] && ! command -v clang >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev) >/dev/null 2>&1 || true
  fi
  if ! command -v clang >/dev/null 2>&1; then
    echo "publish: clang is missing (Native AOT links with it): building the ReadyToRun form instead" >&2
    form=r2r
  fi
fi

extra=()
if [ "$form" = aot ]; then
  [ "$avx2" = 1 ] && extra=("-p:IlcInstructionSet=x86-64-v3")
  dotnet publish src/TrafficAudit.Cli -c Release -r linux-x64 -p:PublishAot=true "${extra[@]}" -nologo -v q -o "$out"
else
  [ "$avx2" = 1 ] && extra=("-p:PublishReadyToRunCrossgen2ExtraArgs=--instruction-set:x86-64-v3")
  dotnet publish src/TrafficAudit.Cli -c Release -r linux-x64 --self-contained true \
    -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true "${extra[@]}" -nologo -v q -o "$out"
fi
echo "$out/trafficaudit"
