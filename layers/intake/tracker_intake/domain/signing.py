"""What the session webhook key signs, in each direction (docs/design.md, "Trust model").

One key, two directions, never confused: each signed string starts with its direction's
scheme, so a signature made for one can never be replayed as the other.

- **launch** (the launcher to the session backend): `intake-launch-v2`, the timestamp, the body.
  The body names the issue and its claim generation, so they are signed with it.
- **report** (the session backend to the API): `intake-report-v2`, the timestamp, the method,
  the canonical issue id the path names, and the body (whose `generation` is required). A report
  signed for one issue, one method or one generation is refused for any other.

The parts are joined by a newline, which none of the parts before the body can contain (a
timestamp is digits, a method letters, a canonical id has no control characters).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Intake-Signature"
TIMESTAMP_HEADER = "X-Intake-Timestamp"
LAUNCH_SCHEME = "intake-launch-v2"
REPORT_SCHEME = "intake-report-v2"
# How the signed strings are described to people (API descriptions, refusals, docs).
LAUNCH_STRING = f"{LAUNCH_SCHEME}\\n<timestamp>\\n<body>"
REPORT_STRING = f"{REPORT_SCHEME}\\n<timestamp>\\nPOST\\n<canonical issue id>\\n<body>"


def _hmac(key: str, message: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def launch_signature(key: str, timestamp: str, body: bytes) -> str:
    """`X-Intake-Signature` of a launch: `sha256=<hex HMAC-SHA256 of "intake-launch-v2\\n<timestamp>\\n<body>">`."""
    return _hmac(key, f"{LAUNCH_SCHEME}\n{timestamp}\n".encode() + body)


def report_signature(key: str, timestamp: str, method: str, issue_id: str, body: bytes) -> str:
    """`X-Intake-Signature` of a status report: `sha256=<hex HMAC-SHA256 of
    "intake-report-v2\\n<timestamp>\\n<METHOD>\\n<canonical issue id>\\n<body>">`.

    `issue_id` is the canonical id as the path names it, decoded (`github:acme/app#42`).
    """
    return _hmac(key, f"{REPORT_SCHEME}\n{timestamp}\n{method.upper()}\n{issue_id}\n".encode() + body)


def legacy_signature(key: str, timestamp: str, body: bytes) -> str:
    """The signature the first version used (`"<timestamp>.<body>"`, no direction, no target).

    Never accepted: it is computed only to tell a backend that still signs this way what to change.
    """
    return _hmac(key, timestamp.encode() + b"." + body)
