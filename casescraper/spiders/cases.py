"""The `cases` spider: the Scrapy adapter of a frontier (casescraper.frontier).

Arguments in (arguments.py), one `scrapy.Request` per `frontier.next()` out, each answer
into `frontier.settle()`, one at a time: what to ask next (a year's end, a canary) depends
on it. The frontier's notices become log lines, stats and signals (notices.py): later
stages learn the run from signals, never from this spider. A found case is answered as
soon as the capture says so, then parsed off the reactor and written while the next query
runs (back-pressure: writes.py); a number without a record goes to the awaited
`case_outcome` signal (the ledger). Once the crawl is stopping (stopping.stop_crawl, by
anyone), nothing more is asked. Per-site settings and the demo court: site.py.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, Optional

import scrapy
from scrapy import signals
from scrapy.http import Response

from casescraper.errors import ConfigError, FrontierError, ParseError
from casescraper.exporters import CASE_FEED_SETTINGS
from casescraper.frontier import steps
from casescraper.frontier.run import Frontier
from casescraper.items import CaseItem
from casescraper.options import Options
from casescraper.record import evidence, parser
from casescraper.signals import run_started
from casescraper.spiders import site
from casescraper.spiders.arguments import ARGUMENTS, DEMO_ARGUMENTS, parse_arguments
from casescraper.spiders.notices import Publisher, failed_query
from casescraper.spiders.sources import QueueWorker, frontier_for, next_step, open_job
from casescraper.spiders.writes import WriteGate
from casescraper.stopping import stop_crawl, stop_reason
from casescraper.store.ledger import Site

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
        site.apply_site(crawler.settings, spider.arguments)
        spider.writes = WriteGate(crawler)
        spider.notices = Publisher(spider, spider.portal.year_started)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        crawler.signals.connect(spider._spider_error, signal=signals.spider_error)
        return spider

    def __init__(self, *args_: Any, **kwargs: Any):
        # Not **kwargs: Scrapy would copy them onto the spider, and `start=10` would
        # shadow the start() method. Every argument is checked into `arguments` here.
        self.arguments = args = parse_arguments(kwargs)
        super().__init__(*args_)
        self.run_args, self.court = args.run_args, args.court
        self.frontier: Optional[Frontier] = None  # made by start(): none for `scrapy parse`/`check`
        self.queue: Optional[QueueWorker] = None  # -a queue: the job's worker, made by start()
        self.queue_job = None  # -a queue: the job, checked by settings_ready
        self.ledger_site: Optional[Site] = None  # set by settings_ready
        self.portal = site.Portal(args.site, args.demo_court_args, self.logger)
        self._waiting: Optional[asyncio.Future] = None  # done when the question is settled

    @property
    def options(self) -> Options:
        """The crawl's CASESCRAPER_* values (once its settings are final: casescraper.options)."""
        return Options.of(self.crawler)

    def settings_ready(self, settings) -> None:
        """Called by the config add-on once settings are final, before any browser."""
        if self.arguments.queue is not None:  # the queue answers and the job exists, or one line
            self.queue_job = open_job(self.arguments.queue, Options.from_settings(settings))
            self.court = self.queue_job.court
        self.ledger_site = site.ledger_site(settings, self.arguments)

    @property
    def planned(self) -> Optional[int]:
        """The queries for numbers this run plans, as last published (plan_changed)."""
        return self.notices.planned

    # --- questions out ---------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        a, options = self.arguments, self.options
        self.portal.open(options.site_url, a.year)
        job = self.queue_job
        await self.crawler.signals.send_catch_log_async(
            signal=run_started, arguments=self.run_args, years=list(a.years),
            requested_first=a.start_n, requested_last=a.end_n, site=self.ledger_site,
            queue={"job": job.name, "worker": job.worker} if job else None)
        frontier, self.queue = frontier_for(self.crawler, a, options, job)
        self.frontier = frontier
        step = await next_step(frontier, self.logger)
        while True:
            await self.notices.publish(frontier.notices())
            if isinstance(step, steps.Done):
                break
            if isinstance(step, steps.Wait):
                if step.seconds is None:
                    raise FrontierError("the frontier waits for an answer no request is out for")
                await self.writes.written()  # a queue's task: its records in flight reach the ledger
                await asyncio.sleep(step.seconds)  # another worker holds work: it may lapse
                self._stopping()
                step = await next_step(frontier, self.logger)
                continue
            if self.queue is not None and step.year:
                self.portal.year_started(step.year)  # a job's tasks may change year at any step
            held = self.writes.failing
            if held:
                await self.writes.written()  # while writes fail, no query goes out beside one
            if not (held and self._stopping()):
                self._waiting = asyncio.get_running_loop().create_future()
                yield self.case_request(step.case, step.canary)
                await self._waiting
                self._waiting = None
            self._stopping()
            step = await next_step(frontier, self.logger)
        if step.reason != "finished" and stop_reason(self.crawler) is None:
            stop_crawl(self.crawler, step.reason)

    def _stopping(self) -> bool:
        """True once the crawl is closing, whoever asked (stopping.stop_crawl)."""
        reason = stop_reason(self.crawler)
        if reason is not None and self.frontier is not None:
            self.frontier.stop(reason)
        return reason is not None

    def case_request(self, case: str, canary: bool = False) -> scrapy.Request:
        return scrapy.Request(
            f"{self.portal.url}#{case}",
            callback=self.parse_case,
            errback=self.case_failed,
            # URL fragments do not count in fingerprints: every number is distinct anyway.
            dont_filter=True,
            meta={"casescraper": {"case": case, "court": self.court, "canary": canary}},
        )

    # --- answers in --------------------------------------------------------------------

    def _answer(self, case: str, status: str) -> None:
        """`case` is settled: tell the frontier (FrontierError if it is not the number
        asked) and let start() go on. No frontier (`scrapy parse`, `check`): nothing to tell."""
        if self.frontier is None:
            return
        try:
            self.frontier.settle(case, status)
        except FrontierError:
            stop_crawl(self.crawler, "frontier_error")  # a bug: end rather than wait forever
            raise
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(status)

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
        if capture["canary"] or not capture["found"]:
            if not capture["canary"]:
                await self.notices.outcome(case, "no_results", answered_at=capture.get("answered_at"))
            self._answer(case, "found" if capture["found"] else "no_results")
            return
        answers = capture.get("answers") or []
        zone = capture.get("timezone") or self.options.timezone
        # The portal found the case: that is the answer the end search and the canary need,
        # so the next query runs while this one is read (off the reactor) and written.
        await self.writes.written()  # one record in the pipelines at a time
        writing = self.writes.enter(case)
        self._answer(case, "found")
        try:
            parsed = await asyncio.get_running_loop().run_in_executor(None, functools.partial(
                parser.read_case, response.text, answers=answers, court=self.court, case_number=case,
                page_url=response.url, timezone=zone))
        except ParseError as exc:
            self.writes.release(writing, saved=True)  # no record to write: not a write failure
            await self.notices.outcome(case, "parse_error", error=str(exc), diagnostics=capture.get("diagnostics"))
            return
        except BaseException:
            self.writes.release(writing, saved=True)
            raise
        self.notices.parse_notes(case, parsed.notes)
        kept = evidence.build(case_number=case, captured_at=capture["captured_at"], source_url=response.url,
                              court=self.court, answers=answers, html=response.text, timezone=zone)
        yield CaseItem(**parsed.record, source_url=response.url, scraped_at=capture["captured_at"],
                       evidence=kept, incomplete="; ".join(parsed.incomplete) or None)

    async def case_failed(self, failure) -> None:
        meta = failure.request.meta["casescraper"]
        case, exc = meta["case"], failure.value
        status, detail, stopping = failed_query(exc)
        self.notices.last_error = f"{case}: {detail}" if not detail.startswith(case) else detail
        if meta.get("canary"):
            # A canary is a health check, not a case: its failure is no ledger line (the
            # number stays saved), and it is asked again after the next case.
            self.crawler.stats.inc_value("casescraper/canaries/errors")
        else:
            await self.notices.outcome(case, status, error=detail, diagnostics=getattr(exc, "diagnostics", None))
        if stopping is not None and self.frontier is not None:
            self.frontier.stop(stopping)  # the middleware is closing the crawl
        self._answer(case, status)

    def _spider_error(self, failure: Any, response: Any, **_: Any) -> None:
        """A callback raised (a bug): count the case as unanswered rather than wait forever."""
        case = getattr(response, "meta", {}).get("casescraper", {}).get("case")
        if case is not None and self.frontier is not None and case == self.frontier.outstanding:
            self.notices.last_error = f"{case}: {failure.value!r}"
            self._answer(case, "driver_error")

    def _closed(self, reason: str) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()
        self.writes.cancel()
        self.portal.stop()
