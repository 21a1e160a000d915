"""The Python side of `bench coldstart`: the same set-up and work as Sources/probe-lambda, the way
a boto3 Lambda does it, run by `python3 -m awslambdaric coldstart_handler.handler`.

At import (Lambda's init phase) it creates its boto3 clients for S3, SQS and DynamoDB, as the
pipeline's Python handlers do. Each invocation walks the SQS records, unwraps the S3 notification
in each body (acknowledging s3:TestEvent), form-decodes the keys, logs one JSON line per object and
answers with {"batchItemFailures": [...]}, like the Swift probe's batch helper.
"""
import json
import time
from urllib.parse import unquote_plus

import boto3

SESSION = boto3.session.Session()
S3 = SESSION.client("s3")
SQS = SESSION.client("sqs")
DYNAMODB = SESSION.client("dynamodb")


def handle_record(record):
    body = json.loads(record["body"])
    if body.get("Event") == "s3:TestEvent":
        return
    for s3_record in body["Records"]:
        if not s3_record["eventName"].startswith("ObjectCreated:"):
            continue
        obj = s3_record["s3"]["object"]
        print(json.dumps({
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": "INFO",
            "message": "object handled",
            "messageId": record["messageId"],
            "bucket": s3_record["s3"]["bucket"]["name"],
            "key": unquote_plus(obj["key"]),
            "size": obj.get("size"),
        }))


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        try:
            handle_record(record)
        except Exception:  # a record that cannot be handled fails on its own
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
