"""Command line of the demo court.

    python -m casescraper.democourt serve [--port 8000] [--year 2025] [--last-number N]
        [--seed 0] [--latency-ms 0] [--forbid-after N] [--hang-on CASE[,CASE]]
        [--sticky-modal-on CASE[,...]] [--slow-modal-on CASE[,...]] [--slow-modal-ms 2000]
        [--layout v2] [--shape plain|wet] [--consent-banner] [--error-rate P] [--nodata-after N]
        [--vendor-dir DIR] [--fade-ms 300] [--no-efiling-popup] [--efiling-delay-ms 800]
        [--parties-ui popup|jqueryui|bootstrap|escape] [--no-background-noise]
        [--day N --grow CASE[,CASE]]
    python -m casescraper.democourt dump --year 2025 [--last-number N] [--seed 0]
        [--day N --grow CASE[,CASE]]

`serve` prints one line, the page URL, then serves until Ctrl-C or SIGTERM.
`--day N --grow IMM-3-25,IMM-7-25`: the court N days on, those cases with N more docket
entries (to try change history: crawl, then crawl again with refresh=1 on a later day).
`dump` prints the records a correct crawl produces, as one JSON array.
`--vendor-dir DIR` serves the real page's vendor scripts and stylesheets from DIR (filled by
`python -m benchmarks.realpage fetch DIR`), so the page weighs what the real one does.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from typing import Optional

from casescraper.democourt import data
from casescraper.democourt.knobs import MAX_DAY, PARTIES_UIS, SHAPES, SPOILS, Knobs
from casescraper.democourt.server import DemoCourt

_CASE = re.compile(r"[A-Za-z]+-[0-9]+-[0-9]{2}")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}: {text!r}")
        return value
    return parse


def _port(text: str) -> int:
    value = _int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return value


def _year(text: str) -> int:
    value = _int_at_least(1000)(text)
    if value > 9999:
        raise argparse.ArgumentTypeError(f"not a four-digit year: {text!r}")
    return value


def _day(text: str) -> int:
    value = _int_at_least(0)(text)
    if value > MAX_DAY:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_DAY}: {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text!r}")
    return value


def _cases(text: str) -> frozenset[str]:
    items = [t.strip() for t in text.split(",")]
    bad = [t for t in items if not _CASE.fullmatch(t)]
    if bad:
        raise argparse.ArgumentTypeError(f"not a case number like IMM-12-25: {bad[0]!r}")
    return frozenset(t.upper() for t in items)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m casescraper.democourt",
                                description="Local replica of the Federal Court court-files portal.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, year_required: bool) -> None:
        sp.add_argument("--year", type=_year, default=2025, required=year_required)
        sp.add_argument("--last-number", type=_int_at_least(1), default=2000)
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--day", type=_day, default=0,
                        help="the court N days on: each --grow case has N more docket entries")
        sp.add_argument("--grow", type=_cases, default=frozenset(), metavar="CASE[,CASE]",
                        help="the cases that grow with --day")

    serve = sub.add_parser("serve", help="serve the portal on 127.0.0.1",
                           usage="%(prog)s [--port 8000] [options]")
    serve.add_argument("--port", type=_port, default=8000, help="0 picks a free port")
    common(serve, year_required=False)
    serve.add_argument("--latency-ms", type=_int_at_least(0), default=0)
    serve.add_argument("--forbid-after", type=_int_at_least(0), default=None)
    serve.add_argument("--hang-on", type=_cases, default=frozenset())
    serve.add_argument("--sticky-modal-on", type=_cases, default=frozenset())
    serve.add_argument("--slow-modal-on", type=_cases, default=frozenset())
    serve.add_argument("--slow-modal-ms", type=_int_at_least(0), default=2000)
    serve.add_argument("--layout", choices=("v1", "v2"), default="v1")
    serve.add_argument("--consent-banner", action="store_true")
    serve.add_argument("--error-rate", type=_rate, default=0.0)
    serve.add_argument("--nodata-after", type=_int_at_least(0), default=None)
    serve.add_argument("--spoil-rate", type=_rate, default=0.0,
                       help="probability that an answer about a case is spoiled (see --spoil)")
    serve.add_argument("--spoil", choices=SPOILS, default="mixed",
                       help="how: cut off, another shape, short, another number's, garbled rows")
    serve.add_argument("--throttle-after", type=_int_at_least(0), default=None,
                       help="searches after N answer HTTP 429 (see --throttle-count)")
    serve.add_argument("--throttle-count", type=_int_at_least(0), default=1,
                       help="how many searches answer 429 (0: all)")
    serve.add_argument("--retry-after", type=_int_at_least(0), default=None,
                       help="the 429's Retry-After header, in seconds (default: none)")
    serve.add_argument("--date-offset", type=int, default=0,
                       help="seconds added to every Date header (a portal clock off)")
    serve.add_argument("--vendor-dir", default="", metavar="DIR",
                       help="serve the real page's vendor assets from DIR (benchmarks.realpage)")
    page = serve.add_argument_group("page variants (defaults: the real page as known)")
    page.add_argument("--fade-ms", type=_int_at_least(0), default=300,
                      help="Bootstrap modal fade in ms, backdrop half of it; 0 = instant")
    page.add_argument("--efiling-popup", action=argparse.BooleanOptionalAction, default=True,
                      help="pop up #EfilingModal after load (default: on)")
    page.add_argument("--efiling-delay-ms", type=_int_at_least(0), default=800,
                      help="how long after load it pops up")
    page.add_argument("--parties-ui", choices=PARTIES_UIS, default="popup",
                      help="shape of the parties dialog (all guesses; default: popup)")
    page.add_argument("--shape", choices=SHAPES, default="plain",
                      help="markup of the page: plain (the captured one) or wet (helper texts "
                           "hidden by class, row-header cells, a definition list; default: plain)")
    page.add_argument("--background-noise", action=argparse.BooleanOptionalAction, default=True,
                      help="analytics-like beacons, some failing or never answered (default: on)")

    dump = sub.add_parser("dump", help="print the expected records as a JSON array",
                          usage="%(prog)s --year YEAR [--last-number N] [--seed S] [--day N --grow CASE,...]")
    common(dump, year_required=True)
    return p


def _serve(args: argparse.Namespace) -> int:
    try:  # every knob is an option of the same name
        knobs = Knobs(**{name: getattr(args, name) for name in Knobs.names()})
    except ValueError as exc:  # vendor_dir, bounds: the argument types checked the rest
        print(f"democourt: {exc}", file=sys.stderr)
        return 2
    court = DemoCourt(year=args.year, last_number=args.last_number, seed=args.seed,
                      knobs=knobs, port=args.port)
    try:
        url = court.start()
    except OSError as exc:
        print(f"democourt: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(url, flush=True)
    try:
        while not done.wait(0.5):  # a timed wait keeps Ctrl-C responsive
            pass
    except KeyboardInterrupt:
        pass
    finally:
        court.stop()
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    out = data.records(args.year, args.last_number, args.seed, args.day, args.grow)
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
