"""The `cases` spider: what to fetch.

One request per court file number, sent one at a time: each request waits until the
previous number is answered, because when to stop (the end of a year) depends on the
answer. A found case is answered as soon as the capture says so (it is then parsed off the
reactor and written while the next query runs); any other outcome once the
`case_outcome` signal, awaited, has been handled (the ledger).
Back-pressure: at most one case's record is in the pipelines while the next query runs
(its write overlaps the browser's work), and none while writes fail: after a record that
could not be written (item_dropped, item_error), each query waits until the previous
record has left the pipelines, so a failing disk holds every new query back.
The browser work happens in the Selenium middleware; this spider only plans numbers
(lazily: see planning.Plan), turns captures into items through the parser, and reports
outcomes. A failed query (no answer from the portal) is "unknown": it teaches the end
search and the canary nothing, and CASESCRAPER_MAX_CONSECUTIVE_FAILURES of them in a row
stop the crawl (`portal_unreachable`).

Years (`year`, or several with `years`) run one after another: see yearplan. Once the
crawl is stopping (stopping.stop_crawl, by anyone: this spider, the pipeline or the
middleware), no further number is asked. Later stages learn the run's facts from
signals (run_started, year_searched, plan_changed), never from the spider's attributes.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any, AsyncIterator, Optional

import scrapy
from scrapy import signals
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.conf import build_component_list

from casescraper.frontier import casenumbers

from casescraper.record import evidence, parser
from casescraper.config import SPECS, valid_run_id
from casescraper.errors import (
    BadAnswer, Blocked, BrowserError, ClockSkew, ConfigError, LayoutChanged, ParseError, RateLimited,
    RestartsExhausted,
)
from casescraper.exporters import CASE_FEED_SETTINGS
from casescraper.items import CaseItem
from casescraper.store import runlock
from casescraper.store.ledger import Ledger, Site
from casescraper.options import Options
from casescraper.frontier.planning import Canary, Resume
from casescraper.signals import case_outcome, plan_changed, run_started
from casescraper.stopping import stop_crawl, stop_reason
from casescraper.spiders.arguments import ARGUMENTS, DEMO_ARGUMENTS, HIGHEST, parse_arguments
from casescraper.spiders.queueplan import open_job, queue_requests
from casescraper.spiders.yearplan import Settled, year_requests

# Parser notes become warnings and these stats.
NOTE_STATS = {
    "unknown_label": "casescraper/parse/unknown_label",
    "disagree": "casescraper/fidelity/disagree",
    "parties_unavailable": "casescraper/parties/unavailable",
    "related_unavailable": "casescraper/related/unavailable",
}
# Failures after which the middleware closes the crawl: plan no further numbers.
STOPPING = (Blocked, LayoutChanged, RestartsExhausted, RateLimited, ClockSkew)


class CasesSpider(scrapy.Spider):
    name = "cases"
    # The case record's feed fields and exporters: this spider's, not the project's.
    custom_settings = CASE_FEED_SETTINGS

    # Kept as class attributes: `scrapy list`, tests and docs read them from the spider.
    ARGUMENTS = ARGUMENTS
    DEMO_ARGUMENTS = DEMO_ARGUMENTS

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CasesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._apply_site(crawler)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        crawler.signals.connect(spider._item_saved, signal=signals.item_scraped)
        for failed in (signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_not_saved, signal=failed)
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
        # `year` is the year being asked (the first of `years` until start() runs).
        self.years, self.year = args.years, args.year
        self.start_n, self.end_n = args.start_n, args.end_n
        self.refresh, self.retry_failed_only = args.refresh, args.retry_failed_only
        self.probe_only = args.probe_only
        self.demo_court_args = args.demo_court_args
        # Queries this run sends for numbers (canaries apart): known once the end search is
        # over; at a finished close, exactly the numbers recorded (the progress bar's total).
        self.planned: Optional[int] = None
        self.asks = 0  # queries for numbers sent so far (canaries apart)
        self.resume: Optional[Resume] = None  # of the year being asked
        self.canary: Optional[Canary] = None  # of the year being asked
        # True once the crawl is closing (see stopped()): plan no further numbers.
        self.stopping = False
        self.last = Settled("")  # how the last number asked (canaries apart) was settled
        self.failures_in_a_row = 0
        self.last_error = ""
        self.feed_note_given = False
        self.ledger_site: Optional[Site] = None  # set by settings_ready
        self.demo = None
        self.worker_id = ""  # a queue worker's name in its job (-a queue: queueplan.open_job)
        self.site_url = ""  # set in _apply_site, once settings are known
        self._pending: Optional[str] = None  # the case asked and not yet answered
        self._waiting: Optional[asyncio.Future] = None
        # The case whose record is in the pipelines, and a future done when it has left them.
        self._writing: Optional[tuple[str, asyncio.Future]] = None
        self._writes_failing = False  # the last record to leave the pipelines was not saved

    # --- settings ------------------------------------------------------------------

    def _apply_site(self, crawler) -> None:
        """Per-site defaults and spider-argument settings, before settings freeze."""
        settings = crawler.settings
        if valid_run_id(self.job):
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

    @property
    def options(self) -> Options:
        """The crawl's CASESCRAPER_* values (once its settings are final: casescraper.options)."""
        return Options.of(self.crawler)

    def settings_ready(self, settings) -> None:
        """Called by the config add-on once settings are final, before any browser: refuse
        an output dir whose ledger (for the years asked) holds another site's lines."""
        # Called from inside the add-ons: Options.of(crawler) comes after; these values are its.
        options = Options.from_settings(settings)
        self.ledger_site = Site.of(self.site, options.site_url)
        if self.arguments.queue is not None:
            open_job(self, options)  # the queue answers and the job exists, or one line
        if not build_component_list(settings.getwithbase("ITEM_PIPELINES")):
            return  # `scrapy parse`, `scrapy check`: nothing is written, no site to refuse
        ledger = Ledger(options.output_dir)
        # A queue worker's years come from its tasks: every year its output dir holds.
        years = ({casenumbers.parse(c).year for c in self.explicit} if self.explicit is not None
                 else set(self.years) or set(ledger.years()))
        ledger.refuse_other_site(years, self.ledger_site)
        if not options.dry_run:  # one crawl per year and output dir (store/runlock.py)
            runlock.take(options.output_dir, years, options.run_id, (self.shard_index, self.shard_count))

    # --- requests ------------------------------------------------------------------

    def case(self, n: int) -> str:
        return casenumbers.format(self.prefix, n, self.year)

    def mine(self, n: int) -> bool:
        return n % self.shard_count == self.shard_index - 1

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.site_url = self._site_url()
        await self.crawler.signals.send_catch_log_async(
            signal=run_started, arguments=self.run_args, years=list(self.years),
            requested_first=self.start_n, requested_last=self.end_n, site=self.ledger_site,
            queue={"job": self.arguments.queue, "worker": self.worker_id} if self.arguments.queue else None)
        if self.arguments.queue is not None:
            async for request in queue_requests(self):
                yield request
            return
        if self.explicit is not None:
            cases = [c for i, c in enumerate(self.explicit) if self.mine(i + 1)]
            self.set_planned(len(cases))
            for case in cases:
                async for request in self.ask(case):
                    yield request
                if self.stopped():
                    return
            return
        for year in self.years:
            async for request in year_requests(self, year, HIGHEST):
                yield request
            if self.stopped():
                return

    def set_planned(self, planned: Optional[int]) -> None:
        """The queries for numbers this run plans (None while a year's end is searched)."""
        self.planned = planned
        self.crawler.signals.send_catch_log(signal=plan_changed, planned=planned)

    def stopped(self) -> bool:
        """True once the crawl is closing, whoever asked (stopping.stop_crawl)."""
        if not self.stopping and stop_reason(self.crawler) is not None:
            self.stopping = True
        return self.stopping

    def _stop(self, reason: str) -> None:
        self.stopping = True
        stop_crawl(self.crawler, reason)

    async def ask(self, case: str, canary: bool = False) -> AsyncIterator[scrapy.Request]:
        """Yield the request for `case`, wait until it is settled, then run a canary if due."""
        if self._writes_failing:
            await self._written()  # while writes fail, no query goes out beside one
            if self.stopped():
                return
        self._pending = case
        self._waiting = asyncio.get_running_loop().create_future()
        if not canary:
            self.asks += 1
        yield self.case_request(case, canary)
        settled: Settled = await self._waiting
        self._pending = self._waiting = None
        if self.stopped():
            return
        if not canary:
            self.last = settled
        if self._portal_unreachable(settled) or canary or self.canary is None:
            return
        self.canary.record(case, settled.status)
        check = self.canary.due()
        if check is not None:
            async for request in self.ask(check, canary=True):
                yield request

    def _portal_unreachable(self, settled: Settled) -> bool:
        """Count failed queries in a row; at the limit, stop the crawl (portal_unreachable)."""
        if settled.answered:
            self.failures_in_a_row = 0
        elif settled.unknown:
            self.failures_in_a_row += 1
        if self.failures_in_a_row < self.options.max_consecutive_failures:
            return False
        self.logger.error("the portal gave no answer %d times in a row; last error: %s; stopping "
                          "(portal_unreachable): check the network and CASESCRAPER_SITE_URL, then "
                          "run again to resume", self.failures_in_a_row, self.last_error)
        self._stop("portal_unreachable")
        return True

    def _site_url(self) -> str:
        if self.site != "demo":
            return self.options.site_url
        return self.use_demo_year(self.year)

    def use_demo_year(self, year: Optional[int]) -> str:
        """site=demo: the demo court serves one year; a run of several starts one per year."""
        if self.site != "demo" or (self.demo is not None and self.demo.year == year):
            return self.site_url
        from casescraper.democourt import DemoCourt

        if self.demo is not None:
            self.demo.stop()
        self.demo = DemoCourt(**{**self.demo_court_args, "year": year or self.demo_court_args["year"]})
        self.site_url = self.demo.start()
        self.logger.info("demo court serving %s at %s", self.demo.year, self.site_url)
        return self.site_url

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
            self._waiting.set_result(Settled(status))

    async def _outcome(self, case: str, status: str, error: Optional[str] = None,
                       diagnostics: Optional[str] = None, answered_at: Optional[str] = None) -> None:
        """Report a number that produced no record; returns once it is recorded
        (`answered_at`: the portal's time of its answer, for "no data")."""
        await self.crawler.signals.send_catch_log_async(
            signal=case_outcome, case_number=case, status=status, error=error,
            diagnostics=diagnostics, answered_at=answered_at, spider=self)

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
            await self._outcome(case, "no_results", answered_at=capture.get("answered_at"))
            self._answer("no_results")
            return
        answers = capture.get("answers") or []
        zone = capture.get("timezone") or self.options.timezone
        # The portal found the case: that is the answer the end search and the canary need,
        # so the next query runs while this one is read (off the reactor) and written.
        await self._written()  # one record in the pipelines at a time
        writing = self._writing = (case, asyncio.get_running_loop().create_future())
        self._answer("found")
        try:
            parsed = await asyncio.get_running_loop().run_in_executor(None, functools.partial(
                parser.read_case, response.text, answers=answers, court=self.court, case_number=case,
                page_url=response.url, timezone=zone))
        except ParseError as exc:
            self._release(writing, saved=True)  # no record to write: not a write failure
            await self._outcome(case, "parse_error", error=str(exc), diagnostics=capture.get("diagnostics"))
            return
        except BaseException:
            self._release(writing, saved=True)
            raise
        for note in parsed.notes:
            self.crawler.stats.inc_value(NOTE_STATS.get(note.kind, f"casescraper/parse/{note.kind}"))
            self.logger.warning("%s: %s", case, note.message)
        kept = evidence.build(case_number=case, captured_at=capture["captured_at"], source_url=response.url,
                              court=self.court, answers=answers, html=response.text, timezone=zone)
        yield CaseItem(**parsed.record, source_url=response.url, scraped_at=capture["captured_at"],
                       evidence=kept, incomplete="; ".join(parsed.incomplete) or None)

    async def _written(self) -> None:
        """Return once the record in the pipelines (if any) has left them."""
        if self._writing is not None:
            await asyncio.shield(self._writing[1])

    def _item_saved(self, item: Any, **_: Any) -> None:
        self._item_left(item, saved=True)

    def _item_not_saved(self, item: Any, **_: Any) -> None:
        self._item_left(item, saved=False)

    def _item_left(self, item: Any, saved: bool) -> None:
        """item_scraped / item_dropped / item_error: the record in the pipelines is saved
        (or already there), or could not be written."""
        writing = self._writing
        if isinstance(item, CaseItem) and writing is not None \
                and item.case_number.upper() == writing[0].upper():
            self._release(writing, saved)

    def _release(self, writing: tuple[str, asyncio.Future], saved: bool) -> None:
        self._writes_failing = not saved
        if self._writing is writing:
            self._writing = None
        if not writing[1].done():
            writing[1].set_result(saved)

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
        self._stop("canary_failed")
        self._answer("no_results")

    async def case_failed(self, failure) -> None:
        request = failure.request
        meta = request.meta["casescraper"]
        case = meta["case"]
        exc = failure.value
        status = ("blocked" if isinstance(exc, (Blocked, RateLimited)) else
                  "bad_answer" if isinstance(exc, BadAnswer) else "driver_error")
        detail = str(exc) if isinstance(exc, BrowserError) else f"{type(exc).__name__}: {exc}"
        self.last_error = f"{case}: {detail}" if not detail.startswith(case) else detail
        if meta.get("canary"):
            # A canary is a health check, not a case: its failure is no ledger line (the
            # number stays saved), and it is asked again after the next case.
            self.crawler.stats.inc_value("casescraper/canaries/errors")
        else:
            await self._outcome(case, status, error=detail, diagnostics=getattr(exc, "diagnostics", None))
        if isinstance(exc, STOPPING):
            self.stopping = True  # the middleware is closing the crawl
        self._answer(status)

    def _closed(self, reason: str) -> None:
        for future in (self._waiting, self._writing[1] if self._writing else None):
            if future is not None and not future.done():
                future.cancel()
        if self.demo is not None:
            self.demo.stop()
