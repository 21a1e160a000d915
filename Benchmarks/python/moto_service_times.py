#!/usr/bin/env python3
"""How long moto takes to answer each request the ingest handler makes for one file, one at a time.

Starts moto as `bench ingest` does (scripts/moto_stack.py --no-auth, objects kept in memory), puts
an object of --mb MiB in two parts (as the bench uploads it), then times, --repeat times, the
requests the handler sends to moto in order for a file: HeadObject, the claim (a conditional
UpdateItem of the same shape), GetObject read to the end, CopyObject with REPLACE metadata,
HeadObject of the copy (a multipart source's copy is verified so), DeleteObject and the final
status UpdateItem. Times are as boto3 sees them (its own client work, about a millisecond a call,
included). Prints a table of median milliseconds and their sum: the part of a file's time that
moto's service sets, whatever the client.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import boto3


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=int, default=8)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, MOTO_S3_DEFAULT_KEY_BUFFER_SIZE=str(4 << 30))
    server = subprocess.Popen([sys.executable, os.path.join(here, "..", "..", "scripts", "moto_stack.py"), "--no-auth"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        endpoint = json.loads(server.stdout.readline())["endpoint"]
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
        s3, ddb = boto3.client("s3", **kw), boto3.client("dynamodb", **kw)
        s3.create_bucket(Bucket="times")
        ddb.create_table(TableName="status", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}, {"AttributeName": "stage", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"},
                                               {"AttributeName": "stage", "AttributeType": "S"}])
        size = args.mb << 20
        line = b'{"event_id":1,"created_at":"2024-05-01T10:00:00Z","city":"Leeds","amount":3}\n'
        data = (line * (size // len(line) + 1))[:size]
        times = {}

        def timed(name, call):
            started = time.perf_counter()
            result = call()
            times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            return result

        finals = [{"S": s} for s in ("REJECTED", "ACCEPTED", "INGESTED", "PARTIAL", "FAILED", "PROCESSED", "SKIPPED")]
        for run in range(args.repeat):
            key, filed = f"in/events/f{run}.jsonl", f"processed/events/f{run}.jsonl"
            upload = s3.create_multipart_upload(Bucket="times", Key=key)
            parts = []
            for number, start in enumerate(range(0, size, 5 << 20), 1):
                part = s3.upload_part(Bucket="times", Key=key, UploadId=upload["UploadId"], PartNumber=number,
                                      Body=data[start:start + (5 << 20)])
                parts.append({"ETag": part["ETag"], "PartNumber": number})
            s3.complete_multipart_upload(Bucket="times", Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
            file_key = {"file_id": {"S": f"events/f{run}.jsonl@x"}, "stage": {"S": "ingest"}}
            now = int(time.time() * 1000)
            head = timed("HeadObject", lambda: s3.head_object(Bucket="times", Key=key))
            names = {f"#n{i}": n for i, n in enumerate(
                ["updated_at", "received_at", "status", "claim_owner", "claim_token", "claim_expires_at", "dataset", "file_name",
                 "bucket", "key", "size", "etag", "reason", "error_code", "attempt", "file_id"])}
            values = {":v0": {"S": "t"}, ":v1": {"S": "t"}, ":v2": {"S": "INGESTING"}, ":v3": {"S": "owner"}, ":v4": {"S": "token"},
                      ":v5": {"N": str(now + 900000)}, ":v6": {"S": "events"}, ":v7": {"S": f"f{run}.jsonl"}, ":v8": {"S": "times"},
                      ":v9": {"S": key}, ":v10": {"N": str(size)}, ":v11": {"S": head["ETag"]}, ":v12": {"N": "1"},
                      ":v20": {"N": str(now)}}
            values.update({f":v{13 + i}": v for i, v in enumerate(finals)})
            timed("UpdateItem (claim)", lambda: ddb.update_item(
                TableName="status", Key=file_key, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                UpdateExpression="SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1), #n2 = :v2, #n3 = :v3, #n4 = :v4, #n5 = :v5, "
                                 "#n6 = :v6, #n7 = :v7, #n8 = :v8, #n9 = :v9, #n10 = :v10, #n11 = :v11 REMOVE #n12, #n13 ADD #n14 :v12",
                ConditionExpression="attribute_not_exists(#n15) OR ((attribute_not_exists(#n5) OR #n5 < :v20) AND "
                                    "NOT (#n2 IN (:v13, :v14, :v15, :v16, :v17, :v18, :v19)))",
                ReturnValuesOnConditionCheckFailure="ALL_OLD", ReturnValues="ALL_NEW"))
            timed(f"GetObject ({args.mb} MiB, read to the end)",
                  lambda: [None for _ in s3.get_object(Bucket="times", Key=key, IfMatch=head["ETag"])["Body"].iter_chunks(524288)])
            timed(f"CopyObject ({args.mb} MiB, REPLACE)", lambda: s3.copy_object(
                Bucket="times", Key=filed, CopySource={"Bucket": "times", "Key": key}, CopySourceIfMatch=head["ETag"],
                MetadataDirective="REPLACE", Metadata={"pipeline-file-id": "x", "pipeline-records": "1"}))
            timed("HeadObject (the copy)", lambda: s3.head_object(Bucket="times", Key=filed))
            timed("DeleteObject", lambda: s3.delete_object(Bucket="times", Key=key))
            done = {f"#n{i}": n for i, n in enumerate(
                ["updated_at", "status", "records", "indexed", "failed", "skipped", "index_names", "bytes", "duration_ms",
                 "claim_expires_at", "claim_owner"])}
            timed("UpdateItem (final status)", lambda: ddb.update_item(
                TableName="status", Key=file_key, ExpressionAttributeNames=done,
                ExpressionAttributeValues={":v0": {"S": "t"}, ":v1": {"S": "INGESTED"}, ":v2": {"N": "1"}, ":v3": {"N": "1"},
                                           ":v4": {"N": "0"}, ":v5": {"N": "0"}, ":v6": {"SS": ["bench-2024.05"]},
                                           ":v7": {"N": str(size)}, ":v8": {"N": "100"}, ":v9": {"N": "0"}, ":v10": {"S": "owner"}},
                UpdateExpression="SET #n0 = :v0, #n1 = :v1, #n2 = :v2, #n3 = :v3, #n4 = :v4, #n5 = :v5, #n6 = :v6, #n7 = :v7, "
                                 "#n8 = :v8, #n9 = :v9",
                ConditionExpression="#n10 = :v10", ReturnValuesOnConditionCheckFailure="ALL_OLD", ReturnValues="ALL_NEW"))
            s3.delete_object(Bucket="times", Key=filed)
        print(f"moto's answer to each request of one {args.mb} MiB file, median of {args.repeat} (ms, as boto3 sees it):")
        total = 0.0
        for name, values in times.items():
            median = statistics.median(values)
            total += median
            print(f"  {name:40} {median:7.1f}   (min {min(values):.1f}, max {max(values):.1f})")
        print(f"  {'in order, one after another':40} {total:7.1f}")
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
