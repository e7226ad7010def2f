"""Several years in one run (`-a years=`): in-process with fake answers, then end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scrapy.http import HtmlResponse

from casescraper.signals import plan_changed, year_searched
from casescraper.frontier import casenumbers
from casescraper.store.ledger import Ledger
from casescraper.frontier.planning import Resume

from .conftest import ROOT
from .e2e import (
    ENV, expected, fast, ledger_lines, needs_browser, run_crawl, saved_files, settings_args,
    spider_args,
)
from .test_flow import drive, make_spider, no_data
from .test_shards import wait_all

# --- in-process: the order of years, what is published, closed years ---------------------


def test_years_run_ascending_each_with_its_own_end_search(tmp_path):
    spider = make_spider(tmp_path, {"CASESCRAPER_BOUNDARY_GAP": 2}, years="2024,2023", start=3)
    plans, searched = [], []
    spider.crawler.signals.connect(lambda planned, **_: plans.append(planned), signal=plan_changed, weak=False)
    spider.crawler.signals.connect(lambda year, last_file, probes_above_end, **_: searched.append(
        (year, last_file, probes_above_end)), signal=year_searched, weak=False)
    asked = drive(spider, lambda n: no_data)
    # Each year from `start`: no data at 3 and 4 (gap 2), so neither year has files from 3.
    assert asked == ["IMM-3-23", "IMM-4-23", "IMM-3-24", "IMM-4-24"]
    assert searched == [(2023, None, ["IMM-3-23", "IMM-4-23"]), (2024, None, ["IMM-3-24", "IMM-4-24"])]
    # None while a year's end is searched; afterwards the queries so far, added up.
    assert plans == [None, 2, None, 4] and spider.planned == 4
    assert spider.crawler.stats.get_value("casescraper/probes/above_end") == 4


async def canary_found(spider, request):
    """A canary (a known file) is found; every other number answers no data."""
    meta = request.meta["casescraper"]
    if not meta["canary"]:
        return await no_data(spider, request)
    meta.update(found=True, captured_at="2025-03-01T10:00:00+00:00")
    async for _ in spider.parse_case(HtmlResponse(request.url, body=b"", request=request)):
        pass


def line(case, status, at):
    """A ledger line answered at `at`, by the portal's clock and ours alike."""
    return json.dumps({"case_number": case, "status": status, "file_path": None, "at": at,
                       "answered_at": at}) + "\n"


def test_a_year_that_is_over_is_not_probed_again(tmp_path):
    # 2023's end was found in 2025: "no data" above IMM-2-23 then is final. 2023 is asked
    # nothing; the numbers of a run before the year was over are not final.
    (tmp_path / "ledger").mkdir()
    for case in ("IMM-1-22", "IMM-1-23"):  # each saved case's file, named and holding it
        path = tmp_path / "json" / f"20{case[-2:]}" / f"{case}-20250101.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"case_number": case}))
    after, before = "2025-01-10T00:00:00+00:00", "2022-12-01T00:00:00+00:00"
    (tmp_path / "ledger" / "2023.jsonl").write_text(
        json.dumps({"case_number": "IMM-1-23", "status": "saved", "file_path": "json/2023/IMM-1-23-20250101.json"}) + "\n"
        + "".join(line(f"IMM-{n}-23", "no_results", after) for n in (2, 3, 4)))
    (tmp_path / "ledger" / "2022.jsonl").write_text(
        json.dumps({"case_number": "IMM-1-22", "status": "saved", "file_path": "json/2022/IMM-1-22-20250101.json"}) + "\n"
        + "".join(line(f"IMM-{n}-22", "no_results", before) for n in (2, 3, 4)))
    spider = make_spider(tmp_path, {"CASESCRAPER_BOUNDARY_GAP": 2}, years="2022-2023")
    asked = drive(spider, lambda n: canary_found)
    # 2022 is probed above its last file again, 2023 is not.
    probes = [c for c in asked if c != "IMM-1-22"]  # IMM-1-22: the canary
    assert probes and all(c.endswith("-22") for c in probes) and spider.planned == len(probes)
    assert spider.crawler.engine.reasons == []


def test_no_data_answered_after_the_year_was_over_is_final(tmp_path):
    ledger = Ledger(str(tmp_path))
    lines = {"IMM-5-23": ("no_results", "2024-03-01T00:00:00+00:00"),
             "IMM-6-23": ("no_results", "2024-01-05T00:00:00+00:00"),  # within the grace
             "IMM-7-23": ("driver_error", "2024-03-01T00:00:00+00:00"),
             "IMM-8-23": ("no_results", "not a time"),
             "IMM-9-23": ("no_results", None),
             "ABC-5-23": ("no_results", "2024-03-01T00:00:00+00:00")}
    for case, (status, at) in lines.items():
        ledger.append({"case_number": case, "status": status, "at": at, "answered_at": at}, 2023)
    # Our clock alone (no portal time, e.g. a line written before it was recorded): not final.
    ledger.append({"case_number": "IMM-10-23", "status": "no_results", "at": "2024-03-01T00:00:00+00:00"}, 2023)
    facts = ledger.facts(2023, "IMM")
    assert facts.final == {5} and facts.no_results == {5, 6, 8, 9, 10}
    resume = Resume(facts)
    # No file known at all, yet 5 is settled; 6, 8 and 9 are asked again.
    assert resume.known(5) is False and resume.done(5)
    assert [resume.known(n) for n in (6, 8, 9)] == [None, None, None]
    assert Resume(facts, refresh=True).known(5) is None


# --- end to end: real Chromium, a demo court per year ------------------------------------

YEARS = (2023, 2024, 2025)
LAST = 6
ARGS = {"site": "demo", "years": "2023-2025", "demo_last_number": LAST}
SETTINGS = {"CASESCRAPER_BOUNDARY_GAP": 4}


def manifests(out: Path) -> list[dict]:
    found = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    return sorted(found, key=lambda m: m["started_at"])


@needs_browser
def test_three_years_in_one_run_then_a_rerun_with_nothing_to_do(tmp_path):
    out = tmp_path / "output"
    result = run_crawl(tmp_path, ARGS, SETTINGS)
    assert result["reason"] == "finished", result["log"][-3000:]
    files = saved_files(out)
    for year in YEARS:
        yy = casenumbers.yy(year)
        want = expected(year, LAST, range(1, LAST + 1))
        assert want and {c for c in files if c.endswith(f"-{yy}")} == set(want), year
        assert all(p.parent.name == str(year) for p in (out / "json" / str(year)).glob("*.json"))
        # Each year's ledger: every number up to the end, and the probes above it.
        lines = ledger_lines(out, year)
        assert {l["case_number"] for l in lines} >= {f"IMM-{n}-{yy}" for n in range(1, LAST + 1)}
        assert f"the last file of {year} is IMM-{max(int(c.split('-')[1]) for c in want)}-{yy}" in result["log"]
    (m,) = manifests(out)
    assert m["arguments"]["years"] == "2023-2025" and m["year_last_file"] is None
    assert set(m["years"]) == {"2023", "2024", "2025"}
    total = 0
    for year in YEARS:
        part, yy = m["years"][str(year)], f"{year % 100:02d}"
        want = sorted(expected(year, LAST, range(1, LAST + 1)), key=lambda c: int(c.split("-")[1]))
        assert (part["first_saved"], part["last_saved"], part["year_last_file"]) == (want[0], want[-1], want[-1])
        assert part["counts"]["saved"] == len(want) and len(part["probes_above_end"]) >= 4
        assert all(p.endswith(f"-{yy}") for p in part["probes_above_end"])
        summary = (f", {year}: saved {len(want)} ({want[0]} to {want[-1]}), no results "
                   f"{part['counts']['no_results']}, failed 0, the year's last file {want[-1]} "
                   f"({len(part['probes_above_end'])} probes above it)")
        assert summary in result["log"], summary
        total += len(want)
    assert m["counts"]["saved"] == total and (m["first_saved"], m["last_saved"]) == (
        m["years"]["2023"]["first_saved"], m["years"]["2025"]["last_saved"])
    assert f": 3 years (2023-2025): saved {total} (" in result["log"]
    # The progress bar adds up across the years and ends at planned/planned.
    asked = len(result["responses"]) - m["canaries"]["passed"]
    assert f": {asked}/{asked} (100.0%), saved {total}, " in result["log"]

    # The years are over: their ends are final, and a rerun asks nothing.
    again = run_crawl(tmp_path, ARGS, SETTINGS)
    assert again["reason"] == "finished" and again["responses"] == [], again["log"][-3000:]
    assert ": nothing to do: every number asked for is already done" in again["log"]
    assert set(saved_files(out)) == set(files)


@needs_browser
def test_two_shards_of_two_years_equal_the_years(tmp_path):
    out = tmp_path / "output"
    args = {"site": "demo", "years": "2023,2024", "demo_last_number": 10}
    procs = []
    for i in (1, 2):
        cmd = [sys.executable, "-m", "scrapy", "crawl", "cases",
               *spider_args(**fast({**args, "shard": f"{i}/2"})), *settings_args(out, **SETTINGS)]
        with open(tmp_path / f"shard{i}.log", "w") as log:
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                                          stderr=log, start_new_session=True))
    wait_all(procs, 300)
    logs = [(tmp_path / f"shard{i}.log").read_text() for i in (1, 2)]
    assert [p.returncode for p in procs] == [0, 0], [log[-3000:] for log in logs]
    want = {**expected(2023, 10, range(1, 11)), **expected(2024, 10, range(1, 11))}
    assert set(saved_files(out)) == set(want)
    for year in (2023, 2024):
        yy = casenumbers.yy(year)
        numbers = {l["case_number"] for l in ledger_lines(out, year) if l["status"] == "saved"}
        assert numbers == {c for c in want if c.endswith(f"-{yy}")}
        # Every shard ran every year, each on a demo court of that year.
        assert all(f"demo court serving {year} at " in log for log in logs)
    assert len(manifests(out)) == 2
