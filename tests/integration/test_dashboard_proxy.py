"""`intake dashboard` against a deployed-like API: the proxy signs with SigV4, the stand-in checks.

The stand-in is the real API handler on moto behind a SigV4 verifier (`sigv4_stand_in`), on
loopback; the dashboard server is the one `intake dashboard` runs. The browser's side is played
by `requests`, which sends no credential at all: the dashboard's own page is a session that sends
the dashboard's header, as its script does; another site's page sends what a browser would.

The local stack's server (`intake local`), which serves the same bundle on the API's own port, is
checked here too for the same guards (its API is a recording stand-in).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from api_support import Api
from botocore.credentials import Credentials
from sigv4_stand_in import iam_checked

from intake_cli.api_client import ApiClient, UsageError
from intake_cli.browser_guard import DASHBOARD_HEADER, SECURITY_HEADERS
from intake_cli.dashboard import BUNDLE, serve_dashboard, static_file
from intake_dev.functions import quiet_handler_logs
from intake_dev.local_api import serve_api

REGION = "eu-west-1"
KEY = Credentials("AKIDDASHBOARDTEST", "dashboard-test-secret")
# What the dashboard's own script adds to every API call.
FROM_THE_PAGE = {DASHBOARD_HEADER: "1"}


@dataclass
class Rig:
    api_url: str
    dashboard_url: str
    seen: list[str]
    headers: list[dict[str, str]]
    page: requests.Session

    def raw(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, str]:
        """A request exactly as written (requests would normalise the path), to the dashboard."""
        host, port = self.dashboard_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in {"Host": f"127.0.0.1:{port}", **(headers or {})}.items():
                connection.putheader(name, value)
            connection.endheaders(body or None)
            answer = connection.getresponse()
            return answer.status, answer.read().decode()
        finally:
            connection.close()


@pytest.fixture
def rig(aws: dict[str, Any]) -> Iterator[Rig]:
    api = Api(aws)
    seen: list[str] = []
    arrived: list[dict[str, str]] = []
    with quiet_handler_logs():
        upstream = serve_api(iam_checked(api.module.lambda_handler, KEY, REGION, seen, arrived), "127.0.0.1", 0)
        api_url = f"http://127.0.0.1:{upstream.server_address[1]}"
        client = ApiClient(api_url, credentials=lambda: KEY, sign_region=REGION)
        dashboard = serve_dashboard(client, "127.0.0.1", 0)
        page = requests.Session()
        page.headers.update(FROM_THE_PAGE)
        try:
            yield Rig(api_url, f"http://127.0.0.1:{dashboard.server_address[1]}", seen, arrived, page)
        finally:
            page.close()
            for server in (dashboard, upstream):
                server.shutdown()
                server.server_close()


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
    created = rig.page.post(f"{rig.dashboard_url}/projects", json={"id": "web", "name": "Web"}, timeout=10)
    listed = rig.page.get(f"{rig.dashboard_url}/projects?limit=5", timeout=10)
    stale = rig.page.put(
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
        answer = requests.get(
            f"http://127.0.0.1:{dashboard.server_address[1]}/projects", headers=FROM_THE_PAGE, timeout=10
        )
    finally:
        dashboard.shutdown()
        dashboard.server_close()
    # THEN 502 with a sentence the page shows
    assert answer.status_code == 502 and "cannot reach the config API" in answer.json()["message"]


def test_what_the_browser_sends_besides_the_request_never_reaches_the_api(rig: Rig) -> None:
    # GIVEN a browser request carrying its own credentials and cookies
    sent = {"Authorization": "Bearer from-the-page", "Cookie": "session=1", "X-Amz-Security-Token": "page-token"}
    # WHEN it goes through the dashboard
    answer = rig.page.get(f"{rig.dashboard_url}/projects", headers=sent, timeout=10)
    # THEN the API got the dashboard's own signature and none of the page's headers
    assert answer.status_code == 200 and rig.seen == ["ok"]
    arrived = rig.headers[0]
    assert "cookie" not in arrived and "x-amz-security-token" not in arrived
    assert arrived["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDDASHBOARDTEST/")
    # AND the answer carries only the API's own headers the page reads
    assert not {"Authorization", "X-Amz-Date"} & set(answer.headers)


def test_encoded_paths_and_queries_are_signed_as_sent(rig: Rig) -> None:
    # WHEN the page releases a claim (a canonical id with %2F and %23) and pages with a nextToken
    released = rig.page.delete(f"{rig.dashboard_url}/projects/web/sessions/github%3Aacme%2Fapp%2342", timeout=10)
    paged = rig.page.get(f"{rig.dashboard_url}/projects?limit=1&nextToken=bm9wZQ", timeout=10)
    # THEN both signatures hold, and the API answers for itself (no such project; a token it never gave)
    assert rig.seen == ["ok", "ok"]
    assert released.status_code == 404 and paged.status_code == 400


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Host": "attacker.example:8765"}, "own loopback address"),
        ({"Origin": "http://attacker.example"}, "other origins"),
    ],
)
def test_another_site_cannot_use_the_dashboard(rig: Rig, headers: dict[str, str], why: str) -> None:
    # GIVEN a page elsewhere (DNS rebinding gives it our address; a form posts from its origin)
    # WHEN it calls the dashboard
    status, text = rig.raw("GET", "/projects", headers)
    # THEN 403, and nothing was sent to the API
    assert status == 403 and why in text
    assert rig.seen == []


@pytest.mark.parametrize(
    "target", ["/projects/../../v2/x", "/projects/%2e%2e/x", "/assets/..%2F..%2Fsecret", "projects", "/projects\\x"]
)
def test_a_path_that_leaves_the_api_is_refused(rig: Rig, target: str) -> None:
    # WHEN a request line aims at another host, or out of the API's stage
    status, _ = rig.raw("GET", target)
    # THEN 400, nothing forwarded
    assert status == 400
    assert rig.seen == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Length": "abc"}, 400),
        ({"Content-Length": "-1"}, 400),
        ({"Transfer-Encoding": "chunked"}, 411),
        ({"Content-Length": str(17 * 1024)}, 413),
    ],
)
def test_a_body_that_cannot_be_read_plainly_is_refused(rig: Rig, headers: dict[str, str], status: int) -> None:
    # WHEN a POST comes with a length that is not a number, a chunked body, or over 16 KB
    answer_status, _ = rig.raw("POST", "/projects", {"Content-Type": "application/json", **headers})
    # THEN it is refused with a status, not a dropped connection, and nothing forwarded
    assert answer_status == status
    assert rig.seen == []


def test_a_request_line_naming_another_host_stays_on_the_api(rig: Rig) -> None:
    # WHEN the request target looks like another host (http.server reads it as a path)
    status, _ = rig.raw("GET", "//attacker.example/projects", FROM_THE_PAGE)
    # THEN it was answered by the API itself (no such route), signed for it
    assert status == 404 and rig.seen == ["ok"]


@pytest.mark.parametrize("path", [".evil.example/x", "//evil.example/x", "@evil.example/x"])
def test_the_client_signs_only_requests_to_the_apis_own_host(path: str) -> None:
    # GIVEN a client for a custom domain (signed for a region), with no path of its own
    client = ApiClient("https://api.example.com", credentials=lambda: KEY, sign_region=REGION)
    # WHEN asked to forward something that would change the host THEN it refuses before signing
    with pytest.raises(UsageError, match="not a path on the config API"):
        client.forward("GET", path, None, {})


# --- framing, other sites, and the dashboard's header ---------------------------------------------


def assert_guarded(answer: requests.Response) -> None:
    """The answer forbids framing, sniffing, referrers and other origins' use, once each."""
    assert answer.headers["X-Frame-Options"] == "DENY"
    policy = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert answer.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    # requests joins repeated headers with ", ": equal values mean each was sent once
    assert {name: answer.headers[name] for name in SECURITY_HEADERS} == SECURITY_HEADERS


def script_of(page: requests.Response) -> str:
    return page.text.split('src="./', 1)[1].split('"', 1)[0]


def test_every_answer_of_the_dashboard_forbids_framing_and_sniffing(rig: Rig) -> None:
    # GIVEN the page (the user typed its address), its script, an API answer, a refusal, and
    # http.server's own answer to a method it does not take
    own = {"Sec-Fetch-Site": "same-origin"}
    page = requests.get(f"{rig.dashboard_url}/", headers={"Sec-Fetch-Site": "none"}, timeout=10)
    asset = requests.get(f"{rig.dashboard_url}/{script_of(page)}", headers=own, timeout=10)
    forwarded = rig.page.get(f"{rig.dashboard_url}/projects", headers=own, timeout=10)
    refused = requests.post(f"{rig.dashboard_url}/projects", headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    unknown = requests.request("TRACE", f"{rig.dashboard_url}/", timeout=10)
    # THEN each is what it is
    assert [a.status_code for a in (page, asset, forwarded, refused, unknown)] == [200, 200, 200, 403, 501]
    # AND each carries the security headers
    for answer in (page, asset, forwarded, refused, unknown):
        assert_guarded(answer)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
@pytest.mark.parametrize(("method", "path"), [("GET", "/projects"), ("POST", "/projects"), ("GET", "/")])
def test_a_request_another_site_made_is_refused_and_not_forwarded(rig: Rig, site: str, method: str, path: str) -> None:
    # GIVEN a page on another site, or on another port of loopback (same-site), that even knows the
    # dashboard's header; its browser sends no Origin on a GET, but says where the request came from
    headers = {"Sec-Fetch-Site": site, "Content-Type": "application/json"}
    # WHEN it calls the dashboard (or frames or links its page)
    answer = rig.page.request(method, f"{rig.dashboard_url}{path}", headers=headers, data=b"{}", timeout=10)
    # THEN 403 with a sentence, and nothing reached the API
    assert answer.status_code == 403
    assert answer.json() == {"message": "requests from other sites are refused: open the dashboard at its own address"}
    assert rig.seen == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/projects", b""),
        ("POST", "/projects", b"id=web&name=Web"),
        ("DELETE", "/projects/web/sessions/github%3Aacme%2Fapp%2342", b""),
    ],
)
def test_an_api_call_without_the_dashboards_header_is_refused_and_not_forwarded(
    rig: Rig, method: str, path: str, body: bytes
) -> None:
    # GIVEN a request a link, an <img> or a form could make (an older browser says nothing of its
    # site): no dashboard header
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    # WHEN it reaches the dashboard
    answer = requests.request(method, f"{rig.dashboard_url}{path}", headers=headers, data=body, timeout=10)
    # THEN 403 naming the header, and nothing reached the API
    assert answer.status_code == 403
    assert answer.json() == {"message": "API calls through the dashboard must carry the X-Intake-Dashboard header"}
    assert rig.seen == []


def test_the_pages_own_call_is_forwarded_without_the_browsers_headers(rig: Rig) -> None:
    # GIVEN the dashboard's own page: same origin, its header on the call
    marks = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Origin": rig.dashboard_url}
    # WHEN it creates a project
    answer = rig.page.post(f"{rig.dashboard_url}/projects", json={"id": "web"}, headers=marks, timeout=10)
    # THEN the call was forwarded, signed, and answered
    assert answer.status_code == 201 and rig.seen == ["ok"]
    # AND neither the dashboard's header nor the browser's marks reached the API
    assert not {"x-intake-dashboard", "sec-fetch-site", "sec-fetch-mode", "origin"} & set(rig.headers[0])


def test_the_built_page_sends_the_header_the_dashboard_asks_for() -> None:
    # GIVEN the committed bundle's script (the one its page loads)
    page = static_file("/")
    assert page is not None
    script = page[0].decode().split('src="./', 1)[1].split('"', 1)[0]
    # THEN its API calls carry the header, by the name the servers check
    assert f'"{DASHBOARD_HEADER}":"1"' in BUNDLE.joinpath(*script.split("/")).read_text()


# --- the local stack's server: the same bundle, the same guards --------------------------------------


@dataclass
class Local:
    url: str
    handled: list[dict[str, Any]]  # the proxy events the API handler got


@pytest.fixture
def local() -> Iterator[Local]:
    handled: list[dict[str, Any]] = []

    def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
        handled.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"items": []}'}

    server = serve_api(api, "127.0.0.1", 0, static=static_file)
    try:
        yield Local(f"http://127.0.0.1:{server.server_address[1]}", handled)
    finally:
        server.shutdown()
        server.server_close()


def test_every_answer_of_the_local_stack_forbids_framing_and_sniffing(local: Local) -> None:
    # GIVEN the page, its script, an API answer (the CLI's call), a refusal, and http.server's own
    page = requests.get(f"{local.url}/", headers={"Sec-Fetch-Site": "none"}, timeout=10)
    asset = requests.get(f"{local.url}/{script_of(page)}", headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    api = requests.get(f"{local.url}/projects", timeout=10)
    refused = requests.get(f"{local.url}/projects", headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    malformed = requests.get(f"{local.url}/" + "x" * 70_000, timeout=10)
    # THEN each is what it is, and each carries the same security headers as `intake dashboard`
    assert [a.status_code for a in (page, asset, api, refused, malformed)] == [200, 200, 200, 403, 414]
    for answer in (page, asset, api, refused, malformed):
        assert_guarded(answer)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
@pytest.mark.parametrize("path", ["/", "/projects"])
def test_the_local_stack_refuses_a_request_another_site_made(local: Local, site: str, path: str) -> None:
    # GIVEN a page on another site (or another loopback port) WHEN it links, frames or calls the local stack
    answer = requests.get(f"{local.url}{path}", headers={"Sec-Fetch-Site": site, **FROM_THE_PAGE}, timeout=10)
    # THEN 403 with a sentence, and the API handler never ran
    assert answer.status_code == 403 and "other sites are refused" in answer.json()["message"]
    assert local.handled == []


@pytest.mark.parametrize(
    "marks", [{"Sec-Fetch-Site": "same-origin"}, {"Origin": "OWN"}, {"Sec-Fetch-Mode": "navigate"}]
)
def test_the_local_stack_asks_a_browsers_api_call_for_the_dashboards_header(
    local: Local, marks: dict[str, str]
) -> None:
    # GIVEN a request with a browser's marks but not the dashboard's header (a form, a link)
    marks = {name: local.url if value == "OWN" else value for name, value in marks.items()}
    answer = requests.post(f"{local.url}/projects", headers=marks, data=b"id=web", timeout=10)
    # THEN 403 naming the header, and the API handler never ran
    assert answer.status_code == 403 and "X-Intake-Dashboard header" in answer.json()["message"]
    assert local.handled == []


def test_the_local_stack_takes_the_pages_own_call_and_the_clis(local: Local) -> None:
    # GIVEN the dashboard's own page (same origin, its header), and the CLI (no browser marks, no header)
    from_the_page = requests.get(
        f"{local.url}/projects", headers={"Sec-Fetch-Site": "same-origin", **FROM_THE_PAGE}, timeout=10
    )
    from_the_cli = requests.post(f"{local.url}/projects", json={"id": "web"}, timeout=10)
    # THEN both reach the API
    assert from_the_page.status_code == from_the_cli.status_code == 200
    assert [event["httpMethod"] for event in local.handled] == ["GET", "POST"]


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ({"Host": "attacker.example:PORT", "Sec-Fetch-Site": "same-origin"}, "own loopback address"),
        ({"Host": "127.0.0.1:1", "Sec-Fetch-Site": "same-origin"}, "own loopback address"),
        ({"Origin": "http://attacker.example"}, "other origins are refused"),
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, "other origins are refused"),
    ],
    ids=["a rebound name", "another port", "a foreign origin", "a null origin"],
)
def test_the_local_stack_refuses_a_browsers_request_for_another_address(
    local: Local, headers: dict[str, str], said: str
) -> None:
    # GIVEN a browser's request, with the dashboard's header, that names another host or origin:
    # a page whose name was made to resolve to loopback (DNS rebinding) is same-origin to the browser
    port = local.url.rsplit(":", 1)[1]
    sent = {**FROM_THE_PAGE, **{name: value.replace("PORT", port) for name, value in headers.items()}}
    # WHEN it calls the local stack
    answer = requests.get(f"{local.url}/projects", headers=sent, timeout=10)
    # THEN 403 with a sentence, and the API handler never ran
    assert answer.status_code == 403 and said in answer.json()["message"], answer.text
    assert local.handled == []


def test_the_local_stack_takes_the_cli_by_any_name_it_is_reached_by(local: Local) -> None:
    # GIVEN a call with no browser's marks that names another host (a container through the relay)
    answer = requests.get(f"{local.url}/projects", headers={"Host": "10.88.0.1:3000"}, timeout=10)
    # THEN it reaches the API: only a browser is held to the loopback address
    assert answer.status_code == 200 and len(local.handled) == 1
