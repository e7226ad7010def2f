"""Parser tests on the real saved pages (skipped without ../shared) and on made-up HTML."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from casescraper import parser
from casescraper.errors import ParseError
from parsel import Selector

from .conftest import FIXTURES, ROOT


def test_detail_page_gives_the_documented_record(fct_page):
    record = parser.parse_case(fct_page("detail.html"))
    assert record["case_number"] == "IMM-12334-25"
    assert record["filing_date"] == "2025-05-30"
    assert record["office"] == "Toronto"
    assert record["language"] == "English"
    assert record["case_type"] == "Immigration Matters"
    assert record["type_of_action"] == "Immigration Matters"
    assert record["nature_of_proceeding"] == "Imm - Appl. for leave & jud. review - Arising outside Canada"
    assert record["style_of_cause"] == "PRIYAVARDHAN RATHORE v. THE MINISTER OF CITIZENSHIP AND IMMIGRATION"
    assert [e["id"] for e in record["docket_entries"]] == [6, 5, 4, 3, 2, 1]
    assert record["parties"] == []


def test_detail_page_never_stores_the_template_row(fct_page):
    entries = parser.parse_case(fct_page("detail.html"))["docket_entries"]
    assert all(e["summary"] != "Name of document" and e["date_filed"] != "YYYY-MM-DD" for e in entries)
    # Summaries with leading spaces on the page come out stripped.
    assert entries[3]["summary"].startswith("Notice of appearance")
    assert all(e["summary"] == e["summary"].strip() for e in entries)


def test_search_result_page_has_the_row_and_no_modal_data(fct_page):
    page = Selector(text=fct_page("search-result.html"))
    row = parser.find_result(page, "imm-12334-25")
    assert row is not None and row[0] == "IMM-12334-25"
    assert parser.find_result(page, "IMM-1-25") is None


def test_search_page_before_a_search_has_no_rows(fct_page):
    assert parser.results_rows(Selector(text=fct_page("searchpage.html"))) == []


def test_the_modal_alone_parses(fct_page):
    page = Selector(text=fct_page("detail.html"))
    modal_only = page.css("#ModalForm").get()
    record = parser.parse_case(modal_only)
    assert record["case_number"] == "IMM-12334-25"
    assert record["style_of_cause"] is None  # only the results row carries it
    assert len(record["docket_entries"]) == 6


def test_a_modal_of_another_case_is_refused(fct_page):
    with pytest.raises(ParseError, match="IMM-12334-25, expected IMM-1-25"):
        parser.parse_case(fct_page("detail.html"), case_number="IMM-1-25")


MODAL = """
<div id="ModalForm"><div id="ModalPrintArea"><div class="modal-header">
<h5 id="modalTitle"><h5>Recorded Entry Information :&nbsp;&nbsp; IMM-7-25</h5></h5></div>
<div class="modal-body">{fields}{tables}</div></div></div>
"""
FIELDS = '<p class="text-left"><strong>Type :</strong> &nbsp;Immigration Matters</p>'
DOCKET = (
    '<div class="table-responsive"><table><caption>Information about the court file</caption>'
    "<tbody><tr><td>1</td><td>2025-01-02</td><td>Québec</td><td>  A &amp; B</td><td></td></tr>"
    "</tbody></table></div>"
)


def test_missing_docket_table_is_named():
    with pytest.raises(ParseError, match="docket table"):
        parser.parse_case(MODAL.format(fields=FIELDS, tables=""))


def test_only_the_template_table_is_not_data():
    template = (
        "<table><tbody><tr><td>#</td><td>YYYY-MM-DD</td><td>City</td><td>Name of document</td></tr>"
        "</tbody></table>"
    )
    with pytest.raises(ParseError, match="docket table"):
        parser.parse_case(MODAL.format(fields=FIELDS, tables=template))


def test_missing_header_fields_are_named():
    with pytest.raises(ParseError, match="header fields"):
        parser.parse_case(MODAL.format(fields="", tables=DOCKET))


def test_renamed_header_label_is_an_error_not_a_null():
    renamed = '<p class="text-left"><strong>Registry :</strong> &nbsp;Toronto</p>'
    with pytest.raises(ParseError, match="unknown header field 'Registry'"):
        parser.parse_case(MODAL.format(fields=FIELDS + renamed, tables=DOCKET))


def test_missing_modal_is_named():
    with pytest.raises(ParseError, match="details modal #ModalForm is missing"):
        parser.parse_case("<html><body><p>nothing</p></body></html>")


def test_entities_and_accents_survive():
    record = parser.parse_case(MODAL.format(fields=FIELDS, tables=DOCKET))
    assert record["docket_entries"] == [
        {"id": 1, "date_filed": "2025-01-02", "office": "Québec", "summary": "A & B"}
    ]
    assert record["filing_date"] is None and record["case_type"] == "Immigration Matters"


def test_parties_table_is_read():
    dialog = (
        '<div id="dialog"><div id="popup_body_desc"><table><tbody>'
        "<tr><td>JOSÉ D'ARC</td><td>Applicant</td><td>Smith &amp; Co</td><td>Ann Smith</td></tr>"
        "<tr><td>THE MINISTER</td><td></td><td></td><td></td></tr>"
        "</tbody></table></div></div>"
    )
    record = parser.parse_case(dialog + MODAL.format(fields=FIELDS, tables=DOCKET))
    assert record["parties"] == [
        {"name": "JOSÉ D'ARC", "role": "Applicant", "representation": "Smith & Co, Ann Smith"},
        {"name": "THE MINISTER", "role": None, "representation": None},
    ]


def test_parse_command_prints_the_record(fct_page):
    fct_page("detail.html")  # skips without the saved pages
    out = subprocess.run(
        [sys.executable, "-m", "casescraper", "parse", str(FIXTURES / "detail.html")],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    record = json.loads(out)
    assert record["case_number"] == "IMM-12334-25" and len(record["docket_entries"]) == 6


def test_parse_command_names_what_is_missing(tmp_path):
    page = tmp_path / "empty.html"
    page.write_text("<html><body></body></html>", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "casescraper", "parse", str(page)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert run.returncode == 1
    assert run.stderr.strip().endswith("details modal #ModalForm is missing")
    assert run.stdout == ""
