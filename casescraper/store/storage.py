"""Case files on disk: safe names, where each record goes, never-overwrite publishing
(through `fileops`), and the start-up check of the output dir.

Pure file logic, no Scrapy. Publishing is `fileops.publish_new`: temp + fsync + `os.link`
+ directory fsync, so two writers never overwrite each other and a reader never sees a
partial file; the start-up sweep removes only temps whose writer died.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

import fastjsonschema
import jsonschema

from casescraper.frontier.casenumbers import year_of
from casescraper.errors import (
    InvalidRecord, OutputError, SuffixLimitReached, UnsafeCaseNumber, shown,
)
from casescraper.store.fileops import (
    TEMP_OVERHEAD, fill_durably, fsync_dir, kind_of, locked_temp, makedirs_durable,
    publish_new, remove_file, replace_durably, sweep_temps,
)
from casescraper.items import SCHEMA_FILES, case_schema
from casescraper.store.safe_read import Unreadable, read_case_file
from casescraper.store.layout import LEDGER, LEDGER_NAME, OTHER_DIRS, YEAR_NAME, Layout

logger = logging.getLogger(__name__)

NAME_MAX = 255  # bytes in one path component on every filesystem we target
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_DASH_RUNS = re.compile(r"-{2,}")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)]
)
# Provenance, not case data: a same-day record that differs only here is the file already
# there (a resume after kill -9 may ask again, possibly through another address).
_IGNORED_IN_COMPARISON = ("scraped_at", "source_url", "file_path")
_HARDLINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}


@dataclass(frozen=True)
class Saved:
    path: str  # absolute path of the case file
    rel_path: str  # posix path relative to the output dir, as in the file's `file_path`
    # "created", "existing" (identical record already there), "replaced" (force_overwrite),
    # or "unchanged" (nothing written: the case's latest file, of any day, holds its data)
    outcome: str


def safe_name(case_number: str, suffix_limit: int = 100, what: str = "case number") -> str:
    """The file-name stem for a case number: ASCII `[A-Za-z0-9._-]`, never hidden or reserved."""
    text = unicodedata.normalize("NFKC", case_number)
    name = _DASH_RUNS.sub("-", _UNSAFE_CHARS.sub("-", text)).lstrip(".-")
    # Only ASCII is left, so characters are bytes; keep one byte for the reserved-name "_".
    # The stem is followed by "-YYYYMMDD", then the suffix and ".json" or the temp tail.
    tail = max(TEMP_OVERHEAD, len("-") + len(str(suffix_limit)) + len(".json"))
    name = name[: NAME_MAX - len("-YYYYMMDD") - tail - 1]
    if name in ("", ".", ".."):
        raise UnsafeCaseNumber(
            f"{what} {shown(case_number, 80)} has no character usable in a file name "
            "(it needs at least one of A-Z a-z 0-9 _ after leading dots and dashes)"
        )
    stem, dot, rest = name.partition(".")
    if stem.upper() in _RESERVED:  # Windows devices, also as "nul.txt"
        name = f"{stem}_{dot}{rest}"
    return name


def case_year(case_number: str, when: datetime) -> int:
    """The year of the number's `-yy` suffix (`IMM-12-25` -> 2025), else `when`'s year."""
    return year_of(unicodedata.normalize("NFKC", case_number)) or when.year


@cache
def _validator(version: int) -> jsonschema.protocols.Validator:
    schema = case_schema(version)
    return jsonschema.validators.validator_for(schema)(schema)


@cache
def _quick_check(version: int) -> Callable[[Any], Any]:
    """The schema compiled to Python: ~10x faster than jsonschema on a valid record, which
    every case file is. No defaults filled in (it would change the record), no format
    checks (jsonschema does none either); the schemas use only keywords whose meaning is
    the same in its draft 7 and in 2020-12 (tests/test_validation.py holds them to agree)."""
    return fastjsonschema.compile(case_schema(version), use_default=False, use_formats=False)


def validate_record(record: dict[str, Any]) -> None:
    """Against the schema of the record's own version: v2 when it says schema_version 2,
    v1 (the files written before versions existed) when it has none."""
    version = record.get("schema_version", 1)
    if type(version) is not int or version not in SCHEMA_FILES or version == 1 and "schema_version" in record:
        raise InvalidRecord(f"$.schema_version: {str(version)[:40]} is not a case file schema "
                            f"version (new records say {max(SCHEMA_FILES)}; v1 files have none)")
    try:
        _quick_check(version)(record)
        return
    except fastjsonschema.JsonSchemaValueException as exc:
        quick = exc
    # Invalid: jsonschema names the error (its best match among all of them).
    error = jsonschema.exceptions.best_match(_validator(version).iter_errors(record))
    if error is not None:
        where, message = error.json_path, error.message
    else:  # only the compiled check objects (no such record is known): the stricter one wins
        where, message = "$" + (quick.name or "data").removeprefix("data"), quick.message
    message = " ".join(message.split())
    message = message if len(message) <= 200 else message[:197] + "..."
    raise InvalidRecord(f"{where}: {message}")


def serialize(record: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False)
        return (text + "\n").encode("utf-8")
    except (ValueError, TypeError) as exc:  # lone surrogates, NaN, non-JSON values
        raise InvalidRecord(f"record cannot be written as UTF-8 JSON: {exc}") from exc


def comparable(plain: dict[str, Any]) -> dict[str, Any]:
    """A record as read back from its file, without the fields that differ between runs:
    its case data (also what `history` compares with a case's latest file). Document urls
    are compared without their origin: like source_url, the address the portal was
    reached through is provenance, not case data."""
    out = {k: v for k, v in plain.items() if k not in _IGNORED_IN_COMPARISON}
    entries = out.get("docket_entries")
    if isinstance(entries, list):
        out["docket_entries"] = [_without_origin(e) for e in entries]
    return out


def _without_origin(entry: Any) -> Any:
    document = entry.get("document") if isinstance(entry, dict) else None
    if not isinstance(document, dict) or not isinstance(document.get("url"), str):
        return entry
    url = urlsplit(document["url"])
    return {**entry, "document": {**document, "url": urlunsplit(("", "", *url[2:]))}}


def read_record(path: str) -> Optional[dict[str, Any]]:
    """A case file's content, quietly: None when it is missing, not a regular file, not
    readable or not a JSON object, or breaks a limit of `safe_read` (the caller says what
    that means)."""
    try:
        return read_case_file(path)
    except Unreadable:
        return None


def _read_json(path: str) -> Optional[dict[str, Any]]:
    """A published file's content; None when it vanished, is not a JSON object, or is not
    a regular file at all (a directory, FIFO or symlink at a final name is a taken name,
    never opened or followed)."""
    try:
        return read_case_file(path)
    except Unreadable as exc:
        if not os.path.lexists(path):
            return None
        logger.warning("%s: %s; taking the next free name", path, exc)
        return None


class CaseStore:
    """Where and how case files are written below `output_dir/subdir/<YYYY>/`."""

    def __init__(self, output_dir: str, subdir: str = "json", suffix_limit: int = 100,
                 force_overwrite: bool = False):
        self.layout = Layout(output_dir, subdir)
        self.root = self.layout.root
        self.subdir = self.layout.subdir
        self.suffix_limit = suffix_limit
        self.force_overwrite = force_overwrite

    # --- where
    def locate(self, record: dict[str, Any]) -> tuple[str, str]:
        """(directory, `<name>-<YYYYMMDD>`) for a record; raises for unusable case numbers."""
        case_number = record["case_number"]
        when = datetime.fromisoformat(record["scraped_at"]).astimezone(timezone.utc)
        year = case_year(case_number, when)
        directory = self.layout.cases_dir(year)
        base = f"{safe_name(case_number, self.suffix_limit)}-{when:%Y%m%d}"
        return directory, base

    def _guard(self, path: str, case_number: str) -> str:
        """Last line of defence: the path must resolve inside the output dir. Case numbers
        cannot lead outside (safe_name), so only a symlink in the output dir can: that is
        the output dir's fault, found here if it appeared after the start-up check."""
        # The directory, not the final name: a link at a final name is a taken name, never
        # followed (os.link does not follow its destination).
        root = os.path.realpath(self.root)
        real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        if os.path.commonpath([root, real]) != root:
            raise OutputError(
                f"output directory {self.root}: case {shown(case_number, 80)} would be written to "
                f"{real}, outside it (a symbolic link below {self.root}); "
                "replace the link by a directory or set CASESCRAPER_OUTPUT_DIR to where it points")
        return path

    def _makedirs(self, directory: str) -> None:
        """makedirs_durable, with a non-directory in the way as the output dir's fault."""
        try:
            makedirs_durable(directory)
        except (NotADirectoryError, FileExistsError) as exc:
            raise OutputError(self._not_a_directory(exc.filename or directory)) from exc

    def _not_a_directory(self, path: str) -> str:
        try:
            what = kind_of(os.lstat(path).st_mode)
        except OSError:
            what = "not a directory"
        if os.path.islink(path):
            what = "a symbolic link to a non-directory"
        return (f"output directory {self.root}: {self._rel(path)} is {what}, where casescraper "
                "needs a directory; move it away (or set CASESCRAPER_OUTPUT_DIR elsewhere)")

    def _rel(self, path: str) -> str:
        return self.layout.rel(path)

    def _siblings(self, directory: str, base: str) -> dict[int, str]:
        """Same-day files of this name: suffix index (0 = none) -> path.

        Probes names instead of listing the directory, which holds a whole year of files
        (a listing costs ~15 ms at 30,000). Writers take the lowest free index, so versions
        are numbered without gaps and the probe stops at the first missing one; a gap made
        by hand can only cost one more identical version, never an overwrite (os.link).
        """
        found = {}
        for index in range(self.suffix_limit + 1):
            path = self._candidate(directory, base, index)
            if not os.path.lexists(path):
                break
            found[index] = path
        return found

    def _candidate(self, directory: str, base: str, index: int) -> str:
        return os.path.join(directory, Layout.case_name(base, index))

    def plan(self, record: dict[str, Any]) -> tuple[str, bool]:
        """Read-only: (relative path a write would use, whether that file already exists)."""
        validate_record(record)
        directory, base = self.locate(record)
        siblings = self._siblings(directory, base)
        wanted = comparable(json.loads(serialize(record)))
        if self.force_overwrite:
            return self._rel(self._candidate(directory, base, 0)), 0 in siblings
        for index in sorted(siblings):
            if self._same(siblings[index], wanted):
                return self._rel(siblings[index]), True
        free = next((i for i in range(self.suffix_limit + 1) if i not in siblings), None)
        if free is None:
            raise self._limit_error(record, base)
        return self._rel(self._guard(self._candidate(directory, base, free), record["case_number"])), False

    # --- how
    @staticmethod
    def _same(path: str, wanted: dict[str, Any]) -> bool:
        data = _read_json(path)
        return data is not None and comparable(data) == wanted

    def _limit_error(self, record: dict[str, Any], base: str) -> SuffixLimitReached:
        return SuffixLimitReached(
            f"case {shown(record['case_number'], 80)}: {base}.json and all suffixes up to "
            f"-{self.suffix_limit} exist with other content; raise CASESCRAPER_SUFFIX_LIMIT "
            "(suffix_limit) or clean up the day's files"
        )

    def write(self, record: dict[str, Any]) -> Saved:
        """Validate and publish a record; never overwrites unless force_overwrite is set."""
        validate_record(record)
        directory, base = self.locate(record)
        case_number = record["case_number"]
        first = self._guard(self._candidate(directory, base, 0), case_number)
        # Serialized once, for the name most writes get; this also fails on unencodable
        # text before the disk is touched.
        data = serialize(dict(record, file_path=self._rel(first)))
        self._makedirs(directory)
        if self.force_overwrite:
            saved = self._replace_base(record, directory, base, data)
            if saved is not None:
                return saved
        siblings = self._siblings(directory, base)
        # The record as its file reads back, only when there is a file to compare with
        # (most writes have none).
        wanted = comparable(json.loads(data)) if siblings else None
        for index in sorted(siblings):
            if self._same(siblings[index], wanted):
                return Saved(siblings[index], self._rel(siblings[index]), "existing")
        for index in range(self.suffix_limit + 1):
            if index in siblings:
                continue
            final = self._guard(self._candidate(directory, base, index), case_number)
            if index:
                data = serialize(dict(record, file_path=self._rel(final)))
            if publish_new(directory, base, data, final):
                return Saved(final, self._rel(final), "created")
            if wanted is None:
                wanted = comparable(json.loads(data))
            if self._same(final, wanted):  # a concurrent writer stored the same record
                return Saved(final, self._rel(final), "existing")
        raise self._limit_error(record, base)

    def _replace_base(self, record: dict[str, Any], directory: str, base: str,
                      data: bytes) -> Optional[Saved]:
        """Force mode: atomically replace the day's base file (`data` is serialized for that
        name), unless another case owns it."""
        final = self._candidate(directory, base, 0)
        existed = os.path.lexists(final)
        existing = _read_json(final) if existed else None
        if existed and (existing is None or existing.get("case_number") != record["case_number"]):
            return None  # a different case number with the same safe name: suffix instead
        replace_durably(directory, base, data, final)
        return Saved(final, self._rel(final), "replaced" if existed else "created")

    # --- startup
    def probe(self) -> None:
        """Prove the output dir takes a durable hard-linked file and that nothing below it
        is in the way (check_tree); raise OutputError otherwise."""
        stage = "create"
        # Named like a temp, and the same locked inode, so a sweep removes it if we die.
        final = os.path.join(self.root, f".casescraper-probe-link.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        try:
            makedirs_durable(self.root)
            tmp, fd = locked_temp(self.root, "casescraper-probe")
            try:
                stage = "write"
                fill_durably(fd, b"casescraper probe\n")
                stage = "link"
                os.link(tmp, final)
                stage = "write"
                fsync_dir(self.root)
            finally:
                remove_file(final)
                remove_file(tmp)
                os.close(fd)
            fsync_dir(self.root)
        except OSError as exc:
            raise OutputError(self._probe_message(stage, exc)) from exc
        self.check_tree()

    def check_tree(self) -> None:
        """OutputError when a directory casescraper writes into (json/, json/<YYYY>/, raw/,
        raw/<YYYY>/, ledger/, runs/, diagnostics/) is not a directory, or is a symbolic link
        leading outside the output dir, or a ledger is not a regular file: found once at
        start-up instead of failing every case of a year."""
        try:
            self._check_tree()
        except OSError as exc:  # an unreadable directory below the output dir
            raise OutputError(f"output directory {self.root} is not usable: cannot read "
                              f"{exc.filename}: {exc.strerror or exc}") from exc

    def _check_tree(self) -> None:
        root = os.path.realpath(self.root)
        # The start-up check looks at each directory casescraper writes into that exists.
        for name in (self.subdir, *OTHER_DIRS):
            top = os.path.join(self.root, name)
            if not os.path.lexists(top):
                continue
            self._check_dir(top, root)
            for entry in os.scandir(top):
                if YEAR_NAME.match(entry.name) and name != LEDGER:
                    self._check_dir(entry.path, root)
                elif name == LEDGER and LEDGER_NAME.match(entry.name) and not entry.is_file(follow_symlinks=False):
                    mode = entry.stat(follow_symlinks=False).st_mode
                    raise OutputError(
                        f"output directory {self.root}: {self._rel(entry.path)} is {kind_of(mode)}, "
                        "not a ledger file; move it away")

    def _check_dir(self, path: str, root: str) -> None:
        real = os.path.realpath(path)
        if os.path.islink(path) and os.path.commonpath([root, real]) != root:
            raise OutputError(
                f"output directory {self.root}: {self._rel(path)} is a symbolic link to {real}, "
                "outside the output directory; replace the link by a directory, or set "
                "CASESCRAPER_OUTPUT_DIR to where it points")
        if not os.path.isdir(path):
            raise OutputError(self._not_a_directory(path))

    def _probe_message(self, stage: str, exc: OSError) -> str:
        reason = exc.strerror or str(exc)
        if stage == "link" and exc.errno in _HARDLINK_ERRNOS:
            return (f"output directory {self.root} does not support hard links ({reason}), which "
                    "casescraper needs to publish files without overwriting; set "
                    "CASESCRAPER_OUTPUT_DIR (config key output_dir) to a directory on a local "
                    "POSIX filesystem")
        where = f" ({exc.filename})" if exc.filename else ""
        return (f"output directory {self.root} is not usable: cannot {stage}: {reason}{where}; set "
                "CASESCRAPER_OUTPUT_DIR (config key output_dir) to a writable directory")

    def sweep(self) -> list[str]:
        return sweep_temps(self.root)
