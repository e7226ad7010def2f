"""`python -m casescraper reparse`: case files rebuilt from kept evidence, no portal, no browser.

Evidence is made as a crawl makes it: the page HTML the parser read plus the portal's JSON
answers. Two sources: a demo-court file (its JSON rows, and a page in the portal's
structure built from its record) and the real saved capture under ../shared (skipped when
absent). The "crawl" is the real pipeline, fed items parsed from that evidence.
"""

import html as htmllib
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from casescraper import __main__ as cli
from casescraper.record import evidence as evidence_file
from casescraper.record import parser
from casescraper.tools import reparse
from casescraper.democourt import data
from casescraper.items import CaseItem
from casescraper.store.ledger import Site
from tests.test_pipeline import Harness, ledger_lines

ORIGIN = "http://127.0.0.1:8000"
PAGE_URL = f"{ORIGIN}/en/court-files-and-decisions/court-files"
DAY1, DAY2 = "2025-06-01T12:00:00+00:00", "2025-06-02T09:30:00+00:00"


def answer(endpoint, number, rows):
    return {"endpoint": endpoint, "status": 200,
            "url": f"{ORIGIN}/CourtFilesAndDecisions/{endpoint}?courtnumber={quote(number)}",
            "body": json.dumps({"Count": len(rows), "data": rows}, ensure_ascii=False)}


def demo_page(record):
    """The results row and open details modal a person sees, in the portal's structure
    (FACTS from SITE.md), holding the demo court's record."""
    e = lambda v: htmllib.escape(v or "")  # noqa: E731
    rows = "".join(
        f"<tr><td>{d['id']}</td><td>{e(d['date_filed'])}</td><td>{e(d['office'])}</td>"
        f"<td>{e(d['summary'])}</td><td>"
        + (f'<a href="{e(d["document"]["url"])}">Download</a>' if (d["document"] or {}).get("url") else "")
        + "</td></tr>" for d in record["docket_entries"])
    fields = "".join(f"<p class=\"text-left\"><strong>{label} :</strong>&nbsp;{e(record[key])}</p>"
                     for label, key in [("Type", "case_type"), ("Nature of Proceeding", "nature_of_proceeding"),
                                        ("Office", "office"), ("Language", "language"),
                                        ("Type of Action", "type_of_action"), ("Filing Date", "filing_date")])
    return f"""<html><body>
<table id="datatable"><thead><tr><th>Court Number</th><th>Style of Cause</th>
<th>Nature of Proceeding</th><th>Parties</th><th>More</th></tr></thead>
<tbody><tr><td>{record['case_number']}</td><td>{e(record['style_of_cause'])}</td>
<td>{e(record['nature_of_proceeding'])}</td><td></td><td></td></tr></tbody></table>
<div class="modal fade right show" id="ModalForm" style="display: block;"><div id="ModalPrintArea">
<div class="modal-header"><h5 id="modalTitle">Recorded Entry Information :&nbsp;&nbsp; {record['case_number']}</h5></div>
<div class="modal-body">{fields}
<div class="table-responsive"><table><caption>Information about the court file</caption>
<thead><tr><th>ID</th><th>Date Filed</th><th>Office</th><th>Recorded Entry Summary</th><th>Download</th></tr></thead>
<tbody>{rows}</tbody></table></div></div></div></div></body></html>"""


def demo_evidence(n, captured_at, year=2025, last=50, day=0):
    """`day`: the court that many days on, the case grown by as many docket entries."""
    case = data.case(year, n, last, later=day)
    record = data.record(year, n, last, day=day, grow={data.case_number(year, n)})
    number = record["case_number"]
    answers = [answer("proceedingQueriesAddInfo", number, [data.search_row(case)]),
               answer("PublicPartiesListInfo", number, data.party_rows(case)),
               answer("proceedingQueriesRE", number, data.docket_rows(case)),
               answer("RelatedListInfo", number, data.related_rows(year, n, last))]
    return evidence_file.build(case_number=number, captured_at=captured_at, source_url=PAGE_URL,
                               court="t", answers=answers, html=demo_page(record),
                               timezone="America/Toronto")


def crawl(out, evidences, **settings):
    """What a crawl does with each capture: parse it, hand the item to the pipeline."""
    items = []
    for ev in evidences:
        parsed = parser.read_case(ev["html"], answers=ev["answers"], court=ev["court"],
                                  case_number=ev["case_number"], page_url=ev["source_url"],
                                  timezone=ev.get("timezone", "America/Toronto"))
        items.append(CaseItem(**parsed.record, source_url=ev["source_url"],
                              scraped_at=ev["captured_at"], evidence=ev))
    h = Harness(out, **settings)
    h.pipe.ledger.site = Site("demo")  # as a crawl with site=demo records it
    h.run(items)
    assert all(item.file_path for item in items)
    return items


def snapshot(out):
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in Path(out).rglob("*") if p.is_file() and p.parts[-2] != "runs"}


def run(out, *extra):
    return reparse.main(["--year", "2025", "--output-dir", str(out), *extra])


@pytest.fixture
def captures(fct_page):
    """Two days' captures of the real saved page (skipped when ../shared is absent)."""
    page = fct_page("detail.html")
    # The second day's solicitor changed: an equal capture would be `unchanged` (no evidence).
    return [evidence_file.build(case_number="IMM-12334-25", captured_at=at, court="t", html=page,
                                source_url="https://www.fct-cf.ca/en/court-files-and-decisions/court-files",
                                answers=[answer("PublicPartiesListInfo", "IMM-12334-25", [
                                    {"PARTY_NAME": "PRIYAVARDHAN RATHORE", "SOLCTR_FIRM": "Example Law Office",
                                     "SOLCTR_CONTACT": contact}])])
            for at, contact in ((DAY1, None), (DAY2, "A. Person"))]


@pytest.fixture
def demo_captures():
    # The second day's capture differs (a new docket entry): an equal one would be `unchanged`.
    return [demo_evidence(n, DAY1) for n in (1, 2, 3)] + [demo_evidence(3, DAY2, day=1)]


@pytest.mark.parametrize("source", ["demo", "real"])
def test_reparse_reproduces_equal_case_data(tmp_path, capsys, request, source):
    evidences = request.getfixturevalue("demo_captures" if source == "demo" else "captures")
    items = crawl(tmp_path, evidences)
    # The answers were read: parties come from the PublicPartiesListInfo rows.
    first = json.loads((tmp_path / items[0].file_path).read_text())
    assert first["parties"] and first["parties"][0]["name"] == json.loads(
        evidences[0]["answers"][1 if source == "demo" else 0]["body"])["data"][0]["PARTY_NAME"]
    before = snapshot(tmp_path)
    assert len([p for p in before if p.startswith("raw/")]) == len(evidences)
    assert run(tmp_path) == 0
    n = len(evidences)
    assert capsys.readouterr().out == f"reparse 2025: read {n}, unchanged {n}, new files 0, failed 0\n"
    assert snapshot(tmp_path) == before  # nothing written, not even a ledger line


def test_a_changed_parser_writes_new_files_and_never_touches_old_ones(tmp_path, capsys, monkeypatch,
                                                                      demo_captures):
    items = crawl(tmp_path, demo_captures)
    before = snapshot(tmp_path)
    real = parser.read_case

    def fixed(html, **kwargs):  # a "parser fix" that changes one value
        parsed = real(html, **kwargs)
        return parser.Parsed(dict(parsed.record, office="Fixed office"), parsed.notes)
    monkeypatch.setattr(parser, "read_case", fixed)
    assert run(tmp_path) == 0
    assert capsys.readouterr().out == "reparse 2025: read 4, unchanged 0, new files 4, failed 0\n"
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before and not k.startswith("ledger/")} == {
        k: v for k, v in before.items() if not k.startswith("ledger/")}
    lines = ledger_lines(tmp_path)[len(items):]
    assert len(lines) == 4 and {line["status"] for line in lines} == {"saved"}
    assert all(line["run_id"].startswith("reparse-") for line in lines)
    assert {line.get("site") for line in lines} == {"demo"}  # the capture's site, never another
    for item, ev, line in zip(items, demo_captures, lines):
        new_path = item.file_path.replace(".json", "-1.json")
        assert line["file_path"] == new_path and line["case_number"] == item.case_number
        new = json.loads((tmp_path / new_path).read_text())
        old = json.loads((tmp_path / item.file_path).read_text())
        assert new["office"] == "Fixed office" and old["office"] != "Fixed office"
        assert (new["scraped_at"], new["source_url"]) == (ev["captured_at"], ev["source_url"])
        assert new["file_path"] == new_path
        assert {k: v for k, v in new.items() if k not in ("office", "file_path")} == {
            k: v for k, v in old.items() if k not in ("office", "file_path")}
        # The new file has the evidence it was built from beside it (a hard link).
        assert (tmp_path / evidence_file.rel_path(new_path)).samefile(
            tmp_path / evidence_file.rel_path(item.file_path))
    # Again with the same parser: each capture counts once and nothing is new.
    assert run(tmp_path) == 0
    assert capsys.readouterr().out == "reparse 2025: read 4, unchanged 4, new files 0, failed 0\n"


def test_failures_are_one_line_each_and_the_rest_goes_on(tmp_path, capsys, demo_captures):
    crawl(tmp_path, demo_captures[:2])
    raw = tmp_path / "raw" / "2025"
    (raw / "IMM-7-25-20250601.json.gz").write_bytes(b"not gzip")
    closed = dict(demo_captures[2], html=demo_captures[2]["html"].replace(" show", ""))
    (raw / "IMM-3-25-20250601.json.gz").write_bytes(evidence_file.encode(closed))
    (raw / ".IMM-9-25-20250601.123.0123456789abcdef.tmp").write_bytes(b"a writer's temp")
    before = {k: v for k, v in snapshot(tmp_path).items() if not k.endswith(".tmp")}
    assert run(tmp_path) == 3  # written, some evidence skipped
    captured = capsys.readouterr()
    assert captured.out == "reparse 2025: read 4, unchanged 2, new files 0, failed 2\n"
    assert "removed 1 temp file(s) left by killed writers" in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("casescraper: error:")]
    assert [line.split(": ")[2] for line in errors] == [
        "raw/2025/IMM-3-25-20250601.json.gz", "raw/2025/IMM-7-25-20250601.json.gz"]
    assert "closed" in errors[0] and "not gzip" in errors[1]
    assert snapshot(tmp_path) == before  # the dead writer's temp was swept


def test_parser_notes_are_warnings(tmp_path, capsys, monkeypatch, demo_captures):
    crawl(tmp_path, demo_captures[:1])
    real = parser.read_case
    monkeypatch.setattr(parser, "read_case", lambda html, **kw: parser.Parsed(
        real(html, **kw).record, [parser.Note("unknown_label", "details modal has an unknown field 'Status'")]))
    assert run(tmp_path) == 0
    assert capsys.readouterr().err == ("casescraper: warning: raw/2025/IMM-1-25-20250601.json.gz: "
                                       "unknown_label: details modal has an unknown field 'Status'\n")


@pytest.mark.parametrize("make,args,message", [
    (lambda out: None, [], "output directory .* does not exist"),
    (lambda out: out.mkdir(), [], "no kept evidence for 2025: .*raw/2025 does not exist"),
    (lambda out: (out / "raw" / "2025").mkdir(parents=True), ["--timezone", "Mars/Olympus"],
     "--timezone 'Mars/Olympus' is not a known time zone"),
    (lambda out: (out / "raw" / "2025").mkdir(parents=True), ["--per-case-subdir", "../x"],
     "must be a plain directory name"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make, args, message):
    out = tmp_path / "out"
    make(out)
    assert run(out, *args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("casescraper: error: ")
    assert re.search(message, captured.err)


def test_an_empty_year_is_fine(tmp_path, capsys):
    (tmp_path / "raw" / "2025").mkdir(parents=True)
    assert run(tmp_path) == 0
    assert capsys.readouterr().out == "reparse 2025: read 0, unchanged 0, new files 0, failed 0\n"


def test_the_subcommand(tmp_path, capsys, demo_captures):
    crawl(tmp_path, demo_captures[:1])
    assert cli.main(["reparse", "--year", "2025", "--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "reparse 2025: read 1, unchanged 1, new files 0, failed 0\n"


def test_a_fifo_named_like_evidence_is_a_failure_not_a_hang(tmp_path):
    import os

    year_dir = tmp_path / "raw" / "2025"
    year_dir.mkdir(parents=True)
    (tmp_path / "json" / "2025").mkdir(parents=True)
    os.mkfifo(year_dir / "IMM-1-25-20250601.json.gz")
    with pytest.raises(evidence_file.EvidenceError, match="not a regular file"):
        evidence_file.read(str(year_dir / "IMM-1-25-20250601.json.gz"))


def _as_v2(record):
    """A record as casescraper wrote it before schema v3."""
    old = {k: v for k, v in record.items() if k not in (
        "track", "proceeding_class", "proceeding_type", "nature_code", "office_code")}
    old["schema_version"] = 2
    old["parties"] = [{k: v for k, v in p.items() if k != "role"} for p in old["parties"] or []]
    old["docket_entries"] = [{k: v for k, v in e.items() if k not in ("docno", "document_date")}
                             for e in old["docket_entries"]]
    return old


def test_older_evidence_gives_schema_3_files_and_leaves_the_old_ones(tmp_path, capsys):
    from casescraper.record.evidence import EvidenceStore
    from casescraper.store.ledger import Ledger
    from casescraper.store.storage import CaseStore

    store, kept, ledger = CaseStore(str(tmp_path), "json"), EvidenceStore(str(tmp_path)), Ledger(str(tmp_path))
    ledger.site = Site("demo")
    for n in (1, 2):
        ev = demo_evidence(n, DAY1)
        record = parser.read_case(ev["html"], answers=ev["answers"], court="t", case_number=ev["case_number"],
                                  page_url=ev["source_url"]).record
        saved = store.write(dict(_as_v2(record), source_url=ev["source_url"], scraped_at=DAY1, file_path=None))
        kept.write(saved.path, ev)
        ledger.record(ev["case_number"], "saved", run_id="old", year=2025, file_path=saved.rel_path)
    ledger.close()
    before = snapshot(tmp_path)
    assert run(tmp_path) == 0
    assert capsys.readouterr().out == "reparse 2025: read 2, unchanged 0, new files 2, failed 0\n"
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before if not k.startswith("ledger/")} == {
        k: v for k, v in before.items() if not k.startswith("ledger/")}
    new = sorted(k for k in after if k.startswith("json/") and k not in before)
    assert len(new) == 2
    for rel in new:
        record = json.loads(after[rel])
        want = data.record(2025, int(record["case_number"].split("-")[1]), 50)
        assert record["schema_version"] == 3 and record["track"] == data.TRACK
        for e in record["docket_entries"]:  # links resolve against the page's URL
            if e["document"] and e["document"]["url"]:
                e["document"]["url"] = e["document"]["url"].removeprefix(ORIGIN)
        assert {k: v for k, v in record.items() if k not in ("source_url", "scraped_at", "file_path")} == want
