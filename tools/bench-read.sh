#!/usr/bin/env bash
# The kernel's side of reading a capture from the page cache, apart from the audit (tools/read-cost.c): RUNS times
# each, 1 MiB read(2) calls and one 2 MiB-aligned mmap, touching every cache line; seconds and minor page faults.
# With --drop the capture is first dropped from the cache and read back (tools/page-cache.sh: cached as a read
# from disk leaves it); without it the cache stays as it is.
# Usage: tools/bench-read.sh [--drop] [--runs N] CAPTURE
# Needs a C compiler (installed with apt-get as root when missing). Not a test: README "Speed", Round 9.
set -euo pipefail
cd "$(dirname "$0")/.."
drop=0 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --drop) drop=1 ;;
    --runs) runs=$2; shift ;;
    *) break ;;
  esac
  shift
done
cap=${1:?usage: tools/bench-read.sh [--drop] [--runs N] CAPTURE}
if ! command -v cc >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev) >/dev/null
fi
command -v cc >/dev/null || { echo "bench-read: needs a C compiler (apt-get install gcc)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/read-cost" tools/read-cost.c
if [ $drop = 1 ]; then bash tools/page-cache.sh "$cap" disk; else bash tools/page-cache.sh "$cap" as-is; fi
grep -E '^FileHugePages' /proc/meminfo || true
for _ in $(seq "$runs"); do
  "$work/read-cost" "$cap" read
  "$work/read-cost" "$cap" mmap
done
