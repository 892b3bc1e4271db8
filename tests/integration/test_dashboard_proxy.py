"""`intake dashboard` against a deployed-like API: the proxy signs with SigV4, the stand-in checks.

The stand-in is the real API handler on moto behind a SigV4 verifier (`sigv4_stand_in`), on
loopback; the dashboard server is the one `intake dashboard` runs. The browser's side is played
by `requests`, which sends no credential at all.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from api_support import Api
from botocore.credentials import Credentials
from sigv4_stand_in import iam_checked

from intake_cli.api_client import ApiClient
from intake_cli.dashboard import serve_dashboard
from intake_dev.local_api import serve_api

REGION = "eu-west-1"
KEY = Credentials("AKIDDASHBOARDTEST", "dashboard-test-secret")


@dataclass
class Rig:
    api_url: str
    dashboard_url: str
    seen: list[str]


@pytest.fixture
def rig(aws: dict[str, Any]) -> Iterator[Rig]:
    api = Api(aws)
    seen: list[str] = []
    streams = [h for h in logging.getLogger("tracker-intake").handlers if isinstance(h, logging.StreamHandler)]
    originals = [h.stream for h in streams]
    for handler in streams:
        handler.stream = io.StringIO()
    upstream = serve_api(iam_checked(api.module.lambda_handler, KEY, REGION, seen), "127.0.0.1", 0)
    api_url = f"http://127.0.0.1:{upstream.server_address[1]}"
    client = ApiClient(api_url, credentials=lambda: KEY, sign_region=REGION)
    dashboard = serve_dashboard(client, "127.0.0.1", 0)
    try:
        yield Rig(api_url, f"http://127.0.0.1:{dashboard.server_address[1]}", seen)
    finally:
        for server in (dashboard, upstream):
            server.shutdown()
            server.server_close()
        for handler, original in zip(streams, originals, strict=True):
            handler.stream = original


def test_the_stand_in_refuses_an_unsigned_request(rig: Rig) -> None:
    # GIVEN the IAM-checking stand-in WHEN it is called directly, without a signature
    answer = requests.get(f"{rig.api_url}/projects", timeout=10)
    # THEN 403, as API Gateway answers, and the handler never ran
    assert answer.status_code == 403 and answer.json() == {"message": "Missing Authentication Token"}


def test_the_stand_in_refuses_a_signature_by_another_secret(rig: Rig) -> None:
    # GIVEN a client signing with the right key id but the wrong secret
    wrong = ApiClient(
        rig.api_url, credentials=lambda: Credentials(KEY.access_key, "not-the-secret"), sign_region=REGION
    )
    # WHEN it calls THEN the signature is refused
    answer = wrong.forward("GET", "/projects", None, {"Accept": "application/json"})
    assert answer.status_code == 403 and "signature" in answer.json()["message"]


def test_the_dashboard_page_is_served_without_calling_the_api(rig: Rig) -> None:
    # WHEN the browser asks for the page and its script
    page = requests.get(f"{rig.dashboard_url}/", timeout=10)
    script = page.text.split('src="./', 1)[1].split('"', 1)[0]
    asset = requests.get(f"{rig.dashboard_url}/{script}", timeout=10)
    # THEN both come from the package, and the API saw nothing
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert asset.status_code == 200 and asset.headers["Content-Type"] == "text/javascript"
    assert rig.seen == []


def test_api_calls_are_forwarded_signed_and_answered_whole(rig: Rig) -> None:
    # GIVEN the browser, which holds no credential
    # WHEN it creates a project, reads it, and saves with a stale If-Match, through the dashboard
    created = requests.post(f"{rig.dashboard_url}/projects", json={"id": "web", "name": "Web"}, timeout=10)
    listed = requests.get(f"{rig.dashboard_url}/projects?limit=5", timeout=10)
    stale = requests.put(
        f"{rig.dashboard_url}/projects/web/config", json={"name": "x"}, headers={"If-Match": '"9"'}, timeout=10
    )
    # THEN every call reached the API signed (the stand-in checked each), with the API's answers
    assert rig.seen == ["ok", "ok", "ok"]
    assert (
        created.status_code == 201
        and created.headers["ETag"] == '"1"'
        and created.headers["Location"] == "/projects/web"
    )
    assert [p["id"] for p in listed.json()["items"]] == ["web"]
    assert stale.status_code == 412 and stale.json()["errors"][0]["field"] == "If-Match"


def test_an_unreachable_api_is_a_502_with_a_sentence(aws: dict[str, Any]) -> None:
    # GIVEN a dashboard pointed at a port nothing listens on
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dashboard = serve_dashboard(ApiClient(f"http://127.0.0.1:{port}"), "127.0.0.1", 0)
    try:
        # WHEN the page asks for the projects
        answer = requests.get(f"http://127.0.0.1:{dashboard.server_address[1]}/projects", timeout=10)
    finally:
        dashboard.shutdown()
        dashboard.server_close()
    # THEN 502 with a sentence the page shows
    assert answer.status_code == 502 and "cannot reach the config API" in answer.json()["message"]
