"""One crawl per year and output dir at a time: `ledger/<YYYY>.lock`, held with `flock`.

Two crawls of the same year into the same output dir would ask every number twice and
record every change twice. The lock is an `flock` on a file below the output dir, so it
dies with its process (kill -9 included) and needs no clean-up; a second start refuses
with one line naming the running one (its run id, process id, host, start time, which it
wrote into the lock file).

Shards (`shard=I/N`) run side by side on purpose: each holds the year's lock shared and
its own `ledger/<YYYY>.shard-I-of-N.lock` exclusively, so two shards of the same number
conflict, and so does a whole-year run with any shard. Hosts with an output dir each (the
distributed mode) never meet here.
"""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import datetime, timezone
from typing import Iterable, Optional

from casescraper.errors import OutputError, printable
from casescraper.store.fileops import makedirs_durable
from casescraper.store.layout import Layout

# path -> descriptor of every lock this process holds: held until the process ends (the
# start-up check and the crawl itself may ask twice in one process).
_HELD: dict[str, int] = {}


def _identity(run_id: str) -> bytes:
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"run {run_id}, process {os.getpid()} on {socket.gethostname()}, since {started}\n".encode()


def _lock(path: str, mode: int, run_id: str) -> bool:
    """Take the lock at `path` (fcntl.LOCK_EX or LOCK_SH) without waiting; False when held."""
    if path in _HELD:
        return True
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    if mode == fcntl.LOCK_EX:  # who holds it, for the refusal of the next one
        os.ftruncate(fd, 0)
        os.pwrite(fd, _identity(run_id), 0)
    _HELD[path] = fd
    return True


def _holder(path: str) -> str:
    try:
        with open(path, "rb") as f:
            text = f.read(300).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return printable(text, 200) or "another crawl"


def _live_shards(layout: Layout, year: int) -> list[str]:
    """What the year's shard locks held by other processes say about their holders."""
    prefix = f"{year:04d}.shard-"
    held = []
    for name in sorted(os.listdir(layout.ledger_dir())):
        path = os.path.join(layout.ledger_dir(), name)
        if not (name.startswith(prefix) and name.endswith(".lock")) or path in _HELD:
            continue
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(_holder(path))
        finally:
            os.close(fd)
    return held


def take(output_dir: str, years: Iterable[int], run_id: str,
         shard: Optional[tuple[int, int]] = None) -> None:
    """Hold the run locks of `years` until this process ends; OutputError (one line
    naming the running crawl) when another crawl holds one."""
    layout = Layout(output_dir)
    sharded = shard is not None and shard[1] > 1
    try:
        makedirs_durable(layout.ledger_dir())
        for year in sorted(set(years)):
            whole = layout.lock_path(year)
            if not _lock(whole, fcntl.LOCK_SH if sharded else fcntl.LOCK_EX, run_id):
                others = _live_shards(layout, year) or [_holder(whole)]
                raise OutputError(
                    f"year {year} of {layout.root} is being crawled already ({'; '.join(others)}): "
                    "wait for that crawl to end, or give this one another output dir "
                    "(-s CASESCRAPER_OUTPUT_DIR=DIR)")
            if sharded:
                path = layout.lock_path(year, shard)
                if not _lock(path, fcntl.LOCK_EX, run_id):
                    raise OutputError(
                        f"shard {shard[0]}/{shard[1]} of year {year} of {layout.root} is being "
                        f"crawled already ({_holder(path)}): start each shard once")
    except OSError as exc:
        raise OutputError(f"output directory {layout.root}: cannot take the run lock: "
                          f"{exc.strerror or exc} ({exc.filename or layout.ledger_dir()})") from None


def release(output_dir: str) -> None:
    """Give up this process's locks below `output_dir` (the crawl there has ended)."""
    ledger_dir = Layout(output_dir).ledger_dir() + os.sep
    for path in [p for p in _HELD if p.startswith(ledger_dir)]:
        os.close(_HELD.pop(path))
