#!/usr/bin/env bash
# Puts a capture in the page cache in a known state before it is timed, and prints how fast read(2) of 1 MiB
# then takes it from there.
# Usage: tools/page-cache.sh CAPTURE [disk|as-is]
#   disk     (default) the file's cached pages are dropped (after fsync) and the file is read back once, so it
#            is cached as a capture read from disk is. On this machine's kernel (6.18, ext4) the readahead
#            then caches it in large folios (up to 2 MiB), where the kernel's side of read(2) is cheapest.
#   as-is    the file is read once and whatever is cached stays as it is. The bulk capture, cached for 15
#            hours on this machine while other large captures came and went, was in small pages (dropping and
#            reading it back added 436 MB of large folios); in that state the audit took 0.04-0.06 s more
#            CPU (README "Speed", "The page cache's part").
# The audit reads the file the same way in both; what differs is the kernel's work per byte read.
set -euo pipefail
cap=${1:?usage: tools/page-cache.sh CAPTURE [disk|as-is]}
mode=${2:-disk}
case "$mode" in
  disk)
    sync "$cap"
    dd if="$cap" iflag=nocache count=0 status=none # posix_fadvise(DONTNEED) on the whole file
    cat "$cap" > /dev/null ;;
  as-is) cat "$cap" > /dev/null ;;
  *) echo "page-cache: unknown state '$mode' (disk or as-is)" >&2; exit 2 ;;
esac
# A second read, timed: both come from the page cache.
started=$(date +%s%N)
dd if="$cap" of=/dev/null bs=1M status=none
ended=$(date +%s%N)
bytes=$(stat -c %s "$cap")
awk -v b="$bytes" -v ns=$((ended - started)) -v m="$mode" -v f="$(basename "$cap")" \
  'BEGIN { printf "page cache: %s %s, read(2) of 1 MiB from the cache at %.1f GB/s\n", f, (m == "disk" ? "dropped and read back (as from disk)" : "as it was"), b / ns }'
