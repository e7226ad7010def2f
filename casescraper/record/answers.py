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
from datetime import datetime
from typing import Any, Iterable, Optional
from urllib.parse import parse_qs, quote, urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casescraper.errors import ConfigError

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
        for answer in answers or ():
            if not isinstance(answer, dict):
                continue
            endpoint = str(answer.get("endpoint") or "")
            asked = parse_qs(urlsplit(str(answer.get("url") or "")).query).get("courtnumber")
            if asked and norm(asked[0]).upper() != case_number:
                continue  # about another number (a late reply to an earlier case)
            found = _rows_of(answer.get("body")) if answer.get("status") == 200 else None
            if found is None:
                status = answer.get("status")
                self.trouble[endpoint] = (f"{endpoint} answered HTTP {status}" if status != 200
                                          else f"{endpoint} answer is not JSON data")
                continue
            self.rows[endpoint] = found
            self.trouble.pop(endpoint, None)
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
