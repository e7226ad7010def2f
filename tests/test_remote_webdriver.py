"""A remote WebDriver end (here a standalone chromedriver on loopback) serves the crawl.

With CASESCRAPER_COMMAND_EXECUTOR set, the middleware starts no chromedriver of its own:
it opens one session on the remote end, crawls, and ends that session at close.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from casescraper.browser.driver import runs_root

from .e2e import expected, free_port, needs_browser, run_crawl, saved_files, strip_run_fields

pytestmark = needs_browser
LAST = 40


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture
def chromedriver(tmp_path):
    """`chromedriver --port=N` on loopback in its own process group, killed afterwards."""
    port = free_port()
    log = tmp_path / "chromedriver.log"
    # Chromium leaves an org.chromium.* socket dir in TMPDIR after quit: give it one of its
    # own, short (the socket path must stay under 108 bytes), and remove it afterwards.
    tmp = tempfile.mkdtemp(prefix="cs-remote-")
    proc = subprocess.Popen(
        [shutil.which("chromedriver"), f"--port={port}", "--allowed-ips=127.0.0.1",
         f"--log-path={log}"],
        env={**os.environ, "SE_OFFLINE": "true", "TMPDIR": tmp}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                if get(f"{url}/status")["value"]["ready"]:
                    break
            except OSError:
                pass
            assert proc.poll() is None, "chromedriver exited at startup"
            assert time.monotonic() < deadline, "chromedriver did not become ready"
            time.sleep(0.1)
        yield {"url": url, "proc": proc, "log": log}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # chromedriver and any Chromium it started
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        shutil.rmtree(tmp)


def test_crawl_through_a_remote_webdriver(tmp_path, chromedriver):
    result = run_crawl(tmp_path, {"site": "demo", "year": 2025, "max_cases": 10,
                                  "demo_last_number": LAST},
                       {"CASESCRAPER_COMMAND_EXECUTOR": chromedriver["url"]}, timeout=120)
    assert result["reason"] == "finished", result["log"][-3000:]
    want = expected(2025, LAST, range(1, 11))
    files = saved_files(tmp_path / "output")
    assert set(files) == set(want)
    for case, record in files.items():
        assert strip_run_fields(record) == want[case], case
    stats = result["stats"]
    assert stats["casescraper/driver/starts"] == 1
    assert stats["casescraper/cases/saved"] == len(want)
    # No local chromedriver: the responses carry no driver pid, no run dir was made.
    assert {r["driver_pid"] for r in result["responses"]} == {None}
    run_id = json.loads(next((tmp_path / "output" / "runs").glob("*.json")).read_text())["run_id"]
    assert not (runs_root() / run_id).exists()

    # The session was opened on the remote end once, and closed again.
    log = Path(chromedriver["log"]).read_text(encoding="utf-8", errors="replace")
    assert log.count("COMMAND InitSession") == 1, log[-3000:]
    assert log.count("COMMAND Quit") == 1, log[-3000:]
    assert get(f"{chromedriver['url']}/sessions")["value"] == []
    assert get(f"{chromedriver['url']}/status")["value"]["ready"] is True
    # ... and the Chromium processes that session started are gone.
    deadline = time.monotonic() + 10
    while alive := live_children(chromedriver["proc"].pid):
        assert time.monotonic() < deadline, f"Chromium left behind: {alive}"
        time.sleep(0.1)


def live_children(pid: int) -> list[str]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{child.pid} {child.name()}")
        except psutil.NoSuchProcess:
            continue
    return found
