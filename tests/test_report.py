"""`python -m casescraper report`: coverage from the ledger and the files, text and HTML."""

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from casescraper.__main__ import main
from casescraper.store.ledger import Ledger
from casescraper.tools.report import build
from casescraper.tools.report_model import format_ranges, to_ranges
from casescraper.store.storage import CaseStore

ROOT = Path(__file__).resolve().parents[1]


def record(case, filing_date, office, day="2025-06-01"):
    """A schema-v2 case record."""
    return {
        "schema_version": 2, "case_number": case, "court": "t", "style_of_cause": "A v. B",
        "nature_of_proceeding": None, "case_type": None, "type_of_action": None,
        "filing_date": filing_date, "office": office, "language": "English",
        "other_fields": {}, "parties": [], "related": None, "docket_entries": [],
        "source_url": None, "scraped_at": f"{day}T12:00:00+00:00", "file_path": None,
    }


def record_v1(case, filing_date, office, day="2025-06-01"):
    """A case file as written before schema versions (v1: no schema_version, parties with roles)."""
    return {
        "case_number": case, "court": "t", "style_of_cause": "A v. B",
        "nature_of_proceeding": None, "case_type": None, "type_of_action": None,
        "filing_date": filing_date, "office": office, "language": "English",
        "parties": [{"name": "A", "role": "Applicant", "representation": None}],
        "docket_entries": [{"id": 1, "date_filed": filing_date, "office": office, "summary": "x"}],
        "source_url": None, "scraped_at": f"{day}T12:00:00+00:00", "file_path": None,
    }


FILES = {  # case -> (filing_date, office)
    "IMM-1-25": ("2025-01-10", "Toronto"),
    "IMM-2-25": ("2025-01-20", "Montréal"),
    "IMM-3-25": ("2025-02-03", "Toronto"),
    "IMM-4-25": ("2025-02-04", "Toronto"),
    "IMM-6-25": ("2025-02-05", "Toronto"),  # its file is deleted below
    "IMM-10-25": ("2025-03-01", "Vancouver"),
    "IMM-12-25": (None, None),
    "T-2-25": ("2025-02-10", "Ottawa"),
    "T-5-25": ("2025-02-11", "Toronto"),
}


@pytest.fixture
def out(tmp_path):
    """Two shards and a re-run writing one ledger, with IMM and T numbers.

    IMM: saved 1 2 3 10 12; 3 failed first, 4 was saved then failed; 5 14 no results;
    6 saved but its file is gone; 8 blocked, 13 parse_error; 7 9 11 never tried.
    T: saved 2 5; nothing else.
    """
    tmp_path = tmp_path / "output"  # the --output-dir default, relative to the cwd
    store = CaseStore(str(tmp_path))
    paths = {c: store.write(record(c, *v)).rel_path for c, v in FILES.items()}
    shard1, shard2, rerun = Ledger(str(tmp_path)), Ledger(str(tmp_path)), Ledger(str(tmp_path))

    def line(ledger, run, case, status, **kw):
        ledger.record(case, status, run_id=run, year=2025, **kw)

    def saved(ledger, run, case):
        line(ledger, run, case, "saved", file_path=paths[case])

    saved(shard1, "r1", "IMM-1-25")
    saved(shard2, "r2", "IMM-2-25")
    line(shard1, "r1", "IMM-3-25", "driver_error", error="boom")
    saved(shard2, "r2", "IMM-4-25")
    line(shard1, "r1", "IMM-5-25", "no_results")
    saved(shard2, "r2", "IMM-6-25")
    line(shard2, "r2", "IMM-8-25", "blocked", error="403")
    saved(shard2, "r2", "IMM-10-25")
    saved(shard2, "r2", "IMM-12-25")
    line(shard1, "r1", "IMM-13-25", "parse_error", error="layout")
    line(shard2, "r2", "IMM-14-25", "no_results")
    saved(shard2, "r2", "T-2-25")
    saved(shard1, "r1", "T-5-25")
    saved(rerun, "r3", "IMM-3-25")  # the retry succeeds
    line(rerun, "r3", "IMM-4-25", "driver_error", error="later failure")  # latest wins
    for ledger in (shard1, shard2, rerun):
        ledger.close()
    os.remove(tmp_path / paths["IMM-6-25"])
    with open(tmp_path / "ledger" / "2025.jsonl", "ab") as f:
        f.write(b'{"case_number": "IMM-7-25", "sta')  # torn by a killed writer: ignored
    return tmp_path


def test_ranges():
    assert to_ranges([17, 40, 41, 42, 5, 41]) == [(5, 5), (17, 17), (40, 42)]
    assert format_ranges(to_ranges([17, 40, 41, 42])) == "17, 40-42"
    assert format_ranges([]) == "none"


def test_counts_gaps_never_tried_and_missing_files(out):
    cov = build(str(out), 2025)
    imm, t = cov.prefixes["IMM"], cov.prefixes["T"]
    assert list(cov.prefixes) == ["IMM", "T"]
    assert cov.lines == 15 and cov.runs == {"r1", "r2", "r3"}
    assert (imm.first, imm.last) == (1, 12)
    assert sorted(imm.saved) == [1, 2, 3, 10, 12]
    assert sorted(imm.no_results) == [5, 14]
    assert imm.failed == {4: "driver_error", 8: "blocked", 13: "parse_error"}
    assert list(imm.missing_file) == [6]
    assert format_ranges(imm.gaps) == "4-9, 11"
    assert format_ranges(imm.never_tried) == "7, 9, 11"
    assert (t.first, t.last, format_ranges(t.gaps), format_ranges(t.never_tried)) == (
        2, 5, "1, 3-4", "1, 3-4")

    # The counts are the ledger's latest statuses, with `saved` split by the files.
    latest = Ledger(str(out)).latest(2025)
    by_status = {}
    for case, entry in latest.items():
        by_status.setdefault(entry["status"], set()).add(case)
    missing = {c for c in by_status["saved"] if not (out / latest[c]["file_path"]).is_file()}
    assert missing == {"IMM-6-25"}
    assert cov.total("saved") == len(by_status["saved"]) - len(missing) == 7
    assert cov.total("missing_file") == 1
    assert cov.total("no_results") == len(by_status["no_results"]) == 2
    assert cov.total("failed") == sum(len(by_status[s]) for s in
                                      ("driver_error", "blocked", "parse_error")) == 3


def test_text_table(out, capsys):
    assert main(["report", "--year", "2025", "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines()]
    assert ["prefix", "first", "last", "saved", "no", "results", "probes", "above", "failed",
            "missing", "file", "never", "tried", "gaps"] in rows
    # IMM-5 "no results" is below the last file, IMM-14 above it: a probe, not a gap
    assert ["IMM", "IMM-1-25", "IMM-12-25", "5", "1", "1", "3", "1", "3", "7"] in rows
    assert ["T", "T-2-25", "T-5-25", "2", "0", "0", "0", "0", "3", "3"] in rows
    assert ["all", "7", "1", "1", "3", "1", "6", "10"] in rows
    assert "IMM gaps: 4-9, 11\n" in text and "IMM never tried: 7, 9, 11\n" in text
    assert "T gaps: 1, 3-4\n" in text
    assert "IMM failed: blocked 1: 8; driver_error 1: 4; parse_error 1: 13\n" in text
    assert "IMM missing files: IMM-6-25 (json/2025/IMM-6-25-20250601.json)\n" in text
    assert "15 line(s) from 3 run(s)" in text


def manifest(out, run_id, finished, **fields):
    (out / "runs").mkdir(exist_ok=True)
    (out / "runs" / f"{run_id}.json").write_text(json.dumps(
        {"run_id": run_id, "finished_at": finished, "year_last_file": None, **fields}))


def test_coverage_says_whether_the_end_was_found(out, capsys):
    """Without an end search the coverage is of the numbers asked, never a share of the year."""
    manifest(out, "r1", "2025-06-01T00:00:00+00:00", arguments={"year": "2025", "max_cases": "14"})
    assert main(["report", "--year", "2025", "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "IMM end: not searched (max_cases=14)\n" in text
    assert "IMM coverage: end not searched: coverage of 1..14 only\n" in text and "%" not in text
    # A later run's end search found the year's last file: a share of 1..last, and by whom.
    manifest(out, "r2", "2025-06-02T00:00:00+00:00", arguments={"year": "2025"},
             year_last_file="IMM-12-25")
    assert main(["report", "--year", "2025", "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    # 1 2 3 10 12 saved and 5 no results: 6 of 12 answered
    assert "IMM end: IMM-12-25, found by run r2; coverage 50.0%\n" in text
    assert "T end: not searched (max_cases=14)\n" in text and "end not searched: coverage of 1..5 only" in text


def test_single_prefix_has_no_total_row(tmp_path, capsys):
    ledger = Ledger(str(tmp_path))
    ledger.record("IMM-2-25", "no_results", run_id="r", year=2025)
    ledger.close()
    assert main(["report", "--year", "2025", "--output-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines()]
    assert ["IMM", "-", "-", "0", "0", "1", "0", "0", "0", "0"] in rows  # no file: nothing below
    assert not any(row[:1] == ["all"] for row in rows)
    assert "IMM gaps: none" in text


class Collector(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.text, self.errors = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_page(out, tmp_path, capsys):
    page_path = tmp_path / "report.html"
    assert main(["report", "--year", "2025", "--output-dir", str(out), "--html", str(page_path)]) == 0
    assert f"HTML report written to {page_path}" in capsys.readouterr().out
    page = page_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    parsed = Collector()
    parsed.feed(page)
    parsed.close()
    assert parsed.errors == [] and parsed.stack == []
    names = [tag for tag, _ in parsed.tags]
    assert names.count("svg") == 1 and "style" in names and "table" in names
    assert not {"script", "link", "img", "iframe", "object"} & set(names)
    assert not any(k in ("src", "href") for _, attrs in parsed.tags for k in attrs)
    assert "http://" not in page and "https://" not in page
    months = [attrs["data-month"] for tag, attrs in parsed.tags
              if tag == "g" and attrs.get("class") == "month"]
    # one group per filing month of an existing saved file (IMM-6 is gone, IMM-4 not saved)
    assert months == ["2025-01", "2025-02", "2025-03", "unknown"]
    bars = [(attrs["data-office"], int(attrs["data-count"])) for tag, attrs in parsed.tags
            if tag == "rect" and "data-office" in attrs]
    assert sorted(bars) == sorted([("Toronto", 1), ("Montréal", 1), ("Toronto", 2),
                                   ("Ottawa", 1), ("Vancouver", 1), ("unknown", 1)])
    text = "".join(parsed.text)
    for office in ("Toronto (3)", "Montréal (1)", "Ottawa (1)", "Vancouver (1)", "unknown (1)"):
        assert office in text  # the legend
    assert "4-9, 11" in text and "IMM-12-25" in text


@pytest.mark.parametrize("args, message", [
    (["--year", "2024"], "no ledger for 2024: "),
    (["--year", "2025", "--output-dir", "/nonexistent/casescraper"], "does not exist"),
])
def test_errors_are_one_line(out, capsys, args, message):
    if "--output-dir" not in args:
        args = args + ["--output-dir", str(out)]
    assert main(["report"] + args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("casescraper: error: ") and message in captured.err
    assert captured.err.count("\n") == 1
    if "2024" in args:
        assert "ledgers exist for 2025" in captured.err


def test_v1_and_v2_files_are_both_counted(tmp_path, capsys):
    """An output dir from before and after the v2 schema: a v1 file (IMM-1-25, Toronto,
    January) and a v2 file (IMM-2-25, Ottawa, February) are two saved files."""
    store = CaseStore(str(tmp_path))
    v1 = store.write(record_v1("IMM-1-25", "2025-01-10", "Toronto")).rel_path
    v2 = store.write(record("IMM-2-25", "2025-02-11", "Ottawa")).rel_path
    assert "schema_version" not in json.loads((tmp_path / v1).read_text())
    assert json.loads((tmp_path / v2).read_text())["schema_version"] == 2
    ledger = Ledger(str(tmp_path))
    ledger.record("IMM-1-25", "saved", run_id="old", year=2025, file_path=v1)
    ledger.record("IMM-2-25", "saved", run_id="new", year=2025, file_path=v2)
    ledger.close()
    cov = build(str(tmp_path), 2025)
    assert sorted(cov.prefixes["IMM"].saved) == [1, 2] and cov.total("missing_file") == 0
    assert cov.files == [("IMM-1-25", "2025-01", "Toronto"), ("IMM-2-25", "2025-02", "Ottawa")]
    assert cov.unreadable == []
    assert main(["report", "--year", "2025", "--output-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert ["IMM", "IMM-1-25", "IMM-2-25", "2", "0", "0", "0", "0", "0", "0"] in [
        line.split() for line in text.splitlines()]
    assert "case files by schema: v1 1, v2 1\n" in text


def test_unwritable_html_is_an_error(out, capsys):
    assert main(["report", "--year", "2025", "--output-dir", str(out),
                 "--html", str(out / "no" / "such" / "dir" / "r.html")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("casescraper: error: cannot write ") and err.count("\n") == 1


def test_module_entry_point(out):
    proc = subprocess.run([sys.executable, "-m", "casescraper", "report", "--year", "2025"],
                          cwd=out.parent, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    assert "IMM gaps: 4-9, 11" in proc.stdout
    assert "torn" in proc.stderr  # the ledger reader's warning about the torn last line


def test_hostile_ledger_lines_are_skipped_escaped_or_distrusted(tmp_path, capsys):
    """Issue 15.4/15.8: wrong lines are skipped, a deep line does not recurse, a file_path
    outside the output dir is not a saved file, and no control character reaches the terminal."""
    out = tmp_path / "out"
    saved = CaseStore(str(out)).write(record("IMM-1-25", "2025-01-10", "Toronto")).rel_path
    (tmp_path / "secret.json").write_text(json.dumps(record("IMM-2-25", "2025-01-10", "Toronto")))
    ledger = Ledger(str(out))
    ledger.record("IMM-1-25", "saved", run_id="r", year=2025, file_path=saved)
    ledger.record("IMM-2-25", "saved", run_id="r", year=2025, file_path="../secret.json")
    ledger.record("IMM-3-25", "saved", run_id="r", year=2025, file_path=str(tmp_path / "secret.json"))
    ledger.record("\x1b[2J\x1b]0;pwned\x07IMM-\u202e4-25", "driver_error", run_id="r", year=2025)
    ledger.record("X" * 5000, "parse_error", run_id="r", year=2025)
    ledger.close()
    with open(ledger.path(2025), "ab") as f:
        f.write(b'{"case_number": 5, "status": "saved"}\nnull\n["x"]\n' + b"[" * 100_000 + b"\n")
    assert main(["report", "--year", "2025", "--output-dir", str(out)]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J\\x1b]0;pwned\\x07IMM-\\u202e4-25" in text
    assert "X" * 80 + "... (5,000 characters in all)" in text and "X" * 81 not in text
    cov = build(str(out), 2025)
    assert cov.prefixes["IMM"].saved == [1]
    assert set(cov.prefixes["IMM"].missing_file) == {2, 3}  # distrusted: not saved
    assert cov.lines == 5
