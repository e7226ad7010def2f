"""Many hosts, one job: the span of queries of N queue workers against one, at a polite pace.

    python -m benchmarks.hosts [--workers 3] [--cases 45] [--delay 0.6] [--kill]

Starts a redis-server of its own (a free loopback port, a password, no persistence),
enqueues IMM-1-25 .. IMM-<cases>-25 in blocks of 5 (no end search: the range is known),
and runs the workers as operators do (`scrapy crawl cases -a queue=...`, each with its own
output dir, Chromium and demo court of the same data), with DOWNLOAD_DELAY=delay and no
jitter. The span of queries is the time from the first query's start, on any worker, to the
last one's (each worker runs through tests/crawl_runner.py, which records them); each
worker's mean gap is the mean time between its own query starts. In one run it measures one
worker, then N, and (--kill) N with one killed with kill -9 once it has asked 5 numbers:
how many numbers were asked twice for that kill. Prints one JSON object.

`run_hosts(workers, cases, delay, kill=False) -> dict` is what benchmarks.run calls.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from casescraper.browser.driver import kill_marked, runs_root

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "SE_OFFLINE": "true", "PYTHONPATH": str(ROOT)}
YEAR = 2025
BLOCK = 5
LEASE = 10  # seconds: a killed worker's task goes on after this


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Redis:
    def __init__(self, home: Path):
        self.port, self.password = _free_port(), secrets.token_hex(8)
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass", self.password,
             "--save", "", "--appendonly", "no", "--dir", str(home)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def _lines(out: Path) -> list[dict]:
    path = out / "ledger" / f"{YEAR}.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_bytes().split(b"\n") if x.strip()]


def _starts(report: Path) -> list[float]:
    """When each query of a worker started (its crawl_runner report; none if it was killed)."""
    if not report.exists():
        return []
    return sorted(r["query_started"] for r in json.loads(report.read_text())["responses"] if r["query_started"])


def run_hosts(workers: int, cases: int, delay: float, kill: bool = False) -> dict[str, Any]:
    """N workers on one job of `cases` numbers at DOWNLOAD_DELAY=delay; the span of queries,
    each worker's mean gap and exit status, and the numbers asked more than once."""
    home = Path(tempfile.mkdtemp(prefix="casescraper-hosts-"))
    redis = _Redis(home)
    procs: list[tuple[str, subprocess.Popen]] = []
    try:
        job = f"bench{workers}"
        env = {**ENV, "CASESCRAPER_QUEUE_BLOCK_SIZE": str(BLOCK)}
        subprocess.run([sys.executable, "-m", "casescraper", "enqueue", "--queue-url", redis.url, "--job", job,
                        "--years", str(YEAR), "--end", str(cases)], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        for i in range(1, workers + 1):
            name = f"w{i}"
            # tests/crawl_runner.py: the crawl `scrapy crawl` runs, recording when each query started.
            cmd = [sys.executable, "-m", "tests.crawl_runner", str(home / f"{name}.json"),
                   "-a", f"queue={job}", "-a", "site=demo",
                   "-a", f"demo_last_number={cases}", "-a", "demo_fade_ms=0",
                   "-s", f"CASESCRAPER_QUEUE_URL={redis.url}", "-s", f"CASESCRAPER_OUTPUT_DIR={home / name}",
                   "-s", f"CASESCRAPER_WORKER_ID={name}", "-s", f"CASESCRAPER_RUN_ID={job}-{name}",
                   "-s", f"CASESCRAPER_QUEUE_LEASE_SECONDS={LEASE}", "-s", f"DOWNLOAD_DELAY={delay}",
                   "-s", "RANDOMIZE_DOWNLOAD_DELAY=False", "-s", "CASESCRAPER_REST_SECONDS=0",
                   "-s", "LOG_LEVEL=INFO"]
            log = open(home / f"{name}.log", "w")
            procs.append((name, subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=log,
                                                 start_new_session=True)))
        killed = None
        if kill:
            name, proc = procs[0]
            deadline = time.monotonic() + 300
            while len(_lines(home / name)) < 5 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            killed = name
        for _, proc in procs:
            proc.wait(timeout=1800)
        starts = {name: _starts(home / f"{name}.json") for name, _ in procs}
        every = sorted(t for ts in starts.values() for t in ts)
        # What was asked, from the ledgers (a killed worker writes no report): a number
        # with lines in two dirs was asked twice.
        asked = Counter(line["case_number"] for name, _ in procs for line in _lines(home / name))
        return {
            "workers": workers, "cases": cases, "delay": delay, "killed": killed,
            "span_seconds": round(every[-1] - every[0], 2) if len(every) > 1 else None,
            "queries": len(every),
            "numbers": len(asked),
            "asked_twice": sorted((c for c, k in asked.items() if k > 1), key=lambda c: int(c.split("-")[1])),
            "mean_gap_seconds": {name: round((t[-1] - t[0]) / (len(t) - 1), 3)
                                 for name, t in starts.items() if len(t) > 1},
            "exit_status": {name: proc.returncode for name, proc in procs},
        }
    finally:
        for name, proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            kill_marked(str(runs_root() / f"bench{workers}-{name}"))
        redis.stop()
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.hosts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--cases", type=int, default=45)
    ap.add_argument("--delay", type=float, default=0.6)
    ap.add_argument("--kill", action="store_true", help="also a run with one worker killed mid-job")
    args = ap.parse_args(argv)
    one = run_hosts(1, args.cases, args.delay)
    many = run_hosts(args.workers, args.cases, args.delay)
    result: dict[str, Any] = {"one": one, "many": many,
                              "span_ratio": round(many["span_seconds"] / one["span_seconds"], 3)}
    if args.kill:
        killed = run_hosts(args.workers, args.cases, args.delay, kill=True)
        result["killed"] = killed
        result["asked_twice_per_kill"] = len(killed["asked_twice"])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
