#!/usr/bin/env bash
# Policy benchmark (issue 9, incremental policy): N SIP OPTIONS transactions, each from its own UDP
# source port (one flow per transaction), sent by a CUCM (10.0.1.5) to the node 10.0.0.10:5060 and
# answered after 1 ms, one every 10 ms; audited with --server 10.0.0.10 by the build as it ships
# (tools/publish.sh). Before the incremental policy the verdict matched every transaction against
# every flow (quadratic); now each record is judged once, with indexed joins.
# Prints per N: wall seconds, peak MB, findings. Not a test: run it by hand (nice -n 19 is fine).
# Usage: tools/bench-options.sh [N...]   (default 10000 40000); BIN=path/to/trafficaudit to reuse a build.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(10000 40000)
work=${BENCH_DIR:-/tmp/trafficaudit-bench-options}
mkdir -p "$work"
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time) >/dev/null
fi
bin=${BIN:-}
if [ -z "$bin" ]; then bash tools/publish.sh "$work/bin" >/dev/null; bin="$work/bin/trafficaudit"; fi
printf '%8s %9s %9s %9s\n' options seconds peak_MB findings
for n in "${counts[@]}"; do
  cap="$work/options-$n.pcap"
  [ -f "$cap" ] || python3 - "$n" "$cap" <<'EOF'
import struct, sys
n, path = int(sys.argv[1]), sys.argv[2]
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(src, sport, dst, dport, payload, ipid):
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), ipid & 0xffff, 0, 64, 17, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x00\x50\x56\x00\x00\x0a' + b'\x00\x50\x56\x00\x01\x05' + b'\x08\x00' + ip + udp
cucm, node = [10, 0, 1, 5], [10, 0, 0, 10]
t0 = 1772442000_000000  # 2026-03-02T09:00:00Z in microseconds
with open(path, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        port = 10000 + i % 50000
        t = t0 + i * 10_000
        branch, callid = 'z9hG4bK%08x' % i, '%08x@10.0.1.5' % i
        req = ('OPTIONS sip:10.0.0.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.1.5:%d;branch=%s\r\nFrom: <sip:10.0.1.5>;tag=a%d\r\n'
               'To: <sip:10.0.0.10>\r\nCall-ID: %s\r\nCSeq: 101 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n') % (port, branch, i, callid)
        resp = ('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.1.5:%d;branch=%s\r\nFrom: <sip:10.0.1.5>;tag=a%d\r\n'
                'To: <sip:10.0.0.10>;tag=b%d\r\nCall-ID: %s\r\nCSeq: 101 OPTIONS\r\nContent-Length: 0\r\n\r\n') % (port, branch, i, i, callid)
        for (ts, fr) in ((t, frame(cucm, port, node, 5060, req.encode(), 2 * i)), (t + 1000, frame(node, 5060, cucm, port, resp.encode(), 2 * i + 1))):
            f.write(struct.pack('<IIII', ts // 1_000_000, ts % 1_000_000, len(fr), len(fr)) + fr)
EOF
  cat "$cap" > /dev/null
  out="$work/out-$n"
  rm -rf "$out"
  /usr/bin/time -v -o "$work/time-$n.txt" "$bin" audit "$cap" --server 10.0.0.10 --out "$out" --quiet --fail-on never
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time-$n.txt")
  kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time-$n.txt")
  printf '%8s %9s %9s %9s\n' "$n" "$secs" $((kb / 1024)) $(( $(wc -l < "$out/findings.csv") - 1 ))
done
