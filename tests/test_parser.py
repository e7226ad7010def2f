"""Parser tests on the real saved pages (skipped without ../shared) and on made-up HTML."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from casescraper.record import parser
from casescraper.errors import ConfigError, ParseError
from casescraper.store.storage import validate_record
from parsel import Selector

from .conftest import FIXTURES, ROOT


def test_detail_page_gives_the_documented_record(fct_page):
    parsed = parser.read_case(fct_page("detail.html"))
    record = parsed.record
    assert record["schema_version"] == 3
    assert record["case_number"] == "IMM-12334-25"
    assert record["filing_date"] == "2025-05-30"
    assert record["office"] == "Toronto"
    assert record["language"] == "English"
    assert record["case_type"] == "Immigration Matters"
    assert record["type_of_action"] == "Immigration Matters"
    assert record["nature_of_proceeding"] == "Imm - Appl. for leave & jud. review - Arising outside Canada"
    assert record["style_of_cause"] == "PRIYAVARDHAN RATHORE v. THE MINISTER OF CITIZENSHIP AND IMMIGRATION"
    assert [e["id"] for e in record["docket_entries"]] == [6, 5, 4, 3, 2, 1]
    assert [e["date_filed"] for e in record["docket_entries"]] == [
        "2025-10-29", "2025-10-03", "2025-07-17", "2025-06-16", "2025-06-05", "2025-05-30"]
    assert [e["office"] for e in record["docket_entries"]] == ["Ottawa"] * 3 + ["Toronto"] * 3
    # No Download link on the page and no portal answers: no document is named.
    assert all(e["document"] is None for e in record["docket_entries"])
    assert record["other_fields"] == {} and record["related"] is None
    # The capture's parties dialog was never opened: unknown, not "no parties".
    assert record["parties"] is None
    assert [n.kind for n in parsed.notes] == ["parties_unavailable"]


def test_detail_record_validates_against_the_v3_schema(fct_page):
    record = parser.parse_case(fct_page("detail.html"))
    validate_record(dict(record, source_url=None, scraped_at="2025-11-28T10:00:00+00:00", file_path=None))


def test_detail_page_never_stores_the_template_row(fct_page):
    entries = parser.parse_case(fct_page("detail.html"))["docket_entries"]
    assert all(e["summary"] != "Name of document" and e["date_filed"] != "YYYY-MM-DD" for e in entries)
    # Summaries with leading spaces on the page come out stripped.
    assert entries[3]["summary"] == ("Notice of appearance on behalf of the respondent filed on "
                                     "16-JUN-2025 with proof of service on the applicant the tribunal")
    assert all(e["summary"] == e["summary"].strip() for e in entries)


def test_search_result_page_has_the_row_and_no_modal_data(fct_page):
    html = fct_page("search-result.html")
    page = Selector(text=html)
    row = parser.find_result(page, "imm-12334-25")
    assert row is not None and row["court number"] == "IMM-12334-25"
    assert row["style of cause"] == "PRIYAVARDHAN RATHORE v. THE MINISTER OF CITIZENSHIP AND IMMIGRATION"
    assert parser.find_result(page, "IMM-1-25") is None
    # Its modal is closed (display: none, aria-hidden): it is not a record.
    with pytest.raises(ParseError, match="details modal #ModalForm is closed"):
        parser.parse_case(html)


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
<div id="ModalForm" class="modal fade right show" style="display: block;"><div id="ModalPrintArea">
<div class="modal-header"><h5 id="modalTitle"><h5>Recorded Entry Information :&nbsp;&nbsp; IMM-7-25</h5></h5></div>
<div class="modal-body">{fields}{tables}</div></div></div>
"""
FIELDS = (
    '<p class="text-left"><strong>Type :</strong> &nbsp;Immigration Matters</p>'
    '<p class="text-left"><span><strong>Office :</strong>&nbsp; Toronto</span>&nbsp;&nbsp;'
    '<span> <strong>Filing Date :</strong>&nbsp; 2025-01-02</span></p>'
)
DOCKET_HEAD = (
    '<div class="table-responsive"><table><caption>Information about the court file</caption>'
    "<thead><tr><th>ID</th><th>Date Filed</th><th>Office</th><th>Recorded Entry Summary</th>"
    "<th>Download</th></tr></thead><tbody>{rows}</tbody></table></div>"
)
DOCKET = DOCKET_HEAD.format(
    rows="<tr><td>1</td><td>2025-01-02</td><td>Québec</td><td>  A &amp; B</td><td></td></tr>")
LINK = '<a href="/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum={}"><i class="fa fa-download"></i></a>'
THREE = DOCKET_HEAD.format(rows=(
    "<tr><td>3</td><td>2025-01-20</td><td>Toronto</td><td>Order</td><td>" + LINK.format(903) + "</td></tr>"
    "<tr><td>2</td><td>2025-01-10</td><td>Toronto</td><td>Affidavit</td><td></td></tr>"
    "<tr><td>1</td><td>2025-01-02</td><td>Toronto</td><td>Application</td><td></td></tr>"))
RESULTS = (
    '<div id="datatable_wrapper"><table id="datatable"><thead><tr><th>Court Number</th>'
    "<th>Style of Cause</th><th>Nature of Proceeding</th><th>Parties</th><th>More</th></tr></thead>"
    "<tbody><tr><td>IMM-7-25</td><td>ANNA v. MCI</td><td>Imm</td><td></td><td></td></tr></tbody>"
    "</table></div>"
)
PAGE_URL = "https://www.fct-cf.ca/en/court-files-and-decisions/court-files"


def page(fields=FIELDS, tables=THREE, dialog=""):
    return "<html><body>" + RESULTS + dialog + MODAL.format(fields=fields, tables=tables) + "</body></html>"


def answer(endpoint, rows, status=200, case="IMM-7-25", body=None):
    """One portal answer as the page object hands it over."""
    return {"endpoint": endpoint, "status": status,
            "url": f"https://www.fct-cf.ca/CourtFilesAndDecisions/{endpoint}?division=t&courtnumber={case}",
            "body": json.dumps({"Count": len(rows), "data": rows}) if body is None else body}


def re_row(re_no, filing_date, office, summary, foremost=None, publish="N", confidential="N"):
    return {"RE_NO": re_no, "FILING_DATE": filing_date, "ENGLISH_OFFICE_NAME": office,
            "RECORDED_ENTRY": summary, "FOREMOST_NUMBER": foremost, "DOCNO": 1,
            "CAN_PUBLISH_DOCUMENT": publish, "IS_CONFIDENTIAL": confidential,
            "DOC_DT": "2025-01-20T00:00:00", "COURT_NO": "IMM-7-25"}


# Midnight in Toronto (05:00 UTC) of 2025-01-02, 2025-01-10 and 2025-01-20.
JAN2, JAN10, JAN20 = "/Date(1735794000000)/", "/Date(1736485200000)/", "/Date(1737349200000)/"
RE_ROWS = [re_row(3, JAN20, "Toronto", "Order", "903", "Y", "N"),
           re_row(2, JAN10, "Toronto", "Affidavit", "902", "N", "Y"),
           re_row(1, JAN2, "Toronto", "Application")]


def test_missing_docket_table_is_named():
    with pytest.raises(ParseError, match="docket table"):
        parser.parse_case(MODAL.format(fields=FIELDS, tables=""))


def test_only_the_template_table_is_not_data():
    template = (
        "<table><thead><tr><th>ID</th><th>Date Filed</th><th>Office</th><th>Recorded Entry Summary</th>"
        "</tr></thead><tbody><tr><td>#</td><td>YYYY-MM-DD</td><td>City</td><td>Name of document</td></tr>"
        "</tbody></table>"
    )
    with pytest.raises(ParseError, match="docket table"):
        parser.parse_case(MODAL.format(fields=FIELDS, tables=template))


def test_missing_header_fields_are_named():
    with pytest.raises(ParseError, match="header fields"):
        parser.parse_case(MODAL.format(fields="", tables=DOCKET))


def test_renamed_header_label_is_kept_and_noted_not_a_failure():
    """A reader sees "Registry : Toronto" where "Office" used to be: kept under its own label."""
    renamed = '<p class="text-left"><strong>Type :</strong> &nbsp;Immigration Matters</p>' \
              '<p class="text-left"><strong>Registry :</strong> &nbsp;Toronto</p>'
    parsed = parser.read_case(MODAL.format(fields=renamed, tables=DOCKET))
    assert parsed.record["other_fields"] == {"Registry": "Toronto"}
    assert parsed.record["office"] is None and parsed.record["case_type"] == "Immigration Matters"
    assert [n.kind for n in parsed.notes if n.kind == "unknown_label"] == ["unknown_label"]
    assert "Registry" in parsed.notes[0].message


def test_missing_modal_is_named():
    with pytest.raises(ParseError, match="details modal #ModalForm is missing"):
        parser.parse_case("<html><body><p>nothing</p></body></html>")


def test_entities_and_accents_survive():
    record = parser.parse_case(MODAL.format(fields=FIELDS, tables=DOCKET))
    assert record["docket_entries"] == [
        {"id": 1, "date_filed": "2025-01-02", "office": "Québec", "summary": "A & B", "document": None,
         "docno": None, "document_date": None}
    ]
    assert record["filing_date"] == "2025-01-02" and record["case_type"] == "Immigration Matters"
    assert record["nature_of_proceeding"] is None  # not shown at all


def test_rows_that_are_not_data_are_not_entries():
    """What DataTables puts among the rows (a header row in the body, a placeholder cell, a
    responsive child row, a one-cell colspan row) is no docket entry; a row's link is the
    first <a> with an href, however deep in its Download cell."""
    rows = ("<tr><th>ID</th><th>Date Filed</th><th>Office</th><th>Recorded Entry Summary</th></tr>"
            '<tr><td class="odd  dataTables_empty">No data available in table</td><td></td></tr>'
            '<tr class="odd child"><td>9</td><td>2025-01-09</td><td>Toronto</td><td>Child</td><td></td></tr>'
            '<tr><td colspan="5">Loading...</td></tr>'
            '<tr><td>3</td><td>2025-01-20</td><td>Toronto</td><td>Order</td>'
            '<td><a name="top">^</a><span>' + LINK.format(903) + "</span></td></tr>"
            "<tr><td>2</td><td>2025-01-10</td><td>Toronto</td><td>Affidavit</td><td></td></tr>")
    entries = parser.parse_case(page(tables=DOCKET_HEAD.format(rows=rows)))["docket_entries"]
    assert [e["id"] for e in entries] == [3, 2]
    assert entries[0]["document"]["url"] == "/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum=903"
    assert entries[1]["document"] is None


# --- documents ------------------------------------------------------------------------


def test_documents_from_the_download_link_alone():
    """The page shows a Download icon on entry 3 only; without the portal's answer its
    confidentiality is unknown and entries without a link name no document."""
    entries = parser.parse_case(page(), page_url=PAGE_URL)["docket_entries"]
    assert entries[0]["document"] == {
        "id": "903", "downloadable": True, "confidential": None,
        "url": "https://www.fct-cf.ca/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum=903"}
    assert entries[1]["document"] is None and entries[2]["document"] is None


def test_document_url_stays_as_written_without_a_page_url():
    document = parser.parse_case(page())["docket_entries"][0]["document"]
    assert document["url"] == "/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum=903"


def test_documents_from_the_link_and_the_portal_rows():
    parsed = parser.read_case(page(), answers=[answer("proceedingQueriesRE", RE_ROWS)], page_url=PAGE_URL)
    docs = [e["document"] for e in parsed.record["docket_entries"]]
    assert docs[0] == {"id": "903", "downloadable": True, "confidential": False,
                       "url": "https://www.fct-cf.ca/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum=903"}
    # Entry 2: a confidential document, no link on the page.
    assert docs[1] == {"id": "902", "downloadable": False, "confidential": True, "url": None}
    # Entry 1: the portal names no document (FOREMOST_NUMBER null).
    assert docs[2] is None
    assert parsed.notes == [n for n in parsed.notes if n.kind == "parties_unavailable"]


def test_a_link_the_portal_calls_confidential_is_a_disagreement_and_the_page_wins():
    rows = [re_row(3, JAN20, "Toronto", "Order", "903", "Y", "Y")] + RE_ROWS[1:]
    parsed = parser.read_case(page(), answers=[answer("proceedingQueriesRE", rows)], page_url=PAGE_URL)
    doc = parsed.record["docket_entries"][0]["document"]
    assert doc["downloadable"] is True and doc["confidential"] is True
    assert "docket 3 download: page True vs portal False" in [n.message for n in parsed.notes]


def test_a_docket_without_a_download_column_takes_the_portal_flags():
    no_column = DOCKET_HEAD.replace("<th>Download</th>", "").format(rows=(
        "<tr><td>3</td><td>2025-01-20</td><td>Toronto</td><td>Order</td></tr>"
        "<tr><td>2</td><td>2025-01-10</td><td>Toronto</td><td>Affidavit</td></tr>"
        "<tr><td>1</td><td>2025-01-02</td><td>Toronto</td><td>Application</td></tr>"))
    parsed = parser.read_case(page(tables=no_column), answers=[answer("proceedingQueriesRE", RE_ROWS)],
                              page_url=PAGE_URL)
    docs = [e["document"] for e in parsed.record["docket_entries"]]
    assert docs[0]["url"] == "https://www.fct-cf.ca/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum=903"
    assert docs[1] == {"id": "902", "downloadable": False, "confidential": True, "url": None}
    assert docs[2] is None
    assert not [n for n in parsed.notes if n.kind == "disagree"]


# --- parties ----------------------------------------------------------------------------

PARTY_ROWS = [
    {"PARTY_NAME": "JOSÉ D'ARC", "SOLCTR_FIRM": "Smith &  Co", "SOLCTR_CONTACT": "Ann Smith"},
    {"PARTY_NAME": "THE MINISTER OF CITIZENSHIP AND IMMIGRATION", "SOLCTR_FIRM": None, "SOLCTR_CONTACT": "null"},
]
PARTIES = [
    {"name": "JOSÉ D'ARC", "solicitor_firm": "Smith & Co", "solicitor_contact": "Ann Smith", "role": None},
    {"name": "THE MINISTER OF CITIZENSHIP AND IMMIGRATION", "solicitor_firm": None, "solicitor_contact": None,
     "role": None},
]
DIALOG_TABLE = (
    '<div id="dialog" style="display: block;"><div id="popup_body_desc"><table><thead><tr>'
    "<th>Party Name</th><th>Role</th><th>Solicitor Firm</th><th>Solicitor Contact</th></tr></thead><tbody>"
    "<tr><td>JOSÉ D'ARC</td><td>Applicant</td><td>Smith &amp; Co</td><td>Ann Smith</td></tr>"
    "<tr><td>THE MINISTER OF CITIZENSHIP AND IMMIGRATION</td><td></td><td></td><td>null</td></tr>"
    "</tbody></table></div></div>"
)


def test_parties_from_the_portal_answer():
    parsed = parser.read_case(page(), answers=[answer("PublicPartiesListInfo", PARTY_ROWS)])
    assert parsed.record["parties"] == PARTIES
    assert not [n for n in parsed.notes if n.kind == "parties_unavailable"]


def test_an_empty_parties_answer_is_no_parties():
    assert parser.parse_case(page(), answers=[answer("PublicPartiesListInfo", [])])["parties"] == []


def test_parties_from_the_dialog_when_the_answer_failed():
    """The answer was a 500 but the dialog shows a table: read it by its header names
    (the dialog's Role column is kept: the answer has none)."""
    parsed = parser.read_case(page(dialog=DIALOG_TABLE),
                              answers=[answer("PublicPartiesListInfo", [], status=500, body="oops")])
    assert parsed.record["parties"] == [dict(PARTIES[0], role="Applicant"), PARTIES[1]]
    assert parsed.notes == []


def test_parties_from_a_dialog_of_labels():
    dialog = ('<div id="dialog"><div id="popup_body_desc">'
              "<div><b>Name :</b> JOSÉ D'ARC</div><div><b>Solicitor Firm :</b> Smith &amp; Co</div>"
              "<div><b>Solicitor Contact :</b> Ann Smith</div><hr>"
              "<div><b>Name :</b> THE MINISTER OF CITIZENSHIP AND IMMIGRATION</div></div></div>")
    assert parser.parse_case(page(dialog=dialog))["parties"] == PARTIES


@pytest.mark.parametrize("answers, why", [
    ([], "no PublicPartiesListInfo answer"),
    ([answer("PublicPartiesListInfo", [], status=0, body="")], "PublicPartiesListInfo answered HTTP 0"),
    ([answer("PublicPartiesListInfo", [], body="<html>busy</html>")], "PublicPartiesListInfo answer is not JSON"),
])
def test_parties_unavailable_is_null_and_a_note(answers, why):
    empty_dialog = '<div id="dialog" style="display:none;"><div id="popup_body_desc"></div></div>'
    parsed = parser.read_case(page(dialog=empty_dialog), answers=answers)
    assert parsed.record["parties"] is None
    [note] = parsed.notes
    assert note.kind == "parties_unavailable" and why in note.message


def test_answers_about_another_number_are_ignored():
    parsed = parser.read_case(page(), answers=[answer("PublicPartiesListInfo", PARTY_ROWS, case="IMM-8-25")])
    assert parsed.record["parties"] is None


# --- related files ---------------------------------------------------------------------


def test_related_files_from_the_answer():
    rows = [{"RELATED_COURT_NO": " imm-8-25 ", "STYLE_OF_CAUSE": "ANNA v. MCI"},
            {"RELATED_COURT_NO": "T-1-24", "STYLE_OF_CAUSE": None},
            {"RELATED_COURT_NO": None, "STYLE_OF_CAUSE": "nothing to point at"}]
    record = parser.parse_case(page(), answers=[answer("RelatedListInfo", rows)])
    assert record["related"] == [{"case_number": "IMM-8-25", "style_of_cause": "ANNA v. MCI"},
                                 {"case_number": "T-1-24", "style_of_cause": None}]
    assert parser.parse_case(page(), answers=[answer("RelatedListInfo", [])])["related"] == []
    assert parser.parse_case(page())["related"] is None


# --- cross-check -----------------------------------------------------------------------

ADD_INFO = {"COURT_NO": "IMM-7-25", "STYLE_OF_CAUSE": "ANNA  v. MCI", "ENGLISH_CITY_NAME": "Toronto",
            "FILE_DT": JAN2}


def disagreements(parsed):
    return [n.message for n in parsed.notes if n.kind == "disagree"]


def test_page_and_portal_agreeing_after_normalization_give_no_note():
    rows = [dict(RE_ROWS[0], RECORDED_ENTRY="  Order\n"), *RE_ROWS[1:]]
    parsed = parser.read_case(page(), answers=[answer("proceedingQueriesAddInfo", [ADD_INFO]),
                                               answer("proceedingQueriesRE", rows)])
    assert disagreements(parsed) == []


def test_a_late_evening_utc_date_is_the_previous_day_in_toronto():
    """FILE_DT 2025-01-03 02:30 UTC is 2025-01-02 21:30 in Toronto: the page shows 2025-01-02."""
    late = dict(ADD_INFO, FILE_DT="/Date(1735871400000)/")
    parsed = parser.read_case(page(), answers=[answer("proceedingQueriesAddInfo", [late])])
    assert disagreements(parsed) == []
    # In UTC it would be the 3rd: a browser there shows another day, and the check says so.
    parsed = parser.read_case(page(), answers=[answer("proceedingQueriesAddInfo", [late])], timezone="UTC")
    assert disagreements(parsed) == ["filing_date: page '2025-01-02' vs portal '2025-01-03'"]
    assert parsed.record["filing_date"] == "2025-01-02"


def test_disagreements_are_noted_and_the_page_value_is_stored():
    add_info = dict(ADD_INFO, STYLE_OF_CAUSE="BOB v. MCI", ENGLISH_CITY_NAME="Ottawa")
    rows = [dict(RE_ROWS[0], ENGLISH_OFFICE_NAME="Montréal"),
            dict(RE_ROWS[1], RECORDED_ENTRY="Affidavit of Bob", FILING_DATE="2025-01-11T00:00:00"),
            RE_ROWS[2], re_row(4, JAN20, "Toronto", "Not on the page")]
    parsed = parser.read_case(page(), answers=[
        answer("proceedingQueriesAddInfo", [dict(ADD_INFO, COURT_NO="IMM-77-25"), add_info]),
        answer("proceedingQueriesRE", rows)])
    assert disagreements(parsed) == [
        "style_of_cause: page 'ANNA v. MCI' vs portal 'BOB v. MCI'",
        "office: page 'Toronto' vs portal 'Ottawa'",
        "docket ids: page [3, 2, 1] vs portal [4, 3, 2, 1]",
        "docket 3 office: page 'Toronto' vs portal 'Montréal'",
        "docket 2 date_filed: page '2025-01-10' vs portal '2025-01-11'",
        "docket 2 summary: page 'Affidavit' vs portal 'Affidavit of Bob'",
    ]
    record = parsed.record
    assert (record["style_of_cause"], record["office"]) == ("ANNA v. MCI", "Toronto")
    assert [e["office"] for e in record["docket_entries"]] == ["Toronto"] * 3


def test_disagreement_values_are_cut_short():
    add_info = dict(ADD_INFO, STYLE_OF_CAUSE="X" * 5000)
    [message] = disagreements(parser.read_case(page(), answers=[answer("proceedingQueriesAddInfo", [add_info])]))
    assert len(message) < 300 and message.startswith("style_of_cause: page 'ANNA v. MCI' vs portal 'XXX")


def test_unreadable_answers_are_ignored():
    answers = [answer("proceedingQueriesRE", [], body="{not json"),
               answer("proceedingQueriesAddInfo", [], body=json.dumps({"Count": 1, "data": "x"})),
               answer("RelatedListInfo", [], status=403, body="Request Rejected"), "not a dict"]
    parsed = parser.read_case(page(), answers=answers)
    assert disagreements(parsed) == [] and parsed.record["related"] is None


def test_an_unknown_time_zone_is_a_config_error():
    with pytest.raises(ConfigError, match="time zone 'Mars/Base' is unknown"):
        parser.read_case(page(), timezone="Mars/Base")


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
