"""Runs 5 and 6 from the suite's side: a scrapy-playwright spider (benchmarks.peer_spiders)
in a subprocess against the suite's demo court, watched like casescraper's crawl (search
count, the process tree's CPU, driver and browser PSS), its records checked against the
court's dump: a run with a wrong or missing record is marked invalid and not timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Optional

from casescraper.harness import strip_run_fields

from .stats import summarize
from .watch import MemoryWatch

ROOT = Path(__file__).resolve().parent.parent
STYLES = {"tuned": "5. scrapy-playwright, tuned (one page reused)",
          "idiomatic": "6. scrapy-playwright, idiomatic (a page per case)"}


def unavailable() -> Optional[str]:
    """Why the peer runs cannot run here (one line), or None."""
    missing = [m for m in ("scrapy_playwright", "playwright") if find_spec(m) is None]
    if missing:
        return (f"{' and '.join(missing)} not installed "
                "(pip install -r benchmarks/requirements.txt)")
    return None


def peer(court, cases: list[str], style: str, timeout: float = 3600) -> dict[str, Any]:
    """One peer crawl of `cases`; timings, CPU, PSS and the check of its records."""
    scratch = Path(tempfile.mkdtemp(prefix=f"casescraper-bench-peer-{style}-"))
    out = scratch / "record.json"
    cmd = [sys.executable, "-m", "benchmarks.peer_runner", str(out), style, court.url, ",".join(cases)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.time()
    try:
        # Own session (and process group): Ctrl-C reaches only us; whatever the crawl
        # leaves (node driver, Chromium) is ended by that group's id after.
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        watch = MemoryWatch(court, proc, (), len(cases))
        watch.start()
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except BaseException:
            _signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            raise
        finally:
            watch.stop_event.set()
            watch.join(5)
            _signal_group(proc.pid, signal.SIGKILL)
        wall = time.time() - started
        if watch.stalled:
            raise RuntimeError(f"the {style} peer stalled ({watch.stalled}):\n{stderr[-3000:]}")
        if not out.exists():
            raise RuntimeError(f"the {style} peer did not report (exit {proc.returncode}):\n{stderr[-3000:]}")
        record = json.loads(out.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {**analyse(record, court, cases, wall, stderr), **watch.figures()}


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def check(items: list[dict[str, Any]], court, cases: list[str]) -> list[str]:
    """What is wrong with the peer's records, compared with the court's dump (empty: all right)."""
    got = {i["case"]: i["record"] for i in items}
    wrong = []
    for case in cases:
        want = court.record(int(case.split("-")[1]))
        if case not in got:
            wrong.append(f"{case}: no answer")
        elif (got[case] is None) != (want is None):
            wrong.append(f"{case}: {'not found' if got[case] is None else 'found'}, the dump says otherwise")
        elif want is not None and strip_run_fields(got[case]) != want:
            fields = sorted(k for k in set(want) | set(got[case]) if strip_run_fields(got[case]).get(k) != want.get(k))
            wrong.append(f"{case}: differs in {', '.join(fields)}")
    return wrong


def analyse(record: dict[str, Any], court, cases: list[str], wall: float, stderr: str) -> dict[str, Any]:
    items = sorted(record["items"], key=lambda i: i["started"])
    wrong = check(items, court, cases)
    result: dict[str, Any] = {
        "valid": not wrong and record.get("reason") == "finished",
        "wrong": wrong[:10], "wrong_count": len(wrong), "reason": record.get("reason"),
        "completed": len(items), "found": sum(1 for i in items if i["record"] is not None),
        "process_wall_s": round(wall, 2),
        "startup_s": round(items[0]["started"] - record["process_started"], 2) if items else None,
    }
    if not result["valid"]:  # a wrong record: not timed
        result["log_tail"] = stderr[-3000:]
        return {**result, **summarize([])}
    # As casescraper's: a case runs from its start to the next case's start, the last to its end.
    starts = [i["started"] for i in items]
    gaps = [b - a for a, b in zip(starts, starts[1:])] + [items[-1]["done"] - starts[-1]]
    steps: dict[str, list[float]] = {}
    for i in items:
        for name, ms in i["steps"].items():
            steps.setdefault(name, []).append(ms / 1000)
    return {**result, **summarize(gaps),
            "cases_per_s_with_startup": round(len(items) / wall, 2) if wall else None,
            "steps": {name: summarize(xs) for name, xs in steps.items()},
            "stats": {k: v for k, v in record.get("stats", {}).items() if k.startswith("playwright/")}}
