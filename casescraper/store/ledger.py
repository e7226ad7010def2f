"""What is done: an append-only JSON Lines ledger per case year, `<output>/ledger/<YYYY>.jsonl`.

One line per attempt at a case number. Each line goes out in a single `os.write` to an
O_APPEND descriptor while holding an exclusive `flock`, then fsync, so lines written by
several processes never interleave. A line torn by a killed process is skipped by the
readers (with a warning), and the next writer starts a fresh line after it.

Reading trusts nothing: a line must be a JSON object of the known shape and types
(ledger_lines.py: checked for nesting depth before it is parsed, so a `[[[...` line cannot exhaust the
stack), else it is skipped with one warning naming the file and line; a `file_path`
that could lead outside the output dir (absolute, `..`) is dropped, so that number
counts as not saved.

The ledger owns "is this number settled": `Ledger.standing` says what a line means,
`Ledger.facts` gives a year's numbers by standing (what a crawl resumes from) and
`Ledger.latest_found` each case's latest file (what a new record is compared with).

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
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import urlsplit

from casescraper.frontier import casenumbers
from casescraper.config import valid_run_id
from casescraper.errors import OutputError, UnsafeCaseNumber, printable, shown
from casescraper.store.fileops import digest, fsync_dir, kind_of, makedirs_durable, open_regular
from casescraper.store.layout import CASE_FILE_NAME, LEDGER_NAME, Layout
from casescraper.store.safe_read import Unreadable, read_case_file
from casescraper.store.storage import safe_name
from casescraper.items import FAILED, FILED, FOUND, STATUSES
from casescraper.store.ledger_lines import (
    MAX_DEPTH, MAX_LINE, line_problem, line_time, too_deep, trusted_path,
)
from casescraper.frontier.planning import Facts

logger = logging.getLogger(__name__)

MAX_WARNINGS = 20  # per file read: then one line counting the rest
# A line's standing (Ledger.standing): what it says about its number.
STANDINGS = ("found", "missing_file", "no_results", "failed", "dry_run", "incomplete")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _lines(f: Any) -> Iterator[tuple[int, Optional[bytes]]]:
    """(line number, line) of a binary file; None for a line over MAX_LINE bytes, which is
    skipped without holding it in memory."""
    lineno = 0
    while raw := f.readline(MAX_LINE + 1):
        lineno += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = f.readline(MAX_LINE)
            yield lineno, None
        else:
            yield lineno, raw


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
        name = printable(self.name, 40)  # both may come from a ledger line: echoed cut, escaped
        return f"{name} ({printable(self.host, 80)})" if self.host else name


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
        self.layout = Layout(output_dir)
        self.root = self.layout.root
        self.dir = self.layout.ledger_dir()
        self.site = site  # recorded on every line written
        self._fds: dict[int, int] = {}
        self._warned: set[str] = set()  # files named in a file_problem warning
        # flock does not exclude threads sharing one descriptor, so threads take this first.
        self._lock = threading.Lock()

    def path(self, year: int) -> str:
        return self.layout.ledger_path(year)

    # --- writing
    def record(self, case_number: str, status: str, *, run_id: str, year: int,
               file_path: Optional[str] = None, error: Optional[str] = None,
               diagnostics: Optional[str] = None, at: Optional[str] = None,
               changes: Optional[dict[str, Any]] = None, answered_at: Optional[str] = None) -> dict[str, Any]:
        """Append one attempt's line and return it (`changes`: a `changed` line's;
        `answered_at`: the portal's time of the answer, its Date header, when known)."""
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
        if status in FILED and trusted_path(file_path):
            # What the file held when the line was written: readers check it (file_problem).
            found = digest(os.path.join(self.root, *file_path.split("/")))
            if found is not None:
                entry["sha256"], entry["size"] = found
        if diagnostics is not None:
            entry["diagnostics"] = diagnostics
        if changes is not None:
            entry["changes"] = changes
        if answered_at is not None:
            entry["answered_at"] = answered_at
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
        return sorted(int(m.group(1)) for m in map(LEDGER_NAME.match, names) if m)

    def records(self, year: Optional[int] = None) -> Iterator[dict[str, Any]]:
        """Every valid line, in file order, of one year or of all years (see the module's
        docstring for what is skipped). OutputError when a ledger is not a regular file."""
        for y in [year] if year is not None else self.years():
            path = self.path(y)
            fd = open_regular(path)
            if fd is None:
                try:
                    mode = os.lstat(path).st_mode
                except (FileNotFoundError, NotADirectoryError):
                    continue  # no ledger for that year (yet)
                raise OutputError(f"{path} is {kind_of(mode)}, not a ledger file; move it away")
            with os.fdopen(fd, "rb") as f:
                yield from self._read(path, f)

    def _read(self, path: str, f: Any) -> Iterator[dict[str, Any]]:
        skipped = 0
        latest: Optional[tuple[datetime, int]] = None  # the latest time so far, and its line
        warned = False
        for lineno, raw in _lines(f):
            if raw is not None and not raw.strip():
                continue
            entry, why = self._parse(raw)
            if why is not None:
                skipped += 1
                if skipped <= MAX_WARNINGS:
                    logger.warning("%s:%d: skipping a ledger line: %s", path, lineno, why)
                continue
            if entry.get("file_path") and not trusted_path(entry["file_path"]):
                logger.warning("%s:%d: file_path %s could lead outside the output directory: not "
                               "trusted (%s counts as not saved)", path, lineno,
                               shown(entry["file_path"], 80), shown(entry["case_number"], 40))
                entry["file_path"] = None
            if entry.get("file_path") == "":
                entry["file_path"] = None  # names no file
            at = line_time(entry.get("at"))
            if at is not None and latest is not None and at < latest[0] - BACKWARDS_SLACK and not warned:
                warned = True  # once per file: one clock fault makes many such lines
                logger.warning("%s:%d: recorded at %s, before line %d (%s): a clock went back; "
                               "the ledger's order, not its times, says what came last", path, lineno,
                               at.isoformat(), latest[1], latest[0].isoformat())
            if at is not None and (latest is None or at > latest[0]):
                latest = (at, lineno)
            yield entry
        if skipped > MAX_WARNINGS:
            logger.warning("%s: %d more bad ledger lines skipped (%d in all)", path,
                           skipped - MAX_WARNINGS, skipped)

    @staticmethod
    def _parse(raw: Optional[bytes]) -> tuple[Any, Optional[str]]:
        """(the line's record, None), or (None, why it is not one)."""
        if raw is None:
            return None, f"longer than {MAX_LINE} bytes"
        if too_deep(raw):  # before parsing: json.loads would recurse that deep
            return None, f"nested deeper than {MAX_DEPTH} levels"
        try:
            entry = json.loads(raw)
        except ValueError:
            return None, "torn or malformed (not JSON)"
        return entry, line_problem(entry)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.records()

    def latest(self, year: int) -> dict[str, dict[str, Any]]:
        """The last record per case number in that year's ledger."""
        return {entry["case_number"]: entry for entry in self.records(year)}

    def latest_found(self, year: int) -> dict[str, dict[str, Any]]:
        """The last `saved`, `changed`, `unchanged` or `incomplete` line per case number in
        that year's ledger: its file_path is the case's latest file (None when not trusted)."""
        return {entry["case_number"]: entry for entry in self.records(year)
                if entry["status"] in FILED}

    def case_subdir(self, year: int) -> Optional[str]:
        """The case files' folder (CASESCRAPER_PER_CASE_SUBDIR of the crawl that wrote them)
        as the year's ledger names it: that of its last found line naming a file, so that
        readers find the files where the crawl put them; None without such a line."""
        folder = None
        for entry in self.records(year):
            if entry["status"] in FILED and entry.get("file_path"):
                folder = Layout.top_of(entry["file_path"]) or folder
        return folder

    # --- what a line means
    def file_of(self, file_path: Any) -> Optional[str]:
        """The absolute path when a ledger's file_path names a regular file below the
        output dir (symbolic links resolved), else None."""
        if not trusted_path(file_path):
            return None
        path = os.path.join(self.root, file_path)
        root = os.path.realpath(self.root)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            return None
        return path if os.path.isfile(path) else None

    def file_problem(self, entry: dict[str, Any], path: str) -> Optional[str]:
        """Why the file a found line names is not that case's file as the line recorded it
        (None: it is): a name not of the line's case, other bytes than the line's SHA-256
        and size, or (a line written before those were recorded) another case inside."""
        case_number = entry.get("case_number")
        match = CASE_FILE_NAME.match(os.path.basename(path))
        try:
            stem = safe_name(str(case_number))
        except UnsafeCaseNumber:
            stem = None
        if match is None or match["stem"] != stem:
            return f"its name is not a file name of {shown(case_number, 40)}"
        if isinstance(entry.get("sha256"), str):
            if digest(path) != (entry["sha256"], entry.get("size")):
                return "its bytes differ from the SHA-256 and size its ledger line recorded"
            return None
        try:
            inside = read_case_file(path).get("case_number")
        except Unreadable as exc:
            return str(exc)
        if inside != case_number:
            return f"it holds case {shown(inside, 40)}, not {shown(case_number, 40)}"
        return None

    def checked(self, entry: dict[str, Any], path: str) -> bool:
        """Whether the file passes file_problem; a file that does not is named in one
        warning (once per file) and counts as not saved: resume asks its number again."""
        problem = self.file_problem(entry, path)
        if problem is None:
            return True
        rel = entry.get("file_path")
        if rel not in self._warned:
            self._warned.add(rel)
            logger.warning("%s: %s; not trusted (%s counts as not saved)", shown(rel, 120),
                           problem, shown(entry.get("case_number"), 40))
        return False

    def standing(self, entry: dict[str, Any]) -> tuple[str, Optional[str]]:
        """(standing, file) of a ledger line: `found` (a saved, changed or unchanged case
        whose file exists; file = its absolute path), `missing_file` (found, but the file
        is gone or not trusted), `no_results`, `failed` (any failure status), `dry_run` or
        `incomplete` (found, parts unread: asked again; file = its path if it is there);
        file is None but for `found` and `incomplete`."""
        status = entry.get("status")
        if status in FOUND:
            path = self.file_of(entry.get("file_path"))
            if path is not None and self.checked(entry, path):
                return "found", path
            return "missing_file", None
        if status == "incomplete":
            path = self.file_of(entry.get("file_path"))
            return "incomplete", path if path is not None and self.checked(entry, path) else None
        if status == "no_results":
            return "no_results", None
        if status in FAILED:
            return "failed", None
        return "dry_run", None

    def facts(self, year: int, prefix: str,
              latest: Optional[dict[str, dict[str, Any]]] = None) -> Facts:
        """The numbers n of `<prefix>-n-<yy>` in `year` by their latest line's standing
        (`latest`: Ledger.latest(year), read when not given). A found case whose file is
        gone counts as failed: asked again."""
        facts = Facts(set(), set(), set())
        closed = year_closed(year)
        for case, line in (self.latest(year) if latest is None else latest).items():
            try:
                number = casenumbers.parse(case)
            except ValueError:
                continue  # another kind of number in the same year's ledger
            if number.prefix != prefix or number.year != year:
                continue
            standing, _ = self.standing(line)
            if standing == "found":
                facts.found.add(number.n)
            elif standing == "no_results":
                facts.no_results.add(number.n)
                if _answered_after(line, closed):
                    facts.final.add(number.n)
            elif standing != "dry_run":  # failures, incomplete cases and missing files
                facts.failed.add(number.n)
        return facts

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
        if not valid_run_id(run_id):  # as CASESCRAPER_RUN_ID: a plain file name
            return Site("real")
        path = self.layout.manifest_path(run_id)
        try:
            fd = open_regular(path)  # a FIFO there must not hang the crawl
            if fd is None:
                return Site("real")  # no manifest (killed run, or removed): the old default
            with os.fdopen(fd, "rb") as f:
                manifest = json.loads(f.read())
        except (OSError, ValueError, RecursionError):
            return Site("real")
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


# Writers take a line's time before the ledger's lock: lines of processes writing side by
# side may be this much out of order without any clock being wrong.
BACKWARDS_SLACK = timedelta(minutes=2)
# GUESS: how long after 31 December a file of the year may still turn up on the portal.
CLOSE_GRACE = timedelta(days=31)


def year_closed(year: int) -> datetime:
    """When a year is over for good: after it, no new file of the year appears, so a "no
    data" answered later is final even above the year's last known file."""
    return datetime(year + 1, 1, 1, tzinfo=timezone.utc) + CLOSE_GRACE


def _answered_after(line: dict[str, Any], moment: datetime) -> bool:
    """By the portal's clock (the answer's Date header), never ours: a machine whose clock
    runs fast must not close a year that is still open. A line without the portal's time
    (written before it was recorded, or the portal sent none) is not known to be final."""
    at = line_time(line.get("answered_at"))
    return at is not None and at >= moment
