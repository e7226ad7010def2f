"""The `cases` spider: what to fetch.

One request per court file number, sent one at a time: each request waits until the
previous number is settled, because when to stop (the end of a year) depends on its
answer, and because a number whose record cannot be written must hold the next query
back (back-pressure: while writes fail, nothing new is asked). Settled means:
- a found case: its CaseItem has left the pipelines (item_scraped, item_dropped or
  item_error: saved, already there, or failed_write);
- any other outcome: the `case_outcome` signal, awaited, has been handled (the ledger).
The browser work happens in the Selenium middleware; this spider only plans numbers
(lazily: see planning.Plan), turns captures into items through the parser, and reports
outcomes. A failed query (no answer from the portal) is "unknown": it teaches the end
search and the canary nothing, and CASESCRAPER_MAX_CONSECUTIVE_FAILURES of them in a row
stop the crawl (`portal_unreachable`).
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import scrapy
from scrapy import signals
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.conf import build_component_list

from .. import casenumbers, evidence, parser
from ..config import SPECS
from ..democourt import Knobs
from ..errors import (
    Blocked, BrowserError, ConfigError, LayoutChanged, ParseError, RestartsExhausted, printable, shown,
)
from ..items import CaseItem
from ..ledger import Ledger, Site
from ..planning import Canary, EndFinder, Plan, Resume
from ..signals import case_outcome

SITES = ("real", "demo")
# Parser notes become warnings and these stats.
NOTE_STATS = {
    "unknown_label": "casescraper/parse/unknown_label",
    "disagree": "casescraper/fidelity/disagree",
    "parties_unavailable": "casescraper/parties/unavailable",
}
# Failures after which the middleware closes the crawl: plan no further numbers.
STOPPING = (Blocked, LayoutChanged, RestartsExhausted)
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")
# A failed query (stuck page, dead browser, network error) says nothing about the number.
UNKNOWN = ("driver_error",)
# The portal answered, even if the answer could not be read or kept.
ANSWERED = ("found", "no_results", "parse_error")
HIGHEST = 9_999_999  # court file numbers have at most 7 digits (casenumbers.CASE_RE)
# `scrapy check`: the contracts' case; they ask a demo court of their own (contracts.py).
CHECK_ARGUMENTS = {"site": "demo", "case": "IMM-3-25"}


def _int_arg(name: str, value: Any, minimum: int, form: str) -> int:
    text = str(value).strip()
    # ASCII digits only ("²" is a digit to isdigit, not to int); int() refuses > 4300 digits.
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < minimum:
        raise ConfigError(f"argument {name}={shown(value)} is invalid: use -a {name}={form}")
    return int(text)


def _bool_arg(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in TRUE + FALSE:
        raise ConfigError(f"argument {name}={shown(value)} is invalid: use -a {name}=1 or -a {name}=0")
    return text in TRUE


class CasesSpider(scrapy.Spider):
    name = "cases"

    # Arguments this spider understands; anything else is a typo worth stopping for.
    ARGUMENTS = {
        "year", "prefix", "court", "start", "end", "max_cases", "case", "cases_file",
        "site", "dry_run", "force_overwrite", "shard", "refresh", "retry_failed_only",
        "probe_only", "_job",
    }
    # Every demo court knob is a demo_* argument (democourt needs no Scrapy: safe to import).
    DEMO_ARGUMENTS = {"demo_last_number", "demo_seed"} | {f"demo_{name}" for name in Knobs.names()}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CasesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._apply_site(crawler)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        for settled in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_settled, signal=settled)
        crawler.signals.connect(spider._spider_error, signal=signals.spider_error)
        return spider

    def __init__(self, *args: Any, **kwargs: Any):
        if os.environ.get("SCRAPY_CHECK") and not {"year", "case", "cases_file"} & set(kwargs):
            kwargs = {**CHECK_ARGUMENTS, **kwargs}  # contracts plan their own requests
        unknown = set(kwargs) - self.ARGUMENTS - self.DEMO_ARGUMENTS
        if unknown:
            raise ConfigError(
                f"unknown argument(s) {', '.join(printable(u, 60) for u in sorted(unknown)[:10])}: accepted are "
                f"{', '.join(sorted(self.ARGUMENTS - {'_job'}))} and demo_* for site=demo"
            )
        # Not **kwargs: Scrapy would copy them onto the spider, and `start=10` would
        # shadow the start() method. Every argument is validated into attributes below.
        super().__init__(*args)
        # `_job` is Scrapyd's job id (Scrapyd 1.5+ passes it only as this argument, no
        # longer as SCRAPY_JOB); _apply_site makes it the run id.
        self.run_args = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        self.job = str(kwargs.get("_job", ""))

        self.prefix = str(kwargs.get("prefix", "IMM")).strip().upper()
        if not casenumbers.PREFIX_RE.match(self.prefix):
            raise ConfigError(f"argument prefix={shown(self.prefix)} is invalid: use -a prefix=IMM (1-5 letters)")
        self.court = str(kwargs.get("court", "t")).strip().lower()
        if self.court not in ("t", "a", "b"):
            raise ConfigError(
                f"argument court={shown(self.court)} is invalid: use -a court=t (Federal Court), a (Appeal) or b (both)"
            )
        self.site = str(kwargs.get("site", "real")).strip().lower()
        if self.site not in SITES:
            raise ConfigError(f"argument site={shown(self.site)} is invalid: use -a site=real or -a site=demo")
        demo_args = set(kwargs) & self.DEMO_ARGUMENTS
        if demo_args and self.site != "demo":
            raise ConfigError(f"argument(s) {', '.join(sorted(demo_args))} need -a site=demo")
        self.dry_run = _bool_arg("dry_run", kwargs["dry_run"]) if "dry_run" in kwargs else None
        self.force_overwrite = (
            _bool_arg("force_overwrite", kwargs["force_overwrite"]) if "force_overwrite" in kwargs else None
        )
        self.explicit = self._explicit_numbers(kwargs)
        self.shard_index, self.shard_count = self._shard(kwargs.get("shard", "1/1"))
        self.year, self.start_n, self.end_n = self._range(kwargs)
        self.refresh = _bool_arg("refresh", kwargs.get("refresh", "0"))
        self.retry_failed_only = _bool_arg("retry_failed_only", kwargs.get("retry_failed_only", "0"))
        self.probe_only = _bool_arg("probe_only", kwargs.get("probe_only", "0"))
        if self.probe_only and (self.explicit is not None or self.end_n is not None):
            raise ConfigError("argument probe_only=1 finds a year's end: it cannot be combined with end, max_cases, case or cases_file")
        # Queries this run sends for numbers (canaries apart): known once the end search is
        # over; at a finished close, exactly the numbers recorded (the progress bar's total).
        self.planned: Optional[int] = None
        self.asks = 0  # queries for numbers sent so far (canaries apart)
        self.resume: Optional[Resume] = None
        self.canary: Optional[Canary] = None
        self.stopping = False
        self._last_status = ""
        # The end search's result, for the run's summary: the year's last file and the
        # numbers asked above it (no data: probes, not cases of the year).
        self.year_last_file: Optional[str] = None
        self.probes_above_end: list[str] = []
        self.failures_in_a_row = 0
        self.last_error = ""
        self.demo = None
        self.demo_court_args = self._demo_court_args()
        self.site_url = ""  # set in _apply_site, once settings are known
        self._pending: Optional[str] = None  # the case asked and not yet settled
        self._waiting: Optional[asyncio.Future] = None

    # --- arguments -----------------------------------------------------------------

    def _explicit_numbers(self, kwargs: dict[str, Any]) -> Optional[list[str]]:
        if "case" in kwargs and "cases_file" in kwargs:
            raise ConfigError("arguments case and cases_file exclude each other: give one")
        if "case" in kwargs:
            return [self._case_arg("case", kwargs["case"])]
        if "cases_file" in kwargs:
            path = Path(str(kwargs["cases_file"]))
            if not path.is_file():
                raise ConfigError(f"argument cases_file={shown(path)}: no such file; give a text file with one case number per line")
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            numbers = [self._case_arg(f"cases_file line {i}", line) for i, line in enumerate(lines, 1) if line and not line.startswith("#")]
            if not numbers:
                raise ConfigError(f"argument cases_file={shown(path)} lists no case numbers")
            return list(dict.fromkeys(numbers))
        return None

    @staticmethod
    def _shard(value: Any) -> tuple[int, int]:
        """`I/N`: this job takes the numbers n with n % N == I - 1 (1-based I).

        Interleaved rather than contiguous blocks: every shard advances through the year
        at the same pace, so a year's open end is found by all shards together.
        """
        match = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", str(value))
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            raise ConfigError(f"argument shard={shown(value)} is invalid: use -a shard=I/N with 1 <= I <= N, e.g. 2/3")
        return int(match.group(1)), int(match.group(2))

    @staticmethod
    def _case_arg(name: str, value: Any) -> str:
        try:
            return str(casenumbers.parse(str(value)))
        except ValueError:
            raise ConfigError(f"{name}={shown(value)} is not a court file number: use the form IMM-12345-25") from None

    def _range(self, kwargs: dict[str, Any]) -> tuple[Optional[int], int, Optional[int]]:
        if self.explicit is not None:
            clash = {"year", "start", "end", "max_cases"} & set(kwargs)
            if clash:
                raise ConfigError(f"argument(s) {', '.join(sorted(clash))} cannot be combined with case/cases_file")
            return None, 1, None
        if "year" not in kwargs:
            raise ConfigError("argument year is required: use -a year=2025 (or -a case=IMM-12345-25)")
        this_year = datetime.now(timezone.utc).year
        year_text = str(kwargs["year"]).strip()
        if not (year_text.isascii() and year_text.isdigit()) or len(year_text) != 4 or not 1971 <= int(year_text) <= this_year + 1:
            raise ConfigError(f"argument year={shown(kwargs['year'])} is invalid: use -a year=YYYY between 1971 and {this_year + 1}")
        year = int(year_text)
        start = _int_arg("start", kwargs.get("start", 1), 1, "N with N >= 1")
        end = None
        if "end" in kwargs and "max_cases" in kwargs:
            raise ConfigError("arguments end and max_cases exclude each other: give one")
        if "end" in kwargs:
            end = _int_arg("end", kwargs["end"], 1, "N with N >= 1")
            if end < start:
                raise ConfigError(f"argument end={end} is below start={start}: use -a end=N with N >= start")
        if "max_cases" in kwargs:
            end = start + _int_arg("max_cases", kwargs["max_cases"], 1, "N with N >= 1") - 1
        if max(start, end or 0) > HIGHEST:
            name = "start" if start > HIGHEST else "end" if "end" in kwargs else "max_cases"
            raise ConfigError(
                f"argument {name}={shown(str(kwargs[name]).strip(), 40)} reaches past {HIGHEST}, the highest "
                f"court file number (7 digits): use a range within 1..{HIGHEST}")
        return year, start, end

    def _apply_site(self, crawler) -> None:
        """Per-site defaults and spider-argument settings, before settings freeze."""
        settings = crawler.settings
        if re.fullmatch(r"[A-Za-z0-9._-]{1,40}", self.job):
            # At settings.py's priority: a config file, the environment and -s still win.
            settings.set("CASESCRAPER_RUN_ID", self.job, priority="project")
        if self.dry_run is not None:
            settings.set("CASESCRAPER_DRY_RUN", self.dry_run, priority="spider")
        if self.force_overwrite is not None:
            settings.set("CASESCRAPER_FORCE_OVERWRITE", self.force_overwrite, priority="spider")
        if self.site == "demo":
            # Same priority as settings.py: the config file, environment and -s still win.
            settings.set("DOWNLOAD_DELAY", 0, priority="project")
            settings.set("CASESCRAPER_REST_SECONDS", 0, priority="project")
            # Fictional files get a default dir of their own (output/demo), so they never
            # stand in for real ones. Only the default moves: an output dir given by -s,
            # the config file or the environment (applied later, at higher priorities) wins.
            if (settings.getpriority("CASESCRAPER_OUTPUT_DIR") or 0) <= SETTINGS_PRIORITIES["project"]:
                base = settings.get("CASESCRAPER_OUTPUT_DIR") or SPECS["CASESCRAPER_OUTPUT_DIR"].default
                settings.set("CASESCRAPER_OUTPUT_DIR", os.path.join(base, "demo"), priority="project")

    def settings_ready(self, settings) -> None:
        """Called by the config add-on once settings are final, before any browser: refuse
        an output dir whose ledger (for the years asked) holds another site's lines."""
        self.ledger_site = Site.of(self.site, settings.get("CASESCRAPER_SITE_URL"))
        if not build_component_list(settings.getwithbase("ITEM_PIPELINES")):
            return  # `scrapy parse`, `scrapy check`: nothing is written, no site to refuse
        years = ({casenumbers.parse(c).year for c in self.explicit} if self.explicit is not None
                 else {self.year})
        Ledger(settings.get("CASESCRAPER_OUTPUT_DIR")).refuse_other_site(years - {None}, self.ledger_site)

    def _demo_court_args(self) -> dict[str, Any]:
        """The demo court's constructor arguments from `demo_*` spider arguments."""
        if self.site != "demo":
            return {}
        from ..democourt import Knobs

        given = {k[len("demo_"):]: v for k, v in self.run_args.items() if k.startswith("demo_")}
        args: dict[str, Any] = {
            "year": self.year or casenumbers.parse(self.explicit[0]).year,
        }
        if "last_number" in given:
            args["last_number"] = _int_arg("demo_last_number", given.pop("last_number"), 1, "N with N >= 1")
        if "seed" in given:
            args["seed"] = _int_arg("demo_seed", given.pop("seed"), 0, "N with N >= 0")
        try:
            args["knobs"] = Knobs.from_strings(given)
        except ValueError as exc:
            raise ConfigError(f"demo court argument: {exc}") from None
        return args

    # --- requests ------------------------------------------------------------------

    def case(self, n: int) -> str:
        return f"{self.prefix}-{n}-{self.year % 100:02d}"

    def mine(self, n: int) -> bool:
        return n % self.shard_count == self.shard_index - 1

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.site_url = self._site_url()
        if self.explicit is not None:
            cases = [c for i, c in enumerate(self.explicit) if self.mine(i + 1)]
            self.planned = len(cases)
            for case in cases:
                async for request in self._ask(case):
                    yield request
                if self.stopping:
                    return
            return
        settings = self.settings
        self.resume = Resume(
            Ledger(settings.get("CASESCRAPER_OUTPUT_DIR")).latest(self.year),
            settings.get("CASESCRAPER_OUTPUT_DIR"), self.prefix, self.year,
            refresh=self.refresh, retry_failed_only=self.retry_failed_only,
        )
        gap = settings.getint("CASESCRAPER_BOUNDARY_GAP")
        self.canary = Canary(settings.getint("CASESCRAPER_CANARY_EVERY"), gap)
        if self.resume.last_known:
            self.canary.known_good = self.case(self.resume.last_known)
        end = self.end_n
        asked: frozenset[int] = frozenset()
        if end is None and not self.retry_failed_only:
            finder = EndFinder(self.start_n, gap, self.resume.known, highest=HIGHEST)
            async for request in self._find_end(finder):
                yield request
            if self.stopping:
                return
            end = finder.last
            self.logger.info(
                "the last file of %d is %s (%d queries to find it)",
                self.year, self.case(end) if end >= self.start_n else "none", finder.queries,
            )
            self.year_last_file = self.case(end) if end >= self.start_n else None
            self.probes_above_end = [self.case(n) for n in finder.asked if n > end]
            self.crawler.stats.set_value("casescraper/probes/above_end", len(self.probes_above_end))
            self.planned = self.asks
            if end < self.start_n:
                self.logger.warning(
                    "no %s files found for %d from number %d: %d consecutive numbers answered no data",
                    self.prefix, self.year, self.start_n, gap,
                )
                return
            if self.probe_only:
                return
            asked = frozenset(finder.asked)  # what resume knew is skipped (and counted) below
        elif end is None:
            end = max(self.resume.failed, default=0)
        plan = Plan(self.start_n, end, self.shard_index, self.shard_count, self.resume, asked)
        self.planned = self.asks + len(plan)
        skipped = plan.skipped()
        if skipped:
            self.logger.info("resuming: %d numbers of %s..%s are already done", skipped,
                             self.case(self.start_n), self.case(end))
            if settings.getdict("FEEDS"):
                self.logger.info("the feed holds only the cases of this run, not those %d: "
                                 "add -a refresh=1 to collect every number again", skipped)
        for n in plan:
            async for request in self._ask(self.case(n)):
                yield request
            if self.stopping:
                return

    async def _find_end(self, finder: EndFinder) -> AsyncIterator[scrapy.Request]:
        """Ask what the end search asks; a failed query is asked again (it taught nothing)."""
        while (n := finder.ask()) is not None:
            async for request in self._ask(self.case(n)):
                yield request
            if self.stopping:
                return
            if self._last_status not in UNKNOWN:
                finder.tell(n, self._last_status != "no_results")

    async def _ask(self, case: str, canary: bool = False) -> AsyncIterator[scrapy.Request]:
        """Yield the request for `case`, wait until it is settled, then run a canary if due."""
        self._pending = case
        self._waiting = asyncio.get_running_loop().create_future()
        if not canary:
            self.asks += 1
        yield self.case_request(case, canary)
        self._last_status = status = await self._waiting
        self._pending = self._waiting = None
        if status == "stop":
            self.stopping = True  # the crawl is closing (blocked, layout, restarts, canary)
            return
        if self._portal_unreachable(status) or canary or self.canary is None:
            return
        self.canary.record(case, status)
        check = self.canary.due()
        if check is not None:
            async for request in self._ask(check, canary=True):
                yield request
            if not self.stopping:
                self._last_status = status

    def _portal_unreachable(self, status: str) -> bool:
        """Count failed queries in a row; at the limit, stop the crawl (portal_unreachable)."""
        if status in ANSWERED:
            self.failures_in_a_row = 0
        elif status in UNKNOWN:
            self.failures_in_a_row += 1
        limit = self.settings.getint("CASESCRAPER_MAX_CONSECUTIVE_FAILURES")
        if self.failures_in_a_row < limit:
            return False
        self.logger.error("the portal gave no answer %d times in a row; last error: %s; stopping "
                          "(portal_unreachable): check the network and CASESCRAPER_SITE_URL, then "
                          "run again to resume", self.failures_in_a_row, self.last_error)
        self.stopping = True
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="portal_unreachable"))
        return True

    def _site_url(self) -> str:
        if self.site != "demo":
            return self.settings.get("CASESCRAPER_SITE_URL")
        from ..democourt import DemoCourt

        self.demo = DemoCourt(**self.demo_court_args)
        url = self.demo.start()
        self.logger.info("demo court serving at %s", url)
        return url

    def case_request(self, case: str, canary: bool = False) -> scrapy.Request:
        return scrapy.Request(
            f"{self.site_url}#{case}",
            callback=self.parse_case,
            errback=self.case_failed,
            # URL fragments do not count in fingerprints: every number is distinct anyway.
            dont_filter=True,
            meta={"casescraper": {"case": case, "court": self.court, "canary": canary}},
        )

    def _answer(self, status: str) -> None:
        """The pending case is settled: let start() go on."""
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(status)

    async def _outcome(self, case: str, status: str, error: Optional[str] = None,
                       diagnostics: Optional[str] = None) -> None:
        """Report a number that produced no record; returns once it is recorded."""
        await self.crawler.signals.send_catch_log_async(
            signal=case_outcome, case_number=case, status=status, error=error,
            diagnostics=diagnostics, spider=self)

    # --- responses -----------------------------------------------------------------

    async def parse_case(self, response: Response):
        """Turn one captured case into a CaseItem; any other outcome goes to the ledger.

        `scrapy check cases` runs these contracts on a demo court it starts (offline):
        @demo_case IMM-3-25
        @returns items 1 1
        @returns requests 0 0
        @scrapes case_number court style_of_cause filing_date parties docket_entries source_url
        @demo_record
        """
        capture = response.meta.get("casescraper") or {}
        if "found" not in capture:
            raise ConfigError("parse_case needs a page captured by casescraper's middleware: request "
                              "it with meta['casescraper'] (or use `scrapy parse <court-files URL>#<case>`)")
        case = capture["case"]
        if capture["canary"]:
            if capture["found"]:
                self.canary.passed()
                self.crawler.stats.inc_value("casescraper/canaries/passed")
                self._answer("found")
            else:
                await self._canary_failed(case)
            return
        if not capture["found"]:
            await self._outcome(case, "no_results")
            self._answer("no_results")
            return
        answers = capture.get("answers") or []
        zone = capture.get("timezone") or self.settings.get("CASESCRAPER_TIMEZONE")
        try:
            parsed = parser.read_case(response.text, answers=answers, court=self.court, case_number=case,
                                      page_url=response.url, timezone=zone)
        except ParseError as exc:
            await self._outcome(case, "parse_error", error=str(exc), diagnostics=capture.get("diagnostics"))
            self._answer("parse_error")
            return
        for note in parsed.notes:
            self.crawler.stats.inc_value(NOTE_STATS.get(note.kind, f"casescraper/parse/{note.kind}"))
            self.logger.warning("%s: %s", case, note.message)
        kept = evidence.build(case_number=case, captured_at=capture["captured_at"], source_url=response.url,
                              court=self.court, answers=answers, html=response.text, timezone=zone)
        # Settled (and start() goes on) when the item has left the pipelines: _item_settled.
        yield CaseItem(**parsed.record, source_url=response.url, scraped_at=capture["captured_at"],
                       evidence=kept)

    def _item_settled(self, item: Any, **_: Any) -> None:
        """item_scraped / item_dropped / item_error: the pending case's record is saved, was
        already there, or could not be written; the portal found it either way."""
        if isinstance(item, CaseItem) and self._pending is not None \
                and item.case_number.upper() == self._pending.upper():
            self._answer("found")

    def _spider_error(self, failure: Any, response: Any, **_: Any) -> None:
        """A callback raised (a bug): count the case as unanswered rather than wait forever."""
        case = getattr(response, "meta", {}).get("casescraper", {}).get("case")
        if case is not None and case == self._pending:
            self.last_error = f"{case}: {failure.value!r}"
            self._answer("driver_error")

    async def _canary_failed(self, case: str) -> None:
        """A number known to exist answered "no data": the portal is degraded or blocking."""
        suspect = list(self.canary.suspect)
        self.crawler.stats.inc_value("casescraper/canaries/failed")
        self.logger.error(
            "canary %s answered no data although it exists: stopping (canary_failed); "
            "%d recent no-data answers are marked unverified for the next run", case, len(suspect),
        )
        for number in suspect:
            await self._outcome(number, "unverified", error=f"canary {case} answered no data after it")
        self._answer("stop")
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="canary_failed"))

    async def case_failed(self, failure) -> None:
        request = failure.request
        meta = request.meta["casescraper"]
        case = meta["case"]
        exc = failure.value
        status = "blocked" if isinstance(exc, Blocked) else "driver_error"
        detail = str(exc) if isinstance(exc, BrowserError) else f"{type(exc).__name__}: {exc}"
        self.last_error = f"{case}: {detail}" if not detail.startswith(case) else detail
        if meta.get("canary"):
            # A canary is a health check, not a case: its failure is no ledger line (the
            # number stays saved), and it is asked again after the next case.
            self.crawler.stats.inc_value("casescraper/canaries/errors")
        else:
            await self._outcome(case, status, error=detail, diagnostics=getattr(exc, "diagnostics", None))
        self._answer("stop" if isinstance(exc, STOPPING) else status)

    def _closed(self, reason: str) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()
        if self.demo is not None:
            self.demo.stop()
