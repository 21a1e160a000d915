"""Reads infra/template.yaml and answers questions about it for the tests.

CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...) become their long forms, and the
checks return lists of problems (empty when the template is right), so the tests can also show
that each check fails on a broken copy of the template.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterator

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"
DOCKERFILE_PATH = Path(__file__).resolve().parents[2] / "docker" / "Dockerfile"

SHORT_FORMS = [
    "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not", "And", "Or",
    "Select", "Split", "Sub", "Transform",
]


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that turns `!Ref X` into {"Ref": "X"}, `!GetAtt A.B` into
    {"Fn::GetAtt": ["A", "B"]}, `!Condition C` into {"Condition": "C"} and `!Name v` into
    {"Fn::Name": v}."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _short_form(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return {f"Fn::{name}": _construct(node, loader)}
    return construct


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return {"Ref": loader.construct_scalar(node)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return {"Condition": loader.construct_scalar(node)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    value = _construct(node, loader)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CloudFormationLoader.add_constructor("!Ref", _ref)
CloudFormationLoader.add_constructor("!Condition", _condition)
CloudFormationLoader.add_constructor("!GetAtt", _get_att)
for _name in SHORT_FORMS:
    CloudFormationLoader.add_constructor(f"!{_name}", _short_form(_name))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader subclass)


# ------------------------------------------------------------------ rendering intrinsics


def render(value: Any) -> list[str]:
    """Every string `value` can become, with references kept as ${Name} / ${Resource.Attribute}.
    An Fn::If gives both branches; AWS::NoValue gives nothing."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (int, float)):
        return [str(value)]
    if isinstance(value, list):
        return [text for item in value for text in render(item)]
    if isinstance(value, dict) and len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref":
            return [] if argument == "AWS::NoValue" else ["${" + argument + "}"]
        if key == "Fn::GetAtt":
            return ["${" + ".".join(argument) + "}"]
        if key == "Fn::If":
            return render(argument[1]) + render(argument[2])
        if key == "Fn::Sub":
            if isinstance(argument, str):
                return [argument]
            text, variables = argument
            results = [text]
            for name, replacement in variables.items():
                results = [r.replace("${" + name + "}", option) for r in results for option in render(replacement)]
            return results
        if key == "Fn::FindInMap":
            return ["FindInMap(" + ",".join(render(part)[0] for part in argument) + ")"]
    raise ValueError(f"cannot render {value!r}")


def branches(value: Any) -> list[Any]:
    """The values an item can be once conditions are settled (both sides of an Fn::If)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return branches(when_true) + branches(when_false)
    if value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ resources


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::Serverless::Function")


def role_name_of(function: dict[str, Any]) -> str:
    role = function["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", role
    return role["Fn::GetAtt"][0]


def sqs_events(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["Properties"] for e in function["Properties"].get("Events", {}).values() if e["Type"] == "SQS"]


def queue_name_of(event: dict[str, Any]) -> str:
    queue = event["Queue"]
    assert set(queue) == {"Fn::GetAtt"} and queue["Fn::GetAtt"][1] == "Arn", queue
    return queue["Fn::GetAtt"][0]


def policy_statements(role: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement of a role's inline policies, both sides of any Fn::If."""
    for policy in role["Properties"].get("Policies", []):
        for statement in as_list(policy["PolicyDocument"]["Statement"]):
            yield from branches(statement)


def granted(role: dict[str, Any]) -> dict[str, set[str]]:
    """Action -> the resources (rendered) an Allow statement grants it on."""
    grants: dict[str, set[str]] = {}
    for statement in policy_statements(role):
        if statement.get("Effect") != "Allow":
            continue
        for action in as_list(statement.get("Action", [])):
            grants.setdefault(action, set()).update(render(statement.get("Resource", [])))
    return grants


# ------------------------------------------------------------------ checks (lists of problems)

# Actions that touch data: their resources must be ARNs scoped to this stack's resources.
DATA_SERVICES = ("s3:", "dynamodb:", "sqs:", "ssm:", "es:", "aoss:", "logs:", "sns:", "kms:")


def least_privilege_problems(template: dict[str, Any], expected: dict[str, dict[str, set[str]]]) -> list[str]:
    """Each function's role grants exactly `expected[role]` (action -> resources), no wildcard
    action, no bare "*" resource, no managed policies, no NotAction/NotResource."""
    problems = []
    roles = {role_name_of(f) for f in functions(template).values()}
    if roles != set(expected):
        problems.append(f"function roles {sorted(roles)} != expected {sorted(expected)}")
    for role_name in sorted(roles):
        role = template["Resources"][role_name]
        properties = role["Properties"]
        if properties.get("ManagedPolicyArns"):
            problems.append(f"{role_name} attaches managed policies {properties['ManagedPolicyArns']}")
        principals = [s["Principal"] for s in as_list(properties["AssumeRolePolicyDocument"]["Statement"])]
        if principals != [{"Service": "lambda.amazonaws.com"}]:
            problems.append(f"{role_name} can be assumed by {principals}")
        for statement in policy_statements(role):
            for forbidden in ("NotAction", "NotResource", "NotPrincipal"):
                if forbidden in statement:
                    problems.append(f"{role_name} statement {statement.get('Sid')} uses {forbidden}")
            if statement.get("Effect") != "Allow":
                problems.append(f"{role_name} statement {statement.get('Sid')} is not an Allow")
        grants = granted(role)
        for action, where in sorted(grants.items()):
            if "*" in action or "?" in action:
                problems.append(f"{role_name} grants the wildcard action {action}")
            for resource in sorted(where):
                if resource == "*" or not (resource.startswith("arn:") or resource.startswith("${")):
                    problems.append(f"{role_name} grants {action} on the unscoped resource {resource!r}")
                elif action.startswith(DATA_SERVICES) and re.search(r":\*$|^arn:[^$]*:\*", resource):
                    problems.append(f"{role_name} grants {action} on a service-wide resource {resource!r}")
        wanted = expected.get(role_name, {})
        for action in sorted(set(grants) - set(wanted)):
            problems.append(f"{role_name} grants {action}, which its function does not use")
        for action in sorted(set(wanted) - set(grants)):
            problems.append(f"{role_name} lacks {action}")
        for action in sorted(set(grants) & set(wanted)):
            if grants[action] != wanted[action]:
                problems.append(f"{role_name} grants {action} on {sorted(grants[action])}, expected {sorted(wanted[action])}")
    return problems


def timeout_problems(template: dict[str, Any]) -> list[str]:
    """Each function's timeout and its queue's visibility timeout come from the same parameter
    through the Timeouts mapping, and every row keeps visibility >= 6 x timeout."""
    problems = []
    rows = template["Mappings"]["Timeouts"]
    for key, row in rows.items():
        if int(row["FunctionTimeout"]) != int(key):
            problems.append(f"Timeouts[{key}] has FunctionTimeout {row['FunctionTimeout']}")
        if not 1 <= int(row["FunctionTimeout"]) <= 900:
            problems.append(f"Timeouts[{key}] is outside Lambda's 1-900 s")
        if int(row["VisibilityTimeout"]) < 6 * int(row["FunctionTimeout"]):
            problems.append(f"Timeouts[{key}]: visibility {row['VisibilityTimeout']} < 6 x {row['FunctionTimeout']}")
        if int(row["VisibilityTimeout"]) > 43200:
            problems.append(f"Timeouts[{key}]: visibility above SQS's 12 hours")
    for name, function in functions(template).items():
        timeout = function["Properties"]["Timeout"]
        if set(timeout) != {"Fn::FindInMap"} or timeout["Fn::FindInMap"][0] != "Timeouts" \
                or timeout["Fn::FindInMap"][2] != "FunctionTimeout":
            problems.append(f"{name}'s Timeout does not come from the Timeouts mapping: {timeout}")
            continue
        parameter = timeout["Fn::FindInMap"][1]
        allowed = template["Parameters"][parameter["Ref"]].get("AllowedValues", [])
        if sorted(map(str, allowed)) != sorted(rows):
            problems.append(f"{parameter['Ref']} may be {allowed}, the mapping has {sorted(rows)}")
        for event in sqs_events(function):
            queue_name = queue_name_of(event)
            visibility = template["Resources"][queue_name]["Properties"].get("VisibilityTimeout")
            if visibility != {"Fn::FindInMap": ["Timeouts", parameter, "VisibilityTimeout"]}:
                problems.append(f"{queue_name}'s VisibilityTimeout is {visibility}, not Timeouts[{parameter}].VisibilityTimeout")
    return problems


def queue_problems(template: dict[str, Any]) -> list[str]:
    """Every function is fed by one SQS queue of its own, with a dead-letter queue after
    MaxReceiveCount receives, ReportBatchItemFailures, and batch size and maximum concurrency
    from parameters."""
    problems = []
    seen: set[str] = set()
    queues = resources(template, "AWS::SQS::Queue")
    for name, function in functions(template).items():
        events = sqs_events(function)
        if len(events) != 1:
            problems.append(f"{name} has {len(events)} SQS event sources")
            continue
        event = events[0]
        queue_name = queue_name_of(event)
        if queue_name in seen:
            problems.append(f"{queue_name} feeds more than one function")
        seen.add(queue_name)
        if event.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            problems.append(f"{name}'s event source lacks ReportBatchItemFailures")
        for field, value in (("BatchSize", event.get("BatchSize")),
                             ("MaximumConcurrency", event.get("ScalingConfig", {}).get("MaximumConcurrency"))):
            if not (isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template["Parameters"]):
                problems.append(f"{name}'s {field} is not a parameter: {value}")
        redrive = queues.get(queue_name, {}).get("Properties", {}).get("RedrivePolicy")
        if not redrive:
            problems.append(f"{queue_name} has no dead-letter queue")
            continue
        target = redrive.get("deadLetterTargetArn", {})
        dlq = target.get("Fn::GetAtt", [None])[0] if isinstance(target, dict) else None
        if dlq not in queues or dlq == queue_name:
            problems.append(f"{queue_name}'s dead-letter target {target} is not another queue of the stack")
        if redrive.get("maxReceiveCount") != {"Ref": "MaxReceiveCount"}:
            problems.append(f"{queue_name}'s maxReceiveCount is {redrive.get('maxReceiveCount')}, not MaxReceiveCount")
    return problems


def _bucket_name_arn(bucket: dict[str, Any]) -> str:
    return "arn:${AWS::Partition}:s3:::" + render(bucket["Properties"]["BucketName"])[0]


def bucket_problems(template: dict[str, Any]) -> list[str]:
    """Every bucket is encrypted, blocks public access, and has a policy denying requests
    without TLS on the bucket and its objects; its notifications reach queues whose policies let
    exactly this bucket (and account) send, and it waits for those policies."""
    problems = []
    policies = resources(template, "AWS::S3::BucketPolicy")
    queue_policies = resources(template, "AWS::SQS::QueuePolicy")
    for name, bucket in resources(template, "AWS::S3::Bucket").items():
        properties = bucket["Properties"]
        rules = properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if not any(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") in ("AES256", "aws:kms") for r in rules):
            problems.append(f"{name} is not encrypted")
        block = properties.get("PublicAccessBlockConfiguration", {})
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if block.get(flag) is not True:
                problems.append(f"{name} does not set {flag}")
        tls_only = False
        for policy in policies.values():
            if policy["Properties"]["Bucket"] != {"Ref": name}:
                continue
            for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                covered = set(render(statement.get("Resource", [])))
                if statement.get("Effect") == "Deny" and statement.get("Principal") == "*" \
                        and statement.get("Action") in ("s3:*", ["s3:*"]) \
                        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} \
                        and covered == {"${" + name + ".Arn}", "${" + name + ".Arn}/*"}:
                    tls_only = True
        if not tls_only:
            problems.append(f"{name} has no policy denying requests without TLS")
        notifications = properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        depends = set(as_list(bucket.get("DependsOn", [])))
        for notification in notifications:
            queue = notification["Queue"]["Fn::GetAtt"][0]
            allowing = [
                policy_name for policy_name, policy in queue_policies.items()
                if {"Ref": queue} in policy["Properties"]["Queues"]
                and any(
                    s.get("Effect") == "Allow" and s.get("Principal") == {"Service": "s3.amazonaws.com"}
                    and s.get("Action") == "sqs:SendMessage"
                    and render(s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", "")) == [_bucket_name_arn(bucket)]
                    and s.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}
                    for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"]))
            ]
            if not allowing:
                problems.append(f"no queue policy lets {name} send to {queue}")
            elif not depends & set(allowing):
                problems.append(f"{name} does not depend on {allowing[0]} (S3 checks it when notifications are set)")
    return problems


def alarm_problems(template: dict[str, Any]) -> list[str]:
    """Dead-letter queue depth, function errors and throttles each have an alarm that notifies
    the SNS topic, which has an e-mail subscription for the administrators."""
    problems = []
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    topics = resources(template, "AWS::SNS::Topic")
    watched: set[tuple[str, str, str]] = set()
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        actions = properties.get("AlarmActions", [])
        if not actions or any(not (isinstance(a, dict) and a.get("Ref") in topics) for a in actions):
            problems.append(f"{name} does not notify the stack's SNS topic: {actions}")
        for dimension in properties.get("Dimensions", []):
            value = dimension["Value"]
            target = value.get("Ref") or value.get("Fn::GetAtt", [None])[0]
            watched.add((properties["Namespace"], properties["MetricName"], target))
        if properties.get("ComparisonOperator") != "GreaterThanThreshold" or float(properties.get("Threshold", -1)) != 0:
            problems.append(f"{name} does not fire on the first occurrence")
    for name, function in functions(template).items():
        for metric in ("Errors", "Throttles"):
            if ("AWS/Lambda", metric, name) not in watched:
                problems.append(f"no alarm on {name}'s {metric}")
        for event in sqs_events(function):
            queue = template["Resources"][queue_name_of(event)]
            dlq = queue["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn", {}).get("Fn::GetAtt", [None])[0]
            if ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq) not in watched:
                problems.append(f"no alarm on the depth of {dlq}")
    subscriptions = resources(template, "AWS::SNS::Subscription")
    for topic in topics:
        if not any(s["Properties"]["TopicArn"] == {"Ref": topic} and s["Properties"]["Protocol"] == "email"
                   and s["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"} for s in subscriptions.values()):
            problems.append(f"{topic} has no e-mail subscription to AlarmEmail")
    return problems


def mutated(template: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(template)
