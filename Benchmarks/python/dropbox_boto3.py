#!/usr/bin/env python3
"""The boto3 side of `bench dropbox`: the same dropbox handler, written as a data-engineering team
would in Python. Init: boto3 clients, the dataset catalog from SSM. Then one SQS batch of S3 events
from --event: per object a conditional claim in DynamoDB, HeadObject, the checks (dataset,
extension, size, gzip), a ranged GET of the first 256 KiB parsed as JSON lines with the required
fields, then CopyObject with the pipeline metadata, a verifying HeadObject, DeleteObject and the
final status. Rejected files get a `.error.json` and go to rejected/.

Prints the batch response, then {"batch_seconds": …} (the batch alone, after init).
Settings come from the same environment variables as dropbox-lambda.
"""
import argparse
import json
import os
import re
import time
import zlib
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config

FINAL = ["REJECTED", "ACCEPTED", "INGESTED", "PARTIAL", "FAILED", "PROCESSED", "SKIPPED"]
SAMPLE = 256 * 1024


def pattern_regex(pattern):
    out = ""
    for token in re.split(r"(\{[^}]*\}|\*)", pattern):
        if token == "*":
            out += "[^/]*"
        elif token.startswith("{"):
            out += ".+" if token.endswith("*}") else "[^/]+"
        else:
            out += re.escape(token)
    return re.compile("^" + out + "$")


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def type_ok(value, kind):
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "timestamp":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return isinstance(value, str)
        except ValueError:
            return False
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


class Dropbox:
    def __init__(self):
        env = os.environ
        config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard"})
        self.s3 = boto3.client("s3", config=config)
        self.ddb = boto3.client("dynamodb")
        ssm = boto3.client("ssm")
        self.dropbox = env["DROPBOX_BUCKET_NAME"]
        self.ingest = env["INGEST_BUCKET_NAME"]
        self.prefix = env.get("DROPBOX_PREFIX", "received_files/")
        self.table = env["INGEST_STATUS_TABLE"]
        self.max_size = int(float(env.get("MAX_FILE_SIZE_MB", "30")) * 1048576)
        doc = json.loads(ssm.get_parameter(Name=env["DATASETS_PARAMETER"], WithDecryption=True)["Parameter"]["Value"])
        self.datasets = [(d, pattern_regex(d["keyPattern"])) for d in doc["datasets"]]

    def handle(self, event, deadline_ms, owner):
        failures = []
        for message in event["Records"]:
            try:
                body = json.loads(message["body"])
                if body.get("Event") == "s3:TestEvent":
                    continue
                for record in body["Records"]:
                    if record["eventName"].startswith("ObjectCreated:"):
                        self.handle_object(record, deadline_ms, owner)
            except Exception as error:  # noqa: BLE001
                print(json.dumps({"level": "ERROR", "error": str(error)}), file=os.sys.stderr)
                failures.append({"itemIdentifier": message["messageId"]})
        return {"batchItemFailures": failures}

    def handle_object(self, record, deadline_ms, owner):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        if bucket != self.dropbox or not key.startswith(self.prefix):
            return
        name = key[len(self.prefix):]
        dataset = next((d for d, regex in self.datasets if regex.match(name)), None)
        dataset_name = dataset["name"] if dataset else "_unmatched"
        etag = record["s3"]["object"].get("eTag", "").strip('"')
        file_id = f"{dataset_name}/{name}@{etag}"
        now_ms = int(time.time() * 1000)
        values = {":working": {"S": "RECEIVED"}, ":owner": {"S": owner}, ":deadline": {"N": str(deadline_ms)},
                  ":now": {"S": now_iso()}, ":nowms": {"N": str(now_ms)}, ":one": {"N": "1"},
                  ":dataset": {"S": dataset_name}, ":name": {"S": name}, ":bucket": {"S": bucket}, ":key": {"S": key}}
        for index, status in enumerate(FINAL):
            values[f":f{index}"] = {"S": status}
        try:
            self.ddb.update_item(
                TableName=self.table, Key={"file_id": {"S": file_id}, "stage": {"S": "dropbox"}},
                UpdateExpression="SET #status = :working, claim_owner = :owner, claim_expires_at = :deadline, updated_at = :now, "
                "received_at = if_not_exists(received_at, :now), dataset = :dataset, file_name = :name, #bucket = :bucket, #key = :key "
                "ADD attempt :one",
                ConditionExpression="attribute_not_exists(file_id) OR ((attribute_not_exists(claim_expires_at) OR claim_expires_at < :nowms) "
                f"AND NOT (#status IN ({', '.join(':f%d' % i for i in range(len(FINAL)))})))",
                ExpressionAttributeNames={"#status": "status", "#bucket": "bucket", "#key": "key"},
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return
        head = self.s3.head_object(Bucket=bucket, Key=key)
        reason = self.check(name, head, dataset, bucket, key)
        metadata = {"pipeline-file-id": file_id, "pipeline-dataset": dataset_name, "pipeline-source-key": key,
                    "pipeline-source-etag": head["ETag"].strip('"')}
        if reason:
            code, text = reason
            self.s3.put_object(Bucket=self.dropbox, Key=f"rejected/{name}.error.json", ContentType="application/json",
                               Body=json.dumps({"file": key, "dataset": dataset["name"] if dataset else None, "reason": text,
                                                "code": code, "rejected_at": now_iso(), "details": []}).encode())
            destination = (self.dropbox, f"rejected/{name}")
        else:
            destination = (self.ingest, f"in/{dataset_name}/{name}")
        self.s3.copy_object(Bucket=destination[0], Key=destination[1], CopySource={"Bucket": bucket, "Key": key},
                            CopySourceIfMatch=head["ETag"], MetadataDirective="REPLACE", Metadata=metadata)
        copied = self.s3.head_object(Bucket=destination[0], Key=destination[1])
        if copied["ContentLength"] != head["ContentLength"] or copied["ETag"] != head["ETag"]:
            raise RuntimeError("copy not verified")
        self.s3.delete_object(Bucket=bucket, Key=key)
        update = "SET #status = :status, updated_at = :now, claim_expires_at = :zero"
        values = {":status": {"S": "REJECTED" if reason else "ACCEPTED"}, ":now": {"S": now_iso()}, ":zero": {"N": "0"},
                  ":owner": {"S": owner}}
        if reason:
            update += ", reason = :reason, error_code = :code"
            values[":reason"] = {"S": reason[1]}
            values[":code"] = {"S": reason[0]}
        self.ddb.update_item(
            TableName=self.table, Key={"file_id": {"S": file_id}, "stage": {"S": "dropbox"}}, UpdateExpression=update,
            ConditionExpression="claim_owner = :owner", ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values)

    def check(self, name, head, dataset, bucket, key):
        if dataset is None:
            return ("UnknownDataset", "The file's name and folder match no dataset the pipeline knows.")
        extensions = dataset.get("extensions", [])
        if extensions and not any(name.lower().endswith(e.lower()) for e in extensions):
            return ("ExtensionNotAllowed", f"Files of dataset {dataset['name']} must end in {' or '.join(extensions)}.")
        size = head["ContentLength"]
        if size == 0:
            return ("EmptyFile", "The file is empty (0 bytes).")
        limit = dataset.get("maxFileSizeMB", self.max_size / 1048576) * 1048576
        if size > limit:
            return ("FileTooLarge", "The file is larger than the dataset allows.")
        whole = size <= SAMPLE
        sample = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SAMPLE - 1}")["Body"].read()
        is_gzip = sample[:2] == b"\x1f\x8b"
        if name.endswith(".gz") and not is_gzip:
            return ("CompressionMismatch", "The file should be gzip-compressed but is not.")
        if is_gzip:
            sample = zlib.decompressobj(31).decompress(sample, 8 << 20)
            whole = False
        lines = sample.split(b"\n")
        if not whole:
            lines = lines[:-1]
        required = dataset.get("requiredFields", {})
        checked = 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                return ("UnreadableSample", f"Record {number} cannot be read as JSON lines.")
            if not isinstance(value, dict):
                return ("UnreadableSample", f"Record {number} is not a JSON object.")
            for field, kind in required.items():
                if value.get(field) is None:
                    return ("MissingRequiredField", f"Record {number} lacks the field '{field}'.")
                if not type_ok(value[field], kind):
                    return ("WrongFieldType", f"In record {number}, field '{field}' should be {kind}.")
            checked += 1
            if checked >= dataset.get("sampleRecords", 5):
                break
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--event", required=True)
    args = parser.parse_args()
    handler = Dropbox()
    with open(args.event, "rb") as f:
        event = json.load(f)
    start = time.perf_counter()
    response = handler.handle(event, int(time.time() * 1000) + 60_000, "python-bench")
    seconds = time.perf_counter() - start
    print(json.dumps(response, separators=(",", ":")))
    print(json.dumps({"batch_seconds": seconds}))


if __name__ == "__main__":
    main()
