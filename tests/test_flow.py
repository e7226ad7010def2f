"""How the spider plans and waits, in-process with fake answers (no browser, no engine).

A request is answered as the middleware and Scrapy would: a "no data" capture through
the spider's own callback, or a failure through its errback. The spider's start() must
not go on before the answer is settled, must not learn from failed answers, and must
not build a list of the range it plans.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from casescraper.config import default_settings
from casescraper.democourt import DemoCourt, Knobs
from casescraper.errors import CaseFailed, ConfigError
from casescraper.signals import case_outcome
from casescraper.spiders.cases import CasesSpider

from .conftest import ROOT
from .e2e import (
    ENV, free_port, ledger_lines, needs_browser, run_crawl, scrapy_crawl, settings_args, spider_args,
)


class FakeEngine:
    def __init__(self):
        self.reasons = []

    async def close_spider_async(self, *, reason):
        self.reasons.append(reason)


def make_spider(tmp_path, settings=None, **args):
    crawler = get_crawler(CasesSpider, {**default_settings(), "CASESCRAPER_OUTPUT_DIR": str(tmp_path),
                                        "CASESCRAPER_RUN_ID": "flow", **(settings or {})})
    spider = CasesSpider.from_crawler(crawler, **args)
    crawler.spider = spider
    crawler.engine = FakeEngine()
    return spider


async def no_data(spider, request):
    request.meta["casescraper"].update(found=False, captured_at="2025-03-01T10:00:00+00:00")
    async for _ in spider.parse_case(HtmlResponse(request.url, body=b"", request=request)):
        pass


async def failed(spider, request):
    failure = Failure(CaseFailed(f"{request.meta['casescraper']['case']}: gave up after 3 attempts: "
                                 "the page did not load (ERR_CONNECTION_REFUSED)"))
    failure.request = request
    await spider.case_failed(failure)


def drive(spider, answers, limit=1000):
    """Run start(), answering the n-th request with answers(n); returns the cases asked."""
    async def go():
        asked = []
        start = spider.start()
        async for request in start:
            asked.append(request.meta["casescraper"]["case"])
            if len(asked) > limit:
                break
            await answers(len(asked))(spider, request)
        await asyncio.sleep(0)  # let a scheduled close run
        return asked
    return asyncio.run(go())


def test_the_next_query_waits_for_the_answer(tmp_path):
    spider = make_spider(tmp_path, year=2025, end=3)

    async def go():
        start = spider.start()
        first = await anext(start)
        pending = asyncio.ensure_future(anext(start))
        await asyncio.sleep(0.05)
        assert not pending.done()  # no second query while the first is not settled
        await no_data(spider, first)
        second = await pending
        return [first.meta["casescraper"]["case"], second.meta["casescraper"]["case"]]
    assert asyncio.run(go()) == ["IMM-1-25", "IMM-2-25"]


def test_outcomes_are_signals_not_items(tmp_path):
    spider = make_spider(tmp_path, year=2025, end=3)
    seen = []
    spider.crawler.signals.connect(lambda case_number, status, **_: seen.append((case_number, status)),
                                   signal=case_outcome, weak=False)
    asked = drive(spider, lambda n: no_data if n != 2 else failed)
    assert asked == ["IMM-1-25", "IMM-2-25", "IMM-3-25"]
    assert seen == [("IMM-1-25", "no_results"), ("IMM-2-25", "driver_error"), ("IMM-3-25", "no_results")]
    assert spider.planned == 3


def test_a_failed_answer_teaches_the_end_search_nothing(tmp_path):
    spider = make_spider(tmp_path, {"CASESCRAPER_BOUNDARY_GAP": 3}, year=2025)
    asked = drive(spider, lambda n: failed if n in (1, 2, 4) else no_data)
    # IMM-1-25 failed twice: asked again each time, never taken for "exists" (which would
    # probe upward) nor for "no data"; then no data for 1..3: the year has no files.
    assert asked == ["IMM-1-25", "IMM-1-25", "IMM-1-25", "IMM-2-25", "IMM-2-25", "IMM-3-25"]
    assert spider.planned == len(asked) and spider.crawler.engine.reasons == []


def test_consecutive_failures_stop_the_crawl(tmp_path, caplog):
    spider = make_spider(tmp_path, {"CASESCRAPER_MAX_CONSECUTIVE_FAILURES": 4}, year=2025)
    asked = drive(spider, lambda n: failed)
    assert asked == ["IMM-1-25"] * 4  # an open year: the same first number, never probed upward
    assert spider.crawler.engine.reasons == ["portal_unreachable"]
    assert "the portal gave no answer 4 times in a row; last error: IMM-1-25: gave up after 3 attempts: " \
           "the page did not load (ERR_CONNECTION_REFUSED)" in caplog.text


def test_an_answer_resets_the_failure_count(tmp_path):
    spider = make_spider(tmp_path, {"CASESCRAPER_MAX_CONSECUTIVE_FAILURES": 3}, year=2025, end=8)
    asked = drive(spider, lambda n: no_data if n in (3, 6) else failed)
    assert len(asked) == 8 and spider.crawler.engine.reasons == []  # 2, 2, 2 failures in a row
    spider = make_spider(tmp_path, {"CASESCRAPER_MAX_CONSECUTIVE_FAILURES": 3}, year=2025, end=8)
    assert len(drive(spider, lambda n: no_data if n == 1 else failed)) == 4
    assert spider.crawler.engine.reasons == ["portal_unreachable"]


def test_a_failed_canary_is_no_ledger_line_and_is_asked_again(tmp_path):
    (tmp_path / "json" / "2025").mkdir(parents=True)
    (tmp_path / "json" / "2025" / "IMM-1-25-20250101.json").write_text('{"case_number": "IMM-1-25"}')
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "2025.jsonl").write_text(json.dumps(
        {"case_number": "IMM-1-25", "status": "saved", "file_path": "json/2025/IMM-1-25-20250101.json"}) + "\n")
    spider = make_spider(tmp_path, {"CASESCRAPER_CANARY_EVERY": 3}, year=2025, start=2, end=7)
    seen = []
    spider.crawler.signals.connect(lambda case_number, status, **_: seen.append(case_number),
                                   signal=case_outcome, weak=False)

    async def answer(spider, request):
        canary = request.meta["casescraper"]["canary"]
        await (failed if canary else no_data)(spider, request)
    asked = drive(spider, lambda n: answer)
    assert asked == ["IMM-2-25", "IMM-3-25", "IMM-4-25", "IMM-1-25", "IMM-5-25", "IMM-1-25",
                     "IMM-6-25", "IMM-1-25", "IMM-7-25", "IMM-1-25"]
    assert seen == [f"IMM-{n}-25" for n in range(2, 8)]  # the saved number is no failure
    assert spider.crawler.stats.get_value("casescraper/canaries/errors") == 4
    assert spider.planned == 6 and spider.crawler.engine.reasons == []


def test_numbers_past_seven_digits_stop_with_one_line(tmp_path):
    for args, name in [({"end": "99999999999"}, "end"), ({"max_cases": "99999999999"}, "max_cases"),
                       ({"start": "10000000"}, "start")]:
        with pytest.raises(ConfigError) as info:
            make_spider(tmp_path, year=2025, **args)
        assert str(info.value).startswith(f"argument {name}=") and "9999999" in str(info.value)


RSS = """
import asyncio, resource, sys
sys.path.insert(0, {root!r})
from tests.test_flow import drive, make_spider, no_data
import pathlib
args = dict(arg.split("=", 1) for arg in sys.argv[2:])
spider = make_spider(pathlib.Path(sys.argv[1]), **args)
asked = drive(spider, lambda n: no_data, limit=int(args.pop("steps", 0)) or 3000)
print(len(asked), spider.planned, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def peak_rss(tmp_path, args: dict) -> tuple[int, int, int]:
    """(numbers asked, planned, peak RSS in MB) of 3000 steps of a spider made with `args`,
    in a fresh interpreter, on a ledger where earlier runs settled some numbers (resume
    checks them one by one, lazily too)."""
    script = tmp_path / "rss.py"
    script.write_text(RSS.format(root=str(ROOT)))
    ledger = tmp_path / "ledger"
    ledger.mkdir(exist_ok=True)
    (ledger / "2025.jsonl").write_text("".join(
        json.dumps({"case_number": f"IMM-{n}-25", "status": "no_results", "file_path": None}) + "\n"
        for n in range(1, 50)))
    argv = [f"{k}={v}" for k, v in {"year": 2025, **args}.items()]
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), *argv],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    asked, planned, peak_mb = map(int, proc.stdout.split()[-3:])
    return asked, planned, peak_mb


@pytest.fixture(scope="module")
def small_plan_peak(tmp_path_factory) -> int:
    """The same 3000 steps with an end just past them: what the interpreter, Scrapy and
    the spider take on this machine, now."""
    asked, planned, peak_mb = peak_rss(tmp_path_factory.mktemp("small"), {"end": 3100})
    assert (asked, planned) == (3001, 3100)
    return peak_mb


@pytest.mark.parametrize("args", [{"end": 9_999_999}, {"max_cases": 9_999_999, "start": 1},
                                  {"end": 9_999_999, "shard": "2/3"}])
def test_memory_does_not_depend_on_the_end(tmp_path, args, small_plan_peak):
    """A plan of ten million numbers as a list would take some 400 MB before the first
    query. Measured against a plan of 3,100 numbers in the same conditions, with a margin
    that a loaded machine's allocator noise stays far below (speed and absolute memory
    are the benchmarks' concern)."""
    asked, planned, peak_mb = peak_rss(tmp_path, args)
    assert asked == 3001 and planned > 3_000_000
    assert peak_mb < small_plan_peak + 150, (peak_mb, small_plan_peak)


# --- end to end: real Chromium, the demo court in this process to count its queries ------

BROKEN_DISK = """
import errno, sys
sys.path.insert(0, {root!r})
from casescraper.store.storage import CaseStore

def write(self, record):  # the output dir passes its checks; no case file can be written
    raise OSError(errno.ENOSPC, "No space left on device")
CaseStore.write = write
from tests import crawl_runner
sys.exit(crawl_runner.main(sys.argv[1:]))
"""


@needs_browser
def test_no_query_while_writes_fail_and_the_fifth_failure_stops(tmp_path):
    script = tmp_path / "broken_disk.py"
    script.write_text(BROKEN_DISK.format(root=str(ROOT)))
    out = tmp_path / "output"
    with DemoCourt(year=2025, last_number=40, knobs=Knobs(fade_ms=0)) as court:
        cmd = [sys.executable, str(script), str(tmp_path / "run.json"),
               *spider_args(year=2025, end=40),
               *settings_args(out, CASESCRAPER_SITE_URL=court.url, DOWNLOAD_DELAY=0,
                              CASESCRAPER_REST_SECONDS=0, CASESCRAPER_WRITE_RETRIES=3,
                              CASESCRAPER_WRITE_BACKOFF_SECONDS=0.2)]
        proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
        queries = court.query_count
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["reason"] == "write_failures", proc.stderr[-3000:]
    lines = ledger_lines(out)
    assert [l["status"] for l in lines].count("failed_write") == 5
    # One query per recorded number, and none after the fifth failed write: once a write
    # had failed, no query went out while the next record was being written (retried 3
    # times, backing off); only the one in flight when the first failure became known.
    assert queries == len(lines) and lines[-1]["status"] == "failed_write"
    assert run["stats"]["casescraper/writes/errors"] == 5 * 3


@needs_browser
@pytest.mark.parametrize("how", ["closed-port", "server-errors"])
def test_an_unreachable_portal_stops_the_crawl(tmp_path, how):
    if how == "closed-port":
        # A loopback port nobody listens on.
        url = f"http://127.0.0.1:{free_port()}/en/court-files-and-decisions/court-files"
        run = scrapy_crawl(tmp_path / "output", {"year": 2025},  # open-ended: the end search
                           {"CASESCRAPER_SITE_URL": url, "DOWNLOAD_DELAY": 0,
                            "CASESCRAPER_REST_SECONDS": 0, "CASESCRAPER_PAGE_LOAD_TIMEOUT": 10})
        log, code = run.stderr, run.returncode
        queries = None
    else:
        with DemoCourt(year=2025, last_number=40, knobs=Knobs(fade_ms=0, error_rate=1.0)) as court:
            run = run_crawl(tmp_path, {"year": 2025, "end": 40},
                            {"CASESCRAPER_SITE_URL": court.url, "DOWNLOAD_DELAY": 0,
                             "CASESCRAPER_REST_SECONDS": 0, "CASESCRAPER_MAX_CONSECUTIVE_FAILURES": 3,
                             "CASESCRAPER_CASE_RETRIES": 1})
            queries = court.query_count
        log, code = run["log"], run["returncode"]
        assert run["reason"] == "portal_unreachable", log[-3000:]
    lines = ledger_lines(tmp_path / "output")
    limit = 10 if how == "closed-port" else 3
    assert "Closing spider (portal_unreachable)" in log, log[-3000:]
    assert f"the portal gave no answer {limit} times in a row; last error: IMM-" in log
    assert [l["status"] for l in lines] == ["driver_error"] * limit
    if how == "closed-port":
        # The end search asked the first number again, never probed upward on failures.
        assert {l["case_number"] for l in lines} == {"IMM-1-25"}
        assert "ERR_CONNECTION_REFUSED" in log and code != 0
    else:
        assert [l["case_number"] for l in lines] == ["IMM-1-25", "IMM-2-25", "IMM-3-25"]
        assert queries <= limit * 2  # each case: one query and one retry
