"""Court file numbers: `<PREFIX>-<n>-<yy>`, e.g. IMM-12334-25 (file 12334 of 2025).

The one place that writes and reads them: `format`/`yy` write, `parse` reads (strict),
`year_of` reads only the `-yy` suffix (any shape), `order` sorts them.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from dataclasses import dataclass
from typing import Optional

from casescraper.errors import ConfigError, shown

CASE_RE = re.compile(r"^([A-Z]{1,5})-([1-9][0-9]{0,6})-([0-9]{2})$")
PREFIX_RE = re.compile(r"^[A-Z]{1,5}$")
HIGHEST_N = 9_999_999  # n has at most 7 digits (CASE_RE)
FIRST_YEAR = 1971  # the earliest filing year casescraper asks for
_YEARS_PART = re.compile(r"\s*([0-9]{4})(?:\s*-\s*([0-9]{4}))?\s*")


@dataclass(frozen=True, order=True)
class CaseNumber:
    prefix: str
    year: int  # four digits
    n: int

    def __str__(self) -> str:
        return format(self.prefix, self.n, self.year)


def yy(year: int) -> str:
    """The two digits a case number shows for `year`: 2025 -> "25", 2005 -> "05" (a
    two-digit year gives the same: 25 -> "25")."""
    return f"{year % 100:02d}"


def format(prefix: str, n: int, year: int) -> str:  # noqa: A001 (casenumbers.format reads well)
    """`format("IMM", 12, 2025)` -> "IMM-12-25"; `parse` reads it back."""
    return f"{prefix}-{n}-{yy(year)}"


def parse(text: str) -> CaseNumber:
    """Parse `IMM-12345-25`; raises ValueError on anything else."""
    match = CASE_RE.match(text.strip().upper())
    if not match:
        raise ValueError(f"{text!r} is not a court file number like IMM-12345-25")
    prefix, n, two = match.groups()
    return CaseNumber(prefix, full_year(int(two)), int(n))


def order(case_number: str) -> tuple:
    """Sort key of case numbers as a person orders them: year, prefix, then n as a number
    (IMM-9-25 before IMM-15-25); numbers of another shape last, as text."""
    try:
        number = parse(case_number)
    except ValueError:
        return (1, case_number)
    return (0, number.year, number.prefix, number.n)


def full_year(two: int) -> int:
    """Two-digit year to four: 00..(this year + 1) are 20xx, the rest 19xx."""
    pivot = datetime.now(timezone.utc).year + 1 - 2000
    return 2000 + two if two <= pivot else 1900 + two


def year_of(case_number: str) -> Optional[int]:
    """The four-digit year of a case number, or None when it has no `-yy` suffix."""
    match = re.search(r"-([0-9]{2})$", case_number.strip())
    return full_year(int(match.group(1))) if match else None


def last_year() -> int:
    """The latest filing year casescraper asks for: next year (files are numbered ahead)."""
    return datetime.now(timezone.utc).year + 1


def one_year(text: str) -> Optional[int]:
    """`2025` -> 2025 when it is four ASCII digits from FIRST_YEAR to last_year(), else None."""
    text = text.strip()
    if len(text) != 4 or not (text.isascii() and text.isdigit()):
        return None
    return int(text) if FIRST_YEAR <= int(text) <= last_year() else None


class NotACaseNumber(ValueError):
    """A watch list's line that is not a case number: its number and text."""

    def __init__(self, line_number: int, text: str):
        super().__init__(f"line {line_number}: {text!r} is not a court file number")
        self.line_number, self.text = line_number, text


def watch_list(text: str) -> list[str]:
    """The case numbers of a watch list (one per line, blank lines and `#` comments
    skipped), normalized, in order, each once; NotACaseNumber for the first bad line."""
    numbers = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            numbers.append(str(parse(line)))
        except ValueError:
            raise NotACaseNumber(i, line) from None
    return list(dict.fromkeys(numbers))


def parse_years(text: str, option: str = "--years") -> list[int]:
    """`2019-2025`, `2019,2021` or `2025` (parts may combine) -> sorted distinct years,
    FIRST_YEAR to next year; ConfigError naming `option` otherwise (`dataset`, `report`)."""
    last = last_year()
    years: set[int] = set()
    for part in text.split(","):
        m = _YEARS_PART.fullmatch(part)
        first, end = (int(m[1]), int(m[2] or m[1])) if m else (0, -1)
        if not m or first > end or first < FIRST_YEAR or end > last:
            raise ConfigError(f"{option} {shown(text, 40)} is invalid: use YYYY, YYYY-YYYY or a "
                              f"comma-separated list of them, years {FIRST_YEAR} to {last}")
        years.update(range(first, end + 1))
    return sorted(years)
