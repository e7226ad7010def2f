"""Two workers of one job scheduled on a real Scrapyd (deployed with scrapyd-deploy, as in
test_scrapyd.py); one is cancelled mid-task and hands its task back: the other takes it
over without waiting for the lease (120 s) to lapse, and the merge holds every record once."""

from __future__ import annotations

import json
import time

import pytest

from casescraper.__main__ import main as casescraper_main

from .e2e import expected, saved_files, strip_run_fields
from .redis_server import isolated_config, needs_redis, redis_server  # noqa: F401 (fixtures)
from .test_scrapyd import marked_processes, server  # noqa: F401 (the module's Scrapyd)

pytestmark = [needs_redis, pytest.mark.usefixtures("isolated_config")]

LAST, END = 30, 20


def ledger_lines(out) -> int:
    path = out / "ledger" / "2025.jsonl"
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def test_two_workers_of_one_job_on_scrapyd(server, redis_server, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CASESCRAPER_QUEUE_BLOCK_SIZE", "5")
    url = redis_server.url
    assert casescraper_main(["enqueue", "--queue-url", url, "--job", "sd", "--years", "2025",
                             "--end", str(END)]) == 0
    outs = [tmp_path / "a", tmp_path / "b"]
    args = {"queue": "sd", "site": "demo", "demo_last_number": LAST, "demo_fade_ms": 0}
    jobs = [server.schedule(args, {"CASESCRAPER_OUTPUT_DIR": out, "CASESCRAPER_QUEUE_URL": url,
                                   "CASESCRAPER_WORKER_ID": f"host{i}", "DOWNLOAD_DELAY": 0.3})
            for i, out in enumerate(outs)]
    deadline = time.monotonic() + 180
    while ledger_lines(outs[0]) < 2:
        assert server.job_state(jobs[0])[0] != "finished", server.job_log(jobs[0])[-3000:]
        assert time.monotonic() < deadline, "the first worker did not get going"
        time.sleep(0.1)
    server.cancel(jobs[0])  # SIGTERM: a graceful stop that gives the task in hand back
    for job in jobs:
        server.wait_finished(job, timeout=300)
    cancelled, finished = (server.job_log(job) for job in jobs)
    assert "crawl closed: shutdown, exit status 0" in cancelled, cancelled[-3000:]
    assert "the next worker takes it" in cancelled
    assert "crawl closed: finished, exit status 0" in finished.rstrip().splitlines()[-1], finished[-3000:]
    assert "(job sd, worker host1)" in finished
    # Taken over although the lease (120 s) had not lapsed: handed back, not left to lapse.
    assert "(delivered 2 times: taken over)" in finished
    assert redis_server.password not in cancelled + finished
    assert not marked_processes(jobs)

    merged = tmp_path / "merged"
    assert casescraper_main(["merge", "--out", str(merged), *map(str, outs)]) == 0
    want = expected(2025, LAST, range(1, END + 1))
    got = saved_files(merged)
    assert set(got) == set(want)
    for case, record in got.items():
        assert strip_run_fields(record) == want[case], case
    capsys.readouterr()
    assert casescraper_main(["queue", "status", "--queue-url", url, "--job", "sd", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert (state["waiting"], state["pending"], state["done"]) == (0, 0, END // 5)
    assert set(state["workers"]) == {"host0", "host1"}
