"""The table's value formats, shared with the in-memory fake (tests/fakes.py): times as
fixed-width ISO strings, and the opaque next tokens its listings return. No boto3 here."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from ...domain.errors import InvalidInput


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601, so the strings sort as the instants do (the sessions index)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def encode_token(key: Mapping[str, str]) -> str:
    """An opaque next token: base64url JSON of the key to resume after."""
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, required: tuple[str, ...]) -> dict[str, str]:
    """The key a next token holds; InvalidInput("nextToken") for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as e:  # RecursionError: crafted nesting
        raise InvalidInput("nextToken", "is not a token this API returned") from e
    if (
        not isinstance(key, dict)
        or set(key) != set(required)
        or not all(isinstance(v, str) and v for v in key.values())
    ):
        raise InvalidInput("nextToken", "is not a token this API returned")
    return key


def resume_key(token: str, keys: tuple[str, ...], *, pk_prefix: str, **fixed: str) -> dict[str, str]:
    """The key a next token resumes after, checked against the listing it came from (its
    partition's prefix, and the attributes that listing fixes); InvalidInput("nextToken")."""
    key = decode_token(token, keys)
    if not key["pk"].startswith(pk_prefix) or any(key.get(k) != v for k, v in fixed.items()):
        raise InvalidInput("nextToken", "is not a token this API returned")
    return key


def check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1")
