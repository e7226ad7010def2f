"""`scrapy crawl`, with casescraper's startup errors shown as one line, an exit status
per close reason, and a bounded stop on SIGTERM/SIGINT.

A bad argument, config value, output directory or missing browser raises a
CasescraperError while the crawler starts, before any browser runs. Scrapy would print
a traceback; an operator needs the one line that says what to fix, and a non-zero exit.

Arguments and settings (and the output dir's site) are checked once more before Scrapy
logs its banner, so that such a mistake is the only thing printed. Later errors (an
unusable output dir, a missing browser) come as the last line, after the banner.

A crawl that ran exits with the status of its close reason (EXIT_CODES; README "Close
reasons and exit status"), so that cron, systemd and CI can tell a failed run, and its
log ends with one line naming the reason: the last line of a Scrapyd job's log.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from typing import Any, Callable, Optional

from scrapy import signals
from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from casescraper.config import ConfigAddon
from casescraper.errors import CasescraperError, printable
from casescraper.options import Options, settings_final

logger = logging.getLogger("casescraper")

# close reason -> (exit status, what it means for the operator)
EXIT_CODES: dict[str, tuple[int, str]] = {
    "finished": (0, "done: every planned number was asked"),
    "shutdown": (0, "stopped by SIGTERM/SIGINT (Ctrl-C, Scrapyd cancel); the next run resumes"),
    # Limits the operator set (CLOSESPIDER_*): the crawl did what it was told.
    "closespider_timeout": (0, "CLOSESPIDER_TIMEOUT reached; the next run resumes"),
    "closespider_itemcount": (0, "CLOSESPIDER_ITEMCOUNT reached; the next run resumes"),
    "closespider_pagecount": (0, "CLOSESPIDER_PAGECOUNT reached; the next run resumes"),
    "blocked": (3, "the portal answered HTTP 403 or a WAF page: wait before running again"),
    "canary_failed": (4, "a known file answered no data: the portal is degraded or blocking"),
    "layout_changed": (5, "the page changed (the log names the element): update the selector "
                          "table, casescraper/browser/selectors.py"),
    "driver_restarts_exhausted": (6, "the browser kept dying or could not start"),
    "portal_unreachable": (7, "the portal did not answer (network, DNS, portal down)"),
    "write_failures": (8, "case files or ledger lines could not be written (disk full or broken)"),
    "output_unusable": (9, "the output directory is in the way (a symlink leading out, a file "
                           "where a directory must be)"),
    "start_error": (10, "the spider failed while planning its requests (the log has the error)"),
    "queue_unreachable": (12, "the job's queue (Redis) stopped answering: check CASESCRAPER_QUEUE_URL; "
                              "the task in hand goes to another worker"),
}
EXIT_DID_NOT_START = 1  # the one `casescraper: error:` line; nothing was crawled
EXIT_OTHER = 11  # any other close reason, no close reason at all, or a forced stop


def exit_code(reason: Optional[str]) -> int:
    """The exit status of a crawl that closed with `reason` (None: it never closed)."""
    return EXIT_CODES.get(reason or "", (EXIT_OTHER, ""))[0]


class Command(ScrapyCrawl):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        # With LOG_FILE (Scrapyd) the banner is not on the console; the error must reach
        # the log file, which the later report below does.
        if len(args) == 1 and not self.settings.get("LOG_FILE"):
            self._preflight(args[0], opts.spargs)

    def _preflight(self, name: str, spargs: dict) -> None:
        """The crawler's first steps on a throwaway copy: spider arguments, per-site
        defaults, config file, environment, -s, and the spider's own check."""
        from casescraper.spiders.cases import CasesSpider

        try:
            spidercls = get_spider_loader(self.settings).load(name)
        except KeyError:
            return  # Scrapy names an unknown spider itself
        if not issubclass(spidercls, CasesSpider):
            return
        crawler = Crawler(spidercls, self.settings.copy())
        try:
            crawler.spider = spidercls.from_crawler(crawler, **spargs)
            ConfigAddon(crawler=crawler).update_settings(crawler.settings)
        except CasescraperError as exc:
            print(f"casescraper: error: {exc}", file=sys.stderr)
            raise SystemExit(EXIT_DID_NOT_START) from None

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name: scrapy crawl cases -a year=2025")
        assert self.crawler_process
        self.reason: Optional[str] = None
        self._deadline: Optional[threading.Timer] = None
        self.crawler = self._create_crawler(args[0])
        self.crawler.signals.connect(self._closed, signal=signals.spider_closed)
        self._bound_signals()
        started = self.crawler_process.crawl(self.crawler, **opts.spargs)
        if isinstance(started, asyncio.Future):
            started.add_done_callback(self._report_task)
        else:
            started.addErrback(self._report_failure)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed and self.reason is None:
            self.exitcode = EXIT_DID_NOT_START
            return
        self.exitcode = exit_code(self.reason)
        self._last_line(self.reason, self.exitcode)

    def _closed(self, reason: str) -> None:
        self.reason = reason

    @staticmethod
    def _last_line(reason: Optional[str], code: int, meaning: str = "") -> None:
        """The log's last line: the close reason and the exit status (Scrapyd keeps only
        the log; a terminal shows it last)."""
        meaning = meaning or EXIT_CODES.get(reason or "", (EXIT_OTHER, "not a reason casescraper knows"))[1]
        shown = printable(reason, 80) if reason else "none (the crawl did not close normally)"
        logger.log(logging.INFO if code == 0 else logging.ERROR,
                   "crawl closed: %s, exit status %d: %s", shown, code, meaning)

    # --- a stop that always ends -------------------------------------------------------

    def _bound_signals(self) -> None:
        """Make the first SIGTERM/SIGINT also arm a deadline: Scrapy's graceful stop waits
        for work in flight, and work blocked for good (a thread stuck in a system call)
        would keep the process alive for ever. At CASESCRAPER_COMMAND_TIMEOUT after the
        signal the browser of this run is killed and the process exits (EXIT_OTHER); files
        and ledger stay whole (each is published atomically) and the next run resumes."""
        process = self.crawler_process
        for name in ("_signal_shutdown", "_signal_shutdown_reactorless"):
            handler = getattr(process, name, None)
            if handler is not None:  # read by CrawlerProcess.start() when it installs handlers
                setattr(process, name, self._arming(handler))

    def _arming(self, handler: Callable[[int, Any], None]) -> Callable[[int, Any], None]:
        def on_signal(signum: int, frame: Any) -> None:
            if self._deadline is None:
                seconds = self._options().command_timeout
                self._deadline = threading.Timer(seconds, self._force_exit, (seconds,))
                self._deadline.daemon = True
                self._deadline.start()
            handler(signum, frame)
        return on_signal

    def _options(self) -> Options:
        """The crawler's Options; a signal while the crawler starts (settings not final
        yet) gets the values as they stand, the defaults for those still unset."""
        if settings_final(self.crawler):
            return Options.of(self.crawler)
        return Options.from_settings(self.crawler.settings)

    def _force_exit(self, seconds: float) -> None:
        from casescraper.browser.driver import kill_marked, runs_root

        logger.error("casescraper: error: the crawl did not stop within %g s of the signal "
                     "(CASESCRAPER_COMMAND_TIMEOUT); stopping now: work in flight is lost, "
                     "files and ledger are whole, the next run resumes", seconds)
        run_id = self._options().run_id
        if run_id:
            kill_marked(str(runs_root() / run_id))
        self._last_line(self.reason, EXIT_OTHER, f"forced: the crawl did not stop within {seconds:g} s")
        logging.shutdown()  # flush the log file (Scrapyd) before the hard exit
        os._exit(EXIT_OTHER)

    # --- startup errors ----------------------------------------------------------------

    def _report_task(self, task: asyncio.Future) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so asyncio does not print it again
        if exc is not None:
            self._report(exc)

    def _report_failure(self, failure):
        if failure.check(CasescraperError):
            self._report(failure.value)
            return None
        return failure

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, CasescraperError):
            print(f"casescraper: error: {exc}", file=sys.stderr)
            if self.settings.get("LOG_FILE"):
                # Scrapyd keeps the job's log file, not stderr: say it there too.
                logging.getLogger("casescraper").error("casescraper: error: %s", exc)
        else:
            # Not ours: keep Scrapy's full report.
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
