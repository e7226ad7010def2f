"""`python -m casescraper parse PAGE.html`: the item JSON of a saved page."""

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
