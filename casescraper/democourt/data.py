"""The demo court's data: fictional immigration files, generated on demand, no I/O.

Everything is a pure function of (seed, year, n, last_number), and of the entries filed
later (knobs `day` and `grow`: see `case()`'s `later`). Each number gets its own
RNGs (`random.Random(f"{seed}:{year}:{n}...")`), so a year of 50,000 numbers costs nothing
until a number is asked for, and asking in any order gives the same answers.

Two views of one `Case`:
- `record()` / `records()`: what the crawler must produce (schema v2, minus `scraped_at`,
  `source_url` and `file_path`);
- `search_row()`, `docket_rows()`, `party_rows()`, `related_rows()`, `court_number_rows()`:
  the rows of the JSON endpoints the page's script reads (field names as in SITE.md).
So the page and the dump can never disagree.

Times (FACT, SITE.md): the portal sends instants, `/Date(ms)/` in UTC, that carry a time of
day (`/Date(1730406718000)/` is 20:31 UTC), and the page shows them in the browser's time
zone. The court sits in Toronto, so a file's date is its America/Toronto calendar date: that
is what the dump holds. Each instant here is a seeded local time between 07:00 and 23:59 in
Toronto (a GUESS at the spread), so a share falls on the next day in UTC and most on the
next day in Asia/Tokyo.
"""

from __future__ import annotations

import calendar
import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Iterable, Optional
from zoneinfo import ZoneInfo

from casescraper.frontier import casenumbers
from casescraper.democourt import texts

TORONTO = ZoneInfo("America/Toronto")
GAP_RATE = 0.04  # share of numbers that were never used (withdrawn / skipped)
CASE_TYPE = "Immigration Matters"  # ENGLISH_PROCEEDING_TYPE, shown as "Type"
TYPE_OF_ACTION = "Immigration Matters"  # ENGLISH_PROCEEDING_CLASS, "Type of Action"
# GUESSES: the French and code twins of the above (field names are FACTS, values are not).
PRCDG_TYPE, FRENCH_PROCEEDING_TYPE = "IMM", "Matières d'immigration"
PROCEEDING_CLASS_ID, FRENCH_PROCEEDING_CLASS = 7, "Matières d'immigration"
# proceedingQueriesRE rows carry TRACK and CLASS (FACT); these values are the ones the
# Refugee Law Lab's data of this portal shows for leave applications (SITE.md).
TRACK = "Immigration Leave & Judicial Review"
PROCEEDING_CLASS = "Non-Action"
MCI = "THE MINISTER OF CITIZENSHIP AND IMMIGRATION"
MPSEP = "THE MINISTER OF PUBLIC SAFETY AND EMERGENCY PREPAREDNESS"
CROWN_FIRMS = ("Attorney General of Canada", "Department of Justice")
DOWNLOAD_PATH = "/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum="  # FACT

# (NATURE_CD, English, French, weight)
NATURES = (
    ("IMM-AOC", "Imm - Appl. for leave & jud. review - Arising outside Canada",
     "Imm - Dem. d'autor. et de contrôle jud. - Survenant hors du Canada", 30),
    ("IMM-RPD", "Imm - Appl. for leave & jud. review - IRB - Refugee Protection Division",
     "Imm - Dem. d'autor. et de contrôle jud. - CISR - Section de la protection des réfugiés", 15),
    ("IMM-AIC", "Imm - Appl. for leave & jud. review - Arising in Canada",
     "Imm - Dem. d'autor. et de contrôle jud. - Survenant au Canada", 25),
    ("IMM-RAD", "Imm - Appl. for leave & jud. review - IRB - Refugee Appeal Division",
     "Imm - Dem. d'autor. et de contrôle jud. - CISR - Section d'appel des réfugiés", 18),
    ("IMM-IAD", "Imm - Appl. for leave & jud. review - IRB - Immigration Appeal Division",
     "Imm - Dem. d'autor. et de contrôle jud. - CISR - Section d'appel de l'immigration", 5),
    ("IMM-ID", "Imm - Appl. for leave & jud. review - IRB - Immigration Division",
     "Imm - Dem. d'autor. et de contrôle jud. - CISR - Section de l'immigration", 2),
    ("IMM-PRRA", "Imm - Appl. for leave & jud. review - Pre-removal risk assessment",
     "Imm - Dem. d'autor. et de contrôle jud. - Examen des risques avant renvoi", 5),
)
# (OFF_CD, English city name, French city name, weight)
OFFICES = (
    ("TOR", "Toronto", "Toronto", 40), ("MTL", "Montréal", "Montréal", 20),
    ("VAN", "Vancouver", "Vancouver", 14), ("OTT", "Ottawa", "Ottawa", 8),
    ("CAL", "Calgary", "Calgary", 6), ("QUE", "Québec", "Québec", 3),
    ("WIN", "Winnipeg", "Winnipeg", 3), ("HAL", "Halifax", "Halifax", 2),
    ("EDM", "Edmonton", "Edmonton", 3), ("REG", "Regina", "Regina", 1),
)
OTTAWA = OFFICES[3]
LANGUAGES = {"E": ("E", "English", "Anglais"), "F": ("F", "French", "Français")}
@dataclass(frozen=True)
class Party:
    """A PublicPartiesListInfo row. The real answer has NO role (FACT), so neither do we."""
    name: str
    firm: Optional[str]  # None when self-represented (GUESS: the portal sends null)
    contact: Optional[str]


@dataclass(frozen=True)
class Entry:
    re_no: int
    filed_at: datetime  # UTC instant; its Toronto date is the "Date Filed"
    office: tuple[str, str, str]  # (code, English, French)
    summary: str  # as the portal sends it: may start with spaces
    foremost: int  # FOREMOST_NUMBER, the document id
    can_publish: str  # "Y" / "N"
    confidential: str  # "Y" / "N"

    @property
    def filed(self) -> date:
        return toronto_date(self.filed_at)


@dataclass(frozen=True)
class Case:
    case_number: str
    seq: int  # COURT_SEQ (GUESS: an internal sequence number)
    style_of_cause: str
    nature: tuple[str, str, str]  # (code, English, French)
    filed_at: datetime  # FILE_DT, a UTC instant
    office: tuple[str, str, str]  # (code, English, French)
    language: tuple[str, str, str]  # (code, English, French)
    parties: tuple[Party, ...]
    entries: tuple[Entry, ...]  # RE_NO 1..k, oldest first
    related: tuple[tuple[str, str], ...]  # (case number, style of cause)

    @property
    def filed(self) -> date:
        return toronto_date(self.filed_at)


def case_number(year: int, n: int) -> str:
    return casenumbers.format("IMM", n, year)


def parse_case_number(text: str, year: int) -> Optional[int]:
    """The n of an `IMM-<n>-<yy>` of `year` (trimmed, case-insensitive), else None."""
    try:
        number = casenumbers.parse(text)
    except ValueError:
        return None
    return number.n if number.prefix == "IMM" and number.year % 100 == year % 100 else None


def exists(year: int, n: int, last_number: int, seed: int = 0) -> bool:
    """Whether number n was used; 1 and last_number always are, nothing above last."""
    if n < 1 or n > last_number:
        return False
    if n in (1, last_number):
        return True
    return random.Random(f"{seed}:{year}:{n}:gap").random() >= GAP_RATE


def filing_date(year: int, n: int, last_number: int) -> date:
    """Files are numbered in filing order: number n falls (n-1)/last of the way through
    (a Toronto calendar date)."""
    days = 366 if calendar.isleap(year) else 365
    return date(year, 1, 1) + timedelta(days=(n - 1) * days // max(last_number, 1))


def toronto_date(instant: datetime) -> date:
    return instant.astimezone(TORONTO).date()


def _instant(rng: random.Random, day: date) -> datetime:
    """A UTC instant at a seeded Toronto time of day 07:00:00-23:59:59 on `day`. Wall-clock
    arithmetic in zoneinfo; no DST gap or fold lies in that window."""
    local = datetime(day.year, day.month, day.day, tzinfo=TORONTO)
    local += timedelta(seconds=rng.randint(7 * 3600, 24 * 3600 - 1))
    return local.astimezone(timezone.utc)


def _pick(rng: random.Random, table: tuple) -> tuple:
    return rng.choices(table, weights=[row[-1] for row in table])[0]


def _entries(rng: random.Random, times: random.Random, filed: datetime,
             office: tuple[str, str, str], ctx: dict[str, str]) -> tuple:
    k = min(30, 1 + int(rng.expovariate(1 / 5)))
    kinds = ["application", "service", "appearance", "request"][:k]
    kinds += ["middle"] * (k - len(kinds))
    if k >= 6 and rng.random() < 0.5:
        kinds[-1] = "order"
    out, day = [], toronto_date(filed)
    for i, kind in enumerate(kinds, start=1):
        if i > 1:  # dates never go back: same day or a few weeks later
            day += timedelta(days=rng.choice((0, 0, 1, 2, 5, 7, 14, 21, 30)))
        where = office if i == 1 or rng.random() < 0.6 else (
            OTTAWA if rng.random() < 0.75 else _pick(rng, OFFICES))
        summary = texts.summary(rng, kind, day, ctx)
        if rng.random() < 1 / 3:  # the portal sends some summaries with leading spaces (FACT)
            summary = " " * rng.choice((1, 1, 2, 3)) + summary
        at = filed if i == 1 else _instant(times, day)  # the application is the file's start
        out.append(Entry(i, at, where[:3], summary, rng.randint(1_000_000, 9_999_999),
                         "Y" if rng.random() < 0.35 else "N",
                         "Y" if rng.random() < 0.05 else "N"))
    return tuple(out)


def _related(year: int, n: int, last_number: int, seed: int) -> tuple[tuple[str, str], ...]:
    """A few files point at an earlier one, most at none."""
    if n == 1:
        return ()
    rng = random.Random(f"{seed}:{year}:{n}:related")
    if rng.random() >= 0.03:
        return ()
    other = case(year, n - rng.randint(1, min(n - 1, 50)), last_number, seed)
    return () if other is None else ((other.case_number, other.style_of_cause),)


def _later_entries(key: str, last: Entry, office: tuple[str, str, str], ctx: dict[str, str],
                   count: int) -> tuple[Entry, ...]:
    """`count` entries filed after `last`, a week apart. Entry j has an RNG of its own, so
    it is the same whatever `count` is: a case grows, its earlier entries never change."""
    out = []
    for j in range(1, count + 1):
        rng = random.Random(f"{key}:later:{j}")
        day = last.filed + timedelta(days=7 * j)
        out.append(Entry(last.re_no + j, _instant(rng, day), office, texts.summary(rng, "middle", day, ctx),
                         rng.randint(1_000_000, 9_999_999), "Y" if rng.random() < 0.35 else "N", "N"))
    return tuple(out)


def grown_by(year: int, n: int, day: int, grow: Iterable[str]) -> int:
    """How many entries were filed later in file n (knobs `day`, `grow`): `day` for the
    numbers of `grow` (case numbers, any case and spacing), else 0."""
    return day if case_number(year, n) in {g.strip().upper() for g in grow} else 0


@lru_cache(maxsize=8192)
def case(year: int, n: int, last_number: int, seed: int = 0, later: int = 0) -> Optional[Case]:
    """The file numbered n of `year`, or None when the number does not exist; `later`:
    that many docket entries filed after the drawn ones (see `_later_entries`)."""
    if not exists(year, n, last_number, seed):
        return None
    rng = random.Random(f"{seed}:{year}:{n}")
    times = random.Random(f"{seed}:{year}:{n}:time")
    nature = _pick(rng, NATURES)[:3]
    office = _pick(rng, OFFICES)[:3]
    french = rng.random() < (0.7 if office[1] in ("Montréal", "Québec") else 0.05)
    language = LANGUAGES["F" if french else "E"]
    filed_at = _instant(times, filing_date(year, n, last_number))
    minister = MPSEP if rng.random() < 0.15 else MCI
    applicants = texts.applicants(rng)
    style = f"{', '.join(applicants)} v. {minister}"

    self_rep = rng.random() < 0.12
    firm, contact = (None, None) if self_rep else (texts.firm(rng), texts.person(rng))
    parties = [Party(a, firm, contact) for a in applicants]
    crown_contact = texts.person(rng) if rng.random() < 0.8 else None
    parties.append(Party(minister, rng.choice(CROWN_FIRMS), crown_contact))

    ctx = {
        "decider": rng.choice(("IRCC - " + rng.choice(texts.VISA_POSTS), "IRB - RPD",
                               "IRB - RAD", "CBSA")),
        "file_no": f"V{rng.randint(100_000_000, 999_999_999)}",
        "uci": f"{rng.randint(10, 99)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "post": rng.choice(texts.VISA_POSTS),
        "applicant": texts.title(applicants[0]),
        "counsel": contact or "the applicant",
        "office": office[1],
        "judge": texts.title(rng.choice(texts.SURNAMES)),
    }
    entries = _entries(rng, times, filed_at, office, ctx)
    entries += _later_entries(f"{seed}:{year}:{n}", entries[-1], office, ctx, later)
    seq = random.Random(f"{seed}:{year}:{n}:seq").randint(100_000, 999_999)
    return Case(case_number(year, n), seq, style, nature, filed_at, office, language,
                tuple(parties), entries, _related(year, n, last_number, seed))


# --- the crawler's view: schema v3 ------------------------------------------------------


def document(e: Entry) -> dict[str, Any]:
    """The docket entry's document as the crawler records it (COMMON.md)."""
    downloadable = e.can_publish == "Y" and e.confidential == "N"  # FACT: the Download link
    return {"id": str(e.foremost), "downloadable": downloadable,
            "confidential": e.confidential == "Y",
            "url": DOWNLOAD_PATH + str(e.foremost) if downloadable else None}


def to_record(c: Case) -> dict[str, Any]:
    return {
        "schema_version": 3,
        "case_number": c.case_number,
        "court": "t",
        "style_of_cause": c.style_of_cause,
        "nature_of_proceeding": c.nature[1],
        "case_type": CASE_TYPE,
        "type_of_action": TYPE_OF_ACTION,
        "filing_date": c.filed.isoformat(),
        "office": c.office[1],
        "language": c.language[1],
        "track": TRACK,
        "proceeding_class": PROCEEDING_CLASS,
        "proceeding_type": PRCDG_TYPE,
        "nature_code": c.nature[0],
        "office_code": c.office[0],
        "other_fields": {},
        "parties": [{"name": p.name, "solicitor_firm": p.firm, "solicitor_contact": p.contact,
                     "role": None} for p in c.parties],
        "related": [{"case_number": no, "style_of_cause": style} for no, style in c.related],
        # Newest first, as the page lists them.
        "docket_entries": [{"id": e.re_no, "date_filed": e.filed.isoformat(),
                            "office": e.office[1], "summary": e.summary.strip(),
                            "document": document(e), "docno": e.re_no + 9,
                            "document_date": e.filed.isoformat()}
                           for e in reversed(c.entries)],
    }


def record(year: int, n: int, last_number: int, seed: int = 0, day: int = 0,
           grow: Iterable[str] = ()) -> Optional[dict[str, Any]]:
    """The item the crawler should produce for number n (without scraped_at, source_url,
    file_path), or None when the number does not exist; `day`, `grow`: as the knobs."""
    c = case(year, n, last_number, seed, grown_by(year, n, day, grow))
    return None if c is None else to_record(c)


def records(year: int, last_number: int, seed: int = 0, day: int = 0,
            grow: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every existing file of the year, by number."""
    out = []
    for n in range(1, last_number + 1):
        r = record(year, n, last_number, seed, day, grow)
        if r is not None:
            out.append(r)
    return out


# --- the JSON endpoints' view ----------------------------------------------------------


def ms_date(instant: datetime) -> str:
    """Microsoft JSON date of an aware instant: "/Date(1730406718000)/" (FACT: the form)."""
    return f"/Date({int(instant.timestamp()) * 1000})/"


def search_row(c: Case) -> dict[str, Any]:
    """A proceedingQueriesAddInfo row. Field names are FACTS (SITE.md); the values of
    COURT_SEQ, PRCDG_TYPE, PROCEEDING_CLASS_ID and the French names are GUESSES."""
    return {
        "COURT_SEQ": c.seq,
        "COURT_NO": c.case_number,
        "STYLE_OF_CAUSE": c.style_of_cause,
        "NATURE_CD": c.nature[0],
        "ENGLISH_NATURE_DESC": c.nature[1],
        "FRENCH_NATURE_DESC": c.nature[2],
        "DIVISION": "T",
        "FILE_DT": ms_date(c.filed_at),
        "OFF_CD": c.office[0],
        "ENGLISH_CITY_NAME": c.office[1],
        "FRENCH_CITY_NAME": c.office[2],
        "PRCDG_TYPE": PRCDG_TYPE,
        "ENGLISH_PROCEEDING_TYPE": CASE_TYPE,
        "FRENCH_PROCEEDING_TYPE": FRENCH_PROCEEDING_TYPE,
        "PROCEEDING_CLASS_ID": PROCEEDING_CLASS_ID,
        "ENGLISH_PROCEEDING_CLASS": TYPE_OF_ACTION,
        "FRENCH_PROCEEDING_CLASS": FRENCH_PROCEEDING_CLASS,
        "LANG_CD": c.language[0],
        "ENGLISH_LANGUAGE_NAME": c.language[1],
        "FRENCH_LANGUAGE_NAME": c.language[2],
        "Party": [p.name for p in c.parties],
    }


def docket_rows(c: Case) -> list[dict[str, Any]]:
    """proceedingQueriesRE rows, newest first. FACTS (SITE.md): DOC_DT is an ISO string,
    DOCNO differs from RE_NO, FOREMOST_NUMBER is a string, rows repeat case-level fields.
    GUESSES: DOCNO = RE_NO + 9 (a sample had 1 vs 10), the values of NATURE, TRACK, CLASS,
    RE_LANG_CD and REGISTRY_NOTES_EXTERNAL."""
    return [{
        "COURT_NO": c.case_number,
        "STYLE_OF_CAUSE": c.style_of_cause,
        "NATURE": c.nature[1],
        "TRACK": TRACK,
        "CLASS": PROCEEDING_CLASS,
        "RE_NO": e.re_no,
        "FILING_DATE": ms_date(e.filed_at),
        "ENGLISH_OFFICE_NAME": e.office[1],
        "FRENCH_OFFICE_NAME": e.office[2],
        "RECORDED_ENTRY": e.summary,
        "RE_LANG_CD": c.language[0],
        "REGISTRY_NOTES_EXTERNAL": None,
        "DOCNO": e.re_no + 9,
        "FOREMOST_NUMBER": str(e.foremost),
        "DOC_DT": e.filed.isoformat() + "T00:00:00",
        "CAN_PUBLISH_DOCUMENT": e.can_publish,
        "IS_CONFIDENTIAL": e.confidential,
    } for e in reversed(c.entries)]


def party_rows(c: Case) -> list[dict[str, Any]]:
    """PublicPartiesListInfo rows: PARTY_NAME, SOLCTR_FIRM, SOLCTR_CONTACT (FACT: no role)."""
    return [{"PARTY_NAME": p.name, "SOLCTR_FIRM": p.firm, "SOLCTR_CONTACT": p.contact}
            for p in c.parties]


def related_rows(year: int, n: int, last_number: int, seed: int = 0) -> list[dict[str, Any]]:
    """RelatedListInfo rows (field names FACT)."""
    c = case(year, n, last_number, seed)
    return [] if c is None else [{"RELATED_COURT_NO": no, "STYLE_OF_CAUSE": style}
                                 for no, style in c.related]


def court_number_rows(year: int, text: str, last_number: int, seed: int = 0,
                      limit: int = 20) -> list[dict[str, Any]]:
    """proceedingQueriesCourtNumberList rows. Other public clients call this endpoint (FACT);
    its parameters and answer are unknown. GUESS: an autocomplete, the first `limit` files
    whose number starts with `text` (case-insensitive), in number order, as COURT_NO rows."""
    m = re.fullmatch(r"IMM-([0-9]*)(?:-([0-9]{0,2}))?", text.strip().upper())
    if not m or m.group(1).startswith("0"):
        return []
    digits, want = m.group(1), text.strip().upper()
    out: list[dict[str, Any]] = []
    low, high = (int(digits), int(digits) + 1) if digits else (1, 10)
    if m.group(2) is not None:  # "IMM-12-": only n = 12 can match
        last_number = min(last_number, high - 1)
    while low <= last_number and len(out) < limit:  # n = digits, digits0-9, digits00-99, ...
        for n in range(low, min(high, last_number + 1)):
            if case_number(year, n).startswith(want) and exists(year, n, last_number, seed):
                out.append({"COURT_NO": case_number(year, n)})
                if len(out) == limit:
                    break
        low, high = low * 10, high * 10
    return out
