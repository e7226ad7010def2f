"""`python -m casescraper merge`: host output dirs joined into one of the usual layout.

The dirs are written by the real store (CaseStore, EvidenceStore, Ledger) as a crawl writes
them; no browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casescraper.__main__ import main as casescraper_main
from casescraper.democourt import records
from casescraper.record.evidence import EvidenceStore, build
from casescraper.store.ledger import Ledger, Site
from casescraper.store.storage import CaseStore
from casescraper.tools.merge import gaps

RECORDS = {r["case_number"]: r for r in records(2025, 12, 0)}


def crawl(out: Path, run: str, at: str, cases: dict, site: Site = Site("demo")) -> None:
    """What a worker leaves: `cases` maps a number to its record, None (no data) or a failure."""
    store, kept, ledger = CaseStore(str(out)), EvidenceStore(str(out)), Ledger(str(out), site)
    for i, (case, outcome) in enumerate(cases.items()):
        when = f"{at}:{i:02d}+00:00"
        if isinstance(outcome, dict):
            record = {**outcome, "scraped_at": when, "source_url": f"http://127.0.0.1:9/x#{case}",
                      "file_path": "-"}
            saved = store.write(record)
            kept.write(saved.path, build(case_number=case, captured_at=when, source_url=None, court="t",
                                         answers=[], html="<html></html>", timezone="UTC"))
            ledger.record(case, "saved", run_id=run, year=2025, file_path=saved.rel_path, at=when)
        else:
            ledger.record(case, outcome, run_id=run, year=2025, at=when)
    ledger.close()


def merge(*args: str) -> int:
    return casescraper_main(["merge", *args])


def case_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in (out / "json").rglob("*.json"))


def lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "ledger" / "2025.jsonl").read_text().splitlines()]


def test_three_hosts_merge_into_one_dir_each_case_once(tmp_path, capsys):
    a, b, c, out = (tmp_path / n for n in ("a", "b", "c", "merged"))
    crawl(a, "run-a", "2025-03-01T10:00", {"IMM-1-25": RECORDS["IMM-1-25"], "IMM-2-25": RECORDS["IMM-2-25"]})
    # b asked IMM-2-25 again (a lease taken over after a kill): the same case data
    crawl(b, "run-b", "2025-03-01T11:00", {"IMM-2-25": RECORDS["IMM-2-25"], "IMM-3-25": RECORDS["IMM-3-25"],
                                           "IMM-4-25": "no_results"})
    crawl(c, "run-c", "2025-03-01T09:00", {"IMM-5-25": RECORDS["IMM-5-25"], "IMM-7-25": "driver_error"})
    assert merge("--out", str(out), str(a), str(b), str(c)) == 0
    assert "merged 3 dir(s)" in capsys.readouterr().out
    files = case_files(out)
    assert [f.split("/")[-1][:-len("-20250301.json")] for f in files] == [
        "IMM-1-25", "IMM-2-25", "IMM-3-25", "IMM-5-25"], "one file per case"
    merged = lines(out)
    assert [x["at"] for x in merged] == sorted(x["at"] for x in merged), "combined by time"
    assert len(merged) == 7
    second = [x for x in merged if x["case_number"] == "IMM-2-25"]
    assert [x["status"] for x in second] == ["saved", "unchanged"]
    assert second[0]["file_path"] == second[1]["file_path"]
    for x in merged:
        if x["file_path"]:
            record = json.loads((out / x["file_path"]).read_text())
            assert record["file_path"] == x["file_path"]
            assert (out / "raw" / "2025" / (Path(x["file_path"]).stem + ".json.gz")).is_file()
    assert len(list((out / "runs").glob("*.json"))) == 0  # these hosts wrote no manifests

    # Again, with the same dirs and a newer copy of c: only what is new is added.
    crawl(c, "run-c2", "2025-03-02T09:00", {"IMM-7-25": RECORDS["IMM-7-25"]})
    before = (out / "ledger" / "2025.jsonl").read_bytes()
    assert merge("--out", str(out), str(a), str(b), str(c)) == 0
    after = (out / "ledger" / "2025.jsonl").read_bytes()
    assert after.startswith(before) and len(lines(out)) == 8
    assert gaps(str(out)) == ["IMM-6-25"], "never asked; IMM-7-25 failed on c, then was found"


def test_a_different_record_takes_the_next_suffix_as_a_change(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    crawl(a, "run-a", "2025-03-01T10:00", {"IMM-1-25": RECORDS["IMM-1-25"]})
    grown = {**RECORDS["IMM-1-25"], "docket_entries": RECORDS["IMM-1-25"]["docket_entries"][:-1]}
    crawl(b, "run-b", "2025-03-01T12:00", {"IMM-1-25": grown})
    assert merge("--out", str(out), str(a), str(b)) == 0
    assert case_files(out) == ["json/2025/IMM-1-25-20250301-1.json", "json/2025/IMM-1-25-20250301.json"]
    merged = lines(out)
    assert [x["status"] for x in merged] == ["saved", "changed"]
    assert merged[1]["changes"]["previous_file"] == merged[0]["file_path"]
    assert merged[1]["file_path"].endswith("-1.json")


def test_gaps_name_numbers_no_host_settled_and_the_dataset_has_each_case_once(tmp_path, capsys):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    crawl(a, "run-a", "2025-03-01T10:00", {"IMM-1-25": RECORDS["IMM-1-25"], "IMM-3-25": "driver_error"})
    crawl(b, "run-b", "2025-03-01T11:00", {"IMM-1-25": RECORDS["IMM-1-25"], "IMM-5-25": RECORDS["IMM-5-25"],
                                           "IMM-4-25": "no_results"})
    assert merge("--out", str(out), "--gaps", str(a), str(b)) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == ["IMM-2-25", "IMM-3-25"]
    assert "2 numbers no host settled" in captured.err
    assert merge("--out", str(out), "--gaps") == 0
    assert capsys.readouterr().out.split() == ["IMM-2-25", "IMM-3-25"]
    pytest.importorskip("pyarrow")
    assert casescraper_main(["dataset", "--years", "2025", "--output-dir", str(out), "--out",
                             str(tmp_path / "ds"), "--format", "jsonl"]) == 0
    rows = (tmp_path / "ds" / "cases.jsonl").read_text().splitlines()
    assert sorted(json.loads(r)["case_number"] for r in rows) == ["IMM-1-25", "IMM-5-25"]


@pytest.mark.parametrize("setup, says", [
    ("demo+real", "hold data of site demo and of site real"),
    ("missing", "is no output dir (it has no ledger/)"),
    ("same", "is the output dir itself"),
    ("nothing", "give the dirs to merge"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, setup, says):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    crawl(a, "run-a", "2025-03-01T10:00", {"IMM-1-25": RECORDS["IMM-1-25"]})
    crawl(b, "run-b", "2025-03-01T10:00", {"IMM-2-25": RECORDS["IMM-2-25"]},
          site=Site("real", "www.fct-cf.ca") if setup == "demo+real" else Site("demo"))
    args = {"demo+real": [str(a), str(b)], "missing": [str(a), str(tmp_path / "nope")],
            "same": [str(a), str(out)], "nothing": []}[setup]
    if setup == "same":
        crawl(out, "run-o", "2025-03-01T10:00", {"IMM-9-25": "no_results"})
    assert merge("--out", str(out), *args) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and err.startswith("casescraper: error:")
    if setup == "demo+real":
        assert not (out / "ledger").exists(), "nothing merged"
