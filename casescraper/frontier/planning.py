"""Which numbers to ask for: resume from the ledger, find a year's end, canaries.

Pure logic, no Scrapy and no browser: the spider feeds answers in and asks what next.
Nothing here holds a list of the numbers to ask: memory depends on what earlier runs
settled and on the answers so far, never on how far the range reaches (`end`).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generator, Optional

from casescraper.errors import FrontierError


@dataclass
class Facts:
    """What earlier runs settled for one prefix and year, as sets of numbers n, built by
    the ledger (`Ledger.facts`): `found` (a saved, changed or unchanged case whose file is
    there), `no_results`, and `failed` (failures, and found cases whose file is gone);
    `final`: the no_results answered after the year was over (the ledger's rule), final
    even above the last known file."""

    found: set[int]
    no_results: set[int]
    failed: set[int]
    final: set[int] = field(default_factory=set)


class Resume:
    """What earlier runs of the same year already settled (`Facts`, from the ledger).

    A number is done when its case was found (and its file is still there) or its latest
    outcome is `no_results` below the last known file: new files are filed every day, so
    "no data" above the last file of the year is final only once the year is over
    (`Facts.final`).
    """

    def __init__(self, facts: Facts, refresh: bool = False, retry_failed_only: bool = False):
        self.refresh = refresh
        self.retry_failed_only = retry_failed_only
        self.found = facts.found
        self.no_results = facts.no_results
        self.failed = facts.failed
        self.final = facts.final
        self.last_known = max(self.found, default=0)

    def _no_data(self, n: int) -> bool:
        return n in self.no_results and (n < self.last_known or n in self.final)

    def done(self, n: int) -> bool:
        if self.refresh:
            return False
        return n in self.found or self._no_data(n)

    def wanted(self, n: int) -> bool:
        if self.retry_failed_only:
            return n in self.failed and not self.refresh
        return not self.done(n)

    def settled(self) -> set[int]:
        """The numbers done() is true for (finite: they come from the ledger)."""
        if self.refresh:
            return set()
        return self.found | {n for n in self.no_results if self._no_data(n)}

    def known(self, n: int) -> Optional[bool]:
        """Existence of `n` as far as earlier runs settled it, or None."""
        if self.refresh:
            return None
        if n in self.found:
            return True
        if self._no_data(n):
            return False
        return None


class EndFinder:
    """Finds the last filed number at or after `start` with few queries.

    A missing number is the end only when the next `gap` numbers are missing too.
    Exponential probing upward, then binary search, each missing probe checked once
    against its neighbour (gaps are usually one number wide), and a final check of the
    `gap` numbers above the candidate; a wider gap that fooled the search is found
    there and the search goes on above it. About 2*log2(N) + gap queries.

    Protocol: `n = finder.ask()` (None when done), then `finder.tell(n, exists)`. Only a
    real answer may be told: after a failed query the caller asks for `n` again.
    `last` is the answer (start - 1 when the year has no files). Numbers above `highest`
    (the largest a court number can be) count as missing without a query.
    """

    def __init__(self, start: int, gap: int, known=lambda n: None, highest: Optional[int] = None):
        self.start = start
        self.gap = gap
        self.known = known
        self.highest = highest
        self.answers: dict[int, bool] = {}
        self.asked: list[int] = []  # numbers told by a query, in order (about 2*log2(N) + gap)
        self.queries = 0
        self.last: Optional[int] = None
        self._steps = self._search()
        self._pending: Optional[int] = next(self._steps, None)

    def ask(self) -> Optional[int]:
        return self._pending

    def tell(self, n: int, exists: bool) -> None:
        assert n == self._pending, f"answer for {n}, but {self._pending} was asked"
        self.answers[n] = exists
        self.asked.append(n)
        self.queries += 1
        self._pending = self._advance()

    def _advance(self) -> Optional[int]:
        try:
            return self._steps.send(None)
        except StopIteration:
            return None

    def _exists(self, n: int) -> Generator[int, None, bool]:
        if n not in self.answers:
            known = False if self.highest is not None and n > self.highest else self.known(n)
            if known is None:
                yield n  # ask the portal; tell() records the answer
            else:
                self.answers[n] = known
        return self.answers[n]

    def _probe(self, n: int, hi: Optional[int]) -> Generator[int, None, Optional[int]]:
        """The highest existing number among n and its upper neighbour, or None."""
        if (yield from self._exists(n)):
            return n
        if (hi is None or n + 1 < hi) and (yield from self._exists(n + 1)):
            return n + 1
        return None

    def _search(self) -> Generator[int, None, None]:
        lo = self.start - 1  # highest number known to exist (start - 1: none yet)
        while True:
            step, hi = 1, None
            while hi is None:  # exponential probing upward
                found = yield from self._probe(lo + step, None)
                if found is None:
                    hi = lo + step
                else:
                    lo, step = found, step * 2
            while hi - lo > 1:  # binary search: lo exists, hi looks like the end
                middle = (lo + hi) // 2
                found = yield from self._probe(middle, hi)
                if found is None:
                    hi = middle
                else:
                    lo = found
            beyond = None
            for n in range(lo + 1, lo + self.gap + 1):  # is lo really the end?
                if (yield from self._exists(n)):
                    beyond = n
                    break
            if beyond is None:
                self.last = lo
                return
            lo = beyond


class Breaker:
    """Counts queries in a row that got no answer (`unknown` statuses); an answer (one of
    `answered`) starts the count again. `count()` is True once `limit` are reached: the
    portal is unreachable, and the run ends."""

    def __init__(self, limit: int, answered: frozenset, unknown: frozenset):
        if limit < 1:
            raise FrontierError(f"max_consecutive_failures={limit}: use 1 or more")
        self.limit, self.answered, self.unknown = limit, answered, unknown
        self.in_a_row = 0

    def count(self, status: str) -> bool:
        if status in self.answered:
            self.in_a_row = 0
        elif status in self.unknown:
            self.in_a_row += 1
        return self.in_a_row >= self.limit


class Canary:
    """Re-queries a number known to exist, to tell "no data" from a degraded portal.

    Due every `every` cases, and after `gap` consecutive "no data" answers. The
    no-results answers since the last good canary are what a failed canary casts doubt
    on.
    """

    # Before any file is known there is no canary to ask, and no-data answers pile up
    # (a range far past the year's end); only the latest are kept, so memory stays bounded.
    SUSPECT_LIMIT = 10_000

    def __init__(self, every: int, gap: int):
        self.every = every
        self.gap = gap
        self.known_good: Optional[str] = None
        self.since_check = 0
        self.no_data_run = 0
        self.suspect: collections.deque[str] = collections.deque(maxlen=self.SUSPECT_LIMIT)

    def record(self, case: str, status: str) -> None:
        self.since_check += 1
        if status == "found":
            self.known_good = case
            self.no_data_run = 0
        elif status == "no_results":
            self.no_data_run += 1
            self.suspect.append(case)

    def due(self) -> Optional[str]:
        if self.known_good is None:
            return None
        if (self.every and self.since_check >= self.every) or self.no_data_run >= self.gap:
            return self.known_good
        return None

    def passed(self) -> None:
        self.since_check = 0
        self.no_data_run = 0
        self.suspect.clear()


class Plan:
    """The numbers a ranged run asks for, in order, computed as it goes: `start..end` in
    this shard (n % shard_count == shard_index - 1), less the numbers the end search
    already asked (`asked`) and those earlier runs settled (`resume`).

    Iterating checks each number on its own; `len()` and `skipped()` are arithmetic on
    the range and on the (finite) sets from the ledger, never a list of the range.
    """

    def __init__(self, start: int, end: int, shard_index: int, shard_count: int,
                 resume: Resume, asked: frozenset[int] = frozenset()):
        self.start, self.end = start, end
        self.index, self.count = shard_index, shard_count
        self.resume = resume
        self.asked = asked
        # The first number of this shard at or after start.
        self.first = start + (shard_index - 1 - start) % shard_count

    def covers(self, n: int) -> bool:
        return self.start <= n <= self.end and n % self.count == self.index - 1

    def _shard_range(self) -> range:
        return range(self.first, self.end + 1, self.count)

    def _retries(self) -> list[int]:
        """retry_failed_only: the failed numbers in range (finite: from the ledger)."""
        if self.resume.refresh:
            return []
        return sorted(n for n in self.resume.failed if self.covers(n) and n not in self.asked)

    def __iter__(self) -> Iterator[int]:
        if self.resume.retry_failed_only:
            yield from self._retries()
            return
        for n in self._shard_range():
            if n not in self.asked and self.resume.wanted(n):
                yield n

    def __len__(self) -> int:
        if self.resume.retry_failed_only:
            return len(self._retries())
        return len(self._shard_range()) - len(self._asked_here()) - self.skipped()

    def _asked_here(self) -> set[int]:
        return {n for n in self.asked if self.covers(n)}

    def skipped(self) -> int:
        """Numbers of the range (in this shard, not asked by the end search) that earlier
        runs settled."""
        if self.resume.retry_failed_only:
            return 0
        return sum(1 for n in self.resume.settled() if self.covers(n) and n not in self.asked)
