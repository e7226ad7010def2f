"""`scrapy shell` for one case (issue 13.6): it shows the case's data, writes nothing,
and leaves no chromedriver or Chromium behind once it exits (it never closes its spider:
the middleware's exit hook ends the browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from casescraper.democourt import DemoCourt, records

from .conftest import ROOT
from .e2e import ENV, needs_browser, our_processes, strip_run_fields

pytestmark = needs_browser


def shell(target: str, code: str, run_id: str, *settings: str, cwd=ROOT) -> subprocess.CompletedProcess:
    # The test's own working dir (conftest), never the checkout's output/: the spider reads
    # its ledger for the site check even where nothing is written. A later -s wins.
    cmd = [sys.executable, "-m", "scrapy", "shell", target, "-c", code,
           "-s", f"CASESCRAPER_RUN_ID={run_id}", "-s", f"CASESCRAPER_OUTPUT_DIR={os.getcwd()}/output",
           *settings]
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def court():
    with DemoCourt(year=2025, last_number=10) as running:
        yield running


def test_a_court_files_url_with_a_case_shows_its_record(court, tmp_path):
    run = shell(f"{court.url}#IMM-2-25", "print(case.to_json())", "shell-url",
                "-s", f"CASESCRAPER_OUTPUT_DIR={tmp_path / 'out'}")
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads(run.stdout[:run.stdout.rindex("}") + 1])
    want = next(r for r in records(2025, 10, 0) if r["case_number"] == "IMM-2-25")
    assert strip_run_fields(record) == want
    assert "writing to" not in run.stderr  # no pipeline: nothing written
    assert not (tmp_path / "out").exists()
    assert our_processes("shell-url") == []


def test_a_case_number_argument_uses_the_site_url(court):
    run = shell("IMM-4-25", "(case['case_number'], response.meta['casescraper']['found'], case)",
                "shell-case", "-s", f"CASESCRAPER_SITE_URL={court.url}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("('IMM-4-25', True, <case IMM-4-25: ")
    assert our_processes("shell-case") == []


def test_a_number_without_data(court):
    run = shell(f"{court.url}#IMM-999-25", "case", "shell-none")
    assert run.stdout.strip().splitlines()[-1] == "None"
    assert "IMM-999-25: the portal has no data for this number" in run.stderr
    assert our_processes("shell-none") == []
