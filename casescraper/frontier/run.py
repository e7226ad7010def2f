"""The Frontier: which number a run asks next, and what each answer settles.

One question at a time: `next()` hands out an `Ask`, and nothing more (`Wait()`) until
`settle()` says what that number got; the year's end, the canary and the breaker depend
on every answer, in order. The year loop, resume, the end search, the lazy plan and
shards are `YearRun`'s (years.py); here are the run-wide rules:

- the breaker: `max_consecutive_failures` queries in a row without an answer (`UNKNOWN`)
  end the run, `Done("portal_unreachable")`, with an `Unreachable` notice;
- the canary's verdict, told as soon as it is settled: found passes, "no data" ends the
  run, `Done("canary_failed")`, with a `CanaryFailed` notice naming the suspects; a
  failed canary query is asked again after the next case;
- once stopped (stop(), or one of the above), nothing more is asked, and the answer
  still outstanding is accepted and ignored.

No I/O: what earlier runs settled comes from the `facts(year)` callable.
"""

from __future__ import annotations

from typing import Callable, Generator, Iterable, Optional

from casescraper.errors import FrontierError, shown
from casescraper.frontier import casenumbers
from casescraper.frontier.planning import Breaker, Canary, Facts
from casescraper.frontier.steps import (
    ANSWERED, STATUSES, UNKNOWN, Ask, CanaryFailed, CanaryPassed, Done, Notice, Planned, Step,
    Unreachable, Wait, YearStarted,
)
from casescraper.frontier.years import Scope, Steps, YearRun


class _Halt(Exception):
    """Raised inside the steps to end the run with `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Frontier:
    """A run's sequencing, from plain values: `years` (ascending) or an explicit list of
    `cases` (in order; shards split it by position), the range and shard, resume and
    probe flags, the settings' `boundary_gap`, `canary_every`, `max_consecutive_failures`,
    and `facts(year)`, what earlier runs settled in that year."""

    def __init__(self, *, facts: Callable[[int], Facts], boundary_gap: int, canary_every: int,
                 max_consecutive_failures: int, prefix: str = "IMM", years: Iterable[int] = (),
                 cases: Optional[Iterable[str]] = None, start: int = 1, end: Optional[int] = None,
                 shard_index: int = 1, shard_count: int = 1, refresh: bool = False,
                 retry_failed_only: bool = False, probe_only: bool = False,
                 highest: int = casenumbers.HIGHEST_N):
        if not 1 <= shard_index <= shard_count:
            raise FrontierError(f"shard {shard_index}/{shard_count}: use 1 <= index <= count")
        self.breaker = Breaker(max_consecutive_failures, ANSWERED, UNKNOWN)
        self.scope = Scope(prefix=prefix, start=start, end=end, shard_index=shard_index,
                           shard_count=shard_count, refresh=refresh,
                           retry_failed_only=retry_failed_only, probe_only=probe_only,
                           boundary_gap=boundary_gap, canary_every=canary_every, highest=highest)
        self.years = tuple(years)
        self.cases = None if cases is None else [self._checked(c) for c in cases]
        self._facts = facts
        self.asks = 0  # queries for numbers handed out (canaries apart)
        self._steps = self._run()
        self._asked: Optional[Ask] = None  # the last question handed out
        self._status: Optional[str] = None  # its answer, once settled
        self._canary: Optional[Canary] = None  # whose check the last canary question is
        self._done: Optional[Done] = None
        self._notices: list[Notice] = []

    @staticmethod
    def _checked(case: str) -> str:
        try:
            return str(casenumbers.parse(case))
        except ValueError:
            raise FrontierError(f"{shown(case, 40)} is not a court file number like IMM-12345-25") from None

    # --- the face ----------------------------------------------------------------------

    @property
    def outstanding(self) -> Optional[str]:
        """The number handed out and not yet settled, or None."""
        return self._asked.case if self._asked is not None and self._status is None else None

    def next(self) -> Step:
        """The next question, Wait() while one is outstanding, or Done(reason)."""
        if self._done is not None:
            return self._done
        if self.outstanding is not None:
            return Wait()
        status, self._asked, self._status = self._status, None, None
        try:
            self._asked = self._steps.send(status)  # None starts the steps
        except StopIteration:
            self._done = Done("finished")
        except _Halt as halt:
            self._done = Done(halt.reason)
        except BaseException:
            self._done = Done("error")  # the steps are dead: never "finished"
            raise
        return self._done or self._asked

    def settle(self, case_number: str, status: str) -> None:
        """What the outstanding number got: a status of steps.STATUSES. FrontierError for
        any other number (or one settled already) and any other status."""
        asked = self.outstanding
        if case_number != asked:
            raise FrontierError(f"an answer for {shown(case_number, 40)}, but "
                                + (f"{asked} was asked" if asked else "no number is outstanding"))
        if status not in STATUSES:
            raise FrontierError(f"{case_number}: status {shown(status, 40)} is not one of "
                                f"{', '.join(sorted(STATUSES))}")
        self._status = status
        if self._asked.canary and self._canary is not None:
            self._verdict(self._asked.case, status, self._canary)

    def stop(self, reason: str) -> None:
        """The crawl is stopping: from now on next() returns Done(reason) (unless the run
        ended already)."""
        if self._done is None:
            self._done = Done(reason)
            self._steps.close()

    def notices(self) -> list[Notice]:
        """The notices since the last call, oldest first."""
        notices, self._notices = self._notices, []
        return notices

    # --- for the steps (years.Asking) -----------------------------------------------------

    def tell(self, notice: Notice) -> None:
        self._notices.append(notice)

    def ask(self, case: str, year: int, canary: Optional[Canary]) -> Generator[Ask, str, str]:
        """Ask `case`; count its answer (the breaker); then a canary check if one is due."""
        self.asks += 1
        status = yield Ask(case, False, year)
        self._count(status)
        if canary is not None:
            canary.record(case, status)
            check = canary.due()
            if check is not None:
                self._canary = canary
                self._count((yield Ask(check, True, year)))
        return status

    def _count(self, status: str) -> None:
        if self.breaker.count(status):
            self.tell(Unreachable(self.breaker.in_a_row))
            raise _Halt("portal_unreachable")

    def _verdict(self, case: str, status: str, canary: Canary) -> None:
        """A canary's answer. Told even when the run is stopping: its suspects get marked."""
        if status == "found":
            canary.passed()
            self.tell(CanaryPassed(case))
        elif status == "no_results":
            self.tell(CanaryFailed(case, tuple(canary.suspect)))
            if self._done is None:
                self._done = Done("canary_failed")
                self._steps.close()

    def _run(self) -> Steps:
        scope = self.scope
        if self.cases is not None:
            mine = [c for i, c in enumerate(self.cases, 1) if i % scope.shard_count == scope.shard_index - 1]
            self.tell(Planned(len(mine)))
            for case in mine:
                yield from self.ask(case, casenumbers.parse(case).year, None)
            return
        for year in self.years:
            self.tell(YearStarted(year))
            yield from YearRun(year, self._facts(year), scope, self).run()
