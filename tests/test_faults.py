"""Faults an adversary tried (issue 15), end to end with real files and real crawls:
exit statuses per close reason, traps in the output dir, wrong ledger lines, FIFOs, and
a SIGTERM that must always end the crawl."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from casescraper.commands.crawl import EXIT_CODES, EXIT_DID_NOT_START, EXIT_OTHER
from casescraper.store.ledger import Ledger

from .conftest import ROOT
from .e2e import (
    ENV, fast, ledger_lines, needs_browser, our_processes, saved_files,
    scrapy_crawl, settings_args, spider_args,
)

DEMO = {"site": "demo", "year": 2025, "demo_last_number": 40}


def last_line(stderr: str) -> str:
    return stderr.rstrip().splitlines()[-1]


def closed_line(reason: str, code: int) -> str:
    return f"[casescraper] {'INFO' if code == 0 else 'ERROR'}: crawl closed: {reason}, exit status {code}: "


# --- the table in the README -------------------------------------------------------------

def test_readme_table_is_the_exit_codes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Close reasons and exit status", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([a-z_]+)`((?:, `[a-z_]+`)*) \| (\d+) \|", line)
        if match:
            for reason in re.findall(r"`([a-z_]+)`", match.group(0)):
                rows[reason] = int(match.group(3))
    assert rows == {reason: code for reason, (code, _) in EXIT_CODES.items()}
    assert f"| {EXIT_DID_NOT_START} |" in section and f"| {EXIT_OTHER} |" in section


# --- exit status, from real crawls -------------------------------------------------------

@needs_browser
@pytest.mark.parametrize("args, reason", [
    ({"max_cases": 3}, "finished"),
    ({"max_cases": 10, "demo_forbid_after": 2}, "blocked"),
    ({"max_cases": 3, "demo_layout": "v2"}, "layout_changed"),
])
def test_exit_status_follows_the_close_reason(tmp_path, args, reason):
    run = scrapy_crawl(tmp_path / "out", {**DEMO, **args})
    code = EXIT_CODES[reason][0]
    assert run.returncode == code, run.stderr[-3000:]
    assert closed_line(reason, code) in last_line(run.stderr)  # the log's last line (Scrapyd)
    assert f"Spider closed ({reason})" in run.stderr


# --- the output dir ------------------------------------------------------------------------

@needs_browser
def test_a_symlinked_year_dir_stops_the_crawl_at_startup(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "json").mkdir(parents=True)
    (out / "json" / "2025").symlink_to(elsewhere)
    run = scrapy_crawl(out, {**DEMO, "max_cases": 5})
    assert run.returncode == EXIT_DID_NOT_START
    assert last_line(run.stderr) == (
        f"casescraper: error: output directory {out}: json/2025 is a symbolic link to {elsewhere}, "
        "outside the output directory; replace the link by a directory, or set "
        "CASESCRAPER_OUTPUT_DIR to where it points")
    assert "browser 1 started" not in run.stderr and "Traceback" not in run.stderr
    assert list(elsewhere.iterdir()) == [] and ledger_lines(out) == []


@needs_browser
def test_a_directory_at_a_final_name_is_a_taken_name(tmp_path):
    out = tmp_path / "out"
    year = out / "json" / "2025"
    year.mkdir(parents=True)
    now = datetime.now(timezone.utc)
    # Today's name and tomorrow's, in case the crawl runs across midnight (UTC).
    for day in (now, now + timedelta(days=1)):
        (year / f"IMM-1-25-{day:%Y%m%d}.json").mkdir()
    run = scrapy_crawl(out, {**DEMO, "max_cases": 2})
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in ledger_lines(out) if line["case_number"] == "IMM-1-25"]
    assert [line["status"] for line in lines] == ["saved"]
    assert re.fullmatch(r"json/2025/IMM-1-25-\d{8}-1\.json", lines[0]["file_path"])
    assert (out / lines[0]["file_path"]).is_file()


@needs_browser
def test_wrong_ledger_lines_are_skipped_and_an_untrusted_path_is_asked_again(tmp_path):
    out = tmp_path / "out"
    (out / "ledger").mkdir(parents=True)
    good = {"run_id": "old", "at": "2025-03-01T00:00:00+00:00", "site": "demo", "error": None}
    lines = [
        json.dumps({**good, "case_number": "IMM-1-25", "status": "saved", "file_path": "/etc/hostname"}),
        json.dumps({**good, "case_number": "IMM-2-25", "status": "saved", "file_path": "../../../etc/hostname"}),
        json.dumps({**good, "case_number": 5, "status": "saved", "file_path": None}),
        "null", '["x"]',
        json.dumps({**good, "case_number": "IMM-3-25", "status": "saved", "file_path": 5}),
        "[" * 100_000 + "]" * 100_000,
    ]
    (out / "ledger" / "2025.jsonl").write_text("\n".join(lines) + "\n")
    run = scrapy_crawl(out, {**DEMO, "max_cases": 3})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "RecursionError" not in run.stderr and "Traceback" not in run.stderr
    assert "2025.jsonl:7: skipping a ledger line: nested deeper than 8 levels" in run.stderr
    assert "2025.jsonl:1: file_path '/etc/hostname' could lead outside the output directory" in run.stderr
    # Nothing was taken as saved: the three numbers were asked and saved for real.
    assert set(saved_files(out)) == {"IMM-1-25", "IMM-2-25", "IMM-3-25"}
    latest = Ledger(str(out)).latest(2025)  # the test's plain reader would choke on line 7
    assert [latest[f"IMM-{n}-25"]["status"] for n in (1, 2, 3)] == ["saved"] * 3


# --- FIFOs and signals ---------------------------------------------------------------------

def start(cmd: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as sink:
        return subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for(predicate, proc: subprocess.Popen, log: Path, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, f"the crawl ended before {what}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} in time:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)


def wait_end(proc: subprocess.Popen, log: Path, seconds: float = 120) -> int:
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"SIGTERM did not end the crawl:\n{log.read_text()[-3000:]}")


@needs_browser
def test_a_fifo_named_like_a_temp_file_neither_blocks_nor_stops_sigterm(tmp_path):
    out = tmp_path / "out"
    year = out / "json" / "2025"
    year.mkdir(parents=True)
    fifo = year / ".IMM-1-25-20250101.4242.0123456789abcdef.tmp"
    os.mkfifo(fifo)
    log = tmp_path / "crawl.log"
    args = fast({**DEMO, "demo_last_number": 400, "max_cases": 300, "demo_latency_ms": 40})
    proc = start([sys.executable, "-m", "scrapy", "crawl", "cases", *spider_args(**args),
                  *settings_args(out, CASESCRAPER_RUN_ID="fifo")], log)
    wait_for(lambda: len(ledger_lines(out)) >= 2, proc, log, "ledger lines")
    proc.send_signal(signal.SIGTERM)
    assert wait_end(proc, log) == 0
    text = log.read_text()
    assert f"{fifo} is named like a temp file but is a FIFO; left alone" in text
    assert closed_line("shutdown", 0) in last_line(text)
    assert os.path.exists(fifo) and our_processes("fifo") == []


def test_a_spider_failing_to_plan_exits_with_start_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "broken", "-s",
                          "SPIDER_MODULES=tests.spiders", *settings_args(tmp_path / "out")],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == EXIT_CODES["start_error"][0] == 10, run.stderr[-3000:]
    assert closed_line("start_error", 10) in last_line(run.stderr)


def test_sigterm_ends_a_crawl_whose_thread_is_stuck_for_good(tmp_path):
    """A thread blocked in open() of a FIFO (as the temp sweep once was) keeps Scrapy's
    graceful stop waiting for ever: the deadline armed by the signal ends the process."""
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    log = tmp_path / "crawl.log"
    proc = start([sys.executable, "-m", "scrapy", "crawl", "stuck", "-a", f"fifo={fifo}",
                  "-s", "SPIDER_MODULES=tests.spiders", *settings_args(tmp_path / "out"),
                  "-s", "CASESCRAPER_COMMAND_TIMEOUT=3"], log)
    wait_for(lambda: "blocking a thread on" in log.read_text(), proc, log, "the stuck thread")
    proc.send_signal(signal.SIGTERM)
    assert wait_end(proc, log) == EXIT_OTHER
    text = log.read_text()
    assert "Spider closed (shutdown)" in text
    assert "casescraper: error: the crawl did not stop within 3 s of the signal" in text
    assert "crawl closed: shutdown, exit status 11: forced: the crawl did not stop within 3 s" in last_line(text)


# --- echoed values ---------------------------------------------------------------------------

def test_a_huge_cases_file_line_is_echoed_cut(tmp_path):
    cases = tmp_path / "cases.txt"
    cases.write_text("\x1b[2J" + "9" * 20_000_000 + "\n")
    run = scrapy_crawl(tmp_path / "out", {"cases_file": cases})
    assert run.returncode == EXIT_DID_NOT_START
    assert run.stderr.splitlines() == [
        "casescraper: error: cases_file line 1='\\x1b[2J" + "9" * 196 + "'... (20,000,004 characters "
        "in all) is not a court file number: use the form IMM-12345-25"]


def test_a_huge_argument_is_echoed_cut(tmp_path):
    run = scrapy_crawl(tmp_path / "out", {"year": "2" * 100_000})
    assert run.returncode == EXIT_DID_NOT_START
    assert len(run.stderr) < 500 and "... (100,000 characters in all) is invalid" in run.stderr


@needs_browser
def test_a_year_dir_swapped_for_a_link_mid_run_stops_the_crawl(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    log = tmp_path / "crawl.log"
    args = fast({**DEMO, "demo_last_number": 400, "max_cases": 300, "demo_latency_ms": 40})
    proc = start([sys.executable, "-m", "scrapy", "crawl", "cases", *spider_args(**args),
                  *settings_args(out, CASESCRAPER_RUN_ID="swapped")], log)
    wait_for(lambda: (out / "json" / "2025").is_dir() and len(ledger_lines(out)) >= 2, proc, log,
             "the first files")
    (out / "json" / "2025").rename(out / "json" / "moved")
    (out / "json" / "2025").symlink_to(elsewhere)
    code = wait_end(proc, log)
    text = log.read_text()
    assert code == EXIT_CODES["output_unusable"][0], text[-3000:]
    assert closed_line("output_unusable", code) in last_line(text)
    errors = [line for line in text.splitlines() if "outside it (a symbolic link below" in line]
    assert len(errors) == 1  # one line, not one per case
    assert list(elsewhere.iterdir()) == [] and our_processes("swapped") == []
    assert len(ledger_lines(out)) < 300
