"""Many hosts, one job, end to end: worker processes (`scrapy crawl cases -a queue=NAME`),
each with its own output dir and its own Chromium, on one job in a real redis-server (a
free port, a password), against demo courts serving the same data. One worker is killed
with kill -9, its browser with it; the others finish; `merge` of the dirs equals the demo
court's records exactly once, and `queue status` shows nothing pending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casescraper.__main__ import main as casescraper_main
from casescraper.browser.driver import kill_marked, runs_root

from .conftest import ROOT
from .e2e import ENV, expected, our_processes, saved_files, settings_args, spider_args, strip_run_fields
from .e2e import needs_browser
from .redis_server import isolated_config, needs_redis, redis_server  # noqa: F401 (fixtures)

pytestmark = [needs_browser, needs_redis, pytest.mark.usefixtures("isolated_config")]

YEAR = 2025
LEASE = 4  # seconds: a killed worker's task goes to another one after this
DELAY = 0.25


class Worker:
    """`scrapy crawl cases -a queue=job1 ...`; with `report`, the same crawl through
    tests/crawl_runner.py, which also records when each query started."""

    def __init__(self, tmp: Path, name: str, url: str, last: int, report: bool = False,
                 knobs: dict | None = None, **settings):
        self.name, self.out, self.run_id = name, tmp / name, f"{name}-run"
        self.report = tmp / f"{name}.json" if report else None
        args = {"queue": "job1", "site": "demo", "demo_last_number": last, "demo_fade_ms": 0, **(knobs or {})}
        pairs = {"CASESCRAPER_QUEUE_URL": url, "CASESCRAPER_WORKER_ID": name, "CASESCRAPER_RUN_ID": self.run_id,
                 "CASESCRAPER_QUEUE_LEASE_SECONDS": LEASE, "DOWNLOAD_DELAY": DELAY,
                 "RANDOMIZE_DOWNLOAD_DELAY": False, **settings}
        crawl = ["tests.crawl_runner", str(self.report)] if report else ["scrapy", "crawl", "cases"]
        cmd = [sys.executable, "-m", *crawl, *spider_args(**args), *settings_args(self.out, **pairs)]
        self.log = tmp / f"{name}.log"
        with open(self.log, "w") as log:
            env = {**ENV, "CASESCRAPER_CONFIG": os.environ["CASESCRAPER_CONFIG"]}  # isolated_config
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                         start_new_session=True)

    def lines(self) -> list[dict]:
        path = self.out / "ledger" / f"{YEAR}.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_bytes().split(b"\n") if x.strip()]

    def wait_lines(self, count: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines()) < count:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker did not get going"
            time.sleep(0.05)

    def kill9(self) -> None:
        """kill -9 the worker and its browser, as a host that dies takes both: the crawl's
        process group, then chromedriver's and Chromium's (their own session, found by the
        run's marker)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        kill_marked(str(runs_root() / self.run_id))
        deadline = time.monotonic() + 30
        while our_processes(self.run_id):
            assert time.monotonic() < deadline, "the killed worker's browser outlived it"
            time.sleep(0.05)

    def finish(self, timeout: float = 300) -> str:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=60)
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        kill_marked(str(runs_root() / self.run_id))


def enqueue(url: str, *args: str) -> None:
    assert casescraper_main(["enqueue", "--queue-url", url, "--job", "job1", *args]) == 0


def status(url: str, capsys) -> dict:
    capsys.readouterr()
    assert casescraper_main(["queue", "status", "--queue-url", url, "--job", "job1", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def mean_gap(report: Path) -> float:
    """The mean time between the starts of a worker's queries (canaries included)."""
    starts = sorted(r["query_started"] for r in json.loads(report.read_text())["responses"])
    return (starts[-1] - starts[0]) / (len(starts) - 1)


def merged(tmp: Path, workers: list[Worker]) -> Path:
    out = tmp / "merged"
    assert casescraper_main(["merge", "--out", str(out), *(str(w.out) for w in workers)]) == 0
    return out


def assert_exactly_the_demo_records(out: Path, last: int, numbers: range) -> None:
    got = saved_files(out)  # asserts one file per case
    want = expected(YEAR, last, numbers)
    assert set(got) == set(want)
    for case, record in got.items():
        assert strip_run_fields(record) == want[case], case


def assert_no_password(tmp: Path, password: str) -> None:
    for path in tmp.rglob("*"):
        if path.is_file() and "redis" not in path.parts:
            assert password.encode() not in path.read_bytes(), f"the queue's password is in {path}"


def test_three_workers_one_killed_mid_job(redis_server, tmp_path, capsys, monkeypatch):
    last, end = 40, 36
    monkeypatch.setenv("CASESCRAPER_QUEUE_BLOCK_SIZE", "4")
    enqueue(redis_server.url, "--years", str(YEAR), "--end", str(end))
    workers = [Worker(tmp_path, f"w{i}", redis_server.url, last, report=i > 1) for i in (1, 2, 3)]
    try:
        workers[0].wait_lines(3)
        workers[0].kill9()
        logs = [w.finish() for w in workers[1:]]
    finally:
        for w in workers:
            w.stop()
    for w, log in zip(workers[1:], logs):
        assert w.proc.returncode == 0, log[-3000:]
        assert json.loads(w.report.read_text())["reason"] == "finished", log[-3000:]
        assert f"(job job1, worker {w.name})" in log  # the summary names job and worker
        manifest = json.loads((w.out / "runs" / f"{w.run_id}.json").read_text())
        assert manifest["queue"] == {"job": "job1", "worker": w.name}
        # Paced as one host is: the slot's delay between query starts (a timer may fire a
        # clock tick early, hence the microsecond's allowance).
        assert mean_gap(w.report) >= DELAY - 1e-6
    out = merged(tmp_path, workers)
    assert_exactly_the_demo_records(out, last, range(1, end + 1))
    state = status(redis_server.url, capsys)
    assert (state["waiting"], state["pending"], state["done"]) == (0, 0, end // 4)
    assert state["settled"] == {str(YEAR): end}
    assert_no_password(tmp_path, redis_server.password)


def test_the_worker_holding_the_end_search_killed(redis_server, tmp_path, capsys, monkeypatch):
    last = 24
    monkeypatch.setenv("CASESCRAPER_QUEUE_BLOCK_SIZE", "6")
    enqueue(redis_server.url, "--years", str(YEAR))
    gap = {"CASESCRAPER_BOUNDARY_GAP": 5}
    workers = [Worker(tmp_path, f"w{i}", redis_server.url, last, **gap) for i in (1, 2)]
    try:
        deadline = time.monotonic() + 180
        while True:  # the worker that took the end search, once it has asked a few numbers
            pending = status(redis_server.url, capsys)["pending_tasks"]
            holder = next((w for w in workers if pending and pending[0]["worker"] == w.name), None)
            if holder is not None and len(holder.lines()) >= 2:
                break
            assert time.monotonic() < deadline, "no worker took the end search"
            time.sleep(0.05)
        assert pending[0]["task"] == f"end/IMM/{YEAR}/1"
        holder.kill9()
        other = next(w for w in workers if w is not holder)
        log = other.finish()
    finally:
        for w in workers:
            w.stop()
    assert other.proc.returncode == 0 and "crawl closed: finished" in log, log[-3000:]
    assert "took end search of 2025 from IMM-1-25 (delivered 2 times: taken over)" in log
    out = merged(tmp_path, workers)
    assert_exactly_the_demo_records(out, last, range(1, last + 1))
    state = status(redis_server.url, capsys)
    assert (state["waiting"], state["pending"]) == (0, 0)
    assert state["ends"] == {str(YEAR): max(int(c.split("-")[1]) for c in expected(YEAR, last, range(1, last + 1)))}


def test_a_blocked_worker_stops_without_ack_and_the_next_one_goes_on(redis_server, tmp_path, capsys,
                                                                      monkeypatch):
    last = 8
    monkeypatch.setenv("CASESCRAPER_QUEUE_BLOCK_SIZE", "8")
    enqueue(redis_server.url, "--years", str(YEAR), "--end", str(last))
    blocked = Worker(tmp_path, "w1", redis_server.url, last, knobs={"demo_forbid_after": 3})
    try:
        log = blocked.finish()
    finally:
        blocked.stop()
    assert blocked.proc.returncode == 3 and "crawl closed: blocked, exit status 3" in log, log[-3000:]
    state = status(redis_server.url, capsys)
    assert (state["done"], state["pending"]) == (0, 1), "not acknowledged"
    assert state["pending_tasks"][0]["idle_seconds"] > LEASE, "given back: it looks lapsed at once"
    assert len(blocked.lines()) >= 3
    other = Worker(tmp_path, "w2", redis_server.url, last)
    try:
        log = other.finish()
    finally:
        other.stop()
    assert other.proc.returncode == 0 and "crawl closed: finished" in log, log[-3000:]
    assert_exactly_the_demo_records(merged(tmp_path, [blocked, other]), last, range(1, last + 1))
    assert status(redis_server.url, capsys)["done"] == 1
