"""The crawl process as `scrapy crawl cases` builds it, with hooks to watch it: shared by the
end-to-end tests' runner (tests/crawl_runner.py) and the benchmarks' (benchmarks/crawl_runner.py).
Not used by the crawler itself.

- `prepare`: the process and the `cases` crawler from `-a K=V ... -s K=V ...`, the project's
  settings with the `-s` ones on top, as `scrapy crawl` has them;
- `watch_webdriver`: every WebDriver command, on the thread that sends it;
- `watch_crawl`: the reactor's thread, its worst stall (a 20 ms heartbeat's lateness: for
  benchmarks, which report it; tests assert no time bound) and the close reason;
- `run`: crawl to the end, then write the record with the crawl's stats;
- `strip_run_fields`: a crawled record as the demo court's dump has it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any, Callable, Optional

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess, Crawler
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings
from selenium.webdriver.remote.remote_connection import RemoteConnection

HEARTBEAT = 0.02


def prepare(args: list[str], adjust: Optional[Callable[[Settings], None]] = None,
            ) -> tuple[AsyncCrawlerProcess, Crawler, dict[str, str]]:
    """(process, `cases` crawler, spider arguments) for `-a K=V ... -s K=V ...`: the project's
    settings with the `-s` ones on top, as `scrapy crawl` has them; then `adjust(settings)`,
    if given (a benchmark's own middleware, say), before anything is built from them."""
    spider_args, overrides = {}, {}
    for flag, pair in zip(args[::2], args[1::2]):
        key, _, value = pair.partition("=")
        (spider_args if flag == "-a" else overrides)[key] = value
    settings = get_project_settings()
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    if adjust is not None:
        adjust(settings)
    process = AsyncCrawlerProcess(settings)
    return process, process.create_crawler("cases"), spider_args


async def heartbeat(record: dict) -> None:
    """Keep `record["max_stall"]`: how late a 20 ms reactor tick ever was."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(HEARTBEAT)
        now = time.monotonic()
        record["max_stall"] = max(record["max_stall"], now - last - HEARTBEAT)
        last = now


def watch_webdriver(observe: Callable[[str, float, float], None]) -> None:
    """Call `observe(command, started, ended)` (time.time()) after every WebDriver command,
    on the thread that sent it; one call is one HTTP round trip to chromedriver."""
    send = RemoteConnection.execute

    def execute(self, command, params):
        started = time.time()
        try:
            return send(self, command, params)
        finally:
            observe(command, started, time.time())

    RemoteConnection.execute = execute


def watch_crawl(crawler: Crawler, record: dict) -> None:
    """Keep in `record`: the reactor's thread ("reactor", dropped by `run`), its worst
    stall ("max_stall") and the close reason ("reason")."""
    record.setdefault("max_stall", 0.0)
    record.setdefault("reason", None)

    def on_opened(spider):
        record["reactor"] = threading.get_ident()  # signals run on the reactor's thread
        record["heartbeat"] = asyncio.ensure_future(heartbeat(record))

    def on_closed(reason):
        record["reason"] = reason

    crawler.signals.connect(on_opened, signal=signals.spider_opened, weak=False)
    crawler.signals.connect(on_closed, signal=signals.spider_closed, weak=False)


def run(process: AsyncCrawlerProcess, crawler: Crawler, spider_args: dict[str, Any],
        record: dict, out: str) -> int:
    """Crawl to the end, write `record` and the crawl's stats to `out` (JSON), and answer
    the exit status (1 when the crawl could not start)."""
    process.crawl(crawler, **spider_args)
    process.start()
    record.pop("heartbeat", None)
    record.pop("reactor", None)
    record["stats"] = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(record, fh, default=str, indent=1)
    return 1 if process.bootstrap_failed else 0


def strip_run_fields(record: dict) -> dict:
    """The case data of a crawled record, comparable with the demo dump: no run fields, and
    document urls without the demo court's origin (its port changes with every crawl)."""
    out = {k: v for k, v in record.items() if k not in ("scraped_at", "source_url", "file_path")}
    out["docket_entries"] = [
        {**e, "document": {**e["document"], "url": re.sub(r"^https?://[^/]+", "", e["document"]["url"])}}
        if (e.get("document") or {}).get("url") else e
        for e in out.get("docket_entries", [])
    ]
    return out
