"""What the portal's answers add to the page's record: pure functions used by the parser.

- Fields for research the page does not show (schema v3): on the case `track`,
  `proceeding_class`, `proceeding_type`, `nature_code`, `office_code`; on each docket
  entry `docno` and `document_date`. Null where the answer lacks them.
- Gaps filled: a value the page shows empty while the portal's answer has one is stored
  from the answer, with a `disagree` note giving both (a person reading the page sees
  nothing there; the answer is the portal's own record of it).
- Docket entries the page does not show (a paged table) are built from the answer.
"""

from __future__ import annotations

from typing import Any, Optional
from zoneinfo import ZoneInfo

from casescraper.errors import ParseError
from casescraper.record.answers import Answers, Note, cut, document, json_date, norm, value

# Page field -> the search answer's (proceedingQueriesAddInfo) field with the same value
# (the results row and the modal show these; SITE.md). Filing date is a date: apart.
SEARCH_FIELDS = {"style_of_cause": "STYLE_OF_CAUSE", "nature_of_proceeding": "ENGLISH_NATURE_DESC",
                 "office": "ENGLISH_CITY_NAME", "language": "ENGLISH_LANGUAGE_NAME"}
RESEARCH_FIELDS = ("track", "proceeding_class", "proceeding_type", "nature_code", "office_code")


def case_row(answers: Answers, number: str) -> Optional[dict[str, Any]]:
    """The search answer's row of the case, if any."""
    return next((r for r in answers.rows.get("proceedingQueriesAddInfo", ())
                 if norm(str(r.get("COURT_NO") or "")).upper() == number), None)


def research(answers: Answers, number: str) -> dict[str, Optional[str]]:
    """The case's fields for research. FACT (SITE.md): docket rows repeat TRACK and CLASS,
    search rows carry PRCDG_TYPE, NATURE_CD and OFF_CD. GUESS: TRACK and CLASS are what
    the Refugee Law Lab's data calls track ("Immigration Leave & Judicial Review") and
    class ("Non-Action"); the first docket row that has one gives it."""
    row = case_row(answers, number) or {}
    docket = answers.rows.get("proceedingQueriesRE", ())

    def first(name: str) -> Optional[str]:
        return next((v for r in docket if (v := value(r.get(name))) is not None), None)

    return {"track": first("TRACK"), "proceeding_class": first("CLASS"),
            "proceeding_type": value(row.get("PRCDG_TYPE")), "nature_code": value(row.get("NATURE_CD")),
            "office_code": value(row.get("OFF_CD"))}


def entry_research(row: Optional[dict[str, Any]], ident: int, tz: ZoneInfo,
                   notes: list[Note]) -> dict[str, Any]:
    """docno and document_date of a docket entry from its proceedingQueriesRE row."""
    row = row or {}
    raw = value(row.get("DOCNO"))
    docno = int(raw) if raw is not None and raw.isdigit() else None
    if raw is not None and docno is None:
        notes.append(Note("disagree", f"docket {ident} DOCNO is not a number: {cut(raw)}; stored as null"))
    shown = value(row.get("DOC_DT"))
    day = json_date(shown, tz) if shown is not None else None
    if shown is not None and day is None:
        notes.append(Note("disagree", f"docket {ident} DOC_DT is not a date: {cut(shown)}; stored as null"))
    return {"docno": docno, "document_date": day}


def _fill(notes: list[Note], what: str, target: dict[str, Any], key: str, portal: Any) -> None:
    if target[key] in (None, "") and portal is not None:
        notes.append(Note("disagree", f"{what}: page shows nothing vs portal {cut(portal)}; "
                                      "the portal's value is stored"))
        target[key] = portal


def fill_gaps(record: dict[str, Any], answers: Answers, tz: ZoneInfo, notes: list[Note]) -> None:
    """Values the page leaves empty, from the portal's answers (a note each)."""
    row = case_row(answers, record["case_number"])
    if row is not None:
        for key, name in SEARCH_FIELDS.items():
            _fill(notes, key, record, key, value(row.get(name)))
        _fill(notes, "filing_date", record, "filing_date", json_date(row.get("FILE_DT"), tz))
    for entry in record["docket_entries"]:
        portal = answers.docket.get(entry["id"])
        if portal is None:
            continue
        what = f"docket {entry['id']}"
        _fill(notes, f"{what} date_filed", entry, "date_filed", json_date(portal.get("FILING_DATE"), tz))
        _fill(notes, f"{what} office", entry, "office", value(portal.get("ENGLISH_OFFICE_NAME")))
        _fill(notes, f"{what} summary", entry, "summary", value(portal.get("RECORDED_ENTRY")))


def answer_entry(row: dict[str, Any], ident: int, page_url: Optional[str], tz: ZoneInfo,
                 notes: list[Note]) -> dict[str, Any]:
    """A docket entry the page does not show, as its proceedingQueriesRE row gives it."""
    shown = {"id": ident, "link": None, "has_download": False}
    return {"id": ident, "date_filed": json_date(row.get("FILING_DATE"), tz),
            "office": value(row.get("ENGLISH_OFFICE_NAME")),
            "summary": value(row.get("RECORDED_ENTRY")) or "",
            "document": document(shown, row, page_url, notes),
            **entry_research(row, ident, tz, notes)}


def whole_docket(entries: list[dict[str, Any]], portal: Answers, paged: str, page_url: Optional[str],
                 tz: ZoneInfo, notes: list[Note]) -> list[dict[str, Any]]:
    """The docket of a page that shows a page of it: the shown entries, and the others
    from the portal's answer, newest first; a ParseError when the answer cannot give them."""
    if "proceedingQueriesRE" not in portal.rows:
        why = portal.trouble.get("proceedingQueriesRE", "no proceedingQueriesRE answer")
        raise ParseError(f"docket table shows only part of the docket ({cut(paged)}) and {why}")
    missing = [e["id"] for e in entries if e["id"] not in portal.docket]
    if missing:
        raise ParseError(f"docket table is paged ({cut(paged)}) and the portal's answer lacks "
                         f"entries the page shows: {cut(missing)}")
    shown = {e["id"]: e for e in entries}
    ids = sorted((i for i in portal.docket if i is not None), reverse=True)
    notes.append(Note("docket_paged", f"docket table shows {len(shown)} of {len(ids)} entries "
                                      f"({cut(paged)}); the others are taken from the portal's answer"))
    return [shown.get(i) or answer_entry(portal.docket[i], i, page_url, tz, notes) for i in ids]
