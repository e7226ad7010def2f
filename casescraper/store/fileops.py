"""Durable file primitives: never-clobbering publish, atomic replace, fsync, never-blocking
opens and the sweep of temp files left by killed writers.

Pure file logic, no Scrapy, shared by case files (`storage`), evidence and the ledger.
A file is published by writing a hidden temp file in the target directory, fsyncing it,
and hard-linking it to the final name: `os.link` fails with EEXIST instead of replacing,
so two writers (threads or processes) can never overwrite each other and a reader never
sees a partial file. The temp file is held under `flock` while it exists, so a sweep
removes only temps whose writer died.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import stat
from typing import Any, Optional

from casescraper.errors import printable

logger = logging.getLogger(__name__)

# ".<name>.<pid>.<16 hex>.tmp" with room for a 10-digit pid
TEMP_OVERHEAD = len("..") + 10 + len(".") + 16 + len(".tmp")
_TEMP_RE = re.compile(r"^\..+\.[0-9]+\.[0-9a-f]{16}\.tmp$")
# Opening never blocks (a FIFO), never follows a symlink at the last component.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def kind_of(mode: int) -> str:
    """What a file is, for messages: `a directory`, `a FIFO`, ..."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str) -> Optional[int]:
    """A read descriptor on `path` if it is a regular file (not a symlink, FIFO, device,
    directory), else None. Never blocks: a FIFO named like one of our files must not
    hang the crawl."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # replaced by a symlink or FIFO meanwhile
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def digest(path: str) -> Optional[tuple[str, int]]:
    """(SHA-256 hex, size) of a regular file's bytes, None when it is not one: what a
    ledger line records of the file it names, so that readers can tell it was not swapped."""
    fd = open_regular(path)
    if fd is None:
        return None
    h, size = hashlib.sha256(), 0
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(1 << 16):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


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


def remove_file(path: str) -> None:
    """Remove a file we own; a failure leaves a temp that the next startup sweep removes."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return  # already gone: published by os.replace, or swept
    except OSError as exc:
        logger.warning("could not remove %s: %s", path, exc)


def locked_temp(directory: str, stem: str) -> tuple[str, int]:
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


def fill_durably(fd: int, data: bytes) -> None:
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
    tmp, fd = locked_temp(directory, stem)
    try:
        fill_durably(fd, data)
        os.replace(tmp, final)
        fsync_dir(directory)
    finally:
        remove_file(tmp)
        os.close(fd)


def publish_new(directory: str, stem: str, data: bytes, final: str) -> bool:
    """Publish `data` as `final` unless that name exists; False when it does.

    Temp (named after `stem`) + fsync + `os.link` + directory fsync: never overwrites,
    never shows a partial file.
    """
    tmp, fd = locked_temp(directory, stem)
    try:
        fill_durably(fd, data)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        try:
            fsync_dir(directory)
        except OSError:
            remove_file(final)  # not known to be durable: withdraw it so the retry starts clean
            raise
        return True
    finally:
        remove_file(tmp)  # before close, so the lock covers the temp for its whole life
        os.close(fd)


def _remove_if_stale(path: str) -> bool:
    fd = open_regular(path)
    if fd is None:
        return False  # its writer finished meanwhile, or not a file of ours (FIFO, device...)
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


def sweep_dir(directory: str) -> list[str]:
    """sweep_temps of one directory only (not below it): where a command writes beside
    files that are not ours (report --html's page)."""
    removed = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return removed
    for name in names:
        path = os.path.join(directory, name)
        if _TEMP_RE.match(name) and _remove_if_stale(path):
            removed.append(path)
    return removed


def sweep_temps(root: str) -> list[str]:
    """Remove temp files under `root` left by killed writers; returns the removed paths."""
    removed = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if not _TEMP_RE.match(name):
                continue
            path = os.path.join(directory, name)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(mode):
                logger.warning("%s is named like a temp file but is %s; left alone",
                               printable(path), kind_of(mode))
                continue
            try:
                if _remove_if_stale(path):
                    removed.append(path)
            except OSError as exc:
                logger.warning("could not sweep stale temp file %s: %s", path, exc)
    return removed
