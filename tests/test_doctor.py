"""`python -m casescraper doctor`: real headless Chromium against the demo court.

Each run is the operator's command line in a subprocess; the checks table is its stdout.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import ROOT
from .e2e import ENV, needs_browser


def doctor(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casescraper", "doctor", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """check name -> (ok/FAILED, detail), from the printed table."""
    found = {}
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.split(" | ", 2)]
        if len(parts) == 3 and parts[1] in ("ok", "FAILED"):
            found[parts[0]] = (parts[1], parts[2])
    return found


@needs_browser
def test_the_default_demo_court_passes_every_check():
    proc = doctor("--demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    table = rows(proc.stdout)
    assert table and all(result == "ok" for result, _ in table.values()), proc.stdout
    for name in ("browser", "page load", "time zone", "selector: court number input",
                 "selector: results table", "case found", "results header", "parties button",
                 "more button", "parties dialog", "details modal", "details modal close",
                 "docket table", "endpoint: proceedingQueriesAddInfo", "endpoint: PublicPartiesListInfo",
                 "endpoint: proceedingQueriesRE", "parser"):
        assert name in table, f"no check {name!r} in:\n{proc.stdout}"
    assert "America/Toronto" in table["time zone"][1]
    assert re.search(r"all \d+ checks passed", proc.stdout)


@needs_browser
def test_a_changed_layout_fails_naming_the_element():
    proc = doctor("--demo", "--demo-knob", "layout=v2")
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    table = rows(proc.stdout)
    result, detail = table["selector: court number input"]
    assert result == "FAILED" and "input#selectCourtNumber in div#tab02 not found" in detail
    assert "casescraper/browser/page.py" in detail
    assert table["selector: submit button"][0] == "FAILED"
    assert table["selector: tab"][0] == "ok"
    assert table["one case end to end"][0] == "FAILED"  # not run on a page that changed


@needs_browser
def test_a_blocked_portal_fails_as_blocked():
    proc = doctor("--demo", "--demo-knob", "forbid_after=0")
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    result, detail = rows(proc.stdout)["one case end to end"]
    assert result == "FAILED" and detail.startswith("blocked (HTTP 403)")
    assert "wait" in detail


@pytest.mark.parametrize("args, says", [
    (["--case", "IMM-x"], "--case 'IMM-x' is not a court file number"),
    (["--court", "z"], "invalid choice: 'z'"),
    (["--site", "ftp://example.org"], "is not an http(s) URL"),
    (["--demo-knob", "layout=v2"], "--demo-knob needs --demo"),
    (["--demo", "--demo-knob", "layout=v9"], "layout='v9' is invalid"),
    (["--demo", "--demo-knob", "nonsense"], "use NAME=VALUE"),
    (["--demo", "--site", "http://127.0.0.1:1/"], "exclude each other"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_arguments_exit_2_with_one_line_before_any_browser(args, says):
    proc = doctor(*args, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""  # nothing started: no header, no table
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("casescraper doctor: error: "), proc.stderr
    assert says in lines[0]


def test_a_bad_setting_exits_2_with_one_line():
    proc = subprocess.run([sys.executable, "-m", "casescraper", "doctor", "--demo"], cwd=ROOT,
                          env={**ENV, "CASESCRAPER_TIMEZONE": "Mars/Olympus"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "CASESCRAPER_TIMEZONE" in line and "IANA time zone" in line
