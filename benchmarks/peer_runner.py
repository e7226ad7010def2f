"""Runs 5 and 6's crawl process: one scrapy-playwright spider (benchmarks.peer_spiders) on
the system Chromium, one query at a time; writes its items and stats to OUT.json.

    python -m benchmarks.peer_runner OUT.json {idiomatic|tuned} URL CASE,CASE,...

Scrapy's own defaults plus what scrapy-playwright's documentation asks for: its download
handler, Chromium at /usr/bin/chromium through `executable_path` (no browser download),
the same Chromium flags casescraper starts it with (headless is Playwright's own flag),
the court's time zone for the browser context.
"""

from __future__ import annotations

import json
import sys
import time

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from casescraper.browser.driver import COURT_TIMEZONE
from casescraper.config import DEFAULT_BROWSER_ARGUMENTS

from .peer_spiders import IdiomaticPeer, TunedPeer

SPIDERS = {"idiomatic": IdiomaticPeer, "tuned": TunedPeer}
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"


def settings() -> Settings:
    return Settings({
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": "/usr/bin/chromium", "headless": True,
            "args": [a for a in DEFAULT_BROWSER_ARGUMENTS if not a.startswith("--headless")]},
        # The page shows the portal's instants as dates in the browser's time zone; casescraper
        # runs its browser in the court's (Toronto), so must the peer, or dates shift a day.
        "PLAYWRIGHT_CONTEXTS": {"default": {"timezone_id": COURT_TIMEZONE}},
        "CONCURRENT_REQUESTS": 1, "DOWNLOAD_DELAY": 0, "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False, "WARN_ON_GENERATOR_RETURN_VALUE": False,
    })


def main(argv: list[str]) -> int:
    out, style, url, cases = argv
    record: dict = {"process_started": time.time(), "items": [], "reason": None}
    process = AsyncCrawlerProcess(settings())
    crawler = process.create_crawler(SPIDERS[style])

    def reached(request, spider):
        request.meta.setdefault("bench_started", time.time())

    def scraped(item, response, spider):
        record["items"].append(item)

    def opened(spider):
        record["opened_at"] = time.time()

    def closed(spider, reason):
        record["closed_at"], record["reason"] = time.time(), reason

    crawler.signals.connect(reached, signal=signals.request_reached_downloader)
    crawler.signals.connect(scraped, signal=signals.item_scraped)
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, url=url, cases=cases)
    process.start()
    record["stats"] = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(record, fh, default=str)
    return 0 if record["reason"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
