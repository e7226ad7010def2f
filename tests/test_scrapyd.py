"""Deploy to a real Scrapyd and run the crawl from the egg, then cancel a running crawl.

The test starts its own Scrapyd on a free loopback port, with its own directory for
eggs, logs and databases, deploys with the real `scrapyd-deploy` from the project root,
and schedules `cases` through the HTTP API as an operator would. Scrapyd runs from that
directory with no PYTHONPATH, so the crawl imports casescraper from the egg only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import psutil
import pytest

from casescraper.browser.driver import MARKER_ENV, kill_marked, runs_root

from .conftest import ROOT
from .e2e import expected, free_port, needs_browser, saved_files, strip_run_fields

pytest.importorskip("scrapyd", reason="Scrapyd is not installed (pip install scrapyd)")
pytest.importorskip("scrapyd_client", reason="scrapyd-client is not installed (pip install scrapyd-client)")

pytestmark = needs_browser

PROJECT = "casescraper"
TARGET = "pytest"  # the deploy target this test adds in its own XDG_CONFIG_HOME/scrapy.cfg
LAST = 40


# --- helpers ---------------------------------------------------------------------------

class Scrapyd:
    """A Scrapyd process of this test, and its HTTP API."""

    def __init__(self, home: Path):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None
        self.jobs: list[str] = []

    def write_conf(self) -> None:
        (self.home / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            "bind_address = 127.0.0.1\n"
            f"http_port = {self.port}\n"
            f"eggs_dir = {self.home / 'eggs'}\n"
            f"logs_dir = {self.home / 'logs'}\n"
            "items_dir =\n"
            f"dbs_dir = {self.home / 'dbs'}\n"
            "jobs_to_keep = 10\n"
            "max_proc = 2\n"
            "poll_interval = 0.5\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        self.write_conf()
        # No PYTHONPATH (the repo is not importable) and cwd away from the checkout:
        # the crawl can only import casescraper from the deployed egg.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["SE_OFFLINE"] = "true"
        self.out = open(self.home / "scrapyd.out", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scrapyd", "--pidfile="], cwd=self.home, env=env,
            stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("daemonstatus.json")["status"] == "ok":
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, f"scrapyd exited: {self.log()[-3000:]}"
            assert time.monotonic() < deadline, f"scrapyd did not answer: {self.log()[-3000:]}"
            time.sleep(0.2)

    def log(self) -> str:
        return (self.home / "scrapyd.out").read_text(encoding="utf-8", errors="replace")

    def get(self, endpoint: str, **query: str) -> dict:
        url = self.url + endpoint + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def post(self, endpoint: str, pairs: list[tuple[str, str]]) -> dict:
        data = urllib.parse.urlencode(pairs).encode()
        with urllib.request.urlopen(self.url + endpoint, data=data, timeout=10) as response:
            answer = json.load(response)
        assert answer.get("status") == "ok", answer
        return answer

    def schedule(self, args: dict, settings: dict) -> str:
        pairs = [("project", PROJECT), ("spider", "cases"), *((k, str(v)) for k, v in args.items()),
                 *(("setting", f"{k}={v}") for k, v in settings.items())]
        job = self.post("schedule.json", pairs)["jobid"]
        self.jobs.append(job)
        return job

    def cancel(self, job: str, sig: str | None = None) -> dict:
        pairs = [("project", PROJECT), ("job", job)] + ([("signal", sig)] if sig else [])
        return self.post("cancel.json", pairs)

    def job_state(self, job: str) -> tuple[str, dict | None]:
        jobs = self.get("listjobs.json", project=PROJECT)
        for state in ("pending", "running", "finished"):
            for entry in jobs[state]:
                if entry["id"] == job:
                    return state, entry
        return "unknown", None

    def wait_finished(self, job: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state, entry = self.job_state(job)
            if state == "finished":
                return entry
            assert time.monotonic() < deadline, f"job {job} still {state} after {timeout}s"
            time.sleep(0.3)

    def job_log(self, job: str) -> str:
        path = self.home / "logs" / PROJECT / "cases" / f"{job}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        # Cancel what still runs (a failed test) so its browser is closed by the crawl itself.
        try:
            for job in self.jobs:
                if self.job_state(job)[0] in ("pending", "running"):
                    self.cancel(job)
            for job in self.jobs:
                self.wait_finished(job, timeout=30)
        except (OSError, AssertionError):
            pass
        with_suppress_killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with_suppress_killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.out.close()
        for job in self.jobs:  # last resort: nothing of ours may outlive the test
            kill_marked(str(runs_root() / job))


def with_suppress_killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def git_status() -> str | None:
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        return None
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def deploy_command() -> list[str]:
    """The `scrapyd-deploy` console script of this interpreter (else the same code via -m)."""
    script = Path(sys.executable).parent / "scrapyd-deploy"
    return [str(script)] if script.exists() else [sys.executable, "-m", "scrapyd_client.deploy"]


def marked_processes(run_ids: list[str]) -> list[str]:
    """chromedriver/Chromium processes whose marker points at one of these runs' dirs."""
    dirs = {str(runs_root() / run_id) for run_id in run_ids}
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            if proc.environ().get(MARKER_ENV) in dirs and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{proc.pid} {proc.info['name']}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


RUN_ID_IS_JOB_ID = ("the run id must be Scrapyd's job id: Scrapyd 1.5+ passes it only as the "
                    "spider argument _job (it no longer sets SCRAPY_JOB)")


def run_ids(out: Path) -> set[str]:
    """The run ids of the run manifests in `out`."""
    return {json.loads(p.read_text())["run_id"] for p in (out / "runs").glob("*.json")}


def read_ledger(out: Path) -> list[dict]:
    """Every ledger line, each of which must parse as a whole JSON object."""
    lines = (out / "ledger" / "2025.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"", "the ledger does not end with a complete line"
    return [json.loads(line) for line in lines[:-1]]


def temp_files(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def parity_lines(out: Path, parity: int) -> int:
    path = out / "ledger" / "2025.jsonl"
    if not path.exists():
        return 0
    count = 0
    for raw in path.read_bytes().splitlines():
        try:
            number = int(json.loads(raw)["case_number"].split("-")[1])
        except (ValueError, KeyError, IndexError):
            continue
        count += number % 2 == parity
    return count


# --- fixtures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running Scrapyd with the project deployed by `scrapyd-deploy`."""
    assert importlib.util.find_spec("pkg_resources") is not None, (
        "Scrapyd 1.6 activates eggs with pkg_resources, which setuptools 82+ no longer ships: "
        "install setuptools<81 (scrapyd itself requires it)")
    home = tmp_path_factory.mktemp("scrapyd")
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('casescraper'))"],
        cwd=home, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True, text=True)
    assert probe.stdout.strip() == "None", (
        "casescraper is importable without the egg (installed into site-packages?): this test "
        f"could not tell whether the egg is self-contained: {probe.stdout.strip()}")
    scrapyd = Scrapyd(home)
    scrapyd.start()
    try:
        xdg = home / "xdg"
        xdg.mkdir()
        (xdg / "scrapy.cfg").write_text(
            f"[deploy:{TARGET}]\nurl = {scrapyd.url}\nproject = {PROJECT}\n", encoding="utf-8")
        setup_py = (ROOT / "setup.py").read_bytes() if (ROOT / "setup.py").exists() else None
        before = git_status()
        deploy = subprocess.run(
            [*deploy_command(), TARGET], cwd=ROOT, env={**os.environ, "XDG_CONFIG_HOME": str(xdg)},
            capture_output=True, text=True, timeout=120)
        scrapyd.deploy = {
            "run": deploy, "git_before": before, "git_after": git_status(), "setup_py": setup_py,
            "setup_py_after": (ROOT / "setup.py").read_bytes() if (ROOT / "setup.py").exists() else None,
        }
        assert deploy.returncode == 0, deploy.stderr + deploy.stdout
        yield scrapyd
    finally:
        scrapyd.stop()


# --- tests -----------------------------------------------------------------------------

def test_deploy_leaves_the_tree_untouched(server):
    deploy = server.deploy
    answer = json.loads(deploy["run"].stdout)
    assert answer["status"] == "ok" and answer["project"] == PROJECT and answer["spiders"] == 1, answer
    assert server.get("listspiders.json", project=PROJECT)["spiders"] == ["cases"]
    # Our setup.py was used as it is: scrapyd-deploy did not write its own.
    assert deploy["setup_py"] is not None and deploy["setup_py"] == deploy["setup_py_after"]
    if deploy["git_before"] is not None:
        # build/ and *.egg-info may be left by setuptools but must be ignored by git.
        assert deploy["git_after"] == deploy["git_before"], (
            f"deploy changed the work tree:\n{deploy['git_before']}\n---\n{deploy['git_after']}")


def test_egg_is_self_contained(tmp_path):
    egg = tmp_path / "casescraper.egg"
    run = subprocess.run([*deploy_command(), "--build-egg", str(egg)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(egg) as z:
        names = set(z.namelist())
        entry_points = z.read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]" in entry_points and "settings = casescraper.settings" in entry_points
    static = {p.name for p in (ROOT / "casescraper" / "democourt" / "static").iterdir() if p.is_file()}
    assert {f"casescraper/democourt/static/{n}" for n in static} <= names
    assert "casescraper/schema/case.schema.json" in names
    assert "casescraper/spiders/cases.py" in names and "casescraper/settings.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_scheduled_crawl_runs_from_the_egg(server, tmp_path):
    out = tmp_path / "output"
    job = server.schedule(
        {"year": 2025, "site": "demo", "max_cases": 20, "demo_last_number": LAST},
        {"CASESCRAPER_OUTPUT_DIR": out, "DOWNLOAD_DELAY": 0},
    )
    entry = server.wait_finished(job, timeout=120)
    log = server.job_log(job)
    assert entry["log_url"].endswith(f"{job}.log")
    assert "Spider closed (finished)" in log, log[-4000:]
    assert run_ids(out) == {job}, RUN_ID_IS_JOB_ID
    # The log names the run (Scrapyd's job id) and where it writes.
    assert f"run {job} writing to {out}" in log, log[-4000:]

    want = expected(2025, LAST, range(1, 21))
    files = saved_files(out)
    assert set(files) == set(want)
    for case, record in files.items():
        assert strip_run_fields(record) == want[case], case
    ledger = read_ledger(out)
    assert len(ledger) == 20
    assert {line["case_number"] for line in ledger} == {f"IMM-{n}-25" for n in range(1, 21)}
    assert {line["run_id"] for line in ledger} == {job}, RUN_ID_IS_JOB_ID
    manifest = json.loads((out / "runs" / f"{job}.json").read_text())
    assert manifest["close_reason"] == "finished" and manifest["total"] == 20
    assert manifest["arguments"]["max_cases"] == "20" and "_job" not in manifest["arguments"]
    assert not temp_files(out)
    assert not marked_processes([job])
    # The log's last line names the close reason and the exit status; Scrapyd saw it too.
    assert "[casescraper] INFO: crawl closed: finished, exit status 0: " in log.rstrip().splitlines()[-1]
    assert f"Process finished: project='casescraper' spider='cases' job='{job}'" in server.log()


def test_a_job_of_several_years_collects_each_year(server, tmp_path):
    out = tmp_path / "output"
    last = 6
    job = server.schedule(
        {"years": "2024-2025", "site": "demo", "demo_last_number": last, "demo_fade_ms": 0},
        {"CASESCRAPER_OUTPUT_DIR": out, "DOWNLOAD_DELAY": 0, "CASESCRAPER_BOUNDARY_GAP": 4},
    )
    server.wait_finished(job, timeout=180)
    log = server.job_log(job)
    assert "[casescraper] INFO: crawl closed: finished, exit status 0: " in log.rstrip().splitlines()[-1], log[-3000:]
    want = {**expected(2024, last, range(1, last + 1)), **expected(2025, last, range(1, last + 1))}
    files = saved_files(out)
    assert set(files) == set(want)
    for case, record in files.items():
        assert strip_run_fields(record) == want[case], case
    for year in (2024, 2025):  # a ledger per year, every line of this job
        lines = [json.loads(line) for line in (out / "ledger" / f"{year}.jsonl").read_text().splitlines()]
        assert {line["run_id"] for line in lines} == {job}
        assert {line["case_number"] for line in lines if line["status"] == "saved"} == {
            c for c in want if c.endswith(f"-{year % 100}")}
    manifest = json.loads((out / "runs" / f"{job}.json").read_text())
    assert sorted(manifest["years"]) == ["2024", "2025"]
    assert not marked_processes([job])


def test_a_failed_job_says_why_in_its_last_line_and_exit_status(server, tmp_path):
    out = tmp_path / "output"
    job = server.schedule(
        {"year": 2025, "site": "demo", "max_cases": 10, "demo_last_number": LAST, "demo_forbid_after": 2},
        {"CASESCRAPER_OUTPUT_DIR": out, "DOWNLOAD_DELAY": 0},
    )
    server.wait_finished(job, timeout=120)
    log = server.job_log(job)
    assert "[casescraper] ERROR: crawl closed: blocked, exit status 3: " in log.rstrip().splitlines()[-1], log[-3000:]
    assert f"Process died: exitstatus=3 project='casescraper' spider='cases' job='{job}'" in server.log()
    assert not marked_processes([job])


def test_cancel_is_graceful(server, tmp_path):
    """Two jobs, shards of one year into one output dir, each cancelled mid-crawl."""
    out = tmp_path / "output"
    args = {"year": 2025, "site": "demo", "start": 1, "end": 200, "demo_last_number": 400,
            "demo_latency_ms": 100}
    settings = {"CASESCRAPER_OUTPUT_DIR": out, "DOWNLOAD_DELAY": 0}
    # shard 1/2 takes even numbers, 2/2 odd ones (n % 2 == I - 1)
    jobs = {sig: server.schedule({**args, "shard": shard}, settings)
            for sig, shard in ((None, "1/2"), ("TERM", "2/2"))}
    parity = {None: 0, "TERM": 1}
    deadline = time.monotonic() + 90
    for sig, job in jobs.items():
        while parity_lines(out, parity[sig]) < 3:
            state, _ = server.job_state(job)
            assert state in ("pending", "running"), f"job {job} {state} before it was cancelled"
            assert time.monotonic() < deadline, server.job_log(job)[-3000:]
            time.sleep(0.1)
        # the default signal (what an operator sends) and TERM (what a service manager sends)
        assert server.cancel(job, sig)["prevstate"] == "running"
    for job in jobs.values():
        server.wait_finished(job, timeout=60)
    assert run_ids(out) == set(jobs.values()), RUN_ID_IS_JOB_ID

    want = expected(2025, 400, range(1, 201))
    ledger = read_ledger(out)  # every line parses
    files = saved_files(out)  # every file parses, one per number
    assert not temp_files(out), temp_files(out)
    for case, record in files.items():
        assert strip_run_fields(record) == want[case], case
    for sig, job in jobs.items():
        log = server.job_log(job)
        name = "SIGINT" if sig is None else f"SIG{sig}"
        assert f"Received {name}, shutting down gracefully" in log, log[-3000:]
        assert "Spider closed (shutdown)" in log, log[-3000:]
        assert "crawl closed: shutdown, exit status 0: " in log.rstrip().splitlines()[-1]
        lines = [line for line in ledger if line["run_id"] == job]
        manifest = json.loads((out / "runs" / f"{job}.json").read_text())
        assert manifest["close_reason"] == "shutdown"
        assert manifest["arguments"]["end"] == "200" and manifest["arguments"]["shard"] in ("1/2", "2/2")
        assert manifest["total"] == len(lines) >= 3
        # Nothing lost: the cases done are a prefix of the shard's numbers (resume goes on
        # after the last), each saved case has its file, each file its ledger line.
        done = [int(line["case_number"].split("-")[1]) for line in lines]
        assert done == list(range(2 - parity[sig], 2 - parity[sig] + 2 * len(done), 2)), done
        for line in lines:
            case = line["case_number"]
            if line["status"] == "saved":
                assert (out / line["file_path"]).is_file() and case in files
            else:
                assert line["status"] == "no_results" and case not in want and case not in files
        assert len(done) < 100, "the crawl was not stopped by the cancel"
    assert set(files) == {line["case_number"] for line in ledger if line["status"] == "saved"}
    # The browsers are gone, and so are their run dirs.
    assert not marked_processes(sorted(run_ids(out) | set(jobs.values())))
    for job in jobs.values():
        assert not (runs_root() / job).exists()
