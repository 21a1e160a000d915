#!/usr/bin/env bash
# The main job, on loopback: installs what is missing, builds in release, starts moto (signature
# checking on) and drives it with the project's own signed requests.
#
# Today it exercises the foundation (libcurl transport, SigV4, credential chain, error typing)
# end to end through `awssign`; it grows into the full dropbox → ingest → processing pipeline as
# the handlers land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"

echo "== building (release)"
swift build -c release --product awssign 2>&1 | tail -1
AWSSIGN="$(swift build -c release --show-bin-path)/awssign"

echo "== starting moto_server with signature checking"
coproc MOTO { python3 scripts/moto_stack.py 2>/dev/null; }
read -r line <&"${MOTO[0]}"
cleanup() { kill "$MOTO_PID" 2>/dev/null || true; }
trap cleanup EXIT
endpoint=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["endpoint"])' "$line")
export AWS_ACCESS_KEY_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accessKeyId"])' "$line")
export AWS_SECRET_ACCESS_KEY=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secretAccessKey"])' "$line")
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
echo "moto at $endpoint"

step() { printf '%-48s' "$1"; }
check() {
    local expect=$1; shift
    local out status
    set +e
    out=$("$@" 2>/tmp/awssign.err)
    status=$?
    set -e
    local http
    http=$(tail -1 /tmp/awssign.err)
    if [ "$http" = "HTTP $expect" ]; then
        echo "$http ok"
    else
        echo "$http (expected HTTP $expect) FAILED"
        echo "$out" | head -5
        exit 1
    fi
    LAST_BODY="$out"
}

step "S3 CreateBucket dropbox"
check 200 "$AWSSIGN" --service s3 -X PUT "$endpoint/dropbox"
step "S3 PutObject 'received_files/a b.json'"
check 200 "$AWSSIGN" --service s3 -X PUT -d '{"id":1,"name":"first"}' "$endpoint/dropbox/received_files/a%20b.json"
step "S3 GetObject reads the same bytes"
check 200 "$AWSSIGN" --service s3 "$endpoint/dropbox/received_files/a%20b.json"
[ "$LAST_BODY" = '{"id":1,"name":"first"}' ] || { echo "body mismatch: $LAST_BODY"; exit 1; }
step "S3 ListObjectsV2"
check 200 "$AWSSIGN" --service s3 "$endpoint/dropbox?list-type=2&prefix=received_files"
step "SQS CreateQueue (JSON 1.0)"
check 200 "$AWSSIGN" --service sqs -H 'X-Amz-Target: AmazonSQS.CreateQueue' \
    -H 'Content-Type: application/x-amz-json-1.0' -d '{"QueueName":"ingest"}' "$endpoint/"
queue=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["QueueUrl"])' "$LAST_BODY")
step "SQS SendMessage"
check 200 "$AWSSIGN" --service sqs -H 'X-Amz-Target: AmazonSQS.SendMessage' \
    -H 'Content-Type: application/x-amz-json-1.0' -d "{\"QueueUrl\":\"$queue\",\"MessageBody\":\"hello\"}" "$endpoint/"
step "A wrong secret is rejected (403)"
check 403 env AWS_SECRET_ACCESS_KEY=wrong "$AWSSIGN" --service s3 "$endpoint/dropbox?list-type=2"
step "A presigned URL is produced without sending"
url=$("$AWSSIGN" --service s3 --presign 300 "$endpoint/dropbox/received_files/a%20b.json")
case "$url" in *X-Amz-Signature=*) echo "ok";; *) echo "FAILED: $url"; exit 1;; esac
echo "== local run passed"
