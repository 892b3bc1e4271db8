"""Where the GitHub token comes from, and what is kept about it (only a hash)."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from tracker_intake.adapters.github_token import (
    ANONYMOUS_WARNING,
    token_from_env,
    token_from_secret,
    token_key,
)
from tracker_intake.domain.errors import TokenUnavailable

TOKEN = "ghp_UnitSecret98765"


@pytest.fixture
def secrets() -> Iterator[Any]:
    """moto Secrets Manager, with Powertools' cached providers dropped before and after."""
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with mock_aws():
        yield boto3.client("secretsmanager")
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def test_token_from_env_reads_github_token() -> None:
    # GIVEN GITHUB_TOKEN set (with stray whitespace from a copy-paste)
    env = {"GITHUB_TOKEN": f" {TOKEN}\n"}

    # WHEN the token is read
    # THEN it is the trimmed value
    assert token_from_env(env) == TOKEN


@pytest.mark.parametrize("env", [{}, {"GITHUB_TOKEN": ""}, {"GITHUB_TOKEN": "  "}])
def test_no_token_in_env_is_none_with_a_one_line_warning(env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN no usable GITHUB_TOKEN
    # WHEN the token is read
    token = token_from_env(env)

    # THEN there is none, and one warning line says what that costs
    assert token is None
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [ANONYMOUS_WARNING]
    assert ANONYMOUS_WARNING == "no GitHub token: unauthenticated requests are limited to 60 an hour"


def test_a_token_in_env_gives_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN GITHUB_TOKEN set
    # WHEN the token is read
    token_from_env({"GITHUB_TOKEN": TOKEN})

    # THEN nothing is logged
    assert caplog.records == []


def test_token_key_is_a_short_sha256_of_the_token() -> None:
    # GIVEN a token
    # WHEN its key is taken
    key = token_key(TOKEN)

    # THEN it is the first 16 hex digits of its sha256, and does not contain the token
    assert key == hashlib.sha256(TOKEN.encode()).hexdigest()[:16]
    assert TOKEN not in key


def test_token_key_of_no_token_is_anonymous() -> None:
    # GIVEN no token
    # WHEN its key is taken
    # THEN every anonymous caller shares one budget
    assert token_key(None) == "anonymous"


def test_token_from_secret_reads_the_secret_string(secrets: Any) -> None:
    # GIVEN a secret holding the token
    arn = secrets.create_secret(Name="intake/github-token", SecretString=TOKEN)["ARN"]

    # WHEN it is read
    # THEN the token comes back
    assert token_from_secret(arn) == TOKEN


def test_token_from_secret_is_cached_between_calls(secrets: Any) -> None:
    # GIVEN a secret read once
    arn = secrets.create_secret(Name="intake/github-token", SecretString=TOKEN)["ARN"]
    token_from_secret(arn)

    # WHEN the secret changes and it is read again within the cache age
    secrets.put_secret_value(SecretId=arn, SecretString="rotated")

    # THEN the cached value serves (no second call to Secrets Manager)
    assert token_from_secret(arn) == TOKEN


def test_a_missing_secret_is_token_unavailable(secrets: Any) -> None:
    # GIVEN no such secret
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"

    # WHEN it is read
    # THEN the failure is typed
    with pytest.raises(TokenUnavailable):
        token_from_secret(arn)


def test_an_empty_secret_is_token_unavailable(secrets: Any) -> None:
    # GIVEN a secret holding only whitespace
    arn = secrets.create_secret(Name="intake/github-token", SecretString="  ")["ARN"]

    # WHEN it is read
    # THEN the failure is typed
    with pytest.raises(TokenUnavailable):
        token_from_secret(arn)


def test_importing_the_module_does_not_load_powertools_parameters() -> None:
    # GIVEN a fresh interpreter
    code = (
        "import sys, tracker_intake.adapters.github_token;"
        "print('aws_lambda_powertools.utilities.parameters' in sys.modules, 'boto3' in sys.modules)"
    )

    # WHEN it imports the token module
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    # THEN neither Powertools parameters nor boto3 was imported (cold start pays only when used)
    assert out.split() == ["False", "False"]
