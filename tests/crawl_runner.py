"""Run one real crawl in this process and record what end-to-end tests check.

    python -m tests.crawl_runner OUT.json -a year=2025 -a site=demo -s KEY=VALUE ...

Same project settings and components as `scrapy crawl`; in addition it records, per
response, the case, the chromedriver PID and when its query started, plus the crawl's
stats, its close reason, how many WebDriver commands ran on the reactor's thread (none
may) and the reactor's worst stall (a 20 ms heartbeat's lateness: for benchmarks, which
report it; tests assert no time bound).

The pieces (casescraper.harness) are shared with benchmarks/crawl_runner.py, which records
timings instead.
"""

from __future__ import annotations

import sys
import threading

from scrapy import signals

from casescraper.harness import prepare, run, watch_crawl, watch_webdriver


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
