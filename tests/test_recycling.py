"""Unit tests (fake browser): the memory reading runs beside the cases, never in their way."""

import threading

import pytest

from casescraper.browser.driver import BrowserConfig
from casescraper.browser.session import (
    MEMORY_CHECK_EVERY, MEMORY_CHECK_SECONDS, BrowserSession, SessionEvents, SessionOptions,
)


class FakeBrowser:
    """Only what recycling touches: a memory reading that waits until the test allows it."""

    def __init__(self, mib):
        self.mib = mib
        self.release = threading.Event()
        self.readings = 0
        self.quit_calls = 0

    def memory_mb(self):
        self.readings += 1
        assert self.release.wait(10), "the test never released the reading"
        return self.mib

    def quit(self, deadline=None):
        self.quit_calls += 1


class Stats(SessionEvents):
    def __init__(self):
        self.values = {}

    def count(self, key):
        self.values[key] = self.values.get(key, 0) + 1

    def peak(self, key, value):
        self.values[key] = max(self.values.get(key, value), value)

    def get_value(self, key):
        return self.values.get(key)


@pytest.fixture
def session(tmp_path):
    options = SessionOptions(
        config=BrowserConfig(driver_path="", browser_path="", arguments=[]), run_id="recycling",
        output_dir=tmp_path, case_timeout=1.0, max_restarts=3, case_retries=2,
        recycle_after=0, recycle_mb=100, diagnostics=False)
    session = BrowserSession(options, Stats())
    yield session
    session.shutdown()


def at_case(session, browser, n):
    session.browser, session.cases_on_browser = browser, n
    session._maybe_recycle()


def test_a_pending_reading_never_blocks_the_next_case(session):
    browser = FakeBrowser(mib=500)
    at_case(session, browser, MEMORY_CHECK_EVERY)  # starts the reading, returns at once
    at_case(session, browser, MEMORY_CHECK_EVERY + 1)  # still pending: nothing decided
    assert session.browser is browser and browser.quit_calls == 0
    browser.release.set()
    session.memory_reading[1].result(timeout=10)
    at_case(session, browser, MEMORY_CHECK_EVERY + 2)
    assert session.browser is None and browser.quit_calls == 1  # 500 MiB > 100: recycled
    assert session.events.get_value("casescraper/driver/recycles") == 1
    assert session.events.get_value("casescraper/driver/max_pss_mb") == 500
    assert browser.readings == 1


def test_readings_only_every_check_interval_and_below_the_limit_keeps_the_browser(session):
    browser = FakeBrowser(mib=40)
    browser.release.set()
    for n in range(1, MEMORY_CHECK_EVERY):
        at_case(session, browser, n)
    assert browser.readings == 0 and session.memory_reading is None
    at_case(session, browser, MEMORY_CHECK_EVERY)
    session.memory_reading[1].result(timeout=10)
    at_case(session, browser, MEMORY_CHECK_EVERY + 1)
    assert session.browser is browser and session.memory_reading is None
    assert session.events.get_value("casescraper/driver/max_pss_mb") == 40


def test_a_reading_of_a_replaced_browser_is_ignored(session):
    old, new = FakeBrowser(mib=900), FakeBrowser(mib=40)
    old.release.set()
    at_case(session, old, MEMORY_CHECK_EVERY)
    session.memory_reading[1].result(timeout=10)
    at_case(session, new, 1)  # the browser was restarted meanwhile (a crash, say)
    assert session.browser is new and old.quit_calls == new.quit_calls == 0
    assert session.memory_reading is None
    assert session.events.get_value("casescraper/driver/max_pss_mb") is None


def test_readings_are_spaced_in_time_as_well_as_in_cases(session):
    # At full speed 25 cases pass in a second: a reading (~20 ms of CPU) waits for the clock.
    now = [1000.0]
    session.clock = lambda: now[0]
    browser = FakeBrowser(mib=40)
    browser.release.set()
    at_case(session, browser, MEMORY_CHECK_EVERY)
    session.memory_reading[1].result(timeout=10)
    at_case(session, browser, MEMORY_CHECK_EVERY + 1)  # judged: below the limit
    now[0] += MEMORY_CHECK_SECONDS / 2
    at_case(session, browser, 2 * MEMORY_CHECK_EVERY)  # too soon after the last reading
    assert browser.readings == 1 and session.memory_reading is None
    now[0] += MEMORY_CHECK_SECONDS / 2
    at_case(session, browser, 3 * MEMORY_CHECK_EVERY)
    session.memory_reading[1].result(timeout=10)
    assert browser.readings == 2
