"""The watchdog that bounds a browser call: fires for a call that overstays, never for one
that ended, and keeps one thread for many calls. No browser; waits poll with deadlines."""

import threading

import pytest

from casescraper.browser.watchdog import Watchdog

PATIENCE = 30  # seconds a test waits for something that should happen at once


@pytest.fixture
def expiries():
    fired = threading.Event()
    calls = []

    def on_expire():
        calls.append(threading.current_thread().name)
        fired.set()

    dog = Watchdog(on_expire)
    yield dog, fired, calls
    dog.stop()


def test_a_call_that_overstays_is_expired_and_marked(expiries):
    dog, fired, calls = expiries
    token = dog.arm(0.01)
    assert fired.wait(PATIENCE)
    assert dog.fired(token) and calls == ["casescraper-watchdog"]
    dog.disarm(token)
    assert dog.fired(token)  # still known as the one that overstayed


def test_calls_that_end_in_time_never_fire_and_share_one_thread(expiries):
    dog, fired, calls = expiries
    before = threading.active_count()
    for _ in range(200):
        token = dog.arm(60)
        dog.disarm(token)
        assert not dog.fired(token)
    assert threading.active_count() <= before + 1
    assert calls == [] and not fired.is_set()


@pytest.mark.parametrize("first, second", [
    (60, 0.01),  # the thread sleeps toward the ended call's far deadline: a nearer one wakes it
    (0.05, 0.2),  # the ended call's deadline passes first, and must not fire
])
def test_only_the_call_that_overstays_fires_after_an_earlier_one_ended(expiries, first, second):
    dog, fired, calls = expiries
    ended = dog.arm(first)
    dog.disarm(ended)
    later = dog.arm(second)
    assert fired.wait(PATIENCE)
    assert calls == ["casescraper-watchdog"] and dog.fired(later) and not dog.fired(ended)


def test_stop_ends_the_thread_and_refuses_new_calls():
    dog = Watchdog(lambda: None, name="test-stopped-watchdog")
    dog.disarm(dog.arm(60))
    assert any(t.name == "test-stopped-watchdog" for t in threading.enumerate())
    dog.stop()
    assert not any(t.name == "test-stopped-watchdog" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="stopped"):
        dog.arm(1)
