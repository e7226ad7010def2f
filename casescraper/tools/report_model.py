"""What `report` shows, apart from how it is read or drawn: a year's coverage
(`Coverage`, one `PrefixCoverage` per prefix), number ranges, and the rows and lines that
the text report (`report`) and the HTML page (`report_html`) both print.

It imports neither of them: `report` reads the ledger and the files into these, and
either renderer takes them as they are.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from casescraper.frontier import casenumbers
from casescraper.errors import CasescraperError, printable
from casescraper.items import SCHEMA_VERSION
from casescraper.tools.year_end import YearEnd, not_searched

OTHER = "other"
CATEGORIES = ("saved", "no_results", "failed", "missing_file", "dry_run")
UNKNOWN = "unknown"


class ReportError(CasescraperError):
    """A report cannot be made; the message is shown as `casescraper: error: ...`."""


@dataclass
class PrefixCoverage:
    prefix: str
    yy: str = "00"  # two-digit year, for showing case numbers
    # n (or the case number itself for OTHER) -> latest ledger line
    latest: dict[Any, dict[str, Any]] = field(default_factory=dict)
    saved: list[Any] = field(default_factory=list)
    no_results: list[Any] = field(default_factory=list)
    failed: dict[Any, str] = field(default_factory=dict)  # number -> status
    missing_file: dict[Any, Optional[str]] = field(default_factory=dict)  # number -> file_path
    dry_run: list[Any] = field(default_factory=list)
    first: Optional[int] = None
    last: Optional[int] = None
    gaps: list[tuple[int, int]] = field(default_factory=list)
    never_tried: list[tuple[int, int]] = field(default_factory=list)

    def count(self, category: str) -> int:
        return len(getattr(self, category))

    def case(self, n: Optional[int]) -> str:
        if n is None:
            return "-"
        if self.prefix == OTHER:
            return printable(n, 80)
        return casenumbers.format(self.prefix, n, int(self.yy))  # a two-digit year shows as itself

    def no_results_below(self) -> int:
        """`no_results` answers in 1..last: numbers without a file below the year's end
        (every one for numbers of another shape: they have no order to be above in)."""
        if self.prefix == OTHER:
            return len(self.no_results)
        return sum(1 for n in self.no_results if self.last is not None and n <= self.last)

    def probes_above(self) -> int:
        """`no_results` answers above the last file: the end search's probes, not gaps."""
        return len(self.no_results) - self.no_results_below()

    def asked_up_to(self) -> Optional[int]:
        """The highest number with a ledger line."""
        numbers = [n for n in self.latest if isinstance(n, int)]
        return max(numbers) if numbers else None

    def coverage(self, end: Optional[YearEnd]) -> str:
        """The share of 1..last whose answer is known, when the year's end was found;
        else what was covered: `end not searched: coverage of 1..50 only`."""
        if self.prefix == OTHER:
            return "-"
        if end is None or end.last_number(self.prefix) is None:
            return not_searched(1, self.asked_up_to())
        return percent(self.answered(), self.last or 0)

    def answered(self) -> int:
        """Numbers in 1..last with a saved file or a `no_results` answer: the portal's
        answer is known. Probes above the last file do not count."""
        if self.last is None:
            return 0
        return len(self.saved) + sum(1 for n in self.no_results if n <= self.last)


@dataclass
class Coverage:
    year: int
    output_dir: str
    ledger_path: str
    lines: int = 0
    runs: set[str] = field(default_factory=set)
    prefixes: dict[str, PrefixCoverage] = field(default_factory=dict)
    # one entry per saved number whose file exists: (case_number, filing month, office)
    files: list[tuple[str, str, str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # saved files that are not JSON objects
    # schema version -> readable saved files; v1 files (no schema_version) are read as they are
    schemas: Counter = field(default_factory=Counter)
    # the ledger's `changed` lines, in file order (report_changes reads them)
    changes: list[dict[str, Any]] = field(default_factory=list)
    end: Optional[YearEnd] = None  # what the run manifests know of the year's end

    def total(self, category: str) -> int:
        return sum(p.count(category) for p in self.prefixes.values())

    def total_ranges(self, what: str) -> int:
        return sum(range_size(getattr(p, what)) for p in self.prefixes.values())

    @property
    def numbers(self) -> int:
        return sum(len(p.latest) for p in self.prefixes.values())


# --- ranges ------------------------------------------------------------------------

def to_ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, merged inclusive ranges: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def format_ranges(ranges: list[tuple[int, int]]) -> str:
    """`17, 40-42`; `none` when empty."""
    if not ranges:
        return "none"
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def range_size(ranges: list[tuple[int, int]]) -> int:
    return sum(b - a + 1 for a, b in ranges)


def years_label(years: Iterable[int]) -> str:
    """`2019-2025`, `2019, 2021`."""
    return format_ranges(to_ranges(years))


# --- one year's table and details ----------------------------------------------------

COLUMNS = ("prefix", "first", "last", "saved", "no results", "probes above", "failed",
           "missing file", "never tried", "gaps")


def table_rows(cov: Coverage) -> list[list[str]]:
    """The coverage table (header first): one row per prefix, `all` when several."""
    rows = [list(COLUMNS)]
    for p in cov.prefixes.values():
        rows.append([p.prefix, p.case(p.first), p.case(p.last), str(p.count("saved")),
                     str(p.no_results_below()), str(p.probes_above()), str(p.count("failed")),
                     str(p.count("missing_file")), str(range_size(p.never_tried)),
                     str(range_size(p.gaps))])
    if len(cov.prefixes) > 1:
        rows.append(["all", "", "", str(cov.total("saved")),
                     str(sum(p.no_results_below() for p in cov.prefixes.values())),
                     str(sum(p.probes_above() for p in cov.prefixes.values())),
                     str(cov.total("failed")), str(cov.total("missing_file")),
                     str(cov.total_ranges("never_tried")), str(cov.total_ranges("gaps"))])
    return rows


def details(cov: Coverage) -> list[tuple[str, str]]:
    """(label, text) lines under the table: failures, missing files, gaps, never tried."""
    out: list[tuple[str, str]] = []
    for p in cov.prefixes.values():
        if p.failed:
            by_status: dict[str, list[Any]] = {}
            for n, status in p.failed.items():
                by_status.setdefault(status, []).append(n)
            out.append((f"{p.prefix} failed", "; ".join(
                f"{s} {len(ns)}: {_numbers(p, ns)}" for s, ns in sorted(by_status.items()))))
        if p.missing_file:
            out.append((f"{p.prefix} missing files", ", ".join(
                f"{p.case(n)} ({printable(path, 200) if path else 'no file_path'})"
                for n, path in sorted(p.missing_file.items()))))
        if p.dry_run:
            out.append((f"{p.prefix} dry run", _numbers(p, p.dry_run)))
        if p.prefix != OTHER:
            end = cov.end.describe(p.prefix) if cov.end is not None else "not known"
            covered = p.coverage(cov.end)
            out.append((f"{p.prefix} end", end + ("" if covered.startswith("end not") else
                                                  f"; coverage {covered}")))
            if covered.startswith("end not"):
                out.append((f"{p.prefix} coverage", covered))
            out.append((f"{p.prefix} gaps", format_ranges(p.gaps)))
            out.append((f"{p.prefix} never tried", format_ranges(p.never_tried)))
    if set(cov.schemas) - {f"v{SCHEMA_VERSION}"}:  # older (or unknown) files are still counted
        out.append(("case files by schema", ", ".join(f"{v} {k}" for v, k in sorted(cov.schemas.items()))))
    if cov.unreadable:
        out.append(("unreadable files", ", ".join(sorted(printable(p, 200) for p in cov.unreadable))))
    return out


def _numbers(p: PrefixCoverage, numbers: list[Any]) -> str:
    if p.prefix == OTHER:
        return ", ".join(sorted(printable(n, 80) for n in numbers))
    return format_ranges(to_ranges(numbers))


def summary(cov: Coverage) -> str:
    runs = len(cov.runs)
    return (f"year {cov.year}, ledger {cov.ledger_path}: {cov.lines} line(s) from "
            f"{runs} run(s), {cov.numbers} number(s)")


def month_office_counts(cov: Coverage) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(months in order, unknown last; offices by count; (month, office) -> files)."""
    counts = Counter((month, office) for _case, month, office in cov.files)
    months = sorted({m for m, _ in counts}, key=lambda m: (m == UNKNOWN, m))
    by_office: Counter = Counter()
    for (_m, office), k in counts.items():
        by_office[office] += k
    offices = sorted(by_office, key=lambda o: (o == UNKNOWN, -by_office[o], o))
    return months, offices, dict(counts)


# --- several years -----------------------------------------------------------------

YEAR_COLUMNS = ("year", "first", "last", "saved", "no results", "probes above", "failed",
                "missing file", "never tried", "coverage")
_SUMMED = ("saved", "no_results", "probes", "failed", "missing_file")


def percent(part: int, whole: int) -> str:
    """Rounded down, so that 100.0% means every number: 9,999 of 10,000 is 99.9%."""
    if not whole:
        return "-"
    return f"{math.floor(1000 * part / whole) / 10:.1f}%"


def years_rows(covs: list[Coverage]) -> list[list[str]]:
    """The table across years (header first): a row per year (per year and prefix when a
    year has several), then `all`. Coverage is the share of 1..last whose answer is
    known (a saved file or no results) where the year's end was found; a year whose end
    was never searched says what it covered instead, and the total leaves it out."""
    rows = [list(YEAR_COLUMNS)]
    totals: Counter = Counter()
    for cov in covs:
        groups = list(cov.prefixes.values()) or [PrefixCoverage("-")]
        for p in groups:
            label = str(cov.year) if len(groups) == 1 else f"{cov.year} {p.prefix}"
            counts = [p.count("saved"), p.no_results_below(), p.probes_above(),
                      p.count("failed"), p.count("missing_file")]
            never, covered = range_size(p.never_tried), p.coverage(cov.end)
            rows.append([label, p.case(p.first), p.case(p.last), *map(str, counts), str(never),
                         covered])
            totals.update({**dict(zip(_SUMMED, counts)), "never": never})
            if covered.endswith("%"):
                totals.update({"span": p.last or 0, "answered": p.answered()})
            elif p.prefix != OTHER:
                totals["unsearched"] += 1
    total = percent(totals["answered"], totals["span"])
    if totals["unsearched"]:
        total += f" ({totals['unsearched']} without a searched end left out)"
    rows.append(["all", "", "", *(str(totals[c]) for c in _SUMMED), str(totals["never"]), total])
    return rows


@dataclass
class Report:
    """What one `report` command shows: the years asked for that have a ledger, in order."""

    output_dir: str
    covs: list[Coverage]
    missing: list[int] = field(default_factory=list)  # years asked for without a ledger
    changes_limit: int = 20

    @property
    def years(self) -> list[int]:
        return [cov.year for cov in self.covs]

    @property
    def several(self) -> bool:
        return len(self.covs) + len(self.missing) > 1

    @property
    def changes(self) -> list[dict[str, Any]]:
        """Every `changed` line of the years, year by year in file order."""
        return [line for cov in self.covs for line in cov.changes]

    def summary(self) -> str:
        lines = sum(cov.lines for cov in self.covs)
        runs = len(set().union(*(cov.runs for cov in self.covs)))
        return (f"years {years_label(self.years)}, output {self.output_dir}: {len(self.covs)} "
                f"ledger(s), {lines} line(s) from {runs} run(s)")
