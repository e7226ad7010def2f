"""The browser session without a browser: every restart, retry and recycle path, with a
scripted fake browser and page; and the middleware's Scrapy front over it."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from scrapy import signals
from scrapy.core.downloader import Downloader
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request
from scrapy.utils.test import get_crawler
from selenium.common.exceptions import WebDriverException

from casescraper.browser.driver import BrowserConfig
from casescraper.errors import (
    Blocked, CaseFailed, DeadSession, LayoutChanged, PageStuck, RestartsExhausted,
)
from casescraper.middlewares import SeleniumMiddleware
from casescraper.pacing import SlotPacer
from casescraper.browser.page import Capture
from casescraper.browser.session import (
    MEMORY_CHECK_EVERY, BrowserSession, CaseOutcome, SessionEvents, SessionOptions,
)

from .conftest import ROOT

URL = "http://court.invalid/en/court-files-and-decisions/court-files"


class World:
    """Browsers and pages the session gets, and what each search does: `plan` holds one
    step per search, in order (an exception to raise, a Capture, or True/False: found)."""

    def __init__(self, plan=(), start_failures=0, mib=0.0):
        self.plan = list(plan)
        self.start_failures = start_failures
        self.mib = mib
        self.browsers: list[FakeBrowser] = []
        self.searches: list[tuple[int, str, str]] = []  # (browser index, case, thread name)
        self.loads = 0

    def browser(self, config, run_dir, index):
        self.browsers.append(FakeBrowser(self, index))
        return self.browsers[-1]

    def page(self, driver, url, court, case_timeout):
        return FakePage(self, driver, url, court)


class FakeBrowser:
    def __init__(self, world, index):
        self.world, self.index = world, index
        self.driver, self.driver_pid = index, 1000 + index
        self.quits = self.kills = 0

    def start(self):
        if self.world.start_failures:
            self.world.start_failures -= 1
            raise WebDriverException("session not created: Chrome failed to start")

    def kill(self):
        self.kills += 1

    def quit(self, deadline=10.0):
        self.quits += 1

    def bounded(self, call, limit):
        return call()

    def memory_mb(self):
        return self.world.mib


class FakePage:
    def __init__(self, world, driver, url, court):
        self.world, self.driver, self.url, self.court = world, driver, url, court
        self.ready = False

    def open(self):
        self.world.loads += 1
        self.ready = True

    def search(self, case):
        self.world.searches.append((self.driver, case, threading.current_thread().name))
        step = self.world.plan.pop(0) if self.world.plan else True
        if isinstance(step, BaseException):
            self.ready = False  # as the page object: after a failure, the page is reloaded
            raise step
        return step if isinstance(step, Capture) else Capture(case, step, f"<html>{case}</html>")

    def screenshot_png(self):
        return b"\x89PNG fake"

    def page_html(self):
        return "<html>the page</html>"


class Events(SessionEvents):
    def __init__(self):
        self.stats: dict[str, int] = {}
        self.stops: list[str] = []

    def count(self, key):
        self.stats[key] = self.stats.get(key, 0) + 1

    def peak(self, key, value):
        self.stats[key] = max(self.stats.get(key, value), value)

    def stop(self, reason):
        self.stops.append(reason)


@pytest.fixture
def make(tmp_path):
    sessions = []

    def make(world, **options):
        base = SessionOptions(
            # A remote browser: no run dir under /tmp (the fake browser has no processes).
            config=BrowserConfig(driver_path="", browser_path="", arguments=[],
                                 command_executor="http://remote.invalid"),
            run_id="unit", output_dir=tmp_path / "output", case_timeout=1.0, max_restarts=2,
            case_retries=2, recycle_after=0, recycle_mb=0, diagnostics=True)
        session = BrowserSession(dataclasses.replace(base, **options), Events(),
                                 page_factory=world.page, browser_factory=world.browser)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.shutdown()


def test_a_case_runs_on_the_worker_thread_and_answers_its_capture(make):
    world = World([True])
    session = make(world)
    outcome = session.submit(session.case, URL + "#IMM-1-25", "t", "IMM-1-25").result(timeout=10)
    assert outcome.capture.found and outcome.capture.html == "<html>IMM-1-25</html>"
    assert outcome.driver_pid == 1001 and outcome.seconds >= 0
    assert world.searches == [(1, "IMM-1-25", world.searches[0][2])]
    assert world.searches[0][2].startswith("casescraper-browser")
    assert session.events.stats == {"casescraper/driver/starts": 1, "casescraper/page/loads": 1}
    session.submit(session.close).result(timeout=10)
    assert world.browsers[0].quits == 1 and session.browser is None


def test_a_dead_session_restarts_the_browser_and_retries_the_same_case(make):
    world = World([DeadSession("chrome not reachable"), True])
    session = make(world)
    outcome = session.case(URL, "t", "IMM-4-25")
    assert outcome.capture.case == "IMM-4-25" and outcome.driver_pid == 1002
    assert [(b, c) for b, c, _ in world.searches] == [(1, "IMM-4-25"), (2, "IMM-4-25")]
    assert world.browsers[0].quits == 1  # the dead one was ended
    stats = session.events.stats
    assert stats["casescraper/driver/restarts"] == 1 and stats["casescraper/driver/starts"] == 2
    assert stats["casescraper/failures/DeadSession"] == 1
    assert session.events.stops == [] and session.restarts_in_a_row == 0


def test_restarts_count_only_in_a_row(make):
    dead = DeadSession("tab crashed")
    world = World([dead, dead, True, dead, dead, True])
    session = make(world, max_restarts=2)
    session.case(URL, "t", "IMM-1-25")
    session.case(URL, "t", "IMM-2-25")  # two more restarts: fine after a successful case
    assert session.events.stats["casescraper/driver/restarts"] == 4
    assert session.events.stops == []


def test_restarts_exhausted_stops_the_crawl(make):
    world = World([DeadSession("chrome not reachable")] * 10)
    session = make(world, max_restarts=2, case_retries=10)
    with pytest.raises(RestartsExhausted, match="IMM-1-25: browser restarts exhausted"):
        session.case(URL, "t", "IMM-1-25")
    assert session.events.stops == ["driver_restarts_exhausted"]
    assert session.events.stats["casescraper/driver/restarts"] == 3
    assert all(b.quits == 1 for b in world.browsers) and session.browser is None


def test_a_case_that_kills_every_browser_fails_after_its_retries(make):
    world = World([DeadSession("chrome not reachable")] * 2 + [True])
    session = make(world, max_restarts=5, case_retries=1)
    with pytest.raises(CaseFailed, match="the browser died 2 times on this case"):
        session.case(URL, "t", "IMM-1-25")
    assert session.events.stops == []
    assert session.case(URL, "t", "IMM-2-25").capture.found  # the crawl goes on


def test_a_browser_that_cannot_start_counts_against_the_restart_budget(make):
    world = World(start_failures=99)
    session = make(world, max_restarts=2, case_retries=10)
    with pytest.raises(RestartsExhausted) as err:
        session.case(URL, "t", "IMM-1-25")
    assert "the browser did not start" in str(err.value)
    assert session.events.stops == ["driver_restarts_exhausted"]
    assert len(world.browsers) == 3 and all(b.kills == 1 for b in world.browsers)
    assert "casescraper/driver/starts" not in session.events.stats and world.searches == []


def test_a_stuck_page_is_reloaded_and_retried_then_the_case_fails(make):
    world = World([PageStuck("modal did not open")] * 3)
    session = make(world, case_retries=2)
    with pytest.raises(CaseFailed, match="gave up after 3 attempts: modal did not open") as err:
        session.case(URL, "t", "IMM-3-25")
    stats = session.events.stats
    assert stats["casescraper/page/stuck"] == 3 and stats["casescraper/failures/PageStuck"] == 3
    assert world.loads == 3 and stats["casescraper/driver/starts"] == 1  # reloads, one browser
    assert err.value.diagnostics == "diagnostics/unit/IMM-3-25-3"
    assert session.events.stops == []


def test_a_stuck_page_recovers_on_a_reload(make):
    world = World([PageStuck("HTTP 500"), True])
    session = make(world)
    assert session.case(URL, "t", "IMM-3-25").capture.found
    assert world.loads == 2 and session.events.stats["casescraper/page/stuck"] == 1


@pytest.mark.parametrize("error, reason", [
    (LayoutChanged("input#selectCourtNumber"), "layout_changed"),
    (Blocked("the portal refused the page (HTTP 403)"), "blocked"),
])
def test_a_changed_layout_or_a_block_stops_the_crawl_at_once(make, error, reason):
    world = World([error, True])
    session = make(world)
    with pytest.raises(type(error)) as err:
        session.case(URL, "t", "IMM-1-25")
    assert session.events.stops == [reason] and len(world.searches) == 1
    out = session.options.output_dir
    assert (out / err.value.diagnostics).with_suffix(".png").read_bytes() == b"\x89PNG fake"
    assert "the page" in (out / err.value.diagnostics).with_suffix(".html").read_text()


def test_recycling_after_n_cases(make):
    world = World()
    session = make(world, recycle_after=3)
    pids = [session.case(URL, "t", f"IMM-{n}-25").driver_pid for n in range(1, 8)]
    assert pids == [1001] * 3 + [1002] * 3 + [1003]
    stats = session.events.stats
    assert stats["casescraper/driver/recycles"] == 2 and stats["casescraper/driver/starts"] == 3
    assert "casescraper/driver/restarts" not in stats


def test_recycling_by_a_memory_reading(make):
    world = World(mib=500.0)
    session = make(world, recycle_mb=100)
    for n in range(MEMORY_CHECK_EVERY + 1):  # the last one starts the reading (off-thread)
        assert session.case(URL, "t", f"IMM-{n + 1}-25").driver_pid == 1001
    session.memory_reading[1].result(timeout=10)
    assert session.case(URL, "t", "IMM-99-25").driver_pid == 1002
    stats = session.events.stats
    assert stats["casescraper/driver/recycles"] == 1 and stats["casescraper/driver/max_pss_mb"] == 500


def test_diagnostics_are_published_under_a_safe_name_never_over_another(make):
    world = World([PageStuck("stuck"), DeadSession("chrome not reachable"), True])
    session = make(world)
    folder = session.options.output_dir / "diagnostics" / "unit"
    folder.mkdir(parents=True)
    (folder / "IMM-1-25-1.html").write_text("someone else's")
    session.case(URL, "t", "../IMM 1/25")
    assert (folder / "IMM-1-25-1.html").read_text() == "someone else's"
    stuck, dead = folder / "IMM-1-25-2", folder / "IMM-1-25-3"
    assert stuck.with_suffix(".png").read_bytes() == b"\x89PNG fake"
    assert stuck.with_suffix(".html").read_text().startswith("<!-- casescraper: PageStuck: stuck -->")
    # A dead session has no page to photograph: its note only.
    assert not dead.with_suffix(".png").exists()
    assert dead.with_suffix(".html").read_text().startswith("<!-- casescraper: DeadSession:")
    assert sorted(p.name for p in folder.iterdir()) == [
        "IMM-1-25-1.html", "IMM-1-25-2.html", "IMM-1-25-2.png", "IMM-1-25-3.html"]  # no temp left


def test_parties_stuck_keeps_the_case_and_leaves_a_diagnostic(make):
    capture = Capture("IMM-1-25", True, "<html></html>", parties_stuck="parties dialog did not close")
    world = World([capture])
    session = make(world)
    assert session.case(URL, "t", "IMM-1-25").capture is capture
    assert session.events.stats["casescraper/parties/stuck"] == 1
    assert "casescraper/page/stuck" not in session.events.stats
    assert (session.options.output_dir / "diagnostics" / "unit" / "IMM-1-25-1.png").exists()


def test_every_search_attempt_is_told_to_on_search(make):
    world = World([PageStuck("stuck"), True])
    session = make(world)
    timings = []
    session.on_search = timings.append
    session.case(URL, "t", "IMM-1-25")
    assert [t.case for t in timings] == ["IMM-1-25"] * 2
    assert all(t.started <= t.done for t in timings)


def test_the_session_imports_no_scrapy():
    code = "import sys, casescraper.browser.session; print(sorted(m for m in sys.modules if m.startswith('scrapy')))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


# --- the Scrapy front and pacing by Scrapy's download slot ------------------------------

def crawler_for(tmp_path, **settings):
    """A crawler with a real downloader (for its slots) and no network handlers."""
    crawler = get_crawler(settings_dict={
        "CASESCRAPER_OUTPUT_DIR": str(tmp_path / "output"), "CASESCRAPER_DIAGNOSTICS": False,
        "SELENIUM_COMMAND_EXECUTOR": "http://remote.invalid", "DOWNLOAD_HANDLERS": {"http": None, "https": None},
        "DOWNLOAD_DELAY_JITTER": 0, **settings})
    crawler.stats.open_spider()
    crawler.engine = SimpleNamespace(downloader=Downloader(crawler))
    return crawler


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds):
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


def paced(crawler, clock, urls, latencies=None, case_seconds=0.05):
    """Run one query per url through a SlotPacer on the fake clock, telling AutoThrottle
    each one's latency; the requests."""
    pacer = SlotPacer(crawler, 0, 0, clock=lambda: clock.now, wall=lambda: clock.now, sleep=clock.sleep)
    requests = [Request(url) for url in urls]

    async def run():
        for request, latency in zip(requests, latencies or [None] * len(requests)):
            turn = await pacer.wait(request)
            clock.now += case_seconds
            pacer.finish(turn, SimpleNamespace(status=200, body=b""), latency)
        crawler.engine.downloader.close()

    asyncio.run(run())
    return requests


def test_download_slots_delay_for_the_portals_host_is_honoured(tmp_path):
    crawler = crawler_for(tmp_path, DOWNLOAD_DELAY=0.5,
                          DOWNLOAD_SLOTS={"court.invalid": {"delay": 3.0, "jitter": 0}})
    clock = FakeClock()
    requests = paced(crawler, clock, [URL + "#IMM-1-25", URL + "#IMM-2-25", URL + "#IMM-3-25",
                                      "http://other.invalid/x", "http://other.invalid/y"])
    assert clock.sleeps == [2.95, 2.95, 0.45]  # the portal's 3 s; another host's DOWNLOAD_DELAY
    assert [r.meta["download_slot"] for r in requests] == ["court.invalid"] * 3 + ["other.invalid"] * 2


def test_autothrottles_adjusted_delay_is_used(tmp_path):
    crawler = crawler_for(tmp_path, AUTOTHROTTLE_ENABLED=True, AUTOTHROTTLE_START_DELAY=1.0,
                          AUTOTHROTTLE_MAX_DELAY=60, AUTOTHROTTLE_TARGET_CONCURRENCY=1.0, DOWNLOAD_DELAY=0)
    AutoThrottle.from_crawler(crawler)
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=None)
    clock = FakeClock()
    paced(crawler, clock, [URL + "#IMM-1-25", URL + "#IMM-2-25", URL + "#IMM-3-25"], latencies=[0.2, 4.0, 4.0])
    # Start 1 s; after 0.2 s: (1 + 0.2) / 2 = 0.6 s; after 4 s: 4 s (AutoThrottle's rule).
    assert clock.sleeps == [0.55, 3.95]
    assert crawler.engine.downloader.slots["court.invalid"].delay == 4.0


def test_the_middleware_answers_with_the_spiders_meta_and_tells_autothrottle(tmp_path):
    crawler = crawler_for(tmp_path, CASESCRAPER_TIMEZONE="America/Toronto")
    seen = []

    def downloaded(request, **_):  # as AutoThrottle reads it
        seen.append(request.meta["download_latency"])

    crawler.signals.connect(downloaded, signal=signals.response_downloaded)
    mw = SeleniumMiddleware.from_crawler(crawler)
    answers = [{"endpoint": "PublicPartiesListInfo", "url": "http://x/", "status": 200, "body": '{"data": []}'}]
    capture = Capture("IMM-1-25", True, "<html></html>", answers=answers, parties_stuck="parties dialog did not close")
    mw.session.case = lambda url, court, case: CaseOutcome(capture, 4321, 0.25)
    meta = {"case": "IMM-1-25", "court": "t", "canary": False}
    request = Request(URL + "#IMM-1-25", meta={"casescraper": meta})
    try:
        response = asyncio.run(mw.process_request(request))
    finally:
        mw.session.shutdown()
        crawler.engine.downloader.close()
    assert response.text == "<html></html>" and response.request is request
    assert meta["answers"] == answers and meta["timezone"] == "America/Toronto"
    assert meta["parties_stuck"] == "parties dialog did not close" and meta["found"] is True
    assert meta["driver_pid"] == 4321 and meta["captured_at"] and meta["query_started"]
    assert seen == [0.25] and request.meta["download_slot"] == "court.invalid"
