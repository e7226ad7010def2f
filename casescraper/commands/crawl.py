"""`scrapy crawl`, with casescraper's startup errors shown as one line.

A bad argument, config value, output directory or missing browser raises a
CasescraperError while the crawler starts, before any browser runs. Scrapy would print
a traceback; an operator needs the one line that says what to fix, and a non-zero exit.

Arguments and settings (and the output dir's site) are checked once more before Scrapy
logs its banner, so that such a mistake is the only thing printed. Later errors (an
unusable output dir, a missing browser) come as the last line, after the banner.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from casescraper.config import ConfigAddon
from casescraper.errors import CasescraperError


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
            raise SystemExit(1) from None

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name: scrapy crawl cases -a year=2025")
        assert self.crawler_process
        started = self.crawler_process.crawl(self._create_crawler(args[0]), **opts.spargs)
        if isinstance(started, asyncio.Future):
            started.add_done_callback(self._report_task)
        else:
            started.addErrback(self._report_failure)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1

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
