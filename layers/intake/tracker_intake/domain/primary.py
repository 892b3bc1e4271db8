"""The primary budget's share of one tick: who may spend GitHub's hourly budget, and how much.

GitHub gives each credential so many requests a window (an hour: 5,000 for a token, up to 12,500
for an app installation, 15,000 on Enterprise Cloud), as every answer's `x-ratelimit-*` says. A
200 costs one; an authorized 304 nothing. Once the budget is spent GitHub refuses everything,
304s included, until the reset. So the dispatcher paces it (docs/design.md, "Limits are per
credential"):

- a tick may spend what is left, less a reserve, spread evenly over the ticks until the reset
  (`allowance`);
- each project's next poll is charged what its last polls' 200s say (`expected_cost`); one whose
  polls answered 304 is charged nothing and always polled;
- the tick's allowance goes first to the *quiet* ones that had a change lately (an occasional
  new issue: a fraction of a point each), so a quiet project is not stopped because busy ones
  spent the budget, then to the *busy* ones (most of their polls are 200s, a repository where
  people talk; or never polled, whose first poll is all 200s), which take turns with what is
  left (`PrimaryShare`): each is polled less often, all equally, and the credential never runs
  dry before its reset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .records import ProjectRecord, TokenBudget

TICK = timedelta(seconds=60)
# Kept back for what no estimate foresees: a quiet project's surprise, acknowledgements, the
# token's other users.
RESERVE_SHARE = 0.02
# A project whose last polls got more 200s than this on average is busy: three polls in four.
# New issues on two polls in a row (0.5), where polls are minutes apart, keep a project quiet.
BUSY = 0.5
# A leaky bucket's level is spread over this many ticks (an hour), on top of its refill.
LEAKY_HORIZON_TICKS = 60


def allowance(budget: TokenBudget | None, now: datetime) -> float | None:
    """The 200s one tick may spend: what GitHub last said is left, less the reserve, spread
    evenly over the ticks until its reset.

    None when nothing is known of the current window (never observed, or its reset has passed:
    the first polls of the new window say what it holds, and the next tick paces on that).
    """
    if budget is None or budget.reset_at <= now:
        return None
    reserve = math.ceil((budget.limit or 0) * RESERVE_SHARE)
    if budget.refill_per_hour is not None:
        return _leaky_allowance(budget, now, reserve)
    ticks = max(math.ceil((budget.reset_at - now) / TICK), 1)
    return max(budget.remaining - reserve, 0) / ticks


def _leaky_allowance(budget: TokenBudget, now: datetime, reserve: int) -> float:
    """A leaky bucket's share of a tick (Linear's): what flows in a tick, plus what it holds spread
    over the hour ahead. Spent at that pace the level only falls, and reaches the reserve no
    sooner than an hour from now: at rest it is twice the refill, under load the refill."""
    assert budget.refill_per_hour is not None
    held = max(budget.level(now) - reserve, 0.0)
    return held / LEAKY_HORIZON_TICKS + budget.refill_per_hour * TICK.total_seconds() / 3600


def expected_cost(record: ProjectRecord, first_poll: int) -> float:
    """The 200s the project's next poll is charged, learned from its last polls
    (`PollState.primary_costs`).

    Quiet: their mean (an occasional new issue: a fraction of one). Busy: the most a recent poll
    got, not the mean: a poll is all 304s or all 200s, and a busy project charged less than it
    spends would overspend the tick's share (on the safe side, a project whose polls alternate
    is polled less often than it could be). Not learned yet: a project polled before (its ETags
    cached) expects 304s; one never polled, a 200 for each request it is granted.
    """
    costs = record.poll.primary_costs
    if costs:
        return float(max(costs)) if is_busy(record) else sum(costs) / len(costs)
    return 0.0 if record.poll.pages_read else float(first_poll)


def is_busy(record: ProjectRecord) -> bool:
    """Most of its last polls got 200s, or it was never polled (its first poll is all 200s)."""
    costs = record.poll.primary_costs
    if not costs:
        return not record.poll.pages_read
    return sum(costs) / len(costs) > BUSY


@dataclass(frozen=True)
class PrimaryShare:
    """Which projects that cost a tick points of the primary budget it may poll.

    The line: the quiet ones with a recent change first (each charged a fraction), then the busy
    ones, in id order from where the last tick's share ended (`Pace.busy_cursor`), each charged
    what it is expected to cost, while what is left covers it. When the project at the head of
    the line costs more than is left, what is left is carried to the next tick
    (`Pace.busy_credit`) and the line waits: a costly project is polled every few ticks instead
    of overspending each. Projects charged nothing are not in it: they are always polled.
    """

    allowance: float | None  # None: the primary budget is not paced this tick
    costly: frozenset[str] = frozenset()
    chosen: tuple[str, ...] = ()
    cursor: str | None = None
    credit: float = 0.0  # what the next tick starts with

    @classmethod
    def plan(
        cls,
        allowance: float | None,
        costs: Mapping[str, float],
        busy: frozenset[str],
        cursor: str | None,
        credit: float,
    ) -> PrimaryShare:
        if allowance is None:
            return cls(None, cursor=cursor)
        costly = frozenset(pid for pid, cost in costs.items() if cost > 0)
        line = sorted(costly - busy) + _rotation(sorted(costly & busy), cursor)
        left = allowance + credit
        chosen: list[str] = []
        for pid in line:
            if costs[pid] > left:
                break
            chosen.append(pid)
            left -= costs[pid]
        # Carried only while the line waits (so less than its head costs); nobody waiting, unspent
        # allowance stays in GitHub's remaining, which the next tick's allowance is made of.
        carried = left if len(chosen) < len(line) else 0.0
        return cls(allowance, costly, tuple(chosen), cursor, carried)

    def allows(self, project_id: str) -> bool:
        return self.allowance is None or project_id not in self.costly or project_id in self.chosen

    def next_cursor(self, granted: set[str], busy: frozenset[str]) -> str | None:
        """Where the next tick's busy turns start: after the last busy project chosen and polled
        in turn (one the secondary budget deferred keeps its place at the head of the line)."""
        cursor = self.cursor
        for pid in self.chosen:
            if pid not in busy:
                continue
            if pid not in granted:
                break
            cursor = pid
        return cursor

    @property
    def every(self) -> int | None:
        """About how many ticks apart each costly project is polled (None: every tick)."""
        if self.allowance is None or not self.costly or len(self.chosen) == len(self.costly):
            return None
        return math.ceil(len(self.costly) / len(self.chosen)) if self.chosen else 0


def _rotation(ordered: list[str], cursor: str | None) -> list[str]:
    """`ordered` starting after `cursor`, wrapping round."""
    after = [pid for pid in ordered if cursor is None or pid > cursor]
    return after + [pid for pid in ordered if cursor is not None and pid <= cursor]
