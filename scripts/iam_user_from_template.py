#!/usr/bin/env python3
"""Creates an IAM user in moto holding exactly one function role's policy from infra/template.yaml,
so a handler can run under the permissions the template gives it (moto enforces IAM once its
signature checking is on).

The role's statements are rendered with the local resources named on the command line
(--bucket IngestBucket=<name>, --queue IngestQueue=<arn>, --ref DropboxPrefix=<value>). moto checks
the resource of S3 and SQS requests only: statements of those services must resolve fully (a
reference left unnamed is an error); DynamoDB, SSM and the services moto does not serve (logs,
OpenSearch) are checked by action, their resources given as "*". AWS authorizes a DynamoDB
TransactWriteItems by the action of each item it holds (PutItem, UpdateItem, DeleteItem,
ConditionCheckItem: the template grants those), and SQS's batch calls by the single call's action;
moto asks for the API's own name (`dynamodb:TransactWriteItems`, `sqs:ChangeMessageVisibilityBatch`),
so a statement granting the action AWS checks also gets the name moto checks. --without ACTION removes an
action from every statement (a negative control: the handler must then fail with AccessDenied).

Prints {"accessKeyId", "secretAccessKey", "actions"} as one JSON line.
"""
import argparse
import json
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infra" / "tests"))
import template_model as tm  # noqa: E402

RESOURCE_CHECKED = ("s3:", "sqs:")
# The action AWS checks -> the name moto checks for the same call.
MOTO_NAMES = {
    "dynamodb:PutItem": "dynamodb:TransactWriteItems",
    "dynamodb:UpdateItem": "dynamodb:TransactWriteItems",
    "dynamodb:DeleteItem": "dynamodb:TransactWriteItems",
    "dynamodb:ConditionCheckItem": "dynamodb:TransactWriteItems",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:SendMessage": "sqs:SendMessageBatch",
}


def statements(role: dict, names: dict[str, str], without: set[str]) -> list[dict]:
    rendered = []
    for statement in tm.policy_statements(role):
        actions = [a for a in tm.as_list(statement.get("Action", [])) if a not in without]
        if not actions or statement.get("Effect") != "Allow":
            continue
        if all(a.startswith(RESOURCE_CHECKED) for a in actions):
            resources = []
            for text in tm.render(statement.get("Resource", [])):
                for reference, value in names.items():
                    text = text.replace("${" + reference + "}", value)
                if "${" in text:
                    raise SystemExit(f"{statement.get('Sid')}: {text} names a resource not given on the command line")
                resources.append(text)
        elif any(a.startswith(RESOURCE_CHECKED) for a in actions):
            raise SystemExit(f"{statement.get('Sid')} mixes resource-checked and other actions")
        else:
            resources = ["*"]
        actions += sorted({MOTO_NAMES[a] for a in actions if a in MOTO_NAMES} - set(actions))
        rendered.append({"Sid": statement.get("Sid", "S"), "Effect": "Allow", "Action": actions, "Resource": resources})
    return rendered


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--role", required=True, help="the role's logical id, e.g. IngestFunctionRole")
    p.add_argument("--user", required=True)
    p.add_argument("--bucket", action="append", default=[], help="Logical=name")
    p.add_argument("--queue", action="append", default=[], help="Logical=arn")
    p.add_argument("--ref", action="append", default=[], help="Parameter=value (e.g. DropboxPrefix=received_files/)")
    p.add_argument("--without", action="append", default=[])
    args = p.parse_args()

    names: dict[str, str] = {}
    for pair in args.bucket:
        logical, _, name = pair.partition("=")
        names[f"{logical}.Arn"] = f"arn:aws:s3:::{name}"
    for pair in args.queue:
        logical, _, arn = pair.partition("=")
        names[f"{logical}.Arn"] = arn
    for pair in args.ref:
        name, _, value = pair.partition("=")
        names[name] = value
    template = tm.load_template()
    role = template["Resources"].get(args.role)
    if role is None or role["Type"] != "AWS::IAM::Role":
        raise SystemExit(f"no role {args.role} in the template")
    document = {"Version": "2012-10-17", "Statement": statements(role, names, set(args.without))}

    iam = boto3.client("iam", endpoint_url=args.endpoint, region_name=args.region,
                       aws_access_key_id=args.access_key, aws_secret_access_key=args.secret)
    iam.create_user(UserName=args.user)
    iam.put_user_policy(UserName=args.user, PolicyName=args.role, PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=args.user)["AccessKey"]
    actions = sorted({a for s in document["Statement"] for a in s["Action"]})
    print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"], "actions": actions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
