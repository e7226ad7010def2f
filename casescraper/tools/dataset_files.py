"""Which file of each case `dataset` exports: its latest file, as the ledger names it.

- The ledger first: the file that the case's latest `saved`, `changed` or `unchanged`
  line names (`items.FOUND`), when it is in the year's folder and exists below the output
  dir (`Ledger.file_of`). An `unchanged` line names the file that holds the case's data,
  even when a newer name lies beside it (a file whose ledger line was lost).
- Else by name: file names are `<case>-<YYYYMMDD>[-N].json`; the highest date, then the
  highest suffix, wins. So for a case the ledger has no line of (files from before the
  ledger, a lost ledger), and for one whose named file is gone.

Chosen from the ledger and the directory listing alone, so each chosen file is read
once and older versions are never opened. Memory: numbers of a year are dense (1..its
last), so two int64 slots per number and prefix (the highest name, the ledger's file),
ordered by construction; a dict only for names of another shape.
"""

from __future__ import annotations

import fcntl
import os
import posixpath
import re
import secrets
import shutil
from array import array
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from casescraper.frontier import casenumbers
from casescraper.errors import OutputError, UnsafeCaseNumber
from casescraper.items import FOUND
from casescraper.store.fileops import digest, fsync_dir, makedirs_durable, remove_file, write_json_atomic
from casescraper.store.layout import CASE_FILE_NAME as FILE_NAME
from casescraper.store.ledger import Ledger
from casescraper.store.storage import safe_name

_DENSE_MAX = 1_000_000  # a slot array stays under 8 MB; a higher number (none seen) goes to the dict
_NONE = array("q")


def _version(name: str) -> Optional[tuple[str, int]]:
    """(stem, version) of a case file name: the version orders a case's files (date, suffix)."""
    m = FILE_NAME.match(name)
    return (m["stem"], int(m["day"]) * 10**6 + int(m["n"] or 0)) if m else None


def _file_name(stem: str, version: int) -> str:
    day, n = divmod(version, 10**6)
    return f"{stem}-{day:08d}{f'-{n}' if n else ''}.json"


class _Versions:
    """A version per file stem (0: none): an int64 slot per number of a canonical case
    number (the stem is the number itself), a dict for stems of another shape."""

    def __init__(self) -> None:
        self.slots: dict[tuple[str, str], array] = {}  # (prefix, yy) -> version by number
        self.odd: dict[str, int] = {}  # stem -> version

    def put(self, stem: str, version: int, highest: bool) -> None:
        """Set the stem's version; `highest`: keep the higher of it and the one held."""
        m = casenumbers.CASE_RE.match(stem)  # not parse(): the stem must be the number as written
        n = int(m[2]) if m else 0
        if not 0 < n <= _DENSE_MAX:
            self.odd[stem] = max(version, self.odd.get(stem, 0)) if highest else version
            return
        slots = self.slots.setdefault((m[1], m[3]), array("q"))
        if n >= len(slots):  # grow geometrically: amortized O(1) per number
            slots.frombytes(bytes(8 * (max(n + 1, 2 * len(slots)) - len(slots))))
        slots[n] = max(version, slots[n]) if highest else version


class Latest:
    """Each case's file to export: the ledger's (checked by `exists`), else its highest name."""

    def __init__(self, exists: Callable[[str], bool] = lambda name: True) -> None:
        self.by_name, self.by_ledger = _Versions(), _Versions()
        self.exists = exists  # whether a file name of the folder names a file to read

    def listed(self, name: str) -> bool:
        """Count a listed file name; False when it is not a case file's."""
        found = _version(name)
        if found is not None:
            self.by_name.put(*found, highest=True)
        return found is not None

    def named(self, stem: str, name: Optional[str]) -> None:
        """The ledger's latest found line of the case with that stem names file `name`
        of the folder (None: no file there)."""
        found = _version(name) if name else None
        self.by_ledger.put(stem, found[1] if found and found[0] == stem else 0, highest=False)

    def _pick(self, stem: str, ledger: int, name: int) -> int:
        return ledger if ledger and self.exists(_file_name(stem, ledger)) else name

    def names(self) -> Iterator[str]:
        """File names in case order: prefix, number; names of another shape last, by text."""
        for prefix, yy in sorted(self.by_name.slots.keys() | self.by_ledger.slots.keys()):
            by_name = self.by_name.slots.get((prefix, yy), _NONE)
            by_ledger = self.by_ledger.slots.get((prefix, yy), _NONE)
            for n in range(1, max(len(by_name), len(by_ledger))):
                ledger = by_ledger[n] if n < len(by_ledger) else 0
                name = by_name[n] if n < len(by_name) else 0
                if not (ledger or name):
                    continue  # no file of that number
                stem = casenumbers.format(prefix, n, int(yy))  # a two-digit year shows as itself
                version = self._pick(stem, ledger, name)
                if version:  # 0: the ledger's file is gone and none is listed
                    yield _file_name(stem, version)
        for stem in sorted(self.by_name.odd.keys() | self.by_ledger.odd.keys()):
            version = self._pick(stem, self.by_ledger.odd.get(stem, 0), self.by_name.odd.get(stem, 0))
            if version:
                yield _file_name(stem, version)


def latest_files(directory: str, warn: Callable[[str], None], ledger: Optional[Ledger] = None,
                 year: int = 0, folder: str = "",
                 recorded: Optional[dict[str, tuple[str, Optional[int]]]] = None) -> tuple[Iterator[str], int]:
    """(names of each case's file to export in case order, number of case files listed);
    `ledger` (its `year`) names the cases' latest files, else the names alone decide;
    `folder`: `directory` relative to the output dir, as ledger lines name it; `recorded`
    gets, per file name, the SHA-256 and size the last line naming it recorded."""
    latest, listed = Latest(), 0
    with os.scandir(directory) as it:
        for entry in it:
            if entry.name.startswith("."):
                continue  # a running crawl's temp files
            if not entry.is_file() or not latest.listed(entry.name):
                warn(f"{os.path.join(directory, entry.name)}: not a case file name "
                     "(<case>-<YYYYMMDD>[-N].json); ignored")
                continue
            listed += 1
    if ledger is not None:
        _read_ledger(latest, ledger, year, warn, folder or f"json/{year:04d}",
                     {} if recorded is None else recorded)
    return latest.names(), listed


def _read_ledger(latest: Latest, ledger: Ledger, year: int, warn: Callable[[str], None],
                 folder: str, recorded: dict[str, tuple[str, Optional[int]]]) -> None:
    try:
        for entry in ledger.records(year):  # file order: the last found line of a case wins
            if entry["status"] not in FOUND:
                continue
            try:
                stem = safe_name(entry["case_number"])
            except UnsafeCaseNumber:
                continue  # no file can bear its name
            # file_path is trusted (ledger.py): relative, no `..`; only this folder's files count
            where, _, name = posixpath.normpath(entry.get("file_path") or ".").rpartition("/")
            latest.named(stem, name if where == folder else None)
            if where == folder and isinstance(entry.get("sha256"), str):
                recorded[name] = (entry["sha256"], entry.get("size"))
    except (OSError, OutputError) as exc:
        latest.by_ledger = _Versions()
        warn(f"the ledger of {year} could not be read ({exc}); each case's file is chosen by "
             "its name (the highest date, then the highest -N)")
        return
    latest.exists = lambda name: ledger.file_of(f"{folder}/{name}") is not None


# --- publishing the tables as one set ---------------------------------------------

SET_MANIFEST = "dataset.json"
_STAGE = re.compile(r"^\.dataset\.([0-9]+)\.[0-9a-f]{16}\.tmp$")


@contextmanager
def staging(out_dir: str) -> Iterator[str]:
    """A hidden directory in `out_dir` to write a set into, removed afterwards; held under
    an flock, so that a later export removes it only when its writer died (sweep)."""
    makedirs_durable(os.path.abspath(out_dir))
    sweep_stages(out_dir)
    stage = os.path.join(out_dir, f".dataset.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    os.mkdir(stage, 0o755)
    fd = os.open(os.path.join(stage, ".lock"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        os.close(fd)


def sweep_stages(out_dir: str) -> list[str]:
    """Remove the staging directories of exports that died; returns their paths."""
    removed = []
    for name in os.listdir(out_dir):
        match = _STAGE.match(name)
        path = os.path.join(out_dir, name)
        if match is None or os.path.islink(path) or not os.path.isdir(path):
            continue
        try:
            fd = os.open(os.path.join(path, ".lock"), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:  # died before its lock existed, or is creating it now
            if _alive(int(match[1])):
                continue
            fd = None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live export
        finally:
            if fd is not None:
                os.close(fd)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish_set(stage: str, out_dir: str, names: list[str], rows: dict[str, int]) -> None:
    """Move the files of a finished set from `stage` into `out_dir`, then name them in
    `dataset.json` (their SHA-256, size and the tables' rows), written last: the previous
    manifest goes first, so that no manifest ever names a mixed set. A reader that finds
    no manifest, or files not matching it, has not got a whole set."""
    files = {}
    for name in names:
        sha, size = digest(os.path.join(stage, name)) or ("", 0)
        files[name] = {"sha256": sha, "bytes": size}
    for name in names:
        with open(os.path.join(stage, name), "rb+") as f:
            os.fsync(f.fileno())
    manifest = os.path.join(out_dir, SET_MANIFEST)
    remove_file(manifest)
    fsync_dir(out_dir)
    for name in names:
        os.replace(os.path.join(stage, name), os.path.join(out_dir, name))
    fsync_dir(out_dir)
    write_json_atomic(manifest, {"files": files, "rows": rows})
