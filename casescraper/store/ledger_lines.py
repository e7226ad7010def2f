"""What a ledger line must look like: checked before it is trusted (see ledger.py).

A line is read as bytes and checked for its size and nesting depth before it is parsed
(a `[[[...` line cannot exhaust the stack), then for its shape and field types; a
`file_path` that could lead outside the output dir is not trusted.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timezone
from typing import Any, Optional

from casescraper.errors import shown
from casescraper.items import STATUSES

MAX_LINE = 1 << 20  # bytes; our lines are well under 10 KiB
MAX_DEPTH = 8  # nesting of [ and {; our lines are flat objects
# An escape pair, a quote or a bracket: one token each, so scanning is linear.
_TOKENS = re.compile(rb'\\.|["\[\]{}]', re.S)
_OPTIONAL_TEXT = (str, type(None))
# field -> accepted types; case_number and status are required, unknown fields are kept.
_FIELDS: dict[str, tuple[type, ...]] = {
    "case_number": (str,), "status": (str,), "file_path": _OPTIONAL_TEXT, "error": _OPTIONAL_TEXT,
    "run_id": _OPTIONAL_TEXT, "at": _OPTIONAL_TEXT, "site": (str,), "site_host": _OPTIONAL_TEXT,
    "diagnostics": _OPTIONAL_TEXT, "changes": (dict, type(None)), "answered_at": _OPTIONAL_TEXT,
    # the file_path's SHA-256 (hex) and size in bytes when the line was written
    "sha256": _OPTIONAL_TEXT, "size": (int, type(None)),
}
# A `changed` line's `changes` (see `history`): previous_file, and these lists of text.
_CHANGE_LISTS = ("entries_added", "entries_removed", "entries_changed", "fields")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests [ and { deeper than `limit`, found without parsing it."""
    depth, in_string = 0, False
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue  # inside a string, or an escape pair
        elif token in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def line_problem(entry: Any) -> Optional[str]:
    """Why a parsed line is not a ledger record (None when it is one)."""
    if not isinstance(entry, dict):
        return f"not a JSON object but {type(entry).__name__}"
    for name in ("case_number", "status"):
        if name not in entry:
            return f"no {name}"
    for name, types in _FIELDS.items():
        if name in entry and not isinstance(entry[name], types):
            return f"{name} is {type(entry[name]).__name__}, not {' or '.join(_type_names(types))}"
    if not entry["case_number"].strip():
        return "case_number is empty"
    if entry["status"] not in STATUSES:
        return f"status {shown(entry['status'], 40)} is not one of {', '.join(STATUSES)}"
    return _changes_problem(entry.get("changes"))


def _changes_problem(changes: Optional[dict[str, Any]]) -> Optional[str]:
    if changes is None:
        return None
    if not isinstance(changes.get("previous_file"), _OPTIONAL_TEXT):
        return f"changes.previous_file is {type(changes['previous_file']).__name__}, not str or null"
    for name in _CHANGE_LISTS:
        value = changes.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"changes.{name} is not a list of strings"
    return None


def _type_names(types: tuple[type, ...]) -> list[str]:
    return ["null" if t is type(None) else t.__name__ for t in types]


def trusted_path(file_path: Any) -> bool:
    """Whether a ledger's file_path can only name a file below the output dir: relative,
    no `..`, no NUL, no backslash (a Windows separator)."""
    if not isinstance(file_path, str) or not file_path or "\0" in file_path or "\\" in file_path:
        return False
    if posixpath.isabs(file_path):
        return False
    return ".." not in file_path.split("/")


def line_time(at: Any) -> Optional[datetime]:
    """A line's `at` as an aware UTC datetime; None when it is not ISO 8601 text. The
    ledger writes UTC, so a time without an offset is read as UTC."""
    if not isinstance(at, str):
        return None
    text = at.strip()
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat reads no Z
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
