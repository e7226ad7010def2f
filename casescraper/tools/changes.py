"""`python -m casescraper changes`: what changed in cases asked again, newest first.

    python -m casescraper changes [--since YYYY-MM-DD] [--year Y ...] [--cases-file F]
        [--output-dir DIR] [--json] [--exit-code] [--atom FILE]

Reads the ledger's `changed` lines (see `history`: a case asked again whose data differs
from its latest file) of the years asked (default: every year with a ledger, or the
years of --cases-file's numbers) and prints one row per change: when (UTC), the case,
what changed (docket entries added, removed, changed by id; other fields by name), the
new file and the previous one, newest first in the order the ledger recorded them (a
line's time is at least that of every line before it, so a clock that went back cannot
hide a change). `--since` keeps changes recorded on or after that UTC day; `--cases-file`
(one case number per line, `#` comments, as the spider's) keeps those cases. Under each
row, every docket entry added, changed or removed with its date and summary, read from
the case files (`changes_feed`). `--json` prints a JSON array instead. `--atom FILE` also
writes the rows as an Atom feed (one per watch list: give each `--cases-file` its own
FILE) that a feed reader or a mail bridge follows. The output dir defaults to what a
crawl started here would use, as `report`'s does.

Exit status: 0 listed (also when nothing changed); 1 a ledger could not be read; 2 a bad
argument, a missing output dir or no ledger for a year asked. With `--exit-code` (as
`git diff --exit-code`): 0 nothing changed, 1 something changed, 2 any error. Every value
read from the ledger or a case file is shown through `errors.printable`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Optional

from casescraper.frontier import casenumbers

from casescraper.record import history
from casescraper.errors import CasescraperError, printable, shown
from casescraper.store.ledger import Ledger
from casescraper.store.ledger_lines import line_time
from casescraper.tools import changes_feed

COLUMNS = ("when (UTC)", "case", "what changed", "file", "previous file")


class ChangesError(CasescraperError):
    """A bad argument or a missing input: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, instead of usage + line
        raise ChangesError(f"{message} (see python -m casescraper changes --help)")


def _year(text: str) -> int:
    year = casenumbers.one_year(text)
    if year is None:
        raise argparse.ArgumentTypeError(f"{shown(text, 40)} is invalid: use YYYY, "
                                         f"{casenumbers.FIRST_YEAR} to {casenumbers.last_year()}")
    return year


def _day(text: str) -> date:
    day = None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:  # a day that does not exist, e.g. 2025-02-30
            day = None
    if day is None:
        raise argparse.ArgumentTypeError(f"{shown(text, 40)} is invalid: use a day YYYY-MM-DD")
    return day


def read_cases_file(path: str) -> set[str]:
    """The case numbers of a watch list (casenumbers.watch_list), normalized."""
    try:
        numbers = casenumbers.watch_list(Path(path).read_text(encoding="utf-8"))
    except casenumbers.NotACaseNumber as exc:
        raise ChangesError(f"--cases-file {shown(path)} line {exc.line_number}: {shown(exc.text, 40)} is "
                           "not a court file number: use the form IMM-12345-25") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChangesError(f"--cases-file {shown(path)}: cannot read it "
                           f"({getattr(exc, 'strerror', None) or exc})") from None
    if not numbers:
        raise ChangesError(f"--cases-file {shown(path)} lists no case numbers")
    return set(numbers)


def collect(output_dir: str, years: Optional[list[int]] = None, since: Optional[date] = None,
            cases: Optional[set[str]] = None) -> list[dict[str, Any]]:
    """The `changed` lines asked for, newest first (then by case number), as flat rows."""
    ledger = Ledger(output_dir)
    if not Path(ledger.root).is_dir():
        raise ChangesError(f"output directory {ledger.root} does not exist (use --output-dir DIR)")
    if years is None:
        years = sorted({y for c in cases or () if (y := casenumbers.year_of(c))}) or ledger.years()
    for year in years:
        if not Path(ledger.path(year)).is_file():
            found = ledger.years()
            hint = f"; ledgers exist for {', '.join(map(str, found))}" if found else ""
            raise ChangesError(f"no ledger for {year}: {ledger.path(year)} does not exist{hint}"
                               f"{changes_feed.hint(output_dir, [year])}")
    if not years:
        raise ChangesError(f"no ledger in {ledger.dir}: nothing was crawled into {output_dir}"
                           f"{changes_feed.hint(output_dir, None)}")
    rows = []
    for year in years:
        # A line is as recent as any line recorded before it: a clock that went back (a
        # slow machine, a fix of a fast one) cannot file a change under an older time.
        recorded: Optional[datetime] = None
        for position, entry in enumerate(ledger.records(year)):
            at = line_time(entry.get("at"))
            recorded = at if recorded is None or (at is not None and at > recorded) else recorded
            if entry["status"] != "changed" or (cases is not None and entry["case_number"] not in cases):
                continue
            when = recorded
            if since is not None and (when is None or when.date() < since):
                continue
            changed = entry.get("changes") or {}
            rows.append({"case_number": entry["case_number"], "at": entry.get("at"),
                         "run_id": entry.get("run_id"), "file_path": entry.get("file_path"),
                         "previous_file": changed.get("previous_file"),
                         **{k: changed.get(k, []) for k in (*history.ENTRY_LISTS, "fields")},
                         "_when": when, "_order": (year, position)})
    # Newest first in the order recorded (then by case number); a line without a usable time last.
    rows.sort(key=lambda r: casenumbers.order(r["case_number"]))
    rows.sort(key=lambda r: (r["_when"] or datetime.min.replace(tzinfo=timezone.utc), r["_order"]),
              reverse=True)
    for row in rows:
        del row["_when"], row["_order"]
        changes_feed.add_entry_texts(ledger, row)
    return rows


def render_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no changes recorded\n"
    table = [list(COLUMNS)]
    for r in rows:
        when = line_time(r.get("at"))
        table.append([when.strftime("%Y-%m-%d %H:%M:%S") if when else printable(r["at"], 40),
                      printable(r["case_number"], 40), printable(history.describe(r), 120),
                      printable(r["file_path"] or "-", 120), printable(r["previous_file"] or "-", 120)])
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table[:1]]
    for cells, r in zip(table[1:], rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        lines.extend("    " + line for line in changes_feed.entry_lines(r))
    cases = len({r["case_number"] for r in rows})
    return "\n".join(lines) + f"\n{len(rows)} change(s) of {cases} case(s)\n"


def main(argv: Optional[list[str]] = None) -> int:
    ap = _Parser(prog="python -m casescraper changes",
                 description="What changed in cases asked again (refresh, a watch list, another "
                             "day), newest first, from the ledger's `changed` lines.")
    ap.add_argument("--since", type=_day, metavar="YYYY-MM-DD",
                    help="only changes recorded on or after that day (UTC)")
    ap.add_argument("--year", type=_year, nargs="+", action="extend", metavar="Y",
                    help="case years (default: every year with a ledger, or the years of --cases-file)")
    ap.add_argument("--cases-file", metavar="F", help="only these cases: one case number per line")
    ap.add_argument("--output-dir", metavar="DIR",
                    help="the crawl's output directory (default: CASESCRAPER_OUTPUT_DIR as a crawl "
                         "here sees it: config.toml or $CASESCRAPER_CONFIG, the environment, else "
                         "output; a demo crawl's default is output/demo)")
    ap.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ap.add_argument("--exit-code", action="store_true",
                    help="exit 1 when something changed, 0 when nothing did (2 on any error), "
                         "as git diff --exit-code")
    ap.add_argument("--atom", metavar="FILE",
                    help="also write the changes as an Atom feed to FILE (one per watch list)")
    try:
        args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    except ChangesError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 2
    failed = 2 if args.exit_code else 1  # with --exit-code, 1 means "changed"
    output_dir = args.output_dir
    try:
        cases = read_cases_file(args.cases_file) if args.cases_file else None
        if not output_dir:
            from casescraper.config import configured

            output_dir = configured("CASESCRAPER_OUTPUT_DIR")  # like a crawl: config, environment
        years = sorted(set(args.year)) if args.year else None
        rows = collect(output_dir, years, args.since, cases)
        if args.atom:
            watch = args.cases_file or f"the years {', '.join(map(str, years or Ledger(output_dir).years()))}"
            changes_feed.write_atom(args.atom, changes_feed.atom_feed(rows, watch, output_dir))
    except ChangesError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 2
    except CasescraperError as exc:  # a bad config file, a ledger that is not a file
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return failed
    except OSError as exc:
        print(f"casescraper: error: {exc.filename or output_dir}: {exc.strerror or exc}", file=sys.stderr)
        return failed
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(rows))
    return 1 if args.exit_code and rows else 0


if __name__ == "__main__":
    sys.exit(main())
