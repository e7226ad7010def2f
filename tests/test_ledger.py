"""The ledger: one intact JSON line per attempt, also with several writer processes."""

import json
import logging
import os
import threading

import pytest

from casescraper.errors import OutputError
from casescraper.store.ledger import Ledger, Site, clashing


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
    assert "2025.jsonl:2: skipping a ledger line: torn or malformed (not JSON)" in caplog.text
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


# --- lines that parse but are wrong (issue 15.4) ----------------------------------------

BAD_LINES = [
    (b'{"case_number": 5, "status": "saved"}', "case_number is int, not str"),
    (b"null", "not a JSON object but NoneType"),
    (b'["x"]', "not a JSON object but list"),
    (b'{"case_number": "T-7-25", "status": "saved", "file_path": 5}', "file_path is int, not str or null"),
    (b'{"case_number": "T-7-25", "status": "done"}', "status 'done' is not one of saved, "),
    (b'{"case_number": "T-7-25", "status": ["saved"]}', "status is list, not str"),
    (b'{"case_number": "T-7-25"}', "no status"),
    (b'{"case_number": " ", "status": "saved"}', "case_number is empty"),
    (b'{"case_number": "T-7-25", "status": "saved", "run_id": {"a": 1}}', "run_id is dict, not str or null"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 8 levels"),
    (b'{"case_number": "T-7-25", "status": "saved", "error": ' + b"[" * 50_000, "nested deeper than 8 levels"),
    (b'{"case_number": "T-7-25", "status": "saved", "error": "' + b"x" * (1 << 21) + b'"}',
     "longer than 1048576 bytes"),
    (b'{"case_number": "T-7-25", "status": "changed", "changes": ["2"]}', "changes is list, not dict or null"),
    (b'{"case_number": "T-7-25", "status": "changed", "changes": {"entries_added": [2]}}',
     "changes.entries_added is not a list of strings"),
    (b'{"case_number": "T-7-25", "status": "changed", "changes": {"previous_file": 1}}',
     "changes.previous_file is int, not str or null"),
]


@pytest.mark.parametrize("bad, why", BAD_LINES, ids=[w.split(" ")[0] + str(i) for i, (_, w) in enumerate(BAD_LINES)])
def test_a_wrong_line_is_skipped_with_one_warning(tmp_path, caplog, bad, why):
    ledger = Ledger(str(tmp_path))
    ledger.record("T-1-25", "saved", run_id="r", year=2025, file_path="json/2025/T-1-25-20250301.json")
    with open(ledger.path(2025), "ab") as f:
        f.write(bad + b"\n")
    ledger.record("T-2-25", "no_results", run_id="r", year=2025)
    with caplog.at_level(logging.WARNING, logger="casescraper.store.ledger"):
        latest = Ledger(str(tmp_path)).latest(2025)
        sites = Ledger(str(tmp_path)).sites(2025)
    assert list(latest) == ["T-1-25", "T-2-25"] and sum(sites.values()) == 2
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2  # one per reading
    assert warnings[0].startswith(f"{ledger.path(2025)}:2: skipping a ledger line: {why}")
    assert len(warnings[0]) < 400


def test_many_bad_lines_warn_a_bounded_number_of_times(tmp_path, caplog):
    ledger = Ledger(str(tmp_path))
    with open(ledger.path(2025) if os.path.isdir(ledger.dir) else _mk(ledger), "ab") as f:
        f.write(b"null\n" * 500)
    with caplog.at_level(logging.WARNING, logger="casescraper.store.ledger"):
        assert Ledger(str(tmp_path)).latest(2025) == {}
    assert len(caplog.records) == 21
    assert caplog.records[-1].getMessage().endswith("480 more bad ledger lines skipped (500 in all)")


def _mk(ledger):
    os.makedirs(ledger.dir)
    return ledger.path(2025)


@pytest.mark.parametrize("file_path", ["/etc/hostname", "../../../etc/hostname", "json/../../x.json",
                                       "json\\..\\..\\x.json", ""])
def test_a_file_path_that_could_lead_outside_is_not_trusted(tmp_path, caplog, file_path):
    from casescraper.frontier.planning import Resume

    ledger = Ledger(str(tmp_path / "out"))
    ledger.record("IMM-1-25", "saved", run_id="r", year=2025, file_path=file_path)
    with caplog.at_level(logging.WARNING, logger="casescraper.store.ledger"):
        latest = Ledger(str(tmp_path / "out")).latest(2025)
    assert latest["IMM-1-25"]["file_path"] is None
    assert ("not trusted (\'IMM-1-25\' counts as not saved)" in caplog.text) == bool(file_path)
    resume = Resume(Ledger(str(tmp_path / "out")).facts(2025, "IMM", latest))
    assert 1 not in resume.found and 1 in resume.failed  # asked again by the next run


def test_a_ledger_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    ledger = Ledger(str(tmp_path))
    os.makedirs(ledger.dir)
    os.mkfifo(ledger.path(2025))
    with pytest.raises(OutputError, match="2025.jsonl is a FIFO, not a ledger file; move it away"):
        list(ledger.records(2025))  # would block forever if the FIFO were opened
    with pytest.raises(OutputError, match="is a FIFO"):
        ledger.refuse_other_site([2025], Site("real"))


def test_a_fifo_named_like_a_run_manifest_is_not_opened(tmp_path):
    ledger = Ledger(str(tmp_path))
    with open(_mk(ledger), "w") as f:
        f.write(json.dumps({"case_number": "T-1-25", "status": "saved", "run_id": "old"}) + "\n")
    os.makedirs(tmp_path / "runs")
    os.mkfifo(tmp_path / "runs" / "old.json")
    assert Ledger(str(tmp_path)).sites(2025) == {Site("real"): 1}


# --- changes, and what a line means (standing, facts, latest files) ----------------------

CHANGES = {"previous_file": "json/2025/T-1-25-20250301.json", "entries_added": ["9", "10"],
           "entries_removed": [], "entries_changed": ["1"], "fields": ["office"]}


def test_a_changed_line_keeps_its_changes(tmp_path):
    ledger = Ledger(str(tmp_path))
    ledger.record("T-1-25", "saved", run_id="r", year=2025, file_path="json/2025/T-1-25-20250301.json")
    ledger.record("T-1-25", "changed", run_id="r", year=2025, file_path="json/2025/T-1-25-20250302.json",
                  changes=CHANGES)
    ledger.record("T-1-25", "unchanged", run_id="r", year=2025, file_path="json/2025/T-1-25-20250302.json")
    ledger.record("T-1-25", "driver_error", run_id="r", year=2025, error="boom")
    lines = [json.loads(line) for line in open(ledger.path(2025))]
    assert "changes" not in lines[0] and lines[1]["changes"] == CHANGES
    again = Ledger(str(tmp_path))
    assert [r["status"] for r in again.records(2025)] == ["saved", "changed", "unchanged", "driver_error"]
    assert again.latest(2025)["T-1-25"]["status"] == "driver_error"
    # The case's latest file is that of its latest found line, whatever came after it.
    found = again.latest_found(2025)["T-1-25"]
    assert (found["status"], found["file_path"]) == ("unchanged", "json/2025/T-1-25-20250302.json")


def test_standing_of_each_kind_of_line(tmp_path):
    out = tmp_path / "out"
    (out / "json").mkdir(parents=True)
    (out / "json" / "T-1-25-20250101.json").write_text('{"case_number": "T-1-25"}')
    (tmp_path / "outside.json").write_text("{}")
    (out / "json" / "link.json").symlink_to(tmp_path / "outside.json")
    (out / "json" / "dir.json").mkdir()
    ledger = Ledger(str(out))
    here = str(out / "json" / "T-1-25-20250101.json")
    cases = [
        ({"status": "saved", "file_path": "json/T-1-25-20250101.json"}, ("found", here)),
        ({"status": "changed", "file_path": "json/T-1-25-20250101.json"}, ("found", here)),
        ({"status": "unchanged", "file_path": "json/T-1-25-20250101.json"}, ("found", here)),
        ({"status": "saved", "file_path": "json/gone.json"}, ("missing_file", None)),
        ({"status": "unchanged", "file_path": None}, ("missing_file", None)),
        ({"status": "saved", "file_path": "json/link.json"}, ("missing_file", None)),  # leads outside
        ({"status": "saved", "file_path": "json/dir.json"}, ("missing_file", None)),
        ({"status": "saved", "file_path": "../outside.json"}, ("missing_file", None)),
        ({"status": "no_results"}, ("no_results", None)),
        ({"status": "driver_error"}, ("failed", None)),
        ({"status": "unverified"}, ("failed", None)),
        ({"status": "dry_run"}, ("dry_run", None)),
    ]
    for line, want in cases:
        assert ledger.standing({"case_number": "T-1-25", **line}) == want, line


def test_facts_of_a_year_for_one_prefix(tmp_path):
    ledger = Ledger(str(tmp_path))
    rows = [("IMM-1-25", "saved", "f1"), ("IMM-2-25", "changed", "f2"),
            ("IMM-3-25", "unchanged", "f3"), ("IMM-4-25", "unchanged", "gone.json"),
            ("IMM-5-25", "no_results", None), ("IMM-6-25", "blocked", None), ("IMM-7-25", "dry_run", None),
            ("T-8-25", "saved", "f"), ("IMM-9-24", "saved", "f"), ("odd", "saved", "f")]
    for case, status, path in rows:
        if path and not path.endswith(".json"):
            path = f"{case}-20250101.json"
            (tmp_path / path).write_text(json.dumps({"case_number": case}))
        ledger.record(case, status, run_id="r", year=2025, file_path=path)
    facts = Ledger(str(tmp_path)).facts(2025, "IMM")
    assert (facts.found, facts.no_results, facts.failed) == ({1, 2, 3}, {5}, {4, 6})

