"""The CLI's client of the config API: SigV4-signed for execute-api URLs, plain HTTP otherwise."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

ENV_API_URL = "INTAKE_API_URL"
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
TIMEOUT = (3.05, 30)

_EXECUTE_API = re.compile(r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


@dataclass
class ApiError(Exception):
    """The API refused the request: its message and the fields at fault."""

    status: int
    message: str
    problems: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}"


@dataclass
class ApiUnreachable(Exception):
    url: str
    reason: str

    def __str__(self) -> str:
        return f"cannot reach the config API at {self.url}: {self.reason}"


@dataclass
class NotTheApi(ApiUnreachable):
    """Something answers at the URL, but not as the config API does (a 404 page of another server)."""

    status: int = 0
    path: str = ""

    def __str__(self) -> str:
        return f"{self.url}: this is not the tracker intake API (HTTP {self.status} at {self.path}; check --api-url)"


class UsageError(Exception):
    """The command line is incomplete (no API URL, for instance)."""


def execute_api_region(url: str) -> str | None:
    """The region of an API Gateway `execute-api` URL (those are signed), else None."""
    match = _EXECUTE_API.match(urlsplit(url).hostname or "")
    return match["region"] if match else None


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        credentials: Callable[[], Credentials | None] | None = None,
        sign_region: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        # execute-api URLs name their region; any other URL (a custom domain in front of the
        # API) is signed only when told the region.
        self._region = sign_region or execute_api_region(self.base_url)
        self._credentials = credentials or (lambda: get_session().get_credentials())
        self._resolved: Credentials | None = None

    # --- routes --------------------------------------------------------------------------

    def projects(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        yield from self._pages("/projects", page_size)

    def project(self, project_id: str) -> dict[str, Any]:
        return self._call("GET", f"/projects/{_segment(project_id)}")

    def create_project(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/projects", body=body)

    def delete_project(self, project_id: str) -> None:
        self._call("DELETE", f"/projects/{_segment(project_id)}")

    def replace_config(self, project_id: str, config: dict[str, Any], version: int | None) -> dict[str, Any]:
        headers = {"If-Match": f'"{version}"'} if version is not None else {}
        return self._call("PUT", f"/projects/{_segment(project_id)}/config", body=config, headers=headers)

    def poll(self, project_id: str) -> dict[str, Any]:
        """Clear the project's backoff so the next tick polls it; the project as it now is."""
        return self._call("POST", f"/projects/{_segment(project_id)}/poll")

    def preview(self, project_id: str) -> dict[str, Any]:
        """What the project's stored rule would pick up now (the API reads GitHub, writes no claim)."""
        return self._call("POST", f"/projects/{_segment(project_id)}/preview", body={})

    def sessions(self, project_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        yield from self._pages(f"/projects/{_segment(project_id)}/sessions", page_size)

    def polls(self, project_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """The project's recorded polls (its activity log), newest first."""
        yield from self._pages(f"/projects/{_segment(project_id)}/polls", page_size)

    def release(self, project_id: str, issue_id: str) -> dict[str, Any]:
        # The canonical id travels URL-encoded as one path segment: github%3Aacme%2Fapp%2342.
        return self._call("DELETE", f"/projects/{_segment(project_id)}/sessions/{_segment(issue_id)}")

    def credentials(self) -> dict[str, Any]:
        return self._call("GET", "/credentials")

    def put_credential(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"/credentials/{_segment(name)}", body=body)

    def delete_credential(self, name: str) -> None:
        self._call("DELETE", f"/credentials/{_segment(name)}")

    def check_credential(self, name: str) -> dict[str, Any]:
        return self._call("POST", f"/credentials/{_segment(name)}/check")

    # --- plumbing --------------------------------------------------------------------------

    def _pages(self, path: str, page_size: int) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            params = {"limit": str(page_size), **({"nextToken": token} if token else {})}
            page = self._call("GET", path, params=params)
            yield from page.get("items", [])
            token = page.get("nextToken")
            if not token:
                return

    def forward(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> requests.Response:
        """Send a request as given (path with its query), signed like every other; the answer
        comes back whole, refusals included. For `intake dashboard`'s proxy."""
        url = self.base_url + path
        # A signed request goes to the API's host and nowhere else, whatever path it was given.
        if not path.startswith("/") or path.startswith("//") or urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            raise UsageError(f"{path[:60]!r} is not a path on the config API")
        if self._region:
            headers = self._signed(method, url, data, headers)
        try:
            return self._session.request(method, url, data=data, headers=headers, timeout=TIMEOUT)
        except requests.Timeout:
            raise ApiUnreachable(self.base_url, "the request timed out") from None
        except requests.ConnectionError as e:
            raise ApiUnreachable(self.base_url, _connection_reason(e)) from None
        except requests.RequestException:
            raise ApiUnreachable(self.base_url, "the request could not be sent (check the URL)") from None

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if params:
            path += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        return _answer(self.forward(method, path, data, all_headers), self.base_url)

    def _signed(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        credentials = self._resolved = self._resolved or self._credentials()
        if credentials is None:
            raise ApiUnreachable(
                self.base_url,
                "no AWS credentials to sign the request with (configure a profile, "
                "environment variables or SSO for the default credential chain)",
            )
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials, "execute-api", self._region or "").add_auth(request)
        return dict(request.headers.items())


def _segment(value: str) -> str:
    return quote(value, safe="")


def _answer(response: requests.Response, base_url: str) -> dict[str, Any]:
    try:
        data = response.json() if response.content else {}
    except ValueError:
        data = None
    # Every answer of the API is a JSON object (API Gateway's own, a 403 or a 5xx, too), and every
    # refusal {"message": ..., "errors": [...]}. A route it does not have still answers in that
    # shape: a 404 or 405 in another is another server (a wrong --api-url), as is any answer with
    # a body that is not JSON.
    refusal_shape = isinstance(data, dict) and isinstance(data.get("message"), str) and "errors" in data
    if (response.status_code in (404, 405) and not refusal_shape) or data is None:
        path = urlsplit(response.url).path.removeprefix(urlsplit(base_url).path) or "/"
        raise NotTheApi(base_url, "", response.status_code, path)
    if not isinstance(data, dict):
        data = {}
    if response.ok:
        return data
    message = data.get("message") or response.reason or "request refused"
    problems = [p for p in data.get("errors", []) if isinstance(p, dict)]
    raise ApiError(response.status_code, str(message), problems)


def _connection_reason(error: requests.ConnectionError) -> str:
    text = str(error)
    if "Connection refused" in text:
        return "connection refused (is the API running? for the local stack: intake local)"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "the host name does not resolve"
    return "the connection failed"


# --- command plumbing shared by `intake project` and `intake sessions` -------------------------


def client_for(args: argparse.Namespace) -> ApiClient:
    url = getattr(args, "api_url", None) or os.environ.get(ENV_API_URL)
    if not url:
        raise UsageError(f"no API URL: pass --api-url URL or set {ENV_API_URL}")
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
        raise UsageError(f"--api-url {url!r} is not an http(s) URL")
    return ApiClient(url, sign_region=getattr(args, "sign_region", None))


def run(
    args: argparse.Namespace,
    command: Callable[[ApiClient], int],
    err: TextIO | None = None,
    *,
    flags: Mapping[str, str] | None = None,
) -> int:
    """Run `command` against the API; refusals and connection problems become exit codes.

    `flags` names, for each field of the body the command sends, the flag that set it: a refusal
    names the flag, as the user wrote it, rather than the field."""
    err = err or sys.stderr
    flags = flags or {}
    as_json = bool(getattr(args, "json", False))
    try:
        return command(client_for(args))
    except UsageError as e:
        if as_json:
            return _json_error(EXIT_USAGE, "usage", str(e))
        print(f"intake: error: {e}", file=err)
        return EXIT_USAGE
    except ApiError as e:
        if as_json:
            return _json_error(EXIT_REFUSED, "refused", e.message, status=e.status, errors=e.problems)
        _print_refusal(e, flags, err)
        return EXIT_REFUSED
    except ApiUnreachable as e:
        if as_json:
            return _json_error(EXIT_UNREACHABLE, "unreachable", str(e))
        print(f"intake: error: {e}", file=err)
        return EXIT_UNREACHABLE


def _print_refusal(e: ApiError, flags: Mapping[str, str], err: TextIO) -> None:
    """The API's refusal in the CLI's words: the flags, not the body's fields, named."""
    lines = [_as_flag(str(p.get("field", "?")), str(p.get("reason", "")), flags) for p in e.problems]
    if e.status == 422 and lines:
        # The API's message lists the fields by their path in the body; the flags say it better.
        print(f"intake: refused (HTTP 422): {lines[0] if len(lines) == 1 else 'invalid arguments'}", file=err)
        lines = lines[1:] if len(lines) == 1 else lines
    else:
        print(f"intake: refused (HTTP {e.status}): {_in_cli_words(e.message, flags)}", file=err)
        # A single problem is usually the message itself (or its reason is); list them when
        # they add something.
        reason = str(e.problems[0].get("reason", "")) if e.problems else ""
        if len(lines) == 1 and reason in e.message:
            lines = []
    for line in lines:
        print(f"  - {line}", file=err)


def _as_flag(field_path: str, reason: str, flags: Mapping[str, str]) -> str:
    """`trackerIntake.maxSessionsPerPoll`, `Input should be greater than or equal to 1` ->
    `--max-sessions-per-poll must be at least 1`; a field with no flag keeps its path."""
    # trackerIntake.labels.0: the first label given; the flag is the list's.
    key = re.sub(r"(\.\d+)+$", "", field_path)
    said = _in_cli_words(reason, flags)
    for pydantic, plain in _PYDANTIC_WORDS:
        said = said.replace(pydantic, plain)
    name = flags.get(key, field_path)
    return f"{name} {said}" if said.startswith("must ") else f"{name}: {said}"


# pydantic's wording of a bound, as a sentence about a flag reads it.
_PYDANTIC_WORDS = (
    ("Input should be greater than or equal to", "must be at least"),
    ("Input should be less than or equal to", "must be at most"),
    ("Input should be greater than", "must be more than"),
    ("Input should be less than", "must be less than"),
    ("Input should be a valid", "must be a valid"),
    ("Input should be", "must be"),
)
# The API's sentences that send its clients to a route, as the CLI's user finds the same thing.
_ROUTES_AS_COMMANDS = (
    ("GET /credentials lists them", "intake credentials list shows them"),
    ("see GET /credentials", "see intake credentials list"),
)


def _in_cli_words(text: str, flags: Mapping[str, str]) -> str:
    """An API sentence with its routes as commands, and the body's fields as the flags that set them."""
    for route, command in _ROUTES_AS_COMMANDS:
        text = text.replace(route, command)
    # Longest first: trackerIntake.repo before repo. Only names a sentence would not otherwise
    # use: dotted paths and camelCase names (gitOrigin), never a plain word such as `labels`.
    for name in sorted(flags, key=len, reverse=True):
        if "." in name or any(ch.isupper() for ch in name):
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", flags[name], text)
    return text


def _json_error(code: int, kind: str, message: str, **detail: Any) -> int:
    """Under --json an error is JSON too, on stdout where the answer would have been."""
    print_json({"error": {"kind": kind, "message": message, **detail}})
    return code


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain text table, columns padded to their widest cell (as a terminal draws it)."""
    cells = [headers, *rows]
    widths = [max(text_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell + " " * (width - text_width(cell)) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    return "\n".join(lines)


def utc(value: str | datetime | None) -> str:
    """Every time the CLI prints: ISO 8601, UTC, to the second (2026-12-04T18:15:42Z); "" for none."""
    if value is None or value == "":
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)  # not a time the API sends: shown as it came
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the API's times are UTC
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_width(text: str) -> int:
    """Terminal columns: wide (CJK, emoji) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
