"""Reading a case or evidence file without trusting it: the one place every reader
(`dataset`, `report`, `reparse`, resume's comparison with the latest file, a future
`merge`) goes through.

A file is refused, with a reason fit for one warning line, when it is not a regular
file (a FIFO, device or link is never opened), is larger than its limit, decompresses
to more than its limit (a gzip bomb is stopped after that many bytes, never held whole),
nests deeper than its limit (checked on the bytes, before parsing: a `[[[...` file
cannot exhaust the stack), is not UTF-8, is not JSON, or holds text Python cannot write
back (a lone surrogate such as `"\\ud800"`, which would break every writer downstream).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import zlib
from typing import Any

from casescraper.errors import CasescraperError
from casescraper.store.fileops import open_regular
from casescraper.store.ledger_lines import too_deep

# Our case files are a few KiB (the largest demo or real one under 200 KiB), nesting 4
# levels; evidence is a few hundred KiB of HTML and answers, nesting 3 levels.
MAX_CASE_BYTES = 16 << 20
MAX_EVIDENCE_BYTES = 16 << 20  # compressed
MAX_EVIDENCE_TEXT = 64 << 20  # decompressed
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unreadable(CasescraperError):
    """A file that cannot be used; the message says why, in a few words."""


def _read_limited(path: str, limit: int) -> bytes:
    try:
        fd = open_regular(path)
    except OSError as exc:
        raise Unreadable(f"cannot open: {exc.strerror or exc}") from None
    if fd is None:
        raise Unreadable("missing or not a regular file" if not os.path.lexists(path)
                         else "not a regular file")
    with os.fdopen(fd, "rb") as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise Unreadable(f"{size} bytes, over the limit of {limit}")
            data = f.read(limit + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # grew while being read
        raise Unreadable(f"over the limit of {limit} bytes")
    return data


def gunzip(data: bytes, limit: int = MAX_EVIDENCE_TEXT) -> bytes:
    """The decompressed bytes, at most `limit` of them (Unreadable beyond: a bomb)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            text = f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise Unreadable(f"not gzip: {exc}") from None
    if len(text) > limit:
        raise Unreadable(f"decompresses to over {limit} bytes")
    return text


def loads(raw: bytes, max_depth: int = MAX_DEPTH, surrogates: bool = False) -> Any:
    """JSON from untrusted bytes (see the module's docstring); Unreadable says why not.
    `surrogates`: lone surrogates are kept (evidence keeps a broken page as it was)."""
    if too_deep(raw, max_depth):
        raise Unreadable(f"nested deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except RecursionError:  # too_deep counts brackets; this is the last guard
        raise Unreadable(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise Unreadable(f"not valid JSON: {reason}{where}") from None
    if not surrogates and _has_surrogate(data):
        raise Unreadable("holds invalid text (a lone UTF-16 surrogate escape)")
    return data


def _has_surrogate(data: Any) -> bool:
    stack = [data]  # depth is bounded above; a stack keeps recursion out anyway
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def read_case_file(path: str, limit: int = MAX_CASE_BYTES) -> dict[str, Any]:
    """A case file's JSON object (not yet checked against the schema); Unreadable else."""
    data = loads(_read_limited(path, limit))
    if not isinstance(data, dict):
        raise Unreadable(f"not a JSON object but {type(data).__name__}")
    return data


def read_gzip_json(path: str, limit: int = MAX_EVIDENCE_BYTES,
                   text_limit: int = MAX_EVIDENCE_TEXT) -> Any:
    """The JSON of a gzip file (evidence), bounded in size, decompressed size and depth;
    lone surrogates are kept, as evidence keeps a broken page's text."""
    return loads(gunzip(_read_limited(path, limit), text_limit), surrogates=True)
