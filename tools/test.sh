#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (idempotent; apt-get only as root).
# Ends with the line "N passed, N failed" and exits non-zero on any failure or when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use. libpcap0.8: live capture through SharpPcap; iproute2: the network
# namespaces and veth pairs the live tests create; sip-tester (sipp): real SIP calls with RTP;
# tcpreplay: replaying a generated capture into a veth pair; chromium: the HTML report rendered
# headless (slow to install: only when missing, and only as root); poppler-utils: pdftotext reads
# the report's PDF back (page count, charts not cut by a page end); tshark: every finding's
# wireshark_filter run through tshark -Y on its capture (DisplayFilterTests); clang, zlib1g-dev: Native
# AOT links the shipped executable with them (tools/publish.sh, ShippedBuildTests).
packages=(libpcap0.8 iproute2 sip-tester tcpreplay chromium poppler-utils tshark clang zlib1g-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null \
      || echo "warning: could not install ${missing[*]}; tests that need them report inconclusive"
  else
    echo "warning: not root, cannot install ${missing[*]}; tests that need them report inconclusive"
  fi
fi

log=$(mktemp)
dotnet build TrafficAudit.sln -c Release -nologo -v q 2>&1 | tail -n 30
if [ "${PIPESTATUS[0]}" -ne 0 ]; then echo "build failed"; echo "0 passed, 1 failed"; exit 1; fi
# The executable users run (tools/publish.sh: Native AOT) is tested too: ShippedBuildTests runs it beside
# the in-process build on the same commands and compares everything it prints and writes.
shipped=artifacts/test-shipped
if ! bash tools/publish.sh "$shipped" > "$log" 2>&1; then
  cat "$log"
  # The ReadyToRun form needs no native toolchain: its parity is still worth testing.
  echo "warning: the Native AOT publish failed (above); ShippedBuildTests test the ReadyToRun form instead"
  if ! bash tools/publish.sh "$shipped" --r2r > "$log" 2>&1; then
    cat "$log"; echo "publish failed"; echo "0 passed, 1 failed"; exit 1
  fi
fi
export TRAFFICAUDIT_SHIPPED="$PWD/$shipped/trafficaudit"
dotnet test --project tests/TrafficAudit.Tests/TrafficAudit.Tests.csproj -c Release --no-build "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -E '^\s*succeeded:' "$log" | tail -1 | grep -oE '[0-9]+' || true)
failed=$(grep -E '^\s*failed:' "$log" | tail -1 | grep -oE '[0-9]+' || true)
skipped=$(grep -E '^\s*skipped:' "$log" | tail -1 | grep -oE '[0-9]+' || true)
rm -f "$log"
passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
if [ "$rc" -ne 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$passed" = 0 ]; then echo "no test ran"; exit 1; fi
exit "$rc"
