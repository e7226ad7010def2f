"""The browser session: one browser, its worker thread, and every way back from a failure.

Scrapy-free (Selenium through browser.py and page.py, psutil, files): the Selenium
middleware is a thin Scrapy front over it, and tests/test_session.py drives it with a
fake browser and page. One browser serves the whole crawl: it starts lazily on the first
case, the page is set up once, and every case is one in-page script on that page. Every
WebDriver call runs on the session's one worker thread (a WebDriver is not thread-safe):
callers `submit` `case`, `fetch` and `close` to it, never call them on their own thread.

Recovery, by failure:
- dead session (crash, hang, lost chromedriver): kill it, start a fresh browser, retry
  the same case; more than `max_restarts` restarts without a successful case in between
  stops the crawl (`driver_restarts_exhausted`), and a browser that cannot start counts
  as a restart;
- stuck page (modal will not open, server error): reload and retry up to `case_retries`
  times, then the case fails (CaseFailed);
- answers that cannot settle the case (cut off, of another shape, about another number:
  the `judge` given says so): search again up to `case_retries` times, then BadAnswer;
- layout change or block: stop the crawl at once (`layout_changed`, `blocked`);
- HTTP 429: RateLimited goes to the caller, who pauses (the middleware);
- a clock further than `max_clock_skew` seconds from the portal's (its Date header, read
  once when the first page is set up): stop the crawl (`clock_skew`).
Every failure leaves a screenshot and the page HTML under diagnostics/<run_id>/
(diagnostics.py). A browser is recycled after `recycle_after` cases, or once its memory
passes `recycle_mb` (read every MEMORY_CHECK_EVERY cases, at most once per
MEMORY_CHECK_SECONDS, on a thread of its own).

What the session has to tell (stats, "stop the crawl with this reason") goes through the
SessionEvents it is given; those calls come from the worker thread.
"""

from __future__ import annotations

import atexit
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from selenium.webdriver.support.ui import WebDriverWait

from casescraper.browser.driver import Browser, BrowserConfig, RunDir, classify
from casescraper.browser.diagnostics import DiagnosticsWriter
from casescraper.errors import (
    BadAnswer, Blocked, BrowserError, CaseFailed, ClockSkew, DeadSession, LayoutChanged, PageStuck,
    RestartsExhausted,
)
from casescraper.browser.page import Capture, CourtFilesPage

logger = logging.getLogger(__name__)

# How often the browser's memory is measured for memory-based recycling: every 25 cases,
# but not twice within 10 s. A PSS reading costs ~20 ms of CPU (the kernel walks every
# Chromium process's page tables); at full speed (no download delay, ~25 ms a case) every
# 25 cases would take ~3 % of a core from the browser, while memory grows over hundreds of
# cases. On the real portal (4.5 s a case) only the case count matters.
MEMORY_CHECK_EVERY = 25
MEMORY_CHECK_SECONDS = 10.0


@dataclass
class SessionOptions:
    """Every value the session uses (middleware_settings reads them from the settings)."""
    config: BrowserConfig
    run_id: str
    output_dir: Path
    case_timeout: float  # the page's own deadline per case (middleware_settings.case_timeout)
    max_restarts: int
    case_retries: int
    recycle_after: int  # cases per browser; 0: no limit
    recycle_mb: int  # MiB of PSS; 0: never measured
    diagnostics: bool
    max_clock_skew: float = 0.0  # seconds from the portal's clock; 0: not checked


class SessionEvents:
    """What a session tells its owner. These do nothing (a session in a plain script);
    the middleware's count into Scrapy's stats and stop the crawl."""

    def count(self, key: str) -> None:
        """Add one to the stat `key` (`casescraper/driver/restarts`, ...)."""

    def peak(self, key: str, value: int) -> None:
        """Keep the highest `value` seen for the stat `key`."""

    def stop(self, reason: str) -> None:
        """Stop the crawl with `reason`; the session raises its error right after."""


@dataclass
class SearchTiming:
    """One search attempt on the worker thread (epoch seconds), for `on_search`."""
    case: str
    started: float  # the worker thread took it up (recycle check, page set-up, script)
    done: float  # and let it go, answered or failed


@dataclass
class CaseOutcome:
    capture: Capture
    driver_pid: Optional[int]
    seconds: float  # the successful search's time on the worker thread


@dataclass
class Fetched:
    """A page loaded as scrapy-selenium's SeleniumRequest asks."""
    url: str
    body: str
    driver: Any
    screenshot: Optional[bytes]


class BrowserSession:
    """Seams: `page_factory(driver, url, court, case_timeout)` builds the page object
    (default CourtFilesPage), `browser_factory(config, run_dir, index)` the browser
    (default Browser), and `on_search(SearchTiming)`, if given, hears of every search
    attempt on the worker thread (benchmarks/crawl_runner.py times the thread with it)."""

    def __init__(self, options: SessionOptions, events: Optional[SessionEvents] = None, *,
                 page_factory: Callable[..., Any] = CourtFilesPage,
                 browser_factory: Callable[..., Any] = Browser,
                 on_search: Optional[Callable[[SearchTiming], None]] = None,
                 judge: Optional[Callable[[str, Capture, bool], Optional[str]]] = None):
        self.options = options
        # judge(case, capture, whole): why the capture's answers cannot settle the case, or
        # None; `whole`: the optional parts must be whole too.
        self.judge = judge
        self.wall: Callable[[], float] = time.time  # this machine's clock (tests replace it)
        self.clock_checked = False
        self.events = events or SessionEvents()
        self.page_factory = page_factory
        self.browser_factory = browser_factory
        self.on_search = on_search
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casescraper-browser")
        # psutil reads /proc and never touches the WebDriver, so a memory reading runs on its
        # own thread beside the next case's in-page script instead of delaying it (~25 ms).
        self.meter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casescraper-meter")
        self.memory_reading: Optional[tuple[Any, Future]] = None
        self.last_reading_at = float("-inf")
        self.clock: Callable[[], float] = time.monotonic  # tests replace it
        self.writer = DiagnosticsWriter(options.output_dir, options.run_id) if options.diagnostics else None
        self.run_dir: Optional[RunDir] = None
        self.browser: Any = None
        self.page: Any = None
        self.starts = 0
        self.restarts_in_a_row = 0
        self.cases_on_browser = 0

    # --- any thread ----------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run fn(*args) on the worker thread (fn: case, fetch, close)."""
        return self.thread.submit(fn, *args)

    def sweep_orphans(self) -> int:
        """Kill the processes of dead runs (a local browser only); how many there were."""
        return 0 if self.options.config.command_executor else RunDir.sweep()

    def shutdown(self) -> None:
        """After `close` ran on the worker: end both threads, forget the exit hook."""
        self.thread.shutdown(wait=True)
        self.meter.shutdown(wait=True)
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        """At interpreter exit without close (`scrapy shell`): kill the browser, remove
        the run dir. The worker thread is idle by then (executor threads are joined first)."""
        self._end(kill=True)

    def _end(self, kill: bool) -> None:
        if self.browser is not None:
            self.browser.kill() if kill else self.browser.quit()
            self.browser = self.page = None
        if self.run_dir is not None:
            self.run_dir.remove()
            self.run_dir = None

    # --- worker thread ---------------------------------------------------------------

    def close(self) -> None:
        self._end(kill=False)

    def case(self, url: str, court: str, case: str) -> CaseOutcome:
        """Search `case` on the court-files page at `url`, recovering as the module says."""
        attempts = 0
        while True:
            started = time.time()
            try:
                capture = self._search(url, court, case)
                # Optional parts (parties, related) must be whole too, but for the last try:
                # then the case is kept incomplete rather than failed.
                problem = self.judge(case, capture, attempts < self.options.case_retries) \
                    if self.judge is not None else None
                if problem:
                    self.events.count("casescraper/answers/bad")
                    raise BadAnswer(problem)
            except DeadSession as exc:
                attempts += 1
                self._record_failure(case, exc, screenshot=False)
                self._restart(case, exc, attempts)
                continue
            except PageStuck as exc:
                attempts += 1
                self._record_failure(case, exc)
                self.events.count("casescraper/page/stuck")
                if attempts > self.options.case_retries:
                    raise CaseFailed(f"{case}: gave up after {attempts} attempts: {exc}", exc.diagnostics) from exc
                logger.warning("%s: %s; reloading the page (attempt %d)", case, exc, attempts + 1)
                continue
            except BadAnswer as exc:
                attempts += 1
                self._record_failure(case, exc)
                if attempts > self.options.case_retries:
                    raise BadAnswer(f"{case}: gave up after {attempts} attempts: {exc}", exc.diagnostics) from exc
                logger.warning("%s: %s; asking again (attempt %d)", case, exc, attempts + 1)
                continue
            except ClockSkew as exc:
                logger.error("casescraper: error: %s; stopping the crawl (clock_skew)", exc)
                self.events.stop("clock_skew")
                raise
            except (LayoutChanged, Blocked) as exc:
                self._record_failure(case, exc)
                reason = "layout_changed" if isinstance(exc, LayoutChanged) else "blocked"
                logger.error("%s: %s; stopping the crawl (%s)", case, exc, reason)
                self.events.stop(reason)
                raise
            break
        seconds = time.time() - started
        self.restarts_in_a_row = 0
        self.cases_on_browser += 1
        if capture.stuck:
            self._record_failure(case, PageStuck(capture.stuck))
            self.events.count("casescraper/page/stuck")
        if capture.parties_stuck:
            # The case goes on (parties come from the portal's answer); the page is
            # reloaded before the next one. The saved page shows the unknown dialog.
            logger.warning("%s: %s; the page will be reloaded", case, capture.parties_stuck)
            self.events.count("casescraper/parties/stuck")
            if self.writer is not None:
                self._diagnose(case, PageStuck(capture.parties_stuck), True)
        if capture.parties_note:
            logger.info("%s: parties: %s", case, capture.parties_note)
        return CaseOutcome(capture, self.browser.driver_pid if self.browser else None, seconds)

    def _search(self, url: str, court: str, case: str) -> Capture:
        started = time.time()
        try:
            self._maybe_recycle()
            page = self._page(url, court)
            if not page.ready:
                self.events.count("casescraper/page/loads")
                page.open()
                self._check_clock(page)
            return self.browser.bounded(lambda: page.search(case), self.options.config.script_timeout)
        finally:
            if self.on_search is not None:
                self.on_search(SearchTiming(case, started, time.time()))

    def _check_clock(self, page: Any) -> None:
        """Once per session: ClockSkew when this machine's clock is further than
        max_clock_skew from the portal's (a portal that sends no Date is not judged)."""
        if self.clock_checked or not self.options.max_clock_skew:
            return
        portal = page.portal_clock()
        self.clock_checked = True
        if portal is None:
            logger.warning("the portal sent no Date header: this machine's clock cannot be checked")
            return
        ahead = self.wall() - portal
        if abs(ahead) > self.options.max_clock_skew:
            raise ClockSkew(
                f"this machine's clock is {abs(ahead):.0f} s {'ahead of' if ahead > 0 else 'behind'} the "
                f"portal's (more than CASESCRAPER_MAX_CLOCK_SKEW, {self.options.max_clock_skew:g} s): set "
                "it right (NTP), or accept it with -s CASESCRAPER_MAX_CLOCK_SKEW=0")

    def _restart(self, case: str, exc: DeadSession, attempts: int) -> None:
        self.restarts_in_a_row += 1
        self.events.count("casescraper/driver/restarts")
        self._drop_browser()
        if self.restarts_in_a_row > self.options.max_restarts:
            logger.error("%s: %s; %d restarts without a successful case: stopping", case, exc,
                         self.restarts_in_a_row - 1)
            self.events.stop("driver_restarts_exhausted")
            raise RestartsExhausted(f"{case}: browser restarts exhausted after: {exc}", exc.diagnostics)
        if attempts > self.options.case_retries:
            raise CaseFailed(f"{case}: the browser died {attempts} times on this case: {exc}", exc.diagnostics)
        logger.warning("%s: %s; restarting the browser and retrying the case", case, exc)

    def _page(self, url: str, court: str) -> Any:
        if self.browser is None:
            self._start_browser()
        base = url.split("#", 1)[0]
        if self.page is None or self.page.url != base or self.page.court != court:
            self.page = self.page_factory(self.browser.driver, base, court, self.options.case_timeout)
        return self.page

    def _start_browser(self) -> None:
        # `scrapy shell` never sends spider_closed: then the browser ends at interpreter exit.
        atexit.unregister(self._at_exit)  # registered once, however many browsers start
        atexit.register(self._at_exit)
        if self.run_dir is None and not self.options.config.command_executor:
            self.run_dir = RunDir(self.options.run_id)
        self.starts += 1
        browser = self.browser_factory(self.options.config, self.run_dir, self.starts)
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
        self.events.count("casescraper/driver/starts")
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
            self.events.count("casescraper/driver/recycles")
            self._drop_browser()

    def _memory_verdict(self) -> Optional[str]:
        """Start a reading every MEMORY_CHECK_EVERY cases (MEMORY_CHECK_SECONDS apart at
        least); judge it a case or two later, once it is done, if it was of the current
        browser."""
        why = None
        reading = self.memory_reading
        if reading is not None and reading[1].done():
            self.memory_reading = None
            browser, future = reading
            if browser is self.browser:
                used = future.result()
                self.events.peak("casescraper/driver/max_pss_mb", int(used))
                if used > self.options.recycle_mb:
                    why = f"{used:.0f} MiB PSS > {self.options.recycle_mb} MiB"
        now = self.clock()
        if why is None and self.memory_reading is None and \
                self.cases_on_browser % MEMORY_CHECK_EVERY == 0 and \
                now - self.last_reading_at >= MEMORY_CHECK_SECONDS:
            self.last_reading_at = now
            self.memory_reading = (self.browser, self.meter.submit(self.browser.memory_mb))
        return why

    def _record_failure(self, case: str, exc: BrowserError, screenshot: bool = True) -> None:
        self.events.count(f"casescraper/failures/{type(exc).__name__}")
        if self.writer is not None:
            exc.diagnostics = self._diagnose(case, exc, screenshot)

    def _diagnose(self, case: str, exc: Exception, screenshot: bool) -> str:
        """Save a screenshot and the page HTML; returns the path stem relative to output."""
        assert self.writer is not None
        html = f"<!-- casescraper: {type(exc).__name__}: {exc} -->\n"
        png = None
        if screenshot and self.page is not None:
            try:
                png = self.page.screenshot_png()
                html += self.page.page_html()
            except BrowserError as page_exc:
                html += f"<!-- page unavailable: {page_exc} -->\n"
        return self.writer.write(case, html, png)

    # --- scrapy-selenium drop-in ---------------------------------------------------

    def fetch(self, url: str, wait_until: Optional[Callable[[Any], Any]] = None, wait_time: float = 0,
              screenshot: bool = False, script: Optional[str] = None) -> Fetched:
        """What scrapy-selenium documents: load, wait, screenshot, script, page source.
        A failure drops the browser (the next request starts a fresh one)."""
        if self.browser is None:
            self._start_browser()
        driver = self.browser.driver
        if self.page is not None:
            self.page.ready = False  # we navigate away: the court page needs setting up again
        try:
            driver.get(url)
            if wait_until:
                WebDriverWait(driver, wait_time).until(wait_until)
            png = driver.get_screenshot_as_png() if screenshot else None
            if script:
                driver.execute_script(script)
            body = driver.page_source
            return Fetched(url=driver.current_url, body=body, driver=driver, screenshot=png)
        except Exception as exc:
            self._drop_browser()
            raise classify(exc) from exc
