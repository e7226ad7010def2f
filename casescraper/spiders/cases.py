"""The `cases` spider: what to fetch.

One request per court file number, sent one at a time: each request waits for the
previous number's answer, because when to stop (the end of a year) depends on it.
The browser work happens in the Selenium middleware; this spider only plans numbers,
turns captures into items through the parser, and reports outcomes.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Optional

import scrapy
from scrapy import signals
from scrapy.http import Response

from .. import casenumbers, parser
from ..config import REAL_SITE_URL
from ..errors import (
    Blocked, BrowserError, ConfigError, LayoutChanged, ParseError, RestartsExhausted,
)
from ..items import CaseItem, CaseOutcome

SITES = ("real", "demo")
# Failures after which the middleware closes the crawl: plan no further numbers.
STOPPING = (Blocked, LayoutChanged, RestartsExhausted)
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


def _int_arg(name: str, value: Any, minimum: int, form: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) < minimum:
        raise ConfigError(f"argument {name}={value!r} is invalid: use -a {name}={form}")
    return int(text)


def _bool_arg(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in TRUE + FALSE:
        raise ConfigError(f"argument {name}={value!r} is invalid: use -a {name}=1 or -a {name}=0")
    return text in TRUE


class CasesSpider(scrapy.Spider):
    name = "cases"

    # Arguments this spider understands; anything else is a typo worth stopping for.
    ARGUMENTS = {
        "year", "prefix", "court", "start", "end", "max_cases", "case", "cases_file",
        "site", "dry_run", "force_overwrite", "shard", "_job",
    }
    DEMO_ARGUMENTS = {
        "demo_last_number", "demo_seed", "demo_latency_ms", "demo_forbid_after",
        "demo_hang_on", "demo_sticky_modal_on", "demo_slow_modal_on", "demo_slow_modal_ms", "demo_layout",
        "demo_consent_banner", "demo_error_rate", "demo_nodata_after",
    }

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "CasesSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._apply_site(crawler)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def __init__(self, *args: Any, **kwargs: Any):
        unknown = set(kwargs) - self.ARGUMENTS - self.DEMO_ARGUMENTS
        if unknown:
            raise ConfigError(
                f"unknown argument(s) {', '.join(sorted(unknown))}: accepted are "
                f"{', '.join(sorted(self.ARGUMENTS - {'_job'}))} and demo_* for site=demo"
            )
        super().__init__(*args, **kwargs)
        # `_job` is Scrapyd's job id; the run id comes from it via SCRAPY_JOB (config.py).
        self.run_args = {k: v for k, v in kwargs.items() if not k.startswith("_")}

        self.prefix = str(kwargs.get("prefix", "IMM")).strip().upper()
        if not casenumbers.PREFIX_RE.match(self.prefix):
            raise ConfigError(f"argument prefix={self.prefix!r} is invalid: use -a prefix=IMM (1-5 letters)")
        self.court = str(kwargs.get("court", "t")).strip().lower()
        if self.court not in ("t", "a", "b"):
            raise ConfigError(
                f"argument court={self.court!r} is invalid: use -a court=t (Federal Court), a (Appeal) or b (both)"
            )
        self.site = str(kwargs.get("site", "real")).strip().lower()
        if self.site not in SITES:
            raise ConfigError(f"argument site={self.site!r} is invalid: use -a site=real or -a site=demo")
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
        self.demo = None
        self.demo_court_args = self._demo_court_args()
        self.site_url = ""  # set in _apply_site, once settings are known
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
                raise ConfigError(f"argument cases_file={str(path)!r}: no such file; give a text file with one case number per line")
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            numbers = [self._case_arg(f"cases_file line {i}", line) for i, line in enumerate(lines, 1) if line and not line.startswith("#")]
            if not numbers:
                raise ConfigError(f"argument cases_file={str(path)!r} lists no case numbers")
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
            raise ConfigError(f"argument shard={value!r} is invalid: use -a shard=I/N with 1 <= I <= N, e.g. 2/3")
        return int(match.group(1)), int(match.group(2))

    @staticmethod
    def _case_arg(name: str, value: Any) -> str:
        try:
            return str(casenumbers.parse(str(value)))
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a court file number: use the form IMM-12345-25") from None

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
        if not year_text.isdigit() or not 1971 <= int(year_text) <= this_year + 1:
            raise ConfigError(f"argument year={kwargs['year']!r} is invalid: use -a year=YYYY between 1971 and {this_year + 1}")
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
        return year, start, end

    def _apply_site(self, crawler) -> None:
        """Per-site defaults and spider-argument settings, before settings freeze."""
        settings = crawler.settings
        if self.dry_run is not None:
            settings.set("CASESCRAPER_DRY_RUN", self.dry_run, priority="spider")
        if self.force_overwrite is not None:
            settings.set("CASESCRAPER_FORCE_OVERWRITE", self.force_overwrite, priority="spider")
        if self.site == "demo":
            # Same priority as settings.py: the config file, environment and -s still win.
            settings.set("DOWNLOAD_DELAY", 0, priority="project")
            settings.set("CASESCRAPER_REST_SECONDS", 0, priority="project")

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

    def numbers(self) -> Iterable[str]:
        if self.explicit is not None:
            mine = (c for i, c in enumerate(self.explicit) if i % self.shard_count == self.shard_index - 1)
            yield from mine
            return
        n = self.start_n
        while self.end_n is None or n <= self.end_n:
            if n % self.shard_count == self.shard_index - 1:
                yield f"{self.prefix}-{n}-{self.year % 100:02d}"
            n += 1

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.site_url = self._site_url()
        no_data_stop = self.settings.getint("CASESCRAPER_NO_DATA_STOP")
        open_ended = self.explicit is None and self.end_n is None
        consecutive = 0
        for case in self.numbers():
            self._waiting = asyncio.get_running_loop().create_future()
            yield self.case_request(case)
            status = await self._waiting
            if status == "stop":
                return  # the middleware is closing the crawl (blocked, layout, restarts)
            consecutive = consecutive + 1 if status == "no_results" else 0
            if open_ended and consecutive >= no_data_stop:
                self.logger.info(
                    "%d consecutive numbers with no data up to %s: taking it as the end of the year",
                    consecutive, case,
                )
                return

    def _site_url(self) -> str:
        if self.site != "demo":
            return self.settings.get("CASESCRAPER_SITE_URL")
        from ..democourt import DemoCourt

        self.demo = DemoCourt(**self.demo_court_args)
        url = self.demo.start()
        self.logger.info("demo court serving at %s", url)
        return url

    def case_request(self, case: str) -> scrapy.Request:
        return scrapy.Request(
            f"{self.site_url}#{case}",
            callback=self.parse_case,
            errback=self.case_failed,
            # URL fragments do not count in fingerprints: every number is distinct anyway.
            dont_filter=True,
            meta={"casescraper": {"case": case, "court": self.court}},
        )

    def _answer(self, status: str) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(status)

    # --- responses -----------------------------------------------------------------

    def parse_case(self, response: Response):
        capture = response.meta["casescraper"]
        case = capture["case"]
        if not capture["found"]:
            self._answer("no_results")
            yield CaseOutcome(case, "no_results")
            return
        try:
            fields = parser.parse_case(response.text, court=self.court, case_number=case)
        except ParseError as exc:
            self._answer("parse_error")
            yield CaseOutcome(case, "parse_error", error=str(exc), diagnostics=capture.get("diagnostics"))
            return
        self._answer("found")
        yield CaseItem(**fields, source_url=response.url, scraped_at=capture["captured_at"])

    def case_failed(self, failure):
        request = failure.request
        case = request.meta["casescraper"]["case"]
        exc = failure.value
        status = "blocked" if isinstance(exc, Blocked) else "driver_error"
        self._answer("stop" if isinstance(exc, STOPPING) else status)
        detail = str(exc) if isinstance(exc, BrowserError) else f"{type(exc).__name__}: {exc}"
        yield CaseOutcome(case, status, error=detail, diagnostics=getattr(exc, "diagnostics", None))

    def _closed(self, reason: str) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()
        if self.demo is not None:
            self.demo.stop()
