"""`python -m casescraper parse PAGE.html`: the item JSON of a saved page.

`python -m casescraper report --year 2025 [--output-dir DIR] [--html report.html]`:
the year's coverage from the ledger and the case files (see `report`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import CasescraperError
from .parser import parse_case


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m casescraper")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="print the item JSON of a saved page with the details modal open")
    p.add_argument("page", type=Path, help="a saved page (whole page or just the modal)")
    p.add_argument("--court", default="t", choices=("t", "a", "b"))
    r = sub.add_parser("report", help="coverage of a year: saved, no results, failed, gaps")
    r.add_argument("--year", type=int, required=True, help="the case year, e.g. 2025")
    r.add_argument("--output-dir", default="output",
                   help="the crawl's output directory (CASESCRAPER_OUTPUT_DIR; default: output, "
                        "the setting's default; the config file is not read)")
    r.add_argument("--html", metavar="PATH",
                   help="also write a self-contained HTML page with the table and a chart")
    args = ap.parse_args(argv)
    if args.command == "report":
        return _report(args)
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


def _report(args: argparse.Namespace) -> int:
    from .report import ReportError, run

    try:
        run(args.year, args.output_dir, args.html, sys.stdout)
    except ReportError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"casescraper: error: {exc.filename or args.output_dir}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
