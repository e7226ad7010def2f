"""A newcomer's machine and a Scrapy user's habits (issue 13): set-up, Python version,
demo data apart from real data, unknown settings, one-line errors, pacing without a clock.

Browser-free: the crawls here stop at startup, before any browser would start.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy.crawler import Crawler
from scrapy.core.downloader import Slot
from scrapy.settings import Settings

from casescraper.config import ConfigAddon
from casescraper.errors import OutputError
from casescraper.store.ledger import Ledger, Site
from casescraper.pacing import SlotPacer
from casescraper.spiders.cases import CasesSpider

from .conftest import ROOT
from .e2e import ENV, scrapy_crawl, settings_args

BANNER = "started (bot: casescraper)"  # Scrapy's first log line


def errors_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("casescraper: error:")]


# --- 1. setup.sh and the README's two commands ----------------------------------------

def test_ci_runs_exactly_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.startswith("./setup.sh")]
    assert commands == [
        "./setup.sh && .venv/bin/python -m scrapy crawl cases -a site=demo -a year=2025 -a max_cases=50",
        "./setup.sh && .venv/bin/python -m pytest -q",
    ]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith("#")]
    assert ci[-1] == commands[1]


def test_setup_refuses_an_old_python_with_one_line_before_installing_anything(tmp_path):
    shutil.copy(ROOT / "setup.sh", tmp_path / "setup.sh")
    shutil.copy(ROOT / "requirements.txt", tmp_path / "requirements.txt")
    old = tmp_path / "python3.9"  # answers the script's questions as a Python 3.9 would
    old.write_text(f"#!{sys.executable}\nimport sys\nsys.version_info = (3, 9, 18, 'final', 0)\n"
                   "assert sys.argv[1] == '-c'\nexec(sys.argv[2])\n")
    old.chmod(0o755)
    run = subprocess.run(["bash", str(tmp_path / "setup.sh")], env={**os.environ, "PYTHON": str(old)},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines() == [
        f"setup.sh: error: casescraper needs Python 3.10 or newer; {old} is Python 3.9: "
        "install python3.10 or newer and run PYTHON=python3.X ./setup.sh"]
    assert not (tmp_path / ".venv").exists()


def test_setup_says_what_it_is_doing(tmp_path):
    """Run again on a machine that has everything: each step says so, and the last line
    says what to run (installing for real is never done by a test)."""
    venv = (ROOT / ".venv").resolve()
    if not (shutil.which("chromium") and shutil.which("chromedriver")) or not (
            (venv / ".requirements.installed").is_file()
            and (venv / ".requirements.installed").read_bytes() == (ROOT / "requirements.txt").read_bytes()):
        pytest.skip("needs Chromium and a .venv holding this requirements.txt (./setup.sh)")
    shutil.copy(ROOT / "setup.sh", tmp_path / "setup.sh")
    shutil.copy(ROOT / "requirements.txt", tmp_path / "requirements.txt")
    (tmp_path / ".venv").symlink_to(venv)
    run = subprocess.run(["bash", str(tmp_path / "setup.sh")], env={**os.environ, "PYTHON": sys.executable},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    lines = run.stdout.splitlines()
    assert all(line.startswith("setup.sh: ") for line in lines) and len(lines) == 6, lines
    assert lines[0].endswith(f"({sys.executable}): ok") and lines[1] == "setup.sh: Chromium and chromedriver: ok"
    assert lines[2:5] == ["setup.sh: redis-server: ok", "setup.sh: virtual environment .venv: ok",
                          "setup.sh: Python packages: ok"]
    assert lines[5] == ("setup.sh: ready: run .venv/bin/python -m scrapy crawl cases -a site=demo "
                        "-a year=2025 -a max_cases=50")


def test_venv_and_pytest_cache_are_ignored_by_git():
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        pytest.skip("not a git checkout")
    paths = [".venv/bin/python", ".pytest_cache/v/cache/nodeids"]
    run = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.split() == paths


# What the README's commands write, relative to the checkout: `-o`, `--out`, `--html`,
# `--atom`, LOG_FILE, and the redirection of a cron line.
WRITTEN = re.compile(r"(?:(?:^|[ \[])(?:-o|--out|--html|--atom) |LOG_FILE=| > ?)([A-Za-z0-9_][A-Za-z0-9_./-]*)",
                     re.M)


def test_every_documented_output_path_is_ignored_by_git():
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        pytest.skip("not a git checkout")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```(?:sh|ini)\n(.*?)```", readme, re.S)) + "\n" + "\n".join(
        re.findall(r"`([^`\n]*)`", readme))
    paths = sorted({m for m in WRITTEN.findall(blocks)  # not placeholders (FILE, DIR) or inputs
                    if not m.isupper() and not m.startswith(("/", "-"))} - {"watch.txt"})
    assert {"output/demo", "dataset", "report.html", "cases.jsonl", "feeds/watch.atom"} <= set(
        paths) | {"output/demo"}, paths
    paths.append("output/demo/ledger/2025.jsonl")
    run = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True,
                         text=True)
    assert sorted(run.stdout.split()) == sorted(paths), set(paths) - set(run.stdout.split())


# --- 2. Python version ------------------------------------------------------------------

def test_an_old_python_gets_one_line_from_every_entry_point():
    fake_old = ("import sys; sys.version_info = (3, 9, 18, 'final', 0); import runpy; "
                "runpy.run_module('casescraper', run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", fake_old, "report", "--year", "2025"], cwd=ROOT,
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"casescraper: error: Python 3.10 or newer is needed, this is Python 3.9 ({sys.executable}): "
        "run ./setup.sh and use .venv/bin/python"]


# --- 3. demo data never hides real data -------------------------------------------------

def crawler_settings(tmp_path: Path, args: dict, cmdline: dict | None = None,
                     env: dict | None = None) -> Settings:
    """The settings `scrapy crawl cases` resolves, in tmp_path, before it starts anything."""
    return resolved(tmp_path, args, cmdline, env).settings


def resolved(tmp_path: Path, args: dict, cmdline: dict | None = None,
             env: dict | None = None) -> Crawler:
    settings = Settings()
    settings.setmodule("casescraper.settings", priority="project")
    for name, value in (cmdline or {}).items():
        settings.set(name, value, priority="cmdline")
    crawler = Crawler(CasesSpider, settings)
    crawler.spider = CasesSpider.from_crawler(crawler, **args)
    ConfigAddon(environ=env or {}, cwd=str(tmp_path), crawler=crawler).update_settings(crawler.settings)
    return crawler


def test_demo_writes_under_its_own_default_dir_unless_told_otherwise(tmp_path):
    demo = {"site": "demo", "year": "2025"}
    assert crawler_settings(tmp_path, demo)["CASESCRAPER_OUTPUT_DIR"] == os.path.join("output", "demo")
    assert crawler_settings(tmp_path, {"year": "2025", "end": "5"})["CASESCRAPER_OUTPUT_DIR"] == "output"
    given = {"CASESCRAPER_OUTPUT_DIR": str(tmp_path / "mine")}
    assert crawler_settings(tmp_path, demo, cmdline=given)["CASESCRAPER_OUTPUT_DIR"] == given[
        "CASESCRAPER_OUTPUT_DIR"]
    assert crawler_settings(tmp_path, demo, env=given)["CASESCRAPER_OUTPUT_DIR"] == given[
        "CASESCRAPER_OUTPUT_DIR"]
    (tmp_path / "config.toml").write_text('[app]\noutput_dir = "from-file"\n')
    assert crawler_settings(tmp_path, demo)["CASESCRAPER_OUTPUT_DIR"] == "from-file"


def test_the_spider_knows_its_site_and_refuses_another_sites_ledger(tmp_path):
    out = tmp_path / "out"
    Ledger(str(out), Site("demo")).record("IMM-3-25", "no_results", run_id="d", year=2025)
    real = {"CASESCRAPER_OUTPUT_DIR": str(out), "CASESCRAPER_SITE_URL": "https://court.example/x"}
    with pytest.raises(OutputError, match="holds lines of site demo, this crawl is site real"):
        crawler_settings(tmp_path, {"case": "IMM-3-25"}, cmdline=real)
    assert resolved(tmp_path, {"year": "2024"}, cmdline=real).spider.ledger_site == Site(
        "real", "court.example")  # another year's ledger: fine
    demo = resolved(tmp_path, {"site": "demo", "year": "2025"}, {"CASESCRAPER_OUTPUT_DIR": str(out)})
    assert demo.spider.ledger_site == Site("demo")


def test_a_real_crawl_into_a_demo_output_dir_stops_with_one_line(tmp_path):
    out = tmp_path / "output"
    Ledger(str(out), Site("demo")).record("IMM-1-25", "no_results", run_id="d", year=2025)
    # A dead loopback URL: should the check ever fail, nothing leaves this machine.
    dead = {"CASESCRAPER_SITE_URL": "http://127.0.0.1:9/en/court-files-and-decisions/court-files"}
    run = scrapy_crawl(out, {"year": 2025, "max_cases": 2}, dead)
    assert run.returncode == 1
    assert errors_of(run.stderr) == [
        f"casescraper: error: {out / 'ledger' / '2025.jsonl'} holds lines of site demo, this crawl "
        "is site real (127.0.0.1): give each site its own output dir (-s CASESCRAPER_OUTPUT_DIR=DIR)"]
    assert BANNER not in run.stderr and "Traceback" not in run.stderr
    # Scrapyd (LOG_FILE set) gets the same line, in the job's log too.
    log = tmp_path / "job.log"
    run = scrapy_crawl(out, {"year": 2025, "max_cases": 2}, {**dead, "LOG_FILE": log})
    assert run.returncode == 1 and len(errors_of(run.stderr)) == 1
    assert "holds lines of site demo" in log.read_text()
    assert "browser 1 started" not in log.read_text()


def test_report_refuses_to_merge_sites_and_reads_the_config_files_output_dir(tmp_path):
    out = tmp_path / "from-config"
    Ledger(str(out), Site("real", "www.fct-cf.ca")).record("IMM-1-25", "no_results", run_id="r",
                                                           year=2025)
    (tmp_path / "config.toml").write_text(f'[app]\noutput_dir = "{out}"\n')

    def report(*extra: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in ENV.items() if k != "CASESCRAPER_CONFIG"}  # ./config.toml
        return subprocess.run([sys.executable, "-m", "casescraper", "report", "--year", "2025", *extra],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    run = report()
    assert run.returncode == 0 and str(out / "ledger" / "2025.jsonl") in run.stdout, run.stderr
    assert report("--output-dir", str(tmp_path / "none")).returncode == 1  # the option wins
    Ledger(str(out), Site("demo")).record("IMM-2-25", "no_results", run_id="d", year=2025)
    run = report()
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines() == [
        f"casescraper: error: {out / 'ledger' / '2025.jsonl'} mixes sites: 1 line(s) of real "
        "(www.fct-cf.ca) and 1 of demo; a report would merge them: keep each site in its own "
        "output dir"]


# --- 4 and 10. unknown settings, errors before the banner, the environment --------------

@pytest.mark.parametrize("how", ["cmdline", "environment"])
def test_a_typod_setting_stops_the_crawl_with_the_closest_name_and_nothing_else(tmp_path, how):
    out = tmp_path / "output"
    typo = {"CASESCRAPER_OUTPT_DIR": str(tmp_path / "elsewhere")}
    if how == "cmdline":  # Scrapyd's setting=NAME=VALUE arrives as this same -s
        run = scrapy_crawl(out, {"site": "demo", "year": 2025, "max_cases": 2}, typo)
        origin = "the command line (-s) or Scrapyd (setting=)"
    else:
        run = scrapy_crawl(out, {"site": "demo", "year": 2025, "max_cases": 2}, env=typo)
        origin = "environment variable CASESCRAPER_OUTPT_DIR"
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"casescraper: error: CASESCRAPER_OUTPT_DIR (from {origin}): unknown setting; did you mean "
        "CASESCRAPER_OUTPUT_DIR? The settings are listed in config.example.toml"]
    assert not out.exists() and not (tmp_path / "elsewhere").exists()


def test_an_unknown_spider_is_one_line_listing_the_spiders(tmp_path):
    run = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "casez", *settings_args(tmp_path / "out")],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "casescraper: error: no spider named casez; this project's spiders: cases "
        "(e.g. scrapy crawl cases -a year=2025)"]


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="Chromium and chromedriver are required")
def test_a_terminals_log_is_short_and_ends_with_the_summary_apart(tmp_path):
    run = scrapy_crawl(tmp_path / "out", {"site": "demo", "year": 2025, "max_cases": 2})
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    for noise in ("Overridden settings", "Enabled extensions", "Enabled item pipelines",
                  "Dumping Scrapy stats", "Telnet", "Versions:"):
        assert noise not in run.stderr, noise
    assert len(lines) < 25, run.stderr
    # the summary last, after a blank line, just before the close line
    assert lines[-3] == "" and "[casescraper.manifest] INFO: run " in lines[-2], lines[-4:]
    assert ": saved 2 (IMM-1-25 to IMM-2-25), no results 0, failed 0" in lines[-2]
    assert "crawl closed: finished, exit status 0" in lines[-1]
    assert sum("saved 2 (IMM-1-25" in line for line in lines) == 1  # shown once


def test_a_bad_argument_is_the_only_line_printed(tmp_path):
    run = scrapy_crawl(tmp_path / "output", {"year": "abc"})
    assert run.returncode == 1
    assert run.stderr.splitlines() == [  # no banner before it
        "casescraper: error: argument year='abc' is invalid: use -a year=YYYY between 1971 and "
        f"{datetime.now(timezone.utc).year + 1}"]


def test_browser_path_from_the_environment_is_honoured(tmp_path):
    env = {"SELENIUM_BROWSER_EXECUTABLE_PATH": "/nonexistent/chromium"}
    run = scrapy_crawl(tmp_path / "output", {"site": "demo", "year": 2025, "max_cases": 2}, env=env)
    assert run.returncode != 0
    assert errors_of(run.stderr) and errors_of(run.stderr)[-1].startswith(
        "casescraper: error: Chromium not found at '/nonexistent/chromium'")
    assert run.stderr.rstrip().splitlines()[-1] == errors_of(run.stderr)[-1]  # the last line


def test_docs_agree_on_max_driver_restarts_and_explain_connection_refused():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| CASESCRAPER_MAX_DRIVER_RESTARTS"))
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    comment = " ".join(example.split("\nmax_driver_restarts =", 1)[0].split("\n")[-2:])
    for text in (row, comment):
        assert "without a successful case in between" in text and "driver_restarts_exhausted" in text
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "Connection refused" in deploy and "daemonstatus.json" in deploy
    assert "../shared" in readme and "skip" in readme.split("## Tests", 1)[1]


# --- 9. pacing, on a clock of the test's own --------------------------------------------

def pace(delay: float, jitter: float = 0.0, queries: int = 5, case_seconds: float = 0.05,
         rest_every: int = 0, rest_seconds: float = 0.0) -> tuple[list[float], list[float]]:
    """(query start times, sleeps asked for) of the middleware's pacing (pacing.SlotPacer)
    with a Scrapy download slot of that delay and jitter, on a fake clock."""
    clock = [1000.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    slot = Slot(concurrency=1, delay=delay, jitter=jitter)
    crawler = SimpleNamespace(stats=SimpleNamespace(inc_value=lambda key: None))
    pacer = SlotPacer(crawler, rest_every, rest_seconds, slot_for=lambda request: slot,
                      clock=lambda: clock[0], wall=lambda: clock[0], sleep=sleep)

    async def query() -> float:
        turn = await pacer.wait(object())
        clock[0] += case_seconds  # the case itself
        pacer.finish(turn)
        return turn.started

    return [asyncio.run(query()) for _ in range(queries)], sleeps


def test_download_delay_is_waited_once_from_the_previous_querys_start():
    starts, sleeps = pace(delay=0.6)
    assert [round(b - a, 9) for a, b in zip(starts, starts[1:])] == [0.6] * 4
    assert [round(s, 9) for s in sleeps] == [0.55] * 4  # the case's own time counts
    assert pace(delay=0.0)[1] == []  # no delay: never waits


def test_jitter_spreads_the_gaps_within_its_bounds():
    starts, _ = pace(delay=0.6, jitter=0.5, queries=40)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(0.3 - 1e-9 <= g <= 0.9 + 1e-9 for g in gaps) and len(set(gaps)) > 30, gaps


def test_a_rest_every_n_queries():
    _, sleeps = pace(delay=0.0, queries=7, rest_every=3, rest_seconds=60)
    assert sleeps == [60, 60]  # before queries 4 and 7
