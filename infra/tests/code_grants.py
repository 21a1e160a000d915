"""What each handler's code calls on AWS, read from its Swift sources, as IAM actions.

The grants the template gives each function role (test_template.EXPECTED_GRANTS) are checked
against this, so a handler that starts calling a new operation (or stops calling one) fails the
template tests until its role follows.

A handler's code is its own target (Sources/<Handler>) plus the PipelineCore files that declare a
type its target names (FileMover, StatusStore, ...). Calls are read as `<client>.<method>(`, the
clients being the S3, DynamoDB, SSM and SQS clients the handlers hold as `s3`, `dynamoDB`, `ssm` and `sqs`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "Sources"

HANDLER_TARGETS = {
    "DropboxFunctionRole": "DropboxHandler",
    "IngestFunctionRole": "IngestHandler",
    "ProcessingFunctionRole": "ProcessingHandler",
}

# Client method -> the IAM actions it needs (Actions, resources and condition keys for S3,
# DynamoDB and Systems Manager). S3 buckets are not versioned (the template enables no
# versioning), so the *Version actions are not needed.
ACTIONS: dict[str, dict[str, list[str]]] = {
    "s3": {
        "headObject": ["s3:GetObject"],
        "getObject": ["s3:GetObject"],
        "readBytes": ["s3:GetObject"],
        "readPrefix": ["s3:GetObject"],
        "putObject": ["s3:PutObject"],
        "createMultipartUpload": ["s3:PutObject"],
        "uploadPart": ["s3:PutObject"],
        "completeMultipartUpload": ["s3:PutObject"],
        "abortMultipartUpload": ["s3:AbortMultipartUpload"],
        # CopyObject, or UploadPartCopy above the threshold (aborted when it fails)
        "copy": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        "deleteObject": ["s3:DeleteObject"],
        "listAllObjects": ["s3:ListBucket"],
        "listObjects": ["s3:ListBucket"],
    },
    "dynamoDB": {
        "getItem": ["dynamodb:GetItem"],
        "putItem": ["dynamodb:PutItem"],
        "updateItem": ["dynamodb:UpdateItem"],
        "deleteItem": ["dynamodb:DeleteItem"],
        "query": ["dynamodb:Query"],
        "queryAll": ["dynamodb:Query"],
        # A transaction needs the action of each kind of item it holds (TRANSACT_ITEMS below); when
        # its file builds none of them visibly, all four are assumed.
        "transactWriteItems": ["dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    },
    # The ESM receives and deletes the messages; the code only makes failed ones visible sooner.
    "sqs": {
        "queueURL": [],  # made from the record's queue ARN, no request
        "changeMessageVisibility": ["sqs:ChangeMessageVisibility"],
        "changeMessageVisibilityBatch": ["sqs:ChangeMessageVisibility"],
    },
    "ssm": {
        "getParameter": ["ssm:GetParameter"],
        "getParametersByPath": ["ssm:GetParametersByPath"],
        "getAllParametersByPath": ["ssm:GetParametersByPath"],
        "putParameter": ["ssm:PutParameter"],
        "deleteParameter": ["ssm:DeleteParameter"],
    },
}

# Table set-up (StatusStore.createTable) serves the tests and the local stack; no handler calls it.
SET_UP_ONLY = {"createTable", "waitUntilActive", "updateTimeToLive"}

# TransactWriteItem cases -> the action each needs.
TRANSACT_ITEMS = {
    "put": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "conditionCheck": "dynamodb:ConditionCheckItem",
}
TRANSACT_ITEM = re.compile(r"\.(" + "|".join(TRANSACT_ITEMS) + r")\(")

CALL = re.compile(r"\b(s3|dynamoDB|ssm|sqs)\.(\w+)\(")
DECLARATION = re.compile(r"^\s*(?:package |public |internal |private |fileprivate )*(?:final )?(?:struct|class|enum|actor|protocol) (\w+)", re.M)
# A missing object answers 404 only to a caller allowed s3:ListBucket (403 otherwise); code that
# tells a missing object apart therefore needs it on that bucket.
NOT_FOUND = re.compile(r"\bisS3NotFound\b")


def strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def handler_files(target: str) -> dict[Path, str]:
    own = {path: strip_comments(path.read_text()) for path in sorted((SOURCES / target).glob("*.swift"))}
    names = "\n".join(own.values())
    files = dict(own)
    for path in sorted((SOURCES / "PipelineCore").glob("*.swift")):
        text = strip_comments(path.read_text())
        if any(re.search(rf"\b{name}\b", names) for name in DECLARATION.findall(text)):
            files[path] = text
    return files


def actions_in(texts: list[str]) -> tuple[set[str], list[str]]:
    """The IAM actions the calls in `texts` need, and the calls no mapping knows."""
    actions: set[str] = set()
    unknown: list[str] = []
    for text in map(strip_comments, texts):
        for client, method in CALL.findall(text):
            if method in SET_UP_ONLY:
                continue
            needed = ACTIONS[client].get(method)
            if method == "transactWriteItems":
                kinds = {TRANSACT_ITEMS[kind] for kind in TRANSACT_ITEM.findall(text)}
                needed = sorted(kinds) if kinds else needed
            if needed is None:
                unknown.append(f"{client}.{method}")
            else:
                actions.update(needed)
        if NOT_FOUND.search(text):
            actions.add("s3:ListBucket")
    return actions, unknown


def used_actions(role: str) -> tuple[set[str], list[str]]:
    return actions_in(list(handler_files(HANDLER_TARGETS[role]).values()))


def set_up_calls_in_handlers() -> list[str]:
    """Table set-up called from a handler's own target (it must not be)."""
    found = []
    for target in HANDLER_TARGETS.values():
        for path in (SOURCES / target).glob("*.swift"):
            if re.search(r"\bStatusStore\.createTable\(|\b(" + "|".join(SET_UP_ONLY) + r")\(", strip_comments(path.read_text())):
                found.append(str(path.relative_to(ROOT)))
    return found
