"""Run 1's crawl process: a real `scrapy crawl cases`, with timings recorded.

    python -m benchmarks.crawl_runner OUT.json [--profile PROF] [--patch VARIANT] -a K=V -s K=V ...

Same project settings and components as `scrapy crawl` (like tests/crawl_runner.py).
It records, per search (canary re-searches included): when its query started (the middleware's meta), when the browser
thread took it up, ran its in-page script and let it go, when the response reached the
engine and when its item left the pipeline; the reactor's worst stall (a
20 ms heartbeat's lateness); and every WebDriver command the crawl sent (count and
time per command name, on the browser thread). `--profile` writes a cProfile of the
reactor thread from spider_opened to spider_closed (the browser thread is seen
through the command timings instead). `--patch` runs the crawl with one of
diagnose.VARIANTS in place of the page object's CASE_SCRIPT (this process only).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import sys
import threading
import time
from collections import defaultdict

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.utils.project import get_project_settings
from selenium.webdriver.remote.remote_connection import RemoteConnection

from tests.crawl_runner import heartbeat  # the same reactor-stall probe as the tests


def count_webdriver_commands(record: dict) -> None:
    """Wrap RemoteConnection.execute: one call = one HTTP round trip to chromedriver."""
    commands = record["webdriver"] = defaultdict(lambda: {"count": 0, "seconds": 0.0})
    lock = threading.Lock()
    original = RemoteConnection.execute

    def execute(self, command, params):
        t0 = time.time()
        try:
            return original(self, command, params)
        finally:
            t1 = time.time()
            with lock:
                commands[command]["count"] += 1
                commands[command]["seconds"] += t1 - t0
            if command == "executeCdpCommand":  # the page object's one call per case
                record["last_script"] = (t0, t1)

    RemoteConnection.execute = execute


def time_browser_thread(record: dict) -> None:
    """Wrap the middleware's worker-thread call: when the browser thread took the case
    up and let it go, and when its one in-page script ran (from the wrapper above)."""
    from casescraper.middlewares import SeleniumMiddleware

    original = SeleniumMiddleware._search

    def _search(self, url, court, case):
        t0 = time.time()
        try:
            return original(self, url, court, case)
        finally:
            script = record.pop("last_script", (None, None))
            # Picked up by the response this call produces (one request at a time).
            record["last_thread"] = dict(thread_started=t0, script_started=script[0],
                                         script_done=script[1], thread_done=time.time())

    SeleniumMiddleware._search = _search


def patch_case_script(name: str) -> None:
    """Measure a proposed page-object change in a real crawl without editing casescraper:
    swap casescraper.page's CASE_SCRIPT for a variant from diagnose.py."""
    from casescraper import page

    from .diagnose import VARIANTS

    if name not in VARIANTS:
        raise SystemExit(f"--patch {name!r}: no such variant (or it no longer applies): {sorted(VARIANTS)}")
    page.CASE_SCRIPT = VARIANTS[name]


def main(argv: list[str]) -> int:
    out, rest = argv[0], argv[1:]
    profile_path = patch = None
    while rest[:1] in (["--profile"], ["--patch"]):
        if rest[0] == "--profile":
            profile_path = rest[1]
        else:
            patch = rest[1]
        rest = rest[2:]
    if patch:
        patch_case_script(patch)
    spider_args, overrides = {}, {}
    for flag, pair in zip(rest[::2], rest[1::2]):
        key, _, value = pair.partition("=")
        (spider_args if flag == "-a" else overrides)[key] = value
    record: dict = {"searches": [], "max_stall": 0.0, "reason": None, "process_started": time.time()}
    count_webdriver_commands(record)
    time_browser_thread(record)
    settings = get_project_settings()
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler("cases")

    def on_response(response, request):
        # One entry per search, in order; canary re-searches of a known case included.
        meta = request.meta.get("casescraper", {})
        entry = dict(case=meta.get("case"), canary=bool(meta.get("canary")), found=meta.get("found"),
                     query_started=meta.get("query_started"), response_at=time.time(),
                     driver_pid=meta.get("driver_pid"), **record.pop("last_thread", {}))
        record["searches"].append(entry)
        request.meta["_bench"] = entry

    def on_item(item, response, spider):
        entry = response.request.meta.get("_bench")
        if entry is not None:
            entry.setdefault("item_done_at", time.time())

    profiler = cProfile.Profile() if profile_path else None

    def on_closed(reason):
        if profiler:
            profiler.disable()
        record["reason"] = reason
        record["closed_at"] = time.time()

    def on_opened(spider):
        record["opened_at"] = time.time()
        record["heartbeat"] = asyncio.ensure_future(heartbeat(record))
        if profiler:  # the crawl only: not imports and start-up
            profiler.enable()

    crawler.signals.connect(on_response, signal=signals.response_received)
    crawler.signals.connect(on_item, signal=signals.item_scraped)
    crawler.signals.connect(on_closed, signal=signals.spider_closed)
    crawler.signals.connect(on_opened, signal=signals.spider_opened)
    process.crawl(crawler, **spider_args)
    process.start()
    if profiler:
        profiler.dump_stats(profile_path)
    record.pop("heartbeat", None)
    record["webdriver"] = dict(record["webdriver"])
    record["stats"] = {k: v for k, v in crawler.stats.get_stats().items()
                       if isinstance(v, (int, float, str))}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(record, fh, default=str, indent=1)
    return 1 if process.bootstrap_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
