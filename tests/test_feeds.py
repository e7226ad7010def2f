"""Feeds (`-o`) hold exactly the cases of the run; `scrapy parse` and `scrapy check`."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

from scrapy.exporters import JsonItemExporter

from casescraper.democourt import DemoCourt
from casescraper.exporters import CaseCsvItemExporter, CaseXmlItemExporter
from casescraper.items import RECORD_FIELDS, CaseItem

from .conftest import ROOT
from .e2e import (
    ENV, expected, fast, ledger_lines, needs_browser, saved_files, settings_args, spider_args,
)

LAST = 40


def item(**changes):
    fields = dict(
        case_number="IMM-7-25", court="t", style_of_cause="Ålvarez & Co. v. Canada", nature_of_proceeding=None,
        case_type="Immigration", type_of_action=None, filing_date="2025-01-15", office="Toronto",
        language="English", other_fields={"Date of Hearing": "2025-02-01", "Judge": None},
        parties=[{"name": "A, B", "solicitor_firm": None, "solicitor_contact": "1 rue \"X\""}],
        related=None, docket_entries=[{"id": 1, "date_filed": "2025-01-15", "office": None, "summary": "Filed",
                                       "document": {"id": "9", "downloadable": True, "confidential": False,
                                                    "url": "http://x/d?foremostNum=9"}}],
        source_url="http://x/#IMM-7-25", scraped_at="2025-03-01T10:00:00+00:00",
        file_path="json/2025/IMM-7-25-20250301.json", evidence={"html": "<p>big</p>"})
    fields.update(changes)
    return CaseItem(**fields)


def export(exporter_cls, items):
    out = io.BytesIO()
    exporter = exporter_cls(out, fields_to_export=list(RECORD_FIELDS), encoding="utf-8")
    exporter.start_exporting()
    for one in items:
        exporter.export_item(one)
    exporter.finish_exporting()
    return out.getvalue().decode("utf-8")


def test_csv_cells_hold_nested_fields_as_json_text():
    rows = list(csv.DictReader(io.StringIO(export(CaseCsvItemExporter, [item(), item(case_number="IMM-8-25")]))))
    assert len(rows) == 2 and list(rows[0]) == list(RECORD_FIELDS)
    row = rows[0]
    assert row["schema_version"] == "3" and row["style_of_cause"] == "Ålvarez & Co. v. Canada"
    assert row["nature_of_proceeding"] == "" and row["related"] == ""  # null: an empty cell
    for name in ("other_fields", "parties", "docket_entries"):
        assert json.loads(row[name]) == getattr(item(), name)
    assert "evidence" not in row


def test_xml_stays_well_formed_whatever_the_labels():
    root = ET.fromstring(export(CaseXmlItemExporter, [item()]))
    (case,) = root.findall("item")
    assert [child.tag for child in case] == list(RECORD_FIELDS)
    fields = case.find("other_fields").findall("field")
    assert [(f.get("label"), f.text) for f in fields] == [("Date of Hearing", "2025-02-01"), ("Judge", None)]
    assert case.find("nature_of_proceeding").text is None and len(case.find("nature_of_proceeding")) == 0
    assert case.find("docket_entries/value/document/downloadable").text == "true"
    assert case.find("parties/value/solicitor_contact").text == '1 rue "X"'


def test_json_feed_is_the_record():
    (record,) = json.loads(export(JsonItemExporter, [item()]))
    assert list(record) == list(RECORD_FIELDS) and record["other_fields"]["Judge"] is None


# --- end to end ----------------------------------------------------------------------------


def crawl(tmp_path, args, *feeds, settings=None):
    cmd = [sys.executable, "-m", "scrapy", "crawl", "cases", *spider_args(**fast(args)),
           *[x for feed in feeds for x in ("-o", str(tmp_path / feed))],
           *settings_args(tmp_path / "output", **(settings or {}))]
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)


@needs_browser
def test_feeds_hold_exactly_the_saved_cases(tmp_path):
    args = {"site": "demo", "year": 2025, "max_cases": 12, "demo_last_number": LAST}
    run = crawl(tmp_path, args, "cases.jsonl", "cases.json", "cases.csv", "cases.xml")
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "output"
    files = saved_files(out)
    want = expected(2025, LAST, range(1, 13))
    assert set(files) == set(want) and len(want) < 12  # the range has numbers without data
    by_file = sorted(files.values(), key=lambda r: int(r["case_number"].split("-")[1]))
    lines = [json.loads(line) for line in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert lines == by_file  # every record as its case file has it, nothing else
    assert json.loads((tmp_path / "cases.json").read_text()) == by_file
    rows = list(csv.DictReader((tmp_path / "cases.csv").open(encoding="utf-8", newline="")))
    assert [r["case_number"] for r in rows] == [r["case_number"] for r in by_file]
    for row, record in zip(rows, by_file):
        assert json.loads(row["docket_entries"]) == record["docket_entries"]
        assert json.loads(row["parties"]) == record["parties"]
    xml = ET.parse(tmp_path / "cases.xml").getroot()
    assert [i.findtext("case_number") for i in xml.findall("item")] == [r["case_number"] for r in by_file]
    # The numbers without data are ledger lines only.
    assert sum(1 for l in ledger_lines(out) if l["status"] == "no_results") == 12 - len(want)

    # A rerun resumes: its feed holds only its own cases, and the log says so.
    again = crawl(tmp_path, {**args, "max_cases": 15}, "again.jsonl")
    assert again.returncode == 0, again.stderr[-3000:]
    new = [json.loads(line)["case_number"] for line in (tmp_path / "again.jsonl").read_text().splitlines()]
    assert set(new) == set(expected(2025, LAST, range(13, 16)))
    assert "resuming: 12 numbers of IMM-1-25..IMM-15-25 are already done" in again.stderr
    assert "the feed holds only the cases of this run, not those 12: add -a refresh=1" in again.stderr


@needs_browser
def test_closespider_itemcount_counts_cases(tmp_path):
    # 4..8: IMM-6-25 has no data (the demo year's gaps are 6 and 18).
    run = crawl(tmp_path, {"site": "demo", "year": 2025, "start": 4, "max_cases": 20, "demo_last_number": LAST},
                "cases.jsonl", settings={"CLOSESPIDER_ITEMCOUNT": 3})
    assert "Closing spider (closespider_itemcount)" in run.stderr, run.stderr[-3000:]
    records = (tmp_path / "cases.jsonl").read_text().splitlines()
    # The third case closes the crawl; as in Scrapy, the query in flight then (the next
    # number's, asked while the third record was written) still completes.
    assert len(records) in (3, 4)
    statuses = {l["case_number"]: l["status"] for l in ledger_lines(tmp_path / "output")}
    # The no-results outcome did not count: IMM-7-25 was the third case.
    assert {c: statuses[c] for c in ("IMM-4-25", "IMM-5-25", "IMM-6-25", "IMM-7-25")} == {
        "IMM-4-25": "saved", "IMM-5-25": "saved", "IMM-6-25": "no_results", "IMM-7-25": "saved"}
    assert len(statuses) == len(records) + 1 and set(statuses) <= {f"IMM-{n}-25" for n in range(4, 9)}


@needs_browser
def test_scrapy_parse_one_case(tmp_path):
    with DemoCourt(year=2025, last_number=LAST) as court:
        def parse(fragment, *extra):
            return subprocess.run(
                [sys.executable, "-m", "scrapy", "parse", "--nocolour", f"{court.url}#{fragment}", *extra,
                 "-s", f"CASESCRAPER_OUTPUT_DIR={tmp_path / 'output'}", "-s", "DOWNLOAD_DELAY=0"],
                cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
        found = parse("IMM-3-25")
        missing = parse("IMM-999-25")
        wrong = parse("nothing")
    assert found.returncode == 0, found.stderr[-3000:]
    printed = found.stdout.split("# Scraped Items ", 1)[1]
    assert "'case_number': 'IMM-3-25'" in printed and "'docket_entries'" in printed
    assert "KeyError" not in found.stderr and "Traceback" not in found.stderr
    assert "Deprecat" not in found.stderr and "Warning" not in found.stderr  # none in normal use
    assert "# Outcome: IMM-999-25 no_results" in missing.stdout
    assert not (tmp_path / "output").exists()  # nothing written without --pipelines
    assert wrong.returncode != 0 and "give the court-files page URL with the case after '#'" in wrong.stderr
    assert "Traceback" not in wrong.stderr


@needs_browser
def test_scrapy_check_runs_the_contracts_on_a_demo_court(tmp_path):
    run = subprocess.run([sys.executable, "-m", "scrapy", "check", "cases", "-a", "demo_fade_ms=0",
                          "-s", f"CASESCRAPER_OUTPUT_DIR={tmp_path / 'output'}"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Ran 4 contracts" in run.stderr and run.stderr.rstrip().endswith("OK")


def test_scrapy_check_lists_the_contracts():
    run = subprocess.run([sys.executable, "-m", "scrapy", "check", "-l"], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "parse_case" in run.stdout, run.stderr[-2000:]


# --- a spider of your own in the project ---------------------------------------------------

MINE = '''
import scrapy
from scrapy_selenium import SeleniumRequest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC


class MineSpider(scrapy.Spider):
    name = "mine"

    async def start(self):
        yield SeleniumRequest(url=self.url, callback=self.parse, wait_time=10,
                              wait_until=EC.presence_of_element_located((By.ID, "tab02Submit")))

    def parse(self, response):
        for n, option in enumerate(response.css("select#tab02selectCourt option"), 1):
            yield {"n": n, "court": option.attrib.get("value"), "title": response.css("title::text").get()}
'''


@needs_browser
def test_a_spider_of_your_own_exports_its_items_as_scrapy_would(tmp_path):
    """The case record's feed fields are the cases spider's: a dict-item spider added to
    a copy of the project keeps every field of its items in `-o` feeds."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "casescraper", project / "casescraper",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "scrapy.cfg", project / "scrapy.cfg")
    (project / "casescraper" / "spiders" / "mine.py").write_text(MINE, encoding="utf-8")
    with DemoCourt(year=2025, last_number=5) as court:
        run = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "mine", "-a", f"url={court.url}",
             "-o", str(tmp_path / "mine.jsonl"), "-o", str(tmp_path / "mine.csv"),
             *settings_args(tmp_path / "output", DOWNLOAD_DELAY=0, LOG_LEVEL="DEBUG")],
            cwd=project, env={**ENV, "PYTHONPATH": str(project)}, capture_output=True, text=True,
            timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "mine.jsonl").read_text().splitlines()]
    assert len(rows) >= 2 and all(set(r) == {"n", "court", "title"} for r in rows), rows
    assert [r["n"] for r in rows] == list(range(1, len(rows) + 1)) and all(r["court"] for r in rows)
    with (tmp_path / "mine.csv").open(encoding="utf-8", newline="") as fh:
        assert list(csv.DictReader(fh)) == [{k: str(v) for k, v in r.items()} for r in rows]
    # The case pipeline passes them on with one debug line, not a warning per item.
    assert run.stderr.count("are passed on untouched") == 1
    assert "WARNING" not in run.stderr, run.stderr[-3000:]
