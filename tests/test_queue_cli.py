"""`python -m casescraper enqueue` and `queue status|retry-failed` against a real redis-server;
`-a queue=NAME` refused before any browser when the queue cannot be used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from casescraper.__main__ import main as casescraper_main
from casescraper.queue.job import Job

from .conftest import ROOT
from .e2e import ENV, free_port, settings_args
from .redis_server import isolated_config, needs_redis, redis_server  # noqa: F401 (fixtures)
from .test_merge import RECORDS, crawl

pytestmark = [needs_redis, pytest.mark.usefixtures("isolated_config")]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = casescraper_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_enqueue_twice_adds_nothing_and_status_shows_it(redis_server, capsys, monkeypatch):
    monkeypatch.setenv("CASESCRAPER_QUEUE_BLOCK_SIZE", "20")
    url = redis_server.url
    code, out, err = run(capsys, "enqueue", "--queue-url", url, "--job", "j", "--years", "2024-2025")
    assert (code, err) == (0, "") and "2 task(s) added, 0 already there" in out
    code, out, _ = run(capsys, "enqueue", "--queue-url", url, "--job", "j", "--years", "2023",
                       "--start", "5", "--end", "44")
    assert code == 0 and "2 task(s) added" in out and "blocks of 20" in out
    code, out, _ = run(capsys, "enqueue", "--queue-url", url, "--job", "j", "--years", "2023-2025")
    assert code == 0 and "1 task(s) added, 2 already there" in out  # 2023's end search is new
    code, out, _ = run(capsys, "queue", "status", "--queue-url", url, "--job", "j", "--json")
    state = json.loads(out)
    assert (state["waiting"], state["lag"], state["pending"], state["done"]) == (5, 5, 0, 0)
    assert redis_server.password not in out and ":***@" in state["queue"]
    code, out, _ = run(capsys, "queue", "status", "--queue-url", url, "--job", "j")
    assert code == 0 and "5 waiting, 0 pending, 0 done" in out and redis_server.password not in out


@pytest.mark.parametrize("argv, says", [
    (["enqueue", "--job", "j", "--years", "2025"], "no queue URL: give --queue-url"),
    (["enqueue", "--queue-url", "{url}", "--job", "j", "--years", "abc"], "argument years"),
    (["enqueue", "--queue-url", "{url}", "--job", "j", "--years", "2024-2025", "--end", "9"],
     "argument end applies to one year"),
    (["enqueue", "--queue-url", "{url}", "--job", "j"], "give --years"),
    (["enqueue", "--queue-url", "{url}", "--job", "j", "--years", "2025", "--court", "z"], "argument court="),
    (["enqueue", "--queue-url", "{wrong}", "--job", "j", "--years", "2025"], "refused the password"),
    (["enqueue", "--queue-url", "{closed}", "--job", "j", "--years", "2025"], "cannot reach the queue"),
    (["enqueue", "--queue-url", "{url}", "--job", "a/b", "--years", "2025"], "job name 'a/b' is invalid"),
    (["queue", "status", "--queue-url", "{url}", "--job", "nojob"], "job nojob has no tasks"),
])
def test_each_mistake_is_one_line_without_the_password(redis_server, capsys, monkeypatch, argv, says):
    values = {"url": redis_server.url, "wrong": redis_server.url.replace(redis_server.password, "xyzzy42"),
              "closed": f"redis://:xyzzy42@127.0.0.1:{free_port()}/0"}
    code, out, err = run(capsys, *[a.format(**values) for a in argv])
    assert code == 2 and out == ""
    assert says in err and err.count("\n") == 1 and err.startswith("casescraper: error:")
    assert redis_server.password not in err and "xyzzy42" not in err


def test_retry_failed_and_from_gaps_queue_the_numbers_again(redis_server, capsys, tmp_path):
    url = redis_server.url
    assert run(capsys, "enqueue", "--queue-url", url, "--job", "j", "--years", "2025", "--end", "10")[0] == 0
    job = Job(url, "j")
    job.settle([("IMM-3-25", "driver_error"), ("IMM-4-25", "saved"), ("IMM-5-25", "parse_error")])
    code, out, _ = run(capsys, "queue", "retry-failed", "--queue-url", url, "--job", "j")
    assert code == 0 and "2 failed numbers, 1 task(s) added" in out
    assert run(capsys, "queue", "retry-failed", "--queue-url", url, "--job", "j")[1].endswith(
        "0 task(s) added\n"), "not twice while it waits"

    merged = tmp_path / "merged"
    crawl(merged, "run-a", "2025-03-01T10:00", {"IMM-1-25": RECORDS["IMM-1-25"], "IMM-4-25": "driver_error",
                                                "IMM-5-25": RECORDS["IMM-5-25"]})
    code, out, _ = run(capsys, "enqueue", "--queue-url", url, "--job", "j", "--from-gaps", str(merged))
    assert code == 0 and "1 task(s) added" in out and "3 numbers no host settled" in out
    entries = job.r.xrange(job.stream)
    assert entries[-1][1]["numbers"] == "IMM-2-25,IMM-3-25,IMM-4-25"


def crawl_refused(tmp_path, args: list[str], settings: dict) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "cases", *args, *settings_args(tmp_path / "out", **settings)]
    env = {**ENV, "CASESCRAPER_CONFIG": os.environ["CASESCRAPER_CONFIG"]}  # isolated_config
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_worker_without_a_usable_queue_stops_before_any_browser(redis_server, tmp_path):
    wrong = redis_server.url.replace(redis_server.password, "xyzzy42")
    for settings, says in [({}, "argument queue=j needs the queue's URL"),
                           ({"CASESCRAPER_QUEUE_URL": wrong}, "refused the password"),
                           ({"CASESCRAPER_QUEUE_URL": redis_server.url}, "job j has no tasks")]:
        done = crawl_refused(tmp_path, ["-a", "queue=j", "-a", "site=demo"], settings)
        assert done.returncode == 1, done.stderr[-2000:]
        assert done.stderr.startswith("casescraper: error:") and says in done.stderr, done.stderr[-2000:]
        assert done.stderr.count("\n") == 1 and "xyzzy42" not in done.stderr
        assert not (tmp_path / "out").exists()


def test_a_demo_worker_refuses_an_output_dir_of_real_data(redis_server, tmp_path):
    from casescraper.store.ledger import Ledger, Site

    Job(redis_server.url, "j").create("IMM", "t", 50)
    real = Ledger(str(tmp_path / "out"), Site("real", "www.fct-cf.ca"))
    real.record("IMM-1-24", "no_results", run_id="r", year=2024)
    real.close()
    done = crawl_refused(tmp_path, ["-a", "queue=j", "-a", "site=demo"],
                         {"CASESCRAPER_QUEUE_URL": redis_server.url})
    assert done.returncode == 1 and "holds lines of site real" in done.stderr, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1
