"""The frontier on its own: whole years driven with fake answers, no browser, no Scrapy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from casescraper.errors import FrontierError
from casescraper.frontier import (
    Ask, CanaryFailed, CanaryPassed, Done, Frontier, NoFiles, Planned, Resuming, Unreachable, Wait,
    YearSearched, YearStarted,
)
from casescraper.frontier.planning import Facts

from .conftest import ROOT


def no_facts(year):
    return Facts(set(), set(), set())


def frontier(facts=no_facts, **kwargs):
    values = {"boundary_gap": 5, "canary_every": 0, "max_consecutive_failures": 10, "years": [2025],
              **kwargs}
    return Frontier(facts=facts, **values)


def portal(last, gone=(), fail=()):
    """Answers of a portal whose files run from 1 to `last` (less `gone`); the n-th
    question (1-based) in `fail` gets no answer (driver_error)."""
    count = 0

    def answer(ask):
        nonlocal count
        count += 1
        if count in fail:
            return "driver_error"
        n = int(ask.case.split("-")[1])
        return "found" if n <= last and n not in gone else "no_results"
    return answer


def drive(front, answer, limit=10_000):
    """Run `front` to Done, settling each Ask with answer(ask): (asks, done, notices)."""
    asks, notices = [], []
    for _ in range(limit):
        step = front.next()
        notices += front.notices()
        if isinstance(step, Done):
            return asks, step, notices
        assert isinstance(step, Ask), step
        asks.append(step)
        front.settle(step.case, answer(step))
        notices += front.notices()
    raise AssertionError(f"no end after {limit} questions")


def numbers(asks, canary=False):
    return [int(a.case.split("-")[1]) for a in asks if a.canary == canary]


# --- a whole year ---------------------------------------------------------------------------

def test_a_year_end_search_then_the_rest_each_number_once():
    asks, done, notices = drive(frontier(), portal(37, gone={12, 30}))
    assert done == Done("finished")
    cases = numbers(asks)
    searched = next(n for n in notices if isinstance(n, YearSearched))
    assert searched.year == 2025 and searched.last_file == "IMM-37-25"
    probes = [int(c.split("-")[1]) for c in searched.probes_above_end]
    assert probes and min(probes) > 37 and len(probes) < 20  # a few probes, not the range
    search, rest = cases[:searched.queries], cases[searched.queries:]
    assert rest == sorted(set(range(1, 38)) - set(search))  # then the rest, in order
    assert sorted(cases) == sorted(set(range(1, 38)) | set(probes))  # each number once
    planned = [n.count for n in notices if isinstance(n, Planned)]
    assert planned == [None, searched.queries, len(cases)]
    assert notices[0] == YearStarted(2025)
    assert all(a.year == 2025 for a in asks)


def test_a_failed_answer_teaches_the_end_search_nothing():
    asks, done, _ = drive(frontier(boundary_gap=3), portal(0, fail={1, 2, 4}))
    assert [a.case for a in asks] == ["IMM-1-25"] * 3 + ["IMM-2-25"] * 2 + ["IMM-3-25"]
    assert done == Done("finished")


def test_a_year_without_files_and_probe_only():
    _, _, notices = drive(frontier(start=3, boundary_gap=2), portal(0))
    assert NoFiles(2025, "IMM", 3, 2) in notices
    asks, done, notices = drive(frontier(probe_only=True), portal(9))
    assert done == Done("finished") and max(numbers(asks)) > 9
    assert len(asks) < 9 + 5  # the end search only, not the numbers below the end
    assert [n.count for n in notices if isinstance(n, Planned)] == [None, len(asks)]


def test_years_run_ascending_each_on_its_own():
    asks, _, notices = drive(frontier(years=[2023, 2024], start=3, boundary_gap=2), portal(0))
    assert [a.case for a in asks] == ["IMM-3-23", "IMM-4-23", "IMM-3-24", "IMM-4-24"]
    assert [n for n in notices if isinstance(n, (YearStarted, Planned))] == [
        YearStarted(2023), Planned(None), Planned(2), YearStarted(2024), Planned(None), Planned(4)]


# --- resume ---------------------------------------------------------------------------------

RESUMED = Facts(found={1, 2, 3, 7}, no_results={5, 9}, failed={4})


def test_resume_skips_what_earlier_runs_settled():
    seen = []

    def facts(year):
        seen.append(year)
        return RESUMED
    asks, _, notices = drive(frontier(facts, end=9), portal(100))
    # 5 is "no data" below the last known file (7): settled; 9 above it is not (open year).
    assert numbers(asks) == [4, 6, 8, 9] and seen == [2025]
    assert Resuming(2025, 5, "IMM-1-25", "IMM-9-25") in notices
    assert [n.count for n in notices if isinstance(n, Planned)] == [4]


def test_refresh_and_retry_failed_only():
    asks, _, _ = drive(frontier(lambda y: RESUMED, end=9, refresh=True), portal(100))
    assert numbers(asks) == list(range(1, 10))
    asks, _, _ = drive(frontier(lambda y: RESUMED, retry_failed_only=True), portal(100))
    assert numbers(asks) == [4]  # no end search: up to the highest failed number


def test_a_closed_year_asks_nothing():
    facts = Facts(found={1, 2}, no_results=set(range(3, 9)), failed=set(), final=set(range(3, 9)))
    asks, done, notices = drive(frontier(lambda y: facts), portal(2))
    assert asks == [] and done == Done("finished")
    assert YearSearched(2025, "IMM-2-25", (), 0) in notices


# --- shards and explicit lists --------------------------------------------------------------

def test_shards_split_the_range():
    asks, _, _ = drive(frontier(end=10, shard_index=2, shard_count=3), portal(100))
    assert numbers(asks) == [1, 4, 7, 10]
    every = [numbers(drive(frontier(end=10, shard_index=i, shard_count=3), portal(100))[0]) for i in (1, 2, 3)]
    assert sorted(sum(every, [])) == list(range(1, 11))


def test_an_explicit_list_in_order_by_position_in_shards():
    cases = ["imm-5-24", "IMM-7-25", "T-3-25"]
    asks, done, notices = drive(frontier(years=(), cases=cases), portal(100))
    assert [(a.case, a.year, a.canary) for a in asks] == [
        ("IMM-5-24", 2024, False), ("IMM-7-25", 2025, False), ("T-3-25", 2025, False)]
    assert notices == [Planned(3)] and done == Done("finished")
    # Shard I/N takes the positions p with p % N == I - 1, as numbers n are split.
    asks, _, _ = drive(frontier(years=(), cases=cases, shard_index=1, shard_count=2), portal(100))
    assert [a.case for a in asks] == ["IMM-7-25"]
    with pytest.raises(FrontierError):
        frontier(years=(), cases=["IMM-x-25"])


# --- the canary -----------------------------------------------------------------------------

def test_the_canary_passes_and_is_asked_again_after_a_failed_query():
    facts = Facts(found={1}, no_results=set(), failed=set())
    answers = {"IMM-1-25": iter(["driver_error", "found", "found"])}

    def answer(ask):
        return next(answers[ask.case]) if ask.canary else "no_results"
    asks, done, notices = drive(frontier(lambda y: facts, canary_every=3, start=2, end=8), answer)
    assert [a.case for a in asks] == ["IMM-2-25", "IMM-3-25", "IMM-4-25", "IMM-1-25", "IMM-5-25",
                                      "IMM-1-25", "IMM-6-25", "IMM-7-25", "IMM-8-25", "IMM-1-25"]
    assert [a.canary for a in asks].count(True) == 3
    assert [n for n in notices if isinstance(n, CanaryPassed)] == [CanaryPassed("IMM-1-25")] * 2
    assert done == Done("finished")


def test_a_failed_canary_ends_the_run_naming_the_suspects():
    facts = Facts(found={1}, no_results=set(), failed=set())
    asks, done, notices = drive(frontier(lambda y: facts, canary_every=2, start=2, end=9),
                                lambda ask: "no_results")
    assert [a.case for a in asks] == ["IMM-2-25", "IMM-3-25", "IMM-1-25"] and asks[-1].canary
    assert done == Done("canary_failed")
    assert notices[-1] == CanaryFailed("IMM-1-25", ("IMM-2-25", "IMM-3-25"))


def test_a_run_of_no_data_calls_the_canary_once_a_file_is_known():
    asks, _, notices = drive(frontier(boundary_gap=3, end=8), portal(2))
    assert [a.case for a in asks if a.canary] == ["IMM-2-25", "IMM-2-25"]  # after 3..5 and 6..8
    assert notices.count(CanaryPassed("IMM-2-25")) == 2


# --- the breaker ----------------------------------------------------------------------------

def test_failures_in_a_row_end_the_run():
    asks, done, notices = drive(frontier(max_consecutive_failures=4), lambda ask: "driver_error")
    assert [a.case for a in asks] == ["IMM-1-25"] * 4  # never probed upward on failures
    assert done == Done("portal_unreachable") and notices[-1] == Unreachable(4)


def test_an_answer_resets_the_failure_count():
    asks, done, _ = drive(frontier(max_consecutive_failures=3, end=8), portal(100, fail={1, 2, 4, 5, 7, 8}))
    assert len(asks) == 8 and done == Done("finished")  # 2, 2, 2 failures in a row
    asks, done, _ = drive(frontier(max_consecutive_failures=3, end=8), portal(100, fail={2, 3, 4}))
    assert len(asks) == 4 and done == Done("portal_unreachable")


# --- the face -------------------------------------------------------------------------------

def test_settle_refuses_what_was_not_asked():
    front = frontier(end=3)
    with pytest.raises(FrontierError, match="no number is outstanding"):
        front.settle("IMM-1-25", "found")
    first = front.next()
    assert first == Ask("IMM-1-25", False, 2025) and front.outstanding == "IMM-1-25"
    assert front.next() == Wait()  # the answer first
    with pytest.raises(FrontierError, match="'IMM-2-25', but IMM-1-25 was asked"):
        front.settle("IMM-2-25", "found")
    with pytest.raises(FrontierError, match="status 'maybe'"):
        front.settle("IMM-1-25", "maybe")
    front.settle("IMM-1-25", "no_results")
    with pytest.raises(FrontierError):
        front.settle("IMM-1-25", "no_results")  # settled already
    assert front.next() == Ask("IMM-2-25", False, 2025)


def test_stop_ends_the_run_and_takes_the_outstanding_answer():
    front = frontier()
    assert isinstance(front.next(), Ask)
    front.stop("shutdown")
    front.settle("IMM-1-25", "found")  # the answer in flight is still accepted
    assert front.next() == Done("shutdown")
    front.stop("another")
    assert front.next() == Done("shutdown")  # the first reason stays
    done = frontier(max_consecutive_failures=1)
    drive(done, lambda ask: "driver_error")
    done.stop("later")
    assert done.next() == Done("portal_unreachable")


def test_the_frontier_loads_no_scrapy_twisted_or_selenium():
    script = ("import json, sys\nimport casescraper.frontier\n"
              "print(json.dumps(sorted(m for m in ('scrapy', 'twisted', 'selenium') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    assert json.loads(done.stdout) == []
