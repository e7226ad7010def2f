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
from casescraper.items import FAILED, FILED
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
    "rate_limited": (12, "the portal answered HTTP 429 (too many requests) again and again, after "
                         "pausing as it asked: wait, and raise DOWNLOAD_DELAY"),
    "clock_skew": (13, "this machine's clock is off the portal's by more than "
                       "CASESCRAPER_MAX_CLOCK_SKEW: set it right (NTP)"),
    "queue_unreachable": (15, "the job's queue (Redis) stopped answering: check CASESCRAPER_QUEUE_URL; "
                              "the task in hand goes to another worker"),
}
EXIT_DID_NOT_START = 1  # the one `casescraper: error:` line; nothing was crawled
EXIT_OTHER = 11  # any other close reason, no close reason at all, or a forced stop
# A crawl that ended by a reason of status 0, yet lost data or settled nothing: not a success.
EXIT_WRITES_LOST = EXIT_CODES["write_failures"][0]
EXIT_ALL_FAILED = 14
# Components a crawl cannot do without: a crawl with either switched off would ask the
# portal and keep nothing (or drive no browser), so it refuses to start.
REQUIRED = {"ITEM_PIPELINES": "casescraper.pipelines.CaseFilesPipeline",
            "DOWNLOADER_MIDDLEWARES": "casescraper.middlewares.SeleniumMiddleware"}


def exit_code(reason: Optional[str]) -> int:
    """The exit status of a crawl that closed with `reason` (None: it never closed)."""
    return EXIT_CODES.get(reason or "", (EXIT_OTHER, ""))[0]


def outcome_code(reason: Optional[str], stats: dict[str, Any]) -> tuple[int, str]:
    """(exit status, meaning) from the close reason and what the crawl recorded: a crawl
    closing as `finished` (or another status-0 reason) that lost writes, or in which every
    case asked failed, exits non-zero."""
    code = exit_code(reason)
    if code != 0:
        return code, ""
    lost = int(stats.get("casescraper/writes/lost", 0) or 0)
    if lost:
        return EXIT_WRITES_LOST, (f"{lost} ledger line(s) or evidence file(s) could not be written "
                                  "(disk full or broken); the run manifest names the cases")
    counts = {key.rsplit("/", 1)[1]: int(value or 0) for key, value in stats.items()
              if key.startswith("casescraper/cases/")}
    settled = sum(counts.get(s, 0) for s in (*FILED, "no_results", "dry_run"))
    failed = sum(counts.get(s, 0) for s in FAILED)
    if failed and not settled:
        return EXIT_ALL_FAILED, (f"every case asked failed ({failed}): nothing was found or "
                                 "saved; the log and the run manifest say why")
    return 0, ""


def switched_off(settings: Any) -> Optional[str]:
    """The one line for a crawl whose pipeline or middleware is switched off, else None."""
    from scrapy.utils.conf import build_component_list
    from scrapy.utils.misc import load_object

    for name, path in REQUIRED.items():
        enabled = build_component_list(settings.getwithbase(name))
        wanted = load_object(path)
        if not any(c == path or (not isinstance(c, str) and c is wanted) for c in enabled):
            return (f"{name} does not enable {path}: a crawl without it would "
                    f"{'keep nothing it asks' if name == 'ITEM_PIPELINES' else 'drive no browser'}; "
                    f"remove the setting that switches it off (or set it to a number)")
    return None


# Scrapy's start-up and end lines that a terminal does without by default.
QUIET_LOGGERS = ("scrapy.utils.log", "scrapy.middleware", "scrapy.addons", "scrapy.crawler",
                 "scrapy.extensions.telnet", "scrapy.extensions.logstats",
                 "scrapy.extensions.remote_control", "scrapy.statscollectors")


def _warnings_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


class _HeldSummary(logging.Filter):
    """Holds the run's summary lines (RunManifest's) back from the terminal until the
    crawl has ended, then shows them after a blank line, just before the close line: the
    last thing printed, apart from the log above. A filter on the manifest's logger, not
    on a handler: Scrapy replaces the root handler when the crawler starts."""

    def __init__(self, active: bool):
        super().__init__()
        self.held: list[logging.LogRecord] = []
        self.logger = logging.getLogger("casescraper.manifest")
        self.active = active
        if active:
            self.logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "casescraper_summary", False):
            self.held.append(record)
            return False
        return True

    def release(self) -> None:
        if not self.active:
            return
        self.logger.removeFilter(self)
        root = logging.getLogger()
        if self.held:
            for handler in root.handlers:
                stream = getattr(handler, "stream", None)
                if stream is not None:
                    stream.write("\n")
        for record in self.held:
            root.handle(record)


class Command(ScrapyCrawl):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        self.quiet = not self.settings.get("LOG_FILE") and self.settings.get("LOG_LEVEL") != "DEBUG"
        if self.quiet:
            # Before Scrapy's banner: a terminal gets casescraper's lines, warnings and the
            # engine's open/close lines, not ~100 lines of versions, settings, component
            # lists and the stats dump (all there with -s LOG_LEVEL=DEBUG or LOG_FILE).
            # Filters, not levels: Scrapy's logging set-up resets the levels of its loggers.
            for name in QUIET_LOGGERS:
                logging.getLogger(name).addFilter(_warnings_only)
        if len(args) == 1:
            self._known_spider(args[0])
        # With LOG_FILE (Scrapyd) the banner is not on the console; the error must reach
        # the log file, which the later report below does.
        if len(args) == 1 and not self.settings.get("LOG_FILE"):
            self._preflight(args[0], opts.spargs)

    def _known_spider(self, name: str) -> None:
        """An unknown spider name: one line listing the project's spiders (Scrapy would
        print a traceback of its spider loader)."""
        loader = get_spider_loader(self.settings)
        if name in loader.list():
            return
        spiders = ", ".join(sorted(loader.list())) or "none"
        message = (f"casescraper: error: no spider named {printable(name, 80)}; this project's "
                   f"spiders: {spiders} (e.g. scrapy crawl cases -a year=2025)")
        print(message, file=sys.stderr)  # Scrapyd checks spider names before it runs one
        raise SystemExit(EXIT_DID_NOT_START)

    def _preflight(self, name: str, spargs: dict) -> None:
        """The crawler's first steps on a throwaway copy: spider arguments, per-site
        defaults, config file, environment, -s, and the spider's own check."""
        from casescraper.spiders.cases import CasesSpider

        spidercls = get_spider_loader(self.settings).load(name)  # known: _known_spider
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
        from casescraper.spiders.cases import CasesSpider

        problem = switched_off(self.crawler.settings) if issubclass(self.crawler.spidercls, CasesSpider) else None
        if problem is not None:
            print(f"casescraper: error: {problem}", file=sys.stderr)
            self.exitcode = EXIT_DID_NOT_START
            return
        self.crawler.signals.connect(self._closed, signal=signals.spider_closed)
        self._bound_signals()
        started = self.crawler_process.crawl(self.crawler, **opts.spargs)
        if isinstance(started, asyncio.Future):
            started.add_done_callback(self._report_task)
        else:
            started.addErrback(self._report_failure)
        held = _HeldSummary(self.quiet)
        try:
            self.crawler_process.start()
        finally:
            held.release()
        if self.crawler_process.bootstrap_failed and self.reason is None:
            self.exitcode = EXIT_DID_NOT_START
            return
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        self.exitcode, meaning = outcome_code(self.reason, stats)
        self._last_line(self.reason, self.exitcode, meaning)

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
