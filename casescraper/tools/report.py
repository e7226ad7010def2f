"""`python -m casescraper report --years 2019-2025`: what the runs of those years covered.

Reads `<output>/ledger/<YYYY>.jsonl` (every line of every run and shard counts) and
checks the files it names. Per number the latest ledger line wins, in file order as
for resuming (`Ledger.latest`). A number is, as `Ledger.standing` reads that line,

- saved:        latest status `saved`, `changed` or `unchanged` (found: its file_path
                names the case's latest file) and that file exists below the output dir
- missing file: found, but the file is gone
- no results:   latest status `no_results`
- failed:       latest status failed_write, parse_error, driver_error, blocked or unverified
- dry run:      latest status `dry_run` (dry runs normally write no ledger lines)

Per prefix (IMM, T, ...): first/last are the lowest/highest n with a saved file; gaps
are the numbers in 1..last without a saved file (no results, failed, missing file or
never tried); never tried are those in 1..last with no ledger line at all. Case
numbers not of the form `PREFIX-n-yy` are counted under the prefix "other".
Case files of every schema version count alike: v1 files (written before
`schema_version` existed) are read as they are, never rewritten.

Several years (`--years 2019-2025`, `2019,2021`): each year's table and details, then
one table across the years with each year's coverage (the share of 1..last whose
answer is known: a saved file or no results) and a total; a year without a ledger is
named and skipped. Then, for one year or several, the most recent `changed` lines
(`report_changes`, `--changes N`). `--html PATH` also writes one self-contained page
(`report_html`). The rows both print are made in `report_model`.

Every value read from the ledger or a case file is shown through `errors.printable`:
control characters escaped (a case number holding an ESC sequence must not drive the
terminal) and long values cut.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional

from casescraper.frontier import casenumbers

from casescraper.tools import finding, report_changes
from casescraper.errors import CasescraperError, ConfigError, printable, shown
from casescraper.store.ledger import Ledger, Site, clashing
from casescraper.tools.report_html import render_html
from casescraper.tools.report_model import (OTHER, UNKNOWN, Coverage, PrefixCoverage, Report,
                                      ReportError, details, summary, table_rows, to_ranges,
                                      years_label, years_rows)
from casescraper.store.fileops import replace_durably, sweep_dir
from casescraper.store.safe_read import Unreadable, read_case_file
from casescraper.tools import exits
from casescraper.tools.year_end import year_end


# --- building ----------------------------------------------------------------------

def case_key(case_number: str) -> tuple[str, Any, str]:
    """(prefix, n, yy) of a case number; (OTHER, the text, "") for any other shape: how
    report and the data card group the numbers of a ledger."""
    try:
        parsed = casenumbers.parse(case_number)
    except (ValueError, AttributeError):
        return OTHER, str(case_number), ""
    return parsed.prefix, parsed.n, casenumbers.yy(parsed.year)


def _schema_version(data: dict[str, Any]) -> str:
    version = data.get("schema_version", 1)  # v1 files predate the field
    return f"v{version}" if type(version) is int else "v?"


def _month(filing_date: Any) -> str:
    if isinstance(filing_date, str) and len(filing_date) >= 7 and filing_date[4] == "-":
        return filing_date[:7]
    return UNKNOWN


def build(output_dir: str, year: int) -> Coverage:
    """The coverage of one year; ReportError when there is no readable ledger for it."""
    given, output_dir = output_dir, _output_dir(output_dir)
    ledger = Ledger(output_dir)
    path = ledger.path(year)
    if not os.path.isfile(path):
        raise ReportError(f"no ledger for {year}: {path} does not exist{_hint(ledger)}"
                          f"{finding.hint(given, 'ledger', 'report --year {year}', [year])}")
    cov = Coverage(year, output_dir, path)
    try:
        for entry in ledger.records(year):
            cov.lines += 1
            if entry.get("run_id"):
                cov.runs.add(str(entry["run_id"]))
            if entry["status"] == report_changes.CHANGED:
                cov.changes.append(entry)
            prefix, n, yy = case_key(entry["case_number"])
            group = cov.prefixes.setdefault(prefix, PrefixCoverage(prefix, yy=yy or "00"))
            group.latest[n] = entry  # file order: the last line wins
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    for group in cov.prefixes.values():
        _classify(ledger, cov, group)
    cov.prefixes = dict(sorted(cov.prefixes.items(), key=lambda kv: (kv[0] == OTHER, kv[0])))
    cov.end = year_end(output_dir, year)
    cov.files.sort()
    return cov


def _output_dir(output_dir: str) -> str:
    output_dir = os.path.abspath(output_dir)
    if not os.path.isdir(output_dir):
        raise ReportError(f"output directory {output_dir} does not exist (use --output-dir DIR)")
    return output_dir


def _hint(ledger: Ledger) -> str:
    found = ledger.years() if os.path.isdir(ledger.dir) and os.access(ledger.dir, os.R_OK) else []
    return f"; ledgers exist for {', '.join(map(str, found))}" if found else ""


def _classify(ledger: Ledger, cov: Coverage, group: PrefixCoverage) -> None:
    for n, entry in group.latest.items():
        standing, found = ledger.standing(entry)  # the ledger says what a line means
        if standing == "found":
            group.saved.append(n)
            try:
                data = read_case_file(found)
            except Unreadable as exc:
                print(f"casescraper: warning: {printable(entry.get('file_path'), 200)}: {exc}; "
                      "not charted", file=sys.stderr)
                cov.unreadable.append(entry.get("file_path"))
                continue
            cov.schemas[_schema_version(data)] += 1
            office = data.get("office")  # the same field in v1 and v2 files
            office = office.strip() if isinstance(office, str) and office.strip() else UNKNOWN
            cov.files.append((str(entry["case_number"]), _month(data.get("filing_date")), office))
        elif standing == "missing_file":
            group.missing_file[n] = entry.get("file_path")
        elif standing in ("failed", "incomplete"):  # both are asked again
            group.failed[n] = entry["status"]
        elif standing == "no_results":
            group.no_results.append(n)
        else:
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


def build_years(output_dir: str, years: list[int], changes_limit: int) -> Report:
    """The report of those years. One year must have a ledger; of several, those without
    one are named and skipped, and ReportError only when none has one. ReportError too
    when the ledgers hold lines of sites that cannot be merged."""
    given, output_dir = output_dir, _output_dir(output_dir)
    ledger = Ledger(output_dir)
    present = [y for y in years if os.path.isfile(ledger.path(y))]
    if len(years) > 1 and not present:
        raise ReportError(f"no ledger for {years_label(years)} in {ledger.dir}{_hint(ledger)}"
                          f"{finding.hint(given, 'ledger', 'report --years {years}', years)}")
    _refuse_mixed_sites(ledger, present)
    covs = [build(given, year) for year in (present if len(years) > 1 else years)]
    return Report(output_dir, covs, [y for y in years if y not in present], changes_limit)


def _refuse_mixed_sites(ledger: Ledger, years: list[int]) -> None:
    first_year: dict[Site, int] = {}  # each site -> the first year holding its lines
    for year in years:
        sites = ledger.sites(year)
        mixed = clashing(sites)
        if mixed:
            a, b = mixed
            raise ReportError(
                f"{ledger.path(year)} mixes sites: {sites[a]} line(s) of {a} and {sites[b]} "
                f"of {b}; a report would merge them: keep each site in its own output dir")
        for site in sites:
            first_year.setdefault(site, year)
    mixed = clashing(first_year)
    if mixed:
        a, b = mixed
        raise ReportError(
            f"the ledgers mix sites: {ledger.path(first_year[a])} holds lines of {a}, "
            f"{ledger.path(first_year[b])} of {b}; a report would merge them: keep each site "
            "in its own output dir")


# --- text --------------------------------------------------------------------------

def format_table(rows: list[list[str]], left: int = 3) -> str:
    """Columns padded to their widest cell; the first `left` aligned left, the rest right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _year_text(cov: Coverage) -> list[str]:
    parts = [summary(cov), "", format_table(table_rows(cov)), ""]
    return parts + [f"{label}: {text}" for label, text in details(cov)]


def render_text(report: Report) -> str:
    """One year as before; several: each year, the table across years, then changes."""
    if not report.several:
        parts = _year_text(report.covs[0])
    else:
        parts = [report.summary()]
        if report.missing:
            parts.append(f"no ledger (skipped): {years_label(report.missing)}")
        for cov in report.covs:
            parts += ["", *_year_text(cov)]
        parts += ["", "all years", format_table(years_rows(report.covs))]
    changes = report.changes
    if changes and report.changes_limit:
        parts += ["", "recent changes: " + report_changes.heading(len(changes), report.changes_limit),
                  format_table(report_changes.rows(changes, report.changes_limit), left=6)]
    return "\n".join(parts).rstrip() + "\n"


# --- command -----------------------------------------------------------------------

def run(years: list[int], output_dir: str, html_path: Optional[str], out: Any,
        changes_limit: int = report_changes.DEFAULT_LIMIT) -> int:
    """Print the report to `out` and write the HTML page; ReportError on any failure.
    Returns how many saved files could not be read (each named in a warning)."""
    report = build_years(output_dir, years, changes_limit)
    out.write(render_text(report))
    if html_path:
        page = render_html(report).encode("utf-8", "backslashreplace")
        path = os.path.abspath(html_path)
        try:
            # Whole or not at all: a locked temp beside it, renamed over the old page.
            directory = os.path.dirname(path)
            sweep_dir(directory)
            replace_durably(directory, os.path.basename(path), page, path)
        except OSError as exc:
            raise Unwritable(f"cannot write {html_path}: {exc.strerror or exc}") from None
        out.write(f"HTML report written to {html_path}\n")
    return sum(len(cov.unreadable) for cov in report.covs)


class Unwritable(ReportError):
    """The HTML page could not be written (exit status exits.UNWRITABLE)."""


class UsageError(ReportError):
    """A bad command line: exit status 2, as argparse's own."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + line
        raise UsageError(f"{message} (see python -m casescraper report --help)")


def _changes(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise UsageError(f"--changes {shown(text, 40)} is invalid: use a whole number of "
                         "changes to show, 0 for none")
    return int(text)


def _arguments(argv: list[str]) -> tuple[argparse.Namespace, list[int], int]:
    """(arguments, years, changes to show); UsageError or ConfigError when they are bad."""
    ap = _Parser(prog="python -m casescraper report",
                 description="Coverage of one year or several from the ledger and the case files: "
                             "saved, no results, failed, gaps, and the recent changes.")
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--years", help="2019-2025, 2019,2021 or 2025")
    which.add_argument("--year", help="one year, e.g. 2025 (as --years 2025)")
    ap.add_argument("--output-dir",
                    help="the crawl's output directory (default: CASESCRAPER_OUTPUT_DIR as a crawl "
                         "here sees it: config.toml or $CASESCRAPER_CONFIG, the environment, else "
                         "output; a demo crawl's default is output/demo)")
    ap.add_argument("--html", metavar="PATH",
                    help="also write a self-contained HTML page with the tables and charts")
    ap.add_argument("--changes", metavar="N", default=str(report_changes.DEFAULT_LIMIT),
                    help=f"how many recent changes to show, newest first (default: "
                         f"{report_changes.DEFAULT_LIMIT}; 0: none)")
    args = ap.parse_args(argv)
    option, text = ("--years", args.years) if args.years is not None else ("--year", args.year)
    years = casenumbers.parse_years(text, option)
    if option == "--year" and len(years) > 1:
        raise UsageError(f"--year {shown(text, 40)} names several years: use --years")
    return args, years, _changes(args.changes)


def main(argv: Optional[list[str]] = None) -> int:
    """Exit status (`exits`) 0 done, 1 no report (no ledger, mixed sites, a bad setting),
    2 a bad argument, 3 done but saved files could not be read (each named), 4 the HTML
    page could not be written; each error is one line."""
    try:
        args, years, limit = _arguments(sys.argv[1:] if argv is None else list(argv))
    except (UsageError, ConfigError) as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 2
    output_dir = args.output_dir
    try:
        from casescraper.config import configured  # pulls in Scrapy: only when needed

        # Like a crawl: config file, then environment; --output-dir wins over both.
        output_dir = output_dir or configured("CASESCRAPER_OUTPUT_DIR")
        unreadable = run(years, output_dir, args.html, sys.stdout, limit)
    except Unwritable as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return exits.UNWRITABLE
    except CasescraperError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # the reader of stdout went away (`| head`): python -m casescraper ends quietly
    except OSError as exc:
        print(f"casescraper: error: {exc.filename or output_dir}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return exits.SKIPPED if unreadable else exits.OK


if __name__ == "__main__":
    sys.exit(main())
