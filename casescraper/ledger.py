"""What is done: an append-only JSON Lines ledger per case year, `<output>/ledger/<YYYY>.jsonl`.

One line per attempt at a case number. Each line goes out in a single `os.write` to an
O_APPEND descriptor while holding an exclusive `flock`, then fsync, so lines written by
several processes never interleave. A line torn by a killed process is skipped by the
readers (with a warning), and the next writer starts a fresh line after it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Optional

from casescraper.items import STATUSES
from casescraper.storage import fsync_dir, makedirs_durable

logger = logging.getLogger(__name__)

_YEAR_FILE = re.compile(r"^([0-9]{4})\.jsonl$")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Ledger:
    def __init__(self, output_dir: str):
        self.dir = os.path.join(os.path.abspath(output_dir), "ledger")
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
        }
        if diagnostics is not None:
            entry["diagnostics"] = diagnostics
        self.append(entry, year)
        return entry

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
            except FileNotFoundError:
                continue
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
