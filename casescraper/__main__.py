"""`python -m casescraper parse PAGE.html`: the item JSON of a saved page; `doctor`, `reparse`,
`dataset` and `report` have parsers of their own (`python -m casescraper NAME --help`).

`python -m casescraper report --years 2019-2025 [--output-dir DIR] [--html report.html]`
(or `--year 2025`): coverage from the ledger and the case files (see `report`).

`python -m casescraper changes [--since YYYY-MM-DD] [--year Y ...] [--json]`: what changed
in cases asked again, newest first (see `changes`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from casescraper.errors import CasescraperError
from casescraper.record.parser import parse_case


# Subcommands with parsers of their own: `python -m casescraper NAME --help`.
DELEGATED = {
    "doctor": ("casescraper.tools.doctor", "preflight: check the portal page and one case before a year run"),
    "reparse": ("casescraper.tools.reparse", "rebuild a year's case files from the kept raw evidence"),
    "dataset": ("casescraper.tools.dataset", "write analysis-ready tables (parquet, csv, jsonl)"),
    "report": ("casescraper.tools.report", "coverage of one year or several: saved, no results, failed, "
                                     "gaps, recent changes"),
    "changes": ("casescraper.tools.changes", "what changed in cases asked again, newest first, from the ledger"),
    "merge": ("casescraper.tools.merge", "join output dirs copied from several hosts into one; --gaps: "
                                         "numbers no host settled"),
    "enqueue": ("casescraper.queue.enqueue", "add a job's tasks to its Redis queue (many hosts, one job)"),
    "queue": ("casescraper.queue.cli", "a job's state in its queue (status), or queue its failures again "
                                       "(retry-failed)"),
}


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(sys.argv[1:] if argv is None else list(argv))
        sys.stdout.flush()  # a block-buffered stdout meets a gone reader here, not at exit
        return code
    except BrokenPipeError:
        # The reader of our output went away (`report ... | head`): end quietly, as Unix
        # tools do; stdout goes to devnull so that Python's exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for such a tool


def _main(argv: list[str]) -> int:
    if argv and argv[0] in DELEGATED:
        import importlib

        return importlib.import_module(DELEGATED[argv[0]][0]).main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m casescraper")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="print the item JSON of a saved page with the details modal open")
    p.add_argument("page", type=Path, help="a saved page (whole page or just the modal)")
    p.add_argument("--court", default="t", choices=("t", "a", "b"))
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    args = ap.parse_args(argv)
    try:
        html = args.page.read_text(encoding="utf-8")
        record = parse_case(html, court=args.court)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"casescraper: error: cannot read {args.page}: {exc}", file=sys.stderr)
        return 2
    except CasescraperError as exc:
        print(f"casescraper: error: {args.page}: {exc}", file=sys.stderr)
        return 1
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
