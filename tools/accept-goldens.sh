#!/usr/bin/env bash
# Rewrites the golden files of the end-to-end tests from the current output, after you have
# reviewed the *.actual.csv differences. Review `git diff tests/TrafficAudit.Tests/Golden` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tests/TrafficAudit.Tests -c Release -nologo -v q
TRAFFICAUDIT_ACCEPT_GOLDENS=1 dotnet test --project tests/TrafficAudit.Tests/TrafficAudit.Tests.csproj -c Release --no-build -- --filter "FullyQualifiedName~GoldenTests"
git status --short tests/TrafficAudit.Tests/Golden
