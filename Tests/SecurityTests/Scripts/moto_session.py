#!/usr/bin/env python3
"""Temporary credentials and a full dump of what a run left behind, on a signature-checking moto.

    moto_session.py assume-role   # prints {"accessKeyId", "secretAccessKey", "sessionToken"}
    moto_session.py dump --table T --bucket B ... --parameter-path /p/   # prints every item, object, parameter

Both read the endpoint, region and the caller's keys (and token) from the usual AWS_* variables.
`assume-role` creates a role allowed to do everything and assumes it: moto then checks the session
token on every request made with the returned keys (a wrong token is refused with InvalidToken).
`dump` writes what a handler could have leaked into: status items (Scan), every object of the
buckets (keys, metadata and bodies) and every parameter under the paths, as one JSON document.
"""
import argparse
import json
import os
import uuid

import boto3


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])


def assume_role():
    name = "pipeline-" + uuid.uuid4().hex[:10]
    caller = client("sts").get_caller_identity()["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "sts:AssumeRole"}]}
    iam = client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    answer = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="pipeline-session", DurationSeconds=3600)
    credentials = answer["Credentials"]
    print(json.dumps({
        "accessKeyId": credentials["AccessKeyId"], "secretAccessKey": credentials["SecretAccessKey"],
        "sessionToken": credentials["SessionToken"],
    }))


def text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def dump(args):
    out = {"items": [], "objects": [], "parameters": []}
    dynamodb = client("dynamodb")
    for table in args.table:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            out["items"].extend(page["Items"])
    s3 = client("s3")
    for bucket in args.bucket:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket, Key=entry["Key"])
                body = got["Body"].read()
                out["objects"].append({
                    "bucket": bucket, "key": entry["Key"], "metadata": got.get("Metadata", {}), "body": text(body),
                })
    ssm = client("ssm")
    for path in args.parameter_path:
        for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True, WithDecryption=True):
            out["parameters"].extend({"name": p["Name"], "value": p["Value"]} for p in page["Parameters"])
    print(json.dumps(out, ensure_ascii=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("assume-role")
    dumping = commands.add_parser("dump")
    dumping.add_argument("--table", action="append", default=[])
    dumping.add_argument("--bucket", action="append", default=[])
    dumping.add_argument("--parameter-path", action="append", default=[])
    args = parser.parse_args()
    if args.command == "assume-role":
        assume_role()
    else:
        dump(args)


if __name__ == "__main__":
    main()
