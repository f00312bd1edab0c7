#!/usr/bin/env bash
# Benchmark of `trafficaudit live`: the highest replay rate (packets/s) at which a live audit reports
# zero drops on this machine. Not a test: run it by hand (as root) and put the figure in the closing note.
#
# The bench capture of tools/TrafficAudit.Synth (RTP calls plus mixed traffic) is replayed with
# tcpreplay at increasing --pps into one end (va) of a veth pair inside a network namespace made for
# the run; `trafficaudit live` captures the other end (vb) in the same namespace, so no packet leaves
# it. Each step replays RATE x SECONDS packets; a step passes when the live summary reports 0 kernel
# and 0 interface drops and audited every packet tcpreplay sent.
# Usage: tools/bench-live.sh [SECONDS_PER_STEP] [RATE...]   (default 3 s; 50k..1.5M packets/s, then topspeed)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(50000 100000 150000 200000 300000 400000 500000 700000 1000000 1500000 top)
work=${BENCH_DIR:-/tmp/trafficaudit-bench-live}
ns=tabench$$
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace, capture)"; exit 1; }
for p in libpcap0.8 tcpreplay iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p") >/dev/null
done
mkdir -p "$work"
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
bash tools/publish.sh "$work/bin" >/dev/null   # the shipped form, as tools/bench.sh
packets=3000000
cap="$work/bench-$packets.pcap"
[ -f "$cap" ] || dotnet tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll bench --out "$cap" --packets "$packets" --calls 300 --seed 1
cat "$cap" > /dev/null   # page cache

cleanup() { [ -n "${live_pid:-}" ] && kill "$live_pid" 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add va type veth peer name vb
ip -n "$ns" link set va up
ip -n "$ns" link set vb up

best=0
echo "cpus: $(nproc); capture: $cap; ${seconds} s per step"
printf '%-10s %10s %12s %12s %10s %10s %s\n' rate sent audited achieved_pps kernel iface result
for rate in "${rates[@]}"; do
  if [ "$rate" = top ]; then limit=$packets; speed=(--topspeed); else limit=$((rate * seconds)); speed=(--pps "$rate"); fi
  [ "$limit" -le "$packets" ] || limit=$packets
  rm -rf "$work/out"
  ip netns exec "$ns" "$work/bin/trafficaudit" live -i vb --out "$work/out" --flush 3600 > "$work/live.out" 2> "$work/live.err" &
  live_pid=$!
  for _ in $(seq 100); do grep -q "Ctrl+C to stop" "$work/live.err" && break; sleep 0.1; done
  ip netns exec "$ns" tcpreplay -i va --preload-pcap --limit "$limit" "${speed[@]}" "$cap" > "$work/replay.out" 2>&1
  sleep 1
  kill -TERM "$live_pid"; wait "$live_pid" || true; live_pid=
  sent=$(grep -oE 'Successful packets:\s+[0-9]+' "$work/replay.out" | grep -oE '[0-9]+$')
  achieved=$(grep -oE 'Rated: [0-9.]+ Bps, [0-9.]+ Mbps, [0-9.]+ pps' "$work/replay.out" | grep -oE '[0-9.]+ pps' | grep -oE '^[0-9]+' || echo 0)
  line=$(grep -E '^Capture: ' "$work/live.out" || true)
  audited=$(echo "$line" | grep -oE '^Capture: [0-9,]+' | grep -oE '[0-9,]+' | tr -d ,)
  kernel=$(echo "$line" | grep -oE '[0-9,]+ dropped by the kernel' | grep -oE '^[0-9,]+' | tr -d ,)
  iface=$(echo "$line" | grep -oE '[0-9,]+ by the interface' | grep -oE '^[0-9,]+' | tr -d ,)
  result=drops
  if [ "${kernel:-1}" = 0 ] && [ "${iface:-1}" = 0 ] && [ "${audited:-0}" = "${sent:-x}" ]; then
    result=ok
    [ "$achieved" -gt "$best" ] && best=$achieved
  fi
  printf '%-10s %10s %12s %12s %10s %10s %s\n' "$rate" "${sent:-?}" "${audited:-?}" "$achieved" "${kernel:-?}" "${iface:-?}" "$result"
done
echo "highest zero-drop rate: $best packets/s (as tcpreplay achieved it)"
