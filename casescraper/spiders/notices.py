"""What the `cases` spider publishes: the frontier's notices as log lines, stats and the
signals later stages learn the run from (year_searched, plan_changed), the outcomes of
numbers that produced no record (case_outcome, awaited: the ledger), the parser's notes;
and what a failed query settles (failed_query).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from casescraper.errors import (
    BadAnswer, Blocked, BrowserError, ClockSkew, LayoutChanged, RateLimited, RestartsExhausted,
)
from casescraper.frontier import steps
from casescraper.signals import case_outcome, plan_changed, year_searched

# Parser notes become warnings and these stats.
NOTE_STATS = {
    "unknown_label": "casescraper/parse/unknown_label",
    "disagree": "casescraper/fidelity/disagree",
    "parties_unavailable": "casescraper/parties/unavailable",
    "related_unavailable": "casescraper/related/unavailable",
}

# Failures after which the middleware closes the crawl (with this reason): ask no more.
STOPPING = {Blocked: "blocked", LayoutChanged: "layout_changed", RestartsExhausted: "driver_restarts_exhausted",
            RateLimited: "rate_limited", ClockSkew: "clock_skew"}


def failed_query(exc: BaseException) -> tuple[str, str, Optional[str]]:
    """What a query that failed with `exc` settles: (status, detail for the ledger, the
    close reason when the middleware is closing the crawl because of it, else None)."""
    status = ("blocked" if isinstance(exc, (Blocked, RateLimited)) else
              "bad_answer" if isinstance(exc, BadAnswer) else "driver_error")
    detail = str(exc) if isinstance(exc, BrowserError) else f"{type(exc).__name__}: {exc}"
    stopping = next((reason for kind, reason in STOPPING.items() if isinstance(exc, kind)), None)
    return status, detail, stopping


class Publisher:
    """Publishes what `spider`'s frontier notices; `year_started(year)` readies the site
    for a year."""

    def __init__(self, spider: Any, year_started: Callable[[int], None]):
        self.spider, self.crawler, self.logger = spider, spider.crawler, spider.logger
        self.year_started = year_started
        self.planned: Optional[int] = None  # as last published by plan_changed
        self.last_error = ""  # of the last failed query, for the portal_unreachable line
        self.feed_note_given = False

    async def outcome(self, case: str, status: str, error: Optional[str] = None,
                      diagnostics: Optional[str] = None, answered_at: Optional[str] = None) -> None:
        """Report a number that produced no record; returns once it is recorded
        (`answered_at`: the portal's time of its answer, for "no data")."""
        await self.crawler.signals.send_catch_log_async(
            signal=case_outcome, case_number=case, status=status, error=error,
            diagnostics=diagnostics, answered_at=answered_at, spider=self.spider)

    def parse_notes(self, case: str, notes: list[Any]) -> None:
        """What the parser noted about `case`'s page: warnings and stats."""
        for note in notes:
            self.crawler.stats.inc_value(NOTE_STATS.get(note.kind, f"casescraper/parse/{note.kind}"))
            self.logger.warning("%s: %s", case, note.message)

    def set_planned(self, planned: Optional[int]) -> None:
        """The queries for numbers this run plans (None while a year's end is searched)."""
        self.planned = planned
        self.crawler.signals.send_catch_log(signal=plan_changed, planned=planned)

    async def publish(self, notices: list[steps.Notice]) -> None:
        stats, log = self.crawler.stats, self.logger
        for notice in notices:
            if isinstance(notice, steps.YearStarted):
                self.year_started(notice.year)
            elif isinstance(notice, steps.Planned):
                self.set_planned(notice.count)
            elif isinstance(notice, steps.YearSearched):
                log.info("the last file of %d is %s (%d queries to find it)",
                         notice.year, notice.last_file or "none", notice.queries)
                stats.inc_value("casescraper/probes/above_end", len(notice.probes_above_end))
                await self.crawler.signals.send_catch_log_async(
                    signal=year_searched, year=notice.year, last_file=notice.last_file,
                    probes_above_end=list(notice.probes_above_end))
            elif isinstance(notice, steps.NoFiles):
                log.warning("no %s files found for %d from number %d: %d consecutive numbers answered "
                            "no data", notice.prefix, notice.year, notice.start, notice.gap)
            elif isinstance(notice, steps.Resuming):
                self._resuming(notice)
            elif isinstance(notice, steps.CanaryPassed):
                stats.inc_value("casescraper/canaries/passed")
            elif isinstance(notice, steps.CanaryFailed):
                await self._canary_failed(notice)
            elif isinstance(notice, steps.Log):
                log.info("%s", notice.message)
            elif isinstance(notice, steps.Unreachable):
                log.error("the portal gave no answer %d times in a row; last error: %s; stopping "
                          "(portal_unreachable): check the network and CASESCRAPER_SITE_URL, then run "
                          "again to resume", notice.failures_in_a_row, self.last_error)

    def _resuming(self, notice: steps.Resuming) -> None:
        self.logger.info("resuming: %d numbers of %s..%s are already done",
                         notice.skipped, notice.first, notice.last)
        if self.crawler.settings.getdict("FEEDS") and not self.feed_note_given:
            self.feed_note_given = True
            self.logger.info("the feed holds only the cases of this run, not those %d: "
                             "add -a refresh=1 to collect every number again", notice.skipped)

    async def _canary_failed(self, notice: steps.CanaryFailed) -> None:
        """A number known to exist answered "no data": the portal is degraded or blocking."""
        self.crawler.stats.inc_value("casescraper/canaries/failed")
        self.logger.error(
            "canary %s answered no data although it exists: stopping (canary_failed); "
            "%d recent no-data answers are marked unverified for the next run",
            notice.case, len(notice.suspects))
        for number in notice.suspects:
            await self.outcome(number, "unverified", error=f"canary {notice.case} answered no data after it")
