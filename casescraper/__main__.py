"""`python -m casescraper parse PAGE.html`: the item JSON of a saved page; `doctor`, `reparse`
and `dataset` have parsers of their own (`python -m casescraper NAME --help`).

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


# Subcommands with parsers of their own: `python -m casescraper NAME --help`.
DELEGATED = {
    "doctor": ("casescraper.doctor", "preflight: check the portal page and one case before a year run"),
    "reparse": ("casescraper.reparse", "rebuild a year's case files from the kept raw evidence"),
    "dataset": ("casescraper.dataset", "write analysis-ready tables (parquet, csv, jsonl)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        return importlib.import_module(DELEGATED[argv[0]][0]).main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m casescraper")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="print the item JSON of a saved page with the details modal open")
    p.add_argument("page", type=Path, help="a saved page (whole page or just the modal)")
    p.add_argument("--court", default="t", choices=("t", "a", "b"))
    r = sub.add_parser("report", help="coverage of a year: saved, no results, failed, gaps")
    r.add_argument("--year", type=int, required=True, help="the case year, e.g. 2025")
    r.add_argument("--output-dir",
                   help="the crawl's output directory (default: CASESCRAPER_OUTPUT_DIR as a crawl "
                        "here sees it: config.toml or $CASESCRAPER_CONFIG, the environment, else "
                        "output; a demo crawl's default is output/demo)")
    r.add_argument("--html", metavar="PATH",
                   help="also write a self-contained HTML page with the table and a chart")
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)
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
    from .config import configured
    from .ledger import Ledger, clashing
    from .report import ReportError, run

    output_dir = args.output_dir
    try:
        # Like a crawl: config file, then environment; --output-dir wins over both.
        output_dir = output_dir or configured("CASESCRAPER_OUTPUT_DIR")
        ledger = Ledger(output_dir)
        sites = ledger.sites(args.year)
        mixed = clashing(sites)
        if mixed:
            a, b = mixed
            raise ReportError(
                f"{ledger.path(args.year)} mixes sites: {sites[a]} line(s) of {a} and {sites[b]} "
                f"of {b}; a report would merge them: keep each site in its own output dir")
        run(args.year, output_dir, args.html, sys.stdout)
    except (ReportError, CasescraperError) as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"casescraper: error: {exc.filename or output_dir}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
