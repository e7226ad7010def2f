"""`python -m casescraper reparse --year Y [--output-dir DIR]`: case files from kept evidence.

Reads every evidence file of the year (`<out>/raw/<YYYY>/*.json.gz`, see `evidence`),
parses its HTML and answers again with today's parser, and writes the record by the
usual storage rules, with `scraped_at` = the capture's time and `source_url` from the
evidence: a same-day record equal to a file already there writes nothing; a different
one gets the next `-N` suffix (with a hard link of its evidence beside it and a `saved`
ledger line of run `reparse-<UTC stamp>`, so resume and `report` see the new file). Old
files are never touched. No portal, no browser.

The file is written first, then its ledger line: a reparse killed between the two left a
file no line names, which the next reparse finds equal and adopts (a `saved` line, said
on stderr). Temp files of killed writers are swept first. The case files' folder is the
one the year's ledger lines name (the crawl's CASESCRAPER_PER_CASE_SUBDIR), else json,
unless --per-case-subdir names it.

Exit status (`exits`): 0 all evidence parsed; 3 some evidence could not be read or
parsed and was skipped (one line each); 4 a case file or ledger line could not be
written; 2 bad input (no output dir, no evidence for the year, bad option).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casescraper.record import parser
from casescraper.tools import finding
from casescraper.errors import CasescraperError
from casescraper.record.evidence import SUFFIX, EvidenceStore, read
from casescraper.store.layout import DEFAULT_SUBDIR, Layout, plain_subdir
from casescraper.tools import exits
from casescraper.store.ledger import Ledger, Site
from casescraper.store.storage import CaseStore, case_year

PROG = "python -m casescraper reparse"
DEFAULT_TIMEZONE = "America/Toronto"  # the court's; used when the evidence names none


@dataclass
class Counts:
    read: int = 0
    unchanged: int = 0
    new: int = 0
    failed: int = 0  # skipped (unreadable, unparsable) and unwritten alike
    unwritten: int = 0  # of those: a file or ledger line could not be written
    adopted: int = 0  # files no ledger line named, now named by one


class Reparser:
    def __init__(self, output_dir: str, *, subdir: str = DEFAULT_SUBDIR, timezone_name: str = DEFAULT_TIMEZONE,
                 err: Optional[TextIO] = None):
        self.root = os.path.abspath(output_dir)
        self.layout = Layout(self.root, subdir)
        self.store = CaseStore(self.root, subdir)
        self.evidence = EvidenceStore(self.root)
        self.ledger = Ledger(self.root)
        self._named: dict[int, set[str]] = {}  # year -> file paths its ledger lines name
        self.timezone = timezone_name
        self.err = err or sys.stderr
        self.run_id = "reparse-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self._sites: dict[int, Optional[Site]] = {}

    def run(self, year: int) -> Counts:
        counts = Counts()
        seen: set[tuple[int, int]] = set()
        swept = self.store.sweep()
        if swept:
            print(f"casescraper: removed {len(swept)} temp file(s) left by killed writers", file=self.err)
        try:
            for path in evidence_files(self.layout.raw_dir(year)):
                shown = os.path.relpath(path, self.root)
                try:
                    st = os.stat(path)
                    if (st.st_dev, st.st_ino) in seen:
                        continue  # the same evidence linked beside a reparsed file
                    seen.add((st.st_dev, st.st_ino))
                    counts.read += 1
                    created = self._one(path, shown, counts)
                except (CasescraperError, OSError) as exc:
                    counts.failed += 1
                    if isinstance(exc, OSError):
                        counts.unwritten += 1
                    print(f"casescraper: error: {shown}: {_one_line(exc)}", file=self.err)
                    continue
                if created:
                    counts.new += 1
                else:
                    counts.unchanged += 1
        finally:
            self.ledger.close()
        return counts

    def _one(self, path: str, shown: str, counts: Counts) -> bool:
        """Rebuild one case file; True when that wrote a new one."""
        evidence = read(path)
        parsed = parser.read_case(
            evidence["html"], answers=evidence["answers"], court=evidence["court"],
            case_number=evidence["case_number"], page_url=evidence["source_url"],
            timezone=evidence.get("timezone") or self.timezone)
        for note in parsed.notes:
            print(f"casescraper: warning: {shown}: {note.kind}: {note.message}", file=self.err)
        record: dict[str, Any] = dict(parsed.record, source_url=evidence["source_url"],
                                      scraped_at=evidence["captured_at"], file_path=None)
        saved = self.store.write(record)
        now = datetime.now(timezone.utc)
        year = case_year(record["case_number"], now)
        named = self._named_files(year)
        # A new file, or an equal one no line names (a reparse or crawl killed after the
        # file, before its line): a saved line names it.
        if saved.outcome != "existing" or saved.rel_path not in named:
            if saved.outcome == "existing":
                counts.adopted += 1
                print(f"casescraper: warning: {shown}: {saved.rel_path} was named by no ledger "
                      "line; adopted (a saved line now names it)", file=self.err)
            self.ledger.site = self._site(year)
            self.ledger.record(record["case_number"], "saved", run_id=self.run_id, year=year,
                               file_path=saved.rel_path, at=now.isoformat())
            named.add(saved.rel_path)
        # A new file gets this evidence; an equal one keeps its own, or gets this if it has
        # none. Last: should it fail, the next reparse finds the file equal and links again.
        self.evidence.link(path, saved.path)
        return saved.outcome != "existing"

    def _named_files(self, year: int) -> set[str]:
        if year not in self._named:
            self._named[year] = {e["file_path"] for e in self.ledger.records(year) if e.get("file_path")}
        return self._named[year]

    def _site(self, year: int) -> Optional[Site]:
        """The site the year's ledger lines name (a crawl never mixes sites in one output
        dir), so resume and report never take the new line for another site's data."""
        if year not in self._sites:
            sites = list(self.ledger.sites(year))
            self._sites[year] = sites[0] if len(sites) == 1 else None
        return self._sites[year]


def evidence_files(directory: str) -> list[str]:
    """The year's evidence files, by name; hidden temp files of live or dead writers skipped."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(SUFFIX) and not n.startswith("."))
    return [os.path.join(directory, n) for n in names]


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _arguments() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=PROG, description="Rebuild a year's case files from the evidence kept beside them "
        "(CASESCRAPER_KEEP_RAW), without the portal; old files are never touched.")
    ap.add_argument("--year", type=int, required=True, help="the case year, e.g. 2025")
    ap.add_argument("--output-dir", default="output",
                    help="the crawl's output directory (CASESCRAPER_OUTPUT_DIR; default: output; "
                         "the config file is not read)")
    ap.add_argument("--per-case-subdir",
                    help="the case files' directory under the output dir (the crawl's "
                         "CASESCRAPER_PER_CASE_SUBDIR; default: the one the year's ledger lines "
                         "name, else json)")
    ap.add_argument("--timezone", default=DEFAULT_TIMEZONE,
                    help="the browser's time zone for evidence that names none "
                         f"(CASESCRAPER_TIMEZONE; default: {DEFAULT_TIMEZONE})")
    return ap


def _input_error(args: argparse.Namespace) -> Optional[str]:
    """Why the input is unusable, as one line; None when it is fine."""
    out = os.path.abspath(args.output_dir)
    if not os.path.isdir(out):
        return f"output directory {out} does not exist; pass --output-dir (the crawl's output_dir)"
    raw = Layout(out).raw_dir(args.year)
    if not os.path.isdir(raw):
        elsewhere = finding.hint(args.output_dir, "raw", "reparse --year {year}", [args.year])
        return (f"no kept evidence for {args.year}: {raw} does not exist" + (elsewhere or (
                "; crawls keep it with CASESCRAPER_KEEP_RAW on (the default), or check "
                "--output-dir and --year")))
    if args.per_case_subdir is not None and plain_subdir(args.per_case_subdir):
        return f"--per-case-subdir {plain_subdir(args.per_case_subdir)}"
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"--timezone {args.timezone[:60]!r} is not a known time zone (e.g. America/Toronto)"
    return None


def main(argv: Optional[list[str]] = None, out: Optional[TextIO] = None,
         err: Optional[TextIO] = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = _arguments().parse_args(argv)
    problem = _input_error(args)
    if problem is None:
        subdir = args.per_case_subdir or _learned_subdir(args.output_dir, args.year)
        reparser = Reparser(args.output_dir, subdir=subdir,
                            timezone_name=args.timezone, err=err)
        try:
            reparser.store.probe()  # hard links and a writable dir, as a crawl checks first
        except CasescraperError as exc:
            problem = str(exc)
    if problem is not None:
        print(f"casescraper: error: {problem}", file=err)
        return 2
    try:
        counts = reparser.run(args.year)
    except (OSError, CasescraperError) as exc:  # the year's ledger or folders cannot be read
        print(f"casescraper: error: {_one_line(exc)}", file=err)
        return exits.FAILED
    print(f"reparse {args.year}: read {counts.read}, unchanged {counts.unchanged}, "
          f"new files {counts.new}, failed {counts.failed}"
          + (f", adopted {counts.adopted}" if counts.adopted else ""), file=out)
    if counts.unwritten:
        return exits.UNWRITABLE
    return exits.SKIPPED if counts.failed else exits.OK


def _learned_subdir(output_dir: str, year: int) -> str:
    """The case files' folder the year's ledger lines name, else json."""
    try:
        return Ledger(output_dir).case_subdir(year) or DEFAULT_SUBDIR
    except (OSError, CasescraperError):
        return DEFAULT_SUBDIR  # the run reads the ledger again and says what is wrong


if __name__ == "__main__":
    sys.exit(main())
