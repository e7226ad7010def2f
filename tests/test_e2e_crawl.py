"""End to end: real headless Chromium through chromedriver against the demo court."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from casescraper.democourt import DemoCourt

from .conftest import ROOT
from .e2e import (
    ENV, expected, ledger_lines, needs_browser, run_crawl, saved_files, scrapy_crawl,
    strip_run_fields,
)

pytestmark = needs_browser
LAST = 40  # the demo year's last file: numbers 1..20 include gaps


def test_crawl_20_numbers_matches_the_dump(tmp_path):
    result = run_crawl(tmp_path, {"site": "demo", "year": 2025, "max_cases": 20,
                                  "demo_last_number": LAST})
    out = tmp_path / "output"
    assert result["reason"] == "finished", result["log"][-3000:]
    want = expected(2025, LAST, range(1, 21))
    assert 10 < len(want) < 20, "the demo year must have gaps within 1..20"
    files = saved_files(out)
    assert set(files) == set(want)  # no file for a number with no data
    for case, record in files.items():
        assert strip_run_fields(record) == want[case], case
        assert record["source_url"].endswith(f"#{case}")
        assert record["scraped_at"].endswith("+00:00")
    stats = result["stats"]
    assert stats["casescraper/driver/starts"] == 1
    assert stats["casescraper/page/loads"] == 1  # set up once, no reload between cases
    assert stats["casescraper/cases/saved"] == len(want)
    assert stats["casescraper/cases/no_results"] == 20 - len(want)
    pids = {r["driver_pid"] for r in result["responses"]}
    assert len(result["responses"]) == 20 and len(pids) == 1 and None not in pids
    statuses = {line["case_number"]: line["status"] for line in ledger_lines(out)}
    assert len(statuses) == 20
    # Selenium never runs on the reactor's thread, so the reactor never waits on the browser.
    assert result["webdriver_commands"] > 20 and result["webdriver_on_reactor"] == 0, result


def test_single_case_and_cases_file(tmp_path):
    cases = tmp_path / "cases.txt"
    cases.write_text("# a comment\nIMM-3-25\n\nimm-5-25\nIMM-999-25\n", encoding="utf-8")
    result = run_crawl(tmp_path, {"site": "demo", "cases_file": cases, "demo_last_number": LAST})
    assert result["reason"] == "finished"
    assert [r["case"] for r in result["responses"]] == ["IMM-3-25", "IMM-5-25", "IMM-999-25"]
    assert set(saved_files(tmp_path / "output")) == {"IMM-3-25", "IMM-5-25"} & set(
        expected(2025, LAST, range(1, 6)))
    one = run_crawl(tmp_path, {"site": "demo", "case": "IMM-5-25", "demo_last_number": LAST})
    assert [r["case"] for r in one["responses"]] == ["IMM-5-25"]


def _gaps(result) -> list[float]:
    """Seconds between query starts, leaving out the first case (it starts the browser)."""
    starts = [r["query_started"] for r in result["responses"]][1:]
    return [b - a for a, b in zip(starts, starts[1:])]


def test_download_delay_applies_to_browser_requests(tmp_path):
    fixed = run_crawl(tmp_path, {"site": "demo", "year": 2025, "max_cases": 6, "demo_last_number": LAST},
                      {"DOWNLOAD_DELAY": 0.6, "DOWNLOAD_DELAY_JITTER": 0})
    gaps = _gaps(fixed)
    # At least the delay between queries; that it is waited once, not twice, is
    # test_newcomer.py's pacing test (on a clock of its own, not this machine's).
    assert len(gaps) == 4 and min(gaps) >= 0.6, gaps


def test_randomize_download_delay_spreads_the_gaps(tmp_path):
    spread = run_crawl(tmp_path, {"site": "demo", "year": 2025, "max_cases": 9, "demo_last_number": LAST},
                       {"DOWNLOAD_DELAY": 0.6, "RANDOMIZE_DOWNLOAD_DELAY": True})
    gaps = _gaps(spread)
    assert min(gaps) >= 0.3, gaps  # 0.5x..1.5x the delay, plus the case itself
    assert len(set(gaps)) == len(gaps) and statistics.pstdev(gaps) > 0.02, gaps
    # DOWNLOAD_DELAY=0 (no waiting at all) is test_newcomer.py's pacing test.


@pytest.mark.parametrize(
    "args, names",
    [
        ({"year": "abc"}, "year"),
        ({"year": "1850"}, "year"),
        ({"year": "2025", "start": "0"}, "start"),
        ({"year": "2025", "start": "5", "end": "2"}, "end"),
        ({"case": "IMM-x-25"}, "IMM-12345-25"),
        ({"cases_file": "/nonexistent/cases.txt"}, "cases_file"),
        ({"year": "2025", "site": "moon"}, "site"),
        ({"year": "2025", "colour": "red"}, "colour"),
    ],
)
def test_bad_arguments_stop_before_a_browser_with_one_line(tmp_path, args, names):
    out = tmp_path / "output"
    run = scrapy_crawl(out, args)
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("casescraper: error:")]
    assert len(errors) == 1 and names in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert "browser 1 started" not in run.stderr
    assert not out.exists()  # nothing written, not even the output dir


def test_missing_browser_is_one_line(tmp_path):
    run = scrapy_crawl(tmp_path / "output", {"site": "demo", "year": 2025, "max_cases": 2},
                       {"SELENIUM_BROWSER_EXECUTABLE_PATH": "/nonexistent/chromium"})
    assert run.returncode != 0
    assert "casescraper: error: Chromium not found at '/nonexistent/chromium'" in run.stderr
    assert "Traceback" not in run.stderr


def test_selenium_request_drop_in(tmp_path):
    """A spider written for scrapy-selenium works unchanged on our middleware."""
    report = tmp_path / "dropin.json"
    with DemoCourt(year=2025, last_number=5) as court:
        run = subprocess.run(
            [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "tests" / "spiders" / "dropin.py"),
             "-a", f"url={court.url}", "-a", f"report={report}",
             "-s", f"CASESCRAPER_OUTPUT_DIR={tmp_path / 'output'}", "-s", "DOWNLOAD_DELAY=0"],
            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120,
        )
    assert report.exists(), run.stderr[-3000:]
    seen = json.loads(report.read_text())
    assert seen["title_after_script"] == "changed by script"  # `script` ran in the page
    assert seen["screenshot_png"] is True  # meta['screenshot'] holds PNG bytes
    assert seen["has_court_select"] is True  # response body is the driver's page source
    assert seen["waited_for"] == "tab02Submit"  # wait_until was honoured


def test_same_crawl_twice_on_one_day_adds_nothing(tmp_path):
    # One demo court for both runs, so source_url is the same, as with the real portal.
    with DemoCourt(year=2025, last_number=LAST) as court:
        args = {"year": 2025, "max_cases": 12}
        settings = {"CASESCRAPER_SITE_URL": court.url, "DOWNLOAD_DELAY": 0, "CASESCRAPER_REST_SECONDS": 0}
        first = run_crawl(tmp_path, args, settings)
        out = tmp_path / "output"
        before = {p: p.read_bytes() for p in (out / "json").rglob("*.json")}
        # refresh=1: collect everything again instead of resuming (which would skip all).
        second = run_crawl(tmp_path, {**args, "refresh": 1}, settings)
    after = {p: p.read_bytes() for p in (out / "json").rglob("*.json")}
    assert after == before  # no overwritten file, no -1 file for identical content
    assert first["stats"]["casescraper/files/created"] == len(before)
    # Equal to its latest file: nothing written, the line points at that file.
    assert second["stats"]["casescraper/cases/unchanged"] == len(before)
    assert "casescraper/files/created" not in second["stats"]
    lines = ledger_lines(out)
    assert len(lines) == 24 and len({l["run_id"] for l in lines}) == 2
    assert all(l["file_path"] for l in lines if l["status"] in ("saved", "unchanged"))
    assert {l["file_path"] for l in lines if l["status"] == "unchanged"} == {
        l["file_path"] for l in lines if l["status"] == "saved"}


def test_dry_run_and_force_overwrite_arguments(tmp_path):
    args = {"site": "demo", "year": 2025, "max_cases": 4, "demo_last_number": LAST}
    dry = run_crawl(tmp_path, {**args, "dry_run": 1})
    out = tmp_path / "output"
    assert dry["stats"]["casescraper/cases/dry_run"] == 4 - sum(
        1 for n in range(1, 5) if f"IMM-{n}-25" not in expected(2025, LAST, range(1, 5)))
    assert not out.exists() or not list(out.rglob("*.json*"))
    run_crawl(tmp_path, args)
    files = sorted((out / "json").rglob("*.json"))
    forced = run_crawl(tmp_path, {**args, "force_overwrite": 1, "refresh": 1})
    assert sorted((out / "json").rglob("*.json")) == files  # replaced in place, no suffix
    assert forced["stats"]["casescraper/files/replaced"] == len(files)


@pytest.mark.parametrize(
    "settings, names",
    [
        ({"CASESCRAPER_WRITE_RETRIES": "abc"}, "CASESCRAPER_WRITE_RETRIES"),
        ({"CASESCRAPER_WRITE_RETRIES": "-1"}, "expected an integer from 1 to 100"),
        ({"CASESCRAPER_SITE_URL": "ftp://x"}, "CASESCRAPER_SITE_URL"),
    ],
)
def test_bad_settings_stop_before_a_browser_with_one_line(tmp_path, settings, names):
    out = tmp_path / "output"
    run = scrapy_crawl(out, {"site": "demo", "year": 2025, "max_cases": 2}, settings)
    errors = [line for line in run.stderr.splitlines() if line.startswith("casescraper: error:")]
    assert run.returncode != 0 and len(errors) == 1 and names in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and not out.exists()


def test_unusable_output_dir_is_one_line_and_touches_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    run = scrapy_crawl(blocker / "output", {"site": "demo", "year": 2025, "max_cases": 2})
    errors = [line for line in run.stderr.splitlines() if line.startswith("casescraper: error:")]
    assert run.returncode != 0 and len(errors) == 1 and "output directory" in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "browser 1 started" not in run.stderr
    assert blocker.read_text() == "keep me"
