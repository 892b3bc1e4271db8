"""The fakes hold up under concurrent pollers and keep SQS FIFO's five-minute deduplication window."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from fakes import MemoryQueue, MemoryStore

from intake_dev.clock import FixedClock
from tracker_intake.domain.config import ProjectConfig
from tracker_intake.domain.issue import Issue
from tracker_intake.domain.records import Claim, ClaimStatus, IssueSnapshot
from tracker_intake.domain.session import SessionRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
THREADS = 16
T = TypeVar("T")


def together(work: Callable[[int], T], count: int = THREADS) -> list[T]:
    """Run `work(i)` on `count` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def claim(number: int, token: str) -> Claim:
    snapshot = IssueSnapshot(number, "t", "u", (), (), "", None)
    return Claim(f"github:acme/app#{number}", "app", ClaimStatus.CLAIMED, token, NOW, snapshot)


def request(number: int = 7, generation: int = 1) -> SessionRequest:
    issue = Issue("acme", "app", number, "t", f"https://github.com/acme/app/issues/{number}")
    return SessionRequest.for_issue("app", issue, NOW, generation)


def test_concurrent_claims_on_one_issue_have_exactly_one_winner() -> None:
    # GIVEN a store shared by many pollers
    store = MemoryStore()
    # WHEN they all claim the same twenty issues at once
    wins = together(lambda i: sum(store.put_claim(claim(n, f"t{i}")) for n in range(1, 21)))
    # THEN each issue was won exactly once
    assert sum(wins) == 20
    assert len(store.claims()) == 20


def test_concurrent_take_overs_of_one_stale_claim_have_exactly_one_winner() -> None:
    # GIVEN a stale claim
    store = MemoryStore()
    store.put_claim(claim(7, "dead"))
    # WHEN many pollers take it over from the same old token at once
    wins = together(lambda i: store.take_over(claim(7, f"t{i}"), "dead", ClaimStatus.CLAIMED))
    # THEN one of them holds it
    assert wins.count(True) == 1


def test_concurrent_sends_of_one_issue_leave_one_message() -> None:
    # GIVEN a queue shared by many pollers
    queue = MemoryQueue()
    # WHEN they all send the same request at once
    together(lambda _: queue.send(request()))
    # THEN one message is kept, the rest deduplicated
    assert (len(queue.messages), queue.deduplicated, queue.attempts) == (1, THREADS - 1, THREADS)


def test_a_resend_after_the_five_minute_window_is_a_new_message() -> None:
    # GIVEN a request sent at noon
    clock = FixedClock(NOW)
    queue = MemoryQueue(clock)
    queue.send(request())
    # WHEN it is sent again at 12:04:59 and at 12:05:00
    clock.advance(299)
    queue.send(request())
    clock.advance(1)
    queue.send(request())
    # THEN the first re-send is dropped and the second is not, as SQS FIFO does
    assert len(queue.messages) == 2


def test_the_memory_store_counts_the_poll_read_as_one_read_and_no_write() -> None:
    # GIVEN a project in the fake store
    store = MemoryStore()
    store.create_project("app", ProjectConfig(name="App"), NOW)
    store.ops.reset()
    # WHEN it is loaded for a poll
    store.load_for_poll("app")
    # THEN the fake counts one read and no write
    assert (store.ops.reads, store.ops.writes, store.ops.calls) == (1, 0, ["load_for_poll"])
