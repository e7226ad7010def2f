"""The Selenium downloader middleware: browser lifecycle, pacing and recovery.

One browser serves the whole crawl. It starts lazily on the first request, the page is
set up once, and every case is one in-page script on that page. All Selenium calls
run on one worker thread (a WebDriver is not thread-safe), never on the reactor.

Because a middleware that returns a response skips Scrapy's download slot, this one
applies DOWNLOAD_DELAY and its jitter itself (DOWNLOAD_DELAY_JITTER, or the older
RANDOMIZE_DOWNLOAD_DELAY: the same rule as Scrapy's slot, measured from the previous query's start), plus a longer rest every
CASESCRAPER_REST_EVERY queries.

Recovery, by failure:
- dead session (crash, hang, lost chromedriver): kill it, start a fresh browser, retry
  the same case; more than CASESCRAPER_MAX_DRIVER_RESTARTS restarts without a
  successful case in between stops the crawl (`driver_restarts_exhausted`);
- stuck page (modal will not open, server error): reload and retry up to
  CASESCRAPER_CASE_RETRIES times, then the case fails with `driver_error`;
- layout change or block: stop the crawl at once (`layout_changed`, `blocked`).
Every failure leaves a screenshot and the page HTML under diagnostics/<run_id>/.

The middleware also works in another Scrapy project with only DOWNLOADER_MIDDLEWARES set
(see middleware_settings: defaults for everything it reads; a missing browser or a bad
value is one error line and the crawl closes), serves scrapy-selenium's SeleniumRequest,
and treats a plain request of the court-files page with a case number as its fragment as
that case (`scrapy shell ".../court-files#IMM-12-25"`). A process that ends without
spider_closed (the shell) still ends its browser, at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import random
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Optional

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy_selenium import SeleniumRequest
from selenium.webdriver.support.ui import WebDriverWait

from .browser import Browser, RunDir, classify
from .errors import (
    Blocked, BrowserError, BrowserMissing, CaseFailed, CasescraperError, DeadSession,
    LayoutChanged, PageStuck, RestartsExhausted,
)
from .middleware_settings import (
    MiddlewareSettings, case_in_url, case_timeout, hosted,
)
from .page import CourtFilesPage

logger = logging.getLogger(__name__)

# How often (in cases) the browser's memory is measured for memory-based recycling.
MEMORY_CHECK_EVERY = 25


class SeleniumMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.unusable: Optional[CasescraperError] = None
        try:
            m = MiddlewareSettings.read(crawler.settings)
        except CasescraperError as exc:
            if hosted(crawler.settings):
                raise  # our crawl command shows it as one line, before the engine starts
            # Elsewhere Scrapy would print a traceback: one error line instead, and close.
            self.unusable = exc
            crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
            return
        self.config = m.config
        self.case_timeout = case_timeout(self.config)
        self.options = m  # every setting, read once (middleware_settings.MiddlewareSettings)

        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casescraper-browser")
        # psutil reads /proc and never touches the WebDriver, so a memory reading runs on its
        # own thread beside the next case's in-page script instead of delaying it (~25 ms).
        self.meter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casescraper-meter")
        self.memory_reading: Optional[tuple[Browser, Future]] = None
        self.lock: Optional[asyncio.Lock] = None
        self.run_dir: Optional[RunDir] = None
        self.browser: Optional[Browser] = None
        self.page: Optional[CourtFilesPage] = None
        self.starts = 0
        self.restarts_in_a_row = 0
        self.cases_on_browser = 0
        self.queries = 0
        self.last_query_at: Optional[float] = None
        self.diagnostic_counts: dict[str, int] = {}
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
            self._close_spider(reason)
            return
        if not self.config.command_executor:
            swept = RunDir.sweep()
            if swept:
                self.stats.set_value("casescraper/driver/orphans_killed", swept)

    async def spider_closed(self) -> None:
        await self._in_thread(self._shutdown)
        self.thread.shutdown(wait=True)
        self.meter.shutdown(wait=True)
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        """At interpreter exit without spider_closed: kill the browser, remove the run dir.
        The worker thread is idle by then (executor threads are joined before atexit)."""
        if self.browser is not None:
            self.browser.kill()
            self.browser = self.page = None
        if self.run_dir is not None:
            self.run_dir.remove()
            self.run_dir = None

    def _shutdown(self) -> None:
        if self.browser is not None:
            self.browser.quit()
            self.browser = self.page = None
        if self.run_dir is not None:
            self.run_dir.remove()
            self.run_dir = None

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
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:
            started = await self._pace()
            if meta is None:
                return await self._selenium_request(request)
            meta["query_started"] = started
            return await self._case(request, meta)

    async def _pace(self) -> float:
        """Wait as DOWNLOAD_DELAY and the rests say; returns when the query starts (epoch)."""
        if self.last_query_at is not None and self.options.delay > 0:
            gap = self.options.delay * random.uniform(1 - self.options.jitter, 1 + self.options.jitter)
            wait = self.last_query_at + gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if self.options.rest_every and self.options.rest_seconds and self.queries and self.queries % self.options.rest_every == 0:
            logger.info("resting %.0f s after %d queries", self.options.rest_seconds, self.queries)
            self.stats.inc_value("casescraper/politeness/rests")
            await asyncio.sleep(self.options.rest_seconds)
        self.last_query_at = time.monotonic()
        self.queries += 1
        return time.time()

    async def _case(self, request: Request, meta: dict[str, Any]) -> HtmlResponse:
        case, court = meta["case"], meta["court"]
        attempts = 0
        while True:
            try:
                capture = await self._in_thread(self._search, request.url, court, case)
            except DeadSession as exc:
                attempts += 1
                await self._record_failure(case, exc, screenshot=False)
                await self._restart(case, exc, attempts)
                continue
            except PageStuck as exc:
                attempts += 1
                await self._record_failure(case, exc)
                self.stats.inc_value("casescraper/page/stuck")
                if attempts > self.options.case_retries:
                    raise CaseFailed(f"{case}: gave up after {attempts} attempts: {exc}", exc.diagnostics) from exc
                logger.warning("%s: %s; reloading the page (attempt %d)", case, exc, attempts + 1)
                continue
            except (LayoutChanged, Blocked) as exc:
                await self._record_failure(case, exc)
                reason = "layout_changed" if isinstance(exc, LayoutChanged) else "blocked"
                logger.error("%s: %s; stopping the crawl (%s)", case, exc, reason)
                self._close_spider(reason)
                raise
            break
        self.restarts_in_a_row = 0
        self.cases_on_browser += 1
        if capture.stuck:
            await self._record_failure(case, PageStuck(capture.stuck))
            self.stats.inc_value("casescraper/page/stuck")
        if capture.parties_stuck:
            # The case goes on (parties come from the portal's answer); the page is
            # reloaded before the next one. The saved page shows the unknown dialog.
            logger.warning("%s: %s; the page will be reloaded", case, capture.parties_stuck)
            self.stats.inc_value("casescraper/parties/stuck")
            if self.options.diagnostics:
                await self._in_thread(self._diagnose, case, PageStuck(capture.parties_stuck), True)
        if capture.parties_note:
            logger.info("%s: parties: %s", case, capture.parties_note)
        meta.update(
            found=capture.found,
            captured_at=datetime.now(timezone.utc).isoformat(),
            driver_pid=self.browser.driver_pid if self.browser else None,
            answers=capture.answers,
            parties_stuck=capture.parties_stuck,
            timezone=self.config.timezone,
        )
        return HtmlResponse(request.url, body=capture.html, encoding="utf-8", request=request)

    async def _restart(self, case: str, exc: DeadSession, attempts: int) -> None:
        self.restarts_in_a_row += 1
        self.stats.inc_value("casescraper/driver/restarts")
        await self._in_thread(self._drop_browser)
        if self.restarts_in_a_row > self.options.max_restarts:
            logger.error("%s: %s; %d restarts without a successful case: stopping", case, exc,
                         self.restarts_in_a_row - 1)
            self._close_spider("driver_restarts_exhausted")
            raise RestartsExhausted(f"{case}: browser restarts exhausted after: {exc}", exc.diagnostics)
        if attempts > self.options.case_retries:
            raise CaseFailed(f"{case}: the browser died {attempts} times on this case: {exc}", exc.diagnostics)
        logger.warning("%s: %s; restarting the browser and retrying the case", case, exc)

    def _close_spider(self, reason: str) -> None:
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))

    # --- worker-thread side --------------------------------------------------------

    async def _in_thread(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, *args)

    def _search(self, url: str, court: str, case: str):
        self._maybe_recycle()
        page = self._page(url, court)
        if not page.ready:
            self.stats.inc_value("casescraper/page/loads")
            page.open()
        return self.browser.bounded(lambda: page.search(case), self.config.script_timeout)

    def _page(self, url: str, court: str) -> CourtFilesPage:
        if self.browser is None:
            self._start_browser()
        base = url.split("#", 1)[0]
        if self.page is None or self.page.url != base or self.page.court != court:
            self.page = CourtFilesPage(self.browser.driver, base, court, self.case_timeout)
        return self.page

    def _start_browser(self) -> None:
        # `scrapy shell` never sends spider_closed: then the browser ends at interpreter exit.
        atexit.unregister(self._at_exit)  # registered once, however many browsers start
        atexit.register(self._at_exit)
        if self.run_dir is None and not self.config.command_executor:
            self.run_dir = RunDir(self.options.run_id)
        self.starts += 1
        browser = Browser(self.config, self.run_dir, self.starts)
        try:
            browser.start()
        except Exception as exc:
            browser.kill()
            # Counted against the restart budget: a browser that cannot start must stop
            # the crawl (driver_restarts_exhausted), not fail every case one by one.
            raise DeadSession(f"the browser did not start: {classify(exc)}") from exc
        self.browser = browser
        self.page = None
        self.cases_on_browser = 0
        self.stats.inc_value("casescraper/driver/starts")
        logger.info("browser %d started (chromedriver pid %s)", self.starts, browser.driver_pid)

    def _drop_browser(self) -> None:
        if self.browser is not None:
            self.browser.quit(deadline=5.0)
        self.browser = self.page = None

    def _maybe_recycle(self) -> None:
        if self.browser is None or self.cases_on_browser == 0:
            return
        why = None
        if self.options.recycle_after and self.cases_on_browser >= self.options.recycle_after:
            why = f"{self.cases_on_browser} cases"
        elif self.options.recycle_mb:
            why = self._memory_verdict()
        if why:
            logger.info("recycling the browser after %s", why)
            self.stats.inc_value("casescraper/driver/recycles")
            self._drop_browser()

    def _memory_verdict(self) -> Optional[str]:
        """Start a reading every MEMORY_CHECK_EVERY cases; judge it a case or two later,
        once it is done, if it was of the current browser."""
        why = None
        reading = self.memory_reading
        if reading is not None and reading[1].done():
            self.memory_reading = None
            browser, future = reading
            if browser is self.browser:
                used = future.result()
                self.stats.max_value("casescraper/driver/max_pss_mb", int(used))
                if used > self.options.recycle_mb:
                    why = f"{used:.0f} MiB PSS > {self.options.recycle_mb} MiB"
        if why is None and self.memory_reading is None and \
                self.cases_on_browser % MEMORY_CHECK_EVERY == 0:
            self.memory_reading = (self.browser, self.meter.submit(self.browser.memory_mb))
        return why

    def _diagnose(self, case: str, exc: Exception, screenshot: bool) -> str:
        """Save a screenshot and the page HTML; returns the path stem relative to output."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", case).strip(".-") or "case"
        n = self.diagnostic_counts[safe] = self.diagnostic_counts.get(safe, 0) + 1
        folder = self.options.output_dir / "diagnostics" / self.options.run_id
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"{safe}-{n}"
        html = f"<!-- casescraper: {type(exc).__name__}: {exc} -->\n"
        if screenshot and self.page is not None:
            try:
                stem.with_suffix(".png").write_bytes(self.page.screenshot_png())
                html += self.page.page_html()
            except BrowserError as page_exc:
                html += f"<!-- page unavailable: {page_exc} -->\n"
        stem.with_suffix(".html").write_text(html, encoding="utf-8")
        return str(stem.relative_to(self.options.output_dir))

    async def _record_failure(self, case: str, exc: BrowserError, screenshot: bool = True) -> None:
        self.stats.inc_value(f"casescraper/failures/{type(exc).__name__}")
        if self.options.diagnostics:
            exc.diagnostics = await self._in_thread(self._diagnose, case, exc, screenshot)

    # --- scrapy-selenium drop-in ---------------------------------------------------

    async def _selenium_request(self, request: SeleniumRequest) -> HtmlResponse:
        try:
            return await self._in_thread(self._fetch_selenium, request)
        except BrowserError:
            await self._in_thread(self._drop_browser)
            raise

    def _fetch_selenium(self, request: SeleniumRequest) -> HtmlResponse:
        """What scrapy-selenium documents: load, wait, screenshot, script, page source."""
        if self.browser is None:
            self._start_browser()
        driver = self.browser.driver
        if self.page is not None:
            self.page.ready = False  # we navigate away: the court page needs setting up again
        try:
            driver.get(request.url)
            if request.wait_until:
                WebDriverWait(driver, request.wait_time).until(request.wait_until)
            if request.screenshot:
                request.meta["screenshot"] = driver.get_screenshot_as_png()
            if request.script:
                driver.execute_script(request.script)
            body, url = driver.page_source, driver.current_url
        except Exception as exc:
            raise classify(exc) from exc
        request.meta.update(driver=driver)
        return HtmlResponse(url, body=body, encoding="utf-8", request=request)
