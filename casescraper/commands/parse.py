"""`scrapy parse`, for one court file: `scrapy parse '<court-files page URL>#IMM-12345-25'`.

The case goes after `#` in the URL, as in the crawl's own requests. For the `cases`
spider (the default here) the request is a case query driven in the browser (the
middleware's `meta["casescraper"]`), the callback is `parse_case` and the spider
argument `case` comes from the URL unless given. Like Scrapy's parse it prints the
items (the case record); a number without a record prints its outcome instead. Nothing
is written unless `--pipelines` is given: the item pipelines, which write case files
and the ledger, are turned off, as `scrapy check` does.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from scrapy.commands.parse import Command as ScrapyParse
from scrapy.exceptions import UsageError
from scrapy.http import Request
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.defer import maybe_deferred_to_future

from casescraper.frontier import casenumbers
from casescraper.signals import case_outcome

EXAMPLE = "scrapy parse 'https://www.fct-cf.ca/en/court-files-and-decisions/court-files#IMM-12345-25'"


class Command(ScrapyParse):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        opts.spider = opts.spider or "cases"
        if opts.spider != "cases":
            return
        url = args[0] if len(args) == 1 else ""
        fragment = url.partition("#")[2]
        try:
            self.case = str(casenumbers.parse(fragment))
        except ValueError:
            raise UsageError(f"give the court-files page URL with the case after '#': {EXAMPLE} "
                             f"(got {url[:200]!r})", print_help=False) from None
        if not {"case", "cases_file", "year"} & set(opts.spargs):
            opts.spargs["case"] = self.case
        opts.callback = opts.callback or "parse_case"
        self.settings.set("CASESCRAPER_PROGRESS_INTERVAL", 0, priority="cmdline")  # one case: no bar
        if not opts.pipelines:
            # Between the spider's priority and the command line's, as `scrapy check` does.
            priority = (SETTINGS_PRIORITIES["spider"] + SETTINGS_PRIORITIES["cmdline"]) // 2
            self.settings.set("ITEM_PIPELINES", {}, priority=priority)

    def prepare_request(self, spider: Any, request: Request, opts: argparse.Namespace) -> Request:
        request = super().prepare_request(spider, request, opts)
        # Scrapy's parse command wraps the callback in one that returns a Deferred, which
        # Scrapy itself now warns about on every response ("returned a Deferred ... is
        # deprecated"): the same call, awaited in a coroutine callback.
        returns_deferred = request.callback

        async def callback(response: Any, **cb_kwargs: Any) -> Any:
            return await maybe_deferred_to_future(returns_deferred(response, **cb_kwargs))

        functools.update_wrapper(callback, returns_deferred)
        request.callback = callback
        if opts.spider == "cases":
            request.meta.setdefault("casescraper", {"case": self.case, "court": spider.court,
                                                    "canary": False})
            request.errback = self._failed
            spider.crawler.signals.connect(self._outcome, signal=case_outcome)
        return request

    def _outcome(self, case_number: str, status: str, error: Any = None, **_: Any) -> None:
        print(f"# Outcome: {case_number} {status}{f': {error}' if error else ''}")

    def _failed(self, failure: Any) -> None:
        print(f"casescraper: error: {failure.getErrorMessage()}", file=sys.stderr)
        self.exitcode = 1
