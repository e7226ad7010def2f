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

import os
import posixpath
import re
from array import array
from typing import Callable, Iterator, Optional

from casescraper.frontier import casenumbers
from casescraper.errors import OutputError, UnsafeCaseNumber
from casescraper.items import FOUND
from casescraper.store.ledger import Ledger
from casescraper.store.storage import safe_name

# `<stem>-<YYYYMMDD>[-N].json` as storage.CaseStore names them; the stem may hold dashes.
FILE_NAME = re.compile(r"^(?P<stem>.+)-(?P<day>[0-9]{8})(?:-(?P<n>[1-9][0-9]{0,5}))?\.json$")
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
                 year: int = 0) -> tuple[Iterator[str], int]:
    """(names of each case's file to export in case order, number of case files listed);
    `ledger` (its `year`) names the cases' latest files, else the names alone decide."""
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
        _read_ledger(latest, ledger, year, warn)
    return latest.names(), listed


def _read_ledger(latest: Latest, ledger: Ledger, year: int, warn: Callable[[str], None]) -> None:
    folder = f"json/{year:04d}"
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
    except (OSError, OutputError) as exc:
        latest.by_ledger = _Versions()
        warn(f"the ledger of {year} could not be read ({exc}); each case's file is chosen by "
             "its name (the highest date, then the highest -N)")
        return
    latest.exists = lambda name: ledger.file_of(f"{folder}/{name}") is not None
