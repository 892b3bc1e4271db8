"""API Gateway's IAM check, stood in on loopback: the real API handler behind a SigV4 verifier.

A request reaches the handler only if its `Authorization` header is a SigV4 signature, for
`execute-api` in the expected region, by the expected key, over this very request (method,
path, query, signed headers and body), recomputed here with botocore. Anything else gets
API Gateway's 403 with `{"message": ...}`.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def signature_problem(event: dict[str, Any], credentials: Credentials, region: str) -> str | None:
    """Why the proxy event's signature does not hold, or None when it does."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    match = _AUTH.fullmatch(headers.get("authorization", ""))
    if match is None:
        return "Missing Authentication Token"
    if match["key"] != credentials.access_key or match["region"] != region:
        return "The security token included in the request is invalid."
    amz_date = headers.get("x-amz-date", "")
    signed = match["signed"].split(";")
    if "host" not in signed or any(name not in headers for name in signed):
        return "The request signature we calculated does not match the signature you provided."
    # The request as received: botocore canonicalises the query (sorted, re-quoted) itself.
    query = urlencode(event.get("multiValueQueryStringParameters") or {}, doseq=True, quote_via=quote)
    url = f"http://{headers['host']}{event['path']}" + (f"?{query}" if query else "")
    text = event.get("body")
    body = None if text is None else base64.b64decode(text) if event.get("isBase64Encoded") else text.encode()
    request = AWSRequest(method=event["httpMethod"], url=url, data=body, headers={n: headers[n] for n in signed})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(credentials, "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "The request signature we calculated does not match the signature you provided."
    return None


def iam_checked(
    handler: Handler,
    credentials: Credentials,
    region: str,
    seen: list[str],
    headers: list[dict[str, str]] | None = None,
) -> Handler:
    """`handler` behind the check; `seen` collects "ok" or the refusal of every request, and
    `headers` (when given) the headers each one arrived with."""

    def checked(event: dict[str, Any], context: Any) -> dict[str, Any]:
        problem = signature_problem(event, credentials, region)
        seen.append(problem or "ok")
        if headers is not None:
            headers.append({k.lower(): v for k, v in (event.get("headers") or {}).items()})
        if problem is not None:
            return {
                "statusCode": 403,
                "headers": {"Content-Type": "application/json"},
                "body": f'{{"message":"{problem}"}}',
            }
        return handler(event, context)

    return checked
