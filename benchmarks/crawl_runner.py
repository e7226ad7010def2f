"""Run 1's crawl process: a real `scrapy crawl cases`, with timings recorded.

    python -m benchmarks.crawl_runner OUT.json [--profile PROF] [--patch VARIANT] -a K=V -s K=V ...

Same project settings and components as `scrapy crawl` (casescraper.harness, as tests/crawl_runner.py).
It records, per search (canary re-searches included): when its query started (the middleware's meta), when the browser
thread took it up, ran its in-page script and let it go, when the response reached the
engine and when its item left the pipeline; the reactor's worst stall (a
20 ms heartbeat's lateness); and every WebDriver command the crawl sent (count and
time per command name, on the browser thread). `--profile` writes a cProfile of the
reactor thread from spider_opened to spider_closed (the browser thread is seen
through the command timings instead). `--patch` runs the crawl with one of
diagnose.VARIANTS as the page object's case script (this process only). Both go
through the middleware's public seams (a subclass in DOWNLOADER_MIDDLEWARES), never by
replacing casescraper's code.
"""

from __future__ import annotations

import cProfile
import sys
import threading
import time
from collections import defaultdict

from scrapy import signals

# The process as `scrapy crawl` builds it, the WebDriver command hook, the reactor-stall
# heartbeat and close reason, the crawl and its written record (shared with the tests).
from casescraper.harness import prepare, run, watch_crawl, watch_webdriver


def count_webdriver_commands(record: dict) -> None:
    """Count and time every WebDriver command (one call = one HTTP round trip to chromedriver)."""
    commands = record["webdriver"] = defaultdict(lambda: {"count": 0, "seconds": 0.0})
    lock = threading.Lock()

    def observe(command: str, started: float, ended: float) -> None:
        with lock:
            commands[command]["count"] += 1
            commands[command]["seconds"] += ended - started
        if command == "executeCdpCommand":  # the page object's one call per case
            record["last_script"] = (started, ended)

    watch_webdriver(observe)


def timed_middleware(record: dict, variant: str = "") -> type:
    """The project's Selenium middleware through its public seams (casescraper.middlewares):
    `search_observer` hears when the browser thread took each search up and let it go (its
    recycle check, page set-up and in-page script; the script's own times come from the
    wrapper above); with `variant`, `page_factory` is a page object carrying that
    diagnose.VARIANTS case script instead of the shipped one (this process only)."""
    from casescraper.middlewares import SeleniumMiddleware
    from casescraper.browser.page import CourtFilesPage

    from .diagnose import VARIANTS

    page_class = CourtFilesPage
    if variant:
        if variant not in VARIANTS:
            raise SystemExit(f"--patch {variant!r}: no such variant (or it no longer applies): {sorted(VARIANTS)}")
        page_class = type("VariantPage", (CourtFilesPage,), {"case_script": VARIANTS[variant]})

    class TimedMiddleware(SeleniumMiddleware):
        page_factory = page_class

        def search_observer(self, timing) -> None:
            script = record.pop("last_script", (None, None))
            # Picked up by the response this search produces (one request at a time).
            record["last_thread"] = dict(thread_started=timing.started, script_started=script[0],
                                         script_done=script[1], thread_done=timing.done)

    return TimedMiddleware


def main(argv: list[str]) -> int:
    out, rest = argv[0], argv[1:]
    profile_path = patch = None
    while rest[:1] in (["--profile"], ["--patch"]):
        if rest[0] == "--profile":
            profile_path = rest[1]
        else:
            patch = rest[1]
        rest = rest[2:]
    record: dict = {"searches": [], "process_started": time.time()}
    count_webdriver_commands(record)

    def timed(settings) -> None:
        middlewares = {**settings.getdict("DOWNLOADER_MIDDLEWARES"),
                       "casescraper.middlewares.SeleniumMiddleware": None,
                       timed_middleware(record, patch or ""): 800}
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")

    process, crawler, spider_args = prepare(rest, adjust=timed)
    watch_crawl(crawler, record)

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
        record["closed_at"] = time.time()

    def on_opened(spider):
        record["opened_at"] = time.time()
        if profiler:  # the crawl only: not imports and start-up
            profiler.enable()

    crawler.signals.connect(on_response, signal=signals.response_received)
    crawler.signals.connect(on_item, signal=signals.item_scraped)
    crawler.signals.connect(on_closed, signal=signals.spider_closed)
    crawler.signals.connect(on_opened, signal=signals.spider_opened)
    code = run(process, crawler, spider_args, record, out)
    if profiler:
        profiler.dump_stats(profile_path)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
