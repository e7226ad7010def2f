"""The ledger: one intact JSON line per attempt, also with several writer processes."""

import json
import logging
import os
import threading

import pytest

from casescraper.errors import OutputError
from casescraper.ledger import Ledger, Site, clashing


def test_record_fields_and_latest(tmp_path):
    ledger = Ledger(str(tmp_path))
    ledger.record("T-1-25", "driver_error", run_id="r1", year=2025, error="boom",
                  diagnostics="diag/T-1-25.png", at="2025-03-01T00:00:00+00:00")
    ledger.record("T-1-25", "saved", run_id="r2", year=2025, file_path="json/2025/T-1-25-20250302.json")
    ledger.record("T-2-25", "no_results", run_id="r2", year=2025)
    ledger.record("T-9-24", "saved", run_id="r2", year=2024, file_path="x.json")
    ledger.close()
    lines = (tmp_path / "ledger" / "2025.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first == {"case_number": "T-1-25", "status": "driver_error", "file_path": None,
                     "error": "boom", "run_id": "r1", "at": "2025-03-01T00:00:00+00:00",
                     "diagnostics": "diag/T-1-25.png"}
    assert "diagnostics" not in json.loads(lines[1]) and json.loads(lines[1])["at"].endswith("+00:00")
    latest = Ledger(str(tmp_path)).latest(2025)
    assert {k: v["status"] for k, v in latest.items()} == {"T-1-25": "saved", "T-2-25": "no_results"}
    assert Ledger(str(tmp_path)).years() == [2024, 2025]
    assert [r["case_number"] for r in Ledger(str(tmp_path))] == ["T-9-24", "T-1-25", "T-1-25", "T-2-25"]
    assert Ledger(str(tmp_path / "none")).latest(2025) == {}


def test_unknown_status_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown ledger status"):
        Ledger(str(tmp_path)).record("T-1-25", "done", run_id="r", year=2025)
    assert not (tmp_path / "ledger").exists()


def test_torn_last_line_is_skipped_and_next_line_starts_fresh(tmp_path, caplog):
    ledger = Ledger(str(tmp_path))
    ledger.record("T-1-25", "saved", run_id="r", year=2025)
    path = tmp_path / "ledger" / "2025.jsonl"
    with open(path, "ab") as f:  # what a process killed mid-line would leave
        f.write(b'{"case_number": "T-2-25", "sta')
    with caplog.at_level(logging.WARNING):
        assert list(Ledger(str(tmp_path)).latest(2025)) == ["T-1-25"]
    assert "2025.jsonl:2: skipping a torn" in caplog.text
    ledger.record("T-3-25", "no_results", run_id="r", year=2025)
    assert list(Ledger(str(tmp_path)).latest(2025)) == ["T-1-25", "T-3-25"]
    assert b'"sta\n{"case_number":"T-3-25"' in path.read_bytes()


def test_concurrent_appends_from_processes_and_threads(tmp_path):
    procs, threads, per_thread = 6, 3, 40
    padding = "p" * 3000  # long lines make torn or interleaved writes visible

    def work(proc):
        ledger = Ledger(str(tmp_path))

        def run(thread):
            for i in range(per_thread):
                ledger.record(f"T-{proc}-{thread}-{i}-25", "saved", run_id=f"p{proc}", year=2025,
                              error=padding)
        pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        ledger.close()

    pids = []
    for proc in range(procs):
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                work(proc)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids] == [0] * procs
    lines = (tmp_path / "ledger" / "2025.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == procs * threads * per_thread
    assert len({r["case_number"] for r in records}) == len(records)
    assert all(r["error"] == padding for r in records)


# --- which site answered (issue 13, point 3) -------------------------------------------

REAL = Site.of("real", "https://www.fct-cf.ca/en/court-files-and-decisions/court-files")
DEMO = Site.of("demo", "http://127.0.0.1:41234/en/court-files-and-decisions/court-files")


def test_every_line_names_its_site(tmp_path):
    assert (REAL, DEMO) == (Site("real", "www.fct-cf.ca"), Site("demo"))
    Ledger(str(tmp_path), REAL).record("IMM-1-25", "saved", run_id="r", year=2025, file_path="a.json")
    Ledger(str(tmp_path / "d"), DEMO).record("IMM-1-25", "no_results", run_id="r", year=2025)
    real = json.loads((tmp_path / "ledger" / "2025.jsonl").read_text())
    demo = json.loads((tmp_path / "d" / "ledger" / "2025.jsonl").read_text())
    assert (real["site"], real["site_host"]) == ("real", "www.fct-cf.ca")
    assert demo["site"] == "demo" and "site_host" not in demo
    assert Ledger(str(tmp_path)).sites(2025) == {REAL: 1}


def test_which_sites_clash():
    assert REAL.clashes(DEMO) and DEMO.clashes(REAL)
    assert REAL.clashes(Site("real", "127.0.0.1"))  # a demo court run as the "real" site
    assert not REAL.clashes(Site("real"))  # an old line: real, host unknown
    assert not DEMO.clashes(Site.of("demo", "http://127.0.0.1:5/x"))  # any port: one demo
    assert clashing([REAL, Site("real"), REAL]) is None
    assert clashing([Site("real"), REAL, DEMO]) == (Site("real"), DEMO)


def test_old_lines_take_their_runs_site_argument_else_real(tmp_path):
    ledger = Ledger(str(tmp_path))
    for run in ("old-demo", "old-real", "no-manifest", "old-demo"):
        ledger.append({"case_number": "IMM-1-25", "status": "no_results", "run_id": run}, 2025)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "old-demo.json").write_text(json.dumps({"arguments": {"site": "demo"}}))
    (tmp_path / "runs" / "old-real.json").write_text(json.dumps({"arguments": {"year": "2025"}}))
    assert Ledger(str(tmp_path)).sites(2025) == {Site("demo"): 2, Site("real"): 2}


def test_a_crawl_refuses_another_sites_ledger_with_one_line(tmp_path):
    Ledger(str(tmp_path), DEMO).record("IMM-1-25", "saved", run_id="r", year=2025, file_path="a.json")
    Ledger(str(tmp_path)).refuse_other_site([2025, 2024], DEMO)  # same site, no 2024 ledger
    with pytest.raises(OutputError) as info:
        Ledger(str(tmp_path)).refuse_other_site([2025], REAL)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'ledger' / '2025.jsonl'} holds lines of site demo, "
                              "this crawl is site real (www.fct-cf.ca)")
    assert "-s CASESCRAPER_OUTPUT_DIR=DIR" in message
    (tmp_path / "a-file").write_text("")
    Ledger(str(tmp_path / "a-file" / "x")).refuse_other_site([2025], REAL)  # no ledger there
