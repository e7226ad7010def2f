"""Case files on disk: safe names, atomic never-overwrite publishing, stale temp sweeping.

Pure file logic, no Scrapy. A case file is published by writing a hidden temp file in
the target directory, fsyncing it, and hard-linking it to the final name: `os.link`
fails with EEXIST instead of replacing, so two writers (threads or processes) can never
overwrite each other and a reader never sees a partial file. The temp file is held
under `flock` while it exists, so a startup sweep removes only temps whose writer died.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

import jsonschema

from casescraper.casenumbers import year_of
from casescraper.errors import InvalidRecord, OutputError, SuffixLimitReached, UnsafeCaseNumber
from casescraper.items import SCHEMA_FILES, case_schema

logger = logging.getLogger(__name__)

NAME_MAX = 255  # bytes in one path component on every filesystem we target
# ".<name>.<pid>.<16 hex>.tmp" with room for a 10-digit pid
_TEMP_OVERHEAD = len("..") + 10 + len(".") + 16 + len(".tmp")
_TEMP_RE = re.compile(r"^\..+\.[0-9]+\.[0-9a-f]{16}\.tmp$")
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
    outcome: str  # "created", "existing" (identical record already there) or "replaced"


def _short(text: str, limit: int = 80) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def safe_name(case_number: str, suffix_limit: int = 100, what: str = "case number") -> str:
    """The file-name stem for a case number: ASCII `[A-Za-z0-9._-]`, never hidden or reserved."""
    text = unicodedata.normalize("NFKC", case_number)
    name = _DASH_RUNS.sub("-", _UNSAFE_CHARS.sub("-", text)).lstrip(".-")
    # Only ASCII is left, so characters are bytes; keep one byte for the reserved-name "_".
    # The stem is followed by "-YYYYMMDD", then the suffix and ".json" or the temp tail.
    tail = max(_TEMP_OVERHEAD, len("-") + len(str(suffix_limit)) + len(".json"))
    name = name[: NAME_MAX - len("-YYYYMMDD") - tail - 1]
    if name in ("", ".", ".."):
        raise UnsafeCaseNumber(
            f"{what} {_short(case_number)} has no character usable in a file name "
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


def validate_record(record: dict[str, Any]) -> None:
    """Against the schema of the record's own version: v2 when it says schema_version 2,
    v1 (the files written before versions existed) when it has none."""
    version = record.get("schema_version", 1)
    if type(version) is not int or version not in SCHEMA_FILES or version == 1 and "schema_version" in record:
        raise InvalidRecord(f"$.schema_version: {str(version)[:40]} is not a case file schema "
                            f"version (new records say {max(SCHEMA_FILES)}; v1 files have none)")
    error = jsonschema.exceptions.best_match(_validator(version).iter_errors(record))
    if error is not None:
        message = " ".join(error.message.split())
        message = message if len(message) <= 200 else message[:197] + "..."
        raise InvalidRecord(f"{error.json_path}: {message}")


def serialize(record: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False)
        return (text + "\n").encode("utf-8")
    except (ValueError, TypeError) as exc:  # lone surrogates, NaN, non-JSON values
        raise InvalidRecord(f"record cannot be written as UTF-8 JSON: {exc}") from exc


def _comparable(plain: dict[str, Any]) -> dict[str, Any]:
    """A record as read back from its file, without the fields that differ between runs.
    Document urls are compared without their origin: like source_url, the address the
    portal was reached through is provenance, not case data."""
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


def _read_json(path: str) -> Optional[dict[str, Any]]:
    """A published file's content; None when it vanished or is not a JSON object."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError):
        logger.warning("%s is not valid JSON; treating it as another record", path)
        return None
    return data if isinstance(data, dict) else None


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def makedirs_durable(path: str) -> None:
    """Create missing directories and fsync each new one's parent so the entry survives a crash."""
    missing = []
    current = path
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", directory)
            continue  # another process created it
        fsync_dir(os.path.dirname(directory))


def _remove(path: str) -> None:
    """Remove a file we own; a failure leaves a temp that the next startup sweep removes."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return  # already gone: published by os.replace, or swept
    except OSError as exc:
        logger.warning("could not remove %s: %s", path, exc)


def _locked_temp(directory: str, stem: str) -> tuple[str, int]:
    """Create `.<stem>.<pid>.<random>.tmp` and hold an flock on it while it exists."""
    for _ in range(3):
        path = os.path.join(directory, f".{stem}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(path, flags, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A sweeper can lock and unlink the file between our open and flock; start over then.
        opened = os.fstat(fd)
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino):
            return path, fd
        os.close(fd)
    raise OSError(errno.EAGAIN, "temp file was removed while being created", directory)


def _fill(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # os.write may write less, e.g. right up to RLIMIT_FSIZE, then fails
        view = view[os.write(fd, view):]
    os.fchmod(fd, 0o644)  # the umask must not make case files private
    os.fsync(fd)


def write_json_atomic(path: str, obj: Any) -> None:
    """Create or replace `path` atomically and durably (temp + fsync + os.replace + dir fsync)."""
    directory = os.path.dirname(path)
    makedirs_durable(directory)
    text = json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n"
    # A lone surrogate becomes the text "\udXXX", which is itself a valid JSON escape.
    data = text.encode("utf-8", "backslashreplace")
    replace_durably(directory, os.path.basename(path), data, path)


def replace_durably(directory: str, stem: str, data: bytes, final: str) -> None:
    """Write `data` to a locked temp, fsync it, os.replace it onto `final`, fsync the dir."""
    tmp, fd = _locked_temp(directory, stem)
    try:
        _fill(fd, data)
        os.replace(tmp, final)
        fsync_dir(directory)
    finally:
        _remove(tmp)
        os.close(fd)


def publish_new(directory: str, stem: str, data: bytes, final: str) -> bool:
    """Publish `data` as `final` unless that name exists; False when it does.

    Temp (named after `stem`) + fsync + `os.link` + directory fsync: never overwrites,
    never shows a partial file.
    """
    tmp, fd = _locked_temp(directory, stem)
    try:
        _fill(fd, data)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        try:
            fsync_dir(directory)
        except OSError:
            _remove(final)  # not known to be durable: withdraw it so the retry starts clean
            raise
        return True
    finally:
        _remove(tmp)  # before close, so the lock covers the temp for its whole life
        os.close(fd)


def _remove_if_stale(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # its writer finished meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        held = os.fstat(fd)
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def sweep_temps(root: str) -> list[str]:
    """Remove temp files under `root` left by killed writers; returns the removed paths."""
    removed = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if not _TEMP_RE.match(name):
                continue
            path = os.path.join(directory, name)
            try:
                if _remove_if_stale(path):
                    removed.append(path)
            except OSError as exc:
                logger.warning("could not sweep stale temp file %s: %s", path, exc)
    return removed


class CaseStore:
    """Where and how case files are written below `output_dir/subdir/<YYYY>/`."""

    def __init__(self, output_dir: str, subdir: str = "json", suffix_limit: int = 100,
                 force_overwrite: bool = False):
        self.root = os.path.abspath(output_dir)
        self.subdir = subdir
        self.suffix_limit = suffix_limit
        self.force_overwrite = force_overwrite

    # --- where
    def locate(self, record: dict[str, Any]) -> tuple[str, str]:
        """(directory, `<name>-<YYYYMMDD>`) for a record; raises for unusable case numbers."""
        case_number = record["case_number"]
        when = datetime.fromisoformat(record["scraped_at"]).astimezone(timezone.utc)
        year = case_year(case_number, when)
        directory = os.path.join(self.root, self.subdir, f"{year:04d}")
        base = f"{safe_name(case_number, self.suffix_limit)}-{when:%Y%m%d}"
        return directory, base

    def _guard(self, path: str, case_number: str) -> str:
        """Last line of defence: the path must resolve inside the output dir."""
        root = os.path.realpath(self.root)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            raise UnsafeCaseNumber(
                f"case number {_short(case_number)} would be written outside {root} ({path}); "
                "check for symlinks in the output directory"
            )
        return path

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

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
        return os.path.join(directory, f"{base}.json" if index == 0 else f"{base}-{index}.json")

    def plan(self, record: dict[str, Any]) -> tuple[str, bool]:
        """Read-only: (relative path a write would use, whether that file already exists)."""
        validate_record(record)
        directory, base = self.locate(record)
        siblings = self._siblings(directory, base)
        wanted = _comparable(json.loads(serialize(record)))
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
        return data is not None and _comparable(data) == wanted

    def _limit_error(self, record: dict[str, Any], base: str) -> SuffixLimitReached:
        return SuffixLimitReached(
            f"case {_short(record['case_number'])}: {base}.json and all suffixes up to "
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
        wanted = _comparable(json.loads(data))
        makedirs_durable(directory)
        if self.force_overwrite:
            saved = self._replace_base(record, directory, base, data)
            if saved is not None:
                return saved
        siblings = self._siblings(directory, base)
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
        """Prove the output dir takes a durable hard-linked file; raise OutputError otherwise."""
        stage = "create"
        # Named like a temp, and the same locked inode, so a sweep removes it if we die.
        final = os.path.join(self.root, f".casescraper-probe-link.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        try:
            makedirs_durable(self.root)
            tmp, fd = _locked_temp(self.root, "casescraper-probe")
            try:
                stage = "write"
                _fill(fd, b"casescraper probe\n")
                stage = "link"
                os.link(tmp, final)
                stage = "write"
                fsync_dir(self.root)
            finally:
                _remove(final)
                _remove(tmp)
                os.close(fd)
            fsync_dir(self.root)
        except OSError as exc:
            raise OutputError(self._probe_message(stage, exc)) from exc

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
