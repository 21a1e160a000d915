#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test. Tests start their own
# moto_server (signature checking on) and loopback servers; nothing else needs to be running.
#
# Tests whose function name holds "BoundedMemory" measure the process's peak RSS, which other
# tests running beside them would disturb: they run afterwards, alone, one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build --build-tests
swift test --skip-build --skip BoundedMemory "$@"
swift test --skip-build --filter BoundedMemory --no-parallel "$@"
