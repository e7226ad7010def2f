"""Helpers for end-to-end tests: real `scrapy crawl` / crawl_runner subprocesses driving
real headless Chromium against the demo court on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from casescraper.frontier import casenumbers
from casescraper.democourt import records
# Re-exported: the tests compare crawled records with the dump through it.
from casescraper.harness import strip_run_fields  # noqa: F401

from .conftest import ROOT

needs_browser = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="Chromium and chromedriver are required (apt-get install chromium chromium-driver)",
)

ENV = {**os.environ, "SE_OFFLINE": "true", "PYTHONPATH": str(ROOT)}


# The demo page's faithful Bootstrap fades cost ~0.7 s per case. Crawls whose point is not
# the page's timing turn them off unless they name demo_fade_ms themselves; the page's own
# behaviour is tested with its real timings in test_real_page_variants.py and test_doctor.py.
FAST_PAGE = {"demo_fade_ms": 0}


def fast(args: dict) -> dict:
    if str(args.get("site", "")) != "demo":
        return args
    return {**{k: v for k, v in FAST_PAGE.items() if k not in args}, **args}


def settings_args(out: Path, **settings: Any) -> list[str]:
    pairs = {"CASESCRAPER_OUTPUT_DIR": str(out), "LOG_LEVEL": "INFO", **settings}
    return [x for k, v in pairs.items() for x in ("-s", f"{k}={v}")]


def spider_args(**args: Any) -> list[str]:
    return [x for k, v in args.items() for x in ("-a", f"{k}={v}")]


def scrapy_crawl(out: Path, args: dict, settings: dict | None = None, timeout: float = 300,
                 env: dict | None = None, **popen: Any) -> subprocess.CompletedProcess:
    """`scrapy crawl cases` exactly as an operator types it (with extra environment variables)."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "cases", *spider_args(**fast(args)),
           *settings_args(out, **(settings or {}))]
    return subprocess.run(cmd, cwd=ROOT, env={**ENV, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, **popen)


def free_port() -> int:
    """A loopback port free a moment ago (bound, then released) for a server of the test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner(tmp: Path, args: dict, settings: dict | None) -> tuple[list[str], Path]:
    """The command of a crawl through tests/crawl_runner.py into tmp/output, and its report's path."""
    report = tmp / f"run-{len(list(tmp.glob('run-*.json')))}.json"
    cmd = [sys.executable, "-m", "tests.crawl_runner", str(report), *spider_args(**fast(args)),
           *settings_args(tmp / "output", **(settings or {}))]
    return cmd, report


def run_crawl(tmp: Path, args: dict, settings: dict | None = None, timeout: float = 300) -> dict:
    """A crawl through tests/crawl_runner.py; returns its record (stats, responses, stall)."""
    cmd, report = _runner(tmp, args, settings)
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert report.exists(), f"crawl did not report (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    result = json.loads(report.read_text())
    result["log"] = proc.stderr
    result["returncode"] = proc.returncode
    return result


def saved_files(out: Path) -> dict[str, dict]:
    files = {}
    for path in sorted((out / "json").rglob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["case_number"] not in files, f"two files for {record['case_number']}"
        files[record["case_number"]] = record
    return files


def expected(year: int, last_number: int, numbers: range, seed: int = 0) -> dict[str, dict]:
    wanted = {casenumbers.format("IMM", n, year) for n in numbers}
    return {r["case_number"]: r for r in records(year, last_number, seed) if r["case_number"] in wanted}


def ledger_lines(out: Path, year: int = 2025) -> list[dict]:
    path = out / "ledger" / f"{year}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def start_crawl(tmp: Path, args: dict, settings: dict | None = None) -> tuple[subprocess.Popen, Path]:
    """Start a crawl through crawl_runner in the background; returns (process, report path)."""
    cmd, report = _runner(tmp, args, settings)
    log = open(tmp / f"{report.stem}.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, report


def wait_for_lines(out: Path, count: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until the ledger holds `count` lines (the crawl is under way)."""
    import time

    deadline = time.monotonic() + timeout
    while len(ledger_lines(out)) < count:
        assert proc.poll() is None, "the crawl ended before the ledger filled"
        assert time.monotonic() < deadline, "the ledger did not fill in time"
        time.sleep(0.05)


def our_processes(run_id: str) -> list:
    """Processes (chromedriver, Chromium) started for `run_id`, found by our marker."""
    import psutil

    from casescraper.browser.driver import MARKER_ENV

    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(MARKER_ENV, "").endswith(f"/{run_id}") and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def final_statuses(out: Path) -> dict[str, str]:
    """Latest ledger status per case number."""
    return {line["case_number"]: line["status"] for line in ledger_lines(out)}
