"""Page (and the portal's own JSON answers) to a schema-v2 record: pure functions.

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

from casescraper.record.answers import (
    PARTIES, Answers, Note, cross_check, cut, document, norm, party, unavailable, value, zone,
)
from casescraper.errors import ParseError
from casescraper.items import SCHEMA_VERSION
from casescraper.browser.selectors import COURT_NUMBER, SELECTORS, within

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
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
# a person would expect, and the demo court's invention ("Party Name").
PARTY_COLUMNS = {"name": "name", "party name": "name", "party": "name",
                 "solicitor firm": "solicitor_firm", "solicitor contact": "solicitor_contact"}

BLOCK_TAGS = frozenset(
    "address article aside blockquote caption dd div dl dt figcaption figure footer form h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split())
SKIP_TAGS = frozenset(("script", "style", "template", "noscript"))
LABEL_TAGS = frozenset(("strong", "b", "label", "span", "em", "dt", "th"))
MARK, END = "\x00", "\x01"  # label boundaries inside rendered text
LEADING_LABEL_RE = re.compile(r"^([^:]{1,60}?)\s*:(.*)$", re.S)
XML_SPACE_RE = re.compile(r"[ \t\r\n]+")  # XPath normalize-space's whitespace, as CSS class matching splits


@dataclass
class Parsed:
    """The record (v2 fields minus source_url/scraped_at/file_path) and the notes to warn about."""

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


# --- text as a browser renders it ----------------------------------------------------

def _key(text: str) -> str:
    return norm(text).casefold()


def _hidden(el: Any) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or el.get("hidden") is not None


def _render(el: Any, out: list[str], marks: bool) -> None:
    if el.text:
        out.append(el.text)
    for child in el:
        tag = child.tag.lower() if isinstance(child.tag, str) else ""
        tail = child.tail or ""
        if tag and tag not in SKIP_TAGS and not _hidden(child):
            gap = " " if tag == "br" or tag in BLOCK_TAGS else ""
            inner = rendered(child) if marks and tag in LABEL_TAGS else ""
            # A label element: <strong>Office :</strong>, or <strong>Office</strong> : after it.
            if inner.endswith(":") and len(inner) > 1 or inner and tail.lstrip().startswith(":"):
                out.append(f"{gap}{MARK}{inner.removesuffix(':')}{END}{gap}")
                tail = tail if inner.endswith(":") else tail.lstrip()[1:]
            else:
                out.append(gap)
                _render(child, out, marks)
                out.append(gap)
        out.append(tail)


def rendered(node: Any, marks: bool = False) -> str:
    """The text a browser shows for an element (a parsel Selector or an lxml element):
    <br> and block boundaries are spaces, whitespace runs one space; hidden parts left out."""
    el = node.root if isinstance(node, Selector) else node
    if isinstance(el, str):
        return norm(el)
    out: list[str] = []
    _render(el, out, marks)
    return norm("".join(out))


def labelled(node: Any, known: Iterable[str]) -> list[tuple[str, Optional[str]]]:
    """(label, value) pairs in an element's text: a label is a `Label :` element (any
    markup around the value), a known label followed by a colon, or a leading `Xxx :`."""
    known_re = _known_re(tuple(known))
    pairs: list[tuple[Optional[str], str]] = []
    for i, segment in enumerate(rendered(node, marks=True).split(MARK)):
        label, _, text = segment.partition(END) if i else (None, "", segment)
        cuts = list(known_re.finditer(text))
        pairs.append((label, text[: cuts[0].start()] if cuts else text))
        for k, found in enumerate(cuts):
            end = cuts[k + 1].start() if k + 1 < len(cuts) else len(text)
            pairs.append((found.group(1), text[found.end():end]))
    out = []
    for label, text in pairs:
        if label is None:  # text before any label element: "Status : Closed" in plain text
            match = LEADING_LABEL_RE.match(text.strip())
            if not match:
                continue
            label, text = match.groups()
        if norm(label):
            out.append((norm(label), value(text)))
    return out


@lru_cache(maxsize=32)
def _known_re(known: tuple[str, ...]) -> re.Pattern[str]:
    """A known label followed by a colon (longest first); built once per label set."""
    names = "|".join(re.escape(k) for k in sorted(known, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=\s))({names})\s*:", re.I)


# --- tables by header ----------------------------------------------------------------

def _header(table: Any, names: Iterable[str]) -> list[str]:
    """Texts of the table's header row naming one of `names` (case-folded), else of its
    first header row ([] when there is none)."""
    rows = _find(table, "thead > tr")
    if not rows:  # the first row holding a th anywhere inside it
        rows = [tr for tr in _find(table, "tr") if next(tr.iter("th"), None) is not None][:1]
    headers = [[rendered(cell) for cell in tr if cell.tag in ("th", "td")] for tr in rows]
    wanted = set(names)
    return next((h for h in headers if wanted & set(map(_key, h))), headers[0] if headers else [])


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


def _data_rows(table: Any) -> list[list[Any]]:
    """Each data row's td cells (lxml elements): no header row, DataTables placeholder,
    responsive child or colspan row. Walked, not queried: a query per row cost the most."""
    out = []
    for tr in _find(table, "tbody > tr") or _find(table, "tr"):
        tds = [cell for cell in tr if cell.tag == "td"]
        if (tds and not any(cell.tag == "th" for cell in tr)
                and not any(_is_empty_cell(td) for td in tr.iter("td"))
                and "child" not in (tr.get("class") or "").split()
                and not (len(tds) == 1 and tds[0].get("colspan") is not None)):
            out.append(tds)
    return out


def _is_empty_cell(td: Any) -> bool:
    """Whether CSS `td.dataTables_empty` matches: the class word split as XPath does."""
    classes = td.get("class")
    return classes is not None and "dataTables_empty" in XML_SPACE_RE.split(classes)


def _results_header(page: Selector) -> list[str]:
    tables = _find(page, RESULTS_TABLE) + _find(page, f"{RESULTS_WRAPPER} table")
    headers = [_header(t, [_NUMBER_KEY]) for t in tables]
    named = [h for h in headers if _NUMBER_KEY in map(_key, h)]
    return (named or [h for h in headers if h] or [[]])[0]


def results_rows(page: Selector) -> list[dict[str, str]]:
    """Results rows as {case-folded header: cell text}; [] for "No data available"."""
    table = _find(page, RESULTS_TABLE)
    if not table:
        raise ParseError(f"results table {RESULTS_TABLE} is missing")
    rows = _data_rows(table[0])
    if not rows:
        return []
    header = _results_header(page)
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
    header = _find(modal, MODAL_TITLE)
    if not header:
        raise ParseError(f"details modal title {MODAL_TITLE} is missing")
    match = TITLE_RE.search(rendered(header[0]))
    if not match:
        raise ParseError(f"details modal title has no case number: {cut(rendered(header[0]))}")
    return match.group(1).upper()


def header_fields(modal: Selector, notes: list[Note]) -> tuple[dict[str, Any], dict[str, Optional[str]]]:
    """(known fields by record key, unknown labels -> value) of the modal's field paragraphs."""
    paragraphs = _find(modal, FIELD_PARAGRAPHS)
    if not paragraphs:
        raise ParseError(f"details modal header fields ({MODAL} {FIELD_PARAGRAPHS}) are missing")
    fields: dict[str, Optional[str]] = {key: None for key in FIELD_ORDER}
    seen: set[str] = set()
    other: dict[str, Optional[str]] = {}
    for p in paragraphs:
        for label, text in labelled(p, HEADER_LABELS):
            key = HEADER_LABELS.get(label.casefold())
            if key is None:
                other.setdefault(label, text)
                notes.append(Note("unknown_label",
                                  f"details modal has an unknown field {label!r} = {cut(text)}"))
            elif key not in seen:  # the first of a repeated label is the one a reader sees first
                seen.add(key)
                fields[key] = text
    date = fields["filing_date"]
    if date is not None and not ISO_DATE_RE.match(date):
        raise ParseError(f"Filing Date is not YYYY-MM-DD: {cut(date)}")
    return fields, other


def _docket_table(modal: Selector) -> Any:
    for table in _find(modal, DOCKET_TABLE):
        captions = _find(table, "caption")
        if DOCKET_CAPTION in _key(rendered(captions[0]) if captions else ""):
            return table
    raise ParseError(f"docket table ({DOCKET_TABLE} captioned {DOCKET_CAPTION!r}) is missing")


def docket_rows(modal: Selector) -> list[dict[str, Any]]:
    """Docket rows as the page shows them: id, date_filed, office, summary, link (href|None),
    has_download (whether the table has a Download column)."""
    table = _docket_table(modal)
    cols = _columns(_header(table, ["id"]), DOCKET_COLUMNS, DOCKET_REQUIRED, "docket table")
    need = max(i for key, i in cols.items() if key != "download") + 1
    out = []
    for n, tds in enumerate(_data_rows(table), 1):
        if len(tds) < need:
            raise ParseError(f"docket row {n} has {len(tds)} cells, the header {need}")
        ident, date = rendered(tds[cols["id"]]), value(rendered(tds[cols["date"]]))
        if not ident.isdigit():
            raise ParseError(f"docket row {n}: ID is not a number: {cut(ident)}")
        if date is not None and not ISO_DATE_RE.match(date):
            raise ParseError(f"docket row {ident}: Date Filed is not YYYY-MM-DD: {cut(date)}")
        has_link = "download" in cols and cols["download"] < len(tds)
        link = next(iter(_find(tds[cols["download"]], "a::attr(href)")), None) if has_link else None
        out.append({"id": int(ident), "date_filed": date, "office": value(rendered(tds[cols["office"]])),
                    # The schema keeps summary a string: an empty or "null" one is "".
                    "summary": value(rendered(tds[cols["summary"]])) or "",
                    "link": norm(link) or None, "has_download": "download" in cols})
    return out


def dialog_parties(page: Selector) -> Optional[list[dict[str, Optional[str]]]]:
    """Parties as the dialog shows them, read by header names or labels; None when the
    dialog is absent, empty or unreadable."""
    box = next((found[0] for found in (_find(page, css) for css in DIALOG) if found), None)
    if box is None:
        return None
    for table in _find(box, "table"):
        header = _header(table, PARTY_COLUMNS)
        if "name" not in (PARTY_COLUMNS.get(_key(h)) for h in header):
            continue
        cols = _columns(header, PARTY_COLUMNS, (), "parties table")
        parties = []
        for tds in _data_rows(table):
            cells = [rendered(td) for td in tds]
            cell = {k: cells[i] if i < len(cells) else None for k, i in cols.items()}
            if value(cell["name"]):
                parties.append(party(cell["name"], cell.get("solicitor_firm"), cell.get("solicitor_contact")))
        return parties
    parties: list[dict[str, Optional[str]]] = []
    for label, text in labelled(box, PARTY_COLUMNS):
        key = PARTY_COLUMNS.get(label.casefold())
        if key == "name" and text:
            parties.append(party(text, None, None))
        elif key and parties and key != "name":
            parties[-1][key] = text
    return parties or None


# --- the record ----------------------------------------------------------------------------

def read_case(html: str, *, answers: Optional[Iterable[dict[str, Any]]] = None, court: str = "t",
              case_number: Optional[str] = None, page_url: Optional[str] = None,
              timezone: str = "America/Toronto") -> Parsed:
    """The v2 record (no source_url/scraped_at/file_path) of a page with the details modal
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
                "document": document(e, portal.docket.get(e["id"]), page_url, notes)}
               for e in docket_rows(modal)]
    record = {
        "schema_version": SCHEMA_VERSION, "case_number": number, "court": court,
        # Style of cause is shown only in the results row, not in the modal.
        "style_of_cause": value(row.get("style of cause")) if row else None,
        **fields, "other_fields": other,
        "parties": _parties(page, portal, notes),
        "related": portal.related(),
        "docket_entries": entries,
    }
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
        found = dialog_parties(page)
    if found is None:
        why = portal.trouble.get("PublicPartiesListInfo", "no PublicPartiesListInfo answer")
        notes.append(Note("parties_unavailable", f"parties not read: {why} and no readable parties dialog"))
    return found
