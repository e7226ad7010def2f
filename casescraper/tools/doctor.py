"""`python -m casescraper doctor`: the preflight an operator runs before a year run.

    python -m casescraper doctor [--site URL] [--case IMM-12334-25] [--court t]
    python -m casescraper doctor --demo [--demo-knob NAME=VALUE ...]

It starts the crawl's own browser (same settings, config file and environment as a crawl),
loads the page once, checks each selector and portal endpoint the crawl relies on, runs ONE
known case end to end (one query) through the same page object and parser, and prints a
table `check | ok/FAILED | detail / what to do`. Exit status: 0 when every check passed,
1 when one failed, 2 for bad arguments or settings (one line; nothing started).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from parsel import Selector

from casescraper.frontier import casenumbers

from casescraper.record import parser
from casescraper.errors import Blocked, BrowserError, CasescraperError, LayoutChanged
from casescraper.options import Options
from casescraper.browser.page import Capture, CourtFilesPage
from casescraper.browser.selectors import SELECTORS, within

PROG = "python -m casescraper doctor"
REAL_CASE = "IMM-12334-25"  # SITE.md: filed 2025-05-30, six docket entries
ENDPOINTS = ("proceedingQueriesAddInfo", "PublicPartiesListInfo", "proceedingQueriesRE")
CHANGED = "the page changed: update SELECTORS in casescraper/browser/selectors.py (casescraper/browser/page.py drives with them)"
BLOCKED_ADVICE = ("the portal refuses our queries: stop, wait some hours before any run, "
                  "keep the default pacing (DOWNLOAD_DELAY) and a USER_AGENT naming you")

# Every selector the set-up needs, each checked on its own (the crawl stops at the first).
PROBE_SCRIPT = """
const [sel, court, instants] = arguments;
const q = s => document.querySelector(s);
const shown = el => !!el && getComputedStyle(el).display !== 'none' && el.getClientRects().length > 0;
const tab = q(sel.tab);
if (tab) tab.click();
const select = q(sel.court);
return {
  selectors: [
    ['tab', sel.tab, !!tab],
    ['panel', sel.panel + ' (shown by the tab)', shown(q(sel.panel))],
    ['court select', sel.court, !!select],
    ['court option', sel.court + ' option ' + court, !!select && [...select.options].some(o => o.value === court)],
    ['court number input', sel.input + ' in ' + sel.panel, !!(q(sel.panel) && q(sel.panel).querySelector(sel.input))],
    ['submit button', sel.submit, !!q(sel.submit)],
    ['results table', sel.results, !!q(sel.results)],
    ['details modal', sel.modal, !!q(sel.modal)],
  ],
  zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  offsets: instants.map(ms => -new Date(ms).getTimezoneOffset()),
};
"""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


class BadArguments(CasescraperError):
    """An argument or setting of the doctor is invalid (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise BadArguments(message)


def _arguments(argv: list[str]) -> argparse.Namespace:
    ap = _Parser(prog=PROG, description="Check the portal page and one case before a year run.")
    ap.add_argument("--site", metavar="URL", help="the court-files page (default: CASESCRAPER_SITE_URL)")
    ap.add_argument("--case", metavar="CASE", help=f"a file that exists (default: {REAL_CASE}; "
                                                   "with --demo: IMM-1-<this year>)")
    ap.add_argument("--court", default="t", choices=("t", "a", "b"), help="the court select value")
    ap.add_argument("--demo", action="store_true", help="start the demo court and check it")
    ap.add_argument("--demo-knob", action="append", default=[], metavar="NAME=VALUE",
                    help="a demo court knob (repeatable), e.g. layout=v2, forbid_after=0, last_number=50")
    args = ap.parse_args(argv)
    if args.case is not None:
        try:
            args.case = str(casenumbers.parse(args.case))
        except ValueError:
            raise BadArguments(f"--case {args.case[:40]!r} is not a court file number: use the form IMM-12345-25") from None
    if args.site is not None and not re.match(r"https?://[^/\s]+", args.site):
        raise BadArguments(f"--site {args.site[:60]!r} is not an http(s) URL of the court-files page")
    if args.demo and args.site:
        raise BadArguments("--site and --demo exclude each other: --demo serves its own site")
    if args.demo_knob and not args.demo:
        raise BadArguments("--demo-knob needs --demo")
    args.knobs = {}
    for pair in args.demo_knob:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise BadArguments(f"--demo-knob {pair[:40]!r}: use NAME=VALUE, e.g. layout=v2")
        args.knobs[name.strip()] = value
    return args


def _settings():
    """The crawl's settings: the project's, the config file and the environment, validated."""
    from scrapy.utils.project import get_project_settings

    from casescraper.config import ConfigAddon

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "casescraper.settings")
    settings = get_project_settings()
    ConfigAddon().update_settings(settings)
    return settings


def _demo_court(case: Optional[str], knobs: dict[str, str]):
    """The demo court for the case's year (default IMM-1 of this year), not yet started."""
    from casescraper.democourt import DemoCourt, Knobs

    year = casenumbers.parse(case).year if case else datetime.now(timezone.utc).year
    extra = {}
    for name in ("last_number", "seed"):
        if name in knobs:
            text = knobs.pop(name).strip()
            if not text.isdigit():
                raise BadArguments(f"--demo-knob {name}={text[:20]!r}: use a whole number")
            extra[name] = int(text)
    try:
        court = DemoCourt(year=year, knobs=Knobs.from_strings(knobs), **extra)
    except ValueError as exc:
        raise BadArguments(f"--demo-knob: {exc}") from None
    return court, case or casenumbers.format("IMM", 1, year)


class Doctor:
    """One browser, one page load, one case; `checks` fills as it goes."""

    def __init__(self, settings, url: str, case: str, court: str):
        self.settings, self.url, self.case, self.court = settings, url, case, court
        self.tz = Options.from_settings(settings).timezone
        self.checks: list[Check] = []
        self.browser = None

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def run(self) -> list[Check]:
        from casescraper.browser.driver import Browser, RunDir
        from casescraper.middleware_settings import browser_config, case_timeout

        try:
            config = browser_config(self.settings)
        except BrowserError as exc:
            self.add("browser", False, str(exc))
            return self.checks
        run_dir = None if config.command_executor else RunDir(f"doctor-{os.getpid()}-{secrets.token_hex(2)}")
        self.browser = Browser(config, run_dir, 1)
        try:
            try:
                driver = self.browser.start()
            except Exception as exc:  # any failure to start is the finding
                self.add("browser", False, f"did not start: {type(exc).__name__}: {_line(exc)}; "
                                           "check SELENIUM_*_EXECUTABLE_PATH (setup.sh installs both)")
                return self.checks
            self.add("browser", True, f"started, running in time zone {self.tz}")
            try:
                self._page(CourtFilesPage(driver, self.url, self.court, case_timeout(config)), config)
            except BrowserError as exc:  # the browser failed under us
                self.add("browser", False, f"{exc}; run the doctor again, then check the browser")
        finally:
            self.browser.quit()
            if run_dir is not None:
                run_dir.remove()
        return self.checks

    def _page(self, page: CourtFilesPage, config) -> None:
        try:
            page.load()
        except BrowserError as exc:
            self._failed("page load", exc, "check --site / CASESCRAPER_SITE_URL and the network")
            return
        self.add("page load", True, self.url)
        page.dismiss_consent()
        zone = ZoneInfo(self.tz)
        year = datetime.now(timezone.utc).year
        instants = [datetime(year, m, 15, 12, tzinfo=timezone.utc) for m in (1, 7)]
        probe = page._call(page.driver.execute_script, PROBE_SCRIPT, page.sel, self.court,
                           [int(i.timestamp() * 1000) for i in instants])
        want = [int(i.astimezone(zone).utcoffset().total_seconds() // 60) for i in instants]
        self.add("time zone", probe["offsets"] == want,
                 f"the page runs in {probe['zone']}" if probe["offsets"] == want else
                 f"the page runs in {probe['zone']}, not {self.tz}: dates would be off by a day; "
                 "the browser must accept DevTools' Emulation.setTimezoneOverride")
        fine = [self.add(f"selector: {name}", ok, what if ok else f"{what} not found: {CHANGED}")
                for name, what, ok in probe["selectors"]]
        if not all(fine):
            self.add("one case end to end", False, "not run: fix the selectors above first")
            return
        try:
            page.prepare()
            capture = self.browser.bounded(lambda: page.search(self.case), config.script_timeout)
        except LayoutChanged as exc:
            self.add("one case end to end", False, f"{exc}: {CHANGED}")
            return
        except BrowserError as exc:
            self._failed("one case end to end", exc, "the log of a crawl would show the same")
            return
        if not self.add("case found", capture.found, f"{self.case} has a results row" if capture.found else
                        f"{self.case} answered no data: give a file that exists with --case"):
            return
        self._capture(capture)
        self._answers(capture)
        self._parse(capture)

    def _failed(self, name: str, exc: BrowserError, advice: str) -> None:
        """Check `name` failed on `exc`: a refusal gets the advice for being blocked."""
        if isinstance(exc, Blocked):
            self.add(name, False, f"{_blocked(exc)}: {BLOCKED_ADVICE}")
        else:
            self.add(name, False, f"{exc}; {advice}")

    def _capture(self, capture: Capture) -> None:
        """What the crawl relies on after the query, read from the capture it hands over."""
        html, sel = Selector(text=capture.html), SELECTORS
        heads = [_text(th) for th in html.css(f"{sel['results']} thead th, {sel['results_area']} thead th")]
        need = [h for h in parser.RESULT_REQUIRED if h not in heads]
        self.add("results header", not need, ", ".join(dict.fromkeys(heads)) if not need else
                 f"no column {', '.join(need)} in {sel['results']}'s header: {CHANGED} and parser.py")
        row = [tr for tr in html.css(f"{sel['results']} tbody tr")
               if any(_text(td).upper() == self.case for td in tr.css("td"))]
        for name, key in (("parties button", sel["parties_button"]), ("more button", sel["more_button"])):
            ok = bool(row and row[0].css(key))
            self.add(name, ok, f"{key} in the case's row" if ok else f"{key} not in the case's row: {CHANGED}")
        stuck, note = capture.parties_stuck, capture.parties_note
        self.add("parties dialog", not stuck,
                 f"{stuck}: the crawl goes on but reloads the page after every case; add its close "
                 "control to close_controls in casescraper/browser/selectors.py" if stuck else
                 f"opened and closed{'; ' + note if note else ''}")
        title = html.css(within("modal", "modal_title"))
        ok = bool(title) and self.case in _text(title[0]).upper()
        self.add("details modal", ok, f"{sel['modal']} opened, titled {self.case}" if ok else
                 f"{sel['modal']}'s title does not name {self.case}: {CHANGED}")
        self.add("details modal close", not capture.stuck, "closed" if not capture.stuck else
                 f"{capture.stuck}: every case would need a page reload; check SELECTORS['modal_close']")
        tables = [t for t in html.css(within("modal", "docket_table"))
                  if sel["docket_caption"] in _text(t.css("caption") or t).lower()]
        self.add("docket table", bool(tables),
                 f"captioned table, {len(tables[0].css('tbody tr')) if tables else 0} rows, columns "
                 f"{', '.join(_text(th) for th in tables[0].css('thead th'))}" if tables else
                 f"no {sel['docket_table']} captioned {sel['docket_caption']!r} in "
                 f"{sel['modal']}: {CHANGED} and parser.py")

    def _answers(self, capture: Capture) -> None:
        seen = {a["endpoint"] for a in capture.answers}
        for endpoint in (*ENDPOINTS, *sorted(seen - set(ENDPOINTS))):
            mine = [a for a in capture.answers if a["endpoint"] == endpoint]
            if not mine:
                self.add(f"endpoint: {endpoint}", False, "the page never asked it: SITE.md's endpoint "
                         "names are out of date; the parser reads parties and documents from it")
                continue
            last = mine[-1]
            try:
                rows = json.loads(last["body"])["data"]
                shape = f"200 JSON, {len(rows)} rows" if isinstance(rows, list) else None
            except (ValueError, TypeError, KeyError):
                shape = None
            ok = last["status"] == 200 and shape is not None
            self.add(f"endpoint: {endpoint}", ok, shape if ok else
                     f"HTTP {last['status'] or 'network error'}, {'JSON with data' if shape else 'not JSON with data'} "
                     f"from {last['url'][:120]}: the portal's answers changed; parser.py reads them")

    def _parse(self, capture: Capture) -> None:
        try:
            if hasattr(parser, "read_case"):
                parsed = parser.read_case(capture.html, answers=capture.answers, court=self.court,
                                          case_number=self.case, page_url=self.url, timezone=self.tz)
                record, notes = parsed.record, parsed.notes
            else:
                record, notes = parser.parse_case(capture.html, court=self.court, case_number=self.case), []
        except CasescraperError as exc:
            self.add("parser", False, f"{exc}: casescraper/record/parser.py no longer reads this page")
            return
        bad = [n for n in notes if n.kind in ("disagree", "parties_unavailable")]
        parties = record.get("parties")
        summary = (f"{len(record.get('docket_entries') or [])} docket entries, "
                   f"{'no' if parties is None else len(parties)} parties, filed {record.get('filing_date')}")
        self.add("parser", not bad, summary if not bad else f"{bad[0].kind}: {bad[0].message}"[:300])
        for note in notes:
            if note.kind == "unknown_label":
                self.add("parser: unknown label", True, f"{note.message} (kept in other_fields)")


def _text(sel: Selector) -> str:
    return " ".join((sel.xpath("string()").get() or "").split())


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _blocked(exc: Blocked) -> str:
    status = re.search(r"HTTP (\d{3})", str(exc))
    return f"blocked (HTTP {status.group(1)})" if status else "blocked (a WAF page)"


def table(checks: list[Check]) -> str:
    width = max(len("check"), *(len(c.name) for c in checks))
    lines = [f"{'check':<{width}} | {'result':<6} | detail / what to do",
             f"{'-' * width}-+-{'-' * 6}-+-{'-' * 20}"]
    lines += [f"{c.name:<{width}} | {'ok' if c.ok else 'FAILED':<6} | {c.detail}" for c in checks]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    demo = None
    try:
        args = _arguments(argv)
        settings = _settings()
        if args.demo:
            demo, case = _demo_court(args.case, args.knobs)
        else:
            case = args.case or REAL_CASE
    except CasescraperError as exc:  # bad arguments, settings or config file
        print(f"casescraper doctor: error: {exc}", file=sys.stderr)
        return 2
    try:
        options = Options.from_settings(settings)
        url = demo.start() if demo is not None else (args.site or options.site_url)
        print(f"casescraper doctor: {url} (case {case}, court {args.court}, "
              f"time zone {options.timezone})", flush=True)
        checks = Doctor(settings, url, case, args.court).run()
    finally:
        if demo is not None:
            demo.stop()
    print(table(checks))
    failed = [c for c in checks if not c.ok]
    print(f"{len(failed)} of {len(checks)} checks FAILED" if failed else
          f"all {len(checks)} checks passed: ready for a year run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
