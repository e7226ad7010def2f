"""Unit tests (fake browser): the memory reading runs beside the cases, never in their way."""

import threading

import pytest
from scrapy.utils.test import get_crawler

from casescraper import settings as project_settings
from casescraper.middlewares import MEMORY_CHECK_EVERY, SeleniumMiddleware


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


@pytest.fixture
def middleware():
    project = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    crawler = get_crawler(settings_dict={
        **project, "CASESCRAPER_RECYCLE_AFTER": 0, "CASESCRAPER_RECYCLE_MEMORY_MB": 100})
    crawler.stats.open_spider()
    mw = SeleniumMiddleware.from_crawler(crawler)
    yield mw
    mw.meter.shutdown(wait=True)
    mw.thread.shutdown(wait=True)


def at_case(mw, browser, n):
    mw.browser, mw.cases_on_browser = browser, n
    mw._maybe_recycle()


def test_a_pending_reading_never_blocks_the_next_case(middleware):
    browser = FakeBrowser(mib=500)
    at_case(middleware, browser, MEMORY_CHECK_EVERY)  # starts the reading, returns at once
    at_case(middleware, browser, MEMORY_CHECK_EVERY + 1)  # still pending: nothing decided
    assert middleware.browser is browser and browser.quit_calls == 0
    browser.release.set()
    middleware.memory_reading[1].result(timeout=10)
    at_case(middleware, browser, MEMORY_CHECK_EVERY + 2)
    assert middleware.browser is None and browser.quit_calls == 1  # 500 MiB > 100: recycled
    assert middleware.stats.get_value("casescraper/driver/recycles") == 1
    assert middleware.stats.get_value("casescraper/driver/max_pss_mb") == 500
    assert browser.readings == 1


def test_readings_only_every_check_interval_and_below_the_limit_keeps_the_browser(middleware):
    browser = FakeBrowser(mib=40)
    browser.release.set()
    for n in range(1, MEMORY_CHECK_EVERY):
        at_case(middleware, browser, n)
    assert browser.readings == 0 and middleware.memory_reading is None
    at_case(middleware, browser, MEMORY_CHECK_EVERY)
    middleware.memory_reading[1].result(timeout=10)
    at_case(middleware, browser, MEMORY_CHECK_EVERY + 1)
    assert middleware.browser is browser and middleware.memory_reading is None
    assert middleware.stats.get_value("casescraper/driver/max_pss_mb") == 40


def test_a_reading_of_a_replaced_browser_is_ignored(middleware):
    old, new = FakeBrowser(mib=900), FakeBrowser(mib=40)
    old.release.set()
    at_case(middleware, old, MEMORY_CHECK_EVERY)
    middleware.memory_reading[1].result(timeout=10)
    at_case(middleware, new, 1)  # the browser was restarted meanwhile (a crash, say)
    assert middleware.browser is new and old.quit_calls == new.quit_calls == 0
    assert middleware.memory_reading is None
    assert middleware.stats.get_value("casescraper/driver/max_pss_mb") is None
