#!/usr/bin/env bash
# The main job, on loopback: installs what is missing, builds the three bootstraps and the local
# stack in release, then runs the whole pipeline the way Lambda would (see README "The local
# stack"): moto with signature checking, the OpenSearch stand-in, the template's resources,
# generated sample data, an SQS event-source runner driving each real bootstrap, and a summary
# checked against the generated data. Exits non-zero if any record is unaccounted for.
#
#   bash scripts/run-local.sh                 # the default data set (well under a minute)
#   bash scripts/run-local.sh --scale 10      # more data; any local-stack option passes through
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"

echo "== building (release): dropbox-lambda ingest-lambda processing-lambda local-stack pipelinectl"
for product in dropbox-lambda ingest-lambda processing-lambda local-stack pipelinectl; do
    swift build -c release --product "$product" 2>&1 | tail -1
done
BIN="$(swift build -c release --show-bin-path)"
exec "$BIN/local-stack" --bin-dir "$BIN" --work-dir .build/local-stack "$@"
