#!/usr/bin/env bash
# Benchmark of `trafficaudit live` (root; loopback and network namespaces only, nothing leaves the
# machine). Not a test: run it by hand and put the figures in the README and the closing note.
#
# A capture of tools/TrafficAudit.Synth is replayed with tcpreplay into one end (va) of a veth pair
# inside a network namespace made for the run; `trafficaudit live` (the shipped build,
# tools/publish.sh) captures the other end (vb) in the same namespace. Two modes:
#
# Sweep (default): the highest replay rate (packets/s) at which live reports zero drops. Each step
# replays RATE x SECONDS packets; it passes when the live summary reports 0 kernel and 0 interface
# drops and audited every packet tcpreplay sent.
#   tools/bench-live.sh [--traffic bench|busy] [--flush SECONDS|default] [SECONDS_PER_STEP] [RATE...]
#   (default: the bench capture (RTP calls plus mixed traffic, few flows) with --flush 3600, 3 s
#   per step, 50k..1.5M packets/s then topspeed; `--traffic busy` replays the busy site of
#   tools/bench-busy.sh, many short flows, with the default flush unless --flush is given, 30 s
#   per step so that each step holds several flushes, 25k..300k packets/s)
#
# Soak (--soak): the busy site at one rate for a given time (issue 9: 100,000 packets/s for
# several minutes), once per flush setting (default: --flush 1, then the default flush). Reports
# packets sent, received by the filter and audited, kernel and interface drops, the zero-drop
# verdict, the resident memory of the live process sampled every few seconds from
# /proc/PID/status (VmRSS; VmHWM for the peak) with a flatness verdict (the second half of the run
# grows by under 10 %), and the time from SIGTERM to exit (the final outputs).
#   tools/bench-live.sh --soak [--rate 100000] [--seconds 60] [--flushes "1 default"] [--sample 2]
#
# BENCH_DIR (default /tmp/trafficaudit-bench-live) holds the build, the captures and the outputs.
# LIVE_OPTIONS: more options for `trafficaudit live`, e.g. LIVE_OPTIONS="--threads 4" (the sharded engine).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=sweep traffic= flush= rate=100000 seconds=60 flushes="1 default" sample=2
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --soak) mode=soak ;;
    --traffic) traffic=$2; shift ;;
    --flush) flush=$2; shift ;;
    --rate) rate=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --flushes) flushes=$2; shift ;;
    --sample) sample=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "bench-live: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
[ "$mode" = soak ] && traffic=busy
traffic=${traffic:-bench}
case "$traffic" in bench|busy) ;; *) echo "bench-live: --traffic is bench or busy" >&2; exit 2 ;; esac
work=${BENCH_DIR:-/tmp/trafficaudit-bench-live}
ns=tabench$$
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace, capture)"; exit 1; }
for p in libpcap0.8 tcpreplay iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p") >/dev/null
done
mkdir -p "$work"
dotnet build tools/TrafficAudit.Synth -c Release -nologo -v q >/dev/null
synth_dll=tools/TrafficAudit.Synth/bin/Release/net10.0/trafficaudit-synth.dll
bash tools/publish.sh "$work/bin" >/dev/null   # the shipped form, as tools/bench.sh

if [ "$mode" = sweep ] && [ "$traffic" = bench ]; then
  step_seconds=${positional[0]:-3}
  rates=("${positional[@]:1}")
  [ ${#rates[@]} -gt 0 ] || rates=(50000 100000 150000 200000 300000 400000 500000 700000 1000000 1500000 top)
  packets=3000000
  flush=${flush:-3600}
elif [ "$mode" = sweep ]; then
  # A step must hold several flushes, or it measures a run that never flushed.
  step_seconds=${positional[0]:-30}
  rates=("${positional[@]:1}")
  [ ${#rates[@]} -gt 0 ] || rates=(25000 50000 100000 150000 200000 300000)
  flush=${flush:-default}
  top=$(printf '%s\n' "${rates[@]}" | grep -E '^[0-9]+$' | sort -n | tail -1)
  packets=$(( ${top:-100000} * step_seconds ))
else
  packets=$((rate * seconds))
fi

# The capture: the bench capture, or enough simulated minutes of the busy site (about 18,500
# packets a minute; rounded up to whole hours so that runs share it). Made again when the
# synthesizer was rebuilt since.
if [ "$traffic" = bench ]; then
  cap="$work/bench-$packets.pcap"
  [ -f "$cap" ] && [ ! "$synth_dll" -nt "$cap" ] || dotnet "$synth_dll" bench --out "$cap" --packets "$packets" --calls 300 --seed 1
else
  minutes=$(( (packets / 18000 / 60 + 1) * 60 ))
  cap="$work/busy-${minutes}m.pcap"
  [ -f "$cap" ] && [ ! "$synth_dll" -nt "$cap" ] || dotnet "$synth_dll" busy --out "$cap" --minutes "$minutes" --seed 1
fi
size_mb=$(( $(stat -c %s "$cap") / 1048576 ))
cat "$cap" > /dev/null   # page cache
# tcpreplay loads the capture into memory first when it is small enough, so that reading the file
# never paces the replay.
preload=()
[ "$size_mb" -lt 2048 ] && preload=(--preload-pcap)

cleanup() {
  [ -n "${sampler_pid:-}" ] && kill "$sampler_pid" 2>/dev/null || true
  [ -n "${live_pid:-}" ] && kill "$live_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add va type veth peer name vb
ip -n "$ns" link set va up
ip -n "$ns" link set vb up

# Samples the live process's VmRSS and VmHWM (kB) every $sample s: "epoch_seconds rss_kb hwm_kb" lines.
sample_rss() {
  local pid=$1 file=$2
  : > "$file"
  while [ -r "/proc/$pid/status" ]; do
    awk -v now="$(date +%s.%N)" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r) printf "%.1f %d %d\n", now, r, h }' "/proc/$pid/status" >> "$file" 2>/dev/null || true
    sleep "$sample"
  done
}

# One replay: starts live with the flush setting, replays LIMIT packets (SPEED args), stops live
# with SIGTERM; sets sent, achieved, received, audited, kernel, iface, peak_mb, stop_s, and
# send_start and send_end (epoch seconds of the replay's first and last packet).
replay() {
  local flush_setting=$1 limit=$2; shift 2
  local flush_args=()
  [ "$flush_setting" = default ] || flush_args=(--flush "$flush_setting")
  rm -rf "$work/out"
  ip netns exec "$ns" "$work/bin/trafficaudit" live -i vb --out "$work/out" "${flush_args[@]}" ${LIVE_OPTIONS:-} > "$work/live.out" 2> "$work/live.err" &
  live_pid=$!
  # `ip netns exec` becomes the command (exec, no fork): wait until it has; should it ever fork, follow the child.
  local child
  for _ in $(seq 50); do
    [ "$(cat "/proc/$live_pid/comm" 2>/dev/null)" = trafficaudit ] && break
    child=$(cat "/proc/$live_pid/task/$live_pid/children" 2>/dev/null | awk '{ print $1 }')
    [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = trafficaudit ] && { live_pid=$child; break; }
    sleep 0.1
  done
  sample_rss "$live_pid" "$work/rss.txt" &
  sampler_pid=$!
  for _ in $(seq 300); do grep -q "Ctrl+C to stop" "$work/live.err" && break; sleep 0.1; done
  ip netns exec "$ns" tcpreplay -i va "${preload[@]}" --limit "$limit" "$@" "$cap" > "$work/replay.out" 2>&1
  send_end=$(date +%s.%N)
  # "Actual: N packets (B bytes) sent in S seconds": sending began S seconds before it returned (after the preload).
  send_start=$(awk -v e="$send_end" '/ sent in [0-9.]+ seconds/ { for (i = 1; i <= NF; i++) if ($i == "in") s = $(i + 1) } END { printf "%.1f", e - s }' "$work/replay.out")
  sleep 1
  local t_stop
  t_stop=$(date +%s.%N)
  kill -TERM "$live_pid"
  # wait works only for a child of this shell; a followed grandchild is polled.
  wait "$live_pid" 2>/dev/null || while [ -e "/proc/$live_pid" ]; do sleep 0.2; done
  stop_s=$(awk -v s="$t_stop" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  live_pid=
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=
  sent=$(grep -oE 'Successful packets:\s+[0-9]+' "$work/replay.out" | grep -oE '[0-9]+$' || echo '?')
  achieved=$(grep -oE 'Rated: [0-9.]+ Bps, [0-9.]+ Mbps, [0-9.]+ pps' "$work/replay.out" | grep -oE '[0-9.]+ pps' | grep -oE '^[0-9]+' || echo 0)
  local line
  line=$(grep -E '^Capture: ' "$work/live.out" || true)
  audited=$(echo "$line" | grep -oE '^Capture: [0-9,]+' | grep -oE '[0-9,]+' | tr -d , || true)
  received=$(echo "$line" | grep -oE '[0-9,]+ received by the filter' | grep -oE '^[0-9,]+' | tr -d , || true)
  kernel=$(echo "$line" | grep -oE '[0-9,]+ dropped by the kernel' | grep -oE '^[0-9,]+' | tr -d , || true)
  iface=$(echo "$line" | grep -oE '[0-9,]+ by the interface' | grep -oE '^[0-9,]+' | tr -d , || true)
  peak_mb=$(awk '{ if ($3 > h) h = $3 } END { printf "%d", h / 1024 }' "$work/rss.txt")
  pause_ms=$(grep -E '^Flushes: ' "$work/live.out" | grep -oE 'held the capture [0-9,]+ ms' | grep -oE '[0-9,]+' | tr -d , || true)
}

zero_drops() { [ "${kernel:-1}" = 0 ] && [ "${iface:-1}" = 0 ] && [ "${audited:-0}" = "${sent:-x}" ]; }

echo "bench-live $mode: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
echo "capture: $cap ($size_mb MiB, $traffic traffic)"

if [ "$mode" = sweep ]; then
  best=0
  echo "${step_seconds} s per step, flush: $flush"
  printf '%-10s %10s %12s %12s %10s %10s %8s %9s %s\n' rate sent audited achieved_pps kernel iface peak_MB pause_ms result
  for r in "${rates[@]}"; do
    if [ "$r" = top ]; then limit=$packets; speed=(--topspeed); else limit=$((r * step_seconds)); speed=(--pps "$r"); fi
    [ "$limit" -le "$packets" ] || limit=$packets
    replay "$flush" "$limit" "${speed[@]}"
    result=drops
    if zero_drops; then
      result=ok
      [ "$achieved" -gt "$best" ] && best=$achieved
    fi
    printf '%-10s %10s %12s %12s %10s %10s %8s %9s %s\n' "$r" "${sent:-?}" "${audited:-?}" "$achieved" "${kernel:-?}" "${iface:-?}" "$peak_mb" "${pause_ms:--}" "$result"
  done
  echo "highest zero-drop rate: $best packets/s (as tcpreplay achieved it; flush $flush, $traffic traffic)"
  exit 0
fi

echo "soak: $rate packets/s for $seconds s ($packets packets), memory sampled every $sample s"
for f in $flushes; do
  replay "$f" "$packets" --pps "$rate"
  echo
  echo "flush $f: sent ${sent:-?} (achieved $achieved pps), received by the filter ${received:-?}, audited ${audited:-?}, dropped by the kernel ${kernel:-?}, by the interface ${iface:-?}; exit took $stop_s s after SIGTERM"
  echo "  resident memory while replaying, then while writing the final outputs (seconds from the first packet sent: MB):"
  echo "   $(awk -v s="$send_start" '$1 >= s - 1 { printf "%s%.0f:%d", (n++ ? " " : ""), $1 - s, $2 / 1024 }' "$work/rss.txt")"
  # Flat: the last sample taken while packets were sent is within 10 % of the one at the middle.
  flat=$(awk -v s="$send_start" -v e="$send_end" '$1 >= s && $1 <= e { n++; t[n] = $1 - s; r[n] = $2 } END {
      if (n < 4) { print "? too few samples"; exit }
      m = int((n + 1) / 2); g = (r[n] - r[m]) / r[m] * 100;
      printf "%s %d MB at %.0f s, %d MB at %.0f s (%+.0f %%)", (g < 10 ? "PASS" : "FAIL"), r[m] / 1024, t[m], r[n] / 1024, t[n], g }' "$work/rss.txt")
  if zero_drops; then echo "  PASS  zero drops (flush $f)"; else echo "  FAIL  zero drops (flush $f): $(( ${sent:-0} - ${audited:-0} )) of ${sent:-?} packets not audited"; fi
  echo "  ${flat%% *}  flat memory (flush $f): ${flat#* }; peak ${peak_mb} MB"
done
