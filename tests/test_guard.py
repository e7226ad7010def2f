"""frontier.guard.Guard: the breaker and the canary around a frontier without them (a
queue worker's), driven with fake answers; no browser, no Scrapy, no Redis."""

from __future__ import annotations

import pytest

from casescraper.errors import FrontierError
from casescraper.frontier.guard import Guard
from casescraper.frontier.steps import Ask, CanaryFailed, CanaryPassed, Done, Unreachable


class Source:
    """A frontier that hands out `cases` in order and records what it was told."""

    def __init__(self, cases: list[str]):
        self.todo = list(cases)
        self.settled: list[tuple[str, str]] = []
        self.stopped = None

    def next(self):
        if self.stopped:
            return Done(self.stopped)
        return Ask(self.todo.pop(0), False, 2025) if self.todo else Done("finished")

    def settle(self, case, status):
        self.settled.append((case, status))

    def stop(self, reason):
        self.stopped = reason

    def notices(self):
        return []


def drive(guard: Guard, answer) -> list[Ask]:
    asked = []
    while isinstance(step := guard.next(), Ask):
        asked.append(step)
        guard.settle(step.case, answer(step))
    return asked


def numbers(n: int) -> list[str]:
    return [f"IMM-{i}-25" for i in range(1, n + 1)]


def test_the_canary_asks_a_found_number_again_and_passes():
    source = Source(numbers(5))
    guard = Guard(source, max_consecutive_failures=3, canary_every=2, boundary_gap=20)
    asked = drive(guard, lambda step: "found")
    assert [(a.case, a.canary) for a in asked] == [
        ("IMM-1-25", False), ("IMM-2-25", False), ("IMM-2-25", True), ("IMM-3-25", False),
        ("IMM-4-25", False), ("IMM-4-25", True), ("IMM-5-25", False)]
    assert source.settled == [(c, "found") for c in numbers(5)]  # canaries are not the source's
    assert [type(n) for n in guard.notices()] == [CanaryPassed, CanaryPassed]
    assert guard.next() == Done("finished")


def test_a_failed_canary_ends_the_run_naming_the_suspects():
    source = Source(numbers(10))
    guard = Guard(source, max_consecutive_failures=5, canary_every=0, boundary_gap=2)
    answers = {"IMM-1-25": "found"}
    asked = drive(guard, lambda step: "no_results" if step.canary else answers.get(step.case, "no_results"))
    assert [a.case for a in asked] == ["IMM-1-25", "IMM-2-25", "IMM-3-25", "IMM-1-25"]
    failed = [n for n in guard.notices() if isinstance(n, CanaryFailed)]
    assert failed == [CanaryFailed("IMM-1-25", ("IMM-2-25", "IMM-3-25"))]
    assert guard.next() == Done("canary_failed") and source.stopped == "canary_failed"


def test_unanswered_queries_in_a_row_trip_the_breaker():
    source = Source(numbers(10))
    guard = Guard(source, max_consecutive_failures=3, canary_every=0, boundary_gap=20)
    answers = iter(["found", "driver_error", "bad_answer", "no_results", "driver_error", "driver_error",
                    "driver_error"])
    asked = drive(guard, lambda step: next(answers))
    assert len(asked) == 7  # the "no_results" answer in between restarted the count
    assert guard.notices() == [Unreachable(3)]
    assert guard.next() == Done("portal_unreachable") and source.stopped == "portal_unreachable"


def test_only_the_outstanding_number_is_settled():
    guard = Guard(Source(numbers(2)), max_consecutive_failures=3, canary_every=0, boundary_gap=20)
    step = guard.next()
    with pytest.raises(FrontierError, match="IMM-1-25 was asked"):
        guard.settle("IMM-2-25", "found")
    with pytest.raises(FrontierError, match="outstanding"):
        guard.next()
    guard.settle(step.case, "found")
    with pytest.raises(FrontierError, match="no number is outstanding"):
        guard.settle(step.case, "found")


def test_stop_ends_the_run_and_reaches_the_source():
    source = Source(numbers(3))
    guard = Guard(source, max_consecutive_failures=3, canary_every=0, boundary_gap=20)
    guard.settle(guard.next().case, "found")
    guard.stop("shutdown")
    assert guard.next() == Done("shutdown") and source.stopped == "shutdown"
