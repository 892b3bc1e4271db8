"""The launcher's environment: a session webhook is https, with one explicit local exception."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tracker_intake.settings import LauncherSettings


def settings(url: str, loopback_http: str | None = None) -> LauncherSettings:
    env = {"TABLE_NAME": "intake", "SESSION_BACKEND": "webhook", "SESSION_WEBHOOK_URL": url}
    if loopback_http is not None:
        env["SESSION_WEBHOOK_LOOPBACK_HTTP"] = loopback_http
    return LauncherSettings.from_env(env)


@pytest.mark.parametrize("url", ["https://sessions.example.com/start", "https://127.0.0.1:8443/"])
def test_an_https_webhook_is_accepted(url: str) -> None:
    # GIVEN an https URL WHEN the launcher reads its environment THEN it is kept as given
    assert settings(url).session_webhook_url == url


@pytest.mark.parametrize(
    "url", ["http://sessions.example.com/start", "http://127.0.0.1:9000/", "ftp://sessions.example.com/", "sessions"]
)
def test_a_webhook_that_is_not_https_is_refused_in_one_sentence(url: str) -> None:
    # GIVEN a plain-http (or other) URL, without the local stack's exception
    # WHEN the launcher reads its environment THEN it refuses, saying https is required
    with pytest.raises(ValidationError) as refused:
        settings(url)
    assert "SESSION_WEBHOOK_URL must be an https:// URL" in str(refused.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/", "http://localhost:9000/x", "http://127.0.0.2/"])
def test_the_local_stack_may_send_plain_http_to_loopback(url: str) -> None:
    # GIVEN the local stack's explicit exception WHEN a loopback http URL is read THEN it is kept
    assert settings(url, loopback_http="true").session_webhook_url == url


@pytest.mark.parametrize("url", ["http://sessions.example.com/", "http://10.0.0.5/", "http://127.0.0.1.example.com/"])
def test_the_local_exception_never_covers_another_host(url: str) -> None:
    # GIVEN the local stack's exception WHEN a non-loopback http URL is read THEN it is still refused
    with pytest.raises(ValidationError):
        settings(url, loopback_http="true")


def test_prompts_are_not_logged_unless_asked() -> None:
    # GIVEN the launcher's environment without SESSION_LOG_PROMPTS, and with it
    # THEN prompts are logged only when it says true
    assert LauncherSettings.from_env({"TABLE_NAME": "t"}).session_log_prompts is False
    assert LauncherSettings.from_env({"TABLE_NAME": "t", "SESSION_LOG_PROMPTS": "true"}).session_log_prompts is True
