"""Recent changes for `report`: the ledger's `changed` lines, newest first, as rows that
the text report and the HTML page both print.

A `changed` line is a case found again whose case data differ from its previous file
(like `unchanged`, it is found and settled, and its `file_path` names the case's latest
file). Besides `at` (ISO 8601) it carries `changes`: `previous_file`, `entries_added`,
`entries_removed`, `entries_changed` (docket entry ids) and `fields` (names). Every line
of that status counts, not only a number's latest: a case that changed twice is two rows.

Nothing in a line is trusted: a part of the wrong type shows as `?`, an absent or empty
one as `-`, a time that is not ISO 8601 sorts as oldest and is shown as written, and
every value goes through `errors.printable`.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timezone
from typing import Any, Iterable

from casescraper.errors import printable
from casescraper.store.ledger_lines import line_time

CHANGED = "changed"
DEFAULT_LIMIT = 20
COLUMNS = ("case", "when", "new entries", "removed", "changed entries", "fields")
MAX_SHOWN = 6  # ids or field names per cell; the count says how many in all
_OLDEST = datetime.min.replace(tzinfo=timezone.utc)


def newest(lines: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The `limit` newest lines, newest first; of equal times, the later line first."""
    keyed = ((line_time(line.get("at")) or _OLDEST, i, line) for i, line in enumerate(lines))
    return [line for _, _, line in heapq.nlargest(limit, keyed, key=lambda k: (k[0], k[1]))]


def _when(at: Any) -> str:
    moment = line_time(at)
    if moment is not None:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return "?" if at is None else printable(at, 40)


def _listed(value: Any, counted: bool) -> str:
    """`3 (17, 18, 19)` for ids (`counted`), `office, summary` for names."""
    if value is None or value == []:
        return "-"
    if not isinstance(value, list):
        return "?"
    text = ", ".join(printable(v, 40) for v in value[:MAX_SHOWN])
    if len(value) > MAX_SHOWN:
        text += f", ... ({len(value)} in all)" if not counted else ", ..."
    return f"{len(value)} ({text})" if counted else text


def row(line: dict[str, Any]) -> list[str]:
    changes = line.get("changes")
    if not isinstance(changes, dict):
        parts = ["?"] * 4
    else:
        parts = [_listed(changes.get(k), True)
                 for k in ("entries_added", "entries_removed", "entries_changed")]
        parts.append(_listed(changes.get("fields"), False))
    return [printable(line.get("case_number"), 80), _when(line.get("at")), *parts]


def rows(lines: list[dict[str, Any]], limit: int) -> list[list[str]]:
    """The recent changes table, header first."""
    return [list(COLUMNS), *(row(line) for line in newest(lines, limit))]


def heading(total: int, limit: int) -> str:
    """What the table holds: `all 3, newest first`, `the 20 newest of 57, newest first`."""
    if total <= limit:
        return f"all {total}, newest first"
    return f"the {limit} newest of {total}, newest first"
