"""The Progress extension: line content, tty bar vs log lines, start/stop of its timer."""

import io
import logging
from types import SimpleNamespace

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from casescraper import extensions
from casescraper.extensions import Progress, format_duration
from casescraper.signals import plan_changed


class FakeLoop:
    """Stands in for the LoopingCall: records start/stop, never fires on its own."""

    made: list["FakeLoop"] = []

    def __init__(self, func, *args, **kwargs):
        self.func, self.running, self.started_with = func, False, None
        FakeLoop.made.append(self)

    def start(self, interval, now=True):
        self.running, self.started_with = True, (interval, now)

    def stop(self):
        assert self.running, "stopped twice"
        self.running = False


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class NotTTY(io.StringIO):
    def isatty(self):
        return False


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def make(monkeypatch):
    FakeLoop.made.clear()
    monkeypatch.setattr(extensions, "create_looping_call", FakeLoop)

    def build(planned=100, interval=60, stream=None):
        crawler = get_crawler(settings_dict={"CASESCRAPER_PROGRESS_INTERVAL": interval})
        crawler.spider = SimpleNamespace()
        ext = Progress.from_crawler(crawler)
        if planned != "missing":  # as the spider publishes it
            crawler.signals.send_catch_log(signal=plan_changed, planned=planned)
        ext.clock = clock = Clock()
        ext._stream = stream if stream is not None else NotTTY()
        return crawler, ext, clock

    return build


def set_counts(crawler, **counts):
    for status, value in counts.items():
        crawler.stats.set_value(f"casescraper/cases/{status}", value)


def test_zero_interval_turns_it_off():
    crawler = get_crawler(settings_dict={"CASESCRAPER_PROGRESS_INTERVAL": 0})
    with pytest.raises(NotConfigured):
        Progress.from_crawler(crawler)


def test_log_lines_with_counts_rates_and_eta(make, caplog):
    crawler, ext, clock = make(planned=100, interval=60)
    ext.spider_opened(crawler.spider)
    (loop,) = FakeLoop.made
    assert loop.running and loop.started_with == (60, False) and loop.func == ext.tick

    clock.now += 60
    set_counts(crawler, saved=25, no_results=5)
    with caplog.at_level(logging.INFO, logger="casescraper.extensions"):
        ext.tick()
        clock.now += 60
        set_counts(crawler, saved=30, no_results=6, failed_write=1, parse_error=1,
                   driver_error=1, blocked=1)
        ext.tick()
    lines = [r.getMessage() for r in caplog.records]
    # 30 done in the first minute: 30/min over the run and the interval, 70 left -> 2m20s
    assert lines[0] == ("progress: 30/100 (30.0%), saved 25, no results 5, failed 0, "
                        "30.0 cases/min (last 60s: 30.0), ETA 2m20s")
    # 40 done in 2 minutes: 20/min over the run, 10/min in the last interval, 60 left -> 3m
    assert lines[1] == ("progress: 40/100 (40.0%), saved 30, no results 6, failed 4, "
                        "20.0 cases/min (last 60s: 10.0), ETA 3m00s")
    assert ext._stream.getvalue() == ""  # not a terminal: nothing drawn


def test_unknown_planned_shows_question_mark_and_no_eta(make, caplog):
    for planned in (None, "missing"):
        crawler, ext, clock = make(planned=planned, interval=30)
        ext.spider_opened(crawler.spider)
        clock.now += 30
        set_counts(crawler, saved=3)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="casescraper.extensions"):
            ext.tick()
        assert caplog.records[0].getMessage() == (
            "progress: 3/?, saved 3, no results 0, failed 0, 6.0 cases/min (last 30s: 6.0)")


def test_final_line_at_close_and_timer_stopped(make, caplog):
    crawler, ext, clock = make(planned=10)
    ext.spider_opened(crawler.spider)
    clock.now += 300
    set_counts(crawler, saved=8, no_results=1, blocked=1)
    with caplog.at_level(logging.INFO, logger="casescraper.extensions"):
        ext.spider_closed(crawler.spider, "finished")
    assert not FakeLoop.made[0].running
    assert caplog.records[-1].getMessage() == (
        "progress: finished (finished) after 5m00s: 10/10 (100.0%), saved 8, no results 1, "
        "failed 1, 2.0 cases/min")


def test_tty_bar_is_redrawn_in_place(make, caplog):
    tty = FakeTTY()
    crawler, ext, clock = make(planned=100, stream=tty)
    ext.spider_opened(crawler.spider)
    assert ext.tty
    clock.now += 60
    set_counts(crawler, saved=40)
    with caplog.at_level(logging.INFO, logger="casescraper.extensions"):
        ext.tick()
        assert not caplog.records  # a terminal gets the bar, not log lines
        first = tty.getvalue()
        assert first.startswith("\r\x1b[K[########............] 40/100 40% | saved 40 | ")
        assert "40.0/min" in first and "ETA 1m30s" in first and "\n" not in first
        set_counts(crawler, saved=41)
        ext.item_done(item=None, response=None, spider=crawler.spider)  # redrawn per item
        assert tty.getvalue().count("\r\x1b[K") == 2 and " 41/100 41% " in tty.getvalue()
        ext.spider_closed(crawler.spider, "finished")
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1
    assert "finished (finished)" in caplog.records[-1].getMessage()


def test_tty_log_records_clear_the_bar_first(make):
    tty = FakeTTY()
    handler = logging.StreamHandler(tty)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        crawler, ext, clock = make(planned=None, stream=tty)
        ext.spider_opened(crawler.spider)
        clock.now += 60
        ext.tick()
        logging.getLogger("casescraper.test").warning("something happened")
        assert "| ETA" not in tty.getvalue()
        assert tty.getvalue().endswith("\r\x1b[Ksomething happened\n")
        ext.spider_closed(crawler.spider, "finished")
        assert not handler.filters  # unhooked at close
    finally:
        root.removeHandler(handler)


def test_format_duration():
    assert [format_duration(s) for s in (0, 59.6, 61, 3600 * 7 + 1200, 3600 * 50)] == [
        "0s", "1m00s", "1m01s", "7h20m", "2d02h"]


def test_probes_apart_and_unverified_not_counted_twice(make, caplog):
    crawler, ext, clock = make(planned=30)
    ext.spider_opened(crawler.spider)
    clock.now += 60
    # 30 numbers recorded: 20 saved, 10 no data of which 4 were probes above the year's end;
    # then a failed canary marks 3 of the no-data numbers unverified: still 30 numbers.
    set_counts(crawler, saved=20, no_results=10, unverified=3)
    crawler.stats.set_value("casescraper/probes/above_end", 4)
    with caplog.at_level(logging.INFO, logger="casescraper.extensions"):
        ext.spider_closed(crawler.spider, "canary_failed")
    assert caplog.records[-1].getMessage() == (
        "progress: finished (canary_failed) after 1m00s: 30/30 (100.0%), saved 20, no results 6, "
        "failed 3, probes above the end 4, 30.0 cases/min")


def test_bar_redraws_when_a_number_is_recorded(make):
    from casescraper.signals import case_recorded

    tty = FakeTTY()
    crawler, ext, clock = make(planned=10, stream=tty)
    ext.spider_opened(crawler.spider)
    set_counts(crawler, no_results=1)
    crawler.signals.send_catch_log(case_recorded, case_number="IMM-1-25", status="no_results")
    assert " 1/10 10% " in tty.getvalue()
    ext.spider_closed(crawler.spider, "finished")


def test_planned_adds_up_as_the_spider_publishes_it(make):
    crawler, ext, clock = make(planned="missing")
    assert ext.planned() is None
    for planned, shown in [(None, None), (12, 12), (None, None), (30, 30)]:  # years: search, plan
        crawler.signals.send_catch_log(signal=plan_changed, planned=planned)
        assert ext.planned() == shown


def test_cases_found_again_are_counted_as_the_summary_counts_them(make, caplog):
    crawler, ext, clock = make(planned=10, interval=60)
    ext.spider_opened(crawler.spider)
    clock.now += 60
    set_counts(crawler, saved=1, changed=2, unchanged=3, no_results=1)
    with caplog.at_level(logging.INFO, logger="casescraper.extensions"):
        ext.tick()
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("progress: 7/10 (70.0%), saved 1, changed 2, unchanged 3, no results 1, failed 0")
