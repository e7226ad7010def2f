"""Finding your data: a reader that finds nothing in the directory it reads, while a
directory below it (a demo crawl's `output/demo`) has data, says so and gives the
command that reads it."""

from __future__ import annotations

import pytest

from casescraper.__main__ import main
from casescraper.store.ledger import Ledger, Site
from casescraper.store.storage import CaseStore

from .test_report import record


@pytest.fixture
def output(tmp_path, monkeypatch):
    """`output/` as the first README command leaves it: the demo's data in output/demo only."""
    monkeypatch.chdir(tmp_path)
    demo = tmp_path / "output" / "demo"
    saved = CaseStore(str(demo)).write(record("IMM-1-25", "2025-01-10", "Toronto")).rel_path
    Ledger(str(demo), Site("demo")).record("IMM-1-25", "saved", run_id="d", year=2025, file_path=saved)
    (demo / "raw" / "2025").mkdir(parents=True)
    return "output"


@pytest.mark.parametrize("argv, says", [
    (["report", "--year", "2025"], "no ledger for 2025: "),
    (["changes"], "no ledger in "),
    (["changes", "--year", "2025"], "no ledger for 2025: "),
    (["dataset", "--years", "2025", "--out", "tables"], "no case files for 2025 under "),
    (["reparse", "--year", "2025"], "no kept evidence for 2025: "),
])
def test_the_error_names_the_directory_with_data_and_the_command(output, capsys, argv, says):
    assert main([*argv, "--output-dir", output]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"casescraper: error: {says}") and err.count("\n") == 1, err
    kind = {"report": "ledgers", "changes": "ledgers", "dataset": "case files",
            "reparse": "kept evidence"}[argv[0]]
    command = {"report": "report --year 2025", "changes": "changes", "dataset": "dataset --years 2025",
               "reparse": "reparse --year 2025"}[argv[0]]
    assert err.rstrip().endswith(f"; output/demo has {kind} for 2025: read them with "
                                 f"python -m casescraper {command} --output-dir output/demo"), err


def test_the_command_given_reads_the_data(output, capsys):
    assert main(["report", "--year", "2025", "--output-dir", output]) == 1
    command = capsys.readouterr().err.rsplit("read them with python -m casescraper ", 1)[1].split()
    assert main(command) == 0
    assert "IMM-1-25" in capsys.readouterr().out


def test_nothing_anywhere_gives_no_hint(tmp_path, capsys):
    (tmp_path / "output" / "ledger").mkdir(parents=True)
    assert main(["report", "--year", "2025", "--output-dir", str(tmp_path / "output")]) == 1
    assert "read them with" not in capsys.readouterr().err
