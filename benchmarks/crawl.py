"""Run 1: casescraper itself, `scrapy crawl cases` in a subprocess, against OUR demo court.

The crawl is pointed at the benchmark's demo court with CASESCRAPER_SITE_URL (no
site=demo, so the spider does not start a court of its own), delays off, the real
pipeline (fsync on) writing to a scratch output dir. While it runs, this process
watches the court's search count and samples the PSS of the crawl's browser tree
(chromedriver and every Chromium child) after given numbers of cases.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from casescraper.browser.driver import kill_marked, runs_root

from .stats import summarize
from .watch import MemoryWatch

ROOT = Path(__file__).resolve().parent.parent


def crawl(court, cases: int, label: str, settings: Optional[dict[str, Any]] = None,
          memory_marks: tuple[int, ...] = (), profile: Optional[Path] = None, patch: str = "",
          timeout: float = 3600, keep_output: Optional[Path] = None) -> dict[str, Any]:
    """One crawl of IMM-1-YY .. IMM-<cases>-YY; returns timings, stall, memory, commands."""
    scratch = Path(tempfile.mkdtemp(prefix=f"casescraper-bench-{label}-"))
    # Short: the run dir is Chromium's TMPDIR, and its socket path must stay under 108 bytes.
    run_id = f"bench-{label[:12]}-{secrets.token_hex(3)}"
    report = scratch / "record.json"
    base = {
        "CASESCRAPER_SITE_URL": court.url, "CASESCRAPER_OUTPUT_DIR": str(scratch / "output"),
        "CASESCRAPER_RUN_ID": run_id, "DOWNLOAD_DELAY": 0, "CASESCRAPER_REST_SECONDS": 0,
        "CASESCRAPER_PROGRESS_INTERVAL": 0, "LOG_LEVEL": "WARNING",
    }
    pairs = {**base, **(settings or {})}
    cmd = [sys.executable, "-m", "benchmarks.crawl_runner", str(report)]
    if profile:
        cmd += ["--profile", str(profile)]
    if patch:
        cmd += ["--patch", patch]
    cmd += ["-a", "year=%d" % court.year, "-a", f"max_cases={cases}"]
    cmd += [x for k, v in pairs.items() for x in ("-s", f"{k}={v}")]
    env = {**os.environ, "SE_OFFLINE": "true", "PYTHONPATH": str(ROOT)}
    started = time.time()
    try:
        # Own session: a Ctrl-C at the terminal reaches only us; we stop the crawl with one
        # SIGTERM (Scrapy's graceful shutdown: the middleware quits the browser).
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        watch = MemoryWatch(court, proc, memory_marks, cases)
        watch.start()
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except BaseException:  # Ctrl-C or timeout: stop the crawl, then make sure
            _stop(proc)
            raise
        finally:
            watch.stop_event.set()
            watch.join(5)
            _sweep(run_id)
        wall = time.time() - started
        if watch.stalled:
            raise RuntimeError(f"the crawl stalled ({watch.stalled}) and was stopped:\n{stderr[-3000:]}")
        if not report.exists():
            raise RuntimeError(f"the crawl did not report (exit {proc.returncode}):\n{stderr[-3000:]}")
        record = json.loads(report.read_text(encoding="utf-8"))
        if keep_output:
            shutil.copytree(scratch, keep_output, dirs_exist_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {**analyse(record, cases, started, wall, watch.samples, stderr), **watch.figures()}


def analyse(record: dict[str, Any], cases: int, started: float, wall: float,
            memory: list[dict[str, Any]], stderr: str) -> dict[str, Any]:
    searches = sorted((r for r in record["searches"] if r.get("query_started")),
                      key=lambda r: r["query_started"])
    rows = [r for r in searches if not r.get("canary")]
    starts = [r["query_started"] for r in rows]
    # A case's time = from its query's start to the next case's query start: browser work,
    # Scrapy's hand-offs, parsing, the pipeline (unless overlapped) and the canary
    # re-search casescraper makes every CASESCRAPER_CANARY_EVERY cases.
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    if rows and record.get("closed_at"):
        last = rows[-1]
        gaps.append(last.get("item_done_at", last.get("response_at", starts[-1])) - starts[-1])
    pipeline = [r["item_done_at"] - r["response_at"] for r in rows
                if r.get("item_done_at") and r.get("response_at")]
    browser_side = [r["response_at"] - r["query_started"] for r in rows if r.get("response_at")]
    # Does the pipeline's write delay the next query, or run beside it (thread)?
    overlapped = sum(1 for a, b in zip(searches, searches[1:])
                     if a.get("item_done_at") and b["query_started"] < a["item_done_at"])
    segments = {}  # the critical path of one search, piece by piece
    for name, a, b in (
        ("query start -> browser thread", "query_started", "thread_started"),
        ("browser thread -> script start (recycle check, page)", "thread_started", "script_started"),
        ("in-page script (one DevTools Runtime.evaluate)", "script_started", "script_done"),
        ("script done -> thread done", "script_done", "thread_done"),
        ("thread done -> response in engine", "thread_done", "response_at"),
    ):
        segments[name] = summarize(r[b] - r[a] for r in searches if r.get(a) and r.get(b))
    following = [(b["query_started"] - a["response_at"]) for a, b in zip(searches, searches[1:])
                 if a.get("response_at")]
    segments["response -> next query start (parse, scheduling)"] = summarize(following)
    stats = record.get("stats", {})
    commands = record.get("webdriver", {})
    n = len(searches) or 1
    result = {
        **summarize(gaps),
        "found": sum(1 for r in rows if r.get("found")),
        "completed": len(rows),
        "canary_searches": len(searches) - len(rows),
        "reason": record.get("reason"),
        "process_wall_s": round(wall, 2),
        "startup_s": round(starts[0] - started, 2) if starts else None,
        # with start-up: every case over the process's whole wall time (browser start included)
        "cases_per_s_with_startup": round(len(rows) / wall, 2) if wall else None,
        "max_stall_ms": round(1000 * record.get("max_stall", 0.0), 1),
        "query_to_response": summarize(browser_side),
        "segments": segments,
        "response_to_item_done": summarize(pipeline),
        "items_done_after_next_query_started": f"{overlapped} of {max(0, len(searches) - 1)}",
        "webdriver_commands_per_search": {k: round(v["count"] / n, 2) for k, v in sorted(commands.items())},
        "webdriver_seconds": {k: round(v["seconds"], 3) for k, v in commands.items()},
        "memory": memory,
        "stats": {k: v for k, v in stats.items() if k.startswith("casescraper/")},
    }
    if record.get("reason") != "finished" or len(rows) != cases:
        result["log_tail"] = stderr[-3000:]
    return result


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _sweep(run_id: str) -> None:
    """Remove what a killed crawl may have left: only our run's processes and dir."""
    path = runs_root() / run_id
    if path.exists():
        kill_marked(str(path))
        shutil.rmtree(path, ignore_errors=True)
