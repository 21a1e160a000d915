#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test. Tests start their own
# moto_server (signature checking on) and loopback servers; nothing else needs to be running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"
swift build --build-tests
swift test --skip-build "$@"
