"""`python -m casescraper dataset`: tables from the latest file of each case, v1, v2 and v3."""

import json
import os
from datetime import date, datetime, timezone

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from casescraper.tools import dataset
from casescraper.tools.dataset import SCHEMAS, main
from casescraper.tools.dataset_files import latest_files
from casescraper.democourt import data

DAY = "20251128"


def v1(case, style, entries=2, day="2024-11-05"):
    """A case file as written before schema versions: parties with role and representation."""
    return {
        "case_number": case, "court": "t", "style_of_cause": style,
        "nature_of_proceeding": "Imm - Appl. for leave & jud. review", "case_type": None,
        "type_of_action": "Immigration Matters", "filing_date": "2024-03-01", "office": "Toronto",
        "language": "English",
        "parties": [{"name": "ANA PÉREZ", "role": "Applicant", "representation": "Lee & Co, Ana Lee"},
                    {"name": "THE MINISTER", "role": "Respondent", "representation": None}],
        "docket_entries": [{"id": n, "date_filed": f"2024-03-{n:02d}", "office": "Toronto",
                            "summary": f"entry {n}, \"quoted\""} for n in range(entries, 0, -1)],
        "source_url": "https://www.fct-cf.ca/en/court-files-and-decisions/court-files",
        "scraped_at": f"{day}T09:30:00.5+00:00", "file_path": None,
    }


V3_CASE = ("track", "proceeding_class", "proceeding_type", "nature_code", "office_code")


def v3(n, **changes):
    """The demo court's record of IMM-n-25 as a crawl saves it."""
    record = data.record(2025, n, 12)
    assert record is not None, n
    return {**record, "source_url": "http://127.0.0.1:8000/x",
            "scraped_at": "2025-11-28T10:00:00+00:00", "file_path": None, **changes}


def v2(n, **changes):
    """The same as a crawl before schema v3 saved it: no fields for research, no role."""
    record = {k: v for k, v in v3(n, **changes).items() if k not in V3_CASE}
    record["schema_version"] = 2
    record["parties"] = None if record["parties"] is None else [
        {k: v for k, v in p.items() if k != "role"} for p in record["parties"]]
    record["docket_entries"] = [{k: v for k, v in e.items() if k not in ("docno", "document_date")}
                                for e in record["docket_entries"]]
    return record


def write(root, name, record):
    year = "20" + name.split("-")[2]
    path = root / "json" / year / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")


def build(root, reverse=False):
    """v1 files for 2024 and v2 and v3 files for 2025, several versions of some cases; returns the
    latest file name -> record, in the order the tables must list them."""
    numbers = [n for n in range(1, 13) if data.record(2025, n, 12)][:4]
    a, b, c, d = numbers
    files = [  # (name, record, latest?)
        ("IMM-10-24-20241101.json", v1("IMM-10-24", "OLD TEN", day="2024-11-01"), False),
        ("IMM-10-24-20241105.json", v1("IMM-10-24", "TEN v. THE MINISTER", entries=3), True),
        ("IMM-2-24-20241105.json", v1("IMM-2-24", "OLD TWO"), False),
        ("IMM-2-24-20241105-1.json", v1("IMM-2-24", "OLD TWO, second"), False),
        ("IMM-2-24-20241105-2.json", v1("IMM-2-24", "TWO v. THE MINISTER", entries=0), True),
        (f"IMM-{a}-25-20251120.json",
         v2(a, style_of_cause="OLD", scraped_at="2025-11-20T10:00:00+00:00"), False),
        (f"IMM-{a}-25-{DAY}.json", v3(a, other_fields={"Status": "Closed", "Judge": None}), True),
        (f"IMM-{b}-25-{DAY}.json", v2(b, parties=None), True),  # parties could not be read
        (f"IMM-{c}-25-{DAY}-1.json", v2(c), True),
        (f"IMM-{c}-25-{DAY}.json", v2(c, style_of_cause="OLD"), False),
        (f"IMM-{d}-25-20251201.json", v3(d, scraped_at="2025-12-01T08:00:00.123456+00:00"), True),
    ]
    record = files[-1][1]
    record["docket_entries"][0]["document"] = None
    if len(record["docket_entries"]) > 1:
        record["docket_entries"][1]["document"] = {"id": "77", "downloadable": False,
                                                   "confidential": None, "url": None}
    for name, rec, _ in reversed(files) if reverse else files:
        write(root, name, rec)
    ledger = root / "ledger" / "2025.jsonl"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"case_number": f"IMM-{n}-25", "status": "saved", "site": "demo",
              "file_path": f"json/2025/IMM-{n}-25-{DAY}.json"} for n in (a, b)]
    lines += [{"case_number": f"IMM-{a + 100}-25", "status": "no_results", "site": "demo"},
              {"case_number": f"IMM-{a + 101}-25", "status": "driver_error", "site": "demo"}]
    ledger.write_text("".join(json.dumps(line) + "\n" for line in lines))
    latest = {name: rec for name, rec, keep in files if keep}
    order = sorted(latest, key=lambda name: (name.split("-")[2], int(name.split("-")[1])))
    return {name: latest[name] for name in order}


def read(out, fmt):
    """table -> list of row dicts, dates and times as in the JSON files."""
    tables = {}
    for table, schema in SCHEMAS.items():
        path = out / f"{table}.{fmt}"
        if fmt == "jsonl":
            tables[table] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            assert all(list(row) == schema.names for row in tables[table])
            continue
        if fmt == "parquet":
            t = pq.read_table(path)
        else:
            t = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
                column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False))
        assert t.schema.equals(schema, check_metadata=False)
        tables[table] = [{k: _plain(v) for k, v in row.items()} for row in t.to_pylist()]
    return tables


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def expected(latest):
    """The tables as the JSON files say, built here field by field."""
    cases, entries, parties, related = [], [], [], []
    for name, r in latest.items():
        year = int(name.split("-")[2]) + 2000
        dates = [e["date_filed"] for e in r["docket_entries"] if e["date_filed"]]
        scraped = datetime.fromisoformat(r["scraped_at"].replace(".5+", ".500000+"))
        cases.append({
            "case_number": r["case_number"], "year": year, "court": r["court"],
            **{k: r[k] for k in ("style_of_cause", "nature_of_proceeding", "case_type",
                                 "type_of_action", "filing_date", "office", "language")},
            **{k: r.get(k) for k in V3_CASE},
            "other_fields": None if "other_fields" not in r else json.dumps(r["other_fields"], ensure_ascii=False,
                                                                            separators=(",", ":")),
            "schema_version": r.get("schema_version", 1),
            "first_docket_date": min(dates, default=None), "last_docket_date": max(dates, default=None),
            "entry_count": len(r["docket_entries"]),
            "party_count": None if r["parties"] is None else len(r["parties"]),
            "scraped_at": scraped.isoformat(), "source_file": f"json/{year}/{name}"})
        for e in r["docket_entries"]:
            doc = e.get("document") or {}
            entries.append({"case_number": r["case_number"], "id": e["id"],
                            "date_filed": e["date_filed"], "office": e["office"],
                            "summary": e["summary"], "document_id": doc.get("id"),
                            "document_downloadable": doc.get("downloadable"),
                            "document_confidential": doc.get("confidential"),
                            "document_url": doc.get("url"), "docno": e.get("docno"),
                            "document_date": e.get("document_date")})
        for i, p in enumerate(r["parties"] or [], 1):
            parties.append({"case_number": r["case_number"], "position": i, "name": p["name"],
                            **{k: p.get(k) for k in ("solicitor_firm", "solicitor_contact", "role",
                                                     "representation")}})
        for i, x in enumerate(r.get("related") or [], 1):
            related.append({"case_number": r["case_number"], "position": i,
                            "related_case_number": x["case_number"], "style_of_cause": x["style_of_cause"]})
    return {"cases": cases, "docket_entries": entries, "parties": parties, "related": related}


def run(*args):
    return main(["--years", "2024-2025", *map(str, args)])


@pytest.mark.parametrize("fmt", dataset.FORMATS)
def test_tables_equal_the_latest_files_field_by_field(tmp_path, fmt, capsys):
    latest = build(tmp_path / "output")
    out = tmp_path / "tables"
    assert run("--output-dir", tmp_path / "output", "--out", out, "--format", fmt) == 0
    got, want = read(out, fmt), expected(latest)
    assert len(got["cases"]) == len(latest) == 6
    assert len(got["docket_entries"]) == sum(len(r["docket_entries"]) for r in latest.values())
    for table in SCHEMAS:
        assert got[table] == want[table], table
    # the older versions are never the source
    assert not {c["style_of_cause"] for c in got["cases"]} & {"OLD", "OLD TEN", "OLD TWO"}
    assert capsys.readouterr().out.startswith("wrote 6 cases")
    assert sorted(os.listdir(out)) == sorted(["DATASET.md", "dataset.json"] + [f"{t}.{fmt}" for t in SCHEMAS])


def test_types_and_documentation_travel_with_parquet(tmp_path):
    build(tmp_path / "output")
    assert run("--output-dir", tmp_path / "output", "--out", tmp_path / "t") == 0
    schema = pq.read_schema(tmp_path / "t" / "cases.parquet")
    assert str(schema.field("filing_date").type) == "date32[day]"
    assert str(schema.field("scraped_at").type) == "timestamp[us, tz=UTC]"
    assert str(pq.read_schema(tmp_path / "t" / "docket_entries.parquet").field("id").type) == "int64"
    assert b"description" in schema.field("party_count").metadata


@pytest.mark.parametrize("fmt", dataset.FORMATS)
def test_output_is_deterministic(tmp_path, fmt, monkeypatch):
    build(tmp_path / "a")
    build(tmp_path / "b", reverse=True)  # other creation (and listing) order
    assert run("--output-dir", tmp_path / "a", "--out", tmp_path / "ta", "--format", fmt) == 0
    monkeypatch.setattr(dataset, "BATCH_ROWS", 2)  # many batches, same result
    assert run("--output-dir", tmp_path / "b", "--out", tmp_path / "tb", "--format", fmt) == 0
    for table in SCHEMAS:
        a, b = (tmp_path / d / f"{table}.{fmt}" for d in ("ta", "tb"))
        if fmt == "parquet":
            assert pq.read_table(a).equals(pq.read_table(b))
        else:
            assert a.read_bytes() == b.read_bytes()
    card_a, card_b = ((tmp_path / d / "DATASET.md").read_text() for d in ("ta", "tb"))
    assert card_a.replace(str(tmp_path / "a"), "X") == card_b.replace(str(tmp_path / "b"), "X")


def test_data_card(tmp_path):
    root = tmp_path / "output"
    build(root)
    (root / "ledger" / "2024.jsonl").write_text('{"case_number": "IMM-2-24", "status": "saved", '
                                                '"file_path": "json/2024/gone.json"}\n')
    assert run("--output-dir", root, "--out", tmp_path / "t", "--format", "csv") == 0
    card = (tmp_path / "t" / "DATASET.md").read_text(encoding="utf-8")
    assert "MIXED" in card  # 2024's line has no site: real by default; 2025 is demo
    lines = card.splitlines()
    # 2025's one "no results" is above its last saved number: a probe, not a gap
    assert "| 2025 | 4 | 4 | 2 | 0 | 1 | 1 | 0 |" in "\n".join(lines)
    assert any(line.startswith("| 2024 | 2 | 1 | 0 | 0 | 0 | 0 | 1 |") for line in lines)
    # No run manifest says the end was found: the coverage is of the numbers asked only.
    assert "| IMM: end not searched: coverage of 1..102 only |" in card and "100.0%" not in card
    assert "Scraped (UTC): 2024-11-05T09:30:00.500000+00:00 to 2025-12-01T08:00:00.123456+00:00" in card
    assert "schema v1: 2, v2: 2, v3: 2" in card
    for schema in SCHEMAS.values():
        for name in schema.names:
            assert f"| `{name}` |" in card


def test_demo_only_ledger_says_fictional(tmp_path):
    root = tmp_path / "output"
    build(root)
    assert main(["--years", "2025", "--output-dir", str(root), "--out", str(tmp_path / "t")]) == 0
    card = (tmp_path / "t" / "DATASET.md").read_text(encoding="utf-8")
    assert "Source: the demo court" in card and "FICTIONAL" in card


def test_corrupt_file_is_skipped_named_and_exit_3(tmp_path, capsys):
    root = tmp_path / "output"
    latest = build(root)
    broken = next(n for n in latest if n.startswith("IMM-10-24"))
    write(root, broken, '{"case_number": "IMM-10-24", ')
    write(root, "IMM-2-24-20241105-2.json", {**latest["IMM-2-24-20241105-2.json"], "docket_entries": 3})
    assert run("--output-dir", root, "--out", tmp_path / "t", "--format", "jsonl") == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "IMM-2-24-20241105-2.json: not a case record: docket_entries" in err[0]
    assert f"json/2024/{broken}: not valid JSON" in err[1]
    cases = read(tmp_path / "t", "jsonl")["cases"]
    assert [c["year"] for c in cases] == [2025] * 4
    assert broken in (tmp_path / "t" / "DATASET.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["--years", "2025", "--output-dir", "{tmp}/nope"], "output directory"),
    (["--years", "20x5", "--output-dir", "{tmp}/output"], "--years '20x5' is invalid"),
    (["--years", "2025-2019", "--output-dir", "{tmp}/output"], "is invalid"),
    (["--years", "1900", "--output-dir", "{tmp}/output"], "is invalid"),
    (["--years", "2025", "--output-dir", "{tmp}/output", "--format", "xls"], "invalid choice: 'xls'"),
    (["--years", "2019,2021", "--output-dir", "{tmp}/output"], "years with files: 2024, 2025"),
    (["--output-dir", "{tmp}/output"], "--years"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    build(tmp_path / "output")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--out", str(tmp_path / "t")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("casescraper: error: ") and message in err
    assert not (tmp_path / "t").exists()


def test_years_forms():
    assert dataset.parse_years("2019-2021") == [2019, 2020, 2021]
    assert dataset.parse_years("2019,2021") == [2019, 2021]
    assert dataset.parse_years(" 2025 ") == [2025]
    assert dataset.parse_years("2019-2020,2025,2020") == [2019, 2020, 2025]


def test_latest_is_chosen_from_names(tmp_path):
    directory = tmp_path / "json" / "2025"
    directory.mkdir(parents=True)
    for name in ["IMM-9-25-20250101.json", "IMM-9-25-20250101-10.json", "IMM-9-25-20250101-9.json",
                 "IMM-10-25-20241231-3.json", "IMM-10-25-20250102.json", ".IMM-1-25.1.abc.tmp",
                 "notes.txt", "T-3-25-20250101.json", "odd_no-20250101.json", "odd_no-20250102-1.json",
                 "IMM-2000000-25-20250101.json"]:
        (directory / name).write_text("{}")
    warnings = []
    names, listed = latest_files(str(directory), warnings.append)
    assert list(names) == ["IMM-9-25-20250101-10.json", "IMM-10-25-20250102.json",
                           "T-3-25-20250101.json", "IMM-2000000-25-20250101.json",
                           "odd_no-20250102-1.json"]
    assert listed == 9 and len(warnings) == 1 and "notes.txt" in warnings[0]


def test_through_the_casescraper_command(tmp_path, capsys):
    from casescraper.__main__ import main as casescraper_main

    build(tmp_path / "output")
    out = tmp_path / "t"
    assert casescraper_main(["dataset", "--years", "2025", "--output-dir", str(tmp_path / "output"),
                             "--out", str(out), "--format", "csv"]) == 0
    assert (out / "cases.csv").read_text(encoding="utf-8").count("\n") == 1 + 4


def test_unwritable_out_is_exit_4_and_leaves_no_temp(tmp_path, capsys):
    build(tmp_path / "output")
    (tmp_path / "t").write_text("a file, not a directory")
    assert run("--output-dir", tmp_path / "output", "--out", tmp_path / "t") == 4
    assert capsys.readouterr().err.startswith(f"casescraper: error: cannot write to {tmp_path / 't'}")


def test_newer_schema_is_exported_with_one_warning(tmp_path, capsys):
    root = tmp_path / "output"
    latest = build(root)
    for name in [n for n in latest if "-25-" in n][:2]:
        write(root, name, {**latest[name], "schema_version": 4, "new_field": [1]})
    assert run("--output-dir", root, "--out", tmp_path / "t", "--format", "jsonl") == 0
    assert capsys.readouterr().err.count("schema v4 is newer") == 1
    assert [c["schema_version"] for c in read(tmp_path / "t", "jsonl")["cases"]].count(4) == 2


def test_coverage_counts_as_report_does(tmp_path):
    from casescraper.tools import datacard, report

    root = tmp_path / "output"
    build(root)
    write(root, "IMM-31-25-20251128.json", v1("IMM-31-25", "THIRTY-ONE"))
    lines = [{"case_number": "IMM-7-25", "status": "saved", "site": "demo",
              "file_path": "json/2025/gone.json"},
             {"case_number": "IMM-30-25", "status": "parse_error", "site": "demo"},
             {"case_number": "IMM-30-25", "status": "unverified", "site": "demo"},
             {"case_number": "IMM-31-25", "status": "no_results", "site": "demo"},
             {"case_number": "IMM-31-25", "status": "saved", "site": "demo",
              "file_path": "json/2025/IMM-31-25-20251128.json"},
             {"case_number": "odd", "status": "no_results", "site": "demo"}]
    with open(root / "ledger" / "2025.jsonl", "a") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    ours, theirs = datacard.coverage(str(root), 2025), report.build(str(root), 2025)
    for name in ("saved", "no_results", "failed", "missing_file", "dry_run"):
        assert ours.counts[name] == theirs.total(name), name
    assert ours.never_tried == theirs.total_ranges("never_tried") > 0
    assert ours.probes_above == sum(p.probes_above() for p in theirs.prefixes.values())
    p = theirs.prefixes["IMM"]
    assert ours.spans == [f"{p.case(p.first)} to {p.case(p.last)}"]


def test_coverage_counts_changed_and_unchanged_as_found(tmp_path):
    from casescraper.tools import datacard, report

    root = tmp_path / "output"
    build(root)
    before = datacard.coverage(str(root), 2025).counts
    for name in ("IMM-40-25-20251128.json", "IMM-40-25-20251129.json", "IMM-41-25-20251128.json",
                 "IMM-43-25-20251128.json"):
        write(root, name, v1(name[:9], "X"))
    files = {n: f"json/2025/IMM-{n}-25-20251128.json" for n in (40, 41, 43)}
    files[0], files[1] = files[40], "json/2025/IMM-40-25-20251129.json"
    lines = [{"case_number": "IMM-40-25", "status": "saved", "file_path": files[0]},
             {"case_number": "IMM-40-25", "status": "changed", "file_path": files[1],
              "changes": {"previous_file": files[0], "fields": ["office"]}},
             {"case_number": "IMM-41-25", "status": "driver_error"},
             {"case_number": "IMM-41-25", "status": "unchanged", "file_path": files[41]},
             {"case_number": "IMM-42-25", "status": "changed", "file_path": "json/2025/gone.json"},
             {"case_number": "IMM-43-25", "status": "unchanged", "file_path": files[43]},
             {"case_number": "IMM-43-25", "status": "blocked"}]
    with open(root / "ledger" / "2025.jsonl", "a") as f:
        f.writelines(json.dumps({**line, "site": "demo"}) + "\n" for line in lines)
    ours, theirs = datacard.coverage(str(root), 2025), report.build(str(root), 2025)
    assert ours.counts["saved"] == before["saved"] + 2
    assert ours.counts["missing_file"] == before["missing_file"] + 1
    assert ours.counts["failed"] == before["failed"] + 1
    for name in ("saved", "no_results", "failed", "missing_file", "dry_run"):
        assert ours.counts[name] == theirs.total(name), name
    assert ours.spans[0].endswith(" to IMM-41-25")
    assert ours.never_tried == theirs.total_ranges("never_tried") > 0


def ledger_lines(root, year, lines):
    path = root / "ledger" / f"{year}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"site": "demo", **line}) + "\n" for line in lines))


def test_the_ledger_names_each_cases_file(tmp_path):
    from casescraper.store.ledger import Ledger

    root = tmp_path / "output"
    directory = root / "json" / "2025"
    directory.mkdir(parents=True)
    for name in ["IMM-1-25-20250101.json", "IMM-1-25-20250102.json",  # changed: the newer
                 "IMM-2-25-20250101.json", "IMM-2-25-20250102.json",  # unchanged: the older
                 "IMM-3-25-20250101.json", "IMM-3-25-20250102.json",  # named file gone
                 "IMM-4-25-20250101.json", "IMM-4-25-20250101-1.json",  # found, then no results
                 "IMM-5-25-20250101.json", "IMM-5-25-20250102.json",  # no line: by name
                 "odd_no-20250101.json", "odd_no-20250102.json"]:  # unchanged: the older
        (directory / name).write_text("{}")
    f = "json/2025/"
    ledger_lines(root, 2025, [
        {"case_number": "IMM-1-25", "status": "saved", "file_path": f + "IMM-1-25-20250101.json"},
        {"case_number": "IMM-1-25", "status": "changed", "file_path": f + "IMM-1-25-20250102.json"},
        {"case_number": "IMM-2-25", "status": "saved", "file_path": f + "IMM-2-25-20250101.json"},
        {"case_number": "IMM-2-25", "status": "unchanged", "file_path": f + "IMM-2-25-20250101.json"},
        {"case_number": "IMM-3-25", "status": "saved", "file_path": f + "IMM-3-25-20250101.json"},
        {"case_number": "IMM-3-25", "status": "changed", "file_path": f + "IMM-3-25-20250103.json"},
        {"case_number": "IMM-4-25", "status": "unchanged", "file_path": f + "IMM-4-25-20250101.json"},
        {"case_number": "IMM-4-25", "status": "no_results"},
        # another case's file, another folder: not this case's file
        {"case_number": "IMM-6-25", "status": "unchanged", "file_path": f + "IMM-5-25-20250101.json"},
        {"case_number": "IMM-5-25", "status": "unchanged", "file_path": "json/2024/IMM-5-25-20250101.json"},
        {"case_number": "odd_no", "status": "unchanged", "file_path": f + "odd_no-20250101.json"},
        {"case_number": "IMM-7-25", "status": "saved", "file_path": f + "IMM-7-25-20250101.json"},  # gone
    ])
    warnings = []
    names, listed = latest_files(str(directory), warnings.append, Ledger(str(root)), 2025)
    assert list(names) == ["IMM-1-25-20250102.json", "IMM-2-25-20250101.json", "IMM-3-25-20250102.json",
                           "IMM-4-25-20250101.json", "IMM-5-25-20250102.json", "odd_no-20250101.json"]
    assert listed == 12 and warnings == []


def test_export_takes_the_file_an_unchanged_line_names(tmp_path, capsys):
    root = tmp_path / "output"
    latest = build(root)
    name = next(n for n in latest if "-25-" in n and n.endswith(f"{DAY}.json"))
    case = latest[name]["case_number"]
    newer = name.replace(DAY, "20251230")  # e.g. written by a run whose ledger line was lost
    write(root, newer, {**latest[name], "style_of_cause": "NEWER, NOT IN THE LEDGER"})
    with open(root / "ledger" / "2025.jsonl", "a") as f:
        f.write(json.dumps({"case_number": case, "status": "unchanged", "site": "demo",
                            "file_path": f"json/2025/{name}"}) + "\n")
    assert run("--output-dir", root, "--out", tmp_path / "t", "--format", "jsonl") == 0
    row = next(c for c in read(tmp_path / "t", "jsonl")["cases"] if c["case_number"] == case)
    assert row["source_file"] == f"json/2025/{name}"

    # a ledger that cannot be read: warned, and the highest name wins
    (root / "ledger" / "2025.jsonl").unlink()
    (root / "ledger" / "2025.jsonl").symlink_to(root / "ledger" / "2024.jsonl")
    (root / "ledger" / "2024.jsonl").write_text("")
    capsys.readouterr()
    assert run("--output-dir", root, "--out", tmp_path / "t", "--format", "jsonl") == 0
    assert "the ledger of 2025 could not be read" in capsys.readouterr().err
    row = next(c for c in read(tmp_path / "t", "jsonl")["cases"] if c["case_number"] == case)
    assert row["source_file"] == f"json/2025/{newer}"


# The Refugee Law Lab's "Luck of the Draw III" columns, as published (one row per case).
RLL_COLUMNS = ["citation", "year", "name", "date_filed", "city_filed", "nature", "class", "track",
               "documents", "source_url", "scraped_timestamp"]


def test_rll_layout_is_the_published_one(tmp_path, capsys):
    import pyarrow as pa

    root = tmp_path / "output"
    latest = build(root)
    assert run("--output-dir", root, "--out", tmp_path / "rll", "--layout", "rll") == 0
    assert sorted(os.listdir(tmp_path / "rll")) == ["DATASET.md", "dataset.json", "rll.parquet"]
    table = pq.read_table(tmp_path / "rll" / "rll.parquet")
    assert table.schema.names == RLL_COLUMNS
    types = {f.name: f.type for f in table.schema}
    assert types["year"] == pa.int64() and types["citation"] == pa.string()
    assert all(types[c] == pa.string() for c in RLL_COLUMNS if c not in ("year", "documents"))
    assert types["documents"] == pa.list_(pa.struct([("RE_NO", pa.int64()), ("DOCNO", pa.int64()),
                                                     ("DOC_DT", pa.string()), ("RECORDED_ENTRY", pa.string())]))
    rows = table.to_pylist()
    assert [r["citation"] for r in rows] == [r["case_number"] for r in latest.values()]
    for row, (name, r) in zip(rows, latest.items()):
        assert row["year"] == int(name.split("-")[2]) + 2000
        assert (row["name"], row["date_filed"], row["city_filed"], row["nature"]) == (
            r["style_of_cause"], r["filing_date"], r["office"], r["nature_of_proceeding"])
        assert (row["class"], row["track"]) == (r.get("proceeding_class"), r.get("track"))
        assert row["documents"] == [{"RE_NO": e["id"], "DOCNO": e.get("docno"), "DOC_DT": e.get("document_date"),
                                     "RECORDED_ENTRY": e["summary"]} for e in r["docket_entries"]]
        assert [d["RE_NO"] for d in row["documents"]] == sorted((d["RE_NO"] for d in row["documents"]), reverse=True)
        assert (row["source_url"], row["scraped_timestamp"]) == (r["source_url"], r["scraped_at"])
    v3_row = next(row for row, r in zip(rows, latest.values()) if r.get("schema_version") == 3)
    assert v3_row["class"] == "Non-Action" and v3_row["track"] == "Immigration Leave & Judicial Review"
    assert all(d["DOCNO"] is not None for d in v3_row["documents"])
    card = (tmp_path / "rll" / "DATASET.md").read_text(encoding="utf-8")
    assert "Luck of the Draw III" in card and "`RECORDED_ENTRY`" in card


def test_rll_layout_as_csv_is_one_line_and_exit_2(tmp_path, capsys):
    root = tmp_path / "output"
    build(root)
    assert run("--output-dir", root, "--out", tmp_path / "rll", "--layout", "rll", "--format", "csv") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--layout rll cannot be CSV" in err
