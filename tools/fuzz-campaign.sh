#!/usr/bin/env bash
# One fuzz campaign: every target of tools/fuzz.sh in turn, each for its share of the time, then the
# totals (executions, packets fed, crashes, hangs) in one line; exits 1 when any target crashed or hung.
# Usage: tools/fuzz-campaign.sh [SCALE]   (SCALE multiplies every target's seconds; default 1 = 2,150 s)
# The shares favour the targets that feed whole captures (pcap, pcapng, decoder, rtp), where most
# packets go through the most code. Figures go to the README ("Fuzzing"); the log to artifacts/fuzz/campaign.log.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
plan=(pcap:300 decoder:600 pcapng:200 gzip:150 sip:100 sip-tcp:150 sdp:60 rtp:200 dns:45 tls:45 profile:100 catalogue:100)
total_s=0 total_e=0 total_p=0 total_c=0 total_h=0 failed=0
mkdir -p artifacts
printf '| target | seconds | executions | packets fed | crashes | hangs |\n|---|--:|--:|--:|--:|--:|\n' > artifacts/fuzz-campaign.md
first=1
for item in "${plan[@]}"; do
  target=${item%%:*}
  secs=$(awk -v s="${item##*:}" -v k="$scale" 'BEGIN { printf "%d", s * k }')
  # Build and instrument once, at the first target; the campaign then runs one build throughout.
  if [ $first = 1 ]; then line=$(bash tools/fuzz.sh "$target" "$secs" | tail -1) || failed=1; first=0
  else line=$(FUZZ_NO_REBUILD=1 bash tools/fuzz.sh "$target" "$secs" | tail -1) || failed=1; fi
  echo "$line"
  case $line in *execs=*) ;; *) failed=1; continue ;; esac
  e=$(sed -E 's/.*execs=([0-9]+).*/\1/' <<< "$line"); p=$(sed -E 's/.*packets=([0-9]+).*/\1/' <<< "$line")
  c=$(sed -E 's/.*crashes=([0-9]+).*/\1/' <<< "$line"); h=$(sed -E 's/.*hangs=([0-9]+).*/\1/' <<< "$line")
  total_s=$((total_s + secs)) total_e=$((total_e + e)) total_p=$((total_p + p)) total_c=$((total_c + c)) total_h=$((total_h + h))
  printf '| %s | %s | %s | %s | %s | %s |\n' "$target" "$secs" "$e" "$p" "$c" "$h" >> artifacts/fuzz-campaign.md
done
printf '| **all** | %s | %s | %s | %s | %s |\n' "$total_s" "$total_e" "$total_p" "$total_c" "$total_h" >> artifacts/fuzz-campaign.md
echo "campaign $(git rev-parse --short HEAD): seconds=$total_s execs=$total_e packets=$total_p crashes=$total_c hangs=$total_h"
[ $failed = 0 ] && [ $total_c = 0 ] && [ $total_h = 0 ]
