"""Year runs end to end: resume after kill -9, boundary detection, canary, report."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
from datetime import datetime, timezone

from casescraper.democourt import DemoCourt

from .conftest import ROOT
from .e2e import (
    ENV, expected, final_statuses, ledger_lines, needs_browser, run_crawl, saved_files,
    start_crawl, strip_run_fields, wait_for_lines,
)

pytestmark = needs_browser


def test_kill_9_three_times_then_resume_completes_the_year(tmp_path):
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    args = {"site": "demo", "year": 2025, "end": 300, "demo_last_number": 300}
    out = tmp_path / "output"
    for attempt in range(3):
        proc, _ = start_crawl(tmp_path, args)
        wait_for_lines(out, len(ledger_lines(out)) + rnd.randrange(5, 80), proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    for attempt in range(3):  # rerun until done
        result = run_crawl(tmp_path, args)
        assert result["returncode"] == 0, (seed, result["log"][-3000:])
        if result["reason"] == "finished":
            break
    want = expected(2025, 300, range(1, 301))
    files = saved_files(out)  # also asserts one file per case number
    assert set(files) == set(want), seed
    assert all(strip_run_fields(files[c]) == want[c] for c in want), seed
    statuses = final_statuses(out)
    assert set(statuses) == {f"IMM-{n}-25" for n in range(1, 301)}, seed
    assert {c for c, s in statuses.items() if s == "saved"} == set(want), seed
    assert set(statuses.values()) == {"saved", "no_results"}, seed
    assert not list(out.rglob(".*.tmp")), seed
    # The last run asked only for what the killed runs had not settled.
    assert len(result["responses"]) < 300 - 3 * 5


def test_resume_after_a_file_outlived_its_ledger_line_adds_no_second_file(tmp_path):
    # kill -9 between publishing a file and appending its ledger line: the rerun asks again,
    # through a new demo court on another port (another source_url), and must keep one file.
    args = {"site": "demo", "year": 2025, "end": 12, "demo_last_number": 12}
    out = tmp_path / "output"
    run_crawl(tmp_path, args)
    before = {p: p.read_bytes() for p in (out / "json").rglob("*.json")}
    ledger = out / "ledger" / "2025.jsonl"
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    lost = [l for l in lines if json.loads(l)["status"] == "saved"][-3:]
    ledger.write_text("".join(l for l in lines if l not in lost), encoding="utf-8")
    again = run_crawl(tmp_path, args)
    assert {r["case"] for r in again["responses"]} == {json.loads(l)["case_number"] for l in lost}
    assert again["stats"]["casescraper/files/existing"] == 3
    assert {p: p.read_bytes() for p in (out / "json").rglob("*.json")} == before
    assert set(saved_files(out)) == set(expected(2025, 12, range(1, 13)))


def test_boundary_detection_finds_the_exact_end_in_few_queries(tmp_path):
    with DemoCourt(year=2025, last_number=5000) as court:
        result = run_crawl(
            tmp_path, {"year": 2025, "probe_only": 1},
            {"CASESCRAPER_SITE_URL": court.url, "DOWNLOAD_DELAY": 0, "CASESCRAPER_REST_SECONDS": 0},
        )
        queries = court.query_count
    assert result["reason"] == "finished", result["log"][-2000:]
    assert "the last file of 2025 is IMM-5000-25" in result["log"]
    assert queries <= 2 * math.log2(5000) + 2 * 20, queries
    # Probes are ordinary requests: every one has its ledger line.
    assert len(ledger_lines(tmp_path / "output")) == queries


def manifests(out) -> list[dict]:
    found = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    return sorted(found, key=lambda m: m["started_at"])


def test_year_run_collects_up_to_the_end_and_rerun_reprobes_above_it(tmp_path):
    # An open year (this one): new files are filed every day, so a rerun probes above the
    # last known file again (a year that is over is closed: see test_years.py).
    year = datetime.now(timezone.utc).year
    yy = f"{year % 100:02d}"
    result = run_crawl(tmp_path, {"site": "demo", "year": year, "demo_last_number": 45},
                       {"CASESCRAPER_BOUNDARY_GAP": 8, "CASESCRAPER_CANARY_EVERY": 10,
                        "CASESCRAPER_PROGRESS_INTERVAL": 3600})
    out = tmp_path / "output"
    assert result["reason"] == "finished"
    want = expected(year, 45, range(1, 46))
    assert set(saved_files(out)) == set(want)
    # The summary counts what a person means: saved cases (canaries apart), the year's last
    # file, the probes above it apart from the year's numbers without data.
    (m,) = manifests(out)
    assert (m["first_saved"], m["last_saved"], m["year_last_file"]) == (f"IMM-1-{yy}", f"IMM-45-{yy}", f"IMM-45-{yy}")
    assert m["counts"]["saved"] == len(want) and m["canaries"]["passed"] >= 3
    numbers = [int(c.split("-")[1]) for c in m["probes_above_end"]]
    assert len(numbers) >= 8 and min(numbers) > 45 and numbers == sorted(numbers)
    no_data = [int(c.split("-")[1]) for c in m["no_results"]]
    assert no_data == sorted(no_data) and set(no_data) == set(range(1, 46)) - {int(c.split("-")[1]) for c in want}
    assert m["total"] == 45
    assert (f"saved {len(want)} (IMM-1-{yy} to IMM-45-{yy}), no results {45 - len(want)}, failed 0, "
            f"the year's last file IMM-45-{yy} ({len(numbers)} probes above it)") in result["log"]
    # The bar ends at planned/planned: every query for a number (probes too), no canary.
    asked = len(result["responses"]) - m["canaries"]["passed"]
    assert "progress: finished (finished) after " in result["log"]
    assert f": {asked}/{asked} (100.0%), saved {len(want)}, " in result["log"]
    # The year grew: a rerun probes above the last known file and collects the new ones.
    again = run_crawl(tmp_path, {"site": "demo", "year": year, "demo_last_number": 60},
                      {"CASESCRAPER_BOUNDARY_GAP": 8})
    assert set(saved_files(out)) == set(expected(year, 60, range(1, 61)))
    # Everything up to the old last file was settled; only numbers above it were asked.
    assert min(int(r["case"].split("-")[1]) for r in again["responses"]) > 45
    assert f"resuming: 45 numbers of IMM-1-{yy}..IMM-60-{yy} are already done" in again["log"]


def test_a_rerun_with_nothing_to_do_says_so(tmp_path):
    args = {"site": "demo", "year": 2025, "end": 8, "demo_last_number": 40}
    run_crawl(tmp_path, args)
    again = run_crawl(tmp_path, args)
    assert again["reason"] == "finished" and again["responses"] == []
    assert "resuming: 8 numbers of IMM-1-25..IMM-8-25 are already done" in again["log"]
    assert ": nothing to do: every number asked for is already done" in again["log"]
    assert "first number None" not in again["log"]


def test_a_year_without_files_stops_after_gap_queries(tmp_path):
    result = run_crawl(tmp_path, {"site": "demo", "year": 2025, "demo_last_number": 1,
                                  "start": 10}, {"CASESCRAPER_BOUNDARY_GAP": 6})
    assert result["reason"] == "finished"
    assert len(result["responses"]) == 6
    assert "no IMM files found for 2025 from number 10: 6 consecutive numbers answered no data" in result["log"]
    assert "saved 0, no results 0, failed 0, 6 probes found no file of the year" in result["log"]


def test_canary_stops_a_degraded_portal_and_marks_no_data_unverified(tmp_path):
    result = run_crawl(tmp_path, {"site": "demo", "year": 2025, "end": 60, "demo_last_number": 60,
                                  "demo_nodata_after": 12}, {"CASESCRAPER_BOUNDARY_GAP": 5})
    out = tmp_path / "output"
    assert result["reason"] == "canary_failed"
    statuses = final_statuses(out)
    real = expected(2025, 60, range(1, 61))
    unverified = {c for c, s in statuses.items() if s == "unverified"}
    # Every number the degraded portal answered "no data" for, though it exists, is unverified.
    assert {c for c in real if c in statuses and c not in saved_files(out)} <= unverified
    assert len(statuses) < 30  # stopped soon after the portal degraded
    # The next run retries them and, the portal healthy again, completes the range.
    run_crawl(tmp_path, {"site": "demo", "year": 2025, "end": 60, "demo_last_number": 60})
    assert set(saved_files(out)) == set(real)


def test_refresh_and_retry_failed_only(tmp_path):
    args = {"site": "demo", "year": 2025, "end": 10, "demo_last_number": 10}
    run_crawl(tmp_path, {**args, "demo_error_rate": 0.3}, {"CASESCRAPER_CASE_RETRIES": 0})
    out = tmp_path / "output"
    failed = {c for c, s in final_statuses(out).items() if s == "driver_error"}
    assert failed, "the error rate should have failed some cases"
    retry = run_crawl(tmp_path, {**args, "retry_failed_only": 1})
    assert {r["case"] for r in retry["responses"]} == failed
    refresh = run_crawl(tmp_path, {**args, "refresh": 1})
    assert len(refresh["responses"]) == 10


def test_report_numbers_equal_the_ledger(tmp_path):
    run_crawl(tmp_path, {"site": "demo", "year": 2025, "end": 25, "demo_last_number": 40})
    out = tmp_path / "output"
    report = subprocess.run(
        [sys.executable, "-m", "casescraper", "report", "--year", "2025", "--output-dir", str(out),
         "--html", str(tmp_path / "report.html")],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60,
    )
    assert report.returncode == 0, report.stderr
    statuses = final_statuses(out)
    saved = sum(1 for s in statuses.values() if s == "saved")
    none = sum(1 for s in statuses.values() if s == "no_results")
    text = report.stdout
    assert f"saved {saved}" in " ".join(text.split()).lower() or str(saved) in text
    assert str(none) in text
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "http://" not in html and "https://" not in html
