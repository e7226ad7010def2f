"""Run one real crawl in this process and record what end-to-end tests check.

    python -m tests.crawl_runner OUT.json -a year=2025 -a site=demo -s KEY=VALUE ...

Same project settings and components as `scrapy crawl`; in addition it records, per
response, the case, the chromedriver PID and when its query started, plus the crawl's
stats, its close reason, how many WebDriver commands ran on the reactor's thread (none
may) and the reactor's worst stall (a 20 ms heartbeat's lateness: for benchmarks, which
report it; tests assert no time bound).

The pieces are shared with benchmarks/crawl_runner.py, which records timings instead:
`prepare` (the process, as `scrapy crawl` builds it), `watch_webdriver` (every WebDriver
command, on the thread that sends it), `watch_crawl` (reactor thread, heartbeat, close
reason) and `run` (crawl, then write the record with the crawl's stats).
"""

from __future__ import annotations

import asyncio
import json
import sys
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


def main(argv: list[str]) -> int:
    process, crawler, spider_args = prepare(argv[1:])
    record: dict = {"responses": [], "webdriver_commands": 0, "webdriver_on_reactor": 0}
    watch_crawl(crawler, record)

    def count(command: str, started: float, ended: float) -> None:
        record["webdriver_commands"] += 1
        record["webdriver_on_reactor"] += threading.get_ident() == record.get("reactor")

    watch_webdriver(count)

    def on_response(response, request):
        meta = request.meta.get("casescraper", {})
        record["responses"].append(
            {"case": meta.get("case"), "found": meta.get("found"),
             "driver_pid": meta.get("driver_pid"), "query_started": meta.get("query_started")}
        )

    crawler.signals.connect(on_response, signal=signals.response_received)
    return run(process, crawler, spider_args, record, argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
