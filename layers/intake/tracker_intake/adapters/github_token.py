"""Where the GitHub token comes from: GITHUB_TOKEN locally, Secrets Manager in AWS.

The token is never logged, stored or returned by anything but these functions; what is kept
about it is `token_key`, a short hash that names its rate-limit budget.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping

from tracker_intake.domain.errors import TokenUnavailable

logger = logging.getLogger(__name__)

ENV_VAR = "GITHUB_TOKEN"
SECRET_MAX_AGE_SECONDS = 300  # a rotated secret is picked up within five minutes
ANONYMOUS = "anonymous"
ANONYMOUS_WARNING = "no GitHub token: unauthenticated requests are limited to 60 an hour"


def token_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """GITHUB_TOKEN, or None (with a one-line warning) when it is unset or empty."""
    token = (os.environ if env is None else env).get(ENV_VAR, "").strip()
    if not token:
        warn_anonymous()
        return None
    return token


def token_from_secret(secret_arn: str) -> str:
    """The secret's SecretString, cached by Powertools for five minutes per container."""
    # Imported here: Powertools parameters pulls in boto3, which a cold start pays for only
    # when a secret is actually configured.
    from aws_lambda_powertools.utilities import parameters
    from botocore.exceptions import BotoCoreError

    try:
        value = parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
    except (parameters.exceptions.GetParameterError, BotoCoreError) as e:
        raise TokenUnavailable(f"cannot read the GitHub token secret {secret_arn}: {type(e).__name__}") from e
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError as e:
            raise TokenUnavailable(f"the GitHub token secret {secret_arn} is not text") from e
    token = value.strip() if isinstance(value, str) else ""
    if not token:
        raise TokenUnavailable(f"the GitHub token secret {secret_arn} is empty")
    return token


def secret_to_secrets_manager(secret_arn: str, value: str) -> None:
    """Keep a new value in the secret (a Linear OAuth app's rotated tokens). Raises TokenUnavailable."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        boto3.client("secretsmanager").put_secret_value(SecretId=secret_arn, SecretString=value)
    except (BotoCoreError, ClientError) as e:
        raise TokenUnavailable(
            f"cannot keep the refreshed tokens in the secret {secret_arn}: {type(e).__name__}"
        ) from e


def token_key(token: str | None) -> str:
    """Names the token's rate-limit budget without revealing it: sha256(token)[:16]."""
    if not token:
        return ANONYMOUS
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def warn_anonymous() -> None:
    logger.warning(ANONYMOUS_WARNING)
