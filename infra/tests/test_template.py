"""Checks infra/template.yaml: least-privilege roles, queues, timeouts, buckets, alarms, table.

Each check is also run on a deliberately broken copy of the template, to show it can fail.
"""

from __future__ import annotations

import pytest

import code_grants as cg
import template_model as tm

ARN = "arn:${AWS::Partition}"
SSM = ARN + ":ssm:${AWS::Region}:${AWS::AccountId}:parameter"
TABLE = {
    "${StatusTable.Arn}",
    "${StatusTable.Arn}/index/file_name_index",
    "${StatusTable.Arn}/index/dataset_time_index",
}
STATUS_ROWS = {f"dynamodb:{a}": TABLE for a in ("GetItem", "UpdateItem", "Query")}


# What the event source mapping does with the function's role (not the function's code).
EVENT_SOURCE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def receive(queue: str) -> dict[str, set[str]]:
    """The event source mapping's receiving, and the code's making failed messages visible sooner."""
    actions = sorted(EVENT_SOURCE_ACTIONS) + ["sqs:ChangeMessageVisibility"]
    return {a: {"${" + queue + ".Arn}"} for a in actions}


def logs(group: str) -> dict[str, set[str]]:
    return {f"logs:{a}": {"${" + group + ".Arn}"} for a in ("CreateLogStream", "PutLogEvents")}


# What each function does, so what its role may do: action -> resources. A change to what a
# handler needs is a change here, reviewed.
EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    "DropboxFunctionRole": {
        **logs("DropboxLogGroup"),
        **receive("DropboxQueue"),
        **STATUS_ROWS,
        # Read and remove what providers drop; copy it to in/ (server-side, maybe multipart) or to
        # rejected/, and read the copy's head back to verify it (and an earlier rejection's report).
        "s3:GetObject": {"${DropboxBucket.Arn}/${DropboxPrefix}*", "${DropboxBucket.Arn}/rejected/*", "${IngestBucket.Arn}/in/*"},
        "s3:DeleteObject": {"${DropboxBucket.Arn}/${DropboxPrefix}*"},
        "s3:PutObject": {"${DropboxBucket.Arn}/rejected/*", "${IngestBucket.Arn}/in/*"},
        "s3:AbortMultipartUpload": {"${DropboxBucket.Arn}/rejected/*", "${IngestBucket.Arn}/in/*"},
        # 404 rather than 403 for a missing object (a vanished file, a move not finished).
        "s3:ListBucket": {"${DropboxBucket.Arn}", "${IngestBucket.Arn}"},
        "ssm:GetParameter": {SSM + "${DatasetsParameterName}"},
    },
    "IngestFunctionRole": {
        **logs("IngestLogGroup"),
        **receive("IngestQueue"),
        **STATUS_ROWS,
        "s3:GetObject": {"${IngestBucket.Arn}/in/*", "${IngestBucket.Arn}/processed/*", "${IngestBucket.Arn}/failed/*"},
        "s3:DeleteObject": {"${IngestBucket.Arn}/in/*"},
        "s3:ListBucket": {"${IngestBucket.Arn}"},
        "s3:PutObject": {"${IngestBucket.Arn}/processed/*", "${IngestBucket.Arn}/failed/*"},
        "s3:AbortMultipartUpload": {"${IngestBucket.Arn}/processed/*", "${IngestBucket.Arn}/failed/*"},
        "ssm:GetParameter": {SSM + "${DatasetsParameterName}"},
        # A managed domain (the stack's own or an existing one) ...
        **{f"es:{a}": {
            ARN + ":es:${AWS::Region}:${AWS::AccountId}:domain/${OpenSearchDomainName}/*",
            ARN + ":es:${AWS::Region}:${AWS::AccountId}:domain/${ExistingOpenSearchName}/*",
        } for a in ("ESHttpGet", "ESHttpHead", "ESHttpPost", "ESHttpPut")},
        # ... or an existing Serverless collection.
        "aoss:APIAccessAll": {ARN + ":aoss:${AWS::Region}:${AWS::AccountId}:collection/${ExistingOpenSearchName}"},
    },
    "ProcessingFunctionRole": {
        **logs("ProcessingLogGroup"),
        **receive("ProcessingQueue"),
        **STATUS_ROWS,
        # Each applied extract's marker item, written in one transaction with the watermark guard.
        "dynamodb:PutItem": {"${StatusTable.Arn}"},
        "s3:GetObject": {"${IngestBucket.Arn}/${ProcessingTriggerPrefix}*", "${ProcessedBucket.Arn}/*"},
        "s3:ListBucket": {"${IngestBucket.Arn}", "${ProcessedBucket.Arn}"},
        "s3:PutObject": {"${ProcessedBucket.Arn}/*"},
        "s3:AbortMultipartUpload": {"${ProcessedBucket.Arn}/*"},
        "ssm:GetParameter": {
            SSM + "${DatasetsParameterName}",
            SSM + "${StarSchemaParameterName}",
            SSM + "${WatermarkParameterPrefix}*",
        },
        "ssm:PutParameter": {SSM + "${WatermarkParameterPrefix}*"},
    },
}

COMMON_VARIABLES = {
    "INGEST_STATUS_TABLE", "INGEST_STATUS_FILE_NAME_GSI", "MAX_FILE_SIZE_MB", "DATASETS_PARAMETER",
    "METRICS_NAMESPACE", "CONSOLE_LOG_LEVEL",
}
HANDLER_VARIABLES = {
    "DropboxFunction": {"DROPBOX_BUCKET_NAME", "DROPBOX_PREFIX", "INGEST_BUCKET_NAME"},
    "IngestFunction": {"INGEST_BUCKET_NAME", "OPEN_SEARCH_ENDPOINT", "OPEN_SEARCH_SERVICE"},
    "ProcessingFunction": {"PROCESSED_BUCKET_NAME", "STAR_SCHEMA_PARAMETER", "WATERMARK_PARAMETER_PREFIX"},
}
IMAGES = {"DropboxFunction": "DropboxImageUri", "IngestFunction": "IngestImageUri", "ProcessingFunction": "ProcessingImageUri"}


@pytest.fixture(scope="module")
def template():
    return tm.load_template()


def statement(template, role: str, sid: str) -> dict:
    for candidate in tm.policy_statements(template["Resources"][role]):
        if candidate.get("Sid") == sid:
            return candidate
    raise KeyError(sid)


# ------------------------------------------------------------------ loading


def test_short_form_tags_load_as_long_forms(template):
    dropbox = template["Resources"]["DropboxFunction"]["Properties"]
    assert dropbox["Role"] == {"Fn::GetAtt": ["DropboxFunctionRole", "Arn"]}
    assert dropbox["ImageUri"] == {"Ref": "DropboxImageUri"}
    assert dropbox["Timeout"] == {"Fn::FindInMap": ["Timeouts", {"Ref": "DropboxTimeout"}, "FunctionTimeout"]}
    assert template["Conditions"]["ExpireFailed"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "FailedExpiryDays"}, 0]}]}
    assert template["Transform"] == "AWS::Serverless-2016-10-31"


# ------------------------------------------------------------------ least privilege


def test_each_function_role_grants_only_the_actions_and_resources_its_handler_uses(template):
    assert tm.least_privilege_problems(template, EXPECTED_GRANTS) == []


def test_no_function_role_has_a_wildcard_action_or_an_unscoped_resource(template):
    for role in EXPECTED_GRANTS:
        for action, where in tm.granted(template["Resources"][role]).items():
            assert "*" not in action, (role, action)
            assert "*" not in where, (role, action)
            assert all(r.startswith(("arn:", "${")) for r in where), (role, action, where)


def test_an_added_wildcard_action_is_reported(template):
    broken = tm.mutated(template)
    statement(broken, "DropboxFunctionRole", "StatusRows")["Action"] = ["dynamodb:*"]
    problems = tm.least_privilege_problems(broken, EXPECTED_GRANTS)
    assert "DropboxFunctionRole grants the wildcard action dynamodb:*" in problems


def test_an_unused_action_or_a_wider_resource_is_reported(template):
    broken = tm.mutated(template)
    statement(broken, "IngestFunctionRole", "ReadAndRemoveIncomingFiles")["Resource"] = {"Fn::Sub": "${IngestBucket.Arn}/*"}
    statement(broken, "ProcessingFunctionRole", "ReadExtracts")["Action"] = ["s3:GetObject", "s3:DeleteObject"]
    problems = tm.least_privilege_problems(broken, EXPECTED_GRANTS)
    assert any(p.startswith("IngestFunctionRole grants s3:DeleteObject on ['${IngestBucket.Arn}/*']") for p in problems), problems
    assert "ProcessingFunctionRole grants s3:DeleteObject, which its function does not use" in problems


def test_each_role_grants_exactly_the_s3_dynamodb_ssm_and_sqs_actions_its_handler_code_calls():
    for role, grants in EXPECTED_GRANTS.items():
        used, unknown = cg.used_actions(role)
        assert unknown == [], f"{role}: calls no mapping in code_grants.ACTIONS knows: {unknown}"
        expected = {a for a in grants if a.startswith(("s3:", "dynamodb:", "ssm:", "sqs:")) and a not in EVENT_SOURCE_ACTIONS}
        assert expected == used, (role, "granted, not called:", sorted(expected - used), "called, not granted:", sorted(used - expected))
    assert cg.set_up_calls_in_handlers() == []


def test_the_code_reading_sees_a_new_call_and_a_missing_object_check():
    used, unknown = cg.actions_in(["try await s3.deleteObject(bucket: b, key: k)", "x = try await dynamoDB.scan(t)"])
    assert used == {"s3:DeleteObject"} and unknown == ["dynamoDB.scan"]
    assert cg.actions_in(["} catch { if error.isS3NotFound { return nil } }"])[0] == {"s3:ListBucket"}
    assert cg.actions_in(["// s3.deleteObject( in a comment", "StatusStore.createTable(db, table: t)"])[0] == set()
    # A transaction needs the actions of the kinds of item it holds; unseen kinds, all four.
    transaction = "try await dynamoDB.transactWriteItems(TransactWriteRequest(items: [.update(request), .put(put)]))"
    assert cg.actions_in([transaction])[0] == {"dynamodb:UpdateItem", "dynamodb:PutItem"}
    assert cg.actions_in(["try await dynamoDB.transactWriteItems(request)"])[0] == {
        "dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    processing, _ = cg.used_actions("ProcessingFunctionRole")
    assert "s3:DeleteObject" not in processing and "ssm:PutParameter" in processing


def test_a_bare_star_resource_or_a_managed_policy_is_reported(template):
    broken = tm.mutated(template)
    statement(broken, "ProcessingFunctionRole", "Watermarks")["Resource"] = "*"
    broken["Resources"]["IngestFunctionRole"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
    problems = tm.least_privilege_problems(broken, EXPECTED_GRANTS)
    assert "ProcessingFunctionRole grants ssm:PutParameter on the unscoped resource '*'" in problems
    assert any(p.startswith("IngestFunctionRole attaches managed policies") for p in problems)


def test_the_created_domain_lets_only_the_ingest_role_use_its_indices(template):
    domain = template["Resources"]["OpenSearchDomain"]
    assert domain["Condition"] == "CreateOpenSearchDomain"
    statements = domain["Properties"]["AccessPolicies"]["Statement"]
    assert len(statements) == 1
    only = statements[0]
    assert only["Principal"] == {"AWS": {"Fn::GetAtt": ["IngestFunctionRole", "Arn"]}}
    assert sorted(only["Action"]) == ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    assert tm.render(only["Resource"]) == [ARN + ":es:${AWS::Region}:${AWS::AccountId}:domain/${OpenSearchDomainName}/*"]
    properties = domain["Properties"]
    assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert properties["EncryptionAtRestOptions"] == {"Enabled": True}
    assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}


# ------------------------------------------------------------------ functions, queues, timeouts


def test_functions_are_container_images_with_their_settings(template):
    functions = tm.functions(template)
    assert set(functions) == set(IMAGES)
    common = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert common == COMMON_VARIABLES
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["PackageType"] == "Image", name
        assert properties["ImageUri"] == {"Ref": IMAGES[name]}, name
        assert properties["MemorySize"]["Ref"] in template["Parameters"], name
        assert set(properties["Environment"]["Variables"]) == HANDLER_VARIABLES[name], name
        logging = properties["LoggingConfig"]
        assert logging["LogFormat"] == "JSON" and logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}, name


def test_every_queue_has_a_dead_letter_queue_and_partial_batch_failures(template):
    assert tm.queue_problems(template) == []
    assert template["Parameters"]["MaxReceiveCount"]["Default"] == 3


def test_a_queue_without_a_dead_letter_queue_or_batch_failures_is_reported(template):
    broken = tm.mutated(template)
    del broken["Resources"]["IngestQueue"]["Properties"]["RedrivePolicy"]
    event = tm.sqs_events(broken["Resources"]["ProcessingFunction"])[0]
    del event["FunctionResponseTypes"]
    event["BatchSize"] = 10
    problems = tm.queue_problems(broken)
    assert "IngestQueue has no dead-letter queue" in problems
    assert "ProcessingFunction's event source lacks ReportBatchItemFailures" in problems
    assert "ProcessingFunction's BatchSize is not a parameter: 10" in problems


def test_visibility_timeout_is_at_least_six_times_the_function_timeout_for_every_allowed_value(template):
    assert tm.timeout_problems(template) == []
    for name, function in tm.functions(template).items():
        parameter = function["Properties"]["Timeout"]["Fn::FindInMap"][1]["Ref"]
        queue = template["Resources"][tm.queue_name_of(tm.sqs_events(function)[0])]
        for value in template["Parameters"][parameter]["AllowedValues"]:
            row = template["Mappings"]["Timeouts"][str(value)]
            key = queue["Properties"]["VisibilityTimeout"]["Fn::FindInMap"][2]
            assert row[key] >= 6 * int(value), (name, value)


def test_a_short_visibility_timeout_is_reported(template):
    broken = tm.mutated(template)
    broken["Mappings"]["Timeouts"]["300"]["VisibilityTimeout"] = 900
    broken["Resources"]["DropboxQueue"]["Properties"]["VisibilityTimeout"] = 720
    problems = tm.timeout_problems(broken)
    assert "Timeouts[300]: visibility 900 < 6 x 300" in problems
    assert any(p.startswith("DropboxQueue's VisibilityTimeout is 720") for p in problems)


# ------------------------------------------------------------------ buckets


def test_buckets_are_encrypted_private_tls_only_and_notify_their_queues(template):
    assert set(tm.resources(template, "AWS::S3::Bucket")) == {"DropboxBucket", "IngestBucket", "ProcessedBucket"}
    assert tm.bucket_problems(template) == []


def test_a_public_unencrypted_or_plain_http_bucket_is_reported(template):
    broken = tm.mutated(template)
    processed = broken["Resources"]["ProcessedBucket"]["Properties"]
    del processed["BucketEncryption"]
    processed["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False
    del broken["Resources"]["DropboxBucketPolicy"]
    broken["Resources"]["IngestBucket"]["DependsOn"] = ["IngestQueuePolicy"]
    problems = tm.bucket_problems(broken)
    assert "ProcessedBucket is not encrypted" in problems
    assert "ProcessedBucket does not set RestrictPublicBuckets" in problems
    assert "DropboxBucket has no policy denying requests without TLS" in problems
    assert any(p.startswith("IngestBucket does not depend on ProcessingQueuePolicy") for p in problems), problems


def test_notifications_cover_the_dropbox_prefix_in_and_the_processing_prefix(template):
    def prefixes(bucket):
        configs = template["Resources"][bucket]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        return {c["Queue"]["Fn::GetAtt"][0]: c["Filter"]["S3Key"]["Rules"][0]["Value"] for c in configs}
    assert prefixes("DropboxBucket") == {"DropboxQueue": {"Ref": "DropboxPrefix"}}
    assert prefixes("IngestBucket") == {"IngestQueue": "in/", "ProcessingQueue": {"Ref": "ProcessingTriggerPrefix"}}


def test_expiry_rules_are_optional_and_name_their_prefixes(template):
    def rules(bucket):
        found = {}
        for rule in template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]:
            if "Fn::If" in rule:
                condition, body, otherwise = rule["Fn::If"]
                assert otherwise == {"Ref": "AWS::NoValue"}
                found[body["Prefix"]] = (condition, body["ExpirationInDays"])
        return found
    assert rules("DropboxBucket") == {"rejected/": ("ExpireRejected", {"Ref": "RejectedExpiryDays"})}
    assert rules("IngestBucket") == {
        "processed/": ("ExpireProcessed", {"Ref": "ProcessedExpiryDays"}),
        "failed/": ("ExpireFailed", {"Ref": "FailedExpiryDays"}),
    }


# ------------------------------------------------------------------ table, settings, alarms


def test_status_table_has_the_keys_indexes_ttl_and_recovery_the_handlers_use(template):
    table = template["Resources"]["StatusTable"]
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": "file_id", "KeyType": "HASH"}, {"AttributeName": "stage", "KeyType": "RANGE"}]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in properties["GlobalSecondaryIndexes"]}
    assert indexes == {"file_name_index": ["file_name", "updated_at"], "dataset_time_index": ["dataset", "updated_at"]}
    assert all(a["AttributeType"] == "S" for a in properties["AttributeDefinitions"])
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain"
    backup = {n: r for n, r in template["Resources"].items() if r["Type"].startswith("AWS::Backup::")}
    assert set(backup) == {"BackupVault", "BackupPlan", "BackupSelection"}
    assert all(r["Condition"] == "BackupEnabled" for r in backup.values())
    assert backup["BackupSelection"]["Properties"]["BackupSelection"]["Resources"] == [{"Fn::GetAtt": ["StatusTable", "Arn"]}]


def test_settings_documents_are_ssm_parameters_the_functions_name(template):
    parameters = tm.resources(template, "AWS::SSM::Parameter")
    names = {p["Properties"]["Name"]["Ref"] for p in parameters.values()}
    assert names == {"DatasetsParameterName", "StarSchemaParameterName"}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["DATASETS_PARAMETER"] == {"Ref": "DatasetsParameterName"}
    processing = template["Resources"]["ProcessingFunction"]["Properties"]["Environment"]["Variables"]
    assert processing["STAR_SCHEMA_PARAMETER"] == {"Ref": "StarSchemaParameterName"}
    assert template["Parameters"]["WatermarkParameterPrefix"]["Default"] == "/pipeline/watermarks/"


def test_alarms_watch_dead_letters_errors_and_throttles_and_notify_administrators(template):
    assert tm.alarm_problems(template) == []


def test_a_missing_or_unwired_alarm_is_reported(template):
    broken = tm.mutated(template)
    del broken["Resources"]["IngestThrottlesAlarm"]
    broken["Resources"]["DropboxDeadLetterAlarm"]["Properties"]["AlarmActions"] = []
    problems = tm.alarm_problems(broken)
    assert "no alarm on IngestFunction's Throttles" in problems
    assert any(p.startswith("DropboxDeadLetterAlarm does not notify") for p in problems)
