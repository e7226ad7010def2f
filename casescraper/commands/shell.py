"""`scrapy shell` for one court file:

    scrapy shell IMM-12345-25                                    # on CASESCRAPER_SITE_URL
    scrapy shell "https://www.fct-cf.ca/en/court-files-and-decisions/court-files#IMM-12345-25"

The middleware runs the case in the browser as the crawl does (the case after `#`, see
middleware_settings.case_in_url): `response` is the page with the case's details open,
`response.meta["casescraper"]` holds the portal's answers, and `case` is the record the
crawl would save (None when the portal has no data for that number). Any other URL is
Scrapy's plain shell.

A shell writes nothing: no case file, ledger line or run manifest (the item pipelines
are off, so no "writing to" line either), and shows no progress bar. Its browser ends
when the shell exits (the middleware's exit hook: the shell never closes its spider).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from scrapy.commands.shell import Command as ScrapyShell

from casescraper.frontier import casenumbers

from casescraper.record import parser
from casescraper.browser.driver import COURT_TIMEZONE
from casescraper.config import ConfigAddon
from casescraper.errors import CasescraperError
from casescraper.options import Options

logger = logging.getLogger("casescraper")


class CaseRecord(dict):
    """A case record (schema v2 without the run fields), shown short in the shell's banner;
    `print(json.dumps(case, indent=2))` shows it whole."""

    def __repr__(self) -> str:
        entries = self.get("docket_entries") or []
        parties = self.get("parties")
        return (f"<case {self.get('case_number')}: {self.get('style_of_cause')!r}, "
                f"{len(entries)} docket entries, "
                f"{'parties unknown' if parties is None else f'{len(parties)} parties'}>")

    def to_json(self) -> str:
        return json.dumps(self, ensure_ascii=False, indent=2)


class Command(ScrapyShell):
    def syntax(self) -> str:
        return "[url|file|case number]"

    def long_desc(self) -> str:
        return (super().long_desc() + " A case number (IMM-12345-25), or the court-files page "
                "URL with one after '#', opens that case; `case` is then its record.")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        self.settings.set("ITEM_PIPELINES", {}, priority="cmdline")
        self.settings.set("CASESCRAPER_PROGRESS_INTERVAL", 0, priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args and self._is_case(args[0]):
            args = [f"{self._site_url()}#{casenumbers.parse(args[0])}"]
        super().run(args, opts)

    @staticmethod
    def _is_case(text: str) -> bool:
        try:
            casenumbers.parse(text)
        except ValueError:
            return False
        return True

    def _site_url(self) -> str:
        """CASESCRAPER_SITE_URL as a crawl started here sees it (config file, environment, -s)."""
        settings = self.settings.copy()
        try:
            ConfigAddon().update_settings(settings)
        except CasescraperError as exc:
            print(f"casescraper: error: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        return Options.from_settings(settings).site_url

    def update_vars(self, vars: dict[str, Any]) -> None:  # noqa: A002 (Scrapy's name)
        response = vars.get("response")
        meta = response.meta.get("casescraper") if response is not None else None
        if not meta or "found" not in meta:
            return
        vars["case"] = None
        if not meta["found"]:
            logger.info("%s: the portal has no data for this number", meta["case"])
            return
        try:
            parsed = parser.read_case(response.text, answers=meta.get("answers") or [],
                                      court=meta["court"], case_number=meta["case"],
                                      page_url=response.url, timezone=meta.get("timezone") or COURT_TIMEZONE)
        except CasescraperError as exc:
            logger.warning("%s: the page could not be read: %s", meta["case"], exc)
            return
        for note in parsed.notes:
            logger.warning("%s: %s", meta["case"], note.message)
        vars["case"] = CaseRecord(parsed.record)
