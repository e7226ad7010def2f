"""The demo court's data: fictional immigration files, generated on demand, no I/O.

Everything is a pure function of (seed, year, n, last_number). Each number gets its own
RNG (`random.Random(f"{seed}:{year}:{n}")`), so a year of 50,000 numbers costs nothing
until a number is asked for, and asking in any order gives the same answers.

Two views of one `Case`:
- `record()` / `records()`: what the crawler must produce (the item schema in
  casescraper/items.py, minus `scraped_at`, `source_url` and `file_path`);
- `search_row()`, `docket_rows()`, `party_rows()`, `related_rows()`: the rows of the
  JSON endpoints the page's script reads (field names as in SITE.md).
So the page and the dump can never disagree.

All names are invented combinations; any resemblance to a real file is chance.
"""

from __future__ import annotations

import calendar
import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Optional

GAP_RATE = 0.04  # share of numbers that were never used (withdrawn / skipped)
CASE_TYPE = "Immigration Matters"  # ENGLISH_PROCEEDING_TYPE, shown as "Type"
TYPE_OF_ACTION = "Immigration Matters"  # ENGLISH_PROCEEDING_CLASS, "Type of Action"
MCI = "THE MINISTER OF CITIZENSHIP AND IMMIGRATION"
MPSEP = "THE MINISTER OF PUBLIC SAFETY AND EMERGENCY PREPAREDNESS"
CROWN_FIRMS = ("Attorney General of Canada", "Department of Justice")

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
# (OFF_CD, English city name, weight)
OFFICES = (
    ("TOR", "Toronto", 40), ("MTL", "Montréal", 20), ("VAN", "Vancouver", 14),
    ("OTT", "Ottawa", 8), ("CAL", "Calgary", 6), ("QUE", "Québec", 3), ("WIN", "Winnipeg", 3),
    ("HAL", "Halifax", 2), ("EDM", "Edmonton", 3), ("REG", "Regina", 1),
)
GIVEN = (
    "MOHAMMED", "FATIMA", "PRIYA", "RAJ", "JOSÉ", "MARÍA", "FRANÇOIS", "HÉLÈNE", "ZOË",
    "NOËL", "LOÏC", "AÏCHA", "ÉLODIE", "ANAÏS", "CÉDRIC", "ANDRÉ", "INÈS", "OMAR", "AHMED",
    "WEI", "LI NA", "CHIDI", "AMARA", "KWAME", "YUSUF", "SOFÍA", "LUCÍA", "ZEYNEP", "ARJUN",
    "HARPREET", "GURPREET", "SIMRAN", "OLUWASEUN", "ADEBAYO", "THI HOA", "MINH", "DMITRI",
    "OLEKSANDR", "GRÉGOIRE", "JOËL", "RAÏSSA", "MÉLANIE", "FRANÇOISE", "BJÖRN",
)
SURNAMES = (
    "SINGH", "KAUR", "PATEL", "KHAN", "HOSSAIN", "NGUYEN", "GARCÍA", "RODRÍGUEZ",
    "GONZÁLEZ", "MÜLLER", "ÇELIK", "YILMAZ", "OKAFOR", "ADEYEMI", "MENSAH", "TREMBLAY",
    "CÔTÉ", "GAGNÉ", "BÉLANGER", "LÉVESQUE", "HAÏDARA", "TOURÉ", "DIALLO", "ZHANG", "WANG",
    "LIU", "KIM", "PARK", "IBRAHIM", "HADDAD", "NAÏMI", "KOWALSKI", "HERNÁNDEZ", "PEÑA",
    "ÁLVAREZ", "SANTOS", "MOREAU", "FRANÇOIS", "BOUCHARD", "DESJARDINS",
)
BUSINESS = ("FARMS", "TRADING", "CONSTRUCTION", "TRUCKING", "RESTAURANTS", "CLEANING")
VISA_POSTS = ("NEW DELHI", "LAGOS", "MANILA", "CPC OTTAWA", "ANKARA", "DAKAR", "BOGOTÁ",
              "LOCATION UNKNOWN", "CPC EDMONTON")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CASE_RE = re.compile(r"IMM-([1-9][0-9]*)-([0-9]{2})", re.IGNORECASE)


@dataclass(frozen=True)
class Party:
    name: str
    role: str  # "Applicant", "Respondent" or "" (unknown)
    firm: str  # "" when self-represented
    contact: str


@dataclass(frozen=True)
class Entry:
    re_no: int
    filed: date
    office: str
    summary: str  # as the portal sends it: may start with spaces
    foremost: int  # FOREMOST_NUMBER, the document id
    can_publish: str  # "Y" / "N"
    confidential: str  # "Y" / "N"


@dataclass(frozen=True)
class Case:
    case_number: str
    style_of_cause: str
    nature: tuple[str, str, str]  # (code, English, French)
    filed: date
    office: tuple[str, str]  # (code, English city name)
    language: tuple[str, str]  # (code, English name)
    parties: tuple[Party, ...]
    entries: tuple[Entry, ...]  # RE_NO 1..k, oldest first


def case_number(year: int, n: int) -> str:
    return f"IMM-{n}-{year % 100:02d}"


def parse_case_number(text: str, year: int) -> Optional[int]:
    """The n of an `IMM-<n>-<yy>` of `year` (trimmed, case-insensitive), else None."""
    m = _CASE_RE.fullmatch(text.strip())
    if not m or int(m.group(2)) != year % 100:
        return None
    return int(m.group(1))


def exists(year: int, n: int, last_number: int, seed: int = 0) -> bool:
    """Whether number n was used; 1 and last_number always are, nothing above last."""
    if n < 1 or n > last_number:
        return False
    if n in (1, last_number):
        return True
    return random.Random(f"{seed}:{year}:{n}:gap").random() >= GAP_RATE


def filing_date(year: int, n: int, last_number: int) -> date:
    """Files are numbered in filing order: number n falls (n-1)/last of the way through."""
    days = 366 if calendar.isleap(year) else 365
    return date(year, 1, 1) + timedelta(days=(n - 1) * days // max(last_number, 1))


def _pick(rng: random.Random, table: tuple) -> tuple:
    return rng.choices(table, weights=[row[-1] for row in table])[0]


def _title(s: str) -> str:
    return s.title()  # "CÔTÉ" -> "Côté", "LI NA" -> "Li Na"


def _person(rng: random.Random) -> str:
    return f"{_title(rng.choice(GIVEN))} {_title(rng.choice(SURNAMES))}"


def _firm(rng: random.Random) -> str:
    a, b = _title(rng.choice(SURNAMES)), _title(rng.choice(SURNAMES))
    return rng.choice((
        f"{a} & {b} LLP", f"{a} Law Professional Corporation", f"Cabinet {a} Avocats Inc.",
        f"Étude légale {a}", f"{a}, {b} & Associés", f"{a} Immigration Law",
        f"{a} Legal Services",
    ))


def _dmy(d: date) -> str:
    return f"{d.day:02d}-{MONTHS[d.month - 1]}-{d.year}"


def _applicants(rng: random.Random) -> list[str]:
    if rng.random() < 0.04:  # an employer (e.g. an LMIA refusal): a name with "&"
        a, b = rng.choice(SURNAMES), rng.choice(SURNAMES)
        return [rng.choice((f"{a} & {b} {rng.choice(BUSINESS)} LTD.",
                            f"{a} {rng.choice(BUSINESS)} & LOGISTICS INC.",
                            f"BOULANGERIE {a} & FILS INC."))]
    surname = rng.choice(SURNAMES)
    count = rng.choices((1, 2, 3, 4), weights=(70, 18, 8, 4))[0]
    names = []
    for _ in range(count):  # a family mostly shares a surname
        last = surname if rng.random() < 0.8 else rng.choice(SURNAMES)
        name = f"{rng.choice(GIVEN)} {last}"
        if name not in names:
            names.append(name)
    return names


def _summary(rng: random.Random, kind: str, d: date, ctx: dict[str, str]) -> str:
    """One recorded-entry summary in the portal's telegraphic style."""
    day = _dmy(d)
    if kind == "application":
        decided = _dmy(d - timedelta(days=rng.randint(5, 40)))
        text = (f"Application for leave and judicial review against a decision {ctx['decider']}, "
                f"{decided}; FILE NO:{ctx['file_no']}/UCI: {ctx['uci']} filed on {day}")
        return text + (" Tariff fee of $50.00 received" if rng.random() < 0.7 else "")
    return rng.choice({
        "service": (
            f"Copy of R.133 SERVICE EMAIL OF ALJR ON THE RESPONDENT with proof of service on the "
            f"respondent on {day} filed on {day}",
            f"Solicitor's certificate of service on behalf of {ctx['counsel']} confirming service "
            f"of the application upon the Respondent by email on {day} filed on {day}",
        ),
        "appearance": (
            f"Notice of appearance on behalf of the respondent filed on {day} with proof of "
            f"service on the applicant the tribunal",
        ),
        "request": (
            f"First request to IRCC, File no. {ctx['file_no']}, UCI: {ctx['uci']} pursuant to "
            f"Rule 9 dated {day}",
            f"Second request to IRCC, Tribunal File no. {ctx['file_no']} pursuant to Rule 9 "
            f"dated {day}",
        ),
        "middle": (
            f"Certified copy of the decision and reasons sent by IRCC {ctx['post']} on {day} "
            f"pursuant to Rule 9(2) Received on {day}",
            f"Applicant's record containing the affidavit of {ctx['applicant']} and a memorandum "
            f"of argument filed on {day}",
            f"Memorandum of argument of the respondent filed on {day} with proof of service",
            f"Reply memorandum of the applicant filed on {day}",
            f"Letter from the Applicant dated {day} requesting an extension of time to file the "
            f"record received on {day}",
            f"Motion record containing the following original document(s): notice of motion, "
            f"affidavit of {ctx['applicant']} filed on {day}",
            f"Communication to the Court from the Registry dated {day} re: file transferred to "
            f"the {ctx['office']} office",
            f"Acknowledgment of receipt received from the Respondent by email on {day}",
        ),
        "order": (
            f"Order rendered by The Honourable Mr. Justice {ctx['judge']} at Ottawa on {day} "
            f"dismissing the application for leave",
            f"Order rendered by The Honourable Madam Justice {ctx['judge']} at Ottawa on {day} "
            f"granting the application for leave; hearing set",
            f"Notice of discontinuance filed on {day}",
        ),
    }[kind])


def _entries(rng: random.Random, filed: date, office: str, ctx: dict[str, str]) -> tuple:
    k = min(30, 1 + int(rng.expovariate(1 / 5)))
    kinds = ["application", "service", "appearance", "request"][:k]
    kinds += ["middle"] * (k - len(kinds))
    if k >= 6 and rng.random() < 0.5:
        kinds[-1] = "order"
    out, day = [], filed
    for i, kind in enumerate(kinds, start=1):
        if i > 1:  # dates never go back: same day or a few weeks later
            day += timedelta(days=rng.choice((0, 0, 1, 2, 5, 7, 14, 21, 30)))
        where = office if i == 1 or rng.random() < 0.6 else (
            "Ottawa" if rng.random() < 0.75 else _pick(rng, OFFICES)[1])
        summary = _summary(rng, kind, day, ctx)
        if rng.random() < 1 / 3:  # the portal sends some summaries with leading spaces
            summary = " " * rng.choice((1, 1, 2, 3)) + summary
        out.append(Entry(i, day, where, summary, rng.randint(1_000_000, 9_999_999),
                         "Y" if rng.random() < 0.35 else "N",
                         "Y" if rng.random() < 0.05 else "N"))
    return tuple(out)


@lru_cache(maxsize=8192)
def case(year: int, n: int, last_number: int, seed: int = 0) -> Optional[Case]:
    """The file numbered n of `year`, or None when the number does not exist."""
    if not exists(year, n, last_number, seed):
        return None
    rng = random.Random(f"{seed}:{year}:{n}")
    nature = _pick(rng, NATURES)[:3]
    office = _pick(rng, OFFICES)[:2]
    french = rng.random() < (0.7 if office[1] in ("Montréal", "Québec") else 0.05)
    language = ("F", "French") if french else ("E", "English")
    filed = filing_date(year, n, last_number)
    minister = MPSEP if rng.random() < 0.15 else MCI
    applicants = _applicants(rng)
    style = f"{', '.join(applicants)} v. {minister}"

    self_rep = rng.random() < 0.12
    firm, contact = ("", "") if self_rep else (_firm(rng), _person(rng))
    parties = [Party(a, "Applicant", firm, contact) for a in applicants]
    crown_contact = _person(rng) if rng.random() < 0.8 else ""
    parties.append(Party(minister, "Respondent", rng.choice(CROWN_FIRMS), crown_contact))
    # Some parties come without a role on the portal.
    parties = [p if rng.random() >= 0.07 else Party(p.name, "", p.firm, p.contact)
               for p in parties]

    ctx = {
        "decider": rng.choice(("IRCC - " + rng.choice(VISA_POSTS), "IRB - RPD", "IRB - RAD",
                               "CBSA")),
        "file_no": f"V{rng.randint(100_000_000, 999_999_999)}",
        "uci": f"{rng.randint(10, 99)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "post": rng.choice(VISA_POSTS),
        "applicant": _title(applicants[0]),
        "counsel": contact or "the applicant",
        "office": office[1],
        "judge": _title(rng.choice(SURNAMES)),
    }
    entries = _entries(rng, filed, office[1], ctx)
    return Case(case_number(year, n), style, nature, filed, office, language,
                tuple(parties), entries)


# --- the crawler's view ----------------------------------------------------------------


def _representation(p: Party) -> Optional[str]:
    parts = [s for s in (p.firm, p.contact) if s]
    return ", ".join(parts) or None


def to_record(c: Case) -> dict[str, Any]:
    return {
        "case_number": c.case_number,
        "court": "t",
        "style_of_cause": c.style_of_cause,
        "nature_of_proceeding": c.nature[1],
        "case_type": CASE_TYPE,
        "type_of_action": TYPE_OF_ACTION,
        "filing_date": c.filed.isoformat(),
        "office": c.office[1],
        "language": c.language[1],
        "parties": [{"name": p.name, "role": p.role or None,
                     "representation": _representation(p)} for p in c.parties],
        # Newest first, as the page lists them.
        "docket_entries": [{"id": e.re_no, "date_filed": e.filed.isoformat(),
                            "office": e.office, "summary": e.summary.strip()}
                           for e in reversed(c.entries)],
    }


def record(year: int, n: int, last_number: int, seed: int = 0) -> Optional[dict[str, Any]]:
    """The item the crawler should produce for number n (without scraped_at, source_url,
    file_path), or None when the number does not exist."""
    c = case(year, n, last_number, seed)
    return None if c is None else to_record(c)


def records(year: int, last_number: int, seed: int = 0) -> list[dict[str, Any]]:
    """Every existing file of the year, by number."""
    out = []
    for n in range(1, last_number + 1):
        r = record(year, n, last_number, seed)
        if r is not None:
            out.append(r)
    return out


# --- the JSON endpoints' view ----------------------------------------------------------


def ms_date(d: date) -> str:
    """Microsoft JSON date of midnight UTC: "/Date(1748563200000)/"."""
    ms = int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) * 1000
    return f"/Date({ms})/"


def search_row(c: Case) -> dict[str, Any]:
    """A proceedingQueriesAddInfo row."""
    return {
        "COURT_NO": c.case_number,
        "STYLE_OF_CAUSE": c.style_of_cause,
        "NATURE_CD": c.nature[0],
        "ENGLISH_NATURE_DESC": c.nature[1],
        "FRENCH_NATURE_DESC": c.nature[2],
        "DIVISION": "T",
        "FILE_DT": ms_date(c.filed),
        "OFF_CD": c.office[0],
        "ENGLISH_CITY_NAME": c.office[1],
        "ENGLISH_PROCEEDING_TYPE": CASE_TYPE,
        "ENGLISH_PROCEEDING_CLASS": TYPE_OF_ACTION,
        "LANG_CD": c.language[0],
        "ENGLISH_LANGUAGE_NAME": c.language[1],
        "Party": [p.name for p in c.parties],
    }


def docket_rows(c: Case) -> list[dict[str, Any]]:
    """proceedingQueriesRE rows, newest first."""
    return [{
        "RE_NO": e.re_no,
        "FILING_DATE": ms_date(e.filed),
        "ENGLISH_OFFICE_NAME": e.office,
        "RECORDED_ENTRY": e.summary,
        "DOCNO": e.re_no,
        "FOREMOST_NUMBER": e.foremost,
        "DOC_DT": ms_date(e.filed),
        "CAN_PUBLISH_DOCUMENT": e.can_publish,
        "IS_CONFIDENTIAL": e.confidential,
    } for e in reversed(c.entries)]


def party_rows(c: Case) -> list[dict[str, Any]]:
    """PublicPartiesListInfo rows. PARTY_ROLE is our assumption: the real field list has
    no role; we send "Applicant" / "Respondent", or "" when unknown."""
    return [{"PARTY_NAME": p.name, "PARTY_ROLE": p.role, "SOLCTR_FIRM": p.firm,
             "SOLCTR_CONTACT": p.contact} for p in c.parties]


def related_rows(year: int, n: int, last_number: int, seed: int = 0) -> list[dict[str, Any]]:
    """RelatedListInfo rows: a few files point at an earlier one, most at none."""
    if not exists(year, n, last_number, seed) or n == 1:
        return []
    rng = random.Random(f"{seed}:{year}:{n}:related")
    if rng.random() >= 0.03:
        return []
    other = case(year, n - rng.randint(1, min(n - 1, 50)), last_number, seed)
    if other is None:
        return []
    return [{"RELATED_COURT_NO": other.case_number, "STYLE_OF_CAUSE": other.style_of_cause}]
