"""One year of a `cases` run: resume from its ledger, find its end, plan, ask.

A run of several years (`-a years=2019-2025`) takes them one after another, ascending;
each year gets what a run of that year alone would: its own Resume (from that year's
ledger), canary, end search and plan. Shards (`shard=I/N`) split every year the same way.

A year that is over is closed: a "no data" answer recorded more than a grace period after
the year ended is final, even above the year's last known file (the ledger's rule:
ledger.year_closed; Resume.known tells the end search). So a rerun of finished past
years asks nothing, where an open year is probed above its last file again (files are
filed every day).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator

import scrapy

from casescraper.store.ledger import Ledger
from casescraper.frontier.planning import Canary, EndFinder, Plan, Resume
from casescraper.signals import year_searched

if TYPE_CHECKING:
    from casescraper.spiders.cases import CasesSpider

# A failed query (stuck page, dead browser, network error) says nothing about the number.
# So is an answer cut off, of another shape or about another number (`bad_answer`).
UNKNOWN = ("driver_error", "bad_answer")
# The portal answered, even if the answer could not be read or kept.
ANSWERED = ("found", "no_results", "parse_error")


@dataclass(frozen=True)
class Settled:
    """How an asked number was settled: its status (found, no_results, parse_error,
    driver_error, blocked). Whether the crawl stops is not a status: see
    CasesSpider.stopping."""

    status: str

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED

    @property
    def unknown(self) -> bool:
        return self.status in UNKNOWN

    @property
    def exists(self) -> bool:
        """What an answer says to the end search (a failed query says nothing: `unknown`)."""
        return self.status != "no_results"


async def year_requests(spider: "CasesSpider", year: int, highest: int) -> AsyncIterator[scrapy.Request]:
    """The requests of one year, each yielded when the one before it is settled."""
    options = spider.options
    spider.year = year
    spider.use_demo_year(year)
    ledger = Ledger(options.output_dir)
    resume = spider.resume = Resume(ledger.facts(year, spider.prefix), refresh=spider.refresh,
                                    retry_failed_only=spider.retry_failed_only)
    gap = options.boundary_gap
    spider.canary = Canary(options.canary_every, gap)
    if resume.last_known:
        spider.canary.known_good = spider.case(resume.last_known)
    end = spider.end_n
    asked: frozenset[int] = frozenset()
    if end is None and not spider.retry_failed_only:
        finder = EndFinder(spider.start_n, gap, resume.known, highest=highest)
        spider.set_planned(None)
        async for request in _find_end(spider, finder):
            yield request
        if spider.stopped():
            return
        end = finder.last
        last_file = spider.case(end) if end >= spider.start_n else None
        spider.logger.info("the last file of %d is %s (%d queries to find it)",
                           year, last_file or "none", finder.queries)
        probes = [spider.case(n) for n in finder.asked if n > end]
        spider.crawler.stats.inc_value("casescraper/probes/above_end", len(probes))
        await spider.crawler.signals.send_catch_log_async(
            signal=year_searched, year=year, last_file=last_file, probes_above_end=probes)
        spider.set_planned(spider.asks)
        if end < spider.start_n:
            spider.logger.warning(
                "no %s files found for %d from number %d: %d consecutive numbers answered no data",
                spider.prefix, year, spider.start_n, gap)
            return
        if spider.probe_only:
            return
        asked = frozenset(finder.asked)  # what resume knew is skipped (and counted) below
    elif end is None:
        end = max(resume.failed, default=0)
    plan = Plan(spider.start_n, end, spider.shard_index, spider.shard_count, resume, asked)
    spider.set_planned(spider.asks + len(plan))
    skipped = plan.skipped()
    if skipped:
        spider.logger.info("resuming: %d numbers of %s..%s are already done", skipped,
                           spider.case(spider.start_n), spider.case(end))
        if spider.settings.getdict("FEEDS") and not spider.feed_note_given:
            spider.feed_note_given = True
            spider.logger.info("the feed holds only the cases of this run, not those %d: "
                               "add -a refresh=1 to collect every number again", skipped)
    for n in plan:
        async for request in spider.ask(spider.case(n)):
            yield request
        if spider.stopped():
            return


async def _find_end(spider: "CasesSpider", finder: EndFinder) -> AsyncIterator[scrapy.Request]:
    """Ask what the end search asks; a failed query is asked again (it taught nothing)."""
    while (n := finder.ask()) is not None:
        async for request in spider.ask(spider.case(n)):
            yield request
        if spider.stopped():
            return
        if not spider.last.unknown:
            finder.tell(n, spider.last.exists)
