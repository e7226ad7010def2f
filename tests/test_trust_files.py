"""Issue 23 points 3-7 and issue 21's output layout, with real files: readers survive any
file, files are checked against their ledger line, honest endings, whole outputs, one
crawl per year and output dir; and every tool finds a crawl's non-default case folder."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from casescraper.commands.crawl import EXIT_ALL_FAILED, EXIT_WRITES_LOST, outcome_code, switched_off
from casescraper.errors import OutputError
from casescraper.record import evidence
from casescraper.store import runlock, safe_read
from casescraper.store.ledger import Ledger
from casescraper.tools import changes, dataset, exits, reparse, report

from .conftest import ROOT
from .e2e import ENV, needs_browser, scrapy_crawl

DEMO = {"site": "demo", "year": 2025, "demo_last_number": 12, "max_cases": 4}


def case(n: int, **more) -> dict:
    return {"schema_version": 2, "case_number": f"IMM-{n}-25", "court": "t", "style_of_cause": f"CASE {n}",
            "nature_of_proceeding": None, "case_type": None, "type_of_action": None,
            "filing_date": "2025-01-02", "office": "Toronto", "language": "English", "other_fields": {},
            "parties": [], "related": None, "docket_entries": [],
            "source_url": "http://127.0.0.1/x", "scraped_at": "2025-06-01T10:00:00+00:00",
            "file_path": f"json/2025/IMM-{n}-25-20250601.json", **more}


def saved(root: Path, n: int, text: "str | bytes | None" = None, **more) -> str:
    """A case file of IMM-n-25 and its `saved` ledger line (with the file's SHA-256)."""
    rel = f"json/2025/IMM-{n}-25-20250601.json"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text if text is not None else json.dumps(case(n, **more))
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    Ledger(str(root)).record(f"IMM-{n}-25", "saved", run_id="r", year=2025, file_path=rel)
    return rel


# --- 3: readers survive any file -----------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than"),
    (b'{"case_number": "IMM-1-25", "style_of_cause": "\\ud800"}', "lone UTF-16 surrogate"),
    (b'{"a": "\xff"}', "not UTF-8"),
    (b'{"a": ', "not valid JSON"),
])
def test_the_safe_reader_refuses_with_a_reason(tmp_path, data, reason):
    path = tmp_path / "f.json"
    path.write_bytes(data)
    with pytest.raises(safe_read.Unreadable, match=reason):
        safe_read.read_case_file(str(path))


def test_a_gzip_bomb_is_stopped_at_its_limit(tmp_path):
    path = tmp_path / "bomb.json.gz"
    path.write_bytes(gzip.compress(b" " * (8 << 20)))  # 8 MiB of spaces in a few KiB
    with pytest.raises(safe_read.Unreadable, match="decompresses to over"):
        safe_read.read_gzip_json(str(path), text_limit=1 << 20)
    with pytest.raises(evidence.EvidenceError, match="decompresses to over"):
        evidence.decode(gzip.compress(b" " * (safe_read.MAX_EVIDENCE_TEXT + 1)))


def test_dataset_skips_each_poisoned_file_with_one_warning_and_exit_3(tmp_path, capsys):
    root = tmp_path / "out"
    saved(root, 1)
    deep = saved(root, 2, "[" * 100_000 + "]" * 100_000)
    surrogate = saved(root, 3, json.dumps(case(3)).replace("CASE 3", "\\ud800"))
    code = dataset.main(["--years", "2025", "--output-dir", str(root), "--out", str(tmp_path / "t"),
                         "--format", "jsonl"])
    err = capsys.readouterr().err
    assert code == exits.SKIPPED
    assert "Traceback" not in err
    assert sum(deep in line and "nested deeper" in line for line in err.splitlines()) == 1
    assert sum(surrogate in line and "surrogate" in line for line in err.splitlines()) == 1
    rows = (tmp_path / "t" / "cases.jsonl").read_text().splitlines()
    assert [json.loads(r)["case_number"] for r in rows] == ["IMM-1-25"]


def test_reparse_skips_a_deep_evidence_file_and_goes_on(tmp_path, capsys):
    raw = tmp_path / "raw" / "2025"
    raw.mkdir(parents=True)
    (raw / "IMM-1-25-20250601.json.gz").write_bytes(gzip.compress(b"[" * 100_000 + b"]" * 100_000))
    assert reparse.main(["--year", "2025", "--output-dir", str(tmp_path)]) == exits.SKIPPED
    err = capsys.readouterr().err
    assert "nested deeper" in err and "Traceback" not in err


# --- 4: files are checked, not trusted ----------------------------------------------------

def test_a_swapped_file_is_not_settled_and_not_exported(tmp_path, caplog):
    root = tmp_path / "out"
    saved(root, 1)
    swapped = saved(root, 2)
    line = Ledger(str(root)).latest(2025)["IMM-2-25"]
    assert len(line["sha256"]) == 64 and line["size"] == (root / swapped).stat().st_size
    (root / swapped).write_text(json.dumps(case(2, style_of_cause="EDITED")))  # not the bytes recorded
    facts = Ledger(str(root)).facts(2025, "IMM")
    assert facts.found == {1} and 2 in facts.failed  # resume asks it again
    assert report.build(str(root), 2025).prefixes["IMM"].missing_file == {2: swapped}
    assert "differ from the SHA-256" in caplog.text
    errors = []
    dataset.export(str(root), [2025], str(tmp_path / "t"), "jsonl", warn=errors.append)
    rows = (tmp_path / "t" / "cases.jsonl").read_text().splitlines()
    assert [json.loads(r)["case_number"] for r in rows] == ["IMM-1-25"]
    assert [e for e in errors if swapped in e and "differ from the SHA-256" in e]


def test_a_record_under_another_cases_name_is_not_a_second_row(tmp_path, capsys):
    root = tmp_path / "out"
    saved(root, 1)
    folder = root / "json" / "2025"
    (folder / "IMM-5-25-20250601.json").write_text(json.dumps(case(1)))  # no line names it
    code = dataset.main(["--years", "2025", "--output-dir", str(root), "--out", str(tmp_path / "t"),
                         "--format", "jsonl"])
    assert code == exits.SKIPPED
    assert "IMM-5-25-20250601.json: holds case IMM-1-25" in capsys.readouterr().err
    rows = (tmp_path / "t" / "cases.jsonl").read_text().splitlines()
    assert [json.loads(r)["case_number"] for r in rows] == ["IMM-1-25"]


def test_a_line_without_a_checksum_still_needs_its_case_inside(tmp_path):
    root = tmp_path / "out"
    rel = saved(root, 1, json.dumps(case(7)))
    line = {"case_number": "IMM-1-25", "status": "saved", "file_path": rel}
    assert Ledger(str(root)).standing(line) == ("missing_file", None)


# --- 5: honest endings ------------------------------------------------------------------------

def test_status_zero_reasons_turn_non_zero_after_losses_or_when_everything_failed():
    assert outcome_code("finished", {"casescraper/cases/saved": 3})[0] == 0
    assert outcome_code("finished", {"casescraper/cases/saved": 3, "casescraper/writes/lost": 1})[0] \
        == EXIT_WRITES_LOST
    assert outcome_code("finished", {"casescraper/cases/driver_error": 5})[0] == EXIT_ALL_FAILED
    assert outcome_code("finished", {"casescraper/cases/driver_error": 5,
                                     "casescraper/cases/no_results": 1})[0] == 0
    assert outcome_code("blocked", {})[0] == 3


def test_switched_off_components_are_named():
    settings = Settings()
    settings.setmodule("casescraper.settings")
    assert switched_off(settings) is None
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    assert "ITEM_PIPELINES does not enable casescraper.pipelines.CaseFilesPipeline" in switched_off(settings)
    settings.set("ITEM_PIPELINES", {"casescraper.pipelines.CaseFilesPipeline": 300}, priority="cmdline")
    settings.set("DOWNLOADER_MIDDLEWARES", {"casescraper.middlewares.SeleniumMiddleware": None},
                 priority="cmdline")
    assert "DOWNLOADER_MIDDLEWARES" in switched_off(settings)


def test_a_crawl_without_its_pipeline_refuses_with_one_line(tmp_path):
    run = scrapy_crawl(tmp_path / "out", DEMO, {"ITEM_PIPELINES": "{}"})
    assert run.returncode == 1
    assert "casescraper: error: ITEM_PIPELINES does not enable" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


# --- 6: every output appears whole ----------------------------------------------------------

def test_the_tables_are_named_as_one_set(tmp_path):
    root = tmp_path / "out"
    for n in (1, 2):
        saved(root, n)
    out = tmp_path / "t"
    assert dataset.main(["--years", "2025", "--output-dir", str(root), "--out", str(out)]) == 0
    manifest = json.loads((out / "dataset.json").read_text())
    assert set(manifest["files"]) == {"cases.parquet", "docket_entries.parquet", "parties.parquet", "related.parquet",
                                      "DATASET.md"}
    assert manifest["rows"]["cases"] == 2
    for name, about in manifest["files"].items():
        assert about["bytes"] == (out / name).stat().st_size
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # staging removed


def test_a_dead_exports_staging_dir_is_swept(tmp_path):
    out = tmp_path / "t"
    stale = out / ".dataset.999999.0123456789abcdef.tmp"
    stale.mkdir(parents=True)
    (stale / ".lock").write_text("")
    (stale / "cases.parquet").write_bytes(b"half")
    root = tmp_path / "out"
    saved(root, 1)
    assert dataset.main(["--years", "2025", "--output-dir", str(root), "--out", str(out)]) == 0
    assert not stale.exists()


def test_report_html_replaces_the_old_page_whole(tmp_path, capsys):
    root = tmp_path / "out"
    saved(root, 1)
    page = tmp_path / "r.html"
    page.write_text("old page")
    (tmp_path / ".r.html.999999.0123456789abcdef.tmp").write_text("a dead writer's temp")
    assert report.main(["--year", "2025", "--output-dir", str(root), "--html", str(page)]) == 0
    assert page.read_text().startswith("<!DOCTYPE html>") or "<html" in page.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.html"]


def test_reparse_adopts_a_file_without_a_ledger_line(tmp_path, capsys):
    from .test_reparse import crawl, demo_evidence  # a year's evidence beside its files

    crawl(tmp_path, [demo_evidence(2, "2025-06-01T10:00:00+00:00")])
    ledger = tmp_path / "ledger" / "2025.jsonl"
    ledger.write_text("")  # the line lost: a kill between file and line
    assert reparse.main(["--year", "2025", "--output-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "adopted" in captured.err and "adopted 1" in captured.out
    lines = [json.loads(x) for x in ledger.read_text().splitlines()]
    assert [(x["case_number"], x["status"]) for x in lines] == [("IMM-2-25", "saved")]


# --- 7: one crawl per year and output dir -------------------------------------------------

HOLD = """
import sys, time
from casescraper.store import runlock
shard = tuple(map(int, sys.argv[3].split("/"))) if len(sys.argv) > 3 else None
runlock.take(sys.argv[1], [2025], sys.argv[2], shard)
print("held", flush=True)
sys.stdin.read()
"""


def hold(out: Path, run_id: str, shard: str = "") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out), run_id, *([shard] if shard else [])],
                            cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n"
    return proc


def end(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=60)


def test_a_second_crawl_of_the_year_refuses_naming_the_first(tmp_path):
    out = tmp_path / "out"
    first = hold(out, "first-run")
    try:
        with pytest.raises(OutputError, match=r"year 2025 of .* is being crawled already \(run first-run, "
                                              r"process [0-9]+"):
            runlock.take(str(out), [2025], "second-run")
        runlock.take(str(out), [2024], "other-year")  # another year is free
    finally:
        end(first)
        runlock.release(str(out))
    runlock.take(str(out), [2025], "after")  # the lock died with its process
    runlock.release(str(out))


def test_shards_lock_their_own_share(tmp_path):
    out = tmp_path / "out"
    one = hold(out, "shard-one", "1/2")
    try:
        runlock.take(str(out), [2025], "shard-two", (2, 2))  # the other shard runs beside it
        runlock.release(str(out))
        with pytest.raises(OutputError, match=r"shard 1/2 of year 2025 .* \(run shard-one"):
            runlock.take(str(out), [2025], "again", (1, 2))
        runlock.release(str(out))
        with pytest.raises(OutputError, match=r"being crawled already \(run shard-one"):
            runlock.take(str(out), [2025], "whole-year")
    finally:
        end(one)
        runlock.release(str(out))


@needs_browser
def test_a_real_second_start_refuses_with_one_line(tmp_path):
    out = tmp_path / "out"
    first = hold(out, "the-first")
    try:
        run = scrapy_crawl(out, DEMO)
    finally:
        end(first)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "casescraper: error: year 2025 of" in run.stderr and "run the-first" in run.stderr
    assert "Traceback" not in run.stderr


# --- issue 21: every tool finds a crawl's case folder -------------------------------------

@needs_browser
def test_every_tool_reads_a_crawl_with_another_case_folder(tmp_path, capsys):
    out = tmp_path / "out"
    run = scrapy_crawl(out, DEMO, {"CASESCRAPER_PER_CASE_SUBDIR": "cases"})
    assert run.returncode == 0, run.stderr[-3000:]
    files = sorted((out / "cases" / "2025").glob("*.json"))
    assert files and not (out / "json").exists()
    assert dataset.main(["--years", "2025", "--output-dir", str(out), "--out", str(tmp_path / "t"),
                         "--format", "jsonl"]) == 0
    rows = (tmp_path / "t" / "cases.jsonl").read_text().splitlines()
    assert len(rows) == len(files)
    assert all(json.loads(r)["source_file"].startswith("cases/2025/") for r in rows)
    assert report.main(["--year", "2025", "--output-dir", str(out)]) == 0
    assert "missing file" in capsys.readouterr().out
    assert report.build(str(out), 2025).total("missing_file") == 0
    assert changes.main(["--output-dir", str(out), "--year", "2025"]) == 0
    assert reparse.main(["--year", "2025", "--output-dir", str(out)]) == 0
    assert "new files 0" in capsys.readouterr().out  # equal files found where the crawl put them
    assert not (out / "json").exists()
