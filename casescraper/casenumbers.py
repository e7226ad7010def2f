"""Court file numbers: `<PREFIX>-<n>-<yy>`, e.g. IMM-12334-25 (file 12334 of 2025)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from dataclasses import dataclass
from typing import Optional

CASE_RE = re.compile(r"^([A-Z]{1,5})-([1-9][0-9]{0,6})-([0-9]{2})$")
PREFIX_RE = re.compile(r"^[A-Z]{1,5}$")
HIGHEST_N = 9_999_999  # n has at most 7 digits (CASE_RE)


@dataclass(frozen=True, order=True)
class CaseNumber:
    prefix: str
    year: int  # four digits
    n: int

    def __str__(self) -> str:
        return f"{self.prefix}-{self.n}-{self.year % 100:02d}"


def parse(text: str) -> CaseNumber:
    """Parse `IMM-12345-25`; raises ValueError on anything else."""
    match = CASE_RE.match(text.strip().upper())
    if not match:
        raise ValueError(f"{text!r} is not a court file number like IMM-12345-25")
    prefix, n, yy = match.groups()
    return CaseNumber(prefix, full_year(int(yy)), int(n))


def order(case_number: str) -> tuple:
    """Sort key of case numbers as a person orders them: year, prefix, then n as a number
    (IMM-9-25 before IMM-15-25); numbers of another shape last, as text."""
    try:
        number = parse(case_number)
    except ValueError:
        return (1, case_number)
    return (0, number.year, number.prefix, number.n)


def full_year(yy: int) -> int:
    """Two-digit year to four: 00..(this year + 1) are 20xx, the rest 19xx."""
    pivot = datetime.now(timezone.utc).year + 1 - 2000
    return 2000 + yy if yy <= pivot else 1900 + yy


def year_of(case_number: str) -> Optional[int]:
    """The four-digit year of a case number, or None when it has no `-yy` suffix."""
    match = re.search(r"-([0-9]{2})$", case_number.strip())
    return full_year(int(match.group(1))) if match else None
