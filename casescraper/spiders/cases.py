"""The `cases` spider: what to fetch.

One request per court file number, sent one at a time: each request waits until the
previous number is settled, because when to stop (the end of a year) depends on its
answer, and because a number whose record cannot be written must hold the next query
back (back-pressure: while writes fail, nothing new is asked). Settled means:
- a found case: its CaseItem has left the pipelines (item_scraped, item_dropped or
  item_error: saved, already there, or failed_write);
- any other outcome: the `case_outcome` signal, awaited, has been handled (the ledger).
The browser work happens in the Selenium middleware; this spider only plans numbers
(lazily: see planning.Plan), turns captures into items through the parser, and reports
outcomes. A failed query (no answer from the portal) is "unknown": it teaches the end
search and the canary nothing, and CASESCRAPER_MAX_CONSECUTIVE_FAILURES of them in a row
stop the crawl (`portal_unreachable`).
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any, AsyncIterator, Optional

import scrapy
from scrapy import signals
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.conf import build_component_list

from .. import casenumbers, evidence, parser
from ..config import SPECS
from ..errors import (
    Blocked, BrowserError, ConfigError, LayoutChanged, ParseError, RestartsExhausted,
)
from ..items import CaseItem
from ..ledger import Ledger, Site
from ..planning import Canary, EndFinder, Plan, Resume
from ..signals import case_outcome
from .arguments import ARGUMENTS, DEMO_ARGUMENTS, HIGHEST, parse_arguments

# Parser notes become warnings and these stats.
NOTE_STATS = {
    "unknown_label": "casescraper/parse/unknown_label",
    "disagree": "casescraper/fidelity/disagree",
    "parties_unavailable": "casescraper/parties/unavailable",
}
# Failures after which the middleware closes the crawl: plan no further numbers.
STOPPING = (Blocked, LayoutChanged, RestartsExhausted)
# A failed query (stuck page, dead browser, network error) says nothing about the number.
UNKNOWN = ("driver_error",)
# The portal answered, even if the answer could not be read or kept.
ANSWERED = ("found", "no_results", "parse_error")


class CasesSpider(scrapy.Spider):
    name = "cases"

    # Kept as class attributes: `scrapy list`, tests and docs read them from the spider.
    ARGUMENTS = ARGUMENTS
    DEMO_ARGUMENTS = DEMO_ARGUMENTS

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CasesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._apply_site(crawler)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        for settled in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_settled, signal=settled)
        crawler.signals.connect(spider._spider_error, signal=signals.spider_error)
        return spider

    def __init__(self, *args_: Any, **kwargs: Any):
        # Not **kwargs: Scrapy would copy them onto the spider, and `start=10` would
        # shadow the start() method. Every argument is checked into attributes here.
        args = parse_arguments(kwargs)
        super().__init__(*args_)
        self.arguments = args
        # `job` is Scrapyd's job id (Scrapyd 1.5+ passes it only as `_job`, no longer as
        # SCRAPY_JOB); _apply_site makes it the run id.
        self.run_args, self.job = args.run_args, args.job
        self.prefix, self.court, self.site = args.prefix, args.court, args.site
        self.dry_run, self.force_overwrite = args.dry_run, args.force_overwrite
        self.explicit = args.explicit
        self.shard_index, self.shard_count = args.shard_index, args.shard_count
        self.year, self.start_n, self.end_n = args.year, args.start_n, args.end_n
        self.refresh, self.retry_failed_only = args.refresh, args.retry_failed_only
        self.probe_only = args.probe_only
        self.demo_court_args = args.demo_court_args
        # Queries this run sends for numbers (canaries apart): known once the end search is
        # over; at a finished close, exactly the numbers recorded (the progress bar's total).
        self.planned: Optional[int] = None
        self.asks = 0  # queries for numbers sent so far (canaries apart)
        self.resume: Optional[Resume] = None
        self.canary: Optional[Canary] = None
        self.stopping = False
        self._last_status = ""
        # The end search's result, for the run's summary: the year's last file and the
        # numbers asked above it (no data: probes, not cases of the year).
        self.year_last_file: Optional[str] = None
        self.probes_above_end: list[str] = []
        self.failures_in_a_row = 0
        self.last_error = ""
        self.demo = None
        self.site_url = ""  # set in _apply_site, once settings are known
        self._pending: Optional[str] = None  # the case asked and not yet settled
        self._waiting: Optional[asyncio.Future] = None

    # --- settings ------------------------------------------------------------------

    def _apply_site(self, crawler) -> None:
        """Per-site defaults and spider-argument settings, before settings freeze."""
        settings = crawler.settings
        if re.fullmatch(r"[A-Za-z0-9._-]{1,40}", self.job):
            # At settings.py's priority: a config file, the environment and -s still win.
            settings.set("CASESCRAPER_RUN_ID", self.job, priority="project")
        if self.dry_run is not None:
            settings.set("CASESCRAPER_DRY_RUN", self.dry_run, priority="spider")
        if self.force_overwrite is not None:
            settings.set("CASESCRAPER_FORCE_OVERWRITE", self.force_overwrite, priority="spider")
        if self.site == "demo":
            # Same priority as settings.py: the config file, environment and -s still win.
            settings.set("DOWNLOAD_DELAY", 0, priority="project")
            settings.set("CASESCRAPER_REST_SECONDS", 0, priority="project")
            # Fictional files get a default dir of their own (output/demo), so they never
            # stand in for real ones. Only the default moves: an output dir given by -s,
            # the config file or the environment (applied later, at higher priorities) wins.
            if (settings.getpriority("CASESCRAPER_OUTPUT_DIR") or 0) <= SETTINGS_PRIORITIES["project"]:
                base = settings.get("CASESCRAPER_OUTPUT_DIR") or SPECS["CASESCRAPER_OUTPUT_DIR"].default
                settings.set("CASESCRAPER_OUTPUT_DIR", os.path.join(base, "demo"), priority="project")

    def settings_ready(self, settings) -> None:
        """Called by the config add-on once settings are final, before any browser: refuse
        an output dir whose ledger (for the years asked) holds another site's lines."""
        self.ledger_site = Site.of(self.site, settings.get("CASESCRAPER_SITE_URL"))
        if not build_component_list(settings.getwithbase("ITEM_PIPELINES")):
            return  # `scrapy parse`, `scrapy check`: nothing is written, no site to refuse
        years = ({casenumbers.parse(c).year for c in self.explicit} if self.explicit is not None
                 else {self.year})
        Ledger(settings.get("CASESCRAPER_OUTPUT_DIR")).refuse_other_site(years - {None}, self.ledger_site)

    # --- requests ------------------------------------------------------------------

    def case(self, n: int) -> str:
        return f"{self.prefix}-{n}-{self.year % 100:02d}"

    def mine(self, n: int) -> bool:
        return n % self.shard_count == self.shard_index - 1

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.site_url = self._site_url()
        if self.explicit is not None:
            cases = [c for i, c in enumerate(self.explicit) if self.mine(i + 1)]
            self.planned = len(cases)
            for case in cases:
                async for request in self._ask(case):
                    yield request
                if self.stopping:
                    return
            return
        settings = self.settings
        self.resume = Resume(
            Ledger(settings.get("CASESCRAPER_OUTPUT_DIR")).latest(self.year),
            settings.get("CASESCRAPER_OUTPUT_DIR"), self.prefix, self.year,
            refresh=self.refresh, retry_failed_only=self.retry_failed_only,
        )
        gap = settings.getint("CASESCRAPER_BOUNDARY_GAP")
        self.canary = Canary(settings.getint("CASESCRAPER_CANARY_EVERY"), gap)
        if self.resume.last_known:
            self.canary.known_good = self.case(self.resume.last_known)
        end = self.end_n
        asked: frozenset[int] = frozenset()
        if end is None and not self.retry_failed_only:
            finder = EndFinder(self.start_n, gap, self.resume.known, highest=HIGHEST)
            async for request in self._find_end(finder):
                yield request
            if self.stopping:
                return
            end = finder.last
            self.logger.info(
                "the last file of %d is %s (%d queries to find it)",
                self.year, self.case(end) if end >= self.start_n else "none", finder.queries,
            )
            self.year_last_file = self.case(end) if end >= self.start_n else None
            self.probes_above_end = [self.case(n) for n in finder.asked if n > end]
            self.crawler.stats.set_value("casescraper/probes/above_end", len(self.probes_above_end))
            self.planned = self.asks
            if end < self.start_n:
                self.logger.warning(
                    "no %s files found for %d from number %d: %d consecutive numbers answered no data",
                    self.prefix, self.year, self.start_n, gap,
                )
                return
            if self.probe_only:
                return
            asked = frozenset(finder.asked)  # what resume knew is skipped (and counted) below
        elif end is None:
            end = max(self.resume.failed, default=0)
        plan = Plan(self.start_n, end, self.shard_index, self.shard_count, self.resume, asked)
        self.planned = self.asks + len(plan)
        skipped = plan.skipped()
        if skipped:
            self.logger.info("resuming: %d numbers of %s..%s are already done", skipped,
                             self.case(self.start_n), self.case(end))
            if settings.getdict("FEEDS"):
                self.logger.info("the feed holds only the cases of this run, not those %d: "
                                 "add -a refresh=1 to collect every number again", skipped)
        for n in plan:
            async for request in self._ask(self.case(n)):
                yield request
            if self.stopping:
                return

    async def _find_end(self, finder: EndFinder) -> AsyncIterator[scrapy.Request]:
        """Ask what the end search asks; a failed query is asked again (it taught nothing)."""
        while (n := finder.ask()) is not None:
            async for request in self._ask(self.case(n)):
                yield request
            if self.stopping:
                return
            if self._last_status not in UNKNOWN:
                finder.tell(n, self._last_status != "no_results")

    async def _ask(self, case: str, canary: bool = False) -> AsyncIterator[scrapy.Request]:
        """Yield the request for `case`, wait until it is settled, then run a canary if due."""
        self._pending = case
        self._waiting = asyncio.get_running_loop().create_future()
        if not canary:
            self.asks += 1
        yield self.case_request(case, canary)
        self._last_status = status = await self._waiting
        self._pending = self._waiting = None
        if status == "stop":
            self.stopping = True  # the crawl is closing (blocked, layout, restarts, canary)
            return
        if self._portal_unreachable(status) or canary or self.canary is None:
            return
        self.canary.record(case, status)
        check = self.canary.due()
        if check is not None:
            async for request in self._ask(check, canary=True):
                yield request
            if not self.stopping:
                self._last_status = status

    def _portal_unreachable(self, status: str) -> bool:
        """Count failed queries in a row; at the limit, stop the crawl (portal_unreachable)."""
        if status in ANSWERED:
            self.failures_in_a_row = 0
        elif status in UNKNOWN:
            self.failures_in_a_row += 1
        limit = self.settings.getint("CASESCRAPER_MAX_CONSECUTIVE_FAILURES")
        if self.failures_in_a_row < limit:
            return False
        self.logger.error("the portal gave no answer %d times in a row; last error: %s; stopping "
                          "(portal_unreachable): check the network and CASESCRAPER_SITE_URL, then "
                          "run again to resume", self.failures_in_a_row, self.last_error)
        self.stopping = True
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="portal_unreachable"))
        return True

    def _site_url(self) -> str:
        if self.site != "demo":
            return self.settings.get("CASESCRAPER_SITE_URL")
        from ..democourt import DemoCourt

        self.demo = DemoCourt(**self.demo_court_args)
        url = self.demo.start()
        self.logger.info("demo court serving at %s", url)
        return url

    def case_request(self, case: str, canary: bool = False) -> scrapy.Request:
        return scrapy.Request(
            f"{self.site_url}#{case}",
            callback=self.parse_case,
            errback=self.case_failed,
            # URL fragments do not count in fingerprints: every number is distinct anyway.
            dont_filter=True,
            meta={"casescraper": {"case": case, "court": self.court, "canary": canary}},
        )

    def _answer(self, status: str) -> None:
        """The pending case is settled: let start() go on."""
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(status)

    async def _outcome(self, case: str, status: str, error: Optional[str] = None,
                       diagnostics: Optional[str] = None) -> None:
        """Report a number that produced no record; returns once it is recorded."""
        await self.crawler.signals.send_catch_log_async(
            signal=case_outcome, case_number=case, status=status, error=error,
            diagnostics=diagnostics, spider=self)

    # --- responses -----------------------------------------------------------------

    async def parse_case(self, response: Response):
        """Turn one captured case into a CaseItem; any other outcome goes to the ledger.

        `scrapy check cases` runs these contracts on a demo court it starts (offline):
        @demo_case IMM-3-25
        @returns items 1 1
        @returns requests 0 0
        @scrapes case_number court style_of_cause filing_date parties docket_entries source_url
        @demo_record
        """
        capture = response.meta.get("casescraper") or {}
        if "found" not in capture:
            raise ConfigError("parse_case needs a page captured by casescraper's middleware: request "
                              "it with meta['casescraper'] (or use `scrapy parse <court-files URL>#<case>`)")
        case = capture["case"]
        if capture["canary"]:
            if capture["found"]:
                self.canary.passed()
                self.crawler.stats.inc_value("casescraper/canaries/passed")
                self._answer("found")
            else:
                await self._canary_failed(case)
            return
        if not capture["found"]:
            await self._outcome(case, "no_results")
            self._answer("no_results")
            return
        answers = capture.get("answers") or []
        zone = capture.get("timezone") or self.settings.get("CASESCRAPER_TIMEZONE")
        try:
            parsed = parser.read_case(response.text, answers=answers, court=self.court, case_number=case,
                                      page_url=response.url, timezone=zone)
        except ParseError as exc:
            await self._outcome(case, "parse_error", error=str(exc), diagnostics=capture.get("diagnostics"))
            self._answer("parse_error")
            return
        for note in parsed.notes:
            self.crawler.stats.inc_value(NOTE_STATS.get(note.kind, f"casescraper/parse/{note.kind}"))
            self.logger.warning("%s: %s", case, note.message)
        kept = evidence.build(case_number=case, captured_at=capture["captured_at"], source_url=response.url,
                              court=self.court, answers=answers, html=response.text, timezone=zone)
        # Settled (and start() goes on) when the item has left the pipelines: _item_settled.
        yield CaseItem(**parsed.record, source_url=response.url, scraped_at=capture["captured_at"],
                       evidence=kept)

    def _item_settled(self, item: Any, **_: Any) -> None:
        """item_scraped / item_dropped / item_error: the pending case's record is saved, was
        already there, or could not be written; the portal found it either way."""
        if isinstance(item, CaseItem) and self._pending is not None \
                and item.case_number.upper() == self._pending.upper():
            self._answer("found")

    def _spider_error(self, failure: Any, response: Any, **_: Any) -> None:
        """A callback raised (a bug): count the case as unanswered rather than wait forever."""
        case = getattr(response, "meta", {}).get("casescraper", {}).get("case")
        if case is not None and case == self._pending:
            self.last_error = f"{case}: {failure.value!r}"
            self._answer("driver_error")

    async def _canary_failed(self, case: str) -> None:
        """A number known to exist answered "no data": the portal is degraded or blocking."""
        suspect = list(self.canary.suspect)
        self.crawler.stats.inc_value("casescraper/canaries/failed")
        self.logger.error(
            "canary %s answered no data although it exists: stopping (canary_failed); "
            "%d recent no-data answers are marked unverified for the next run", case, len(suspect),
        )
        for number in suspect:
            await self._outcome(number, "unverified", error=f"canary {case} answered no data after it")
        self._answer("stop")
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="canary_failed"))

    async def case_failed(self, failure) -> None:
        request = failure.request
        meta = request.meta["casescraper"]
        case = meta["case"]
        exc = failure.value
        status = "blocked" if isinstance(exc, Blocked) else "driver_error"
        detail = str(exc) if isinstance(exc, BrowserError) else f"{type(exc).__name__}: {exc}"
        self.last_error = f"{case}: {detail}" if not detail.startswith(case) else detail
        if meta.get("canary"):
            # A canary is a health check, not a case: its failure is no ledger line (the
            # number stays saved), and it is asked again after the next case.
            self.crawler.stats.inc_value("casescraper/canaries/errors")
        else:
            await self._outcome(case, status, error=detail, diagnostics=getattr(exc, "diagnostics", None))
        self._answer("stop" if isinstance(exc, STOPPING) else status)

    def _closed(self, reason: str) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()
        if self.demo is not None:
            self.demo.stop()
