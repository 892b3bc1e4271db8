"""What the template turns into once SAM has expanded it: IAM auth on every API operation but the
session backend's signed status report, every request in an access log, no open invoke permission,
no IAM statement on an unscoped resource where a scoped one exists, and prompts sent over https only.

tests/unit/test_template.py checks the SAM template as written (DefaultAuthorizer AWS_IAM, no
event turning auth off, every policy a scoped SAM template or statement). SAM adds things of its
own when it expands the template (the API definition, invoke permissions, managed policies for
event sources), and those are what deploy. Here the template is expanded offline with the SAM
translator from the tools environment (.tools, as cfn-lint and `sam validate` use) and the result
is checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from typing import Any

import pytest

from intake_dev.template import REPO_ROOT, TEMPLATE, load_template

TOOLS_PYTHON = REPO_ROOT / ".tools" / "bin" / "python"
# SAM's own translator, run in .tools (the script tests/template uses too). The local
# CodeUri/ContentUri become S3 URIs, as `sam package` would make them; nothing else changes.
TRANSFORM = REPO_ROOT / "tests" / "template" / "sam_transform.py"

# Managed policies SAM attaches that are allowed, and why. AWSLambdaBasicExecutionRole lets a
# function write its own logs (logs:* on "*"); SAM attaches it to every function, and scoping it
# would need a hand-written role per function, which test_template.py rules out on purpose.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    # SAM attaches it to every function that declares Tracing (ours: Active or PassThrough, by
    # the Tracing parameter). It only writes traces, and X-Ray's write actions take no resource.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    # API Gateway's own role, which its account settings name (ApiGatewayLogRole=create) to write
    # the access log. That role serves every API of the account and region, so it cannot be held
    # to this stack's log group; this is the policy AWS provides for it.
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}


@cache
def expanded() -> dict[str, Any]:
    if not TOOLS_PYTHON.exists():
        pytest.skip(f"{TOOLS_PYTHON} is not installed (run `make tools`); `make test` installs it")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(TOOLS_PYTHON), str(TRANSFORM), str(TEMPLATE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r.get("Properties", {}) for name, r in expanded()["Resources"].items() if r["Type"] == kind}


def references(value: Any) -> set[str]:
    """Every logical id or parameter a value refers to (Ref, GetAtt, Sub with or without a map)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def under_stack_name(value: Any) -> bool:
    """An ARN whose resource name is under the stack's name: `…:secret:${AWS::StackName}/*`, or
    a folder of it (`…:secret:${AWS::StackName}/linear-oauth/*`)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        return all(under_stack_name(v) for v in value["Fn::If"][1:] if v != {"Ref": "AWS::NoValue"})
    text = value.get("Fn::Sub") if isinstance(value, dict) else None
    return (
        isinstance(text, str)
        and ":${AWS::AccountId}:" in text
        and re.search(r":\$\{AWS::StackName\}/(?:[a-z0-9-]+/)*\*$", text) is not None
    )


def own_names() -> set[str]:
    template = load_template()
    return set(template["Resources"]) | set(template.get("Parameters", {})) | set(expanded()["Resources"])


def statements() -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement of every role and policy the stack creates (both sides of any !If)."""
    found: list[tuple[str, dict[str, Any]]] = []

    def policies(value: Any) -> list[dict[str, Any]]:
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            return [p for branch in value["Fn::If"][1:] for p in policies(branch)]
        return [value] if isinstance(value, dict) and "PolicyDocument" in value else []

    for kind in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for name, props in resources(kind).items():
            documents = [p["PolicyDocument"] for entry in props.get("Policies", []) for p in policies(entry)]
            if "PolicyDocument" in props:
                documents.append(props["PolicyDocument"])
            for document in documents:
                for statement in document["Statement"]:
                    found.append((name, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- every API route requires IAM auth, but the one the session backend signs -----------------------

# The session backend reports a session's status here. It is not an AWS principal, so it cannot
# sign with SigV4; it holds the session webhook key, and ApiFunction checks that key's HMAC
# signature over the timestamp and the raw body, refusing stale and replayed reports, before it
# reads anything (docs/design.md, "Session status from the backend"). This is the only exception.
SIGNED_BY_THE_BACKEND = ("post", "/sessions/{issueId}/status")


def test_every_operation_of_the_deployed_api_requires_aws_iam_but_the_status_report() -> None:
    # GIVEN the REST API definition SAM generates from the template
    apis = resources("AWS::ApiGateway::RestApi")
    assert apis, "the expanded template has no REST API"
    for name, props in apis.items():
        operations = [
            (path, method, spec) for path, item in props["Body"]["paths"].items() for method, spec in item.items()
        ]
        # WHEN each operation's security requirement is read
        # THEN every operation asks for AWS_IAM, and AWS_IAM is SigV4; the status report alone
        # asks API Gateway for none (the function checks its signature)
        assert operations, name
        for path, method, spec in operations:
            expected: list[dict[str, list[str]]] = [
                {"NONE" if (method, path) == SIGNED_BY_THE_BACKEND else "AWS_IAM": []}
            ]
            assert spec.get("security") == expected, f"{name}: {method.upper()} {path}"
            assert method != "x-amazon-apigateway-any-method" and "{proxy+}" not in path, f"{method} {path}"
        assert SIGNED_BY_THE_BACKEND[1] in props["Body"]["paths"], name
        scheme = props["Body"]["securityDefinitions"]["AWS_IAM"]
        assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_the_status_report_without_iam_is_throttled_before_it_reaches_lambda() -> None:
    # GIVEN the stages of the expanded template
    stages = resources("AWS::ApiGateway::Stage")
    assert stages
    method, path = SIGNED_BY_THE_BACKEND
    resource_path = "/" + path.replace("/", "~1")  # CloudFormation escapes the path: /~1a~1b
    for name, props in stages.items():
        # WHEN the method settings of the unauthenticated route are read
        found = [
            s
            for s in props.get("MethodSettings", [])
            if s.get("ResourcePath") == resource_path and s.get("HttpMethod") == method.upper()
        ]
        # THEN a rate and a burst limit hold a flood of unsigned requests at API Gateway
        assert len(found) == 1, name
        assert 0 < found[0]["ThrottlingRateLimit"] <= 100 and 0 < found[0]["ThrottlingBurstLimit"] <= 200, found


def test_no_other_way_in_without_iam_auth() -> None:
    # GIVEN the expanded template
    # WHEN methods, HTTP APIs and function URLs are looked for
    methods = resources("AWS::ApiGateway::Method")
    # THEN there is no unauthenticated method, no HTTP API and no function URL
    assert all(props.get("AuthorizationType") == "AWS_IAM" for props in methods.values()), methods
    assert not resources("AWS::ApiGatewayV2::Api")
    assert not resources("AWS::Lambda::Url")


def test_every_invoke_permission_is_for_one_service_and_one_source_of_this_stack() -> None:
    # GIVEN every Lambda invoke permission the stack grants
    permissions = resources("AWS::Lambda::Permission")
    assert permissions
    for name, props in permissions.items():
        # WHEN its principal and source are read
        # THEN it names an AWS service (never "*" or an account) and a source ARN of this stack
        assert str(props["Principal"]).endswith(".amazonaws.com"), name
        assert references(props.get("SourceArn")) & own_names(), f"{name} may be invoked from anywhere"


# --- no IAM statement on an unscoped resource where a scoped one exists -----------------------------


def test_no_iam_statement_allows_an_unscoped_resource_or_action() -> None:
    # GIVEN every IAM statement of every role the stack creates, SAM's additions included
    found = statements()
    assert found
    for role, statement in found:
        resources_ = as_list(statement.get("Resource", []))
        actions = as_list(statement.get("Action", []))
        # WHEN its resources and actions are read
        # THEN no resource is "*", each one is of this stack, and no action is a wildcard
        assert statement.get("Effect") == "Allow", (role, statement)
        assert "NotResource" not in statement and "NotAction" not in statement, (role, statement)
        for resource in resources_:
            assert resource != "*", f"{role}: {actions} on '*'"
            # Of this stack: one of its resources or parameters, or (for what is made outside
            # it, the credentials' secrets) a name under the stack's own, `${AWS::StackName}/*`
            assert references(resource) & own_names() or under_stack_name(resource), (
                f"{role}: {resource!r} is not of this stack"
            )
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{role}: action {action!r}"


def in_aws(arn: Any) -> str:
    """A managed policy's ARN in the aws partition (the template writes its own with ${AWS::Partition})."""
    if isinstance(arn, dict) and isinstance(arn.get("Fn::Sub"), str):
        return str(arn["Fn::Sub"]).replace("${AWS::Partition}", "aws")
    return str(arn)


def test_managed_policies_are_only_the_logging_one() -> None:
    # GIVEN the managed policies attached to the stack's roles (SAM adds some for event sources)
    attached = [
        (role, arn) for role, props in resources("AWS::IAM::Role").items() for arn in props.get("ManagedPolicyArns", [])
    ]
    # WHEN they are compared with the allowed list
    # (The stack's own managed policies are statements like any other, checked above.)
    own = set(resources("AWS::IAM::ManagedPolicy"))
    unexpected = {
        (role, str(arn))
        for role, arn in attached
        if not (isinstance(arn, dict) and arn.get("Ref") in own) and in_aws(arn) not in ALLOWED_MANAGED_POLICIES
    }
    # THEN there is no other: a managed policy grants on "*" what a scoped template can grant
    # on this stack's resources (e.g. SQSPollerPolicy for the launch queue)
    assert not unexpected, unexpected


# --- an audit trail of every request ----------------------------------------------------------------


def test_every_request_to_the_api_is_logged_with_who_sent_it_to_a_group_that_expires() -> None:
    # GIVEN the stage of the expanded template
    ((name, stage),) = resources("AWS::ApiGateway::Stage").items()
    setting = stage.get("AccessLogSetting")
    # WHEN its access log is read (API Gateway writes it for every request, refused ones included)
    assert setting, f"{name} has no access log"
    fields = json.loads(setting["Format"])
    # THEN each line is JSON with the request, its source address, its signer and its outcome
    wanted = {
        "$context.requestId",
        "$context.requestTime",
        "$context.identity.sourceIp",
        "$context.identity.caller",
        "$context.identity.userArn",
        "$context.httpMethod",
        "$context.path",
        "$context.resourcePath",
        "$context.status",
    }
    assert wanted <= set(fields.values()), sorted(wanted - set(fields.values()))
    # AND it goes to a log group of the stack, kept LogRetentionDays
    (group,) = references(setting["DestinationArn"])
    assert resources("AWS::Logs::LogGroup")[group]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_stage_is_created_after_the_account_s_logging_role_when_the_stack_sets_it() -> None:
    # API Gateway refuses an access log until its account settings name a role to write it with.
    template = expanded()
    account = template["Resources"]["ApiGatewayAccount"]
    role = template["Resources"]["ApiGatewayLoggingRole"]
    # GIVEN the account settings and their role, made only when ApiGatewayLogRole is create
    assert account["Condition"] == role["Condition"] == "CreateApiGatewayLogRole"
    assert template["Parameters"]["ApiGatewayLogRole"]["Default"] == "create"
    # WHEN the stage's log group is followed
    ((_, stage),) = resources("AWS::ApiGateway::Stage").items()
    (group,) = references(stage["AccessLogSetting"]["DestinationArn"])
    # THEN it refers to the account settings (so the stage comes after them) when they are made
    assert "ApiGatewayAccount" in references(template["Resources"][group]["Properties"]["Tags"])
    # AND the role stays when the stack goes: other APIs of the account may log with it
    assert role["DeletionPolicy"] == role["UpdateReplacePolicy"] == "Retain"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }


# --- prompts leave over https only -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("", True),  # no webhook: SessionBackend=log
        ("https://sessions.example.com/v1/launch", True),
        ("https://10.0.0.7:8443/launch?team=intake", True),
        ("http://sessions.example.com/v1/launch", False),
        ("HTTP://sessions.example.com/", False),
        ("ftp://sessions.example.com/", False),
        ("https://", False),
        ("https://sessions.example.com/a b", False),
        ("sessions.example.com/launch", False),
    ],
)
def test_the_session_webhook_url_must_be_https(url: str, accepted: bool) -> None:
    # GIVEN the SessionWebhookUrl parameter (each session request carries the issue's prompt)
    parameter = expanded()["Parameters"]["SessionWebhookUrl"]
    # WHEN a URL is matched against its pattern, as CloudFormation matches the whole value
    # THEN only https URLs (or none) are accepted, and a refusal says why
    assert (re.fullmatch(parameter["AllowedPattern"], url) is not None) is accepted
    assert parameter["Default"] == "" and "https://" in parameter["ConstraintDescription"]
