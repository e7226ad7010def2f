"""One year's work: resume from what earlier runs settled, find the year's end, plan, ask.

A run of several years takes them one after another, ascending; each year gets what a
run of that year alone would: its own Resume, canary, end search and plan. Shards split
every year the same way.

A year that is over is closed: a "no data" answer recorded more than a grace period after
the year ended is final, even above the year's last known file (`Facts.final`, the
ledger's rule; Resume.known tells the end search). So a rerun of finished past years asks
nothing, where an open year is probed above its last file again (files are filed every
day).

The work is written as generators that yield `Ask` and receive the status the number got
(`Steps`); the Frontier drives them. `find_end` and `ask_range` stand alone, so a worker
given only "search the end of 2025" or "numbers 1000..1999 of 2025" reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generator, Optional, Protocol

from casescraper.frontier import casenumbers
from casescraper.frontier.planning import Canary, EndFinder, Facts, Plan, Resume
from casescraper.frontier.steps import (
    UNKNOWN, Ask, NoFiles, Notice, Planned, Resuming, YearSearched,
)

# Yields the questions and receives the status each one got.
Steps = Generator[Ask, str, None]


@dataclass(frozen=True)
class Scope:
    """What a run asks of every year: the plain values of its arguments and settings."""

    prefix: str = "IMM"
    start: int = 1
    end: Optional[int] = None  # None: each year's end is searched
    shard_index: int = 1
    shard_count: int = 1
    refresh: bool = False
    retry_failed_only: bool = False
    probe_only: bool = False
    boundary_gap: int = 20
    canary_every: int = 100
    highest: int = casenumbers.HIGHEST_N


class Asking(Protocol):
    """What a year's work needs from whoever drives it (the Frontier)."""

    asks: int  # queries for numbers so far in the run (canaries apart)

    def ask(self, case: str, year: int, canary: Optional[Canary]) -> Generator[Ask, str, str]:
        """Ask `case`, count its answer, run `canary` if due; return the status."""

    def tell(self, notice: Notice) -> None:
        """Leave a notice for the adapter."""


class YearRun:
    """The work of one `year` under `scope`, from earlier runs' `facts` of that year."""

    def __init__(self, year: int, facts: Facts, scope: Scope, asking: Asking):
        self.year, self.scope, self.asking = year, scope, asking
        self.resume = Resume(facts, refresh=scope.refresh, retry_failed_only=scope.retry_failed_only)
        self.canary = Canary(scope.canary_every, scope.boundary_gap)
        if self.resume.last_known:
            self.canary.known_good = self.case(self.resume.last_known)

    def case(self, n: int) -> str:
        return casenumbers.format(self.scope.prefix, n, self.year)

    def _ask(self, n: int) -> Generator[Ask, str, str]:
        return (yield from self.asking.ask(self.case(n), self.year, self.canary))

    def run(self) -> Steps:
        """The whole year, as a run of that year alone does it."""
        scope = self.scope
        end, asked = scope.end, frozenset()
        if end is None and not scope.retry_failed_only:
            finder = yield from self.find_end()
            end = finder.last
            if end < scope.start or scope.probe_only:
                return
            asked = frozenset(finder.asked)  # what resume knew is skipped (and counted) below
        elif end is None:
            end = max(self.resume.failed, default=0)
        yield from self.ask_range(scope.start, end, asked)

    def find_end(self) -> Generator[Ask, str, EndFinder]:
        """Search the year's last file from scope.start; a failed query is asked again (it
        taught nothing)."""
        scope, asking = self.scope, self.asking
        finder = EndFinder(scope.start, scope.boundary_gap, self.resume.known, highest=scope.highest)
        asking.tell(Planned(None))
        while (n := finder.ask()) is not None:
            status = yield from self._ask(n)
            if status not in UNKNOWN:
                finder.tell(n, status != "no_results")
        end = finder.last
        asking.tell(YearSearched(
            self.year, self.case(end) if end >= scope.start else None,
            tuple(self.case(n) for n in finder.asked if n > end), finder.queries))
        asking.tell(Planned(asking.asks))
        if end < scope.start:
            asking.tell(NoFiles(self.year, scope.prefix, scope.start, scope.boundary_gap))
        return finder

    def ask_range(self, start: int, end: int, asked: frozenset[int] = frozenset()) -> Steps:
        """Ask start..end in this shard, less `asked` (by the end search) and what earlier
        runs settled (retry_failed_only: only the failed numbers)."""
        scope, asking = self.scope, self.asking
        plan = Plan(start, end, scope.shard_index, scope.shard_count, self.resume, asked)
        asking.tell(Planned(asking.asks + len(plan)))
        skipped = plan.skipped()
        if skipped:
            asking.tell(Resuming(self.year, skipped, self.case(start), self.case(end)))
        for n in plan:
            yield from self._ask(n)

