"""Session backends: a signed webhook POST (deployed), or a log line (local use)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from ..domain.errors import IntakeError, LaunchRejected, LaunchRetryable
from ..domain.launch import idempotency_key
from ..domain.session import LaunchedSession, SessionRequest
from ..domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, launch_signature

# A child of the function's Powertools logger: same JSON lines, same destination.
logger = Logger(child=True)

IDEMPOTENCY_HEADER = "Idempotency-Key"
SECRET_MAX_AGE_SECONDS = 300
_EXCERPT_CHARS = 200
_SESSION_REF_CHARS = 256
# The session's page, as the backend may give it (`sessionUrl`): an https URL, no spaces or
# quotes (the dashboard and a comment link it), at most this long; anything else is dropped.
_SESSION_URL = re.compile(r"https://[^\s\"'<>`]{1,500}")

Secret = str | Callable[[], str]


def secret_from_secrets_manager(
    secret_arn: str,
    provider: SecretsProvider | None = None,
    unavailable: type[IntakeError] = LaunchRetryable,
) -> Callable[[], str]:
    """A reader of the webhook key: fetched on first use, then cached for five minutes.

    A key that cannot be read raises `unavailable`: a retry for the launcher, a 503 for the API.
    """
    secrets = provider or SecretsProvider()

    def read() -> str:
        try:
            value = secrets.get(secret_arn, max_age=SECRET_MAX_AGE_SECONDS)
        except (GetParameterError, TransformParameterError) as e:
            # The SDK error names the secret, never its value.
            raise unavailable(f"cannot read the webhook secret: {type(e.__cause__ or e).__name__}") from e
        if not isinstance(value, str) or not value:
            raise unavailable("the webhook secret is empty or not a string")
        return value

    return read


class WebhookLauncher:
    """POSTs the request and its prompt as JSON; the backend starts the session.

    Each attempt is signed afresh, at its own time (`X-Intake-Timestamp`), over
    `intake-launch-v2\\n<timestamp>\\n<body>` (domain/signing.py): a backend that refuses
    timestamps over five minutes old and remembers the `Idempotency-Key`s of the last five
    minutes can be replayed nothing.
    """

    def __init__(
        self,
        url: str,
        secret: Secret,
        timeout: tuple[float, float] = (3.05, 10),
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._session = session or requests.Session()
        self._clock = clock

    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        payload: dict[str, Any] = {**request.model_dump(mode="json", by_alias=True), "prompt": prompt}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        key = idempotency_key(request)
        secret = self._read_secret()
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: quote(key, safe=":/#@"),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: launch_signature(secret, timestamp, body),
        }
        try:
            response = self._session.post(
                self._url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.Timeout as e:
            raise LaunchRetryable(f"session backend timed out: {type(e).__name__}") from e
        except requests.RequestException as e:
            raise LaunchRetryable(f"session backend unreachable: {type(e).__name__}") from e
        return self._outcome(response, key, secret)

    def _read_secret(self) -> str:
        return self._secret() if callable(self._secret) else self._secret

    @staticmethod
    def _outcome(response: requests.Response, key: str, secret: str) -> LaunchedSession:
        status = response.status_code
        if 200 <= status < 300:
            ref, url = _session(response)
            return LaunchedSession(ref or f"webhook:{key}", url)
        # The excerpt is logged, kept on the claim and shown by the API: a backend that echoes
        # the key back must not leak it there (scrubbed before the cut, so no piece survives).
        excerpt = response.text.replace(secret, "***")[:_EXCERPT_CHARS].strip()
        detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
        if status == 429 or status >= 500:
            raise LaunchRetryable(f"session backend is unavailable ({detail})")
        if 300 <= status < 400:
            raise LaunchRejected(f"session backend redirected ({detail}); set the webhook URL to the final address")
        raise LaunchRejected(f"session backend refused the request ({detail})")


def _session(response: requests.Response) -> tuple[str | None, str | None]:
    """`sessionId` and `sessionUrl` from the backend's JSON answer, each None when absent or unfit."""
    try:
        data = response.json()
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    value, url = data.get("sessionId"), data.get("sessionUrl")
    ref = None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        ref = str(value)[:_SESSION_REF_CHARS]
    return ref, url if isinstance(url, str) and _SESSION_URL.fullmatch(url) else None


class LogLauncher:
    """For local use: logs the session and calls it launched, with the reference `log`.

    The line names the issue and the prompt's size, not the prompt: an issue's text is the
    tracker's to keep, and CloudWatch keeps logs for as long as the log group says. With
    `log_prompts` (`SessionLogPrompts=true`, and always in `intake local`) the prompt is logged too.
    """

    def __init__(self, log_prompts: bool = False) -> None:
        self._log_prompts = log_prompts

    def launch(self, request: SessionRequest, prompt: str) -> LaunchedSession:
        extra: dict[str, Any] = {
            "project_id": request.project_id,
            "issue_id": request.issue_id,
            "prompt_chars": len(prompt),
            "body_bytes": len(request.issue.body.encode()),
        }
        if self._log_prompts:
            extra["prompt"] = prompt
        logger.info(f"session for {request.issue_id}", extra=extra)
        return LaunchedSession("log")
