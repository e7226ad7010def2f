"""`python -m casescraper report --year 2025`: what a year's runs have covered.

Reads `<output>/ledger/<YYYY>.jsonl` (every line of every run and shard counts) and
checks the files it names. Per number the latest ledger line wins, in file order as
for resuming (`Ledger.latest`). A number is

- saved:        latest status `saved` and its file exists below the output dir
- missing file: latest status `saved` but the file is gone
- no results:   latest status `no_results`
- failed:       latest status failed_write, parse_error, driver_error or blocked
- dry run:      latest status `dry_run` (dry runs normally write no ledger lines)

Per prefix (IMM, T, ...): first/last are the lowest/highest n with a saved file; gaps
are the numbers in 1..last without a saved file (no results, failed, missing file or
never tried); never tried are those in 1..last with no ledger line at all. Case
numbers not of the form `PREFIX-n-yy` are counted under the prefix "other".
Case files of every schema version count alike: v1 files (written before
`schema_version` existed) are read as they are, never rewritten.

`--html PATH` also writes one self-contained page (see `report_html`).

Every value read from the ledger or a case file is shown through `errors.printable`:
control characters escaped (a case number holding an ESC sequence must not drive the
terminal) and long values cut.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from casescraper import casenumbers
from casescraper.errors import printable
from casescraper.fileops import open_regular
from casescraper.items import FAILED, SCHEMA_VERSION
from casescraper.ledger import Ledger, trusted_path

OTHER = "other"
CATEGORIES = ("saved", "no_results", "failed", "missing_file", "dry_run")
UNKNOWN = "unknown"


class ReportError(Exception):
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
        return printable(n, 80) if self.prefix == OTHER else f"{self.prefix}-{n}-{self.yy}"


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


# --- building ----------------------------------------------------------------------

def _key(case_number: str) -> tuple[str, Any, str]:
    """(prefix, n, yy) of a case number; (OTHER, the text, "") for any other shape."""
    try:
        parsed = casenumbers.parse(case_number)
    except (ValueError, AttributeError):
        return OTHER, str(case_number), ""
    return parsed.prefix, parsed.n, f"{parsed.year % 100:02d}"


def _file_exists(output_dir: str, file_path: Any) -> Optional[str]:
    """The absolute path when the ledger's file_path names an existing regular file below
    the output dir (after symlinks), else None."""
    if not trusted_path(file_path):
        return None
    path = os.path.join(output_dir, file_path)
    root = os.path.realpath(output_dir)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        return None
    return path if os.path.isfile(path) else None


def _read_case(path: str) -> Optional[dict[str, Any]]:
    try:
        fd = open_regular(path)
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _schema_version(data: dict[str, Any]) -> str:
    version = data.get("schema_version", 1)  # v1 files predate the field
    return f"v{version}" if type(version) is int else "v?"


def _month(filing_date: Any) -> str:
    if isinstance(filing_date, str) and len(filing_date) >= 7 and filing_date[4] == "-":
        return filing_date[:7]
    return UNKNOWN


def build(output_dir: str, year: int) -> Coverage:
    """The coverage of one year; ReportError when there is no readable ledger for it."""
    output_dir = os.path.abspath(output_dir)
    if not os.path.isdir(output_dir):
        raise ReportError(f"output directory {output_dir} does not exist (use --output-dir DIR)")
    ledger = Ledger(output_dir)
    path = ledger.path(year)
    if not os.path.isfile(path):
        found = ledger.years() if os.path.isdir(ledger.dir) and os.access(ledger.dir, os.R_OK) else []
        hint = f"; ledgers exist for {', '.join(map(str, found))}" if found else ""
        raise ReportError(f"no ledger for {year}: {path} does not exist{hint}")
    cov = Coverage(year, output_dir, path)
    try:
        for entry in ledger.records(year):
            cov.lines += 1
            if entry.get("run_id"):
                cov.runs.add(str(entry["run_id"]))
            prefix, n, yy = _key(entry["case_number"])
            group = cov.prefixes.setdefault(prefix, PrefixCoverage(prefix, yy=yy or "00"))
            group.latest[n] = entry  # file order: the last line wins
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    for group in cov.prefixes.values():
        _classify(cov, group)
    cov.prefixes = dict(sorted(cov.prefixes.items(), key=lambda kv: (kv[0] == OTHER, kv[0])))
    cov.files.sort()
    return cov


def _classify(cov: Coverage, group: PrefixCoverage) -> None:
    for n, entry in group.latest.items():
        status = entry.get("status")
        if status == "saved":
            found = _file_exists(cov.output_dir, entry.get("file_path"))
            if found is None:
                group.missing_file[n] = entry.get("file_path")
                continue
            group.saved.append(n)
            data = _read_case(found)
            if data is None:
                cov.unreadable.append(entry.get("file_path"))
                continue
            cov.schemas[_schema_version(data)] += 1
            office = data.get("office")  # the same field in v1 and v2 files
            office = office.strip() if isinstance(office, str) and office.strip() else UNKNOWN
            cov.files.append((str(entry["case_number"]), _month(data.get("filing_date")), office))
        elif status == "no_results":
            group.no_results.append(n)
        elif status in FAILED:
            group.failed[n] = status
        elif status == "dry_run":
            group.dry_run.append(n)
    if group.prefix == OTHER or not group.saved:
        return
    group.saved.sort()
    group.first, group.last = group.saved[0], group.saved[-1]
    saved = set(group.saved)
    tried = set(group.latest)
    span = range(1, group.last + 1)
    group.gaps = to_ranges(n for n in span if n not in saved)
    group.never_tried = to_ranges(n for n in span if n not in tried)


# --- text --------------------------------------------------------------------------

COLUMNS = ("prefix", "first", "last", "saved", "no results", "failed", "missing file",
           "never tried", "gaps")


def table_rows(cov: Coverage) -> list[list[str]]:
    """The coverage table (header first): one row per prefix, `all` when several."""
    rows = [list(COLUMNS)]
    for p in cov.prefixes.values():
        rows.append([p.prefix, p.case(p.first), p.case(p.last), str(p.count("saved")),
                     str(p.count("no_results")), str(p.count("failed")),
                     str(p.count("missing_file")), str(range_size(p.never_tried)),
                     str(range_size(p.gaps))])
    if len(cov.prefixes) > 1:
        rows.append(["all", "", "", str(cov.total("saved")), str(cov.total("no_results")),
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


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summary(cov: Coverage) -> str:
    runs = len(cov.runs)
    return (f"year {cov.year}, ledger {cov.ledger_path}: {cov.lines} line(s) from "
            f"{runs} run(s), {cov.numbers} number(s)")


def render_text(cov: Coverage) -> str:
    parts = [summary(cov), "", format_table(table_rows(cov)), ""]
    parts += [f"{label}: {text}" for label, text in details(cov)]
    return "\n".join(parts).rstrip() + "\n"


def month_office_counts(cov: Coverage) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(months in order, unknown last; offices by count; (month, office) -> files)."""
    counts = Counter((month, office) for _case, month, office in cov.files)
    months = sorted({m for m, _ in counts}, key=lambda m: (m == UNKNOWN, m))
    by_office = Counter()
    for (_m, office), k in counts.items():
        by_office[office] += k
    offices = sorted(by_office, key=lambda o: (o == UNKNOWN, -by_office[o], o))
    return months, offices, dict(counts)


# --- command -----------------------------------------------------------------------

def run(year: int, output_dir: str, html_path: Optional[str], out: Any) -> None:
    """Print the table to `out` and write the HTML page; ReportError on any failure."""
    cov = build(output_dir, year)
    out.write(render_text(cov))
    if html_path:
        from casescraper.report_html import render_html

        page = render_html(cov)
        try:
            with open(html_path, "w", encoding="utf-8") as f:
                f.write(page)
        except OSError as exc:
            raise ReportError(f"cannot write {html_path}: {exc.strerror or exc}") from None
        out.write(f"HTML report written to {html_path}\n")
