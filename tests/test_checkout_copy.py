"""The README's test command in a checkout that has been used: after the README's crawls
there is an `output/` (the demo's data in output/demo, a real crawl's ledger in output/),
a `config.toml` and, in the user's shell, CASESCRAPER_* variables. The tests must pass
there as in a fresh checkout, and leave those files as they were (conftest).

Kept cheap: a copy of the checkout with that data, and a few tests run there that read a
config file, a default output dir or a ledger where a careless test would read the
user's (one of them is a crawl of the demo court, as the crawl tests run it: with
the user's config.toml read, its rests and delays would take it past its timeout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from casescraper.store.ledger import Ledger, Site

from .conftest import ROOT
from .e2e import needs_browser

REPRESENTATIVE = [
    "tests/test_newcomer.py::test_a_terminals_log_is_short_and_ends_with_the_summary_apart",
    "tests/test_changes.py::test_default_output_dir_is_a_crawls",
    "tests/test_report.py::test_module_entry_point",
    "tests/test_config.py",
    "tests/test_options.py::test_what_the_spider_sets_before_the_freeze_is_seen",
    "tests/test_newcomer.py::test_report_refuses_to_merge_sites_and_reads_the_config_files_output_dir",
]

# A user's settings that would break the tests if they were read: nothing written, slow
# queries, and another output dir.
USER_CONFIG = """[app]
dry_run = true
rest_seconds = 600
rest_every = 1
output_dir = "output"

[scrapy]
DOWNLOAD_DELAY = 30
"""


def used_checkout(tmp_path):
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "output", "config.toml", "__pycache__", ".pytest_cache", "*.egg-info",
        "benchmarks"))
    out = copy / "output"
    Ledger(str(out / "demo"), Site("demo")).record("IMM-1-25", "no_results", run_id="demo", year=2025)
    Ledger(str(out), Site("real", "www.fct-cf.ca")).record("IMM-12334-25", "driver_error", run_id="real",
                                                           year=2025, error="no network")
    Ledger(str(out), Site("real", "www.fct-cf.ca")).record("IMM-4-25", "no_results", run_id="real",
                                                           year=2025)
    (copy / "config.toml").write_text(USER_CONFIG, encoding="utf-8")
    return copy


@needs_browser
def test_the_suite_ignores_a_used_checkouts_output_config_and_environment(tmp_path):
    copy = used_checkout(tmp_path)
    before = {p: p.read_bytes() for p in [copy / "config.toml", *sorted((copy / "output").rglob("*.jsonl"))]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASESCRAPER_") and k != "PYTHONPATH"}
    env.update(CASESCRAPER_DRY_RUN="true", CASESCRAPER_OUTPUT_DIR="output", SE_OFFLINE="true")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          f"--basetemp={tmp_path / 'inner'}", *REPRESENTATIVE],
                         cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "error" not in run.stdout.splitlines()[-1]
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.relative_to(copy).as_posix() for p in (copy / "output").rglob("*")) == [
        "output/demo", "output/demo/ledger", "output/demo/ledger/2025.jsonl",
        "output/ledger", "output/ledger/2025.jsonl"]
