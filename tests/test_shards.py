"""Three shard crawls at once into ONE output dir equal one crawl of the same numbers.

Each `scrapy crawl` process runs its own demo court with the same seed, so every process
serves the same data; `-a shard=I/3` gives each the numbers n with n % 3 == I - 1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from casescraper.browser.driver import MARKER_ENV, runs_root

from .conftest import ROOT
from .e2e import ENV, expected, fast, needs_browser, settings_args, spider_args, strip_run_fields

pytestmark = needs_browser

YEAR, END, LAST = 2025, 60, 80
ARGS = {"site": "demo", "year": YEAR, "end": END, "demo_last_number": LAST}
FILE_NAME = re.compile(r"^(IMM-[0-9]+-25)-[0-9]{8}\.json$")  # no -1 suffix: nothing collided


def start(out: Path, log: Path, **extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "cases", *spider_args(**fast({**ARGS, **extra})),
           *settings_args(out)]
    with open(log, "w") as stderr:
        return subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                                stderr=stderr, start_new_session=True)


def wait_all(procs: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # graceful: the crawl closes its browser
                proc.wait(timeout=30)


def files_by_case(out: Path) -> dict[str, tuple[str, dict]]:
    found: dict[str, tuple[str, dict]] = {}
    for path in sorted((out / "json").rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(out).as_posix()
        match = FILE_NAME.match(path.name)
        assert match, f"unexpected file {rel} (a temp file, or a suffix from a collision)"
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["case_number"] == match.group(1) and record["file_path"] == rel
        assert record["case_number"] not in found, f"two files for {record['case_number']}"
        found[record["case_number"]] = (rel, record)
    return found


def ledger(out: Path) -> list[dict]:
    raw = (out / "ledger" / f"{YEAR}.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.split(b"\n")[:-1]]  # every line parses


def marked(run_ids: set[str]) -> list[int]:
    dirs = {str(runs_root() / r) for r in run_ids}
    pids = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(MARKER_ENV) in dirs and proc.status() != psutil.STATUS_ZOMBIE:
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return pids


def test_three_shards_into_one_dir_equal_one_crawl(tmp_path):
    sharded, single = tmp_path / "sharded", tmp_path / "single"
    # The three shards start together; the single crawl alongside them, for reference.
    procs = [start(sharded, tmp_path / f"shard{i}.log", shard=f"{i}/3") for i in (1, 2, 3)]
    procs.append(start(single, tmp_path / "single.log"))
    wait_all(procs, timeout=150)
    logs = {p.name: p.read_text() for p in tmp_path.glob("*.log")}
    for proc, name in zip(procs, ["shard1.log", "shard2.log", "shard3.log", "single.log"]):
        assert proc.returncode == 0, logs[name][-3000:]
        assert "Spider closed (finished)" in logs[name], logs[name][-3000:]

    want = expected(YEAR, LAST, range(1, END + 1))
    assert 30 < len(want) < END, "the demo year must have gaps within 1..60"
    got, ref = files_by_case(sharded), files_by_case(single)
    assert set(got) == set(ref) == set(want)
    for case in want:
        assert strip_run_fields(got[case][1]) == strip_run_fields(ref[case][1]) == want[case], case
        # the same name: the date part is the day each was scraped, the same for both
        # unless the crawls straddle midnight UTC
        if got[case][1]["scraped_at"][:10] == ref[case][1]["scraped_at"][:10]:
            assert got[case][0] == ref[case][0]

    lines = ledger(sharded)
    assert len(lines) == END
    assert sorted(int(line["case_number"].split("-")[1]) for line in lines) == list(range(1, END + 1))
    assert {line["case_number"]: line["status"] for line in lines} == {
        line["case_number"]: line["status"] for line in ledger(single)}
    for line in lines:
        assert (line["status"] == "saved") == (line["case_number"] in want)
        if line["status"] == "saved":
            assert line["file_path"] == got[line["case_number"]][0]

    manifests = [json.loads(p.read_text()) for p in sorted((sharded / "runs").glob("*.json"))]
    assert len(manifests) == 3, "one run manifest per shard"
    run_ids = {m["run_id"] for m in manifests}
    assert len(run_ids) == 3
    assert sorted(m["arguments"]["shard"] for m in manifests) == ["1/3", "2/3", "3/3"]
    for m in manifests:
        assert m["close_reason"] == "finished" and m["total"] == END // 3
        index = int(m["arguments"]["shard"].split("/")[0])
        mine = [line for line in lines if line["run_id"] == m["run_id"]]
        assert {int(line["case_number"].split("-")[1]) % 3 for line in mine} == {index - 1}
        assert m["counts"]["saved"] == sum(line["status"] == "saved" for line in mine)
    assert not marked(run_ids), "a browser of a shard outlived its crawl"
