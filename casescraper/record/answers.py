"""The portal's own JSON answers for a case: what they say, and where the page disagrees.

Pure functions used by the parser. An answer is the page object's dict
`{"endpoint", "url", "status", "body"}`; a readable one is HTTP 200 with a body
`{"Count": n, "data": [...]}` (FACT, SITE.md). Unreadable answers are left out, never
fatal. The PAGE's values are what a person reads and what is stored; the JSON only
fills what the page does not show (document ids and flags, parties, related files) and
is compared with the page where both give a value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable, Optional
from urllib.parse import parse_qs, quote, urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casescraper.errors import ConfigError

SEARCH, DOCKET = "proceedingQueriesAddInfo", "proceedingQueriesRE"
PARTIES, RELATED = "PublicPartiesListInfo", "RelatedListInfo"
# A key every row of an endpoint's answer carries (FACT, SITE.md): a row without it is
# not of the known shape.
ROW_KEYS = {SEARCH: "COURT_NO", DOCKET: "RE_NO", PARTIES: "PARTY_NAME", RELATED: "RELATED_COURT_NO"}
# Where a row names the court number it is about. FACT for the search and the docket
# (rows repeat COURT_NO). GUESS: parties and related rows name none (SITE.md lists no such
# field); should one carry COURT_NO, it must be the number asked too.
NUMBER_KEY = "COURT_NO"
NAMED_BY_ROW = (SEARCH, DOCKET)

# FACT (SITE.md): where a published document is downloaded.
DOWNLOAD_PATH = "/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum="
MS_DATE_RE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
ISO_PREFIX_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T ])")


@dataclass(frozen=True)
class Note:
    """Something the caller warns about; kind: unknown_label, disagree, docket_paged or
    parties_unavailable."""

    kind: str
    message: str


# Characters that show nothing: zero-width space, zero-width joiner, word joiner, soft
# hyphen, BOM. (The zero-width NON-joiner stays: it changes how Persian names are written.)
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200d\u2060\u00ad\ufeff"))


def norm(text: Optional[str]) -> str:
    """Runs of whitespace (no-break spaces too) become one space, ends trimmed, invisible
    characters removed."""
    return " ".join((text or "").translate(INVISIBLE).split())


def value(text: Any) -> Optional[str]:
    """A displayed value: None when empty or the literal text `null` (any case)."""
    shown = norm(text if isinstance(text, str) else (None if text is None else str(text)))
    return None if not shown or shown.lower() == "null" else shown


def cut(shown: Any, limit: int = 100) -> str:
    """repr of a value for a message, cut to about `limit` characters."""
    if isinstance(shown, str) and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    text = repr(shown)
    return text if len(text) <= limit + 2 else text[:limit] + "…"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time zone {name!r} is unknown: use an IANA name such as "
                          "America/Toronto") from None


def json_date(raw: Any, tz: ZoneInfo) -> Optional[str]:
    """The date a page in `tz` shows for a portal date: "/Date(ms)/" is a UTC instant
    (FACT: it can carry a time of day), an ISO string is taken as its date."""
    text = raw.strip() if isinstance(raw, str) else ""
    match = MS_DATE_RE.match(text)
    if match:
        try:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, tz).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    match = ISO_PREFIX_RE.match(text)
    return match.group(1) if match else None


def shape_problem(answer: dict[str, Any]) -> Optional[str]:
    """Why an answer is not whole and of the known shape (None when it is): HTTP 200, a
    body `{"Count": n, "data": [n rows]}` whose rows are objects with the endpoint's key."""
    if answer.get("body_skipped"):
        return f"was too big to keep ({answer['body_skipped']} characters)"
    if answer.get("status") != 200:
        return f"answered HTTP {answer.get('status')}"
    try:
        data = json.loads(answer.get("body") or "")
    except (ValueError, RecursionError):
        return "answer is not JSON (cut off?)"
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return "answer is not of the known shape {Count, data}"
    rows, count = data["data"], data.get("Count")
    if not isinstance(count, int) or isinstance(count, bool) or count != len(rows):
        return f"answer is not whole: Count {cut(count, 20)} but {len(rows)} rows"
    key = ROW_KEYS.get(str(answer.get("endpoint")))
    if any(not isinstance(r, dict) or (key is not None and key not in r) for r in rows):
        return f"answer has rows of an unknown shape (no {key})"
    return None


def _asked(answer: dict[str, Any]) -> Optional[str]:
    asked = parse_qs(urlsplit(str(answer.get("url") or "")).query).get("courtnumber")
    return norm(asked[0]).upper() if asked else None


def wrong_answer(answers: Iterable[dict[str, Any]], case_number: str, found: bool,
                 whole: bool = False) -> Optional[str]:
    """Why the portal's answers cannot settle `case_number` (None when they can), for a
    capture whose page showed the case (`found`) or showed no row.

    A number is settled only by answers that are whole, of the known shape and about it:
    "no data" only from a search answer that is so and empty; a found case needs its
    search and docket answers so; every row that names a court number must name this one.
    Answers about another number (a late reply to an earlier case) are left out. A
    parties or related answer that cannot be read fails the case only when `whole` (the
    caller asks again); else the record says so (see `unavailable`). One about another
    number always does."""
    case_number = case_number.upper()
    latest: dict[str, dict[str, Any]] = {}
    for answer in answers:
        if isinstance(answer, dict) and _asked(answer) in (case_number, None):
            latest[str(answer.get("endpoint") or "")] = answer
    needed = (SEARCH, DOCKET) if found else (SEARCH,)
    for endpoint in needed:
        if endpoint not in latest:
            return f"no {endpoint} answer about {case_number}"
    for endpoint in (*needed, *((PARTIES, RELATED) if found and whole else ())):
        problem = shape_problem(latest[endpoint]) if endpoint in latest else None
        if problem:
            return f"the {endpoint} {problem}"
    for endpoint, answer in latest.items():
        rows = _rows_of(answer.get("body")) if endpoint in ROW_KEYS and answer.get("status") == 200 else None
        for row in rows or ():
            named = norm(str(row.get(NUMBER_KEY) or "")).upper()
            if (endpoint in NAMED_BY_ROW or NUMBER_KEY in row) and named != case_number:
                return f"the {endpoint} answer holds a row of {cut(named or None, 40)}, not of {case_number}"
    listed = bool(_rows_of(latest[SEARCH].get("body")))
    if listed != found:
        return (f"the {SEARCH} answer lists {case_number} but the page showed no row of it" if listed
                else f"the page showed {case_number} but the {SEARCH} answer is empty")
    return None


def answered_at(answers: Iterable[dict[str, Any]]) -> Optional[str]:
    """The portal's time of its latest answer (the Date headers, ISO 8601 UTC), or None
    when no answer carried one: the clock that decides whether "no data" is final."""
    times = []
    for answer in answers:
        try:
            moment = parsedate_to_datetime(str(answer.get("date") or ""))
        except (TypeError, ValueError, IndexError):
            continue
        if moment.tzinfo is not None:
            times.append(moment.astimezone(timezone.utc))
    return max(times).isoformat() if times else None


def _rows_of(body: Any) -> Optional[list[dict[str, Any]]]:
    """The rows of a `{"Count": n, "data": [...]}` body (a bare list too); None if unreadable."""
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        return None
    data = data.get("data") if isinstance(data, dict) else data
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else None


class Answers:
    """The latest readable answer of each endpoint about one case number."""

    def __init__(self, answers: Optional[Iterable[dict[str, Any]]], case_number: str):
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.trouble: dict[str, str] = {}  # endpoint -> why its answer is not used
        # Endpoints that answered HTTP 200 with a body of another shape: the page's own
        # rendering of that answer (the parties dialog) is not to be trusted either.
        self.garbled: set[str] = set()
        for answer in answers or ():
            if not isinstance(answer, dict):
                continue
            endpoint = str(answer.get("endpoint") or "")
            asked = parse_qs(urlsplit(str(answer.get("url") or "")).query).get("courtnumber")
            if asked and norm(asked[0]).upper() != case_number:
                continue  # about another number (a late reply to an earlier case)
            found = _rows_of(answer.get("body")) if answer.get("status") == 200 else None
            # An optional part is whole and of its known shape, or not read at all (never
            # an empty list made of garbled rows).
            problem = shape_problem(answer) if endpoint in (PARTIES, RELATED) else None
            if found is None or problem:
                status = answer.get("status")
                self.trouble[endpoint] = f"{endpoint} {problem}" if problem else (
                    f"{endpoint} answered HTTP {status}" if status != 200
                    else f"{endpoint} answer is not JSON data")
                if status == 200:
                    self.garbled.add(endpoint)
                self.rows.pop(endpoint, None)
                continue
            self.rows[endpoint] = found
            self.trouble.pop(endpoint, None)
            self.garbled.discard(endpoint)
        self.docket = {_int(r.get("RE_NO")): r for r in self.rows.get("proceedingQueriesRE", ())}

    def parties(self) -> Optional[list[dict[str, Optional[str]]]]:
        rows = self.rows.get("PublicPartiesListInfo")
        if rows is None:
            return None
        return [party(r.get("PARTY_NAME"), r.get("SOLCTR_FIRM"), r.get("SOLCTR_CONTACT"))
                for r in rows if value(r.get("PARTY_NAME"))]

    def related(self) -> Optional[list[dict[str, Optional[str]]]]:
        rows = self.rows.get("RelatedListInfo")
        if rows is None:
            return None
        return [{"case_number": number.upper(), "style_of_cause": value(r.get("STYLE_OF_CAUSE"))}
                for r in rows if (number := value(r.get("RELATED_COURT_NO")))]


def unavailable(record: dict[str, Any], answers: Answers, notes: list[Note]) -> list[str]:
    """The optional parts of a record that could not be read this time (why, each): such a
    record is incomplete, and its number is asked again. Parties are null then (the parser
    notes why); related files are null with a note when their answer was unreadable."""
    missing = [n.message for n in notes if n.kind == "parties_unavailable"]
    if record.get("related") is None and RELATED in answers.trouble:
        why = f"related files not read: {answers.trouble[RELATED]}"
        notes.append(Note("related_unavailable", why))
        missing.append(why)
    return missing


def party(name: Any, firm: Any, contact: Any, role: Any = None) -> dict[str, Optional[str]]:
    """A party of the record; role only where a parties dialog shows one (FACT: the
    portal's answer has none)."""
    return {"name": value(name), "solicitor_firm": value(firm), "solicitor_contact": value(contact),
            "role": value(role)}


def _int(raw: Any) -> Optional[int]:
    text = norm(str(raw)) if raw is not None else ""
    return int(text) if text.isdigit() else None


def compare(notes: list[Note], what: str, page: Any, portal: Any) -> None:
    if page is not None and portal is not None and page != portal:
        notes.append(Note("disagree", f"{what}: page {cut(page)} vs portal {cut(portal)}"))


def document(entry: dict[str, Any], portal: Optional[dict[str, Any]], page_url: Optional[str],
             notes: list[Note]) -> Optional[dict[str, Any]]:
    """An entry's document from its Download link (`entry["link"]`, None without one;
    `entry["has_download"]`: the table has that column) and its proceedingQueriesRE row."""
    link, ident = entry["link"], entry["id"]
    foremost = value((portal or {}).get("FOREMOST_NUMBER"))
    publish, secret = (value((portal or {}).get(k)) for k in ("CAN_PUBLISH_DOCUMENT", "IS_CONFIDENTIAL"))
    portal_download = publish == "Y" and secret == "N"
    confidential = None if secret is None else secret == "Y"
    if link is None and entry["has_download"]:
        if foremost is None:
            return None
        if portal_download:
            compare(notes, f"docket {ident} download", False, True)
        return {"id": foremost, "downloadable": False, "confidential": confidential, "url": None}
    if link is None:  # the page has no Download column: the portal's flags decide
        if foremost is None:
            return None
        link = DOWNLOAD_PATH + quote(foremost, safe="") if portal_download else None
    url = urljoin(page_url, link) if link and page_url else link
    shown = value((parse_qs(urlsplit(link).query).get("foremostNum") or [None])[0]) if link else None
    if portal is not None and entry["has_download"]:
        compare(notes, f"docket {ident} download", True, portal_download)
        compare(notes, f"docket {ident} document id", shown, foremost)
    # A link without foremostNum and no portal row: the link is all that names the document.
    return {"id": shown or foremost or link, "downloadable": url is not None,
            "confidential": confidential, "url": url}


def cross_check(record: dict[str, Any], answers: Answers, tz: ZoneInfo, notes: list[Note]) -> None:
    """Notes where the page and the portal's JSON give different values; the page's stay."""
    case = next((r for r in answers.rows.get("proceedingQueriesAddInfo", ())
                 if norm(str(r.get("COURT_NO") or "")).upper() == record["case_number"]), None)
    if case is not None:
        compare(notes, "style_of_cause", record["style_of_cause"], value(case.get("STYLE_OF_CAUSE")))
        compare(notes, "office", record["office"], value(case.get("ENGLISH_CITY_NAME")))
        compare(notes, "filing_date", record["filing_date"], json_date(case.get("FILE_DT"), tz))
    if "proceedingQueriesRE" not in answers.rows:
        return
    shown = [e["id"] for e in record["docket_entries"]]
    portal_ids = sorted((i for i in answers.docket if i is not None), reverse=True)
    if sorted(shown, reverse=True) != portal_ids:
        compare(notes, "docket ids", shown, portal_ids)
    for entry in record["docket_entries"]:
        row = answers.docket.get(entry["id"])
        if row is None:
            continue
        what = f"docket {entry['id']}"
        compare(notes, f"{what} date_filed", entry["date_filed"], json_date(row.get("FILING_DATE"), tz))
        compare(notes, f"{what} office", entry["office"], value(row.get("ENGLISH_OFFICE_NAME")))
        compare(notes, f"{what} summary", entry["summary"] or None, value(row.get("RECORDED_ENTRY")))
