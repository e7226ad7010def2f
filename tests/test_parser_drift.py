"""A year of portal drift, built from the real capture at test time (issue 24).

Each variant changes ../shared/fixtures/fct-pages/detail.html (skipped when absent; never
copied into the repo) the way a page built on Canada.ca's WET toolkit and Bootstrap drifts:
helper texts hidden by class, row-header cells, other label/value shapes, parties
columns by other names, dates in other spellings, a paged docket, invisible characters.
Each test states what a person reading the changed page sees; the parser stores exactly
that, or refuses the page with a ParseError naming the field: never a wrong value.
"""

from __future__ import annotations

import lxml.html
import pytest

from casescraper.errors import ParseError
from casescraper.record import parser

from .test_parser import answer, re_row
from .test_parser_variants import DATES, STYLE, SUMMARY_6, docket, html, label, one, same_apart_from

NUMBER = "IMM-12334-25"


def frag(markup: str):
    return lxml.html.fragment_fromstring(markup)


def field_paragraph(doc, text: str):
    """The <p class="text-left"> holding the label `text` (e.g. "Office :")."""
    el = label(doc, text)
    return next(a for a in el.iterancestors() if a.tag == "p")


def replace(old, new) -> None:
    new.tail = old.tail
    old.getparent().replace(old, new)


# --- visually hidden helper text ----------------------------------------------------------

HIDINGS = ['class="{} wb-inv"', 'class="{} sr-only"', 'class="{} visually-hidden"', 'class="{} d-none"',
           'class="{}\thidden"', 'class="{}" hidden', 'class="{}" data-cs-hidden=""',
           'class="{}" style="visibility: hidden"']


@pytest.mark.parametrize("hiding", HIDINGS)
def test_a_hidden_helper_line_is_not_read(detail, original, hiding):
    """A screen-reader line "Office : Ottawa" before the fields: a person reads Toronto."""
    first = field_paragraph(detail, "Type :")
    first.addprevious(frag(f'<p {hiding.format("text-left")}><strong>Office :</strong> Ottawa</p>'))
    record = parser.read_case(html(detail)).record
    assert record["office"] == "Toronto"
    assert record == original


def test_a_label_with_a_hidden_hint(detail, original):
    """"Office" with a hidden hint inside its label: the label is still Office."""
    strong = label(detail, "Office :")
    strong.text = "Office"
    strong.append(frag('<span class="wb-inv"> (the registry office that holds the file)</span>'))
    strong[-1].tail = " :"
    parsed = parser.read_case(html(detail))
    assert parsed.record == original and not [n for n in parsed.notes if n.kind == "unknown_label"]


@pytest.mark.parametrize("hiding", HIDINGS)
def test_a_hidden_template_docket_is_not_the_docket(detail, original, hiding):
    """A captioned template table hidden by class, before the real one: entries stay 6..1."""
    table = docket(detail)
    box = table.getparent()
    box.addprevious(frag(
        f'<div {hiding.format("table-responsive")}><table><caption>Information about the court file</caption>'
        "<thead><tr><th>ID</th><th>Date Filed</th><th>Office</th><th>Recorded Entry Summary</th></tr></thead>"
        "<tbody><tr><td>1</td><td>2000-01-01</td><td>City</td><td>Name of document</td></tr></tbody>"
        "</table></div>"))
    assert parser.parse_case(html(detail)) == original


def test_a_hidden_docket_row_is_not_an_entry(detail, original):
    table = docket(detail)
    one(table, "tbody").insert(0, frag('<tr class="wb-inv"><td>99</td><td>2025-12-01</td><td>X</td>'
                                       "<td>template</td><td></td></tr>"))
    assert parser.parse_case(html(detail)) == original


def test_invisible_characters_are_not_part_of_values(detail, original):
    """Soft hyphens, zero-width spaces and a BOM show nothing: the values read as before."""
    strong = label(detail, "Office :")
    strong.tail = "\u00a0\u00a0Tor\u00adon\u200bto\ufeff"
    cell = docket(detail).cssselect("tbody tr td")[3]
    cell.text = "Certified\u200b copy" + cell.text[len("Certified copy"):]
    assert parser.parse_case(html(detail)) == original


# --- row-header cells ---------------------------------------------------------------------

def _th_first(table) -> None:
    for tr in table.cssselect("tbody tr"):
        td = tr.findall("td")[0]
        th = frag(f'<th scope="row">{td.text_content()}</th>')
        replace(td, th)


def test_docket_rows_with_a_row_header(detail, original):
    _th_first(docket(detail))
    record = parser.parse_case(html(detail))
    assert [e["id"] for e in record["docket_entries"]] == [6, 5, 4, 3, 2, 1]
    assert record == original


def test_results_rows_with_a_row_header(detail, original):
    _th_first(one(detail, "table#datatable"))
    record = parser.parse_case(html(detail))
    assert record["style_of_cause"] == STYLE
    assert record == original


def test_header_row_of_td_cells(detail, original):
    head = one(docket(detail), "thead tr")
    for th in head.findall("th"):
        replace(th, frag(f"<td>{th.text_content()}</td>"))
    assert parser.parse_case(html(detail)) == original


# --- other label/value shapes -------------------------------------------------------------

def test_fields_as_a_definition_list(detail, original):
    """Office and Language as <dt>/<dd>: a person reads Toronto and English."""
    replace(field_paragraph(detail, "Office :"),
            frag("<dl><dt>Office</dt><dd>Toronto</dd><dt>Language :</dt><dd>English</dd></dl>"))
    assert parser.parse_case(html(detail)) == original


def test_fields_as_a_header_table(detail, original):
    replace(field_paragraph(detail, "Filing Date :"),
            frag('<table class="table"><tr><th scope="row">Filing Date</th><td>2025-05-30</td></tr></table>'))
    assert parser.parse_case(html(detail)) == original


@pytest.mark.parametrize("markup", [
    '<div class="row"><div class="col-sm-4"><strong>Office</strong></div><div class="col-sm-8">Toronto</div></div>',
    '<div class="form-group"><label>Office</label><div>Toronto</div></div>',
    '<p class="text-left"><label>Office</label> <span>Toronto</span></p>',
])
def test_the_value_in_the_element_after_its_label(detail, original, markup):
    paragraph = field_paragraph(detail, "Office :")
    replace(paragraph, frag('<div><p class="text-left"><strong>Language :</strong> English</p></div>'))
    detail.cssselect("#ModalForm .modal-body .col-sm-6")[0].append(frag(markup))
    assert parser.parse_case(html(detail)) == original


def test_an_unknown_label_in_a_definition_list_is_kept(detail, original):
    field_paragraph(detail, "Office :").addnext(frag("<dl><dt>Status</dt><dd>Closed</dd></dl>"))
    parsed = parser.read_case(html(detail))
    assert parsed.record["other_fields"] == {"Status": "Closed"}
    assert any(n.kind == "unknown_label" and "Status" in n.message for n in parsed.notes)
    same_apart_from(parsed.record, original, "other_fields")


def test_prose_of_the_template_box_is_not_a_field(detail, original):
    """The box explaining document IDs has "Subject line: ..." in bold: not a field."""
    parsed = parser.read_case(html(detail))
    assert parsed.record["other_fields"] == {} and parsed.record == original


# --- dates ----------------------------------------------------------------------------

@pytest.mark.parametrize("shown", ["30-MAY-2025", "May 30, 2025", "2025-05-30T00:00:00", "30-mai-2025"])
def test_filing_date_in_the_portals_other_spellings(detail, original, shown):
    label(detail, "Filing Date :").tail = f"\u00a0 {shown}"
    assert parser.parse_case(html(detail)) == original


@pytest.mark.parametrize("shown", ["30/05/2025", "2025-02-30", "soon"])
def test_an_unreadable_filing_date_names_the_field(detail, shown):
    label(detail, "Filing Date :").tail = f" {shown}"
    with pytest.raises(ParseError, match="Filing Date"):
        parser.parse_case(html(detail))


def test_an_unreadable_docket_date_names_the_row(detail):
    docket(detail).cssselect("tbody tr")[0].findall("td")[1].text = "29.10.2025"
    with pytest.raises(ParseError, match="docket row 6: Date Filed"):
        parser.parse_case(html(detail))


def test_docket_dates_in_another_spelling(detail, original):
    for tr, day in zip(docket(detail).cssselect("tbody tr"), DATES):
        y, m, d = day.split("-")
        tr.findall("td")[1].text = f"{d}-{['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'][int(m) - 1]}-{y}"
    assert parser.parse_case(html(detail)) == original


# --- parties dialog columns by other names ----------------------------------------------

def test_parties_dialog_columns_by_meaning(detail):
    one(detail, "#dialog #popup_body_desc").append(frag(
        "<table><thead><tr><th>Party</th><th>Role</th><th>Solicitor</th><th>Contact</th></tr></thead>"
        "<tbody><tr><td>PRIYAVARDHAN RATHORE</td><td>Applicant</td><td>Doe Law</td><td>Jane Doe</td></tr>"
        "</tbody></table>"))
    parties = parser.parse_case(html(detail))["parties"]
    assert parties == [{"name": "PRIYAVARDHAN RATHORE", "solicitor_firm": "Doe Law",
                        "solicitor_contact": "Jane Doe", "role": "Applicant"}]


# --- the answers complete and check the page ---------------------------------------------

def _search_row(**changes):
    row = {"COURT_NO": NUMBER, "STYLE_OF_CAUSE": STYLE, "ENGLISH_CITY_NAME": "Toronto",
           "FILE_DT": "/Date(1748577600000)/", "NATURE_CD": "IMM-AOC", "OFF_CD": "TOR", "PRCDG_TYPE": "IMM",
           "ENGLISH_NATURE_DESC": "Imm - Appl. for leave & jud. review - Arising outside Canada",
           "ENGLISH_LANGUAGE_NAME": "English"}
    return dict(row, **changes)


def _docket_answer(ids=range(6, 0, -1)):
    rows = []
    for n in ids:
        row = re_row(n, "/Date(1748577600000)/", "Toronto", f"entry {n}")
        row.update(COURT_NO=NUMBER, DOCNO=n + 9, DOC_DT="2025-05-30T00:00:00", TRACK="Immigration Leave & "
                   "Judicial Review", CLASS="Non-Action")
        rows.append(row)
    return answer("proceedingQueriesRE", rows, case=NUMBER)


def test_an_empty_page_value_is_filled_from_the_answer_with_a_note(detail):
    label(detail, "Office :").tail = "\u00a0 "
    parsed = parser.read_case(html(detail), answers=[
        answer("proceedingQueriesAddInfo", [_search_row(ENGLISH_CITY_NAME="Toronto")], case=NUMBER)])
    assert parsed.record["office"] == "Toronto"
    [note] = [n for n in parsed.notes if n.kind == "disagree"]
    assert "office: page shows nothing vs portal 'Toronto'" in note.message


def test_fields_for_research_from_the_answers(detail):
    record = parser.parse_case(html(detail), answers=[
        answer("proceedingQueriesAddInfo", [_search_row()], case=NUMBER), _docket_answer()])
    assert (record["track"], record["proceeding_class"], record["proceeding_type"], record["nature_code"],
            record["office_code"]) == ("Immigration Leave & Judicial Review", "Non-Action", "IMM", "IMM-AOC", "TOR")
    assert [(e["docno"], e["document_date"]) for e in record["docket_entries"]] == [
        (n + 9, "2025-05-30") for n in range(6, 0, -1)]
    # The page's own values stay: only what it leaves empty comes from the answer.
    assert record["docket_entries"][0]["summary"] == SUMMARY_6


def test_no_answers_leave_the_research_fields_null(original):
    assert original["track"] is None and original["office_code"] is None
    assert all(e["docno"] is None and e["document_date"] is None for e in original["docket_entries"])


def _page_the_docket(detail, shown: int, total: int) -> None:
    table = docket(detail)
    for tr in table.cssselect("tbody tr")[shown:]:
        tr.drop_tree()
    wrapper = frag('<div class="dataTables_wrapper dt-bootstrap4"></div>')
    table.addprevious(wrapper)
    wrapper.append(table)
    wrapper.append(frag(f'<div class="dataTables_info">Showing 1 to {shown} of {total} entries</div>'))


def test_a_paged_docket_is_taken_whole_from_the_answer(detail):
    _page_the_docket(detail, 2, 6)
    parsed = parser.read_case(html(detail), answers=[_docket_answer()])
    entries = parsed.record["docket_entries"]
    assert [e["id"] for e in entries] == [6, 5, 4, 3, 2, 1]
    assert entries[0]["summary"] == SUMMARY_6  # shown: the page's
    assert entries[2]["summary"] == "entry 4" and entries[2]["date_filed"] == "2025-05-30"  # not shown
    assert any(n.kind == "docket_paged" and "2 of 6" in n.message for n in parsed.notes)


def test_a_paged_docket_without_the_answer_is_an_error(detail):
    _page_the_docket(detail, 2, 500)
    with pytest.raises(ParseError, match="docket table shows only part"):
        parser.parse_case(html(detail))
