"""The `cases` spider's arguments (`-a NAME=VALUE`), checked into one `RunArguments`.

Pure: no Scrapy, no settings. Every mistake is a ConfigError of one line naming the
argument and the form it takes, raised before any browser starts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from casescraper.frontier import casenumbers
from casescraper.frontier.planning import Facts
from casescraper.frontier.run import Frontier
from casescraper.config import FALSE_WORDS, TRUE_WORDS
from casescraper.democourt import Knobs
from casescraper.errors import ConfigError, printable, shown

SITES = ("real", "demo")
# An empty value (`-a refresh=`) also means false.
TRUE, FALSE = TRUE_WORDS, FALSE_WORDS | {""}
HIGHEST = casenumbers.HIGHEST_N
# `scrapy check`: the contracts' case; they ask a demo court of their own (contracts.py).
CHECK_ARGUMENTS = {"site": "demo", "case": "IMM-3-25"}
# Arguments the spider understands; anything else is a typo worth stopping for.
ARGUMENTS = frozenset({
    "year", "years", "prefix", "court", "start", "end", "max_cases", "case", "cases_file",
    "site", "dry_run", "force_overwrite", "shard", "refresh", "retry_failed_only",
    "probe_only", "queue", "_job",
})
# With queue=NAME the job's tasks say what to ask: these arguments would be ignored.
QUEUE_EXCLUDES = {
    "year": "the job's tasks say which years (give them to enqueue --years)",
    "years": "the job's tasks say which years (give them to enqueue --years)",
    "case": "the job's tasks say which numbers (queue them with enqueue --from-gaps or a new job)",
    "cases_file": "the job's tasks say which numbers (queue them with enqueue --from-gaps or a new job)",
    "shard": "the workers of a job share its tasks (start more workers instead)",
    "start": "the job's tasks say which numbers (give it to enqueue --start)",
    "end": "the job's tasks say which numbers (give it to enqueue --end)",
    "max_cases": "the job's tasks say which numbers (give enqueue --end)",
    "prefix": "the job says which prefix (give it to enqueue --prefix)",
    "court": "the job says which court (give it to enqueue --court)",
    "probe_only": "an end search is a task of the job (enqueue without --end)",
    "retry_failed_only": "use python -m casescraper queue retry-failed for the job",
    "refresh": "a job asks each number once (enqueue a new job to ask again)",
    "dry_run": "a worker's ledger lines are what the job counts as done",
}
QUEUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Every demo court knob is a demo_* argument (democourt needs no Scrapy: safe to import).
DEMO_ARGUMENTS = frozenset({"demo_last_number", "demo_seed"} | {f"demo_{name}" for name in Knobs.names()})


@dataclass
class RunArguments:
    prefix: str = "IMM"
    court: str = "t"
    site: str = "real"
    dry_run: Optional[bool] = None  # None: the setting decides
    force_overwrite: Optional[bool] = None
    explicit: Optional[list[str]] = None  # case / cases_file numbers, in order
    shard_index: int = 1
    shard_count: int = 1
    year: Optional[int] = None  # the first of `years` (None with case/cases_file)
    # Years asked, ascending: [year] for `year`, several for `years`, [] for case/cases_file.
    years: list[int] = field(default_factory=list)
    start_n: int = 1
    end_n: Optional[int] = None
    refresh: bool = False
    retry_failed_only: bool = False
    probe_only: bool = False
    queue: Optional[str] = None  # the job's name: its tasks say what to ask (queue/)
    job: str = ""  # Scrapyd's job id (`_job`)
    run_args: dict[str, Any] = field(default_factory=dict)  # as given, for the run manifest
    demo_court_args: dict[str, Any] = field(default_factory=dict)  # DemoCourt(**...)

    def frontier(self, options: Any, facts: Callable[[int], Facts]) -> Frontier:
        """The frontier these arguments ask for, with the crawl's Options and `facts(year)`
        (what earlier runs settled: the ledger's)."""
        return Frontier(
            facts=facts, boundary_gap=options.boundary_gap, canary_every=options.canary_every,
            max_consecutive_failures=options.max_consecutive_failures, prefix=self.prefix,
            years=self.years, cases=self.explicit, start=self.start_n, end=self.end_n,
            shard_index=self.shard_index, shard_count=self.shard_count, refresh=self.refresh,
            retry_failed_only=self.retry_failed_only, probe_only=self.probe_only)


def int_arg(name: str, value: Any, minimum: int, form: str) -> int:
    text = str(value).strip()
    # ASCII digits only ("²" is a digit to isdigit, not to int); int() refuses > 4300 digits.
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < minimum:
        raise ConfigError(f"argument {name}={shown(value)} is invalid: use -a {name}={form}")
    return int(text)


def bool_arg(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text not in TRUE | FALSE:
        raise ConfigError(f"argument {name}={shown(value)} is invalid: use -a {name}=1 or -a {name}=0")
    return text in TRUE


def parse_arguments(kwargs: dict[str, Any]) -> RunArguments:
    """The spider's arguments, checked; ConfigError names the first mistake."""
    if os.environ.get("SCRAPY_CHECK") and not {"year", "case", "cases_file"} & set(kwargs):
        kwargs = {**CHECK_ARGUMENTS, **kwargs}  # contracts plan their own requests
    unknown = set(kwargs) - ARGUMENTS - DEMO_ARGUMENTS
    if unknown:
        raise ConfigError(
            f"unknown argument(s) {', '.join(printable(u, 60) for u in sorted(unknown)[:10])}: accepted are "
            f"{', '.join(sorted(ARGUMENTS - {'_job'}))} and demo_* for site=demo"
        )
    a = RunArguments(run_args={k: v for k, v in kwargs.items() if not k.startswith("_")},
                     job=str(kwargs.get("_job", "")))
    if "queue" in kwargs:
        return _queue_worker(a, kwargs)
    a.prefix = str(kwargs.get("prefix", "IMM")).strip().upper()
    if not casenumbers.PREFIX_RE.match(a.prefix):
        raise ConfigError(f"argument prefix={shown(a.prefix)} is invalid: use -a prefix=IMM (1-5 letters)")
    a.court = str(kwargs.get("court", "t")).strip().lower()
    if a.court not in ("t", "a", "b"):
        raise ConfigError(
            f"argument court={shown(a.court)} is invalid: use -a court=t (Federal Court), a (Appeal) or b (both)"
        )
    a.site = _site(kwargs)
    if "dry_run" in kwargs:
        a.dry_run = bool_arg("dry_run", kwargs["dry_run"])
    if "force_overwrite" in kwargs:
        a.force_overwrite = bool_arg("force_overwrite", kwargs["force_overwrite"])
    a.explicit = _explicit_numbers(kwargs)
    a.shard_index, a.shard_count = _shard(kwargs.get("shard", "1/1"))
    a.years, a.start_n, a.end_n = _range(kwargs, a.explicit)
    a.year = a.years[0] if a.years else None
    a.refresh = bool_arg("refresh", kwargs.get("refresh", "0"))
    a.retry_failed_only = bool_arg("retry_failed_only", kwargs.get("retry_failed_only", "0"))
    a.probe_only = bool_arg("probe_only", kwargs.get("probe_only", "0"))
    if a.probe_only and (a.explicit is not None or a.end_n is not None):
        raise ConfigError("argument probe_only=1 finds a year's end: it cannot be combined with end, max_cases, case or cases_file")
    a.demo_court_args = _demo_court_args(a)
    return a


def _site(kwargs: dict[str, Any]) -> str:
    """The site asked (real or demo); demo_* arguments only with the demo court."""
    site = str(kwargs.get("site", "real")).strip().lower()
    if site not in SITES:
        raise ConfigError(f"argument site={shown(site)} is invalid: use -a site=real or -a site=demo")
    demo_args = set(kwargs) & DEMO_ARGUMENTS
    if demo_args and site != "demo":
        raise ConfigError(f"argument(s) {', '.join(sorted(demo_args))} need -a site=demo")
    return site


def _queue_worker(a: RunArguments, kwargs: dict[str, Any]) -> RunArguments:
    """queue=NAME: a worker of a job; the job says prefix, court, years and numbers."""
    for name in QUEUE_EXCLUDES:
        if name in kwargs:
            raise ConfigError(f"argument queue excludes {name}: {QUEUE_EXCLUDES[name]}")
    a.queue = str(kwargs["queue"]).strip()
    if not QUEUE_NAME.fullmatch(a.queue):
        raise ConfigError(f"argument queue={shown(kwargs['queue'])} is invalid: use -a queue=NAME "
                          "(1-64 letters, digits, '.', '_' or '-')")
    a.site = _site(kwargs)
    if "force_overwrite" in kwargs:
        a.force_overwrite = bool_arg("force_overwrite", kwargs["force_overwrite"])
    a.demo_court_args = _demo_court_args(a)
    return a


def _explicit_numbers(kwargs: dict[str, Any]) -> Optional[list[str]]:
    if "case" in kwargs and "cases_file" in kwargs:
        raise ConfigError("arguments case and cases_file exclude each other: give one")
    if "case" in kwargs:
        return [_case_arg("case", kwargs["case"])]
    if "cases_file" in kwargs:
        path = Path(str(kwargs["cases_file"]))
        if not path.is_file():
            raise ConfigError(f"argument cases_file={shown(path)}: no such file; give a text file with one case number per line")
        try:
            numbers = casenumbers.watch_list(path.read_text(encoding="utf-8"))
        except casenumbers.NotACaseNumber as exc:
            raise ConfigError(f"cases_file line {exc.line_number}={shown(exc.text)} is not a court file "
                              "number: use the form IMM-12345-25") from None
        if not numbers:
            raise ConfigError(f"argument cases_file={shown(path)} lists no case numbers")
        return numbers
    return None


def _shard(value: Any) -> tuple[int, int]:
    """`I/N`: this job takes the numbers n with n % N == I - 1 (1-based I).

    Interleaved rather than contiguous blocks: every shard advances through the year
    at the same pace, so a year's open end is found by all shards together.
    """
    match = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", str(value))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ConfigError(f"argument shard={shown(value)} is invalid: use -a shard=I/N with 1 <= I <= N, e.g. 2/3")
    return int(match.group(1)), int(match.group(2))


def _case_arg(name: str, value: Any) -> str:
    try:
        return str(casenumbers.parse(str(value)))
    except ValueError:
        raise ConfigError(f"{name}={shown(value)} is not a court file number: use the form IMM-12345-25") from None


def _years(kwargs: dict[str, Any]) -> list[int]:
    """`year=2025` or `years=2019-2021,2023` (ascending, distinct)."""
    if "year" in kwargs and "years" in kwargs:
        raise ConfigError("arguments year and years exclude each other: give one "
                          "(-a year=2025, or -a years=2019-2025 for several)")
    if "years" in kwargs:
        return casenumbers.parse_years(str(kwargs["years"]), "argument years")
    if "year" not in kwargs:
        raise ConfigError("argument year is required: use -a year=2025, -a years=2019-2025 "
                          "(or -a case=IMM-12345-25)")
    year = casenumbers.one_year(str(kwargs["year"]))
    if year is None:
        raise ConfigError(f"argument year={shown(kwargs['year'])} is invalid: use -a year=YYYY between "
                          f"{casenumbers.FIRST_YEAR} and {casenumbers.last_year()}")
    return [year]


def _range(kwargs: dict[str, Any], explicit: Optional[list[str]]) -> tuple[list[int], int, Optional[int]]:
    """(years, start, end): `start` applies to every year; `end`/`max_cases` take one year."""
    if explicit is not None:
        clash = {"year", "years", "start", "end", "max_cases"} & set(kwargs)
        if clash:
            raise ConfigError(f"argument(s) {', '.join(sorted(clash))} cannot be combined with case/cases_file")
        return [], 1, None
    years = _years(kwargs)
    # A year's end differs from year to year: one `end` for several would cut some short.
    limit = sorted({"end", "max_cases"} & set(kwargs))
    if limit and len(years) > 1:
        raise ConfigError(f"argument {limit[0]} applies to one year, and years gives {len(years)}: "
                          "drop it (each year's end is found), or run each year with -a year=YYYY")
    start = int_arg("start", kwargs.get("start", 1), 1, "N with N >= 1")
    end = None
    if "end" in kwargs and "max_cases" in kwargs:
        raise ConfigError("arguments end and max_cases exclude each other: give one")
    if "end" in kwargs:
        end = int_arg("end", kwargs["end"], 1, "N with N >= 1")
        if end < start:
            raise ConfigError(f"argument end={end} is below start={start}: use -a end=N with N >= start")
    if "max_cases" in kwargs:
        end = start + int_arg("max_cases", kwargs["max_cases"], 1, "N with N >= 1") - 1
    if max(start, end or 0) > HIGHEST:
        name = "start" if start > HIGHEST else "end" if "end" in kwargs else "max_cases"
        raise ConfigError(
            f"argument {name}={shown(str(kwargs[name]).strip(), 40)} reaches past {HIGHEST}, the highest "
            f"court file number (7 digits): use a range within 1..{HIGHEST}")
    return years, start, end


def _demo_court_args(a: RunArguments) -> dict[str, Any]:
    """The demo court's constructor arguments from `demo_*` spider arguments."""
    if a.site != "demo":
        return {}
    given = {k[len("demo_"):]: v for k, v in a.run_args.items() if k.startswith("demo_")}
    # A queue worker's demo court serves each task's year as it comes (use_demo_year).
    year = a.year or (casenumbers.parse(a.explicit[0]).year if a.explicit else casenumbers.last_year() - 1)
    args: dict[str, Any] = {"year": year}
    if "last_number" in given:
        args["last_number"] = int_arg("demo_last_number", given.pop("last_number"), 1, "N with N >= 1")
    if "seed" in given:
        args["seed"] = int_arg("demo_seed", given.pop("seed"), 0, "N with N >= 0")
    try:
        args["knobs"] = Knobs.from_strings(given)
    except ValueError as exc:
        raise ConfigError(f"demo court argument: {exc}") from None
    return args
