"""`python -m casescraper changes`: the ledger's `changed` lines, newest first."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from casescraper.frontier import casenumbers
from casescraper.__main__ import main as casescraper_main
from casescraper.tools.changes import main
from casescraper.tools.dataset import main as dataset_main
from casescraper.democourt import records
from casescraper.store.ledger import Ledger

from .conftest import ROOT
from .e2e import ledger_lines, needs_browser, run_crawl, strip_run_fields
from .test_dataset import expected as tables_of
from .test_dataset import read as read_tables


def changes(previous, added=(), removed=(), changed=(), fields=()):
    return {"previous_file": previous, "entries_added": list(added), "entries_removed": list(removed),
            "entries_changed": list(changed), "fields": list(fields)}


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "out"
    ledger = Ledger(str(out))
    rows = [  # (case, status, file, at, changes)
        ("IMM-1-25", "saved", "json/2025/IMM-1-25-20250301.json", "2025-03-01T10:00:00+00:00", None),
        ("IMM-1-25", "changed", "json/2025/IMM-1-25-20250302.json", "2025-03-02T10:00:00+00:00",
         changes("json/2025/IMM-1-25-20250301.json", added=["8"])),
        ("IMM-2-25", "unchanged", "json/2025/IMM-2-25-20250301.json", "2025-03-02T10:00:01+00:00", None),
        ("IMM-3-25", "changed", "json/2025/IMM-3-25-20250305.json", "2025-03-05T08:30:00+00:00",
         changes("json/2025/IMM-3-25-20250301.json", added=["9", "10"], changed=["2"], fields=["office"])),
        ("IMM-1-25", "changed", "json/2025/IMM-1-25-20250306.json", "2025-03-06T09:00:00+00:00",
         changes("json/2025/IMM-1-25-20250302.json", removed=["8"])),
        ("IMM-4-25", "driver_error", None, "2025-03-07T09:00:00+00:00", None),
    ]
    for case, status, path, at, change in rows:
        ledger.record(case, status, run_id="r", year=2025, file_path=path, at=at, changes=change)
    ledger.record("IMM-7-24", "changed", run_id="old", year=2024,
                  file_path="json/2024/IMM-7-24-20250303.json", at="2025-03-03T00:00:00+00:00",
                  changes=changes("json/2024/IMM-7-24-20240101.json", fields=["style_of_cause"]))
    return out


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_lists_changes_newest_first(out, capsys):
    code, text, err = run(capsys, "--output-dir", str(out))
    assert code == 0 and err == ""
    lines = [line for line in text.splitlines() if not line.startswith("    ")]  # rows, not entries
    assert lines[0].split()[:5] == ["when", "(UTC)", "case", "what", "changed"]
    assert [line.split()[2] for line in lines[1:-1]] == ["IMM-1-25", "IMM-3-25", "IMM-7-24", "IMM-1-25"]
    assert lines[1].startswith("2025-03-06 09:00:00  IMM-1-25  entries removed 8 ")
    assert "entries added 9, 10; entries changed 2; fields office" in lines[2]
    assert lines[2].rstrip().endswith("json/2025/IMM-3-25-20250305.json  json/2025/IMM-3-25-20250301.json")
    assert lines[-1] == "4 change(s) of 3 case(s)"


def test_json_since_and_year(out, capsys):
    code, text, _ = run(capsys, "--output-dir", str(out), "--json", "--since", "2025-03-03", "--year", "2025")
    rows = json.loads(text)
    assert code == 0 and [(r["case_number"], r["at"][:10]) for r in rows] == [
        ("IMM-1-25", "2025-03-06"), ("IMM-3-25", "2025-03-05")]
    assert rows[1] == {"case_number": "IMM-3-25", "at": "2025-03-05T08:30:00+00:00", "run_id": "r",
                       "file_path": "json/2025/IMM-3-25-20250305.json",
                       "previous_file": "json/2025/IMM-3-25-20250301.json", "entries_added": ["9", "10"],
                       "entries_removed": [], "entries_changed": ["2"], "fields": ["office"],
                       # no case files here: the entries' ids without their text
                       "entries": [{"how": "added", "id": "9", "date_filed": None, "summary": None},
                                   {"how": "added", "id": "10", "date_filed": None, "summary": None},
                                   {"how": "changed", "id": "2", "date_filed": None, "summary": None}],
                       "source_url": None}
    _, text, _ = run(capsys, "--output-dir", str(out), "--json", "--year", "2024", "--year", "2025",
                     "--since", "2025-03-03")
    assert [r["case_number"] for r in json.loads(text)] == ["IMM-1-25", "IMM-3-25", "IMM-7-24"]


def test_cases_file_keeps_those_cases_and_their_years(out, tmp_path, capsys):
    watch = tmp_path / "watch.txt"
    watch.write_text("# watched\nimm-3-25\n\nIMM-7-24\n")
    _, text, _ = run(capsys, "--output-dir", str(out), "--cases-file", str(watch), "--json")
    assert [r["case_number"] for r in json.loads(text)] == ["IMM-3-25", "IMM-7-24"]


def test_nothing_changed_says_so(tmp_path, capsys):
    Ledger(str(tmp_path)).record("IMM-1-25", "unchanged", run_id="r", year=2025, file_path="a.json")
    assert run(capsys, "--output-dir", str(tmp_path)) == (0, "no changes recorded\n", "")
    assert run(capsys, "--output-dir", str(tmp_path), "--json") == (0, "[]\n", "")


def write_case(out, rel, entries, url="https://www.fct-cf.ca/en/court-files-and-decisions/court-files#IMM-5-25"):
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"case_number": "IMM-5-25", "source_url": url, "docket_entries": [
        {"id": int(i), "date_filed": d, "summary": text} for i, d, text in entries]}), encoding="utf-8")


@pytest.fixture
def watched(tmp_path):
    """IMM-5-25 grew by entry 3 and entry 1 was reworded; the files hold their text."""
    out = tmp_path / "watched"
    old, new = "json/2025/IMM-5-25-20250301.json", "json/2025/IMM-5-25-20250310.json"
    write_case(out, old, [("2", "2025-02-01", "Notice of appearance"), ("1", "2025-01-05", "Filed")])
    write_case(out, new, [("3", "2025-03-09", "Order granting leave <b>&</b> costs"),
                          ("2", "2025-02-01", "Notice of appearance"),
                          ("1", "2025-01-05", "Filed (amended)")])
    ledger = Ledger(str(out))
    ledger.record("IMM-5-25", "saved", run_id="a", year=2025, file_path=old, at="2025-03-01T06:00:00+00:00")
    ledger.record("IMM-5-25", "changed", run_id="b", year=2025, file_path=new, at="2025-03-10T06:00:00+00:00",
                  changes=changes(old, added=["3"], changed=["1"]))
    (tmp_path / "watch.txt").write_text("IMM-5-25\n")
    return out


def test_each_new_or_changed_entry_is_shown_with_its_date_and_text(watched, capsys):
    code, text, err = run(capsys, "--output-dir", str(watched))
    assert code == 0 and err == ""
    assert "    added #3 2025-03-09 Order granting leave <b>&</b> costs\n" in text
    assert "    changed #1 2025-01-05 Filed (amended)\n" in text
    assert text.endswith("1 change(s) of 1 case(s)\n")


def test_exit_code_says_whether_anything_changed(watched, tmp_path, capsys):
    assert run(capsys, "--output-dir", str(watched), "--exit-code")[0] == 1
    assert run(capsys, "--output-dir", str(watched), "--exit-code", "--since", "2025-03-11") == (
        0, "no changes recorded\n", "")
    assert run(capsys, "--output-dir", str(watched))[0] == 0  # without it: 0, as before
    # An error is never taken for "changed": 2 with --exit-code.
    assert run(capsys, "--output-dir", str(tmp_path / "none"), "--exit-code")[0] == 2
    (tmp_path / "broken" / "ledger" / "2025.jsonl").mkdir(parents=True)
    assert run(capsys, "--output-dir", str(tmp_path / "broken"), "--exit-code", "--year", "2025")[0] == 2


def test_atom_feed_has_what_a_feed_reader_needs(watched, tmp_path, capsys):
    import xml.etree.ElementTree as ET
    from datetime import datetime

    feed_path = tmp_path / "feeds" / "watch.atom"
    feed_path.parent.mkdir()
    watch = str(tmp_path / "watch.txt")
    args = ["--output-dir", str(watched), "--cases-file", watch, "--atom", str(feed_path)]
    assert run(capsys, *args)[0] == 0
    first = feed_path.read_bytes()
    a = "{http://www.w3.org/2005/Atom}"
    root = ET.fromstring(first)
    assert root.tag == f"{a}feed"
    # RFC 4287: a feed has exactly one id, title, updated and an author (or every entry has one).
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{a}{tag}")) == 1 and root.findtext(f"{a}{tag}").strip(), tag
    assert root.findtext(f"{a}author/{a}name") == "casescraper"
    assert watch in root.findtext(f"{a}title")
    assert root.findtext(f"{a}updated") == "2025-03-10T06:00:00Z"
    (entry,) = root.findall(f"{a}entry")
    for tag in ("id", "title", "updated"):
        assert len(entry.findall(f"{a}{tag}")) == 1 and entry.findtext(f"{a}{tag}").strip(), tag
    assert entry.findtext(f"{a}id").startswith("urn:uuid:")
    datetime.fromisoformat(entry.findtext(f"{a}updated").replace("Z", "+00:00"))  # RFC 3339
    assert entry.findtext(f"{a}title") == "IMM-5-25: entries added 3; entries changed 1"
    link = entry.find(f"{a}link")
    assert link.get("href").endswith("#IMM-5-25") and link.get("rel") == "alternate"
    content = entry.find(f"{a}content")
    assert content.get("type") == "text" and "added #3 2025-03-09 Order granting leave <b>&</b> costs" in content.text
    # Stable ids: written again, the same feed (a reader shows each change once).
    assert run(capsys, *args)[0] == 0 and feed_path.read_bytes() == first
    assert [p.name for p in feed_path.parent.iterdir()] == ["watch.atom"]  # no temp left
    # Nothing changed (yet) still makes a valid feed, with no entries.
    assert run(capsys, *args, "--since", "2025-04-01")[0] == 0
    root = ET.fromstring(feed_path.read_bytes())
    assert root.findall(f"{a}entry") == [] and root.findtext(f"{a}id").startswith("urn:uuid:")


def test_default_output_dir_is_a_crawls(out, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no config.toml here
    monkeypatch.delenv("CASESCRAPER_CONFIG", raising=False)
    monkeypatch.setenv("CASESCRAPER_OUTPUT_DIR", str(out))
    code = casescraper_main(["changes", "--json"])
    assert code == 0 and len(json.loads(capsys.readouterr().out)) == 4


def test_values_from_the_ledger_are_shown_escaped(tmp_path, capsys):
    Ledger(str(tmp_path)).record("IMM-1-25\x1b[31m", "changed", run_id="r", year=2025, file_path="a\nb.json",
                                 changes=changes("p.json", fields=["\x1b]0;x"]))
    _, text, _ = run(capsys, "--output-dir", str(tmp_path))
    assert "\x1b" not in text and "IMM-1-25\\x1b[31m" in text and "a\\nb.json" in text


@pytest.mark.parametrize("args, message", [
    (["--year", "25"], "argument --year: '25' is invalid: use YYYY, 1971 to "),
    (["--year"], "argument --year: expected at least one argument"),
    (["--since", "2025-02-30"], "argument --since: '2025-02-30' is invalid: use a day YYYY-MM-DD"),
    (["--since", "March"], "argument --since: 'March' is invalid: use a day YYYY-MM-DD"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--year", "2023"], "no ledger for 2023: "),
    (["--cases-file", "/nonexistent/watch.txt"], "--cases-file '/nonexistent/watch.txt': cannot read it"),
    (["--cases-file", "BAD"], "line 2: 'IMM-x' is not a court file number: use the form IMM-12345-25"),
    (["--cases-file", "EMPTY"], "lists no case numbers"),
])
def test_bad_arguments_are_one_line_and_exit_2(out, tmp_path, capsys, args, message):
    (tmp_path / "BAD").write_text("IMM-1-25\nIMM-x\n")
    (tmp_path / "EMPTY").write_text("# nothing\n")
    args = [str(tmp_path / a) if a in ("BAD", "EMPTY") else a for a in args]
    code, text, err = run(capsys, "--output-dir", str(out), *args)
    assert code == 2 and text == ""
    assert err.startswith("casescraper: error: ") and err.count("\n") == 1 and message in err, err
    if "no ledger" in message:
        assert "ledgers exist for 2024, 2025" in err


def test_a_missing_output_dir_is_a_bad_argument(tmp_path, capsys):
    code, _, err = run(capsys, "--output-dir", str(tmp_path / "none"))
    assert code == 2 and err == (f"casescraper: error: output directory {tmp_path / 'none'} does not "
                                 "exist (use --output-dir DIR)\n")


# --- end to end: a refresh on a later day of the demo court ----------------------------------


@needs_browser
def test_a_refresh_on_a_later_day_records_what_changed(tmp_path, capsys):
    base = {"site": "demo", "year": 2025, "end": 8, "demo_last_number": 8}
    first = run_crawl(tmp_path, base)
    assert first["reason"] == "finished", first["log"][-3000:]
    out = tmp_path / "output"
    before = {line["case_number"]: line for line in ledger_lines(out)}
    found = {c for c, line in before.items() if line["status"] == "saved"}
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json*"))
    grow = {"IMM-2-25", "IMM-5-25"}
    assert len(found) == 7 and grow < found

    second = run_crawl(tmp_path, {**base, "refresh": 1, "demo_day": 1, "demo_grow": ",".join(sorted(grow))})
    assert second["reason"] == "finished", second["log"][-3000:]
    now = {line["case_number"]: line for line in ledger_lines(out)[len(before):]}
    assert {c for c, line in now.items() if line["status"] == "changed"} == grow
    assert {c for c, line in now.items() if line["status"] == "unchanged"} == found - grow
    grown = {r["case_number"]: r for r in records(2025, 8, 0, day=1, grow=grow)}
    for case in found - grow:  # no new file, no new evidence: the line names the first file
        assert now[case]["file_path"] == before[case]["file_path"] and "changes" not in now[case]
    new_files = []
    for case in grow:
        line = now[case]
        added = str(max(e["id"] for e in grown[case]["docket_entries"]))
        assert line["changes"] == {"previous_file": before[case]["file_path"], "entries_added": [added],
                                   "entries_removed": [], "entries_changed": [], "fields": []}
        record = json.loads((out / line["file_path"]).read_text(encoding="utf-8"))
        assert strip_run_fields(record) == grown[case]
        new_files += [line["file_path"], line["file_path"].replace("json/", "raw/", 1) + ".gz"]
    after = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json*"))
    runs = [p for p in after if p.startswith("runs/")]
    assert sorted(set(after) - set(files) - set(runs)) == sorted(new_files)
    assert "saved 0, changed 2, unchanged 5 (IMM-1-25 to IMM-8-25), no results 1" in second["log"]

    assert main(["--output-dir", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["case_number"] for r in rows) == sorted(grow)
    assert main(["--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "entries added" in text and text.endswith("2 change(s) of 2 case(s)\n")
    for case in grow:  # each new entry with its date and text, as the new file has it
        new = max(grown[case]["docket_entries"], key=lambda e: e["id"])
        assert f"    added #{new['id']} {new['date_filed']} {new['summary']}\n" in text
    assert main(["--output-dir", str(out), "--exit-code"]) == 1
    capsys.readouterr()

    # The dataset over this output holds each case's latest file, field by field: the grown
    # cases' new files, the first files of the unchanged ones.
    latest = {}
    for line in ledger_lines(out):  # file order: a case's last line wins
        if line["status"] in ("saved", "changed", "unchanged"):
            latest[line["case_number"]] = line["file_path"]
    wanted = {Path(rel).name: json.loads((out / rel).read_text(encoding="utf-8"))
              for _, rel in sorted(latest.items(), key=lambda kv: casenumbers.order(kv[0]))}
    tables = tmp_path / "tables"
    assert dataset_main(["--years", "2025", "--output-dir", str(out), "--out", str(tables)]) == 0
    capsys.readouterr()
    got, want = read_tables(tables, "parquet"), tables_of(wanted)
    assert len(got["cases"]) == len(found) == 7
    assert len(got["docket_entries"]) == sum(len(r["docket_entries"]) for r in wanted.values())
    for table in want:
        assert got[table] == want[table], table


def test_a_reader_that_goes_away_ends_it_quietly(tmp_path, out):
    """`changes | head`: no traceback and no error line when the reader has stopped reading."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        # Block-buffered, as stdout to a pipe is by default: the error then comes at a flush.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        proc = subprocess.run([sys.executable, "-m", "casescraper", "changes", "--output-dir", str(out)],
                              cwd=ROOT, env=env, stdout=write_end, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == b""


# --- the README's nightly watch-list run ----------------------------------------------------


def readme_units():
    """{unit file name: its text} of the README's ```ini blocks (each opens with its path)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```ini\n(.*?)```", readme, re.S)
    return {block.splitlines()[0].removeprefix("# ").rsplit("/", 1)[1]: block for block in blocks}


def parsed_unit(text):
    import configparser

    # systemd allows a key more than once (ExecStart in a oneshot service): kept as a list.
    class Multi(dict):
        def __setitem__(self, key, value):
            if isinstance(value, list) and key in self:
                self[key].extend(value)
            else:
                super().__setitem__(key, value)

    unit = configparser.RawConfigParser(dict_type=Multi, strict=False, empty_lines_in_values=False)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(text)
    return unit


def test_the_readmes_systemd_timer_and_service_are_valid_units(tmp_path, capsys, monkeypatch):
    import shlex

    units = readme_units()
    assert set(units) == {"casescraper-watch.timer", "casescraper-watch.service"}
    timer = parsed_unit(units["casescraper-watch.timer"])
    assert timer.sections() == ["Unit", "Timer", "Install"]
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = parsed_unit(units["casescraper-watch.service"])
    assert service.sections() == ["Unit", "Service"]  # started by the timer: no [Install]
    assert service["Service"]["Type"] == "oneshot"
    assert "network-online.target" in service["Unit"]["After"]
    home = service["Service"]["WorkingDirectory"]
    assert len(service["Service"]["ExecStart"].splitlines()) == 2  # configparser joins repeats
    crawl, changes = (shlex.split(line) for line in raw_values(units["casescraper-watch.service"], "ExecStart"))
    for argv in (crawl, changes):
        assert argv[:2] == [f"{home}/.venv/bin/python", "-m"]
    assert crawl[2:5] == ["scrapy", "crawl", "cases"] and "cases_file=watch.txt" in crawl
    assert any(a.startswith("USER_AGENT=casescraper (contact: ") for a in crawl)
    # The changes command as the service runs it, on an output dir with one change.
    assert changes[2:4] == ["casescraper", "changes"]
    out = tmp_path / "out"
    Ledger(str(out)).record("IMM-5-25", "changed", run_id="r", year=2025, file_path="json/2025/b.json",
                            changes={"previous_file": "json/2025/a.json", "entries_added": ["3"]})
    (tmp_path / "watch.txt").write_text("IMM-5-25\n")
    (tmp_path / "feeds").mkdir()
    monkeypatch.chdir(tmp_path)  # the service's WorkingDirectory
    assert casescraper_main([*changes[3:], "--output-dir", str(out)]) == 0
    assert "IMM-5-25" in capsys.readouterr().out and (tmp_path / "feeds" / "watch.atom").is_file()


def raw_values(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def test_the_readmes_cron_line_runs_the_crawl_then_changes_with_exit_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [l for l in readme.splitlines() if re.match(r"[0-9*]+ [0-9*]+ \* \* \* ", l)]
    assert line.startswith("30 2 * * * cd /srv/casescraper && .venv/bin/python -m scrapy crawl cases ")
    assert "%" not in line.replace("\\%", "")  # cron turns a bare % into a newline
    assert "casescraper changes --cases-file watch.txt" in line and "--exit-code" in line
    assert "|| mail " in line  # exit 1 (changed) or 2 (error): mailed
