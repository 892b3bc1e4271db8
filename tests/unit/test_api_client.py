"""The CLI's API client: execute-api URLs are signed with SigV4, anything else is plain HTTP.

A requests transport adapter stands in for the network (no patching): it keeps each prepared
request and answers 200 with an empty page.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from intake_cli.api_client import ApiClient, ApiUnreachable, execute_api_region

EXECUTE_API = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1"
CREDENTIALS = Credentials("AKIDEXAMPLE", "secretExampleKey", "sessionTokenExample")


class Recorder(requests.adapters.BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps({"items": [], "nextToken": None, "issueId": "x"}).encode()
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def client(url: str, credentials: Credentials | None = CREDENTIALS) -> tuple[ApiClient, Recorder]:
    recorder = Recorder()
    session = requests.Session()
    session.mount("https://", recorder)
    session.mount("http://", recorder)
    return ApiClient(url, session=session, credentials=lambda: credentials), recorder


def verifies(request: requests.PreparedRequest) -> bool:
    """Re-sign what was sent, with its own date and signed headers, and compare signatures."""
    authorization = request.headers["Authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", authorization)[1].split(";")  # type: ignore[index]
    headers = {k: v for k, v in request.headers.items() if k.lower() in signed and k.lower() != "host"}
    again = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    again.context["timestamp"] = request.headers["X-Amz-Date"]
    auth = SigV4Auth(CREDENTIALS, "execute-api", "eu-west-1")
    signature = auth.signature(auth.string_to_sign(again, auth.canonical_request(again)), again)
    return authorization.endswith(f"Signature={signature}")


def test_execute_api_host_is_recognised_with_its_region() -> None:
    # GIVEN a deployed API URL and a local one
    # WHEN their regions are read
    # THEN only the execute-api URL has one
    assert execute_api_region(EXECUTE_API) == "eu-west-1"
    assert execute_api_region("http://127.0.0.1:3000") is None


def test_execute_api_request_is_signed_for_execute_api_in_its_region() -> None:
    # GIVEN a client of a deployed API
    api, recorder = client(EXECUTE_API)
    # WHEN it lists projects
    list(api.projects())
    # THEN the request carries a SigV4 signature scoped to execute-api and the URL's region
    (sent,) = recorder.sent
    assert sent.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in sent.headers["Authorization"]
    assert sent.headers["X-Amz-Security-Token"] == "sessionTokenExample"


def test_signature_verifies_for_a_body_and_a_query() -> None:
    # GIVEN a client of a deployed API
    api, recorder = client(EXECUTE_API)
    # WHEN it sends a config with If-Match
    api.replace_config("demo", {"trackerIntake": {"enabled": False}}, 3)
    # THEN the signature matches the request as sent
    assert verifies(recorder.sent[0])


def test_signature_verifies_for_a_url_encoded_issue_id() -> None:
    # GIVEN a client of a deployed API
    api, recorder = client(EXECUTE_API)
    # WHEN it releases github:acme/app#42 (sent as one %-encoded path segment)
    api.release("demo", "github:acme/app#42")
    # THEN the path is encoded as API Gateway expects and the signature still matches
    (sent,) = recorder.sent
    assert sent.url == f"{EXECUTE_API}/projects/demo/sessions/github%3Aacme%2Fapp%2342"
    assert verifies(sent)


def test_local_url_is_not_signed() -> None:
    # GIVEN a client of the local stack
    api, recorder = client("http://127.0.0.1:3000")
    # WHEN it lists projects
    list(api.projects())
    # THEN no AWS signature is attached
    assert "Authorization" not in recorder.sent[0].headers


def test_missing_credentials_for_a_deployed_api_say_so() -> None:
    # GIVEN no AWS credentials anywhere in the default chain
    api, _ = client(EXECUTE_API, credentials=None)
    # WHEN a request is made
    # THEN it fails with a sentence naming the URL and the missing credentials
    with pytest.raises(ApiUnreachable, match="no AWS credentials") as failure:
        list(api.projects())
    assert EXECUTE_API in str(failure.value)
