"""Run one real crawl in this process and record what end-to-end tests check.

    python -m tests.crawl_runner OUT.json -a year=2025 -a site=demo -s KEY=VALUE ...

Same project settings and components as `scrapy crawl`; in addition it records, per
response, the case, the chromedriver PID and when its query started, plus the crawl's
stats, its close reason, how many WebDriver commands ran on the reactor's thread (none
may) and the reactor's worst stall (a 20 ms heartbeat's lateness: for benchmarks, which
report it; tests assert no time bound).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.utils.project import get_project_settings
from selenium.webdriver.remote.remote_connection import RemoteConnection

HEARTBEAT = 0.02


async def heartbeat(record: dict) -> None:
    """Keep `record["max_stall"]`: how late a 20 ms reactor tick ever was."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(HEARTBEAT)
        now = time.monotonic()
        record["max_stall"] = max(record["max_stall"], now - last - HEARTBEAT)
        last = now


def watch_webdriver_threads(record: dict) -> None:
    """Count WebDriver commands, and those sent from the reactor's thread (record["reactor"])."""
    send = RemoteConnection.execute

    def execute(self, command, params):
        record["webdriver_commands"] += 1
        record["webdriver_on_reactor"] += threading.get_ident() == record.get("reactor")
        return send(self, command, params)

    RemoteConnection.execute = execute


def main(argv: list[str]) -> int:
    out, rest = argv[0], argv[1:]
    spider_args, overrides = {}, {}
    for flag, pair in zip(rest[::2], rest[1::2]):
        key, _, value = pair.partition("=")
        (spider_args if flag == "-a" else overrides)[key] = value
    settings = get_project_settings()
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler("cases")
    record = {"responses": [], "max_stall": 0.0, "reason": None,
              "webdriver_commands": 0, "webdriver_on_reactor": 0}
    watch_webdriver_threads(record)

    def on_response(response, request):
        meta = request.meta.get("casescraper", {})
        record["responses"].append(
            {"case": meta.get("case"), "found": meta.get("found"),
             "driver_pid": meta.get("driver_pid"), "query_started": meta.get("query_started")}
        )

    def on_closed(reason):
        record["reason"] = reason

    def on_opened(spider):
        record["reactor"] = threading.get_ident()  # signals run on the reactor's thread
        record["heartbeat"] = asyncio.ensure_future(heartbeat(record))

    crawler.signals.connect(on_response, signal=signals.response_received)
    crawler.signals.connect(on_closed, signal=signals.spider_closed)
    crawler.signals.connect(on_opened, signal=signals.spider_opened)
    process.crawl(crawler, **spider_args)
    process.start()
    record.pop("heartbeat", None)
    record.pop("reactor", None)
    record["stats"] = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(record, fh, default=str, indent=1)
    return 1 if process.bootstrap_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
