#!/usr/bin/env python3
"""The Python side of `bench ingest`: what a boto3 ingest Lambda does with a JSON-lines file.

End to end (default): stream the object with boto3 (get_object, iter_lines), json.loads each line,
build an `index` action (`_id` from event_id, index `<prefix>-YYYY.MM` from created_at), json.dumps
it into an NDJSON body, and POST the body to OpenSearch (SigV4-signed with botocore) each time it
reaches --chunk-mb, one request at a time. Then it does what the handler does with a finished
file: files it under processed/ (CopyObject with the outcome in its metadata, DeleteObject) and,
with --status-table, writes the file's status item. With --file it reads a local file and
discards the bodies instead (parse and encode alone).

Prints {"seconds", "index_seconds" (to the last bulk answer, before the file is filed), "records",
"bytes", "cpu_seconds", "maxrss_kb"} as JSON on stdout.
"""
import argparse
import json
import os
import resource
import time
import urllib.request


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint")
    p.add_argument("--bucket")
    p.add_argument("--key")
    p.add_argument("--opensearch")
    p.add_argument("--file")
    p.add_argument("--index-prefix", default="bench")
    p.add_argument("--chunk-mb", type=float, default=5)
    p.add_argument("--status-table")
    args = p.parse_args()
    limit = int(args.chunk_mb * 1048576)

    if args.file:
        open_lines = lambda: open(args.file, "rb")
        send = lambda body: None
    else:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        open_lines = lambda: s3.get_object(Bucket=args.bucket, Key=args.key)["Body"].iter_lines(chunk_size=65536)
        signer = SigV4Auth(Credentials("bench", "bench"), "es", "us-east-1")
        # Created before the clock starts, as a Lambda creates its clients at init.
        dynamodb = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name="us-east-1",
                                aws_access_key_id="bench", aws_secret_access_key="bench") if args.status_table else None

        def send(body):
            url = args.opensearch + "/_bulk"
            req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/x-ndjson"})
            signer.add_auth(req)
            r = urllib.request.Request(url, data=body, method="POST", headers=dict(req.headers.items()))
            with urllib.request.urlopen(r) as resp:
                answer = json.loads(resp.read())
            if answer.get("errors"):
                raise SystemExit("bulk errors")

    start = time.perf_counter()
    cpu0 = os.times()
    lines = open_lines()
    records = 0
    nbytes = 0
    parts = []
    size = 0
    for line in lines:
        nbytes += len(line) + 1
        line = line.strip()
        if not line:
            continue
        doc = json.loads(line)
        records += 1
        action = json.dumps({"index": {"_index": f"{args.index_prefix}-{doc['created_at'][:7].replace('-', '.')}",
                                       "_id": str(doc["event_id"])}}, separators=(",", ":"))
        source = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        parts.append(action)
        parts.append(source)
        size += len(action) + len(source) + 2
        if size >= limit:
            send(("\n".join(parts) + "\n").encode())
            parts, size = [], 0
    if parts:
        send(("\n".join(parts) + "\n").encode())
    index_seconds = time.perf_counter() - start
    if not args.file:
        finish(s3, dynamodb, args, records, nbytes)
    seconds = time.perf_counter() - start
    cpu1 = os.times()
    print(json.dumps({
        "seconds": seconds, "index_seconds": index_seconds, "records": records, "bytes": nbytes,
        "cpu_seconds": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
        "maxrss_kb": high_water_kb(),
    }))
    return 0


def finish(s3, dynamodb, args, records: int, nbytes: int) -> None:
    """Files the object under processed/ and records the outcome, as the handler does."""
    destination = "processed/" + args.key
    s3.copy_object(Bucket=args.bucket, Key=destination, CopySource={"Bucket": args.bucket, "Key": args.key},
                   Metadata={"pipeline-records": str(records)}, MetadataDirective="REPLACE")
    s3.delete_object(Bucket=args.bucket, Key=args.key)
    if dynamodb:
        dynamodb.put_item(TableName=args.status_table, Item={
            "file_id": {"S": f"{args.bucket}/{args.key}"}, "stage": {"S": "ingest"}, "status": {"S": "INGESTED"},
            "records": {"N": str(records)}, "indexed": {"N": str(records)}, "bytes": {"N": str(nbytes)},
            "key": {"S": destination}})


def high_water_kb() -> int:
    """This image's peak RSS (VmHWM). ru_maxrss would also count the spawning process's peak,
    which Linux carries across fork/exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    raise SystemExit(main())
