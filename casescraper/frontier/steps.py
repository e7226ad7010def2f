"""What the frontier says: the steps `next()` returns and the notices it leaves for its
adapter, as small frozen dataclasses. Plain values only, so that any adapter (the Scrapy
spider today, a worker sharing a job through a queue later) can act on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

# What an asked number can get (settle()'s `status`). The portal answered, even if the
# answer could not be read or kept:
ANSWERED = frozenset({"found", "no_results", "parse_error"})
# A failed query (stuck page, dead browser, network error) says nothing about the number,
# and nor does an answer cut off, of another shape or about another number (bad_answer):
UNKNOWN = frozenset({"driver_error", "bad_answer"})
# The portal refused (a WAF page, HTTP 403): the crawl is stopping anyway.
STATUSES = ANSWERED | UNKNOWN | {"blocked"}


# --- next() ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Ask:
    """Ask the portal for `case` (of filing `year`), then settle() it. A canary re-asks a
    number known to exist: its answer is a health check, not a case's outcome."""

    case: str
    canary: bool = False
    year: Optional[int] = None


@dataclass(frozen=True)
class Wait:
    """Nothing to ask now. `seconds` None: a question is outstanding, settle it first;
    a number: come back after that long (work held elsewhere)."""

    seconds: Optional[float] = None


@dataclass(frozen=True)
class Done:
    """Nothing more to ask: `finished`, `portal_unreachable`, `canary_failed`, or the
    reason given to stop()."""

    reason: str


Step = Union[Ask, Wait, Done]


# --- notices(): side facts, in the order they happened -----------------------------------

@dataclass(frozen=True)
class YearStarted:
    """A year's work begins (before its first question)."""

    year: int


@dataclass(frozen=True)
class Planned:
    """The queries for numbers (canaries apart) the run plans, added up across years;
    None while a year's end is searched."""

    count: Optional[int]


@dataclass(frozen=True)
class YearSearched:
    """A year's end search is over: its last file (None: no file from `start`), the
    numbers asked above it (probes, not cases of the year), the queries it took."""

    year: int
    last_file: Optional[str]
    probes_above_end: tuple[str, ...]
    queries: int


@dataclass(frozen=True)
class NoFiles:
    """The end search found no file of `prefix` in `year` from `start`: `gap`
    consecutive numbers answered no data."""

    year: int
    prefix: str
    start: int
    gap: int


@dataclass(frozen=True)
class Resuming:
    """`skipped` numbers of first..last were settled by earlier runs and are not asked."""

    year: int
    skipped: int
    first: str
    last: str


@dataclass(frozen=True)
class CanaryPassed:
    case: str


@dataclass(frozen=True)
class CanaryFailed:
    """Canary `case`, known to exist, answered no data: the portal is degraded or
    blocking. `suspects`: the no-data answers since the last good canary, in order."""

    case: str
    suspects: tuple[str, ...]


@dataclass(frozen=True)
class Unreachable:
    """`failures_in_a_row` queries in a row got no answer: the run ends."""

    failures_in_a_row: int


@dataclass(frozen=True)
class Log:
    """A line for the run's log (a queue worker's tasks: taken, given back, ...)."""

    message: str


Notice = Union[YearStarted, Planned, YearSearched, NoFiles, Resuming, CanaryPassed, CanaryFailed,
               Unreachable, Log]
