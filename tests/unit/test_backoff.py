"""Backoff policy: max(server hint, min(5 min * 2^(failures-1), 1 h)) with jitter."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tracker_intake.domain.backoff import backoff_delay, backoff_until

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_delay_doubles_from_five_minutes_and_caps_at_an_hour() -> None:
    # GIVEN no jitter
    # WHEN the delay is computed for 1..8 consecutive failures
    delays = [backoff_delay(n, rng=lambda: 0.0) for n in range(1, 9)]
    # THEN it is 5, 10, 20, 40 minutes, then capped at one hour
    assert [d // timedelta(minutes=1) for d in delays] == [5, 10, 20, 40, 60, 60, 60, 60]


@given(failures=st.integers(min_value=1, max_value=50), r=st.floats(min_value=0, max_value=1))
def test_jitter_only_shortens_by_up_to_a_fifth(failures: int, r: float) -> None:
    # GIVEN any failure count and random draw
    # WHEN the delay is computed
    delay = backoff_delay(failures, rng=lambda: r)
    full = backoff_delay(failures, rng=lambda: 0.0)
    # THEN it lies within [80 %, 100 %] of the unjittered step
    assert full * 0.8 <= delay <= full


def test_server_hint_later_than_the_step_wins() -> None:
    # GIVEN a rate-limit reset 2 hours away
    hint = NOW + timedelta(hours=2)
    # WHEN the backoff is computed after one failure
    # THEN the project waits for the reset, not 5 minutes
    assert backoff_until(NOW, 1, hint, rng=lambda: 0.0) == hint


def test_server_hint_earlier_than_the_step_is_not_a_shortcut() -> None:
    # GIVEN a retry-after of 10 seconds
    hint = NOW + timedelta(seconds=10)
    # WHEN the backoff is computed after three failures
    # THEN the exponential step still applies
    assert backoff_until(NOW, 3, hint, rng=lambda: 0.0) == NOW + timedelta(minutes=20)


def test_a_transient_failure_backs_off_until_the_next_tick_then_doubles_to_the_hour() -> None:
    # GIVEN no jitter and a run of transient failures (a 5xx, a reset, a timeout)
    # WHEN the delay is computed for 1..9 consecutive failures
    delays = [backoff_delay(n, rng=lambda: 0.0, transient=True) for n in range(1, 10)]
    # THEN the first is 45 s (over before the next tick), and only repeated failures reach the cap
    assert [d.total_seconds() for d in delays] == [45, 90, 180, 360, 720, 1440, 2880, 3600, 3600]


def test_a_first_transient_backoff_ends_before_the_next_tick() -> None:
    # GIVEN the largest and the smallest draw of the jitter
    # WHEN the first transient backoff is computed from the poll's start
    longest = backoff_until(NOW, 1, rng=lambda: 0.0, transient=True)
    shortest = backoff_until(NOW, 1, rng=lambda: 1.0, transient=True)
    # THEN it is 36-45 s: the tick a minute later polls the project again, even one whose poll
    # started fifteen seconds after its own tick
    assert longest == NOW + timedelta(seconds=45)
    assert shortest == NOW + timedelta(seconds=36)


def test_a_server_hint_wins_over_a_transient_backoff() -> None:
    # GIVEN a retry-after three minutes away on a transient failure
    hint = NOW + timedelta(minutes=3)
    # THEN the hint is honoured, not the one-minute step
    assert backoff_until(NOW, 1, hint, rng=lambda: 0.0, transient=True) == hint
