"""The run-wide rules for a frontier that has none of its own (a queue worker's).

`Frontier` keeps the breaker and the canary inside its steps; a frontier fed by a shared
queue (queue.frontier.QueueFrontier) only knows which number its tasks want next. `Guard`
puts the same rules around it, with the same face (next, settle, stop, notices):

- the breaker: `max_consecutive_failures` queries in a row without an answer (steps.UNKNOWN)
  end the run, Done("portal_unreachable"), with an `Unreachable` notice;
- the canary, per year: every `canary_every` cases and after `boundary_gap` "no data"
  answers in a row, a number this worker found is asked again; found passes, "no data"
  ends the run, Done("canary_failed"), with a `CanaryFailed` notice naming the suspects;
  a failed canary query is asked again after the next case;
- one question at a time: settle() refuses a number that is not the one outstanding.

Every other call goes to the inner frontier; `blocking` says whether next() may wait on
I/O (the adapter then calls it off the reactor).
"""

from __future__ import annotations

from typing import Any, Optional

from casescraper.errors import FrontierError, shown
from casescraper.frontier.planning import Breaker, Canary
from casescraper.frontier.steps import (
    ANSWERED, UNKNOWN, Ask, CanaryFailed, CanaryPassed, Done, Notice, Step, Unreachable,
)


class Guard:
    def __init__(self, inner: Any, *, max_consecutive_failures: int, canary_every: int,
                 boundary_gap: int):
        self.breaker = Breaker(max_consecutive_failures, ANSWERED, UNKNOWN)
        self.inner = inner
        self.blocking = getattr(inner, "blocking", False)
        self.canary_every, self.gap = canary_every, boundary_gap
        self._canaries: dict[Optional[int], Canary] = {}  # per year: found numbers are per year
        self._check: Optional[Ask] = None  # a canary question due before the next case
        self._asked: Optional[Ask] = None  # the question outstanding
        self._done: Optional[Done] = None
        self._notices: list[Notice] = []

    @property
    def outstanding(self) -> Optional[str]:
        return self._asked.case if self._asked is not None else None

    def next(self) -> Step:
        if self._done is not None:
            return self._done
        if self._asked is not None:
            raise FrontierError(f"next() while {self._asked.case} is outstanding: settle it first")
        if self._check is not None:
            self._asked = self._check
            return self._check
        step = self.inner.next()
        if isinstance(step, Ask):
            self._asked = step
        return step

    def settle(self, case_number: str, status: str) -> None:
        asked = self._asked
        if asked is None or case_number != asked.case:
            raise FrontierError(f"an answer for {shown(case_number, 40)}, but "
                                + (f"{asked.case} was asked" if asked else "no number is outstanding"))
        self._asked = None
        self._count(status)
        canary = self._canaries.setdefault(asked.year, Canary(self.canary_every, self.gap))
        if asked.canary:
            # A failed canary query is asked again after the next case (still due then).
            self._check = None
            self._verdict(asked.case, status, canary)
            return
        self.inner.settle(case_number, status)
        canary.record(case_number, status)
        check = canary.due() if self._check is None else None
        if check is not None:
            self._check = Ask(check, True, asked.year)

    def stop(self, reason: str) -> None:
        if self._done is None:
            self._done = Done(reason)
        self.inner.stop(reason)

    def notices(self) -> list[Notice]:
        notices, self._notices = [*self.inner.notices(), *self._notices], []
        return notices

    def _count(self, status: str) -> None:
        if self.breaker.count(status) and self._done is None:
            self._notices.append(Unreachable(self.breaker.in_a_row))
            self.stop("portal_unreachable")

    def _verdict(self, case: str, status: str, canary: Canary) -> None:
        if status == "found":
            canary.passed()
            self._notices.append(CanaryPassed(case))
        elif status == "no_results":
            self._notices.append(CanaryFailed(case, tuple(canary.suspect)))
            if self._done is None:
                self.stop("canary_failed")
