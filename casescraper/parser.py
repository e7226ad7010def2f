"""HTML to item: pure functions over what the browser captured.

The input is either a whole saved page (results table, parties dialog and details modal
as the portal renders them) or the middleware's capture, which holds the same three
elements. Selectors for *reading* live here; selectors for *driving* live in the page
object. A page that lacks a required part raises ParseError naming it, never an empty
record.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from parsel import Selector

from .errors import ParseError

RESULTS_TABLE = "table#datatable"
MODAL = "#ModalForm"
MODAL_TITLE = "#ModalPrintArea .modal-header"
HEADER_FIELDS = "#ModalForm .modal-body p.text-left strong"
# The real docket table follows a *template* table with one placeholder row; only
# the one inside div.table-responsive, captioned, is data.
DOCKET_TABLE = "#ModalForm div.table-responsive > table"
DOCKET_CAPTION = "Information about the court file"
PARTIES_ROWS = "#dialog #popup_body_desc table tbody tr"

TITLE_RE = re.compile(r"Recorded Entry Information\s*:\s*(\S+)")
HEADER_LABELS = {
    "Type": "case_type",
    "Nature of Proceeding": "nature_of_proceeding",
    "Office": "office",
    "Language": "language",
    "Type of Action": "type_of_action",
    "Filing Date": "filing_date",
}
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def clean(text: Optional[str]) -> str:
    """Displayed text: no-break spaces are spaces, ends stripped."""
    return (text or "").replace("\xa0", " ").strip()


def text_of(sel: Selector) -> str:
    return clean(sel.xpath("string()").get())


def results_rows(page: Selector) -> list[list[str]]:
    """The rows of the results table as cell texts; [] for "No data available"."""
    table = page.css(RESULTS_TABLE)
    if not table:
        raise ParseError(f"results table {RESULTS_TABLE} is missing")
    if table.css("td.dataTables_empty"):
        return []
    return [[text_of(td) for td in tr.css("td")] for tr in table.css("tbody > tr")]


def find_result(page: Selector, case_number: str) -> Optional[list[str]]:
    """The results row whose Court Number is exactly `case_number`, if any."""
    wanted = case_number.strip().upper()
    for cells in results_rows(page):
        if cells and cells[0].upper() == wanted:
            return cells
    return None


def modal_case_number(page: Selector) -> str:
    header = page.css(MODAL_TITLE)
    if not header:
        raise ParseError(f"details modal title {MODAL_TITLE} is missing")
    match = TITLE_RE.search(text_of(header[0]))
    if not match:
        raise ParseError(f"details modal title has no case number: {text_of(header[0])!r}")
    return match.group(1)


def header_fields(page: Selector) -> dict[str, Optional[str]]:
    """`<strong>Label :</strong>&nbsp;Value` pairs of the modal body, by item key."""
    fields: dict[str, Optional[str]] = {key: None for key in HEADER_LABELS.values()}
    strongs = page.css(HEADER_FIELDS)
    if not strongs:
        raise ParseError(f"details modal header fields ({HEADER_FIELDS}) are missing")
    for strong in strongs:
        label = clean(strong.xpath("string()").get()).rstrip(":").strip()
        if label not in HEADER_LABELS:
            raise ParseError(f"details modal has an unknown header field {label!r}")
        value = clean(strong.xpath("following-sibling::text()[1]").get())
        fields[HEADER_LABELS[label]] = value or None
    date = fields["filing_date"]
    if date is not None and not ISO_DATE_RE.match(date):
        raise ParseError(f"Filing Date is not YYYY-MM-DD: {date!r}")
    return fields


def docket_entries(page: Selector) -> list[dict[str, Any]]:
    tables = [
        t for t in page.css(DOCKET_TABLE) if DOCKET_CAPTION in text_of(t.css("caption") or t)
    ]
    if not tables:
        raise ParseError(
            f"docket table ({DOCKET_TABLE} captioned {DOCKET_CAPTION!r}) is missing"
        )
    entries = []
    for row in tables[0].css("tbody > tr"):
        cells = [text_of(td) for td in row.css("td")]
        if len(cells) < 4 or not cells[0].isdigit():
            raise ParseError(f"docket row is not ID/Date/Office/Summary: {cells!r}")
        if cells[1] and not ISO_DATE_RE.match(cells[1]):
            raise ParseError(f"docket row {cells[0]} date is not YYYY-MM-DD: {cells[1]!r}")
        entries.append(
            {
                "id": int(cells[0]),
                "date_filed": cells[1] or None,
                "office": cells[2] or None,
                "summary": cells[3],
            }
        )
    return entries


def parties(page: Selector) -> list[dict[str, Optional[str]]]:
    """Parties from the dialog (Name, Role, Solicitor Firm, Solicitor Contact).

    The real dialog's inner structure has never been captured (SITE.md): this reads the
    demo court's table and yields [] when the dialog is empty.
    """
    result = []
    for row in page.css(PARTIES_ROWS):
        cells = [text_of(td) for td in row.css("td")]
        if not cells or not cells[0]:
            raise ParseError(f"parties row without a name: {cells!r}")
        cells += [""] * (4 - len(cells))
        counsel = ", ".join(c for c in cells[2:4] if c)
        result.append({"name": cells[0], "role": cells[1] or None, "representation": counsel or None})
    return result


def parse_case(html: str, court: str = "t", case_number: Optional[str] = None) -> dict[str, Any]:
    """The item fields of a page with the details modal open (no source_url/scraped_at).

    `case_number`, when given, must match the modal's title: a modal left over from
    another case is a parse error, not that case's record.
    """
    page = Selector(text=html)
    if not page.css(MODAL):
        raise ParseError(f"details modal {MODAL} is missing")
    number = modal_case_number(page)
    if case_number is not None and number.upper() != case_number.strip().upper():
        raise ParseError(f"details modal shows {number}, expected {case_number}")
    row = find_result(page, number) if page.css(RESULTS_TABLE) else None
    return {
        "case_number": number,
        "court": court,
        # Style of cause is shown only in the results row, not in the modal.
        "style_of_cause": (row[1] or None) if row and len(row) > 1 else None,
        **header_fields(page),
        "parties": parties(page),
        "docket_entries": docket_entries(page),
    }
