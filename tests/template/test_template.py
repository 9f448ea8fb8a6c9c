"""Checks of the SAM template (template.yaml) and samconfig.toml.

Every property check is a small function that returns the problems it finds (an empty list when
the template is right), so the same function can be run on a deliberately broken copy of the
template to prove that it notices the breakage (the tests named `test_the_*_check_flags_*`).

Run from the repository root:
    python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt
    .venv/bin/python -m pytest -q tests/template
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
SAMCONFIG_PATH = ROOT / "samconfig.toml"

FUNCTION = "OutboundChatFunction"
ROLE = "OutboundChatFunctionRole"
RULE = "OutboundChatRequestedRule"
DEAD_LETTER_QUEUES = [
    "RequestDeadLetterQueue",
    "EventBridgeDeadLetterQueue",
    "AsyncFailureQueue",
    "ContactEventDeadLetterQueue",
]

# The function's configuration (contract section 4, plus the metrics namespace) and the
# parameter each variable comes from. Optional ones are left out when their parameter is empty.
REQUIRED_VARIABLES = {
    "CONNECT_INSTANCE_ID": "ConnectInstanceId",
    "CONNECT_CONTACT_FLOW_ID": "ContactFlowId",
    "MAX_IN_FLIGHT": "MaxInFlight",
    "METRICS_NAMESPACE": "MetricsNamespace",
    "DEFAULT_CATEGORY": "DefaultCategory",
    "SMS_SMART_ENCODING": "SmsSmartEncoding",
    "REQUEUE_MAX_HOURS": "RequeueMaxHours",
    "FLOW_TIME_LIMIT_SECONDS": "FlowTimeLimitSeconds",
}
OPTIONAL_VARIABLES = {
    "SMS_SOURCE_PHONE_NUMBER_ARN": "SmsSourcePhoneNumberArn",
    "WHATSAPP_SOURCE_PHONE_NUMBER_ARN": "WhatsAppSourcePhoneNumberArn",
    "DEFAULT_CHAT_DURATION_MINUTES": "DefaultChatDurationMinutes",
    "CONNECT_MAX_REQUESTS_PER_SECOND": "ConnectMaxRequestsPerSecond",
    "SEND_WINDOW": "SendWindow",
    "SEND_WINDOW_SMS": "SendWindowSms",
    "SEND_WINDOW_WHATSAPP": "SendWindowWhatsApp",
    "SEND_WINDOW_CATEGORIES": "SendWindowCategories",
    "DEFAULT_TIME_ZONE": "DefaultTimeZone",
    "SMS_MAX_SEGMENTS": "SmsMaxSegments",
}
# Set only when some send window is (contract section 6): the queue deferred requests wait in.
WINDOW_VARIABLES = {"REQUEST_QUEUE_URL": {"Ref": "RequestQueue"}}

# Recipient protection (contract section 6): set only when the stack creates its state.
PROTECTION_VARIABLES = {
    "STATE_TABLE_NAME",
    "RECIPIENT_HASH_KEY",
    "FREQUENCY_CAPS",
    "FREQUENCY_CAP_SCOPE",
    "FREQUENCY_CAP_CATEGORIES",
    # The ledger (contract section 7), in the same table.
    "LEDGER",
    "LEDGER_RETENTION_DAYS",
    "OUTCOME_EVENT_BUS",
}
STATE_TABLE = "StateTable"
HASH_KEY_SECRET = "RecipientHashKeySecret"
HASH_KEY_REFERENCE = "{{resolve:secretsmanager:${RecipientHashKeySecret}:SecretString}}"

INSTANCE_ARN = "arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:instance/${ConnectInstanceId}"
ACCOUNT_PHONE_NUMBERS = "arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:phone-number/*"

# Every action the function's role may hold, and the template resources a statement may scope it
# to (SendMessage: the async failure destination, and the request queue for re-sent throttled
# records and deferrals).
NON_CONNECT_GRANTS = {
    "sqs:ReceiveMessage": {"RequestQueue", "ContactEventQueue"},
    "sqs:DeleteMessage": {"RequestQueue", "ContactEventQueue"},
    "sqs:GetQueueAttributes": {"RequestQueue", "ContactEventQueue"},
    "sqs:ChangeMessageVisibility": {"RequestQueue"},
    "sqs:SendMessage": {"AsyncFailureQueue", "RequestQueue"},
    "logs:CreateLogStream": {"FunctionLogGroup"},
    "logs:PutLogEvents": {"FunctionLogGroup"},
    # The recipient-state table: the batch's look-ups (BatchGetItem) and the items of its
    # TransactWriteItems (ConditionCheckItem; PutItem, a cap count written whole under its
    # version; UpdateItem, DeleteItem).
    "dynamodb:BatchGetItem": {STATE_TABLE},
    "dynamodb:PutItem": {STATE_TABLE},
    "dynamodb:ConditionCheckItem": {STATE_TABLE},
    "dynamodb:UpdateItem": {STATE_TABLE},
    "dynamodb:DeleteItem": {STATE_TABLE},
}

# Grants scoped to something other than one resource's ARN, each to exactly this resource: the
# ledger's index on the contact id, and the outcome bus (given as a name or an ARN).
SCOPED_GRANTS = {
    "dynamodb:Query": {"Fn::Sub": "${StateTable.Arn}/index/byContactId"},
    "events:PutEvents": {
        "Fn::If": [
            "OutcomeBusIsArn",
            {"Ref": "OutcomeEventBus"},
            {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${OutcomeEventBus}"},
        ]
    },
}


# --------------------------------------------------------------------------- loading


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that turns the short-form intrinsic tags into their long form."""


def _construct_intrinsic(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template() -> dict[str, Any]:
    with TEMPLATE_PATH.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CloudFormationLoader)  # noqa: S506 (SafeLoader subclass)


@pytest.fixture(scope="module")
def pristine() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def template(pristine: dict[str, Any]) -> dict[str, Any]:
    """A private copy: a test may mutate it without affecting the others."""
    return copy.deepcopy(pristine)


# --------------------------------------------------------------------------- helpers


def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources(template)[logical_id].get("Properties", {})


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources(template).items() if v.get("Type") == resource_type}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def branches(value: Any) -> Iterator[Any]:
    """The values an expression may take: both branches of an Fn::If, minus AWS::NoValue."""
    if isinstance(value, dict) and "Fn::If" in value:
        _condition, when_true, when_false = value["Fn::If"]
        yield from branches(when_true)
        yield from branches(when_false)
    elif value == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield value


def flat(value: Any) -> list[Any]:
    """A Resource/Action value as the list of single values it may contain."""
    out: list[Any] = []
    for possible in branches(value):
        for item in as_list(possible):
            out.extend(branches(item))
    return out


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, mapping) in the document, recursively."""
    if isinstance(node, dict):
        yield path, node
        for key, child in node.items():
            yield from walk(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from walk(child, f"{path}/{index}")


def sub_string(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def getatt_target(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def function_events(template: dict[str, Any], event_type: str) -> dict[str, dict[str, Any]]:
    events = props(template, FUNCTION).get("Events", {})
    return {k: v.get("Properties", {}) for k, v in events.items() if v.get("Type") == event_type}


def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for item in props(template, ROLE).get("Policies", []):
        for policy in branches(item):
            statements.extend(as_list(policy["PolicyDocument"]["Statement"]))
    for policy in props(template, FUNCTION).get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            statements.extend(as_list(policy["Statement"]))
        else:
            statements.append({"Effect": "Allow", "Action": f"<SAM policy {policy!r}>", "Resource": "?"})
    return statements


# --------------------------------------------------------------------------- checkers


def statements_granting_every_resource(document: dict[str, Any]) -> list[str]:
    """Paths of every Resource / NotResource that is, or may be, "*"."""
    found = []
    for path, mapping in walk(document):
        for key in ("Resource", "NotResource"):
            if key in mapping and any(sub_string(v) == "*" for v in flat(mapping[key])):
                found.append(f"{path}/{key}")
    return found


def problems_with_connect_permissions(template: dict[str, Any]) -> list[str]:
    problems = []
    connect_resources: list[Any] = []
    for statement in role_statements(template):
        actions = flat(statement.get("Action", [])) + flat(statement.get("NotAction", []))
        connect_actions = [a for a in actions if not isinstance(a, str) or a.lower().startswith("connect:")]
        if not connect_actions:
            continue
        if connect_actions != actions or actions != ["connect:StartOutboundChatContact"]:
            problems.append(f"a statement grants {actions}; only connect:StartOutboundChatContact is allowed")
        if "NotAction" in statement or "NotResource" in statement or statement.get("Effect") != "Allow":
            problems.append("the Connect statement must be a plain Allow of Action on Resource")
        connect_resources.extend(flat(statement.get("Resource", [])))
    if not connect_resources:
        problems.append("no statement grants connect:StartOutboundChatContact")
    for resource in connect_resources:
        text = sub_string(resource)
        allowed = (
            text in (INSTANCE_ARN, INSTANCE_ARN + "/*", ACCOUNT_PHONE_NUMBERS)
            or resource in ({"Ref": "SmsSourcePhoneNumberArn"}, {"Ref": "WhatsAppSourcePhoneNumberArn"})
        )
        if not allowed:
            problems.append(f"Connect resource {resource!r} is not the instance or a source number")
    return problems


def problems_with_other_permissions(template: dict[str, Any]) -> list[str]:
    problems = []
    if props(template, ROLE).get("ManagedPolicyArns"):
        problems.append("the function role has managed policies (AWS managed ones grant Resource '*')")
    if "Role" in props(template, FUNCTION) and getatt_target(props(template, FUNCTION)["Role"]) != ROLE:
        problems.append("the function does not use the template's role")
    for statement in role_statements(template):
        actions = flat(statement.get("Action", []))
        if any(isinstance(a, str) and a.lower().startswith("connect:") for a in actions):
            continue  # problems_with_connect_permissions' business
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            problems.append(f"statement {statement!r} must be a plain Allow")
        for action in actions:
            if action in SCOPED_GRANTS:
                if statement.get("Resource") != SCOPED_GRANTS[action]:
                    problems.append(f"{action} is granted on {statement.get('Resource')!r}, not on {SCOPED_GRANTS[action]!r}")
                continue
            expected = NON_CONNECT_GRANTS.get(action)
            if expected is None:
                problems.append(f"action {action!r} is not one the function needs")
                continue
            targets = {getatt_target(r) for r in flat(statement.get("Resource", []))}
            if len(targets) != 1 or not targets <= expected:
                problems.append(f"{action} is granted on {statement.get('Resource')!r}, not on one of {expected}")
    return problems


def problems_with_http_authorization(template: dict[str, Any]) -> list[str]:
    problems = []
    apis = of_type(template, "AWS::Serverless::HttpApi")
    if not apis:
        problems.append("no HTTP API")
    for name, api in apis.items():
        auth = api.get("Properties", {}).get("Auth", {})
        if auth.get("DefaultAuthorizer") != "AWS_IAM" or auth.get("EnableIamAuthorizer") is not True:
            problems.append(f"{name}: DefaultAuthorizer must be AWS_IAM with EnableIamAuthorizer: true")
    for name, resource in resources(template).items():
        if resource.get("Type") == "AWS::Serverless::Function" and "FunctionUrlConfig" in resource.get("Properties", {}):
            problems.append(f"{name}: a function URL bypasses the HTTP API's IAM authorization")
        for event_name, event in resource.get("Properties", {}).get("Events", {}).items():
            kind, properties = event.get("Type"), event.get("Properties", {})
            if kind == "Api":
                problems.append(f"{event_name}: a REST API route is not covered by these checks")
            if kind != "HttpApi":
                continue
            if properties.get("ApiId") not in [{"Ref": api} for api in apis]:
                problems.append(f"{event_name}: route not on a declared HttpApi (SAM's implicit API has no IAM auth)")
            if properties.get("Auth", {}).get("Authorizer") != "AWS_IAM":
                problems.append(f"{event_name}: route does not say Auth: Authorizer: AWS_IAM")
    return problems


def problems_with_sqs_event(template: dict[str, Any]) -> list[str]:
    events = function_events(template, "SQS")
    if len(events) != 1:
        return [f"expected one SQS event, found {len(events)}"]
    (event,) = events.values()
    problems = []
    if getatt_target(event.get("Queue")) != "RequestQueue":
        problems.append("the SQS event does not read RequestQueue")
    if event.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        problems.append("ReportBatchItemFailures is not enabled")
    if event.get("BatchSize") != 10:
        problems.append("BatchSize is not 10")
    if event.get("MaximumBatchingWindowInSeconds") != 1:
        problems.append("MaximumBatchingWindowInSeconds is not 1")
    if event.get("ScalingConfig", {}).get("MaximumConcurrency") != {"Ref": "SqsMaximumConcurrency"}:
        problems.append("ScalingConfig.MaximumConcurrency does not come from SqsMaximumConcurrency")
    return problems


def problems_with_visibility_timeout(template: dict[str, Any]) -> list[str]:
    timeout = props(template, FUNCTION)["Timeout"]
    visibility = props(template, "RequestQueue").get("VisibilityTimeout", 30)
    if visibility < 6 * timeout:
        return [f"VisibilityTimeout {visibility} < 6 x function Timeout {timeout}"]
    return []


def problems_with_rule(template: dict[str, Any]) -> list[str]:
    rule = props(template, RULE)
    problems = []
    if rule.get("EventBusName") != {"Ref": "EventBus"}:
        problems.append("the rule is not on the stack's event bus")
    if rule.get("EventPattern", {}).get("detail-type") != ["Outbound Chat Requested"]:
        problems.append("the rule does not match detail-type 'Outbound Chat Requested'")
    targets = rule.get("Targets", [])
    if [getatt_target(t.get("Arn")) for t in targets] != [FUNCTION]:
        problems.append("the rule's only target must be the function")
    for target in targets:
        retry = target.get("RetryPolicy", {})
        if retry.get("MaximumRetryAttempts") != 4 or retry.get("MaximumEventAgeInSeconds") != 3600:
            problems.append("the target's RetryPolicy is not 4 attempts / 3600 s")
        if getatt_target(target.get("DeadLetterConfig", {}).get("Arn")) != "EventBridgeDeadLetterQueue":
            problems.append("the target has no DeadLetterConfig to EventBridgeDeadLetterQueue")
    return problems


def alarm_problems(template: dict[str, Any]) -> list[str]:
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    problems = []

    def watched(namespace: str, metric: str) -> list[dict[str, Any]]:
        return [
            a["Properties"]
            for a in alarms
            if a["Properties"].get("Namespace") == namespace and a["Properties"].get("MetricName") == metric
        ]

    queue_alarms = watched("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    for queue in DEAD_LETTER_QUEUES:
        matching = [
            a
            for a in queue_alarms
            if {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}} in a.get("Dimensions", [])
            and a.get("Threshold") == 0
            and a.get("ComparisonOperator") == "GreaterThanThreshold"
        ]
        if not matching:
            problems.append(f"no 'not empty' alarm on {queue}")
    for metric in ("Errors", "Throttles"):
        matching = [
            a
            for a in watched("AWS/Lambda", metric)
            if {"Name": "FunctionName", "Value": {"Ref": FUNCTION}} in a.get("Dimensions", [])
            and a.get("Threshold") == 0
            and a.get("ComparisonOperator") == "GreaterThanThreshold"
        ]
        if not matching:
            problems.append(f"no alarm on the function's {metric}")
    for alarm in alarms:
        for key in ("AlarmActions", "OKActions"):
            if alarm["Properties"].get(key) != {
                "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
            }:
                problems.append(f"an alarm's {key} does not notify AlarmTopicArn when it is set")
    return problems


# --------------------------------------------------------------------------- cfn-lint


def test_cfn_lint_finds_nothing_not_even_informational_findings() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())",
            "--include-checks",
            "I",
            "--",
            str(TEMPLATE_PATH),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# --------------------------------------------------------------------------- the function


def test_the_function_runs_the_cargo_lambda_bootstrap_on_provided_al2023(template: dict[str, Any]) -> None:
    function = resources(template)[FUNCTION]
    assert function["Type"] == "AWS::Serverless::Function"
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert function["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "bootstrap"}}
    p = function["Properties"]
    assert (p["Runtime"], p["Handler"], p["CodeUri"]) == ("provided.al2023", "bootstrap", ".")
    assert (p["MemorySize"], p["Timeout"]) == (128, 30)
    assert p["Architectures"] == [{"Ref": "Architecture"}]
    assert "Tracing" not in p, "X-Ray needs a Resource '*' policy"


def test_the_function_logs_json_at_the_configured_level(template: dict[str, Any]) -> None:
    logging = props(template, FUNCTION)["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}
    assert logging["SystemLogLevel"] == "INFO"
    assert logging["LogGroup"] == {"Ref": "FunctionLogGroup"}
    assert props(template, "FunctionLogGroup")["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_every_configuration_variable_of_the_contract_is_set_from_its_parameter(template: dict[str, Any]) -> None:
    variables = props(template, FUNCTION)["Environment"]["Variables"]
    assert (
        set(variables)
        == set(REQUIRED_VARIABLES) | set(OPTIONAL_VARIABLES) | set(WINDOW_VARIABLES) | PROTECTION_VARIABLES
    )
    for name, parameter in REQUIRED_VARIABLES.items():
        assert variables[name] == {"Ref": parameter}, name
    for name, value in WINDOW_VARIABLES.items():
        assert variables[name] == {"Fn::If": ["HasSendWindow", value, {"Ref": "AWS::NoValue"}]}, name


def test_optional_settings_are_left_unset_when_their_parameter_is_empty(template: dict[str, Any]) -> None:
    variables = props(template, FUNCTION)["Environment"]["Variables"]
    for name, parameter in OPTIONAL_VARIABLES.items():
        condition, when_set, when_empty = variables[name]["Fn::If"]
        assert (when_set, when_empty) == ({"Ref": parameter}, {"Ref": "AWS::NoValue"}), name
        assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}, name


def test_the_deployed_function_never_talks_to_a_local_connect_endpoint(template: dict[str, Any]) -> None:
    variables = props(template, FUNCTION)["Environment"]["Variables"]
    assert not [name for name in variables if name.startswith("AWS_")]


# --------------------------------------------------------------------------- parameters


def test_the_parameters_have_the_documented_defaults_and_limits(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert "Default" not in parameters["ConnectInstanceId"]
    assert "Default" not in parameters["ContactFlowId"]
    for name in ("SmsSourcePhoneNumberArn", "WhatsAppSourcePhoneNumberArn", "AlarmTopicArn"):
        assert parameters[name]["Default"] == "", name
    # Connect's minimum chat duration: an outbound contact holds one of the instance's active
    # chats no longer than it must.
    assert parameters["DefaultChatDurationMinutes"]["Default"] == "60"
    assert parameters["MaxInFlight"]["Default"] == 10
    # The whole fleet's ceiling is the account's quota, Connect's default 2/s; every instance
    # adapts under it, so it does not depend on SqsMaximumConcurrency.
    assert parameters["ConnectMaxRequestsPerSecond"]["Default"] == "2"
    assert (parameters["SqsMaximumConcurrency"]["Default"], parameters["SqsMaximumConcurrency"]["MinValue"]) == (2, 2)
    # Room for a week-long send-window deferral (one receive per 11 h 55 min) plus 5 failures.
    assert parameters["MaxReceiveCount"]["Default"] == 20
    assert parameters["MaxReceiveCount"]["Default"] >= -(-7 * 24 * 3600 // (12 * 3600 - 300)) + 5
    for name in ("SendWindow", "SendWindowSms", "SendWindowWhatsApp", "SendWindowCategories", "DefaultTimeZone"):
        assert parameters[name]["Default"] == "", name
    assert parameters["DefaultCategory"]["Default"] == "TRANSACTIONAL"
    assert parameters["LogLevel"]["Default"] == "INFO"
    assert parameters["LogLevel"]["AllowedValues"] == ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
    assert parameters["MetricsNamespace"]["Default"] == "OutboundChat"
    assert parameters["Architecture"]["Default"] == "arm64"
    assert parameters["Architecture"]["AllowedValues"] == ["arm64", "x86_64"]
    assert parameters["RecipientProtection"]["Default"] == "Enabled"
    assert parameters["FrequencyCaps"]["Default"] == ""
    assert parameters["FrequencyCapScope"]["Default"] == "channel"
    assert parameters["FrequencyCapScope"]["AllowedValues"] == ["channel", "recipient"]
    assert parameters["FrequencyCapCategories"]["Default"] == "PROMOTIONAL"
    assert (parameters["SmsMaxSegments"]["Default"], parameters["SmsSmartEncoding"]["Default"]) == ("", "false")
    assert (parameters["RequeueMaxHours"]["Default"], parameters["RequeueMaxHours"]["MaxValue"]) == (24, 336)
    assert parameters["ConnectInstanceArnForFlows"]["Default"] == ""
    # The block's own range: Amazon Connect waits 1 to 8 seconds for a function.
    flow_limit = parameters["FlowTimeLimitSeconds"]
    assert (flow_limit["Default"], flow_limit["MinValue"], flow_limit["MaxValue"]) == (8, 1, 8)


@pytest.mark.parametrize(
    ("parameter", "accepted", "refused"),
    [
        ("ConnectMaxRequestsPerSecond", ["", "2", "10", "0.5", "1.25"], ["0", "0.0", "-1", "two", "*"]),
        (
            "SmsSourcePhoneNumberArn",
            [
                "",
                "arn:aws:connect:us-east-1:123456789012:phone-number/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "arn:aws:connect:us-east-1:123456789012:instance/abc/phone-number/aaaa",
            ],
            ["*", "+14255550100", "arn:aws:connect:us-east-1:123456789012:phone-number/*"],
        ),
        ("DefaultChatDurationMinutes", ["", "60", "1440", "10080"], ["1", "1h", "-60"]),
        ("SmsMaxSegments", ["", "1", "9", "10", "20"], ["0", "21", "100", "two", "-1"]),
        ("ConnectInstanceId", ["11111111-2222-3333-4444-555555555555"], ["", "*", "arn:aws:connect:x"]),
        ("AlarmTopicArn", ["", "arn:aws:sns:us-east-1:123456789012:ops-alarms"], ["*", "ops-alarms"]),
        ("FrequencyCaps", ["", "1/24h", "1/24h,3/7d", "10/1h,100/30d"], ["1", "1/24", "1/24m", "1/24h,", "*"]),
        ("SendWindowCategories", ["", "PROMOTIONAL", "TRANSACTIONAL,PROMOTIONAL"], ["promo", "PROMOTIONAL,"]),
        ("DefaultTimeZone", ["", "America/New_York", "UTC", "America/Argentina/Buenos_Aires"], ["New York", "/UTC"]),
        (
            "ConnectInstanceArnForFlows",
            [
                "",
                "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555",
                "arn:aws-us-gov:connect:us-gov-west-1:123456789012:instance/abc",
            ],
            [
                "*",
                "11111111-2222-3333-4444-555555555555",
                "arn:aws:connect:us-east-1:123456789012:instance/*",
                "arn:aws:connect:us-east-1:123456789012:instance/abc/queue/def",
                "arn:aws:lambda:us-east-1:123456789012:instance/abc",
            ],
        ),
    ],
)
def test_string_parameters_accept_only_well_formed_values(
    template: dict[str, Any], parameter: str, accepted: list[str], refused: list[str]
) -> None:
    # CloudFormation matches AllowedPattern against the whole value.
    pattern = re.compile(template["Parameters"][parameter]["AllowedPattern"])
    assert [v for v in accepted if not pattern.fullmatch(v)] == []
    assert [v for v in refused if pattern.fullmatch(v)] == []


# --------------------------------------------------------------------------- permissions


def test_no_statement_grants_every_resource(template: dict[str, Any]) -> None:
    assert statements_granting_every_resource(template) == []


@pytest.mark.parametrize(
    "wildcard",
    ["*", ["*"], {"Fn::If": ["HasSmsSource", "*", {"Ref": "AWS::NoValue"}]}, {"Fn::Sub": "*"}],
    ids=["string", "list", "inside-Fn::If", "inside-Fn::Sub"],
)
def test_the_every_resource_check_flags_a_wildcard_statement(template: dict[str, Any], wildcard: Any) -> None:
    policy = props(template, "EventBridgeDeadLetterQueuePolicy")["PolicyDocument"]
    policy["Statement"][0]["Resource"] = wildcard
    assert statements_granting_every_resource(template) == [
        "/Resources/EventBridgeDeadLetterQueuePolicy/Properties/PolicyDocument/Statement/0/Resource"
    ]


def test_the_every_resource_check_flags_a_wildcard_added_to_the_function_role(template: dict[str, Any]) -> None:
    props(template, ROLE)["Policies"].append(
        {"PolicyName": "Metrics", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}]}}
    )
    assert len(statements_granting_every_resource(template)) == 1
    assert problems_with_other_permissions(template) != []


def test_the_only_connect_permission_is_starting_outbound_chats_in_the_instance(template: dict[str, Any]) -> None:
    assert problems_with_connect_permissions(template) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.update(Action=["connect:StartOutboundChatContact", "connect:StopContact"]),
        lambda s: s.update(Action="connect:*"),
        lambda s: s["Resource"].append({"Fn::Sub": "arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:instance/*"}),
        lambda s: s.update(Resource="*"),
        lambda s: s.update(Effect="Deny"),
    ],
    ids=["extra-action", "every-action", "every-instance", "every-resource", "not-an-allow"],
)
def test_the_connect_permission_check_flags_a_broader_grant(template: dict[str, Any], mutate: Any) -> None:
    statement = props(template, ROLE)["Policies"][0]["PolicyDocument"]["Statement"][0]
    mutate(statement)
    assert problems_with_connect_permissions(template) != []


def test_the_connect_permission_check_flags_a_missing_grant(template: dict[str, Any]) -> None:
    props(template, ROLE)["Policies"].pop(0)
    assert problems_with_connect_permissions(template) == ["no statement grants connect:StartOutboundChatContact"]


def test_the_source_numbers_are_granted_only_when_configured(template: dict[str, Any]) -> None:
    statement = props(template, ROLE)["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert {"Fn::If": ["HasSmsSource", {"Ref": "SmsSourcePhoneNumberArn"}, {"Ref": "AWS::NoValue"}]} in statement["Resource"]
    assert {"Fn::If": ["HasWhatsAppSource", {"Ref": "WhatsAppSourcePhoneNumberArn"}, {"Ref": "AWS::NoValue"}]} in statement["Resource"]
    # The account's numbers only as the fallback when neither number is configured.
    assert {"Fn::If": ["HasNoSource", {"Fn::Sub": ACCOUNT_PHONE_NUMBERS}, {"Ref": "AWS::NoValue"}]} in statement["Resource"]
    assert template["Conditions"]["HasNoSource"] == {
        "Fn::And": [
            {"Fn::Equals": [{"Ref": "SmsSourcePhoneNumberArn"}, ""]},
            {"Fn::Equals": [{"Ref": "WhatsAppSourcePhoneNumberArn"}, ""]},
        ]
    }


def test_every_other_permission_is_scoped_to_this_stacks_queues_and_log_group(template: dict[str, Any]) -> None:
    assert problems_with_other_permissions(template) == []


def conditional_policies(template: dict[str, Any], condition: str) -> list[dict[str, Any]]:
    """The role's policies given only under `condition`."""
    return [p for p in props(template, ROLE)["Policies"] if "Fn::If" in p and p["Fn::If"][0] == condition]


def test_deferral_may_hide_request_queue_messages_only_when_a_send_window_is_set(template: dict[str, Any]) -> None:
    conditional = conditional_policies(template, "HasSendWindow")
    assert len(conditional) == 1
    condition, policy, otherwise = conditional[0]["Fn::If"]
    assert (condition, otherwise) == ("HasSendWindow", {"Ref": "AWS::NoValue"})
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "sqs:ChangeMessageVisibility",
            "Resource": {"Fn::GetAtt": ["RequestQueue", "Arn"]},
        }
    ]
    assert template["Conditions"]["HasSendWindow"] == {
        "Fn::Or": [{"Condition": name} for name in ("HasSendWindowVariable", "HasSendWindowSms", "HasSendWindowWhatsApp")]
    }


def test_the_function_may_send_to_the_request_queue_whether_or_not_a_window_is_set(template: dict[str, Any]) -> None:
    # A record Connect throttled goes back to its queue as a new, delayed message.
    unconditional = {p["PolicyName"]: p for p in props(template, ROLE)["Policies"] if "PolicyName" in p}
    assert unconditional["SendToRequestQueue"]["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["RequestQueue", "Arn"]}}
    ]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: props(t, ROLE).update(ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"]),
        lambda t: props(t, ROLE)["Policies"][1]["PolicyDocument"]["Statement"][0]["Action"].append("sqs:PurgeQueue"),
        lambda t: props(t, ROLE)["Policies"][2]["PolicyDocument"]["Statement"][0].update(Resource={"Fn::GetAtt": ["RequestDeadLetterQueue", "Arn"]}),
        lambda t: props(t, FUNCTION).update(Policies=["AWSLambdaBasicExecutionRole"]),
    ],
    ids=["managed-policy", "extra-sqs-action", "wrong-queue", "sam-policy-template"],
)
def test_the_other_permissions_check_flags_a_broader_grant(template: dict[str, Any], mutate: Any) -> None:
    mutate(template)
    assert problems_with_other_permissions(template) != []


# --------------------------------------------------------------------------- SQS


def test_the_sqs_event_reports_batch_item_failures_with_bounded_concurrency(template: dict[str, Any]) -> None:
    assert problems_with_sqs_event(template) == []


def test_the_sqs_event_check_flags_a_missing_partial_batch_response(template: dict[str, Any]) -> None:
    function_events(template, "SQS")["RequestQueue"].pop("FunctionResponseTypes")
    assert problems_with_sqs_event(template) == ["ReportBatchItemFailures is not enabled"]


def test_the_request_queue_dead_letters_after_max_receive_count(template: dict[str, Any]) -> None:
    redrive = props(template, "RequestQueue")["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RequestDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }


def test_the_visibility_timeout_is_at_least_six_times_the_function_timeout(template: dict[str, Any]) -> None:
    assert problems_with_visibility_timeout(template) == []
    assert props(template, "RequestQueue")["VisibilityTimeout"] == 180


def test_the_visibility_timeout_check_flags_a_longer_function_timeout(template: dict[str, Any]) -> None:
    props(template, FUNCTION)["Timeout"] = 31
    assert problems_with_visibility_timeout(template) == ["VisibilityTimeout 180 < 6 x function Timeout 31"]


def test_every_queue_is_encrypted_and_keeps_messages_long_enough(template: dict[str, Any]) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    assert set(queues) == {"RequestQueue", "ContactEventQueue", *DEAD_LETTER_QUEUES}
    for name, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name
    # Long enough for a request held a week for its send window.
    assert props(template, "RequestQueue")["MessageRetentionPeriod"] == 14 * 24 * 3600
    for name in DEAD_LETTER_QUEUES:
        assert props(template, name)["MessageRetentionPeriod"] == 14 * 24 * 3600, name
        assert resources(template)[name]["DeletionPolicy"] == "Retain", name


# --------------------------------------------------------------------------- HTTP API


def test_every_http_route_requires_iam_authorization(template: dict[str, Any]) -> None:
    assert problems_with_http_authorization(template) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: function_events(t, "HttpApi")["SendContact"]["Auth"].update(Authorizer="NONE"),
        lambda t: function_events(t, "HttpApi")["SendContactBatch"].pop("Auth"),
        lambda t: props(t, "HttpApi")["Auth"].pop("DefaultAuthorizer"),
        lambda t: function_events(t, "HttpApi")["SendContact"].pop("ApiId"),
        lambda t: props(t, FUNCTION).update(FunctionUrlConfig={"AuthType": "NONE"}),
    ],
    ids=["route-opts-out", "route-without-auth", "no-default-authorizer", "implicit-api", "function-url"],
)
def test_the_http_authorization_check_flags_an_anonymous_route(template: dict[str, Any], mutate: Any) -> None:
    mutate(template)
    assert problems_with_http_authorization(template) != []


def test_the_http_api_serves_the_contract_routes_with_payload_format_2(template: dict[str, Any]) -> None:
    routes = {(e["Method"], e["Path"], e["PayloadFormatVersion"]) for e in function_events(template, "HttpApi").values()}
    assert routes == {
        ("POST", "/contacts", "2.0"),
        ("POST", "/contacts/batch", "2.0"),
        ("PUT", "/suppressions", "2.0"),
        ("DELETE", "/suppressions", "2.0"),
        ("GET", "/requests/{clientToken}", "2.0"),
        ("GET", "/contacts/{contactId}", "2.0"),
    }


# --------------------------------------------------------------------------- EventBridge


def test_the_eventbridge_rule_sends_outbound_chat_requested_events_with_retries_and_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    assert problems_with_rule(template) == []
    assert resources(template)["EventBus"]["Type"] == "AWS::Events::EventBus"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r["EventPattern"].update({"detail-type": ["Something Else"]}),
        lambda r: r["Targets"][0].pop("RetryPolicy"),
        lambda r: r["Targets"][0].pop("DeadLetterConfig"),
    ],
    ids=["other-detail-type", "no-retry-policy", "no-dead-letter-queue"],
)
def test_the_rule_check_flags_a_weaker_rule(template: dict[str, Any], mutate: Any) -> None:
    mutate(props(template, RULE))
    assert problems_with_rule(template) != []


def test_only_the_rule_may_send_to_the_eventbridge_dead_letter_queue(template: dict[str, Any]) -> None:
    policy = props(template, "EventBridgeDeadLetterQueuePolicy")
    assert policy["Queues"] == [{"Ref": "EventBridgeDeadLetterQueue"}]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "AllowOutboundChatRuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["EventBridgeDeadLetterQueue", "Arn"]},
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [RULE, "Arn"]}}},
        }
    ]


def test_only_the_rule_may_invoke_the_function_through_eventbridge(template: dict[str, Any]) -> None:
    permissions = [
        p["Properties"]
        for p in of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [FUNCTION, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [RULE, "Arn"]},
        }
    ]


# --------------------------------------------------------------------------- contact flows

FLOW_PERMISSION = "ConnectFlowInvokePermission"
FLOW_INTEGRATION = "ConnectFlowIntegration"


def problems_with_flow_access(template: dict[str, Any]) -> list[str]:
    """Only the named instance's flows may invoke the function, and only when it is named."""
    problems = []
    flow_resources = {
        name: resource
        for name, resource in resources(template).items()
        if resource.get("Type") == "AWS::Connect::IntegrationAssociation"
        or resource.get("Properties", {}).get("Principal") == "connect.amazonaws.com"
    }
    if set(flow_resources) != {FLOW_PERMISSION, FLOW_INTEGRATION}:
        problems.append(f"the flow resources are {sorted(flow_resources)}")
    for name, resource in flow_resources.items():
        if resource.get("Condition") != "HasFlowInstance":
            problems.append(f"{name} is not conditional on ConnectInstanceArnForFlows")
    permission = resources(template).get(FLOW_PERMISSION, {}).get("Properties")
    expected_permission = {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": [FUNCTION, "Arn"]},
        "Principal": "connect.amazonaws.com",
        "SourceArn": {"Ref": "ConnectInstanceArnForFlows"},
        "SourceAccount": {"Ref": "AWS::AccountId"},
    }
    if permission != expected_permission:
        problems.append(f"the flow permission is {permission}")
    integration = resources(template).get(FLOW_INTEGRATION, {}).get("Properties")
    expected_integration = {
        "InstanceId": {"Ref": "ConnectInstanceArnForFlows"},
        "IntegrationType": "LAMBDA_FUNCTION",
        "IntegrationArn": {"Fn::GetAtt": [FUNCTION, "Arn"]},
    }
    if integration != expected_integration:
        problems.append(f"the flow integration is {integration}")
    condition = template["Conditions"].get("HasFlowInstance")
    if condition != {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConnectInstanceArnForFlows"}, ""]}]}:
        problems.append(f"HasFlowInstance is {condition}")
    return problems


def test_only_the_named_instances_flows_may_invoke_the_function_with_no_console_step(
    template: dict[str, Any],
) -> None:
    assert problems_with_flow_access(template) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: props(t, FLOW_PERMISSION).pop("SourceArn"),
        lambda t: props(t, FLOW_PERMISSION).pop("SourceAccount"),
        lambda t: resources(t)[FLOW_INTEGRATION].pop("Condition"),
        lambda t: props(t, FLOW_INTEGRATION).update(IntegrationType="LEX_BOT"),
        lambda t: resources(t).pop(FLOW_INTEGRATION),
    ],
)
def test_the_flow_access_check_flags_a_broader_or_missing_grant(template: dict[str, Any], mutate: Any) -> None:
    mutate(template)
    assert problems_with_flow_access(template) != []


# --------------------------------------------------------------------------- async invocations


def test_failed_asynchronous_invocations_go_to_the_failure_queue(template: dict[str, Any]) -> None:
    config = props(template, FUNCTION)["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]},
    }


# --------------------------------------------------------------------------- alarms and outputs


def test_alarms_watch_every_dead_letter_queue_and_the_function_errors_and_throttles(template: dict[str, Any]) -> None:
    assert alarm_problems(template) == []


@pytest.mark.parametrize("removed", ["AsyncFailureQueueAlarm", "FunctionThrottlesAlarm"])
def test_the_alarm_check_flags_a_missing_alarm(template: dict[str, Any], removed: str) -> None:
    resources(template).pop(removed)
    assert len(alarm_problems(template)) == 1


def test_the_alarm_check_flags_an_alarm_that_notifies_nobody(template: dict[str, Any]) -> None:
    props(template, "FunctionErrorsAlarm").pop("AlarmActions")
    assert alarm_problems(template) == ["an alarm's AlarmActions does not notify AlarmTopicArn when it is set"]


def test_the_stack_outputs_what_producers_and_operators_need(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    expected = {
        "QueueUrl": {"Ref": "RequestQueue"},
        "QueueArn": {"Fn::GetAtt": ["RequestQueue", "Arn"]},
        "ApiEndpoint": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        "EventBusName": {"Ref": "EventBus"},
        "RequestDeadLetterQueueUrl": {"Ref": "RequestDeadLetterQueue"},
        "EventBridgeDeadLetterQueueUrl": {"Ref": "EventBridgeDeadLetterQueue"},
        "AsyncFailureQueueUrl": {"Ref": "AsyncFailureQueue"},
        "FunctionName": {"Ref": FUNCTION},
        "StateTableName": {"Ref": STATE_TABLE},
    }
    assert {name: outputs[name]["Value"] for name in expected if name in outputs} == expected


# --------------------------------------------------------------------------- after the SAM transform


@pytest.fixture(scope="module")
def transformed(pristine: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM deploys (aws-sam-translator, offline)."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    document = json.loads(json.dumps(pristine))
    document["Resources"][FUNCTION]["Properties"]["CodeUri"] = "s3://bucket/bootstrap.zip"  # what `sam package` does
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return transform(
            document,
            {"ConnectInstanceId": "11111111-2222-3333-4444-555555555555", "ContactFlowId": "flow"},
            NoManagedPolicies(),
        )


def test_sam_adds_no_statement_that_grants_every_resource(transformed: dict[str, Any]) -> None:
    assert statements_granting_every_resource(transformed) == []
    roles = of_type(transformed, "AWS::IAM::Role")
    assert list(roles) == [ROLE]
    assert "ManagedPolicyArns" not in roles[ROLE]["Properties"]


def test_sam_generates_the_event_source_mapping_and_invoke_config_as_declared(transformed: dict[str, Any]) -> None:
    mappings = of_type(transformed, "AWS::Lambda::EventSourceMapping")
    # The template's own mapping of the contact-event queue, beside SAM's of the request queue.
    contact_events = mappings.pop("ContactEventMapping")
    assert contact_events["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (mapping,) = mappings.values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SqsMaximumConcurrency"}}
    (config,) = of_type(transformed, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}


def test_every_route_of_the_deployed_http_api_is_signed_with_sigv4(transformed: dict[str, Any]) -> None:
    (api,) = of_type(transformed, "AWS::ApiGatewayV2::Api").values()
    body = api["Properties"]["Body"]
    operations = {(path, method): op for path, item in body["paths"].items() for method, op in item.items()}
    assert set(operations) == {
        ("/contacts", "post"),
        ("/contacts/batch", "post"),
        ("/suppressions", "put"),
        ("/suppressions", "delete"),
        ("/requests/{clientToken}", "get"),
        ("/contacts/{contactId}", "get"),
    }
    assert all(op.get("security") == [{"AWS_IAM": []}] for op in operations.values())
    assert body["components"]["securitySchemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"


# --------------------------------------------------------------------------- samconfig.toml


def test_samconfig_builds_with_the_beta_rust_method_and_deploys_the_outbound_chat_stack() -> None:
    config = tomllib.loads(SAMCONFIG_PATH.read_text(encoding="utf-8"))["default"]
    assert config["build"]["parameters"]["beta_features"] is True
    assert config["build"]["parameters"]["cached"] is False
    deploy = config["deploy"]["parameters"]
    assert deploy["stack_name"] == "outbound-chat"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True


# --------------------------------------------------------------------------- recipient state


def problems_with_state_table(template: dict[str, Any]) -> list[str]:
    table = resources(template).get(STATE_TABLE)
    if table is None or table["Type"] != "AWS::DynamoDB::Table":
        return ["no recipient-state table"]
    p = table["Properties"]
    problems = []
    if p.get("BillingMode") != "PAY_PER_REQUEST":
        problems.append("the table is not on demand")
    if p.get("PointInTimeRecoverySpecification") != {"PointInTimeRecoveryEnabled": True}:
        problems.append("point-in-time recovery is off")
    if p.get("SSESpecification", {}).get("SSEEnabled") is not True:
        problems.append("encryption with a KMS key is off")
    if p.get("TimeToLiveSpecification") != {"AttributeName": "expiresAt", "Enabled": True}:
        problems.append("spent counters do not expire (TTL on expiresAt)")
    if p.get("KeySchema") != [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]:
        problems.append("the key is not pk / sk as the function writes it")
    if table.get("DeletionPolicy") != "Retain" or table.get("UpdateReplacePolicy") != "Retain":
        problems.append("the do-not-contact list is lost with the stack")
    return problems


def problems_with_hash_key(template: dict[str, Any]) -> list[str]:
    """The key is generated by Secrets Manager and reaches the function only as a dynamic
    reference: no literal in the template, nothing in the outputs."""
    problems = []
    secret = props(template, HASH_KEY_SECRET)
    if "SecretString" in secret or "GenerateSecretString" not in secret:
        problems.append("the hash key is not generated by Secrets Manager")
    generated = secret.get("GenerateSecretString", {})
    if generated.get("PasswordLength", 0) < 44 or generated.get("ExcludePunctuation") is not True:
        problems.append("the generated key is not at least 32 bytes of base64 letters and digits")
    variable = props(template, FUNCTION)["Environment"]["Variables"].get("RECIPIENT_HASH_KEY")
    if [sub_string(v) for v in branches(variable)] != [HASH_KEY_REFERENCE]:
        problems.append(f"RECIPIENT_HASH_KEY is {variable!r}, not the secret's dynamic reference")
    for name, output in template.get("Outputs", {}).items():
        if HASH_KEY_SECRET in json.dumps(output):
            problems.append(f"output {name} exposes the hash key's secret")
    return problems


def test_the_state_table_is_on_demand_recoverable_encrypted_and_expires_spent_counters(template: dict[str, Any]) -> None:
    assert problems_with_state_table(template) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: props(t, STATE_TABLE).pop("TimeToLiveSpecification"),
        lambda t: props(t, STATE_TABLE).pop("PointInTimeRecoverySpecification"),
        lambda t: props(t, STATE_TABLE).update(BillingMode="PROVISIONED"),
        lambda t: props(t, STATE_TABLE).pop("SSESpecification"),
    ],
    ids=["no-ttl", "no-pitr", "provisioned", "no-kms"],
)
def test_the_state_table_check_flags_a_weaker_table(template: dict[str, Any], mutate: Any) -> None:
    mutate(template)
    assert problems_with_state_table(template) != []


def test_the_hash_key_is_generated_and_never_written_in_the_template_or_its_outputs(template: dict[str, Any]) -> None:
    assert problems_with_hash_key(template) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: props(t, FUNCTION)["Environment"]["Variables"].update(RECIPIENT_HASH_KEY="c2VjcmV0LWtleS1pbi10aGUtdGVtcGxhdGUtMzJieXRlcw=="),
        lambda t: t["Outputs"].update(Key={"Value": {"Ref": HASH_KEY_SECRET}}),
        lambda t: props(t, HASH_KEY_SECRET).update(SecretString="fixed"),
    ],
    ids=["literal-key", "key-in-outputs", "fixed-secret"],
)
def test_the_hash_key_check_flags_a_key_in_the_open(template: dict[str, Any], mutate: Any) -> None:
    mutate(template)
    assert problems_with_hash_key(template) != []


def test_the_state_and_its_settings_exist_only_when_recipient_protection_is_enabled(template: dict[str, Any]) -> None:
    assert template["Conditions"]["HasRecipientState"] == {"Fn::Equals": [{"Ref": "RecipientProtection"}, "Enabled"]}
    for name in (STATE_TABLE, HASH_KEY_SECRET):
        assert resources(template)[name]["Condition"] == "HasRecipientState", name
    variables = props(template, FUNCTION)["Environment"]["Variables"]
    assert variables["STATE_TABLE_NAME"] == {"Fn::If": ["HasRecipientState", {"Ref": STATE_TABLE}, {"Ref": "AWS::NoValue"}]}
    assert variables["RECIPIENT_HASH_KEY"]["Fn::If"][0] == "HasRecipientState"
    assert variables["FREQUENCY_CAPS"] == {"Fn::If": ["HasFrequencyCaps", {"Ref": "FrequencyCaps"}, {"Ref": "AWS::NoValue"}]}
    assert {"Condition": "HasRecipientState"} in template["Conditions"]["HasFrequencyCaps"]["Fn::And"]
    assert variables["FREQUENCY_CAP_SCOPE"] == {"Ref": "FrequencyCapScope"}
    assert variables["FREQUENCY_CAP_CATEGORIES"] == {"Ref": "FrequencyCapCategories"}


def test_the_permissions_check_flags_another_table_action(template: dict[str, Any]) -> None:
    (policy,) = conditional_policies(template, "HasRecipientState")
    policy["Fn::If"][1]["PolicyDocument"]["Statement"][0]["Action"].append("dynamodb:Scan")
    assert problems_with_other_permissions(template) != []
