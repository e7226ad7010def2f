"""The Selenium downloader middleware: a thin Scrapy front over the browser session.

The browser, its worker thread and every recovery (restart, retry, recycling, watchdog,
diagnostics) are session.py's, which knows nothing of Scrapy. This front reads the
settings once (middleware_settings), turns the session's events into stats and a stop of
the crawl (stopping.stop_crawl), paces the queries by Scrapy's own download slot
(pacing.py: DOWNLOAD_DELAY and its jitter, DOWNLOAD_SLOTS, AutoThrottle, plus our rest
every CASESCRAPER_REST_EVERY queries), and builds the responses with the meta the spider
reads (`found`, `captured_at`, `driver_pid`, `answers`, `parties_stuck`, `timezone`,
`query_started`).

The middleware also works in another Scrapy project with only DOWNLOADER_MIDDLEWARES set
(see middleware_settings: defaults for everything it reads; a missing browser or a bad
value is one error line and the crawl closes), serves scrapy-selenium's SeleniumRequest,
and treats a plain request of the court-files page with a case number as its fragment as
that case (`scrapy shell ".../court-files#IMM-12-25"`). A process that ends without
spider_closed (the shell) still ends its browser, at interpreter exit.

Seams (benchmarks/crawl_runner.py uses them through a subclass named in
DOWNLOADER_MIDDLEWARES): `page_factory`, the page object class the session drives, and
`search_observer`, a method told of every search attempt (session.SearchTiming) on the
browser's worker thread.

The portal's answers are judged before they settle a number (record.answers.wrong_answer,
handed to the session as its `judge`). An HTTP 429 is not a block: the query waits as
the portal's Retry-After asks (else CASESCRAPER_RATE_LIMIT_PAUSE), doubling with each 429
in a row, and is asked again; more than CASESCRAPER_MAX_RATE_LIMITS in a row (or a pause
over MAX_PAUSE) stop the crawl (`rate_limited`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy_selenium import SeleniumRequest

from casescraper.errors import BrowserMissing, CasescraperError, RateLimited
from casescraper.middleware_settings import MiddlewareSettings, case_in_url, hosted
from casescraper.pacing import SlotPacer
from casescraper.browser.page import CourtFilesPage
from casescraper.browser.session import BrowserSession, SearchTiming, SessionEvents
from casescraper.record.answers import answered_at, wrong_answer
from casescraper.stopping import stop_crawl, stop_reason

logger = logging.getLogger(__name__)

MAX_PAUSE = 3600.0  # seconds: a 429 asking for a longer pause stops the crawl instead


def _judge(case: str, capture: Any, whole: bool) -> Optional[str]:
    return wrong_answer(capture.answers, case, capture.found, whole)


class CrawlEvents(SessionEvents):
    """The session's events as Scrapy stats and a stop of the crawl. They come from the
    browser's worker thread: the stop is handed to the reactor's loop, ahead of the
    error the session raises next."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.loop: Optional[asyncio.AbstractEventLoop] = None  # set by the first request

    def count(self, key: str) -> None:
        self.stats.inc_value(key)

    def peak(self, key: str, value: int) -> None:
        self.stats.max_value(key, value)

    def stop(self, reason: str) -> None:
        assert self.loop is not None, "a stop before any request"
        self.loop.call_soon_threadsafe(stop_crawl, self.crawler, reason)


class SeleniumMiddleware:
    page_factory: Callable[..., Any] = CourtFilesPage
    search_observer: Optional[Callable[[SearchTiming], None]] = None

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.unusable: Optional[CasescraperError] = None
        try:
            self.options = MiddlewareSettings.of(crawler)  # the crawl's one Options
        except CasescraperError as exc:
            if hosted(crawler.settings):
                raise  # our crawl command shows it as one line, before the engine starts
            # Elsewhere Scrapy would print a traceback: one error line instead, and close.
            self.unusable = exc
            crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
            return
        self.events = CrawlEvents(crawler)
        self.session = BrowserSession(self.options.session, self.events, page_factory=self.page_factory,
                                      on_search=self.search_observer, judge=_judge)
        self.limited_in_a_row = 0  # HTTP 429 answers since the last case answered
        self.sleep: Callable[[float], Any] = asyncio.sleep  # tests replace it
        self.pacer = SlotPacer(crawler, self.options.rest_every, self.options.rest_seconds)
        self.lock = asyncio.Lock()  # one browser: one query at a time, its pacing included
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # --- signals -------------------------------------------------------------------

    def spider_opened(self) -> None:
        if self.unusable is not None:
            logger.error("casescraper: error: %s", self.unusable)
            reason = "browser_missing" if isinstance(self.unusable, BrowserMissing) else "bad_settings"
            stop_crawl(self.crawler, reason)
            return
        swept = self.session.sweep_orphans()
        if swept:
            self.stats.set_value("casescraper/driver/orphans_killed", swept)

    async def spider_closed(self) -> None:
        await asyncio.wrap_future(self.session.submit(self.session.close))
        self.session.shutdown()

    # --- requests ------------------------------------------------------------------

    async def process_request(self, request: Request):
        meta = request.meta.get("casescraper")
        if meta is None and not isinstance(request, SeleniumRequest):
            meta = None if self.unusable else case_in_url(request.url, self.options.site_url)
            if meta is None:
                return None
            request.meta["casescraper"] = meta
        if self.unusable is not None:
            raise IgnoreRequest(str(self.unusable))  # said once, at spider_opened
        if self.events.loop is None:
            self.events.loop = asyncio.get_running_loop()
        async with self.lock:
            turn = await self.pacer.wait(request)
            response = latency = None
            try:
                if meta is None:
                    response = await self._selenium_request(request)
                else:
                    meta["query_started"] = turn.started
                    response, latency = await self._case(request, meta)
                return response
            finally:
                self.pacer.finish(turn, response, latency)

    async def _case(self, request: Request, meta: dict[str, Any]) -> tuple[HtmlResponse, float]:
        while True:
            try:
                outcome = await asyncio.wrap_future(
                    self.session.submit(self.session.case, request.url, meta["court"], meta["case"]))
            except RateLimited as exc:
                await self._rate_limited(meta["case"], exc)
                continue
            self.limited_in_a_row = 0
            break
        capture = outcome.capture
        meta.update(
            found=capture.found,
            captured_at=datetime.now(timezone.utc).isoformat(),
            answered_at=answered_at(capture.answers),  # the portal's clock
            driver_pid=outcome.driver_pid,
            answers=capture.answers,
            parties_stuck=capture.parties_stuck,
            timezone=self.options.session.config.timezone,
        )
        response = HtmlResponse(request.url, body=capture.html, encoding="utf-8", request=request)
        return response, outcome.seconds

    async def _rate_limited(self, case: str, exc: RateLimited) -> None:
        """Pause after an HTTP 429 as the module says; RateLimited when the crawl must stop."""
        self.limited_in_a_row += 1
        self.stats.inc_value("casescraper/ratelimit/answers")
        asked = exc.retry_after if exc.retry_after is not None else self.options.rate_limit_pause
        pause = asked * 2 ** (self.limited_in_a_row - 1)
        if self.limited_in_a_row > self.options.max_rate_limits or pause > MAX_PAUSE:
            logger.error("casescraper: error: %s: the portal answered HTTP 429 (too many requests) "
                         "%d times in a row (last: %s); stopping (rate_limited): wait before running "
                         "again, and raise DOWNLOAD_DELAY", case, self.limited_in_a_row, exc)
            stop_crawl(self.crawler, "rate_limited")
            raise exc
        logger.warning("%s: %s; pausing %g s (429 number %d in a row), then asking again", case, exc,
                       pause, self.limited_in_a_row)
        self.stats.inc_value("casescraper/ratelimit/pauses")
        deadline = asyncio.get_running_loop().time() + pause
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            if stop_reason(self.crawler) is not None or not getattr(self.crawler, "crawling", True):
                raise exc  # the crawl is stopping: no reason to wait on
            await self.sleep(min(left, 1.0))

    async def _selenium_request(self, request: SeleniumRequest) -> HtmlResponse:
        fetched = await asyncio.wrap_future(self.session.submit(
            self.session.fetch, request.url, request.wait_until, request.wait_time,
            request.screenshot, request.script))
        if fetched.screenshot is not None:
            request.meta["screenshot"] = fetched.screenshot
        request.meta.update(driver=fetched.driver)
        return HtmlResponse(fetched.url, body=fetched.body, encoding="utf-8", request=request)
