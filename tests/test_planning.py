"""Resume, end-of-year search and canary logic, without a browser."""

from __future__ import annotations

import json

import math
import random

import pytest

from casescraper.democourt import data
from casescraper.items import FOUND
from casescraper.store.ledger import Ledger
from casescraper.frontier.planning import Canary, EndFinder, Plan, Resume


def find(exists, start=1, gap=20, known=lambda n: None):
    finder = EndFinder(start, gap, known)
    asked = []
    while (n := finder.ask()) is not None:
        asked.append(n)
        finder.tell(n, exists(n))
    return finder.last, asked


@pytest.mark.parametrize("last", [1, 2, 19, 20, 21, 100, 999, 5000, 5001, 12345, 60000])
def test_end_is_exact_within_the_query_budget(last):
    gap = 20
    for seed in range(20):
        rnd = random.Random(seed * 1000 + last)
        holes = {n for n in range(2, last) if rnd.random() < 0.05}
        found, asked = find(lambda n: 1 <= n <= last and n not in holes, gap=gap)
        assert found == last, (seed, found)
        assert len(asked) == len(set(asked)), "a number was asked twice"
        assert len(asked) <= 2 * math.log2(max(last, 2)) + 2 * gap, (seed, len(asked))


def test_end_on_the_demo_courts_own_gaps():
    found, asked = find(lambda n: data.exists(2025, n, 5000, 0))
    assert found == 5000 and len(asked) <= 2 * math.log2(5000) + 40


def test_a_wide_gap_below_the_end_is_crossed():
    # 15 missing numbers in a row fool the neighbour check; the final check of the `gap`
    # numbers above a candidate end sees across the hole and the search goes on.
    holes = set(range(700, 715))
    found, _ = find(lambda n: 1 <= n <= 1000 and n not in holes)
    assert found == 1000


def test_a_year_without_files_costs_gap_queries():
    found, asked = find(lambda n: False, gap=20)
    assert found == 0 and len(asked) == 20


def test_known_answers_are_not_asked_again():
    known = {n: True for n in range(1, 900)}
    found, asked = find(lambda n: n <= 1000, known=known.get)
    assert found == 1000 and all(n >= 900 for n in asked)


def test_search_starts_at_start():
    found, asked = find(lambda n: n <= 500, start=300)
    assert found == 500 and min(asked) == 300


def _ledger(tmp_path, rows):
    latest = {}
    for case, status, has_file in rows:
        line = {"case_number": case, "status": status, "file_path": None}
        if status in FOUND:
            line["file_path"] = f"json/2025/{case}-20250101.json"
            if has_file:
                path = tmp_path / line["file_path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"case_number": case}))
        latest[case] = line
    return latest


def facts(tmp_path, latest):
    """What the ledger makes of those lines (the files checked below tmp_path)."""
    return Ledger(str(tmp_path)).facts(2025, "IMM", latest)


def test_resume_settles_saved_and_no_results_below_the_last_file(tmp_path):
    latest = _ledger(tmp_path, [
        ("IMM-1-25", "saved", True), ("IMM-2-25", "no_results", False),
        ("IMM-3-25", "saved", False),  # the file has gone: fetch again
        ("IMM-4-25", "driver_error", False), ("IMM-5-25", "saved", True),
        ("IMM-6-25", "no_results", False),  # above the last file: probe again
        ("IMM-7-25", "unverified", False), ("T-1-25", "saved", True), ("IMM-8-24", "saved", True),
    ])
    resume = Resume(facts(tmp_path, latest))
    assert [n for n in range(1, 9) if resume.wanted(n)] == [3, 4, 6, 7, 8]
    assert resume.last_known == 5
    assert (resume.known(1), resume.known(2), resume.known(6), resume.known(4)) == (True, False, None, None)
    failed_only = Resume(facts(tmp_path, latest), retry_failed_only=True)
    assert [n for n in range(1, 9) if failed_only.wanted(n)] == [3, 4, 7]
    refresh = Resume(facts(tmp_path, latest), refresh=True)
    assert all(refresh.wanted(n) for n in range(1, 9)) and refresh.known(1) is None


def test_changed_and_unchanged_cases_are_done_as_saved_ones(tmp_path):
    latest = _ledger(tmp_path, [
        ("IMM-1-25", "changed", True), ("IMM-2-25", "unchanged", True), ("IMM-3-25", "no_results", False),
        ("IMM-4-25", "saved", True), ("IMM-5-25", "unchanged", False),  # its file has gone
        ("IMM-6-25", "dry_run", False),
    ])
    resume = Resume(facts(tmp_path, latest))
    assert resume.found == {1, 2, 4} and resume.failed == {5} and resume.last_known == 4
    assert [n for n in range(1, 8) if resume.wanted(n)] == [5, 6, 7]
    assert (resume.known(1), resume.known(2), resume.known(3)) == (True, True, False)


def test_canary_is_due_every_m_cases_and_after_a_run_of_no_data():
    canary = Canary(every=5, gap=3)
    canary.record("IMM-1-25", "no_results")
    assert canary.due() is None  # nothing known to exist yet
    canary.record("IMM-2-25", "found")
    for n in (3, 4):
        canary.record(f"IMM-{n}-25", "no_results")
    assert canary.due() is None
    canary.record("IMM-5-25", "no_results")
    assert canary.due() == "IMM-2-25"
    assert list(canary.suspect) == ["IMM-1-25", "IMM-3-25", "IMM-4-25", "IMM-5-25"]
    canary.passed()
    assert canary.due() is None and not canary.suspect
    for n in range(6, 11):
        canary.record(f"IMM-{n}-25", "found")
    assert canary.due() == "IMM-10-25"


def test_suspects_are_bounded_before_any_file_is_known():
    canary = Canary(every=100, gap=20)
    for n in range(1, Canary.SUSPECT_LIMIT + 500):
        canary.record(f"IMM-{n}-25", "no_results")
    assert len(canary.suspect) == Canary.SUSPECT_LIMIT
    assert canary.suspect[-1] == f"IMM-{Canary.SUSPECT_LIMIT + 499}-25"


def test_end_search_never_asks_above_the_highest_number():
    # A portal answering "exists" for everything must not be probed without bound.
    finder = EndFinder(1, 5, highest=1000)
    asked = []
    while (n := finder.ask()) is not None:
        asked.append(n)
        finder.tell(n, True)
    assert finder.last == 1000 and max(asked) == 1000 and len(asked) < 40
    assert finder.asked == asked


def test_end_search_asks_again_when_not_told():
    finder = EndFinder(1, 3)
    first = finder.ask()
    assert finder.ask() == first  # a failed query is not an answer: the same number again
    finder.tell(first, True)
    assert finder.ask() != first


def _resume(tmp_path, rows, **options):
    return Resume(facts(tmp_path, _ledger(tmp_path, rows)), **options)


def test_plan_is_lazy_and_counts_without_a_list(tmp_path):
    resume = _resume(tmp_path, [("IMM-2-25", "saved", True), ("IMM-5-25", "saved", True),
                                ("IMM-3-25", "no_results", False), ("IMM-9-25", "no_results", False)])
    plan = Plan(1, 9_999_999, 1, 1, resume, asked=frozenset({4}))
    numbers = iter(plan)
    assert [next(numbers) for _ in range(5)] == [1, 6, 7, 8, 9]  # 9: above the last file
    assert plan.skipped() == 3 and len(plan) == 9_999_999 - 1 - 3
    # Shards take every N-th number; counts are arithmetic on the range.
    shard = Plan(1, 20, 2, 3, _resume(tmp_path, []))
    assert list(shard) == [n for n in range(1, 21) if n % 3 == 1] and len(shard) == 7
    assert len(Plan(5, 5, 1, 2, _resume(tmp_path, []))) == 0


def test_plan_of_failed_numbers_only(tmp_path):
    rows = [("IMM-4-25", "driver_error", False), ("IMM-7-25", "saved", False),
            ("IMM-2-25", "saved", True), ("IMM-90-25", "parse_error", False)]
    plan = Plan(1, 50, 1, 1, _resume(tmp_path, rows, retry_failed_only=True))
    assert list(plan) == [4, 7] and len(plan) == 2 and plan.skipped() == 0
