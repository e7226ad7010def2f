"""What is known of a year's end: found by a run's end search (which run, at which
number), or never searched because every run of the year was bounded (`end`,
`max_cases`, a case list). Read from the run manifests (`runs/<run_id>.json`).

Coverage is only a share of the year when its end is known: a `max_cases=50` run
answers every number of 1..50 and says nothing of the numbers above. `report`, its HTML
page and DATASET.md say "end not searched: coverage of 1..50 only" then.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

from casescraper.errors import printable
from casescraper.frontier import casenumbers
from casescraper.store.fileops import open_regular

RUNS_DIR = "runs"
# A manifest far larger than any run's is not read (a hostile or broken file).
MAX_MANIFEST_BYTES = 64 << 20


@dataclass
class YearEnd:
    year: int
    last_file: Optional[str] = None  # the year's last file, as the latest end search found it
    run_id: Optional[str] = None  # the run whose end search found it
    found_at: str = ""  # when that run finished (ISO, UTC)
    bounds: list[str] = field(default_factory=list)  # how the other runs were bounded

    def last_number(self, prefix: str) -> Optional[int]:
        """The end's number when it was found for case numbers of `prefix`."""
        try:
            parsed = casenumbers.parse(self.last_file or "")
        except (ValueError, AttributeError):
            return None
        return parsed.n if parsed.prefix == prefix else None

    def describe(self, prefix: str) -> str:
        """`IMM-279-25, found by run R` or `not searched (max_cases=50)`."""
        if self.last_number(prefix) is not None:
            return f"{printable(self.last_file, 40)}, found by run {printable(self.run_id, 80)}"
        how = ", ".join(printable(b, 60) for b in self.bounds[:4]) or "no run of the year searched it"
        return f"not searched ({how})"


def not_searched(first: int, last: Optional[int]) -> str:
    """The coverage of a year whose end was never searched."""
    return f"end not searched: coverage of {first}..{last if last is not None else '?'} only"


def _bound(arguments: dict[str, Any]) -> Optional[str]:
    for name in ("end", "max_cases"):
        if arguments.get(name) not in (None, ""):
            return f"{name}={printable(arguments[name], 20)}"
    if arguments.get("case") or arguments.get("cases_file"):
        return "a case list"
    return None


def _manifests(output_dir: str) -> list[dict[str, Any]]:
    directory = os.path.join(output_dir, RUNS_DIR)
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith("."))
    except OSError:
        return []
    found = []
    for name in names:
        fd = None
        try:
            fd = open_regular(os.path.join(directory, name))
            if fd is None:
                continue
            with os.fdopen(fd, "rb") as f:
                fd = None
                data = json.loads(f.read(MAX_MANIFEST_BYTES))
        except (OSError, ValueError, RecursionError):
            continue  # a manifest that cannot be read tells nothing; the ledger still counts
        finally:
            if fd is not None:
                os.close(fd)
        if isinstance(data, dict):
            found.append(data)
    return found


def year_end(output_dir: str, year: int) -> YearEnd:
    """What the run manifests of `output_dir` know of `year`'s end."""
    end = YearEnd(year)
    for m in _manifests(output_dir):
        years = m.get("years")
        parts = [m] + ([p for p in years.values() if isinstance(p, dict)] if isinstance(years, dict) else [])
        arguments = m.get("arguments") if isinstance(m.get("arguments"), dict) else {}
        finished = str(m.get("finished_at") or "")
        for part in parts:
            last = part.get("year_last_file")
            if isinstance(last, str) and casenumbers.year_of(last) == year:
                if finished >= end.found_at:  # the latest search wins
                    end.last_file, end.run_id, end.found_at = last, str(m.get("run_id")), finished
        if str(arguments.get("year", "")).strip() == str(year) or _mentions(arguments, year):
            bound = _bound(arguments)
            if bound and bound not in end.bounds:
                end.bounds.append(bound)
    return end


def _mentions(arguments: dict[str, Any], year: int) -> bool:
    """Whether a case-list run asked for a number of `year` (`case=IMM-1-25`)."""
    case = arguments.get("case")
    return isinstance(case, str) and casenumbers.year_of(case) == year
