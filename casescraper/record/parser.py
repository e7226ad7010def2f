"""Page (and the portal's own JSON answers) to a schema-v3 record: pure functions.

The input is a whole saved page or the middleware's capture (results table, parties
dialog, details modal), plus the JSON answers the page received for the case. The page
is read as a person reads it: cells by their column header, header fields by their
label, text as a browser renders it. The PAGE's values are stored; where the portal's
JSON gives the same value, a mismatch becomes a "disagree" note. Where the parts are
(selectors) is selectors.py's table, shared with the page object; the label words that
map to record keys live here. A page that lacks a required part raises ParseError naming
it, never an empty or shifted record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Optional

from lxml import etree
from parsel import Selector
from parsel.csstranslator import css2xpath

from casescraper.browser.selectors import COURT_NUMBER, SELECTORS, within
from casescraper.errors import ParseError
from casescraper.items import SCHEMA_VERSION
from casescraper.record.answers import (
    PARTIES, Answers, Note, cross_check, cut, document, norm, party, unavailable, value, zone,
)
from casescraper.record.completion import entry_research, fill_gaps, research, whole_docket
from casescraper.record.text import (
    definition_pairs, key as _key, labelled, page_date, pair_rows, rendered, sibling_pair,
    tag_of, visible, walk)

__all__ = ["Note", "Parsed", "read_case", "parse_case", "rendered"]

# Where the real portal puts things (selectors.py says which are FACTs).
RESULTS_TABLE = SELECTORS["results"]
RESULTS_WRAPPER = SELECTORS["results_area"]  # DataTables may render the header in its own table
MODAL = SELECTORS["modal"]
MODAL_TITLE = SELECTORS["modal_title"]
FIELD_PARAGRAPHS = SELECTORS["field_paragraphs"]
DOCKET_TABLE = SELECTORS["docket_table"]  # the captioned one: the other is a template
DOCKET_CAPTION = SELECTORS["docket_caption"]
DIALOG = (within("dialog", "dialog_body"), SELECTORS["dialog"])

TITLE_RE = re.compile(r"Recorded Entry Information\s*:\s*(\S+)", re.I)
HEADER_LABELS = {  # modal label (case-folded) -> record key
    "type": "case_type",
    "nature of proceeding": "nature_of_proceeding",
    "office": "office",
    "language": "language",
    "type of action": "type_of_action",
    "filing date": "filing_date",
}
FIELD_ORDER = ("nature_of_proceeding", "case_type", "type_of_action", "filing_date", "office", "language")
DOCKET_COLUMNS = {"id": "id", "date filed": "date", "office": "office",
                  "recorded entry summary": "summary", "download": "download"}
DOCKET_REQUIRED = ("ID", "Date Filed", "Office", "Recorded Entry Summary")
RESULT_REQUIRED = (COURT_NUMBER, "Style of Cause")
_NUMBER_KEY = COURT_NUMBER.casefold()  # the results rows' key of the case number
# GUESS: the parties dialog's markup was never captured (SITE.md); these are the names
# a person would expect for name, role, firm and contact, and the demo court's invention
# ("Party Name"). A lone "Solicitor" column is the firm, as the answer's SOLCTR_FIRM.
PARTY_COLUMNS = {"name": "name", "party name": "name", "party": "name", "parties": "name",
                 "role": "role", "party role": "role", "party type": "role",
                 "solicitor firm": "solicitor_firm", "firm": "solicitor_firm", "law firm": "solicitor_firm",
                 "solicitor": "solicitor_firm", "counsel": "solicitor_firm",
                 "solicitor contact": "solicitor_contact", "contact": "solicitor_contact",
                 "solicitor name": "solicitor_contact"}
PAGING_INFO_RE = re.compile(r"\bof\s+([\d,]+)\s+entries", re.I)  # DataTables: "Showing 1 to 10 of 500 entries"
XML_SPACE_RE = re.compile(r"[ \t\r\n]+")  # XPath normalize-space's whitespace, as CSS class matching splits
FIELD_STOP = frozenset(("p", "dl", "table"))  # read as a whole by header_fields

@dataclass
class Parsed:
    """The record (v3 fields minus source_url/scraped_at/file_path) and the notes to warn about."""

    record: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # optional parts not read, and why


# --- parts of the page ------------------------------------------------------------------

def _find(node: Any, css: str) -> list[Any]:
    """What `Selector.css(css)` finds (parsel's own CSS-to-XPath), as lxml elements or
    attribute strings: wrapping each match in a Selector was most of the parser's time."""
    return _xpath(css)(node.root if isinstance(node, Selector) else node)


@lru_cache(maxsize=None)
def _xpath(css: str) -> etree.XPath:
    return etree.XPath(css2xpath(css), smart_strings=False)


# --- tables by header ----------------------------------------------------------------

def _cells(tr: Any) -> list[Any]:
    return [cell for cell in tr if tag_of(cell) in ("th", "td")]


def _header(table: Any, names: Iterable[str]) -> tuple[Any, list[str]]:
    """(row, texts) of the table's header row naming one of `names` (case-folded): a
    thead row (of th or td cells), else a row of th cells, else any row; (None, []) when
    there is none."""
    wanted = set(names)
    rows = [tr for tr in _find(table, "tr") if visible(tr, table)]
    heads = [tr for tr in rows if tag_of(tr.getparent()) == "thead"]
    heads = heads or [tr for tr in rows if _cells(tr) and all(tag_of(c) == "th" for c in _cells(tr))]
    for tr in heads + rows:
        texts = [rendered(cell) for cell in _cells(tr)]
        if wanted & set(map(_key, texts)):
            return tr, texts
    return (heads[0], [rendered(cell) for cell in _cells(heads[0])]) if heads else (None, [])


def _columns(header: list[str], wanted: dict[str, str], required: Iterable[str], what: str) -> dict[str, int]:
    """Column index per key of `wanted` (matched case/whitespace-insensitively)."""
    found: dict[str, int] = {}
    for i, text in enumerate(header):
        key = wanted.get(_key(text))
        if key is not None and key not in found:
            found[key] = i
    for name in required:
        if wanted[_key(name)] not in found:
            raise ParseError(f"{what} has no {name!r} column (columns: {', '.join(header) or 'none'})")
    return found


def _data_rows(table: Any, header: Any = None) -> list[list[Any]]:
    """Each data row's cells (td, and th row headers: lxml elements): no header row,
    hidden row, DataTables placeholder, responsive child or colspan row. Walked, not
    queried: a query per row cost the most."""
    out = []
    for tr in _find(table, "tbody > tr") or _find(table, "tr"):
        cells = _cells(tr)
        if (tr is header or tag_of(tr.getparent()) == "thead" or not cells
                or all(tag_of(c) == "th" for c in cells) or not visible(tr, table)
                or any(_is_empty_cell(td) for td in tr.iter("td"))
                or "child" in (tr.get("class") or "").split()
                or len(cells) == 1 and cells[0].get("colspan") is not None):
            continue
        out.append(cells)
    return out


def _is_empty_cell(td: Any) -> bool:
    """Whether CSS `td.dataTables_empty` matches: the class word split as XPath does."""
    classes = td.get("class")
    return classes is not None and "dataTables_empty" in XML_SPACE_RE.split(classes)


def _results_header(page: Selector) -> tuple[Any, list[str]]:
    tables = _find(page, RESULTS_TABLE) + _find(page, f"{RESULTS_WRAPPER} table")
    headers = [_header(t, [_NUMBER_KEY]) for t in tables]
    named = [h for h in headers if _NUMBER_KEY in map(_key, h[1])]
    return (named or [h for h in headers if h[1]] or [(None, [])])[0]


def results_rows(page: Selector) -> list[dict[str, str]]:
    """Results rows as {case-folded header: cell text}; [] for "No data available"."""
    table = _find(page, RESULTS_TABLE)
    if not table:
        raise ParseError(f"results table {RESULTS_TABLE} is missing")
    head, header = _results_header(page)
    rows = _data_rows(table[0], head)
    if not rows:
        return []
    wanted = {_key(h): _key(h) for h in header}
    wanted.update({_key(h): _key(h) for h in RESULT_REQUIRED})
    cols = _columns(header, wanted, RESULT_REQUIRED, f"results table {RESULTS_TABLE}")
    out = []
    for tds in rows:
        cells = [rendered(td) for td in tds]
        out.append({name: cells[i] for name, i in cols.items() if i < len(cells)})
    return out


def find_result(page: Selector, case_number: str) -> Optional[dict[str, str]]:
    """The results row whose Court Number is `case_number` (any case), if any."""
    wanted = norm(case_number).upper()
    return next((r for r in results_rows(page) if r.get(_NUMBER_KEY, "").upper() == wanted), None)


# --- the details modal -----------------------------------------------------------------

def open_modal(page: Selector) -> Selector:
    """The details modal, refused unless open: a closed one shows a previous record."""
    found = page.css(MODAL)
    if not found:
        raise ParseError(f"details modal {MODAL} is missing")
    modal = found[0]
    style = (modal.attrib.get("style") or "").replace(" ", "").lower()
    if "show" not in (modal.attrib.get("class") or "").split() or "display:none" in style:
        raise ParseError(f"details modal {MODAL} is closed (no 'show' class or display:none): "
                         "it is not the current record")
    return modal


def modal_case_number(modal: Selector) -> str:
    header = [h for h in _find(modal, MODAL_TITLE) if visible(h)]
    if not header:
        raise ParseError(f"details modal title {MODAL_TITLE} is missing")
    match = TITLE_RE.search(rendered(header[0]))
    if not match:
        raise ParseError(f"details modal title has no case number: {cut(rendered(header[0]))}")
    return match.group(1).upper()


def _field_pairs(modal: Selector) -> tuple[bool, list[tuple[str, Optional[str]]]]:
    """(whether any field shape was found, (label, value) pairs in document order): the
    field paragraphs, definition lists, tables of label rows, and a known label element
    followed by its value element. Other tables (the docket, its template) and prose are
    not fields: an unknown label there is not taken for one."""
    paragraphs = set(_find(modal, FIELD_PARAGRAPHS))
    pairs: list[tuple[str, Optional[str]]] = []
    taken: set[Any] = set()
    found = bool(paragraphs)
    for body in (b for b in _find(modal, ".modal-body") if visible(b)):
        for el in walk(body, FIELD_STOP):
            tag = tag_of(el)
            if el in taken or not taken.isdisjoint(el.iterancestors()):
                continue
            shape = (labelled(el, HEADER_LABELS) if el in paragraphs else definition_pairs(el)
                     if tag == "dl" else pair_rows(el) if tag == "table" else None)
            if el in paragraphs and not shape:  # <label>Office</label> <span>Toronto</span>
                inside = (sibling_pair(c, HEADER_LABELS) for c in walk(el, frozenset()))
                shape = [(label, value(rendered(v))) for label, v in filter(None, inside)]
            if shape:
                found = True
                pairs.extend(shape)
            elif tag not in FIELD_STOP and (sib := sibling_pair(el, HEADER_LABELS)) is not None:
                found = True
                taken.update((el, sib[1]))
                pairs.append((sib[0], value(rendered(sib[1]))))
    return found, pairs


def header_fields(modal: Selector, notes: list[Note]) -> tuple[dict[str, Any], dict[str, Optional[str]]]:
    """(known fields by record key, unknown labels -> value) of the modal's header fields."""
    found, pairs = _field_pairs(modal)
    if not found:
        raise ParseError(f"details modal header fields ({MODAL} {FIELD_PARAGRAPHS}, or label/value "
                         "pairs in .modal-body) are missing")
    fields: dict[str, Optional[str]] = {key: None for key in FIELD_ORDER}
    seen: set[str] = set()
    other: dict[str, Optional[str]] = {}
    for label, text in pairs:
        key = HEADER_LABELS.get(label.casefold())
        if key is None:
            other.setdefault(label, text)
            notes.append(Note("unknown_label",
                              f"details modal has an unknown field {label!r} = {cut(text)}"))
        elif key not in seen:  # the first of a repeated label is the one a reader sees first
            seen.add(key)
            fields[key] = text
    fields["filing_date"] = page_date(fields["filing_date"], "Filing Date")
    return fields, other


def _docket_table(modal: Selector) -> Any:
    for table in _find(modal, DOCKET_TABLE) + _find(modal, "table"):
        captions = [c for c in _find(table, "caption") if visible(c, table)]
        if visible(table) and DOCKET_CAPTION in _key(rendered(captions[0]) if captions else ""):
            return table
    raise ParseError(f"docket table ({DOCKET_TABLE} captioned {DOCKET_CAPTION!r}) is missing")


def _paged(table: Any) -> Optional[str]:
    """What says the docket table shows only a page of its entries (DataTables' info or
    pagination around it), else None."""
    wrapper = next((a for a in table.iterancestors() if "dataTables_wrapper" in (a.get("class") or "")), None)
    if wrapper is None:
        return None
    info = next(iter(_find(wrapper, ".dataTables_info")), None)
    total = PAGING_INFO_RE.search(rendered(info)) if info is not None else None
    shown = len(_data_rows(table, _header(table, ["id"])[0]))
    if total is not None:
        return rendered(info) if int(total.group(1).replace(",", "")) > shown else None
    pager = [a for a in _find(wrapper, ".dataTables_paginate a, .pagination a") if visible(a, wrapper)]
    return "a paged table" if len(pager) > 3 else None  # previous, 1, next: one page


def docket_rows(modal: Selector) -> list[dict[str, Any]]:
    """Docket rows as the page shows them: id, date_filed, office, summary, link (href|None),
    has_download (whether the table has a Download column)."""
    table = _docket_table(modal)
    head, header = _header(table, ["id"])
    cols = _columns(header, DOCKET_COLUMNS, DOCKET_REQUIRED, "docket table")
    need = max(i for key, i in cols.items() if key != "download") + 1
    out = []
    for n, tds in enumerate(_data_rows(table, head), 1):
        if len(tds) < need:
            raise ParseError(f"docket row {n} has {len(tds)} cells, the header {need}")
        ident = rendered(tds[cols["id"]])
        if not ident.isdigit():
            raise ParseError(f"docket row {n}: ID is not a number: {cut(ident)}")
        date = page_date(value(rendered(tds[cols["date"]])), f"docket row {ident}: Date Filed")
        has_link = "download" in cols and cols["download"] < len(tds)
        links = [a.get("href") for a in _find(tds[cols["download"]], "a[href]") if visible(a)] if has_link else []
        out.append({"id": int(ident), "date_filed": date, "office": value(rendered(tds[cols["office"]])),
                    # The schema keeps summary a string: an empty or "null" one is "".
                    "summary": value(rendered(tds[cols["summary"]])) or "",
                    "link": norm(links[0]) if links else None, "has_download": "download" in cols})
    return out


def dialog_parties(page: Selector, notes: list[Note]) -> Optional[list[dict[str, Optional[str]]]]:
    """Parties as the dialog shows them, read by header names or labels; None when the
    dialog is absent, empty or unreadable."""
    box = next((found[0] for found in (_find(page, css) for css in DIALOG) if found), None)
    if box is None:
        return None
    for table in _find(box, "table"):
        head, header = _header(table, PARTY_COLUMNS)
        if "name" not in (PARTY_COLUMNS.get(_key(h)) for h in header) or not visible(table, box):
            continue
        cols = _columns(header, PARTY_COLUMNS, (), "parties table")
        for h in header:
            if _key(h) and _key(h) not in PARTY_COLUMNS:
                notes.append(Note("unknown_label", f"parties dialog has an unknown column {cut(h)}"))
        parties = []
        for tds in _data_rows(table, head):
            cells = [rendered(td) for td in tds]
            cell = {k: cells[i] if i < len(cells) else None for k, i in cols.items()}
            if value(cell["name"]):
                parties.append(party(cell["name"], cell.get("solicitor_firm"), cell.get("solicitor_contact"),
                                     cell.get("role")))
        return parties
    parties: list[dict[str, Optional[str]]] = []
    for label, text in labelled(box, PARTY_COLUMNS):
        key = PARTY_COLUMNS.get(label.casefold())
        if key == "name" and text:
            parties.append(party(text, None, None))
        elif key and parties and key != "name":
            parties[-1][key] = text
        elif key is None:
            notes.append(Note("unknown_label", f"parties dialog has an unknown field {label!r} = {cut(text)}"))
    return parties or None


# --- the record ----------------------------------------------------------------------------

def read_case(html: str, *, answers: Optional[Iterable[dict[str, Any]]] = None, court: str = "t",
              case_number: Optional[str] = None, page_url: Optional[str] = None,
              timezone: str = "America/Toronto") -> Parsed:
    """The v3 record (no source_url/scraped_at/file_path) of a page with the details modal
    open, and notes for the caller. `case_number`, when given, must match the modal's
    title: a modal left over from another case is a parse error, not that case's record.
    `answers` are the portal's JSON answers for the case, `page_url` resolves links and
    `timezone` is the court's, in which the page shows the portal's dates."""
    page = Selector(text=html)
    modal = open_modal(page)
    number = modal_case_number(modal)
    if case_number is not None and number != norm(case_number).upper():
        raise ParseError(f"details modal shows {number}, expected {case_number}")
    tz = zone(timezone)
    notes: list[Note] = []
    fields, other = header_fields(modal, notes)
    row = find_result(page, number) if _find(page, RESULTS_TABLE) else None
    portal = Answers(answers, number)
    entries = [{**{k: e[k] for k in ("id", "date_filed", "office", "summary")},
                "document": document(e, portal.docket.get(e["id"]), page_url, notes),
                **entry_research(portal.docket.get(e["id"]), e["id"], tz, notes)}
               for e in docket_rows(modal)]
    paged = _paged(_docket_table(modal))
    if paged is not None:
        entries = whole_docket(entries, portal, paged, page_url, tz, notes)
    record = {
        "schema_version": SCHEMA_VERSION, "case_number": number, "court": court,
        # Style of cause is shown only in the results row, not in the modal.
        "style_of_cause": value(row.get("style of cause")) if row else None,
        **fields, **research(portal, number), "other_fields": other,
        "parties": _parties(page, portal, notes),
        "related": portal.related(),
        "docket_entries": entries,
    }
    fill_gaps(record, portal, tz, notes)
    cross_check(record, portal, tz, notes)
    return Parsed(record, notes, unavailable(record, portal, notes))


def parse_case(html: str, court: str = "t", case_number: Optional[str] = None,
               **options: Any) -> dict[str, Any]:
    """The record alone (see read_case)."""
    return read_case(html, court=court, case_number=case_number, **options).record


def _parties(page: Selector, portal: Answers, notes: list[Note]) -> Optional[list[dict[str, Optional[str]]]]:
    """From the PublicPartiesListInfo answer, else the dialog, else None with a note."""
    found = portal.parties()
    if found is None and PARTIES not in portal.garbled:  # the dialog shows that same answer
        found = dialog_parties(page, notes)
    if found is None:
        why = portal.trouble.get("PublicPartiesListInfo", "no PublicPartiesListInfo answer")
        notes.append(Note("parties_unavailable", f"parties not read: {why} and no readable parties dialog"))
    return found
