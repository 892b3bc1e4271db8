"""AWS faults at the botocore level, and SQS FIFO deduplication on the harness clock.

Faults are botocore event hooks on real boto3 clients (moto behind them), so every injected
failure travels through the adapters' own error translation, exactly as a real throttle would:

- `fail`: the call never reaches moto; botocore raises the ClientError a throttled or broken
  service answers (`before-call` returns the error response, so the SDK's retries are spent).
- `crash_after`: the call succeeds in moto, then the process dies (`Crash`, a BaseException no
  code may catch) before the caller sees the answer.

`FifoModel` gives SendMessage real SQS FIFO semantics on the harness clock: a re-send with a
deduplication id accepted less than five minutes earlier is acknowledged but never delivered,
even if the first copy was already consumed and deleted (moto forgets ids once a message is
deleted, and measures the window in wall time, which the harness clock does not move).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from intake_dev.moto_rigs import FIFO_DEDUP_WINDOW
from tracker_intake.domain.ports import Clock


class Crash(BaseException):
    """A process dying mid-step: not an error any code can handle."""


Params = dict[str, Any]
Match = Callable[[Params], bool]


@dataclass
class CallRule:
    """One fault at one call site: `action` the next `times` calls `match` selects."""

    site: str
    operation: str
    match: Match
    action: str  # "fail" | "crash_after" | "call_after" | "unprocessed" (BatchGetItem: every key)
    times: int = 1
    error_code: str = "ProvisionedThroughputExceededException"
    status: int = 400
    fired: int = 0
    callback: Callable[[], None] | None = None  # "call_after": what runs right after the call

    def describe(self) -> str:
        what = {"fail": self.error_code, "unprocessed": "UnprocessedKeys"}.get(self.action, "crash")
        return f"{self.site}: {what} x{self.times}"


@dataclass(frozen=True)
class SendRecord:
    """One SendMessage call the poller made (after any injected failure let it through)."""

    issue_id: str
    project_id: str
    generation: int
    deduplication_id: str
    at: datetime
    delivered: bool  # False: SQS acknowledged it as a duplicate of an earlier send


def _value(params: Params, name: str) -> str | None:
    """The string value of `:name` in ExpressionAttributeValues, or of an item/key attribute."""
    for holder in ("ExpressionAttributeValues", "Item", "Key"):
        raw = params.get(holder, {}).get(name)
        if isinstance(raw, dict) and "S" in raw:
            return str(raw["S"])
    return None


def pk_of(params: Params) -> str:
    return _value(params, "pk") or _value(params, ":pk") or ""


def sk_of(params: Params) -> str:
    return _value(params, "sk") or ""


def _response(status: int) -> AWSResponse:
    return AWSResponse("https://fault.invalid/", status, HTTPHeaders(), None)  # type: ignore[no-untyped-call]


class BotoFaults:
    """Attached to one or more clients of a service; rules are armed and consumed in order."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rules: list[CallRule] = []
        self._lock = threading.Lock()
        self.fifo: FifoModel | None = None

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{service}", self._decide)
        client.meta.events.register(f"before-call.{service}", self._short_circuit)
        client.meta.events.register(f"after-call.{service}", self._after)

    def arm(self, rule: CallRule) -> CallRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    @property
    def fired(self) -> int:
        return sum(rule.fired for rule in self.rules)

    def pending(self) -> list[CallRule]:
        return [rule for rule in self.rules if rule.fired < rule.times]

    def _decide(self, params: Params, model: Any, context: dict[str, Any], **_: Any) -> None:
        with self._lock:
            for rule in self.rules:
                if rule.fired < rule.times and rule.operation == model.name and rule.match(params):
                    rule.fired += 1
                    context["reliability_rule"] = rule
                    if rule.action == "unprocessed":
                        context["reliability_unprocessed"] = params["RequestItems"]
                    if rule.action in ("fail", "unprocessed"):
                        return  # the call never reaches the service
                    break
        if self.fifo is not None and model.name == "SendMessage":
            self.fifo.decide(params, context)

    def _short_circuit(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        rule = context.get("reliability_rule")
        if isinstance(rule, CallRule) and rule.action == "fail":
            error = {"Code": rule.error_code, "Message": f"injected fault at {rule.site}"}
            return _response(rule.status), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": rule.status}}
        if isinstance(rule, CallRule) and rule.action == "unprocessed":
            # A throttled batch: 200, nothing read, every key handed back as UnprocessedKeys.
            return _response(200), {
                "Responses": {},
                "UnprocessedKeys": context["reliability_unprocessed"],
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }
        duplicate = context.get("fifo_duplicate_of")
        if isinstance(duplicate, str):
            return _response(200), {
                "MessageId": duplicate,
                "MD5OfMessageBody": context["fifo_md5"],
                "SequenceNumber": "0",
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }
        return None

    def _after(self, http_response: AWSResponse, context: dict[str, Any], **_: Any) -> None:
        rule = context.get("reliability_rule")
        if not isinstance(rule, CallRule) or http_response.status_code >= 300:
            return
        if rule.action == "crash_after":
            raise Crash(f"died right after {rule.site}")
        if rule.action == "call_after" and rule.callback is not None:
            rule.callback()


@dataclass
class FifoModel:
    """SQS FIFO deduplication on the harness clock (see the module docstring)."""

    clock: Clock
    sends: list[SendRecord] = field(default_factory=list)
    _accepted: dict[str, tuple[datetime, str, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, params: Params, context: dict[str, Any]) -> None:
        body = json.loads(params["MessageBody"])
        dedup = str(params["MessageDeduplicationId"])
        now = self.clock.now()
        with self._lock:
            earlier = self._accepted.get(dedup)
            delivered = earlier is None or now - earlier[0] >= FIFO_DEDUP_WINDOW
            if delivered:
                message_id = str(uuid.uuid4())
                copies = earlier[2] + 1 if earlier else 1
                self._accepted[dedup] = (now, message_id, copies)
                # moto must not deduplicate on its own (wall-clock window, forgets deleted ids).
                params["MessageDeduplicationId"] = f"{dedup}-{copies}"
            else:
                assert earlier is not None
                context["fifo_duplicate_of"] = earlier[1]
                context["fifo_md5"] = hashlib.md5(params["MessageBody"].encode()).hexdigest()
            self.sends.append(
                SendRecord(
                    issue_id=str(body["issueId"]),
                    project_id=str(body["projectId"]),
                    generation=int(body.get("generation", 1)),
                    deduplication_id=dedup,
                    at=now,
                    delivered=delivered,
                )
            )
