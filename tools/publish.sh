#!/usr/bin/env bash
# Builds the deployable trafficaudit: self-contained for linux-x64, ReadyToRun-compiled as one
# composite image with the .NET libraries (fastest start and steady state; about 95 MB).
# Usage: tools/publish.sh [OUTPUT_DIR]   (default artifacts/trafficaudit-linux-x64)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/trafficaudit-linux-x64}
dotnet publish src/TrafficAudit.Cli -c Release -r linux-x64 --self-contained true \
  -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true -nologo -v q -o "$out"
echo "$out/trafficaudit"
