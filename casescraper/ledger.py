"""What is done: an append-only JSON Lines ledger per case year, `<output>/ledger/<YYYY>.jsonl`.

One line per attempt at a case number. Each line goes out in a single `os.write` to an
O_APPEND descriptor while holding an exclusive `flock`, then fsync, so lines written by
several processes never interleave. A line torn by a killed process is skipped by the
readers (with a warning), and the next writer starts a fresh line after it.

Every line names the site that answered (`site`: `real` or `demo`; `site_host`: the real
site's host name), so that fictional demo data never stands in for real data: a crawl
refuses to resume from another site's lines and `report` refuses to merge sites. A line
written before sites were recorded has neither field: it takes the `site` argument kept
in its run's manifest (`runs/<run_id>.json`), else counts as `real`, host unknown.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import urlsplit

from casescraper.errors import OutputError
from casescraper.items import STATUSES
from casescraper.storage import fsync_dir, makedirs_durable

logger = logging.getLogger(__name__)

_YEAR_FILE = re.compile(r"^([0-9]{4})\.jsonl$")
_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")  # as CASESCRAPER_RUN_ID: a plain file name


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass(frozen=True)
class Site:
    """Which site answered: `real` (with its host name when known) or `demo`."""

    name: str
    host: Optional[str] = None

    @classmethod
    def of(cls, site: str, url: str) -> "Site":
        """The site of a crawl: spider argument `site` and the URL it drives."""
        # The demo court's host is always loopback on a fresh port: not worth recording.
        return cls("demo") if site == "demo" else cls("real", urlsplit(url).hostname or None)

    @classmethod
    def of_line(cls, entry: dict[str, Any]) -> "Site":
        """The site of a ledger line; a line without one is real, host unknown."""
        name = str(entry.get("site") or "real")
        host = entry.get("site_host") if name == "real" else None
        return cls(name, str(host) if host else None)

    def fields(self) -> dict[str, str]:
        return {"site": self.name, **({"site_host": self.host} if self.host else {})}

    def clashes(self, other: "Site") -> bool:
        """True when data of the two cannot be merged (an unknown host clashes with none)."""
        return self.name != other.name or bool(self.host and other.host and self.host != other.host)

    def __str__(self) -> str:
        return f"{self.name} ({self.host})" if self.host else self.name


def clashing(sites: Iterable[Site]) -> Optional[tuple[Site, Site]]:
    """The first two sites that cannot be merged, or None."""
    seen: list[Site] = []
    for site in sites:
        for other in seen:
            if site.clashes(other):
                return other, site
        if site not in seen:
            seen.append(site)
    return None


class Ledger:
    def __init__(self, output_dir: str, site: Optional[Site] = None):
        self.dir = os.path.join(os.path.abspath(output_dir), "ledger")
        self.site = site  # recorded on every line written
        self._fds: dict[int, int] = {}
        # flock does not exclude threads sharing one descriptor, so threads take this first.
        self._lock = threading.Lock()

    def path(self, year: int) -> str:
        return os.path.join(self.dir, f"{year:04d}.jsonl")

    # --- writing
    def record(self, case_number: str, status: str, *, run_id: str, year: int,
               file_path: Optional[str] = None, error: Optional[str] = None,
               diagnostics: Optional[str] = None, at: Optional[str] = None) -> dict[str, Any]:
        """Append one attempt's line and return it."""
        if status not in STATUSES:
            raise ValueError(f"unknown ledger status {status!r}; expected one of {', '.join(STATUSES)}")
        entry: dict[str, Any] = {
            "case_number": case_number,
            "status": status,
            "file_path": file_path,
            "error": error,
            "run_id": run_id,
            "at": at or utc_now(),
            **self.site_fields(),
        }
        if diagnostics is not None:
            entry["diagnostics"] = diagnostics
        self.append(entry, year)
        return entry

    def site_fields(self) -> dict[str, str]:
        """`site` and `site_host` for a ledger line or a run manifest; {} for no site."""
        return self.site.fields() if self.site else {}

    def append(self, entry: dict[str, Any], year: int) -> None:
        # ASCII escapes keep any case number (even lone surrogates) on one valid line.
        line = (json.dumps(entry, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
        with self._lock:
            fd = self._fd(year)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a killed writer left a torn line: start after it
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, f"short ledger write ({written} of {len(line)} bytes)",
                                  self.path(year))
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _fd(self, year: int) -> int:
        fd = self._fds.get(year)
        if fd is None:
            path = self.path(year)
            makedirs_durable(self.dir)
            created = not os.path.exists(path)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            if created:
                fsync_dir(self.dir)  # the new file's directory entry must survive a crash too
            self._fds[year] = fd
        return fd

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    # --- reading (resume)
    def years(self) -> list[int]:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for m in map(_YEAR_FILE.match, names) if m)

    def records(self, year: Optional[int] = None) -> Iterator[dict[str, Any]]:
        """Every well-formed line, in file order, of one year or of all years."""
        for y in [year] if year is not None else self.years():
            path = self.path(y)
            try:
                f = open(path, "rb")
            except (FileNotFoundError, NotADirectoryError):
                continue  # no ledger for that year (yet)
            with f:
                for lineno, raw in enumerate(f, 1):
                    if not raw.strip():
                        continue
                    try:
                        entry = json.loads(raw)
                    except ValueError:
                        logger.warning("%s:%d: skipping a torn or malformed ledger line", path, lineno)
                        continue
                    if not isinstance(entry, dict) or not {"case_number", "status"} <= entry.keys():
                        logger.warning("%s:%d: skipping a line that is not a ledger record", path, lineno)
                        continue
                    yield entry

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.records()

    def latest(self, year: int) -> dict[str, dict[str, Any]]:
        """The last record per case number in that year's ledger."""
        return {entry["case_number"]: entry for entry in self.records(year)}

    def sites(self, year: int) -> dict[Site, int]:
        """Lines per site in that year's ledger, in order of first appearance."""
        counts: dict[Site, int] = {}
        by_run: dict[str, Site] = {}  # sites of lines written before sites were recorded
        for entry in self.records(year):
            if "site" in entry:
                site = Site.of_line(entry)
            else:
                run = str(entry.get("run_id") or "")
                if run not in by_run:
                    by_run[run] = self._run_site(run)
                site = by_run[run]
            counts[site] = counts.get(site, 0) + 1
        return counts

    def _run_site(self, run_id: str) -> Site:
        """The `site` argument in a run's manifest; real when there is none."""
        if not _RUN_ID.fullmatch(run_id):
            return Site("real")
        path = os.path.join(os.path.dirname(self.dir), "runs", f"{run_id}.json")
        try:
            with open(path, "rb") as f:
                manifest = json.load(f)
        except (OSError, ValueError):
            return Site("real")  # no manifest (killed run, or removed): the old default
        arguments = manifest.get("arguments") if isinstance(manifest, dict) else None
        site = arguments.get("site") if isinstance(arguments, dict) else None
        return Site("demo") if str(site).strip().lower() == "demo" else Site("real")

    def refuse_other_site(self, years: Iterable[int], site: Site) -> None:
        """OutputError when a ledger of those years holds lines of a site clashing with `site`."""
        for year in sorted(set(years)):
            try:
                other = next((s for s in self.sites(year) if s.clashes(site)), None)
            except OSError as exc:
                raise OutputError(f"output directory {os.path.dirname(self.dir)}: cannot read "
                                  f"{self.path(year)}: {exc.strerror or exc}") from None
            if other is not None:
                raise OutputError(
                    f"{self.path(year)} holds lines of site {other}, this crawl is site {site}: "
                    "give each site its own output dir (-s CASESCRAPER_OUTPUT_DIR=DIR)")
