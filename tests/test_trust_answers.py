"""Issue 23, points 1, 2, 8 and 9: trust nothing the portal hands back.

Answers settle a number only when whole, of the known shape and about that number; the
portal's clock (its Date header), not ours, says when "no data" is final; HTTP 429 is a
pause, not a block; settings have bounds (test_config.py). Unit tests on the pure parts,
then crawls of real headless Chromium against the demo court with its fault knobs.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from email.utils import formatdate

import pytest

from casescraper.commands.crawl import EXIT_CODES
from casescraper.record import parser
from casescraper.record.answers import answered_at, wrong_answer
from casescraper.store.ledger import Ledger
from casescraper.tools import changes

from .test_parser import page as case_page
from .e2e import expected, ledger_lines, needs_browser, run_crawl, saved_files, scrapy_crawl, strip_run_fields

CASE = "IMM-7-25"


def answer(endpoint, rows, case=CASE, body=None, status=200, date=None):
    out = {"endpoint": endpoint, "status": status,
           "url": f"https://www.fct-cf.ca/CourtFilesAndDecisions/{endpoint}?division=t&courtnumber={case}",
           "body": json.dumps({"Count": len(rows), "data": rows}) if body is None else body}
    if date:
        out["date"] = date
    return out


SEARCH = answer("proceedingQueriesAddInfo", [{"COURT_NO": CASE}])
DOCKET = answer("proceedingQueriesRE", [{"COURT_NO": CASE, "RE_NO": 2}, {"COURT_NO": CASE, "RE_NO": 1}])
PARTIES = answer("PublicPartiesListInfo", [{"PARTY_NAME": "A"}])
EMPTY = answer("proceedingQueriesAddInfo", [])


# --- point 1: an answer settles a number only when whole, well-formed and about it -------

def test_whole_answers_about_the_number_settle_it():
    assert wrong_answer([SEARCH, DOCKET, PARTIES], CASE, found=True, whole=True) is None
    assert wrong_answer([EMPTY], CASE, found=False) is None


@pytest.mark.parametrize("search, why", [
    (answer("proceedingQueriesAddInfo", [], body='{"Count": 0, "da'), "not JSON (cut off?)"),
    (answer("proceedingQueriesAddInfo", [], body='{"count": 0, "rows": []}'), "not of the known shape"),
    (answer("proceedingQueriesAddInfo", [], body='{"Count": 1, "data": []}'), "not whole: Count 1 but 0 rows"),
    (answer("proceedingQueriesAddInfo", [{"COURT_NO": "IMM-8-25"}]), "a row of 'IMM-8-25', not of IMM-7-25"),
    (answer("proceedingQueriesAddInfo", [{"X": 1}]), "unknown shape (no COURT_NO)"),
    (answer("proceedingQueriesAddInfo", [], status=0, body=""), "answered HTTP 0"),
])
def test_a_spoiled_search_answer_is_never_no_data(search, why):
    assert why in wrong_answer([search], CASE, found=False)


def test_no_search_answer_about_the_number_settles_nothing():
    late = answer("proceedingQueriesAddInfo", [], case="IMM-6-25")  # a reply to the case before
    assert wrong_answer([late], CASE, found=False) == f"no proceedingQueriesAddInfo answer about {CASE}"


def test_another_numbers_docket_fails_the_case():
    other = answer("proceedingQueriesRE", [{"COURT_NO": CASE, "RE_NO": 2}, {"COURT_NO": "IMM-9-25", "RE_NO": 1}])
    assert "proceedingQueriesRE answer holds a row of 'IMM-9-25'" in wrong_answer([SEARCH, other], CASE, True)
    assert "no proceedingQueriesRE answer" in wrong_answer([SEARCH], CASE, True)


def test_the_page_and_the_search_answer_must_agree():
    assert "lists IMM-7-25 but the page showed no row" in wrong_answer([SEARCH], CASE, found=False)
    assert "the search answer is empty" not in (wrong_answer([EMPTY, DOCKET], CASE, True) or "")
    assert "answer is empty" in wrong_answer([EMPTY, DOCKET], CASE, found=True)


def test_optional_parts_must_be_whole_until_the_last_try():
    garbled = answer("PublicPartiesListInfo", [{"VALUE": 1}])
    assert "PublicPartiesListInfo answer has rows of an unknown shape" in \
        wrong_answer([SEARCH, DOCKET, garbled], CASE, True, whole=True)
    assert wrong_answer([SEARCH, DOCKET, garbled], CASE, True, whole=False) is None
    # A row that names another number is wrong however late (GUESS: parties rows name none).
    stray = answer("PublicPartiesListInfo", [{"PARTY_NAME": "B", "COURT_NO": "IMM-1-25"}])
    assert "a row of 'IMM-1-25'" in wrong_answer([SEARCH, DOCKET, stray], CASE, True)


EMPTY_DIALOG = '<div id="dialog" style="display:none;"><div id="popup_body_desc"></div></div>'
PAGE = case_page(dialog=EMPTY_DIALOG)  # IMM-7-25 with its details modal open


@pytest.mark.parametrize("body", ['{"Count": 1, "data": [{"VALUE": 1}]}', '{"Count": 2, "data": []}',
                                  '{"rows": []}', '{"Count": 1, "da'])
def test_garbled_parties_are_null_and_incomplete_never_empty(body):
    parsed = parser.read_case(PAGE, answers=[answer("PublicPartiesListInfo", [], body=body)])
    assert parsed.record["parties"] is None
    assert parsed.incomplete and "parties not read" in parsed.incomplete[0]


def test_an_unreadable_related_answer_is_null_and_incomplete():
    parsed = parser.read_case(PAGE, answers=[PARTIES, answer("RelatedListInfo", [], body='{"Count": 3}')])
    assert parsed.record["related"] is None and parsed.record["parties"] == [
        {"name": "A", "solicitor_firm": None, "solicitor_contact": None, "role": None}]
    assert [n.kind for n in parsed.notes] == ["related_unavailable"]
    assert parsed.incomplete == [parsed.notes[0].message]
    # Complete answers: nothing missing.
    assert parser.read_case(PAGE, answers=[PARTIES, answer("RelatedListInfo", [])]).incomplete == []


# --- point 2: the portal's clock -------------------------------------------------------

def test_the_portals_time_is_its_latest_date_header():
    dates = [formatdate(1767225600, usegmt=True), formatdate(1767225660, usegmt=True), "garbage"]
    got = answered_at([answer("x", [], date=d) for d in dates] + [answer("y", [])])
    assert got == "2026-01-01T00:01:00+00:00"
    assert answered_at([answer("y", [])]) is None


def _no_data_line(ledger, n, at, answered):
    ledger.record(f"IMM-{n}-24", "no_results", run_id="r", year=2024, at=at, answered_at=answered)


def test_final_no_data_is_decided_by_the_portals_clock_not_ours(tmp_path):
    ledger = Ledger(str(tmp_path))
    ledger.record("IMM-1-24", "saved", run_id="r", year=2024, file_path="json/2024/x.json")
    fast_clock = "2025-03-30T00:00:00+00:00"  # our clock, 8 weeks ahead
    _no_data_line(ledger, 5, fast_clock, "2025-01-31T00:00:00+00:00")  # the portal: year still open
    _no_data_line(ledger, 6, fast_clock, None)  # no portal time: not known to be final
    _no_data_line(ledger, 7, "2025-01-01T00:00:00+00:00", "2025-02-01T00:00:01+00:00")  # slow clock
    assert ledger.facts(2024, "IMM").final == {7}


def test_a_ledger_whose_times_go_backwards_is_warned_about(tmp_path, caplog):
    ledger = Ledger(str(tmp_path))
    for n, at in ((1, "2026-03-01T00:00:00+00:00"), (2, "2026-03-01T00:01:00+00:00"),
                  (3, "2026-01-01T00:00:00+00:00"), (4, "2025-12-01T00:00:00+00:00")):
        ledger.record(f"IMM-{n}-26", "no_results", run_id="r", year=2026, at=at)
    with caplog.at_level(logging.WARNING):
        assert len(list(ledger.records(2026))) == 4
    [warning] = [r.getMessage() for r in caplog.records if "clock went back" in r.getMessage()]
    assert "2026.jsonl:3" in warning and "before line 2" in warning


def test_changes_are_listed_in_recorded_order_and_a_slow_clock_hides_none(tmp_path):
    ledger = Ledger(str(tmp_path))
    change = {"previous_file": "a", "entries_added": ["2"], "entries_removed": [], "entries_changed": [],
              "fields": []}
    ledger.record("IMM-1-26", "changed", run_id="r", year=2026, at="2026-03-02T00:00:00+00:00",
                  file_path="json/2026/IMM-1-26-20260302.json", changes=change)
    # A later run on a machine whose clock is a month slow.
    ledger.record("IMM-2-26", "changed", run_id="s", year=2026, at="2026-02-01T00:00:00+00:00",
                  file_path="json/2026/IMM-2-26-20260201.json", changes=change)
    rows = changes.collect(str(tmp_path), [2026], since=datetime(2026, 3, 1).date())
    assert [r["case_number"] for r in rows] == ["IMM-2-26", "IMM-1-26"]


# --- with the demo court ------------------------------------------------------------------

CLOSED = datetime.now(timezone.utc).year - 2  # over for good by any clock


def _closed_run(tmp_path, knobs, **settings):
    args = {"site": "demo", "year": CLOSED, "demo_last_number": 12, **knobs}
    return run_crawl(tmp_path, args, {"CASESCRAPER_BOUNDARY_GAP": 4, "CASESCRAPER_SCRIPT_TIMEOUT": 6,
                                      **settings})


@needs_browser
def test_spoiled_answers_and_one_resume_give_the_courts_records(tmp_path):
    """A quarter of the answers cut off, of another shape, short, about another number or
    garbled: no such answer settles a number, and after one plain resume every number of
    the closed year is what the court holds."""
    knobs = {"demo_spoil_rate": 0.25, "demo_spoil": "mixed"}
    first = _closed_run(tmp_path, knobs, CASESCRAPER_CASE_RETRIES=8)
    assert first["returncode"] == 0, first["log"][-3000:]
    out = tmp_path / "output"
    lines = ledger_lines(out, CLOSED)
    assert "answer" in first["log"] and "asking again" in first["log"]  # spoils were seen
    for line in lines:  # every failure says which answer was wrong
        if line["status"] == "bad_answer":
            assert "answer" in line["error"], line
    second = _closed_run(tmp_path, knobs, CASESCRAPER_CASE_RETRIES=8)
    assert second["returncode"] == 0, second["log"][-3000:]
    want = expected(CLOSED, 12, range(1, 13))
    files = saved_files(out)
    assert set(files) == set(want)
    latest = {}
    for path in sorted((out / "json").rglob("*.json")):  # the latest file of each case
        record = json.loads(path.read_text())
        latest[record["case_number"]] = record
    assert all(strip_run_fields(latest[c]) == want[c] for c in want)
    statuses = final_statuses_of(out, CLOSED)
    assert {c for c, s in statuses.items() if s in ("saved", "changed", "unchanged")} == set(want)
    assert set(statuses.values()) <= {"saved", "changed", "unchanged", "no_results"}


def final_statuses_of(out, year):
    return {line["case_number"]: line["status"] for line in ledger_lines(out, year)}


@needs_browser
def test_a_429_pauses_as_asked_then_the_crawl_goes_on(tmp_path):
    knobs = {"end": 4, "demo_throttle_after": 2, "demo_throttle_count": 2, "demo_retry_after": 1}
    result = _closed_run(tmp_path, knobs)
    assert result["returncode"] == 0 and result["reason"] == "finished", result["log"][-3000:]
    assert result["stats"].get("casescraper/ratelimit/pauses") == 2
    assert "HTTP 429" in result["log"] and "pausing 1 s" in result["log"] and "pausing 2 s" in result["log"]
    assert set(final_statuses_of(tmp_path / "output", CLOSED).values()) <= {"saved", "no_results"}


@needs_browser
def test_429s_again_and_again_stop_the_crawl_with_their_own_reason(tmp_path):
    knobs = {"end": 4, "demo_throttle_after": 1, "demo_throttle_count": 0, "demo_retry_after": 1}
    run = scrapy_crawl(tmp_path / "output", {"site": "demo", "year": CLOSED, "demo_last_number": 12, **knobs},
                       {"CASESCRAPER_MAX_RATE_LIMITS": 1})
    assert run.returncode == EXIT_CODES["rate_limited"][0] == 12, run.stderr[-3000:]
    assert "HTTP 429 (too many requests) 2 times in a row" in run.stderr
    assert "crawl closed: rate_limited" in run.stderr.strip().splitlines()[-1]
    statuses = final_statuses_of(tmp_path / "output", CLOSED)
    assert statuses[f"IMM-2-{CLOSED % 100:02d}"] == "blocked"  # asked again by the next run


@needs_browser
def test_a_clock_far_from_the_portals_stops_the_crawl(tmp_path):
    args = {"site": "demo", "year": CLOSED, "demo_last_number": 12, "end": 2,
            "demo_date_offset": 8 * 7 * 86400}
    run = scrapy_crawl(tmp_path / "output", args)
    assert run.returncode == EXIT_CODES["clock_skew"][0] == 13, run.stderr[-3000:]
    [line] = [x for x in run.stderr.splitlines() if "casescraper: error: this machine's clock" in x]
    assert "behind the portal's" in line and "CASESCRAPER_MAX_CLOCK_SKEW=0" in line


@needs_browser
def test_no_data_is_final_by_the_portals_clock(tmp_path):
    """Our clock says the year is long over; the portal's says it is January of the next
    year: "no data" above the last file is not final, and the next run asks again."""
    now = datetime.now(timezone.utc)
    portal = datetime(CLOSED + 1, 1, 15, tzinfo=timezone.utc)
    args = {"demo_date_offset": -int((now - portal).total_seconds())}
    first = _closed_run(tmp_path, args, CASESCRAPER_MAX_CLOCK_SKEW=0)
    assert first["returncode"] == 0, first["log"][-3000:]
    lines = [x for x in ledger_lines(tmp_path / "output", CLOSED) if x["status"] == "no_results"]
    assert lines and all(x["answered_at"].startswith(f"{CLOSED + 1}-01-15") for x in lines)
    second = _closed_run(tmp_path, args, CASESCRAPER_MAX_CLOCK_SKEW=0)
    assert len(second["responses"]) >= 4  # the numbers above the last file, asked again
    third = _closed_run(tmp_path, {}, CASESCRAPER_MAX_CLOCK_SKEW=0)  # the portal's clock: now
    fourth = _closed_run(tmp_path, {}, CASESCRAPER_MAX_CLOCK_SKEW=0)
    assert len(third["responses"]) >= 4 and len(fourth["responses"]) == 0, fourth["log"][-2000:]


def test_new_close_reasons_have_their_exit_statuses():
    assert EXIT_CODES["rate_limited"][0] == 12 and EXIT_CODES["clock_skew"][0] == 13
